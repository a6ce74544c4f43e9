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
//! halves itself.

use std::cell::UnsafeCell;
use std::panic::{self, AssertUnwindSafe};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU8, Ordering};
use std::thread::{self, Thread};
use std::time::{Duration, Instant};

/// How long the helper waits for the next job, spinning, before it parks.
const SPIN: Duration = Duration::from_millis(2);

/// The helper's states: free, claimed by a caller writing its job, job posted, job done,
/// job panicked.
const IDLE: u8 = 0;
const CLAIMED: u8 = 1;
const POSTED: u8 = 2;
const DONE: u8 = 3;
const PANICKED: u8 = 4;

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
// it stores POSTED (release), and read only by the helper after it loads POSTED (acquire);
// the caller reads nothing of it and waits for DONE or PANICKED before it lets the job's
// closure go. The closure is `Send`, so running it on the helper is allowed.
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
    let wait = Wait(helper);
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

/// Waits, when dropped, for the posted job to finish, frees the helper, and passes on a
/// panic of the job.
struct Wait(&'static Helper);

impl Drop for Wait {
    fn drop(&mut self) {
        let mut spins = 0_u32;
        let outcome = loop {
            let state = self.0.state.load(Ordering::Acquire);
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
        self.0.state.store(IDLE, Ordering::Release);
        assert!(outcome != PANICKED || thread::panicking(), "the second thread of a matrix product panicked");
    }
}

/// The helper's loop: waits for a job, spinning for [`SPIN`] and then parked, and runs it.
fn serve(helper: &Helper) {
    loop {
        let mut since = Instant::now();
        while helper.state.load(Ordering::Acquire) != POSTED {
            if since.elapsed() < SPIN {
                std::hint::spin_loop();
            } else {
                thread::park();
                since = Instant::now();
            }
        }
        // SAFETY: POSTED: the claiming caller wrote the job before storing it (release, loaded
        // above with acquire) and touches neither the slot nor the closure until DONE.
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

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::join;

    /// Both halves run, each exactly once, also when several threads join at once (one
    /// claims the helper, the others run both halves themselves).
    #[test]
    fn both_halves_run_once_from_any_thread() {
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
        let mut left_done = false;
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            join(|| left_done = true, || panic!("right half"));
        }));
        assert!(outcome.is_err() && left_done);
        let mut right = 0;
        join(|| (), || right = 7);
        assert_eq!(right, 7);
    }
}
