//! Regression for LSM: standardized features, a polynomial basis, and a numerically stable
//! least-squares solve that survives constant and collinear regressors.
//!
//! Why this shape:
//!
//! - **Standardize** each feature over the regression sample (`z = (x − mean) / std`). A feature
//!   with no spread (every path at the same state, e.g. date 0 or a zero-volatility scenario) gets
//!   scale 0, so `z = 0` and every basis term containing it is an all-zero column — never a division
//!   by zero.
//! - **Polynomial basis** of total degree ≤ `degree` with cross terms (`1, z1, z2, z1², z1 z2, …`).
//! - **Tall-skinny QR**: each block of rows is reduced by Householder reflections to a small upper
//!   triangle of the augmented matrix `[basis | target]`; block triangles merge (stacked and
//!   reduced again) in block order. Orthogonal transformations never square the condition number,
//!   as the normal equations would, and merging in a fixed order keeps results independent of
//!   threads.
//! - **Rank-revealing solve**: the final triangle is refactored with column pivoting; columns whose
//!   pivot falls below `rcond × largest pivot` (constant, duplicated or collinear regressors) are
//!   dropped and get coefficient 0 (the basic least-squares solution).

/// Per-feature standardization `z = (x − mean) * inv_std`, with `inv_std = 0` for constant features.
#[derive(Debug, Clone, PartialEq)]
pub struct Standardizer {
    /// Feature means over the regression sample.
    pub mean: Vec<f64>,
    /// Reciprocal standard deviations; 0 marks a constant feature.
    pub inv_std: Vec<f64>,
}

/// Relative spread below which a feature is treated as constant: `std <= CONST_REL * |mean|`.
/// Roundoff on identical values is far below this; any genuine spread is far above it.
pub const CONST_REL: f64 = 1e-12;

/// Per-feature running sums for a [`Standardizer`], mergeable in block order.
#[derive(Debug, Clone, PartialEq)]
pub struct Moments {
    /// One running mean/variance per feature.
    pub s: Vec<crate::Stats>,
}

impl Moments {
    /// Empty moments of `dims` features.
    pub fn new(dims: usize) -> Self {
        Moments {
            s: vec![crate::Stats::default(); dims],
        }
    }
    /// Adds one feature vector.
    pub fn push(&mut self, x: &[f64]) {
        for (s, &v) in self.s.iter_mut().zip(x) {
            s.push(v);
        }
    }
    /// Merges another block's moments.
    pub fn merge(&mut self, o: &Moments) {
        for (a, b) in self.s.iter_mut().zip(&o.s) {
            a.merge(b);
        }
    }
    /// The standardizer of these moments.
    pub fn standardizer(&self) -> Standardizer {
        let mean: Vec<f64> = self.s.iter().map(|s| s.mean).collect();
        let inv_std = self
            .s
            .iter()
            .map(|s| {
                // Population std: the basis only needs a scale, and n may be 1.
                let sd = if s.n == 0 {
                    0.0
                } else {
                    (s.m2 / s.n as f64).max(0.0).sqrt()
                };
                if !sd.is_finite() || sd <= CONST_REL * s.mean.abs() {
                    0.0
                } else {
                    1.0 / sd
                }
            })
            .collect();
        Standardizer { mean, inv_std }
    }
}

impl Standardizer {
    /// Writes the standardized features of `x` into `z`.
    #[inline(always)]
    pub fn apply(&self, x: &[f64], z: &mut [f64]) {
        for k in 0..z.len() {
            z[k] = (x[k] - self.mean[k]) * self.inv_std[k];
        }
    }
    /// Number of features that vary (scale ≠ 0).
    pub fn varying(&self) -> usize {
        self.inv_std.iter().filter(|&&s| s != 0.0).count()
    }
}

/// Polynomial basis in `dims` standardized variables of total degree ≤ `degree`, cross terms
/// included: `C(dims + degree, degree)` functions, the constant first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Basis {
    dims: usize,
    degree: usize,
    /// Exponents of each term, `terms × dims`.
    exps: Vec<u8>,
    /// Each term's factors in the order [`Basis::eval`] multiplies them (variable `k` repeated
    /// `e_k` times, `k` increasing), padded to `degree` factors with `dims`, which stands for a
    /// factor 1.0 (exact): `terms × degree`. Every term then takes the same number of products,
    /// a loop the compiler unrolls, where the exponents' loops of 0, 1 or 2 trips branched.
    chain: Vec<u8>,
}

/// Most variables whose values [`Basis::eval`] and [`Basis::dot`] copy next to a 1.0 (more take
/// the exponents' loops).
const CHAIN_DIMS: usize = 7;

impl Basis {
    /// The basis of total degree ≤ `degree` in `dims` variables.
    pub fn new(dims: usize, degree: usize) -> Self {
        let mut exps = Vec::new();
        let mut cur = vec![0u8; dims];
        for total in 0..=degree {
            gen(&mut cur, 0, total, &mut exps);
        }
        let mut chain = Vec::new();
        if dims > 0 {
            for e in exps.chunks_exact(dims) {
                let start = chain.len();
                for (k, &ek) in e.iter().enumerate() {
                    chain.extend(std::iter::repeat_n(k as u8, ek as usize));
                }
                chain.resize(start + degree, dims as u8);
            }
        }
        Basis {
            dims,
            degree,
            exps,
            chain,
        }
    }

