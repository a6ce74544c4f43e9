//! A second thread that stays awake between the products of a training step.
//!
//! Splitting a product in two pays only if the other CPU starts on its half at once. rayon's
//! workers go to sleep within microseconds of running out of work, and on a virtual machine
//! the host halts a CPU whose thread sleeps: waking it took 100–200 µs on this project's
//! machine, as long as half of a W4 product (64×512×784 after 1 ms idle: 434 µs on one
//! thread, 606 µs on two through `rayon::join`). The helper here spins for [`SPIN`] after
//! each job before it parks, so the products of a step, a few microseconds apart, find it
//! awake. It exists only once a product is split (two threads asked for, a product above
//! the threshold), and a call that finds it busy (another thread's product) runs both
//! halves itself. A caller that finishes its half before the helper has started on the
//! other takes that half back and runs it too: where the helper's CPU is slow to come back
//! (halted after the helper parked, or given to another guest), a split product then costs
//! about what it costs on one thread, where waiting for the helper had made it far slower
//! (W3's inference on 64 samples after 5 ms idle: 1.17–2.90 ms on two threads against
//! 0.23–0.27 on one; now 0.24–0.30).

use std::cell::UnsafeCell;
use std::panic::{self, AssertUnwindSafe};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU8, Ordering};
use std::thread::{self, Thread};
use std::time::{Duration, Instant};

/// How long the helper waits for the next job, spinning, before it parks.
const SPIN: Duration = Duration::from_millis(2);

/// The helper's states: free, claimed by a caller writing its job (or taking it back), job
/// posted, job running, job done, job panicked.
const IDLE: u8 = 0;
const CLAIMED: u8 = 1;
const POSTED: u8 = 2;
const RUNNING: u8 = 3;
const DONE: u8 = 4;
const PANICKED: u8 = 5;

/// A job: a closure on the caller's stack, behind a type-erased pointer, and the function
/// that runs it.
#[derive(Clone, Copy)]
struct Job {
    data: *mut (),
    run: unsafe fn(*mut ()),
}

struct Helper {
    state: AtomicU8,
    job: UnsafeCell<Option<Job>>,
    thread: Thread,
}

// SAFETY: `job` is written only by the caller that moved `state` from IDLE to CLAIMED, before
// it stores POSTED (release), and read only by whoever then moves POSTED on: the helper (to
// RUNNING, acquire), or the caller taking it back (to CLAIMED). The caller waits for DONE or
// PANICKED before it lets a job the helper took go. The closure is `Send`, so running it on
// the helper is allowed.
unsafe impl Sync for Helper {}
// SAFETY: as above; the `Helper` is only ever shared through a `static`.
unsafe impl Send for Helper {}

/// The helper, started on first use; `None` if the thread could not be spawned.
fn helper() -> Option<&'static Helper> {
    static HELPER: OnceLock<Option<Helper>> = OnceLock::new();
    HELPER
        .get_or_init(|| {
            let spawned = thread::Builder::new().name("nn-product-helper".into()).spawn(|| {
                if let Some(helper) = helper() {
                    serve(helper);
                }
            });
            let thread = spawned.ok()?.thread().clone();
            Some(Helper { state: AtomicU8::new(IDLE), job: UnsafeCell::new(None), thread })
        })
        .as_ref()
}

/// Runs `a` on this thread and `b` on the helper, and returns when both are done (as
/// `rayon::join`, allocating nothing). If the helper is busy or missing, runs both here.
///
/// # Panics
///
/// If `a` or `b` panics, once both have finished.
pub(super) fn join<A: FnOnce() + Send, B: FnOnce() + Send>(a: A, b: B) {
    let claimed = helper()
        .filter(|h| h.state.compare_exchange(IDLE, CLAIMED, Ordering::Acquire, Ordering::Relaxed).is_ok());
    let Some(helper) = claimed else {
        a();
        b();
        return;
    };
    let mut b = Some(b);
    let job = Job { data: (&raw mut b).cast(), run: run_once::<B> };
    // SAFETY: this call claimed the helper (IDLE → CLAIMED above), so nothing else reads or
    // writes `job` until it is posted.
    unsafe { *helper.job.get() = Some(job) };
    helper.state.store(POSTED, Ordering::Release);
    helper.thread.unpark();
    // Waits for `b` even if `a` panics: `b` lives in this frame.
    let wait = Wait { helper, job };
    a();
    drop(wait);
}

/// Takes the closure out of `Option<F>` at `data` and runs it.
///
/// # Safety
///
/// `data` points to a live `Option<F>` that nothing else touches while this runs.
unsafe fn run_once<F: FnOnce()>(data: *mut ()) {
    // SAFETY: the caller's promise.
    let slot = unsafe { &mut *data.cast::<Option<F>>() };
    if let Some(f) = slot.take() {
        f();
    }
}

/// When dropped: takes the posted job back and runs it if the helper has not started it
/// (drops it unrun if this thread is already panicking), or else waits for it to finish;
/// then frees the helper and passes on a panic of the job.
struct Wait {
    helper: &'static Helper,
    job: Job,
}

