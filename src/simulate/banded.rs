//! Symmetric banded matrices and the three solvers of the semi-implicit
//! step `(I + tau K^T G K) u = b`: a fixed-point (Jacobi) iteration, the
//! conjugate gradient method, and a multigrid V-cycle.

/// A symmetric matrix with `half` bands above the diagonal:
/// `bands[k][i] = A[i][i + k]`.
#[derive(Clone, Debug, PartialEq)]
pub struct Banded {
    pub n: usize,
    pub bands: Vec<Vec<f64>>,
}

impl Banded {
    /// The zero matrix of size n with `half` off-diagonal bands.
    pub fn zeros(n: usize, half: usize) -> Banded {
        Banded {
            n,
            bands: (0..=half).map(|k| vec![0.0; n.saturating_sub(k)]).collect(),
        }
    }

    /// Half bandwidth.
    pub fn half(&self) -> usize {
        self.bands.len() - 1
    }

    /// Adds `v` to A[i][j] (and A[j][i]); call once per unordered pair
    /// with i <= j.
    pub fn add(&mut self, i: usize, j: usize, v: f64) {
        let (i, j) = if i <= j { (i, j) } else { (j, i) };
        self.bands[j - i][i] += v;
    }

    /// A[i][j].
    pub fn get(&self, i: usize, j: usize) -> f64 {
        let (i, j) = if i <= j { (i, j) } else { (j, i) };
        self.bands.get(j - i).map_or(0.0, |b| b[i])
    }

    /// y = A x.
    pub fn apply(&self, x: &[f64], y: &mut [f64]) {
        for (i, yi) in y.iter_mut().enumerate() {
            *yi = self.bands[0][i] * x[i];
        }
        for (k, band) in self.bands.iter().enumerate().skip(1) {
            for (i, &a) in band.iter().enumerate() {
                y[i] += a * x[i + k];
                y[i + k] += a * x[i];
            }
        }
    }

    /// ||b - A x||_2 and the residual in `r`.
    fn residual(&self, x: &[f64], b: &[f64], r: &mut [f64]) -> f64 {
        self.apply(x, r);
        let mut s = 0.0;
        for (ri, bi) in r.iter_mut().zip(b) {
            *ri = bi - *ri;
            s += *ri * *ri;
        }
        s.sqrt()
    }
}

fn norm(x: &[f64]) -> f64 {
    x.iter().map(|v| v * v).sum::<f64>().sqrt()
}

/// The outcome of one linear solve.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Solve {
    pub iterations: usize,
    /// ||r_0||, ||r_final||.
    pub initial_residual: f64,
    pub final_residual: f64,
}

impl Solve {
    /// The mean reduction of the residual per iteration.
    pub fn factor(&self) -> f64 {
        if self.iterations == 0 || self.initial_residual == 0.0 {
            return 0.0;
        }
        (self.final_residual / self.initial_residual).powf(1.0 / self.iterations as f64)
    }
}

/// The solve did not reach the tolerance.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct NotConverged {
    pub iterations: usize,
    pub relative_residual: f64,
}

/// Damped Jacobi: `x <- x + omega D^-1 (b - A x)`, the recurrent network
/// (the same layer applied again, with `b` entering every iteration).
/// omega = 1 when A is strictly diagonally dominant (then it converges);
/// otherwise omega = 1/rho with rho = max_i sum_j |A_ij| / A_ii, a
/// Gershgorin bound of D^-1 A, which makes the iteration converge for SPD A.
pub fn fixed_point(
    a: &Banded,
    b: &[f64],
    x: &mut [f64],
    tol: f64,
    max_iter: usize,
) -> Result<Solve, NotConverged> {
    let n = a.n;
    let mut row_sum = vec![0.0; n];
    for i in 0..n {
        let lo = i.saturating_sub(a.half());
        let hi = (i + a.half() + 1).min(n);
        row_sum[i] = (lo..hi)
            .filter(|&j| j != i)
            .map(|j| a.get(i, j).abs())
            .sum();
    }
    let dominant = (0..n).all(|i| row_sum[i] < a.bands[0][i]);
    let omega = if dominant {
        1.0
    } else {
        let rho = (0..n)
            .map(|i| 1.0 + row_sum[i] / a.bands[0][i])
            .fold(1.0, f64::max);
        1.0 / rho
    };
    let target = tol * norm(b).max(f64::MIN_POSITIVE);
    let mut r = vec![0.0; n];
    let r0 = a.residual(x, b, &mut r);
    let mut rk = r0;
    let mut k = 0;
    while rk > target {
        if k == max_iter {
            return Err(NotConverged {
                iterations: k,
                relative_residual: rk / norm(b),
            });
        }
        for i in 0..n {
            x[i] += omega * r[i] / a.bands[0][i];
        }
        rk = a.residual(x, b, &mut r);
        k += 1;
    }
    Ok(Solve {
        iterations: k,
        initial_residual: r0,
        final_residual: rk,
    })
}