    /// `z` copied next to a 1.0 (index `dims`), for the chains; `None` when there are too many
    /// variables or the degree has no unrolled form.
    #[inline(always)]
    fn padded(&self, z: &[f64]) -> Option<[f64; CHAIN_DIMS + 1]> {
        if self.dims > CHAIN_DIMS || !(2..=3).contains(&self.degree) {
            return None;
        }
        let mut zz = [1.0; CHAIN_DIMS + 1];
        zz[..self.dims].copy_from_slice(&z[..self.dims]);
        Some(zz)
    }
    /// Number of variables.
    pub fn dims(&self) -> usize {
        self.dims
    }
    /// Total degree.
    pub fn degree(&self) -> usize {
        self.degree
    }
    /// Number of basis functions.
    pub fn len(&self) -> usize {
        self.exps.len().checked_div(self.dims).unwrap_or(1)
    }
    /// Always false: the constant is always there.
    pub fn is_empty(&self) -> bool {
        false
    }
    /// Evaluates every basis function at `z` into `out` (`out.len() == self.len()`).
    #[inline(always)]
    pub fn eval(&self, z: &[f64], out: &mut [f64]) {
        if self.dims == 1 {
            // The common one-factor case: 1, z, z², …
            let mut p = 1.0;
            for o in out.iter_mut() {
                *o = p;
                p *= z[0];
            }
            return;
        }
        if self.dims == 0 {
            out[0] = 1.0;
            return;
        }
        if let Some(zz) = self.padded(z) {
            match self.degree {
                2 => return self.eval_chain::<2>(&zz, out),
                3 => return self.eval_chain::<3>(&zz, out),
                _ => {}
            }
        }
        for (t, o) in out.iter_mut().enumerate() {
            let e = &self.exps[t * self.dims..(t + 1) * self.dims];
            let mut v = 1.0;
            for (k, &ek) in e.iter().enumerate() {
                for _ in 0..ek {
                    v *= z[k];
                }
            }
            *o = v;
        }
    }
}

impl Basis {
    /// [`Basis::eval`] with every term `D` factors of `zz` (the same products in the same order:
    /// the padding multiplies by 1.0, which changes no value).
    #[inline(always)]
    fn eval_chain<const D: usize>(&self, zz: &[f64; CHAIN_DIMS + 1], out: &mut [f64]) {
        for (o, ch) in out.iter_mut().zip(self.chain.chunks_exact(D)) {
            let mut v = 1.0;
            for &k in &ch[..D] {
                v *= zz[k as usize & CHAIN_DIMS];
            }
            *o = v;
        }
    }

    /// [`Basis::dot`] with every term `D` factors of `zz` (see [`Basis::eval_chain`]).
    #[inline(always)]
    fn dot_chain<const D: usize>(&self, zz: &[f64; CHAIN_DIMS + 1], coef: &[f64]) -> f64 {
        let mut s = 0.0;
        for (&c, ch) in coef.iter().zip(self.chain.chunks_exact(D)) {
            if c == 0.0 {
                continue;
            }
            let mut v = c;
            for &k in &ch[..D] {
                v *= zz[k as usize & CHAIN_DIMS];
            }
            s += v;
        }
        s
    }

    /// `Σ coef[t] · term_t(z)` without materializing the basis (terms with coefficient 0 skipped).
    #[inline]
    pub fn dot(&self, z: &[f64], coef: &[f64]) -> f64 {
        if self.dims == 0 {
            return coef[0];
        }
        if let Some(zz) = self.padded(z) {
            match self.degree {
                2 => return self.dot_chain::<2>(&zz, coef),
                3 => return self.dot_chain::<3>(&zz, coef),
                _ => {}
            }
        }
        let mut s = 0.0;
        for (t, &c) in coef.iter().enumerate() {
            if c == 0.0 {
                continue;
            }
            let e = &self.exps[t * self.dims..(t + 1) * self.dims];
            let mut v = c;
            for (k, &ek) in e.iter().enumerate() {
                for _ in 0..ek {
                    v *= z[k];
                }
            }
            s += v;
        }
        s
    }
}

fn gen(cur: &mut [u8], k: usize, left: usize, out: &mut Vec<u8>) {
    if cur.is_empty() {
        if left == 0 {
            // dims == 0: only the constant.
        }
        return;
    }
    if k + 1 == cur.len() {
        cur[k] = left as u8;
        out.extend_from_slice(cur);
        cur[k] = 0;
        return;
    }
    for e in (0..=left).rev() {
        cur[k] = e as u8;
        gen(cur, k + 1, left - e, out);
    }
    cur[k] = 0;
}

/// Householder QR of a column-major `m × q` matrix, in place; returns the `q × q` upper triangle
/// `R` (row-major) with `AᵀA = RᵀR`. Rows of `R` past `m` are zero.
pub fn householder_r(a: &mut [f64], m: usize, q: usize) -> Vec<f64> {
    debug_assert_eq!(a.len(), m * q);
    for k in 0..q.min(m) {
        let (head, tail) = a.split_at_mut((k + 1) * m);
        let col = &mut head[k * m..];
        let norm = col[k..].iter().map(|v| v * v).sum::<f64>().sqrt();
        if norm == 0.0 {
            continue; // already triangular in this column
        }
        let alpha = if col[k] > 0.0 { -norm } else { norm };
        col[k] -= alpha;
        // vᵀv = 2 norm (norm + |x0|) > 0.
        let vtv: f64 = col[k..].iter().map(|v| v * v).sum();
        for j in 0..q - k - 1 {
            let cj = &mut tail[j * m..(j + 1) * m];
            let dot: f64 = col[k..].iter().zip(&cj[k..]).map(|(v, c)| v * c).sum();
            let f = 2.0 * dot / vtv;
            for (c, v) in cj[k..].iter_mut().zip(&col[k..]) {
                *c -= f * v;
            }
        }
        col[k] = alpha;
    }
    let mut r = vec![0.0; q * q];
    for i in 0..q.min(m) {
        for j in i..q {
            r[i * q + j] = a[j * m + i];
        }
    }
    r
}

