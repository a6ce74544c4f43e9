//! Running a whole pass of a network with the widest vector instructions the CPU has,
//! chosen at run time, so speed does not depend on `-C target-cpu=native`.
//!
//! The code `network!` writes puts each pass (forward, training forward, backward) in a
//! [`Pass`] whose `run` is `#[inline(always)]`; [`run_best`] calls it inside a function
//! compiled for AVX2 and FMA when the CPU has them, so the pass's kernels are inlined and
//! vectorised for it. The generated code itself contains no `unsafe`.
//!
//! Without `std` there is no run-time detection: a pass runs as compiled, for the target's
//! own features (`-C target-cpu` or `-C target-feature` choose them, as embedded builds do).

/// A pass of a network, run once.
pub trait Pass {
    /// What the pass returns.
    type Output;

    /// Runs the pass. Implementations are `#[inline(always)]`, so the body is compiled
    /// inside whichever function [`run_best`] chose.
    fn run(self) -> Self::Output;
}

/// Runs `pass` compiled for AVX2 and FMA when the CPU has them, else for the baseline.
#[inline]
pub fn run_best<P: Pass>(pass: P) -> P::Output {
    #[cfg(all(feature = "std", target_arch = "x86_64"))]
    {
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
            // SAFETY: the CPU supports AVX2 and FMA (detected above), the only requirement.
            return unsafe { x86::run_avx2(pass) };
        }
    }
    pass.run()
}

/// Runs `pass` compiled for AVX-512 when the CPU has it, else as [`run_best`]: for the
/// streaming step, whose few hundred values fill whole 512-bit registers.
#[inline]
pub fn run_widest<P: Pass>(pass: P) -> P::Output {
    #[cfg(all(feature = "std", target_arch = "x86_64"))]
    {
        if std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx2")
            && std::arch::is_x86_feature_detected!("fma")
        {
            // SAFETY: the CPU supports AVX-512F, AVX2 and FMA (detected above), the only
            // requirement.
            return unsafe { x86::run_avx512(pass) };
        }
    }
    run_best(pass)
}

/// Runs `pass` as compiled for the baseline target, with no feature check: for networks so
/// small that the check would cost more than wider vectors save.
#[inline(always)]
pub fn run_direct<P: Pass>(pass: P) -> P::Output {
    pass.run()
}

/// Runs `work` as [`run_best`] runs a pass: for a runtime kernel whose loops (around the
/// GEMM, which chooses its own instructions) should vectorise for AVX2 whoever calls it.
/// Mark the closure `#[inline(always)]`: a closure is its own function, compiled for the
/// baseline target unless it is inlined into the AVX2 one (measured on a GRU's training
/// pass: its gate loops stayed scalar SSE, 146 against 219 batches per second).
#[inline(always)]
pub(crate) fn vectorised<R>(work: impl FnOnce() -> R) -> R {
    struct Work<F>(F);
    impl<R, F: FnOnce() -> R> Pass for Work<F> {
        type Output = R;
        #[inline(always)]
        fn run(self) -> R {
            (self.0)()
        }
    }
    run_best(Work(work))
}

#[cfg(all(feature = "std", target_arch = "x86_64"))]
mod x86 {
    use super::Pass;

    #[target_feature(enable = "avx2,fma")]
    pub(super) fn run_avx2<P: Pass>(pass: P) -> P::Output {
        pass.run()
    }

    #[target_feature(enable = "avx512f,avx2,fma")]
    pub(super) fn run_avx512<P: Pass>(pass: P) -> P::Output {
        pass.run()
    }
}