/// Conjugate gradients for SPD A.
pub fn cg(
    a: &Banded,
    b: &[f64],
    x: &mut [f64],
    tol: f64,
    max_iter: usize,
) -> Result<Solve, NotConverged> {
    let n = a.n;
    let target = tol * norm(b).max(f64::MIN_POSITIVE);
    let mut r = vec![0.0; n];
    let r0 = a.residual(x, b, &mut r);
    let mut p = r.clone();
    let mut ap = vec![0.0; n];
    let mut rr: f64 = r.iter().map(|v| v * v).sum();
    let mut k = 0;
    while rr.sqrt() > target {
        if k == max_iter {
            return Err(NotConverged {
                iterations: k,
                relative_residual: rr.sqrt() / norm(b),
            });
        }
        a.apply(&p, &mut ap);
        let pap: f64 = p.iter().zip(&ap).map(|(a, b)| a * b).sum();
        let alpha = rr / pap;
        for i in 0..n {
            x[i] += alpha * p[i];
            r[i] -= alpha * ap[i];
        }
        let rr_new: f64 = r.iter().map(|v| v * v).sum();
        let beta = rr_new / rr;
        for i in 0..n {
            p[i] = r[i] + beta * p[i];
        }
        rr = rr_new;
        k += 1;
    }
    // The recurrence can drift from the true residual; report the true one.
    let final_residual = a.residual(x, b, &mut r);
    Ok(Solve {
        iterations: k,
        initial_residual: r0,
        final_residual,
    })
}

/// Linear interpolation from every second point: coarse j sits at fine
/// 2j + 1; a fine even point takes half of each coarse neighbour (or, at
/// an end with one neighbour, half of it under Dirichlet conditions and
/// all of it under reflecting ones, so that constants are interpolated
/// exactly).
#[derive(Clone, Debug)]
struct Prolongation {
    fine: usize,
    coarse: usize,
    end_weight: f64,
}

impl Prolongation {
    fn new(fine: usize, reflecting: bool) -> Prolongation {
        Prolongation {
            fine,
            coarse: fine / 2,
            end_weight: if reflecting { 1.0 } else { 0.5 },
        }
    }

    /// The (coarse index, weight) pairs of fine row i.
    fn row(&self, i: usize) -> ([(usize, f64); 2], usize) {
        if i % 2 == 1 {
            return ([((i - 1) / 2, 1.0), (0, 0.0)], 1);
        }
        let j = i / 2;
        let left = (j >= 1).then(|| j - 1);
        let right = (j < self.coarse).then_some(j);
        match (left, right) {
            (Some(l), Some(r)) => ([(l, 0.5), (r, 0.5)], 2),
            (Some(l), None) => ([(l, self.end_weight), (0, 0.0)], 1),
            (None, Some(r)) => ([(r, self.end_weight), (0, 0.0)], 1),
            (None, None) => ([(0, 0.0), (0, 0.0)], 0),
        }
    }

    fn interpolate_add(&self, coarse: &[f64], fine: &mut [f64]) {
        for (i, f) in fine.iter_mut().enumerate().take(self.fine) {
            let (entries, len) = self.row(i);
            for &(j, w) in &entries[..len] {
                *f += w * coarse[j];
            }
        }
    }