/// The running upper triangle of `[basis | target]` for one regression (tall-skinny QR state).
#[derive(Debug, Clone, PartialEq)]
pub struct Triangle {
    /// Columns: basis functions plus the target.
    pub q: usize,
    /// Row-major `q × q` upper triangle.
    pub r: Vec<f64>,
    /// Rows absorbed.
    pub rows: usize,
}

impl Triangle {
    /// The triangle of no rows.
    pub fn empty(q: usize) -> Self {
        Triangle {
            q,
            r: vec![0.0; q * q],
            rows: 0,
        }
    }

    /// Reduces a column-major block of `m` rows (`a.len() == m * q`, destroyed) to its triangle.
    pub fn from_block(a: &mut [f64], m: usize, q: usize) -> Self {
        if m == 0 {
            return Triangle::empty(q);
        }
        Triangle {
            q,
            r: householder_r(a, m, q),
            rows: m,
        }
    }

    /// Absorbs another triangle (stack both and reduce): the result is the triangle of all rows.
    pub fn merge(&mut self, o: &Triangle) {
        if o.rows == 0 {
            return;
        }
        if self.rows == 0 {
            *self = o.clone();
            return;
        }
        let q = self.q;
        let m = 2 * q;
        let mut a = vec![0.0; m * q];
        for i in 0..q {
            for j in 0..q {
                a[j * m + i] = self.r[i * q + j];
                a[j * m + q + i] = o.r[i * q + j];
            }
        }
        self.r = householder_r(&mut a, m, q);
        self.rows += o.rows;
    }

    /// Least-squares coefficients of the target on the basis columns, dropping (coefficient 0)
    /// columns that are zero or linearly dependent at relative tolerance `rcond`. Returns the
    /// coefficients and the numerical rank.
    pub fn solve(&self, rcond: f64) -> (Vec<f64>, usize) {
        let q = self.q;
        let p = q - 1;
        // Column-major copy of the basis block of R, and the projected target c = Qᵀy.
        let mut a = vec![0.0; p * p];
        let mut c = vec![0.0; p];
        for i in 0..p {
            for j in 0..p {
                a[j * p + i] = self.r[i * q + j];
            }
            c[i] = self.r[i * q + p];
        }
        let mut perm: Vec<usize> = (0..p).collect();
        let mut diag = vec![0.0; p];
        for k in 0..p {
            // Pivot: the remaining column with the largest norm below row k.
            let mut best = k;
            let mut best_n = -1.0;
            for j in k..p {
                let n: f64 = a[j * p + k..(j + 1) * p].iter().map(|v| v * v).sum();
                if n > best_n {
                    best_n = n;
                    best = j;
                }
            }
            if best != k {
                for i in 0..p {
                    a.swap(k * p + i, best * p + i);
                }
                perm.swap(k, best);
            }
            let norm = best_n.max(0.0).sqrt();
            if norm == 0.0 {
                break; // every remaining column is zero
            }
            let (head, tail) = a.split_at_mut((k + 1) * p);
            let col = &mut head[k * p..];
            let alpha = if col[k] > 0.0 { -norm } else { norm };
            col[k] -= alpha;
            let vtv: f64 = col[k..].iter().map(|v| v * v).sum();
            for j in 0..p - k - 1 {
                let cj = &mut tail[j * p..(j + 1) * p];
                let dot: f64 = col[k..].iter().zip(&cj[k..]).map(|(v, x)| v * x).sum();
                let f = 2.0 * dot / vtv;
                for (x, v) in cj[k..].iter_mut().zip(&col[k..]) {
                    *x -= f * v;
                }
            }
            let dot: f64 = col[k..].iter().zip(&c[k..]).map(|(v, x)| v * x).sum();
            let f = 2.0 * dot / vtv;
            for (x, v) in c[k..].iter_mut().zip(&col[k..]) {
                *x -= f * v;
            }
            col[k] = alpha;
            diag[k] = alpha;
        }
        let top = diag.first().map(|d| d.abs()).unwrap_or(0.0);
        let rank = if top == 0.0 {
            0
        } else {
            diag.iter().take_while(|d| d.abs() > rcond * top).count()
        };
        // Back substitution on the leading rank × rank triangle.
        let mut x = vec![0.0; p];
        for i in (0..rank).rev() {
            let mut s = c[i];
            for j in i + 1..rank {
                s -= a[j * p + i] * x[j];
            }
            x[i] = s / a[i * p + i];
        }
        let mut coef = vec![0.0; p];
        for k in 0..p {
            coef[perm[k]] = x[k];
        }
        (coef, rank)
    }
}

/// Default relative rank tolerance of [`Triangle::solve`].
pub const RCOND: f64 = 1e-10;

