//! What the benchmark binaries share.

/// The value after flag `name` on the command line (`--paths 16384` → `Some("16384")`).
pub fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

/// `fn main` that runs `$body` (an `#[inline(always)] fn()`) compiled for the instruction set the
/// engine picks (`hashpivot_model::engine::isa()`, `HASHPIVOT_ISA` too), so that a benchmark's own
/// lane loops are compiled as the engine's are. A macro, not a function: the body must be inlined
/// into a function carrying the CPU's features, which a function pointer or closure would not be.
#[macro_export]
macro_rules! main_for_engine_isa {
    ($body:ident) => {
        fn main() {
            #[cfg(target_arch = "x86_64")]
            match hashpivot_model::engine::isa() {
                // SAFETY: `isa()` names only features the CPU has.
                hashpivot_model::engine::Isa::Avx512 => unsafe { body_avx512() },
                // SAFETY: as above.
                hashpivot_model::engine::Isa::Avx2 => unsafe { body_avx2() },
                hashpivot_model::engine::Isa::Baseline => $body(),
            }
            #[cfg(not(target_arch = "x86_64"))]
            $body();
        }

        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = "avx512f,avx512dq,avx2,fma")]
        unsafe fn body_avx512() {
            $body();
        }

        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = "avx2,fma")]
        unsafe fn body_avx2() {
            $body();
        }
    };
}
