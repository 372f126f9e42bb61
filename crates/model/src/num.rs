//! Floating-point helpers whose bits do not depend on how the compiler sees the call.

/// `x^n` by binary powering: the multiplications of the runtime's `__powidf2` (compiler-rt,
/// libgcc and Rust's `compiler_builtins` all square and multiply in this order), written out.
///
/// `f64::powi` is an LLVM intrinsic with no fixed rounding: where the optimizer knows both
/// operands it folds the call with the host's `pow` (correctly rounded, so other bits than the
/// runtime's repeated multiplications). The engine's loans and AI book take their rates and day
/// counts from the scenario, so they always reached the runtime routine; a test with constant
/// terms compiled in release folded them and saw different bits. Written out, the same
/// multiplications run however much is known at compile time (IEEE products fold exactly).
#[inline]
pub fn powi(mut x: f64, n: i32) -> f64 {
    // `1 · x` is `x`: the loans' daily accrual (one day since the last draw) skips the loop.
    if n == 1 {
        return x;
    }
    let recip = n < 0;
    let mut b = n.unsigned_abs();
    let mut r = 1.0;
    loop {
        if b & 1 != 0 {
            r *= x;
        }
        b >>= 1;
        if b == 0 {
            break;
        }
        x *= x;
    }
    if recip {
        1.0 / r
    } else {
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::hint::black_box;

    /// The runtime's `powi` (operands hidden from the optimizer), bit for bit.
    #[test]
    fn the_written_out_power_is_the_runtimes() {
        let bases: [f64; 10] = [
            1.0 + 0.07 / 365.0,
            1.0001854,
            0.95,
            0.5,
            2.0,
            1.0 - 1e-9,
            123.456,
            -1.5,
            0.0,
            1.0,
        ];
        for &x in &bases {
            for n in (-800..=800).chain([i32::MAX, i32::MIN + 1, 5475, -5475, 10_000]) {
                let want = black_box(x).powi(black_box(n));
                let got = powi(x, n);
                assert!(
                    got.to_bits() == want.to_bits() || (got.is_nan() && want.is_nan()),
                    "{x}^{n}: {got} vs {want}"
                );
            }
        }
    }
}