/// Least squares of `y` on the columns of a row-major `n × p` matrix `x`, through the same
/// machinery as the LSM core (blocks of `block` rows). For tests and small problems.
pub fn lstsq(x: &[f64], y: &[f64], p: usize, block: usize, rcond: f64) -> (Vec<f64>, usize) {
    let n = y.len();
    let q = p + 1;
    let mut tri = Triangle::empty(q);
    let mut start = 0;
    while start < n {
        let m = block.min(n - start);
        let mut a = vec![0.0; m * q];
        for i in 0..m {
            for j in 0..p {
                a[j * m + i] = x[(start + i) * p + j];
            }
            a[p * m + i] = y[start + i];
        }
        tri.merge(&Triangle::from_block(&mut a, m, q));
        start += m;
    }
    tri.solve(rcond)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lcg(state: &mut u64) -> f64 {
        *state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((*state >> 11) as f64) / ((1u64 << 53) as f64) - 0.5
    }

    /// Every term by its exponents' loops (the reference the chains must equal bit for bit).
    fn by_exponents(b: &Basis, z: &[f64], coef: Option<&[f64]>) -> Vec<f64> {
        (0..b.len())
            .map(|t| {
                let mut v = coef.map_or(1.0, |c| c[t]);
                for (k, &ek) in b.exps[t * b.dims..(t + 1) * b.dims].iter().enumerate() {
                    for _ in 0..ek {
                        v *= z[k];
                    }
                }
                v
            })
            .collect()
    }

    /// `eval` and `dot` through the padded chains (2 ≤ degree ≤ 3, up to 7 variables) are the
    /// exponents' loops bit for bit: values of mixed signs and sizes, zeros, -0, infinities
    /// and NaN among the variables, zero coefficients skipped as before; the other sizes take
    /// the loops themselves. Fails with a chain in another order or a padding that is not 1.0.
    #[test]
    fn chained_terms_are_the_exponent_loops_bit_for_bit() {
        let mut st = 11u64;
        let special = [0.0, -0.0, 1e300, -3.5e-300, f64::INFINITY, f64::NAN];
        for dims in 1..=9 {
            for degree in 0..=4 {
                let b = Basis::new(dims, degree);
                for round in 0..40 {
                    let mut z: Vec<f64> = (0..dims).map(|_| lcg(&mut st) * 7.0).collect();
                    if round % 4 == 1 {
                        z[round % dims] = special[round / 4 % special.len()];
                    }
                    let want = by_exponents(&b, &z, None);
                    let mut got = vec![0.0; b.len()];
                    b.eval(&z, &mut got);
                    let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                    if dims > 1 {
                        assert_eq!(bits(&got), bits(&want), "eval {dims} {degree} {z:?}");
                    }
                    let coef: Vec<f64> = (0..b.len())
                        .map(|t| if t % 3 == 2 { 0.0 } else { lcg(&mut st) })
                        .collect();
                    let mut s = 0.0;
                    for (t, v) in by_exponents(&b, &z, Some(&coef)).into_iter().enumerate() {
                        if coef[t] != 0.0 {
                            s += v;
                        }
                    }
                    let d = b.dot(&z, &coef);
                    assert!(
                        d.to_bits() == s.to_bits() || (d.is_nan() && s.is_nan()),
                        "dot {dims} {degree}: {d} vs {s}"
                    );
                }
            }
        }
    }

    /// The normal equations' sums of the unrolled sizes (4 and 10 columns) are the general
    /// loop's bit for bit.
    #[test]
    fn unrolled_gram_sums_are_the_general_loops() {
        let mut st = 5u64;
        for p in [4, 10] {
            let (mut fast, mut general) = (Gram::new(p), Gram::new(p));
            for _ in 0..200 {
                let a: Vec<f64> = (0..p).map(|_| lcg(&mut st) * 3.0).collect();
                let y = lcg(&mut st) * 1e3;
                fast.push(&a, y);
                general.push_n::<0>(&a, y);
            }
            let bits = |g: &Gram| {
                let (a, b, yy) = g.sums();
                let v: Vec<u64> = a.iter().chain(b).map(|x| x.to_bits()).collect();
                (v, yy.to_bits(), g.rows)
            };
            assert_eq!(bits(&fast), bits(&general), "p = {p}");
        }
    }

    #[test]
    fn basis_terms_and_values() {
        let b = Basis::new(3, 2);
        assert_eq!(b.len(), 10);
        let b1 = Basis::new(1, 3);
        assert_eq!(b1.len(), 4);
        let mut out = vec![0.0; 4];
        b1.eval(&[2.0], &mut out);
        assert_eq!(out, vec![1.0, 2.0, 4.0, 8.0]);
        let b2 = Basis::new(2, 2);
        let mut o2 = vec![0.0; 6];
        b2.eval(&[2.0, 3.0], &mut o2);
        // constant, then degree 1 (z1, z2), then degree 2 (z1², z1 z2, z2²)
        assert_eq!(o2, vec![1.0, 2.0, 3.0, 4.0, 6.0, 9.0]);
    }

    #[test]
    fn recovers_exact_coefficients() {
        let mut s = 1u64;
        let n = 5000;
        let p = 4;
        let truth = [1.5, -2.0, 0.25, 3.0];
        let mut x = vec![0.0; n * p];
        let mut y = vec![0.0; n];
        for i in 0..n {
            x[i * p] = 1.0;
            for j in 1..p {
                x[i * p + j] = lcg(&mut s) * 10.0;
            }
            y[i] = (0..p).map(|j| truth[j] * x[i * p + j]).sum();
        }
        for block in [1, 7, 64, 5000] {
            let (c, rank) = lstsq(&x, &y, p, block, RCOND);
            assert_eq!(rank, 4);
            for j in 0..p {
                assert!((c[j] - truth[j]).abs() < 1e-10, "block {block}: {c:?}");
            }
        }
    }

    #[test]
    fn matches_normal_equations_with_noise() {
        // Noisy data: compare to the closed-form simple regression.
        let mut s = 9u64;
        let n = 2000;
        let mut x = vec![0.0; n * 2];
        let mut y = vec![0.0; n];
        for i in 0..n {
            let t = lcg(&mut s) * 4.0;
            x[i * 2] = 1.0;
            x[i * 2 + 1] = t;
            y[i] = 0.7 - 1.3 * t + lcg(&mut s);
        }
        let (c, _) = lstsq(&x, &y, 2, 300, RCOND);
        let mx = (0..n).map(|i| x[i * 2 + 1]).sum::<f64>() / n as f64;
        let my = y.iter().sum::<f64>() / n as f64;
        let sxy: f64 = (0..n).map(|i| (x[i * 2 + 1] - mx) * (y[i] - my)).sum();
        let sxx: f64 = (0..n).map(|i| (x[i * 2 + 1] - mx).powi(2)).sum();
        let b = sxy / sxx;
        let a = my - b * mx;
        assert!(
            (c[0] - a).abs() < 1e-10 && (c[1] - b).abs() < 1e-10,
            "{c:?} vs {a} {b}"
        );
    }

    #[test]
    fn constant_and_zero_columns_are_dropped_not_divided() {
        // Columns: 1, a zero column (a constant feature after standardization), x, and 2x (collinear).
        let n = 100;
        let p = 4;
        let mut x = vec![0.0; n * p];
        let mut y = vec![0.0; n];
        for i in 0..n {
            let t = i as f64 / 10.0;
            x[i * p] = 1.0;
            x[i * p + 1] = 0.0;
            x[i * p + 2] = t;
            x[i * p + 3] = 2.0 * t;
            y[i] = 3.0 + 5.0 * t;
        }
        let (c, rank) = lstsq(&x, &y, p, 16, RCOND);
        assert_eq!(rank, 2);
        assert!(c.iter().all(|v| v.is_finite()));
        assert_eq!(c[1], 0.0);
        // Fitted values are exact whichever of the collinear pair was kept.
        for i in 0..n {
            let f: f64 = (0..p).map(|j| c[j] * x[i * p + j]).sum();
            assert!((f - y[i]).abs() < 1e-9, "row {i}: {f} vs {}", y[i]);
        }
    }

    #[test]
    fn all_constant_regressors_give_the_mean() {
        // Every path in the same state (date 0, zero volatility): only the intercept survives.
        let n = 50;
        let x: Vec<f64> = (0..n).flat_map(|_| [1.0, 0.0, 0.0]).collect();
        let y: Vec<f64> = (0..n).map(|i| i as f64).collect();
        let (c, rank) = lstsq(&x, &y, 3, 8, RCOND);
        assert_eq!(rank, 1);
        assert!((c[0] - 24.5).abs() < 1e-12);
        assert_eq!((c[1], c[2]), (0.0, 0.0));
    }

    #[test]
    fn no_rows_and_all_zero_give_zero() {
        let t = Triangle::empty(3);
        let (c, rank) = t.solve(RCOND);
        assert_eq!(rank, 0);
        assert_eq!(c, vec![0.0, 0.0]);
    }

    #[test]
    fn standardizer_marks_constants() {
        let mut m = Moments::new(2);
        for i in 0..10 {
            m.push(&[7.25, i as f64]);
        }
        let s = m.standardizer();
        assert_eq!(s.inv_std[0], 0.0);
        assert!(s.inv_std[1] > 0.0);
        let mut z = [0.0; 2];
        s.apply(&[7.25, 4.5], &mut z);
        assert_eq!(z, [0.0, 0.0]);
        assert_eq!(s.varying(), 1);
    }

    #[test]
    fn householder_r_reproduces_gram() {
        let mut s = 3u64;
        let (m, q) = (37, 5);
        let a0: Vec<f64> = (0..m * q).map(|_| lcg(&mut s)).collect();
        let mut a = a0.clone();
        let r = householder_r(&mut a, m, q);
        for i in 0..q {
            for j in 0..q {
                let g: f64 = (0..m).map(|k| a0[i * m + k] * a0[j * m + k]).sum();
                let rr: f64 = (0..q).map(|k| r[k * q + i] * r[k * q + j]).sum();
                assert!((g - rr).abs() < 1e-12, "{i},{j}: {g} vs {rr}");
            }
        }
    }
}