impl Drop for Wait {
    fn drop(&mut self) {
        let state = &self.helper.state;
        if state.compare_exchange(POSTED, CLAIMED, Ordering::Acquire, Ordering::Relaxed).is_ok() {
            // SAFETY: CLAIMED again: the helper never took the job, and nothing else touches
            // the slot until IDLE is stored.
            unsafe { *self.helper.job.get() = None };
            state.store(IDLE, Ordering::Release);
            if !thread::panicking() {
                // SAFETY: `job.data` is the `Option<F>` in `join`'s frame, alive until this
                // returns, and no other thread has it.
                unsafe { (self.job.run)(self.job.data) };
            }
            return;
        }
        let mut spins = 0_u32;
        let outcome = loop {
            let state = state.load(Ordering::Acquire);
            if state == DONE || state == PANICKED {
                break state;
            }
            spins = spins.saturating_add(1);
            if spins < 1 << 16 {
                std::hint::spin_loop();
            } else {
                thread::yield_now();
            }
        };
        state.store(IDLE, Ordering::Release);
        assert!(outcome != PANICKED || thread::panicking(), "the second thread of a matrix product panicked");
    }
}

/// The helper's loop: waits for a job, spinning for [`SPIN`] and then parked, takes it
/// unless its caller took it back first, and runs it.
fn serve(helper: &Helper) {
    loop {
        let mut since = Instant::now();
        while helper.state.load(Ordering::Acquire) != POSTED || paused() {
            if since.elapsed() < SPIN {
                std::hint::spin_loop();
            } else {
                thread::park();
                since = Instant::now();
            }
        }
        if helper.state.compare_exchange(POSTED, RUNNING, Ordering::Acquire, Ordering::Relaxed).is_err() {
            continue;
        }
        // SAFETY: POSTED → RUNNING: the claiming caller wrote the job before storing POSTED
        // (release, acquired by the exchange) and touches neither the slot nor the closure
        // until DONE.
        let job = unsafe { (*helper.job.get()).take() };
        let outcome = panic::catch_unwind(AssertUnwindSafe(|| {
            if let Some(job) = job {
                // SAFETY: `job.data` is the caller's `Option<F>` for `job.run`, alive until the
                // caller sees DONE or PANICKED, which is stored only after this returns.
                unsafe { (job.run)(job.data) };
            }
        }));
        helper.state.store(if outcome.is_ok() { DONE } else { PANICKED }, Ordering::Release);
    }
}

/// Whether a test holds the helper back from new jobs (never outside tests).
#[cfg(test)]
fn paused() -> bool {
    tests::PAUSED.load(Ordering::Relaxed)
}

#[cfg(not(test))]
const fn paused() -> bool {
    false
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

    use super::super::ThreadsForTest;
    use super::join;

    /// Holds the helper back from new jobs while set.
    pub(super) static PAUSED: AtomicBool = AtomicBool::new(false);

    /// Both halves run, each exactly once, also when several threads join at once (one
    /// claims the helper, the others run both halves themselves).
    #[test]
    fn both_halves_run_once_from_any_thread() {
        let _threads = ThreadsForTest::hold();
        let count = AtomicUsize::new(0);
        std::thread::scope(|scope| {
            for _ in 0..4 {
                scope.spawn(|| {
                    for _ in 0..1000 {
                        let mut left = 0;
                        let mut right = 0;
                        join(|| left += 1, || right += 1);
                        assert_eq!((left, right), (1, 1));
                        count.fetch_add(1, Ordering::Relaxed);
                    }
                });
            }
        });
        assert_eq!(count.load(Ordering::Relaxed), 4000);
    }

    /// A panic on the helper reaches the caller after both halves are done, and the helper
    /// takes jobs again afterwards.
    #[test]
    fn a_panic_on_the_helper_reaches_the_caller() {
        let _threads = ThreadsForTest::hold();
        let mut left_done = false;
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            join(|| left_done = true, || panic!("right half"));
        }));
        assert!(outcome.is_err() && left_done);
        let mut right = 0;
        join(|| (), || right = 7);
        assert_eq!(right, 7);
    }

    /// A half the helper has not started when the caller's is done is taken back and run by
    /// the caller, once; the helper takes jobs again afterwards. (Without the taking back,
    /// the helper runs the half once another thread lets it go on, and the test fails.)
    #[test]
    fn the_caller_takes_back_a_half_the_helper_has_not_started() {
        let _threads = ThreadsForTest::hold();
        let caller = std::thread::current().id();
        PAUSED.store(true, Ordering::Relaxed);
        let release = std::thread::spawn(|| {
            std::thread::sleep(std::time::Duration::from_millis(200));
            PAUSED.store(false, Ordering::Relaxed);
            if let Some(helper) = super::helper() {
                helper.thread.unpark();
            }
        });
        let (mut ran_on, mut runs) = (None, 0);
        join(
            || (),
            || {
                ran_on = Some(std::thread::current().id());
                runs += 1;
            },
        );
        release.join().unwrap();
        assert_eq!((ran_on, runs), (Some(caller), 1));
        let mut right = 0;
        join(|| std::thread::sleep(std::time::Duration::from_millis(20)), || right = 7);
        assert_eq!(right, 7);
    }
}