    fn restrict(&self, fine: &[f64], coarse: &mut [f64]) {
        coarse.iter_mut().for_each(|c| *c = 0.0);
        for (i, &f) in fine.iter().enumerate().take(self.fine) {
            let (entries, len) = self.row(i);
            for &(j, w) in &entries[..len] {
                coarse[j] += w * f;
            }
        }
    }

    /// P^T A P.
    fn galerkin(&self, a: &Banded) -> Banded {
        let half = a.half() + 1;
        let mut c = Banded::zeros(self.coarse, half);
        for i in 0..a.n {
            let (ri, li) = self.row(i);
            let lo = i.saturating_sub(a.half());
            let hi = (i + a.half() + 1).min(a.n);
            for l in lo..hi {
                let v = a.get(i, l);
                if v == 0.0 {
                    continue;
                }
                let (rl, ll) = self.row(l);
                for &(j, wj) in &ri[..li] {
                    for &(k, wk) in &rl[..ll] {
                        if j <= k {
                            c.bands[k - j][j] += wj * v * wk;
                        }
                    }
                }
            }
        }
        while c.bands.len() > 1 && c.bands.last().is_some_and(|b| b.iter().all(|&v| v == 0.0)) {
            c.bands.pop();
        }
        c
    }
}

/// A multigrid hierarchy: Galerkin coarse operators, symmetric
/// Gauss-Seidel smoothing, a direct solve on the coarsest grid.
pub struct Multigrid {
    levels: Vec<Banded>,
    transfers: Vec<Prolongation>,
    /// Cholesky factor (dense, row-major) of the coarsest matrix.
    coarsest: Vec<f64>,
}

/// Grids at most this large are solved directly.
const COARSEST: usize = 8;
/// Gauss-Seidel sweeps before and after the coarse-grid correction.
const SWEEPS: usize = 2;