/// The normal equations `AᵀA`, `Aᵀy` (and `yᵀy`) of a regression, accumulated row by row and merged
/// block by block in a fixed order. Solved by [`Gram::solve`], a Cholesky factorization with
/// diagonal pivoting that stops at numerical rank, so constant and collinear columns are dropped
/// rather than divided by. Four times cheaper per row than Householder; on standardized regressors
/// (the LSM basis) the squared condition number stays far from double precision's limit, and the
/// tolerance below drops any direction that would approach it.
#[derive(Debug, Clone, PartialEq)]
pub struct Gram {
    p: usize,
    /// Packed lower triangle of `AᵀA`, row-major (`i ≥ j`).
    g: Vec<f64>,
    /// `Aᵀy`.
    b: Vec<f64>,
    /// `yᵀy`.
    yy: f64,
    /// Rows absorbed.
    pub rows: usize,
}

/// Relative tolerance on the pivoted Cholesky's remaining diagonal (squared column norms): a
/// column whose part independent of the columns already chosen has less than `1e-6` of the largest
/// column's norm is dropped.
pub const GRAM_TOL: f64 = 1e-12;

impl Gram {
    /// Empty normal equations of `p` columns.
    pub fn new(p: usize) -> Self {
        Gram {
            p,
            g: vec![0.0; p * (p + 1) / 2],
            b: vec![0.0; p],
            yy: 0.0,
            rows: 0,
        }
    }

