//! Property tests of the least-squares machinery: on random designs with random constant and
//! collinear columns, the pivoted Cholesky and the pivoted QR give the same fitted values, the
//! residual is orthogonal to every column, and nothing is ever NaN.

use hashpivot_lsm::regress::{lstsq, Gram, GRAM_TOL, RCOND};
use proptest::prelude::*;

fn design() -> impl Strategy<Value = (usize, Vec<f64>, Vec<f64>, Vec<u8>)> {
    (20usize..200, 1usize..6).prop_flat_map(|(n, p)| {
        (
            Just(n),
            prop::collection::vec(-10.0f64..10.0, n * p),
            prop::collection::vec(-100.0f64..100.0, n),
            // Per column: 0 = as drawn, 1 = constant zero, 2 = copy of column 0 times 3,
            // 3 = constant 1.
            prop::collection::vec(0u8..4, p),
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn cholesky_and_qr_agree_and_residuals_are_orthogonal((n, mut x, y, kinds) in design()) {
        let p = kinds.len();
        for i in 0..n {
            for (c, kind) in kinds.iter().enumerate() {
                match kind {
                    1 => x[i * p + c] = 0.0,
                    2 => x[i * p + c] = 3.0 * x[i * p],
                    3 => x[i * p + c] = 1.0,
                    _ => {}
                }
            }
        }
        let (cq, _) = lstsq(&x, &y, p, 17, RCOND);
        let mut g = Gram::new(p);
        for i in 0..n {
            g.push(&x[i * p..(i + 1) * p], y[i]);
        }
        let (cg, _) = g.solve(GRAM_TOL);
        prop_assert!(cq.iter().chain(&cg).all(|v| v.is_finite()));
        let fit = |c: &[f64], i: usize| (0..p).map(|j| c[j] * x[i * p + j]).sum::<f64>();
        let scale = y.iter().map(|v| v.abs()).fold(1.0, f64::max);
        for i in 0..n {
            prop_assert!((fit(&cq, i) - fit(&cg, i)).abs() <= 1e-6 * scale,
                "row {}: {} vs {}", i, fit(&cq, i), fit(&cg, i));
        }
        // Normal equations: Xᵀ(y − Xb) = 0 for the QR solution.
        for j in 0..p {
            let dot: f64 = (0..n).map(|i| x[i * p + j] * (y[i] - fit(&cq, i))).sum();
            let norm: f64 = (0..n).map(|i| x[i * p + j].powi(2)).sum::<f64>().sqrt();
            prop_assert!(dot.abs() <= 1e-8 * scale * norm.max(1.0) * (n as f64).sqrt(),
                "column {}: {}", j, dot);
        }
    }
}
