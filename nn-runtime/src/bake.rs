//! Decoding a safetensors file's bytes into a network's buffers at compile time, for
//! networks declared with `#[weights = "model.safetensors"]`.
//!
//! The generated code calls these `const fn`s in the initialisers of `static` arrays, so
//! the values are computed by the compiler and land in the binary's read-only data: a baked
//! network needs no heap, no file system and no initialisation at run time. Each value is
//! converted exactly as [`crate::io::load`] converts it (through `f64`), so a baked network
//! and the same file loaded at run time are equal bit for bit.

/// How a tensor's values are stored in the file (little-endian, as safetensors stores
/// them).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stored {
    /// `F32`.
    F32,
    /// `F64`.
    F64,
    /// `I64`: a count.
    I64,
}

/// One tensor of the file and where it goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tensor {
    /// Its first byte in the file.
    pub start: usize,
    /// Values.
    pub len: usize,
    /// Its first value's index in the buffer.
    pub offset: usize,
    /// How it is stored.
    pub stored: Stored,
}

/// Value `index` of `tensor`, as `f64` (exact for every stored type but large counts, which
/// round as [`crate::io::load`] rounds them).
const fn value(file: &[u8], tensor: &Tensor, index: usize) -> f64 {
    match tensor.stored {
        Stored::F32 => {
            let at = tensor.start + 4 * index;
            f32::from_le_bytes([file[at], file[at + 1], file[at + 2], file[at + 3]]) as f64
        }
        Stored::F64 => f64::from_le_bytes(eight(file, tensor.start + 8 * index)),
        Stored::I64 => i64::from_le_bytes(eight(file, tensor.start + 8 * index)) as f64,
    }
}

const fn eight(file: &[u8], at: usize) -> [u8; 8] {
    [
        file[at],
        file[at + 1],
        file[at + 2],
        file[at + 3],
        file[at + 4],
        file[at + 5],
        file[at + 6],
        file[at + 7],
    ]
}

/// A buffer of `N` `f32` values filled from `tensors` of `file`; values no tensor covers
/// are 0. Rounds each value to nearest, as `f64 as f32` does.
///
/// # Panics
///
/// At compile time, when a tensor reaches past the file or the buffer (the macro checked
/// both, so this never happens for generated code).
#[must_use]
pub const fn decode_f32<const N: usize>(file: &[u8], tensors: &[Tensor]) -> [f32; N] {
    let mut buffer = [0.0; N];
    let mut t = 0;
    while t < tensors.len() {
        let tensor = &tensors[t];
        let mut i = 0;
        while i < tensor.len {
            buffer[tensor.offset + i] = value(file, tensor, i) as f32;
            i += 1;
        }
        t += 1;
    }
    buffer
}

/// A buffer of `N` `f64` values filled from `tensors` of `file`, as
/// [`decode_f32`].
///
/// # Panics
///
/// As [`decode_f32`].
#[must_use]
pub const fn decode_f64<const N: usize>(file: &[u8], tensors: &[Tensor]) -> [f64; N] {
    let mut buffer = [0.0; N];
    let mut t = 0;
    while t < tensors.len() {
        let tensor = &tensors[t];
        let mut i = 0;
        while i < tensor.len {
            buffer[tensor.offset + i] = value(file, tensor, i);
            i += 1;
        }
        t += 1;
    }
    buffer
}

#[cfg(test)]
mod tests {
    use super::{Stored, Tensor, decode_f32, decode_f64};

    const FILE: &[u8] = &[
        0, 0, 0x80, 0x3f, // 1.0f32
        0, 0, 0, 0xc0, // -2.0f32
        7, 0, 0, 0, 0, 0, 0, 0, // 7i64
        0x9a, 0x99, 0x99, 0x99, 0x99, 0x99, 0xb9, 0x3f, // 0.1f64
    ];

    const TENSORS: &[Tensor] = &[
        Tensor { start: 0, len: 2, offset: 2, stored: Stored::F32 },
        Tensor { start: 8, len: 1, offset: 0, stored: Stored::I64 },
        Tensor { start: 16, len: 1, offset: 1, stored: Stored::F64 },
    ];

    #[test]
    #[allow(clippy::float_cmp, reason = "decoding is exact: every value must come out bit for bit")]
    fn decodes_each_stored_type_into_place_at_compile_time() {
        const WIDE: [f64; 5] = decode_f64::<5>(FILE, TENSORS);
        const NARROW: [f32; 5] = decode_f32::<5>(FILE, TENSORS);
        assert_eq!(WIDE, [7.0, 0.1, 1.0, -2.0, 0.0]);
        assert_eq!(NARROW, [7.0, 0.1_f64 as f32, 1.0, -2.0, 0.0]);
    }
}
