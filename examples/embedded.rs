//! A network baked into the binary: `models/digits_small.safetensors` (written by
//! `cargo run --release --example train_embedded`) becomes `static` data at compile time,
//! and the bundled digits' test split is classified from it with no heap, no file and no
//! initialisation.
//!
//! The example checks what it claims:
//! - a counting allocator sees **zero** allocations across all the baked forward passes;
//! - every output equals, bit for bit, the same file loaded at run time with `nn::io`;
//! - the accuracy is the trainer's.
//!
//! It prints the costs a firmware budget would check, the size of this binary and of the
//! baked weights.
//!
//! Run with `cargo run --release --example embedded`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::path::Path;
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};

use nn::SVector;
use nn::data::csv::{CsvOptions, Label, read_csv};

nn::network! {
    #[weights = "models/digits_small.safetensors"]
    /// The embedded digits classifier, its weights in the binary.
    pub struct DigitsSmall { hidden: dense(64 -> 32, relu, init = he_uniform), logits: dense(10) }
}

// The budget a microcontroller would set: 16 KiB of weights, 10 kFLOP per digit.
const _: () = assert!(DigitsSmall::<f32>::PARAMETER_BYTES <= 16 * 1024);
const _: () = assert!(DigitsSmall::<f32>::FLOPS <= 10_000);

/// The system allocator, counting every allocation.
struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: defers to the system allocator unchanged; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: the caller's contract is the system allocator's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `alloc` above, that is from the system allocator.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let options = CsvOptions { label: Label::Name("label".into()), ..CsvOptions::default() };
    let mut digits = read_csv::<f32>(root.join("data/digits.csv"), &options)?;
    for pixel in digits.inputs_mut() {
        *pixel /= 16.0;
    }
    let (_, test) = digits.split(0.2, 0);
    let samples: Vec<SVector<f32, 64>> =
        (0..test.len()).map(|n| SVector::from_column_slice(test.input(n))).collect();
    let labels: Vec<usize> = (0..test.len()).map(|n| test.target(n)[0] as usize).collect();

    let mut baked = Vec::with_capacity(samples.len());
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    for x in &samples {
        baked.push(DigitsSmall::BAKED.forward(x));
    }
    let allocations = ALLOCATIONS.load(Ordering::Relaxed) - before;

    let loaded: DigitsSmall = nn::io::load(root.join("models/digits_small.safetensors"))?;
    let identical = samples.iter().zip(&baked).all(|(x, output)| loaded.forward(x) == *output);
    let correct = baked.iter().zip(&labels).filter(|(output, label)| output.imax() == **label).count();
    let binary = std::env::current_exe().and_then(std::fs::metadata).map_or(0, |m| m.len());

    println!("baked from models/digits_small.safetensors: {} parameters", DigitsSmall::<f32>::PARAMETERS);
    println!(
        "per digit: {} FLOPs, {} bytes of layer outputs on the stack; weights {} bytes of read-only data",
        DigitsSmall::<f32>::FLOPS,
        DigitsSmall::<f32>::FORWARD_BYTES,
        DigitsSmall::<f32>::PARAMETER_BYTES + DigitsSmall::<f32>::BUFFER_BYTES
    );
    println!(
        "test split: {} digits, {} correct ({:.2}%); {allocations} allocations in the baked forward passes",
        test.len(),
        correct,
        100.0 * correct as f64 / test.len() as f64
    );
    println!(
        "same file loaded at run time: outputs {}",
        if identical { "identical, bit for bit" } else { "DIFFER" }
    );
    println!("this binary: {binary} bytes");
    if allocations != 0 {
        return Err(format!("the baked forward passes allocated {allocations} times").into());
    }
    if !identical {
        return Err("the baked network and the loaded file disagree".into());
    }
    Ok(())
}