    /// Adds one row `a` (length `p`) with target `y`.
    #[inline(always)]
    pub fn push(&mut self, a: &[f64], y: f64) {
        // The usual bases (a quadratic in three features, a cubic in one) with their size known
        // to the compiler: the triangle's loops then unroll (the same products and sums, in the
        // same order per sum).
        match self.p {
            10 => self.push_n::<10>(a, y),
            4 => self.push_n::<4>(a, y),
            _ => self.push_n::<0>(a, y),
        }
    }

    /// [`Gram::push`] for `p = P`, or any `p` when `P` is 0.
    #[inline(always)]
    fn push_n<const P: usize>(&mut self, a: &[f64], y: f64) {
        let p = if P == 0 { self.p } else { P };
        let a = &a[..p];
        let g = &mut self.g[..p * (p + 1) / 2];
        let mut o = 0;
        for i in 0..p {
            let ai = a[i];
            for j in 0..=i {
                g[o + j] += ai * a[j];
            }
            o += i + 1;
            self.b[i] += ai * y;
        }
        self.yy += y * y;
        self.rows += 1;
    }

    /// Adds row `a` with target `y` if `w`, else adds nothing — without branching on `w` (the
    /// arithmetic is done either way with weight 0). `a` and `y` must be finite.
    #[inline(always)]
    pub fn push_weighted(&mut self, a: &[f64], y: f64, w: bool) {
        let p = self.p;
        let a = &a[..p];
        let wf = if w { 1.0 } else { 0.0 };
        let g = &mut self.g[..p * (p + 1) / 2];
        let mut o = 0;
        for i in 0..p {
            let ai = wf * a[i];
            for j in 0..=i {
                g[o + j] += ai * a[j];
            }
            o += i + 1;
            self.b[i] += ai * y;
        }
        self.yy += wf * y * y;
        self.rows += w as usize;
    }

    /// The raw sums: the packed lower triangle of `AᵀA` (row-major, `i ≥ j`), `Aᵀy`, `yᵀy` — for
    /// callers that merge sums their own way (e.g. exactly, across machines).
    pub fn sums(&self) -> (&[f64], &[f64], f64) {
        (&self.g, &self.b, self.yy)
    }

    /// Normal equations of `p` columns from raw sums laid out as [`Gram::sums`] returns them.
    pub fn from_sums(p: usize, g: Vec<f64>, b: Vec<f64>, yy: f64, rows: usize) -> Gram {
        assert_eq!(g.len(), p * (p + 1) / 2, "packed triangle of {p} columns");
        assert_eq!(b.len(), p, "Aᵀy of {p} columns");
        Gram { p, g, b, yy, rows }
    }

    /// Adds another block's sums.
    pub fn merge(&mut self, o: &Gram) {
        for (a, b) in self.g.iter_mut().zip(&o.g) {
            *a += b;
        }
        for (a, b) in self.b.iter_mut().zip(&o.b) {
            *a += b;
        }
        self.yy += o.yy;
        self.rows += o.rows;
    }

    #[inline]
    fn at(&self, i: usize, j: usize) -> f64 {
        let (i, j) = if i >= j { (i, j) } else { (j, i) };
        self.g[i * (i + 1) / 2 + j]
    }

    /// Least-squares coefficients, dropping (coefficient 0) columns whose remaining pivot is below
    /// `tol ×` the largest diagonal. Returns the coefficients and the numerical rank.
    pub fn solve(&self, tol: f64) -> (Vec<f64>, usize) {
        let p = self.p;
        // Dense copy; the factorization overwrites it with L (lower, in pivoted order).
        let mut a = vec![0.0; p * p];
        for i in 0..p {
            for j in 0..p {
                a[i * p + j] = self.at(i, j);
            }
        }
        let mut perm: Vec<usize> = (0..p).collect();
        let top = (0..p).map(|i| a[i * p + i]).fold(0.0f64, f64::max);
        let mut rank = 0;
        if top > 0.0 && top.is_finite() {
            for k in 0..p {
                // Pivot: the largest remaining diagonal.
                let (mut best, mut bv) = (k, a[k * p + k]);
                for i in k + 1..p {
                    if a[i * p + i] > bv {
                        best = i;
                        bv = a[i * p + i];
                    }
                }
                if bv.is_nan() || bv <= tol * top {
                    break;
                }
                if best != k {
                    // Symmetric swap of rows/columns k and best.
                    for c in 0..p {
                        a.swap(k * p + c, best * p + c);
                    }
                    for r in 0..p {
                        a.swap(r * p + k, r * p + best);
                    }
                    perm.swap(k, best);
                }
                let d = a[k * p + k].sqrt();
                a[k * p + k] = d;
                for i in k + 1..p {
                    a[i * p + k] /= d;
                }
                for i in k + 1..p {
                    let lik = a[i * p + k];
                    for j in k + 1..=i {
                        a[i * p + j] -= lik * a[j * p + k];
                    }
                    // Keep the symmetric upper part consistent for the pivot search and swaps.
                    for j in k + 1..=i {
                        a[j * p + i] = a[i * p + j];
                    }
                }
                rank += 1;
            }
        }
        // Solve L Lᵀ x = Pᵀb on the leading rank × rank block.
        let mut z = vec![0.0; rank];
        for i in 0..rank {
            let mut s = self.b[perm[i]];
            for j in 0..i {
                s -= a[i * p + j] * z[j];
            }
            z[i] = s / a[i * p + i];
        }
        for i in (0..rank).rev() {
            let mut s = z[i];
            for j in i + 1..rank {
                s -= a[j * p + i] * z[j];
            }
            z[i] = s / a[i * p + i];
        }
        let mut coef = vec![0.0; p];
        for i in 0..rank {
            coef[perm[i]] = z[i];
        }
        (coef, rank)
    }
}

