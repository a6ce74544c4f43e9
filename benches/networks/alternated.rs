//! Ratios measured by alternation, beside criterion's: nn and its baseline (or one thread
//! and two) run in turn, in short blocks, for a few hundred rounds, and the report gives the
//! median of the ratios of adjacent blocks.
//!
//! Criterion times one side for a second and a half and then the other, and a shared
//! virtual machine's speed can change for seconds at a time (the Ice Lake machine of
//! `BENCHMARKS.md`'s eleventh pass: memory-bound and fused-multiply-add-bound code up to
//! 1.5× slower for seconds, a plain loop unaffected), so its two medians may come from
//! different periods. Two adjacent blocks of a millisecond almost always fall in one.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Median ratio (theirs over ours: > 1 means ours is faster) by `group/function`.
static RATIOS: Mutex<BTreeMap<String, f64>> = Mutex::new(BTreeMap::new());

/// Rounds of one block each.
const ROUNDS: usize = 300;

/// The time a block aims at: long enough to time, short enough for both blocks of a round
/// to fall in one period of the machine's speed.
const BLOCK: Duration = Duration::from_micros(500);

/// Whether `group/function` passes the filter given on the command line (`cargo bench
/// --bench networks -- W1|rtneural`): a substring of any of its `|`-separated parts, as
/// criterion's regular expression is for these names.
fn selected(key: &str) -> bool {
    let filter = std::env::args().skip(1).find(|argument| !argument.starts_with('-'));
    filter.is_none_or(|filter| filter.split('|').any(|part| key.contains(part)))
}

/// Seconds per call of `f` over `calls` calls.
fn block<O>(f: &mut impl FnMut() -> O, calls: usize) -> f64 {
    let start = Instant::now();
    for _ in 0..calls {
        std::hint::black_box(f());
    }
    start.elapsed().as_secs_f64() / calls as f64
}

/// Calls of `f` that make one block of about [`BLOCK`] (at least one).
fn calls_per_block<O>(f: &mut impl FnMut() -> O) -> usize {
    let once = block(f, 1).min(block(f, 1));
    (BLOCK.as_secs_f64() / once).clamp(1.0, 1e6) as usize
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// Alternates `ours` and `theirs` in blocks and records the median ratio of their times
/// per call under `group/function`.
pub fn record<A, B>(
    group: &str,
    function: &str,
    ours: &mut impl FnMut() -> A,
    theirs: &mut impl FnMut() -> B,
) {
    alternate(group, function, ours, theirs, false);
}

/// [`record`], each block after one call it does not time: for two different kinds of
/// work (a training step against a product, [`crate::share_of_peak`]), each of which
/// evicts the other's data from the caches, so that neither side's first call pays for the
/// other's.
pub fn record_warm<A, B>(
    group: &str,
    function: &str,
    ours: &mut impl FnMut() -> A,
    theirs: &mut impl FnMut() -> B,
) {
    alternate(group, function, ours, theirs, true);
}

/// [`record`], each block after one untimed call when `warm`.
fn alternate<A, B>(
    group: &str,
    function: &str,
    ours: &mut impl FnMut() -> A,
    theirs: &mut impl FnMut() -> B,
    warm: bool,
) {
    let key = format!("{group}/{function}");
    if !selected(&key) {
        return;
    }
    let (our_calls, their_calls) = (calls_per_block(ours), calls_per_block(theirs));
    let ratios =
        (0..ROUNDS).map(|_| timed(theirs, their_calls, warm) / timed(ours, our_calls, warm)).collect();
    RATIOS.lock().unwrap().insert(key, median(ratios));
}

/// [`block`], after one call of `f` it does not time when `warm`.
fn timed<O>(f: &mut impl FnMut() -> O, calls: usize, warm: bool) -> f64 {
    if warm {
        std::hint::black_box(f());
    }
    block(f, calls)
}

/// Alternates blocks of `step` on one thread and on two and records the median speed-up of
/// two under `group/function/threads` (see [`speedup`]). Each block starts with a call it
/// does not time: the first call after a change of threads moves the data between the
/// cores' caches.
pub fn record_threads<A>(group: &str, function: &str, step: &mut impl FnMut() -> A) {
    let key = format!("{group}/{function}/threads");
    if !selected(&key) {
        return;
    }
    let calls = calls_per_block(step).max(4);
    let mut on = |threads: usize| {
        nn::gemm::set_threads(threads);
        timed(step, calls, true)
    };
    let ratios = (0..ROUNDS / 3).map(|_| on(1) / on(2)).collect();
    nn::gemm::set_threads(1);
    RATIOS.lock().unwrap().insert(key, median(ratios));
}

/// The ratio [`record`] recorded under `group/function`, if it was measured.
pub fn ratio(group: &str, function: &str) -> Option<f64> {
    RATIOS.lock().unwrap().get(&format!("{group}/{function}")).copied()
}

/// The speed-up [`record_threads`] recorded for `group/function`, if it was measured.
pub fn speedup(group: &str, function: &str) -> Option<f64> {
    RATIOS.lock().unwrap().get(&format!("{group}/{function}/threads")).copied()
}