impl Multigrid {
    /// The hierarchy for `a`.
    pub fn new(a: Banded, reflecting: bool) -> Multigrid {
        let mut levels = vec![a];
        let mut transfers = Vec::new();
        while levels.last().is_some_and(|a| a.n > COARSEST) {
            let fine = levels.last().map_or(0, |a| a.n);
            let p = Prolongation::new(fine, reflecting);
            let coarse = p.galerkin(&levels[levels.len() - 1]);
            transfers.push(p);
            levels.push(coarse);
        }
        let last = &levels[levels.len() - 1];
        let n = last.n;
        let mut l = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..=i {
                let mut s = last.get(i, j);
                for k in 0..j {
                    s -= l[i * n + k] * l[j * n + k];
                }
                l[i * n + j] = if i == j {
                    s.max(f64::MIN_POSITIVE).sqrt()
                } else {
                    s / l[j * n + j]
                };
            }
        }
        Multigrid {
            levels,
            transfers,
            coarsest: l,
        }
    }

    /// Number of grids.
    pub fn depth(&self) -> usize {
        self.levels.len()
    }

    fn gauss_seidel(a: &Banded, b: &[f64], x: &mut [f64], forward: bool) {
        let n = a.n;
        let h = a.half();
        let mut sweep = |i: usize| {
            let lo = i.saturating_sub(h);
            let hi = (i + h + 1).min(n);
            let mut s = b[i];
            for j in lo..hi {
                if j != i {
                    s -= a.get(i, j) * x[j];
                }
            }
            x[i] = s / a.bands[0][i];
        };
        if forward {
            (0..n).for_each(&mut sweep);
        } else {
            (0..n).rev().for_each(&mut sweep);
        }
    }

    fn cycle(&self, level: usize, b: &[f64], x: &mut [f64]) {
        let a = &self.levels[level];
        if level + 1 == self.levels.len() {
            let n = a.n;
            let l = &self.coarsest;
            let mut y = b.to_vec();
            for i in 0..n {
                for k in 0..i {
                    y[i] -= l[i * n + k] * y[k];
                }
                y[i] /= l[i * n + i];
            }
            for i in (0..n).rev() {
                for k in i + 1..n {
                    y[i] -= l[k * n + i] * y[k];
                }
                y[i] /= l[i * n + i];
            }
            x.copy_from_slice(&y);
            return;
        }
        for _ in 0..SWEEPS {
            Self::gauss_seidel(a, b, x, true);
        }
        let mut r = vec![0.0; a.n];
        a.residual(x, b, &mut r);
        let p = &self.transfers[level];
        let mut rc = vec![0.0; p.coarse];
        p.restrict(&r, &mut rc);
        let mut ec = vec![0.0; p.coarse];
        self.cycle(level + 1, &rc, &mut ec);
        p.interpolate_add(&ec, x);
        for _ in 0..SWEEPS {
            Self::gauss_seidel(a, b, x, false);
        }
    }

    /// V-cycles until ||b - A x|| <= tol ||b||.
    pub fn solve(
        &self,
        b: &[f64],
        x: &mut [f64],
        tol: f64,
        max_iter: usize,
    ) -> Result<Solve, NotConverged> {
        let a = &self.levels[0];
        let target = tol * norm(b).max(f64::MIN_POSITIVE);
        let mut r = vec![0.0; a.n];
        let r0 = a.residual(x, b, &mut r);
        let mut rk = r0;
        let mut k = 0;
        while rk > target {
            if k == max_iter {
                return Err(NotConverged {
                    iterations: k,
                    relative_residual: rk / norm(b),
                });
            }
            self.cycle(0, b, x);
            rk = a.residual(x, b, &mut r);
            k += 1;
        }
        Ok(Solve {
            iterations: k,
            initial_residual: r0,
            final_residual: rk,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// I + c * tridiag(-1, 2, -1), size n.
    fn laplacian(n: usize, c: f64) -> Banded {
        let mut a = Banded::zeros(n, 1);
        for i in 0..n {
            a.add(i, i, 1.0 + 2.0 * c);
            if i + 1 < n {
                a.add(i, i + 1, -c);
            }
        }
        a
    }

    fn check(a: &Banded, x: &[f64], b: &[f64]) {
        let mut ax = vec![0.0; a.n];
        a.apply(x, &mut ax);
        let err = ax
            .iter()
            .zip(b)
            .map(|(p, q)| (p - q).abs())
            .fold(0.0, f64::max);
        assert!(err < 1e-8 * norm(b), "residual {err}");
    }

    #[test]
    fn the_three_solvers_solve_a_laplacian_system() {
        let n = 200;
        let a = laplacian(n, 50.0);
        let b: Vec<f64> = (0..n).map(|i| ((i * 7) % 13) as f64 - 6.0).collect();
        let mut x = vec![0.0; n];
        let s = fixed_point(&a, &b, &mut x, 1e-11, 1_000_000).unwrap();
        check(&a, &x, &b);
        assert!(s.iterations > 100);
        let mut x = vec![0.0; n];
        let c = cg(&a, &b, &mut x, 1e-11, 10_000).unwrap();
        check(&a, &x, &b);
        assert!(c.iterations <= n);
        let mut x = vec![0.0; n];
        let mg = Multigrid::new(a.clone(), false);
        let m = mg.solve(&b, &mut x, 1e-11, 100).unwrap();
        check(&a, &x, &b);
        assert!(m.factor() < 0.2, "V-cycle factor {}", m.factor());
    }

    #[test]
    fn multigrid_solves_a_pentadiagonal_system() {
        // I + c * T^2 (a fourth-order operator), T = tridiag(-1, 2, -1).
        let n = 101;
        let c = 30.0;
        let mut a = Banded::zeros(n, 2);
        for i in 0..n {
            for j in i..(i + 3).min(n) {
                let mut t2 = 0.0;
                for k in 0..n {
                    let t = |p: usize, q: usize| match p.abs_diff(q) {
                        0 => 2.0,
                        1 => -1.0,
                        _ => 0.0,
                    };
                    t2 += t(i, k) * t(k, j);
                }
                a.add(i, j, c * t2 + if i == j { 1.0 } else { 0.0 });
            }
        }
        let b: Vec<f64> = (0..n).map(|i| (i as f64 * 0.3).sin()).collect();
        let mut x = vec![0.0; n];
        Multigrid::new(a.clone(), false)
            .solve(&b, &mut x, 1e-11, 500)
            .unwrap();
        check(&a, &x, &b);
        let mut x = vec![0.0; n];
        fixed_point(&a, &b, &mut x, 1e-11, 10_000_000).unwrap();
        check(&a, &x, &b);
    }
}