#[cfg(test)]
mod gram_tests {
    use super::*;

    fn gram_lstsq(x: &[f64], y: &[f64], p: usize) -> (Vec<f64>, usize) {
        let mut g = Gram::new(p);
        for (i, yi) in y.iter().enumerate() {
            g.push(&x[i * p..(i + 1) * p], *yi);
        }
        g.solve(GRAM_TOL)
    }

    #[test]
    fn gram_agrees_with_qr_on_noisy_data() {
        let mut s = 11u64;
        let mut next = || {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((s >> 11) as f64) / ((1u64 << 53) as f64) - 0.5
        };
        let (n, p) = (3000, 4);
        let mut x = vec![0.0; n * p];
        let mut y = vec![0.0; n];
        for i in 0..n {
            let z = next() * 3.0;
            x[i * p] = 1.0;
            x[i * p + 1] = z;
            x[i * p + 2] = z * z;
            x[i * p + 3] = z * z * z;
            y[i] = (1.0 - z).max(0.0) + 0.3 * next();
        }
        let (cq, rq) = lstsq(&x, &y, p, 256, RCOND);
        let (cg, rg) = gram_lstsq(&x, &y, p);
        assert_eq!((rq, rg), (4, 4));
        for j in 0..p {
            assert!((cq[j] - cg[j]).abs() < 1e-9, "{cq:?} vs {cg:?}");
        }
    }

    #[test]
    fn gram_drops_constant_and_collinear_columns() {
        let n = 100;
        let p = 5;
        let mut x = vec![0.0; n * p];
        let mut y = vec![0.0; n];
        for i in 0..n {
            let t = i as f64 / 10.0;
            x[i * p] = 1.0;
            x[i * p + 1] = 0.0; // constant feature after standardization
            x[i * p + 2] = t;
            x[i * p + 3] = -3.0 * t; // collinear with t
            x[i * p + 4] = 2.0 + t; // collinear with 1 and t
            y[i] = 3.0 + 5.0 * t;
        }
        let (c, rank) = gram_lstsq(&x, &y, p);
        assert_eq!(rank, 2);
        assert!(c.iter().all(|v| v.is_finite()), "{c:?}");
        assert_eq!(c[1], 0.0);
        for i in 0..n {
            let f: f64 = (0..p).map(|j| c[j] * x[i * p + j]).sum();
            assert!((f - y[i]).abs() < 1e-9, "row {i}: {f} vs {}", y[i]);
        }
    }

    #[test]
    fn gram_all_constant_gives_mean_and_empty_gives_zero() {
        let x: Vec<f64> = (0..50).flat_map(|_| [1.0, 0.0, 0.0]).collect();
        let y: Vec<f64> = (0..50).map(|i| i as f64).collect();
        let (c, rank) = gram_lstsq(&x, &y, 3);
        assert_eq!(rank, 1);
        assert!((c[0] - 24.5).abs() < 1e-12);
        let (c0, r0) = Gram::new(3).solve(GRAM_TOL);
        assert_eq!((c0, r0), (vec![0.0; 3], 0));
    }
}

/// A [`Gram`] of a compile-time number of columns `P`: the accumulators live on the stack and the
/// loops unroll, which matters in the LSM core's hot loop. Converts into a [`Gram`] to merge.
#[derive(Debug, Clone, Copy)]
pub struct GramN<const P: usize> {
    g: [[f64; P]; P],
    b: [f64; P],
    yy: f64,
    rows: usize,
}

impl<const P: usize> Default for GramN<P> {
    fn default() -> Self {
        GramN {
            g: [[0.0; P]; P],
            b: [0.0; P],
            yy: 0.0,
            rows: 0,
        }
    }
}

impl<const P: usize> GramN<P> {
    /// As [`Gram::push_weighted`].
    // The triangular double loop indexes `a` and `g` together; constant bounds let it unroll.
    #[allow(clippy::needless_range_loop)]
    #[inline(always)]
    pub fn push_weighted(&mut self, a: &[f64; P], y: f64, w: bool) {
        let wf = if w { 1.0 } else { 0.0 };
        for i in 0..P {
            let ai = wf * a[i];
            for j in 0..=i {
                self.g[i][j] += ai * a[j];
            }
            self.b[i] += ai * y;
        }
        self.yy += wf * y * y;
        self.rows += w as usize;
    }

    /// The same sums as a [`Gram`].
    pub fn into_gram(self) -> Gram {
        let mut g = Gram::new(P);
        let mut o = 0;
        for i in 0..P {
            for j in 0..=i {
                g.g[o + j] = self.g[i][j];
            }
            o += i + 1;
        }
        g.b.copy_from_slice(&self.b);
        g.yy = self.yy;
        g.rows = self.rows;
        g
    }
}

