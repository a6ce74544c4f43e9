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

/// Writes `tensor` of `file` into `buffer` value by value, converting as
/// [`crate::io::load`] does (`f64 as f32` rounds to nearest): for a tensor stored in
/// another type than the network computes in.
///
/// # Panics
///
/// At compile time, when the tensor reaches past the file or the buffer (the macro checked
/// both, so this never happens for generated code).
pub const fn convert_f32(buffer: &mut [f32], file: &[u8], tensor: &Tensor) {
    let mut i = 0;
    while i < tensor.len {
        buffer[tensor.offset + i] = value(file, tensor, i) as f32;
        i += 1;
    }
}

/// Writes `tensor` of `file` into `buffer` value by value, as [`convert_f32`].
///
/// # Panics
///
/// As [`convert_f32`].
pub const fn convert_f64(buffer: &mut [f64], file: &[u8], tensor: &Tensor) {
    let mut i = 0;
    while i < tensor.len {
        buffer[tensor.offset + i] = value(file, tensor, i);
        i += 1;
    }
}

/// The same bytes seen as bytes or as values.
#[repr(C)]
union Reinterpreted<V: Copy, const N: usize, const B: usize> {
    bytes: [u8; B],
    values: [V; N],
}

/// Copies the `N` values of `V` (`B = N·size_of::<V>()` bytes, little-endian, as the file
/// stores them) at byte `start` of `file` to `buffer[offset..offset + N]`, whole: one
/// array copy, with no work per value, so a large file bakes quickly. On a big-endian
/// target it converts value by value ([`convert_f32`]), which is slower but equal.
///
/// # Panics
///
/// At compile time, when `B` is not `N·size_of::<V>()` or a range reaches past the file or
/// the buffer (the macro checked, so this never happens for generated code).
const fn copy<V: Copy, const N: usize, const B: usize>(
    buffer: &mut [V],
    offset: usize,
    file: &[u8],
    start: usize,
) {
    assert!(B == N * size_of::<V>(), "B must be the tensor's size in bytes");
    let Some((bytes, _)) = file.split_at(start).1.split_first_chunk::<B>() else {
        panic!("the tensor reaches past the file");
    };
    let Some((target, _)) = buffer.split_at_mut(offset).1.split_first_chunk_mut::<N>() else {
        panic!("the tensor reaches past the buffer");
    };
    // SAFETY: `bytes` fills the union (`B == N·size_of::<V>()`, checked above, and `V` is
    // `f32` or `f64`, with no padding), and every bit pattern is a valid `f32` or `f64`. On a
    // little-endian target the file's byte order is the native one.
    *target = unsafe { Reinterpreted::<V, N, B> { bytes: *bytes }.values };
}

/// Writes a tensor stored as `F32` (`N` values, `B = 4N` bytes from byte `start` of
/// `file`) into `buffer` from `offset`, exactly.
///
/// # Panics
///
/// As [`convert_f32`].
pub const fn place_f32<const N: usize, const B: usize>(
    buffer: &mut [f32],
    offset: usize,
    file: &[u8],
    start: usize,
) {
    if cfg!(target_endian = "little") {
        copy::<f32, N, B>(buffer, offset, file, start);
    } else {
        convert_f32(buffer, file, &Tensor { start, len: N, offset, stored: Stored::F32 });
    }
}

/// Writes a tensor stored as `F64` into `buffer`, as [`place_f32`].
///
/// # Panics
///
/// As [`convert_f32`].
pub const fn place_f64<const N: usize, const B: usize>(
    buffer: &mut [f64],
    offset: usize,
    file: &[u8],
    start: usize,
) {
    if cfg!(target_endian = "little") {
        copy::<f64, N, B>(buffer, offset, file, start);
    } else {
        convert_f64(buffer, file, &Tensor { start, len: N, offset, stored: Stored::F64 });
    }
}

#[cfg(test)]
mod tests {
    use super::{Stored, Tensor, convert_f32, convert_f64, place_f32, place_f64};

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
    fn converts_each_stored_type_into_place_at_compile_time() {
        const WIDE: [f64; 5] = {
            let mut buffer = [0.0; 5];
            let mut t = 0;
            while t < TENSORS.len() {
                convert_f64(&mut buffer, FILE, &TENSORS[t]);
                t += 1;
            }
            buffer
        };
        const NARROW: [f32; 5] = {
            let mut buffer = [0.0; 5];
            let mut t = 0;
            while t < TENSORS.len() {
                convert_f32(&mut buffer, FILE, &TENSORS[t]);
                t += 1;
            }
            buffer
        };
        assert_eq!(WIDE, [7.0, 0.1, 1.0, -2.0, 0.0]);
        assert_eq!(NARROW, [7.0, 0.1_f64 as f32, 1.0, -2.0, 0.0]);
    }

    #[test]
    #[allow(clippy::float_cmp, reason = "copying is exact")]
    fn places_a_tensor_of_the_network_type_whole() {
        const NARROW: [f32; 4] = {
            let mut buffer = [9.0; 4];
            place_f32::<2, 8>(&mut buffer, 1, FILE, 0);
            buffer
        };
        const WIDE: [f64; 2] = {
            let mut buffer = [0.0; 2];
            place_f64::<1, 8>(&mut buffer, 1, FILE, 16);
            buffer
        };
        assert_eq!(NARROW, [9.0, 1.0, -2.0, 9.0]);
        assert_eq!(WIDE, [0.0, 0.1]);
    }
}
