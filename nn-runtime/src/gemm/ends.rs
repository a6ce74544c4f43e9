//! Work split between two threads that take it from both ends.
//!
//! A split into fixed halves waits for the slower thread: on a virtual machine one CPU can
//! run slower for a while (another guest on its core). Here the caller takes pieces from
//! the left and the helper from the right until they meet, so the faster one does more.
//! Each piece is a third of what is left (rounded down to a step, at least a given
//! length), so the pieces narrow towards the middle, and the thread that finishes first
//! waits for a short piece of the other's, not a long one: with eight equal pieces, W4's
//! inference on two threads spent 3% of its time waiting there.

use core::ops::Range;
use core::sync::atomic::{AtomicU64, Ordering};

use super::output::Output;

/// Pieces of `0..len` for two threads, from both ends (see the module's documentation).
pub(super) struct FromBothEnds {
    /// The part not yet taken, `low..high`, as `high << 32 | low`: one word, so that taking
    /// from either end is one exchange. Both ends stay on a multiple of `step`, but `high`
    /// at first.
    remaining: AtomicU64,
    step: usize,
    least: usize,
}

impl FromBothEnds {
    /// Pieces of `0..len` starting on multiples of `step`, at least `least` long (or `step`,
    /// if longer) but for the last.
    pub(super) fn new(len: usize, step: usize, least: usize) -> Self {
        let len = u32::try_from(len).expect("fewer than 2³² rows or columns");
        Self { remaining: AtomicU64::new(u64::from(len) << 32), step: step.max(1), least: least.max(step) }
    }

    /// The next piece from the left end or from the right; `None` once the ends have met.
    pub(super) fn take(&self, from_left: bool) -> Option<Range<usize>> {
        loop {
            let now = self.remaining.load(Ordering::Relaxed);
            let (low, high) = ((now & 0xffff_ffff) as usize, (now >> 32) as usize);
            if low >= high {
                return None;
            }
            let width = ((high - low) / 3 / self.step * self.step).max(self.least);
            let piece = if from_left {
                low..(low + width).min(high)
            } else {
                (high.saturating_sub(width) / self.step * self.step).max(low)..high
            };
            let next = if from_left {
                (now & !0xffff_ffff) | piece.end as u64
            } else {
                (piece.start as u64) << 32 | low as u64
            };
            if self.remaining.compare_exchange_weak(now, next, Ordering::Relaxed, Ordering::Relaxed).is_ok() {
                return Some(piece);
            }
        }
    }
}

/// Rows of `C` the packed product's threads take at a time, at least: a piece of W3's
/// 256 × 128 × 784 inference product is then 2.4M multiply-adds or more.
pub(super) const LEAST_ROWS: usize = 24;

/// Runs `work(rows, c)` on pieces of the `m` rows of `C` (rows `ldc` apart, each piece
/// starting on a multiple of `align`), on this thread and the helper, from both ends.
pub(super) fn rows_from_both_ends<T: Send>(
    c: &mut [T],
    ldc: usize,
    m: usize,
    sizes: (usize, usize),
    work: &(impl Fn(Range<usize>, &mut [T]) + Sync),
) {
    each_thread_from_both_ends(c, ldc, m, sizes, &|pieces| {
        for (rows, c) in pieces {
            work(rows, c);
        }
    });
}

/// Runs `thread(pieces)` on this thread and the helper, each given the pieces of the `m`
/// rows of `C` it takes from its end ([`Pieces`]): for work that prepares something once
/// per thread before its first piece.
pub(super) fn each_thread_from_both_ends<T: Send>(
    c: &mut [T],
    ldc: usize,
    m: usize,
    (align, least): (usize, usize),
    thread: &(impl Fn(Pieces<'_, '_, T>) + Sync),
) {
    let ends = FromBothEnds::new(m, align, least);
    let c = Output::new(c, ldc, ldc);
    let run = |from_left: bool| thread(Pieces { ends: &ends, c: &c, from_left });
    super::join(2, || run(true), || run(false));
}

/// The pieces of rows one thread takes, from its end, each with the slice of `C` that holds
/// its rows, until the two ends meet.
pub(super) struct Pieces<'a, 'c, T> {
    ends: &'a FromBothEnds,
    c: &'a Output<'c, T>,
    from_left: bool,
}

impl<'a, T> Iterator for Pieces<'a, '_, T> {
    type Item = (Range<usize>, &'a mut [T]);

    fn next(&mut self) -> Option<Self::Item> {
        let rows = self.ends.take(self.from_left)?;
        // SAFETY: `take` hands out each row once, so no two pieces overlap, and `C` is not
        // reached otherwise while the `Output` lives (`each_thread_from_both_ends` holds it).
        Some((rows.clone(), unsafe { self.c.rows(rows) }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Taken in any order from the two ends, the pieces cover `0..len` once, each starts
    /// on a step, narrows towards the middle, and is at least the least length but for the
    /// last.
    #[test]
    fn pieces_cover_everything_once_and_narrow_towards_the_middle() {
        for (len, step, least) in
            [(512, 16, 32), (100, 16, 32), (256, 12, 24), (131, 8, 16), (5, 4, 8), (0, 1, 1)]
        {
            for pattern in [0b0101_0101_u32, 0b0011_0011, 0b1111_1111, 0b0000_0000, 0b0110_1001] {
                let ends = FromBothEnds::new(len, step, least);
                let (mut left, mut right) = (Vec::new(), Vec::new());
                for turn in 0.. {
                    let from_left = pattern >> (turn % 8) & 1 == 1;
                    let Some(piece) = ends.take(from_left).or_else(|| ends.take(!from_left)) else { break };
                    assert!(piece.start.is_multiple_of(step) && !piece.is_empty(), "{piece:?}");
                    if from_left { &mut left } else { &mut right }.push(piece);
                }
                for side in [&left, &right] {
                    let full: Vec<_> = side.iter().filter(|piece| piece.len() >= least).collect();
                    assert!(full.windows(2).all(|pair| pair[0].len() >= pair[1].len()), "{side:?}");
                }
                right.reverse();
                let pieces: Vec<_> = left.iter().chain(&right).cloned().collect();
                let covered: Vec<usize> = pieces.iter().flat_map(Clone::clone).collect();
                assert_eq!(covered, (0..len).collect::<Vec<_>>(), "{len} by {step}: {pieces:?}");
                let short = pieces.iter().filter(|piece| piece.len() < least.max(step)).count();
                assert!(short <= 1, "{len} by {step}: {pieces:?}");
            }
        }
    }
}
