//! Which build of the put's lane loops runs: the AVX2 one where the CPU has it, else the
//! baseline one. Both do the same IEEE operations in the same order (no fused multiply-add, lanes
//! written out explicitly), so they give the same bits; `HASHPIVOT_ISA=baseline` forces the
//! baseline build (the tests compare the two), as it does for the scenario engine.

/// True if the AVX2 builds run (checked once).
pub fn wide() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        static WIDE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
        *WIDE.get_or_init(|| {
            std::is_x86_feature_detected!("avx2")
                && std::env::var("HASHPIVOT_ISA").as_deref() != Ok("baseline")
        })
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Runs `f` compiled for AVX2 when [`wide`] says so (`f` must be `#[inline(always)]`-able code:
/// it is inlined into an AVX2 function), else as it is.
#[inline(always)]
pub fn dispatch<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    {
        #[target_feature(enable = "avx2")]
        fn avx2<R>(f: impl FnOnce() -> R) -> R {
            f()
        }
        if wide() {
            // SAFETY: `wide` checked that the CPU has AVX2.
            return unsafe { avx2(f) };
        }
    }
    f()
}