/// Interleaved partial sums of [`PowerSums`]: each sum is split over this many lanes (row `k` of
/// a batch goes to lane `k`), which the compiler keeps in one vector register per sum instead of
/// one serial chain of additions.
pub const LANES: usize = 4;

/// Largest basis [`PowerSums`] holds: degree 8 in one variable.
const MAX_POWER_TERMS: usize = 9;

/// The normal equations of the one-variable polynomial basis `1, z, …, z^(P−1)` as power sums:
/// `AᵀA[i][j] = Σ w·z^(i+j)` needs only the `2P − 1` sums `Σ w·z^m` (not `P(P+1)/2` products),
/// and `Aᵀt[i] = Σ w·z^i·t`. Rows come in batches of [`LANES`], each row into its own lane; the
/// lanes are added in a fixed order at the end, so the sums depend on the rows' order only.
/// `P` must be at most 9.
#[derive(Debug, Clone, Copy)]
pub struct PowerSums<const P: usize> {
    zm: [[f64; LANES]; 2 * MAX_POWER_TERMS - 1],
    zt: [[f64; LANES]; MAX_POWER_TERMS],
    tt: [f64; LANES],
    rows: usize,
}

impl<const P: usize> Default for PowerSums<P> {
    fn default() -> Self {
        assert!(P <= MAX_POWER_TERMS, "at most {MAX_POWER_TERMS} terms");
        PowerSums {
            zm: [[0.0; LANES]; 2 * MAX_POWER_TERMS - 1],
            zt: [[0.0; LANES]; MAX_POWER_TERMS],
            tt: [0.0; LANES],
            rows: 0,
        }
    }
}

impl<const P: usize> PowerSums<P> {
    /// Adds [`LANES`] rows: standardized feature `z`, target `t`, and whether each row is in the
    /// regression (`w`; rows outside add exact zeros, so `z` and `t` must be finite).
    // The lane loops index several arrays together; constant bounds let them become one vector
    // operation each.
    #[allow(clippy::needless_range_loop)]
    #[inline(always)]
    pub fn push(&mut self, z: [f64; LANES], t: [f64; LANES], w: [bool; LANES]) {
        let wf: [f64; LANES] = std::array::from_fn(|l| if w[l] { 1.0 } else { 0.0 });
        let mut pw = wf;
        for m in 0..2 * P - 1 {
            for l in 0..LANES {
                self.zm[m][l] += pw[l];
            }
            if m < P {
                for l in 0..LANES {
                    self.zt[m][l] += pw[l] * t[l];
                }
            }
            for l in 0..LANES {
                pw[l] *= z[l];
            }
        }
        for l in 0..LANES {
            self.tt[l] += wf[l] * t[l] * t[l];
        }
        self.rows += w.iter().filter(|&&x| x).count();
    }

    /// The sums as a [`Gram`] (lanes added left to right).
    pub fn into_gram(self) -> Gram {
        let fold = |v: &[f64; LANES]| v.iter().fold(0.0, |a, x| a + x);
        let mut g = Vec::with_capacity(P * (P + 1) / 2);
        for i in 0..P {
            for j in 0..=i {
                g.push(fold(&self.zm[i + j]));
            }
        }
        let b = (0..P).map(|i| fold(&self.zt[i])).collect();
        Gram::from_sums(P, g, b, fold(&self.tt), self.rows)
    }
}

#[cfg(test)]
mod power_sums_tests {
    use super::*;

    /// The power sums give the normal equations row products give (to rounding), including rows
    /// outside the regression and a batch's unused lanes.
    #[test]
    fn power_sums_equal_row_products() {
        let n = 1003;
        let z: Vec<f64> = (0..n)
            .map(|i| ((i * 37 % 101) as f64 - 50.0) / 25.0)
            .collect();
        let t: Vec<f64> = (0..n).map(|i| (i % 13) as f64 * 0.7 - 2.0).collect();
        let w: Vec<bool> = (0..n).map(|i| i % 7 != 3).collect();
        let mut ps = PowerSums::<4>::default();
        let mut gram = Gram::new(4);
        for k in (0..n).step_by(LANES) {
            let at = |i: usize| (k + i < n).then_some(k + i);
            let zz = std::array::from_fn(|l| at(l).map_or(0.0, |i| if w[i] { z[i] } else { 0.0 }));
            let tt = std::array::from_fn(|l| at(l).map_or(0.0, |i| t[i]));
            let ww = std::array::from_fn(|l| at(l).is_some_and(|i| w[i]));
            ps.push(zz, tt, ww);
        }
        for i in 0..n {
            if w[i] {
                gram.push(&[1.0, z[i], z[i] * z[i], z[i] * z[i] * z[i]], t[i]);
            }
        }
        let got = ps.into_gram();
        assert_eq!(got.rows, gram.rows);
        let (g1, b1, y1) = got.sums();
        let (g2, b2, y2) = gram.sums();
        for (x, y) in g1
            .iter()
            .chain(b1)
            .chain([&y1])
            .zip(g2.iter().chain(b2).chain([&y2]))
        {
            assert!((x - y).abs() <= 1e-12 * y.abs().max(1.0), "{x} vs {y}");
        }
        let (c1, r1) = got.solve(GRAM_TOL);
        let (c2, r2) = gram.solve(GRAM_TOL);
        assert_eq!(r1, r2);
        for (a, b) in c1.iter().zip(&c2) {
            assert!((a - b).abs() < 1e-10, "{c1:?} vs {c2:?}");
        }
    }
}
