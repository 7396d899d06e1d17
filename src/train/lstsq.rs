//! Rank-revealing linear least squares: min_x ||A x - b||_2 by column-pivoted
//! Householder QR (faer), truncated at a relative cutoff.
//!
//! With A P^T = Q R and |R_00| >= |R_11| >= ..., the numerical rank is
//! r = #{ i : |R_ii| > cutoff * |R_00| }; the solution solves
//! R[:r, :r] y = (Q^T b)[:r] and sets the other (pivoted) unknowns to zero
//! (the "basic" solution, as LAPACK's xGELSY does up to its final
//! orthogonalization). For random feature models this drops the directions
//! that round-off cannot resolve, which is what keeps the solve stable when
//! the features are nearly dependent. The condition estimate is
//! |R_00| / |R_{r-1,r-1}|.
//!
//! Faster two-stage variants (QR of A without pivoting, then the pivoted QR
//! of the small R) were tried and rejected: faer's pivoted QR downdates
//! column norms, and on the triangular R its pivots went wrong past 1e-9
//! relative; even with restarts from fresh norms the helmholtz2d example
//! lost two orders of magnitude of accuracy (6.5e-6 against 2.2e-8).

use faer::dyn_stack::{MemBuffer, MemStack};
use faer::linalg::householder;
use faer::linalg::solvers::ColPivQr;
use faer::{Conj, Mat, MatRef, Par};

/// The outcome of a least-squares solve.
#[derive(Clone, Debug)]
pub struct LeastSquares {
    pub solution: Vec<f64>,
    /// Numerical rank at the cutoff.
    pub rank: usize,
    /// |R_00| / |R_{r-1,r-1}|, an estimate of the 2-norm condition number
    /// of the retained columns.
    pub condition_estimate: f64,
    /// ||A x - b||_2
    pub residual_norm: f64,
}

/// Why a least-squares solve failed.
#[derive(Clone, Debug, PartialEq)]
pub enum LstsqError {
    /// A or b holds a NaN or an infinity.
    NotFinite,
    /// A is zero (numerical rank 0).
    ZeroMatrix,
}

impl std::fmt::Display for LstsqError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LstsqError::NotFinite => write!(
                f,
                "the least-squares system contains NaN or infinite entries"
            ),
            LstsqError::ZeroMatrix => write!(f, "the least-squares matrix is zero (rank 0)"),
        }
    }
}

impl std::error::Error for LstsqError {}

/// Solves min ||A x - b|| for A (m x n, any shape) with relative cutoff
/// `cutoff` (e.g. 1e-13), using `par` for the factorization.
pub fn solve(
    a: MatRef<'_, f64>,
    b: &[f64],
    cutoff: f64,
    par: Par,
) -> Result<LeastSquares, LstsqError> {
    let (m, n) = (a.nrows(), a.ncols());
    assert_eq!(b.len(), m, "right-hand side length");
    let finite =
        b.iter().all(|v| v.is_finite()) && (0..n).all(|j| (0..m).all(|i| a[(i, j)].is_finite()));
    if !finite {
        return Err(LstsqError::NotFinite);
    }
    let qr = ColPivQr::new(a);
    let r = qr.R();
    let size = m.min(n);
    let r00 = if size > 0 { r[(0, 0)].abs() } else { 0.0 };
    if r00.is_nan() || r00 <= 0.0 {
        return Err(LstsqError::ZeroMatrix);
    }
    let rank = (0..size)
        .take_while(|&i| r[(i, i)].abs() > cutoff * r00)
        .count();
    // c = Q^T b
    let mut c = Mat::<f64>::from_fn(m, 1, |i, _| b[i]);
    let block = qr.Q_coeff().nrows();
    let mut buffer = MemBuffer::new(
        householder::apply_block_householder_sequence_transpose_on_the_left_in_place_scratch::<f64>(
            m, block, 1,
        ),
    );
    householder::apply_block_householder_sequence_transpose_on_the_left_in_place_with_conj(
        qr.Q_basis(),
        qr.Q_coeff(),
        Conj::No,
        c.as_mut(),
        par,
        MemStack::new(&mut buffer),
    );
    // Back substitution on the leading r x r block.
    let mut y = vec![0.0; rank];
    for i in (0..rank).rev() {
        let mut s = c[(i, 0)];
        for j in i + 1..rank {
            s -= r[(i, j)] * y[j];
        }
        y[i] = s / r[(i, i)];
    }
    // x = P^T [y; 0]: pivoted position i holds original column fwd[i].
    let (forward, _) = qr.P().arrays();
    let mut solution = vec![0.0; n];
    for (i, &yi) in y.iter().enumerate() {
        solution[forward[i]] = yi;
    }
    let residual_norm = residual_norm(a, &solution, b);
    Ok(LeastSquares {
        solution,
        rank,
        condition_estimate: r00 / r[(rank - 1, rank - 1)].abs(),
        residual_norm,
    })
}

/// ||A x - b||_2
pub fn residual_norm(a: MatRef<'_, f64>, x: &[f64], b: &[f64]) -> f64 {
    residual(a, x, b).iter().map(|r| r * r).sum::<f64>().sqrt()
}

/// The residual vector A x - b (a matrix-vector product in faer).
pub fn residual(a: MatRef<'_, f64>, x: &[f64], b: &[f64]) -> Vec<f64> {
    let x = Mat::<f64>::from_fn(x.len(), 1, |i, _| x[i]);
    let ax = a * &x;
    b.iter()
        .enumerate()
        .map(|(i, bi)| ax[(i, 0)] - bi)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::SeededRng;

    fn random_matrix(m: usize, n: usize, seed: u64) -> Mat<f64> {
        let mut rng = SeededRng::new(seed, 0);
        Mat::from_fn(m, n, |_, _| rng.uniform_in(-1.0, 1.0))
    }

    #[test]
    fn consistent_overdetermined_system_is_solved_exactly() {
        let a = random_matrix(40, 12, 1);
        let mut rng = SeededRng::new(2, 0);
        let x: Vec<f64> = (0..12).map(|_| rng.uniform_in(-3.0, 3.0)).collect();
        let b: Vec<f64> = (0..40)
            .map(|i| (0..12).map(|j| a[(i, j)] * x[j]).sum())
            .collect();
        let fit = solve(a.as_ref(), &b, 1e-13, Par::Seq).unwrap();
        assert_eq!(fit.rank, 12);
        for (got, want) in fit.solution.iter().zip(&x) {
            assert!((got - want).abs() < 1e-12, "{got} vs {want}");
        }
        assert!(fit.residual_norm < 1e-12);
    }

    #[test]
    fn inconsistent_system_satisfies_the_normal_equations() {
        let a = random_matrix(30, 8, 3);
        let mut rng = SeededRng::new(4, 0);
        let b: Vec<f64> = (0..30).map(|_| rng.uniform()).collect();
        let fit = solve(a.as_ref(), &b, 1e-13, Par::Seq).unwrap();
        // A^T (A x - b) = 0
        for j in 0..8 {
            let g: f64 = (0..30)
                .map(|i| {
                    let ri: f64 = (0..8).map(|k| a[(i, k)] * fit.solution[k]).sum::<f64>() - b[i];
                    a[(i, j)] * ri
                })
                .sum();
            assert!(g.abs() < 1e-12, "gradient {g}");
        }
    }

    #[test]
    fn dependent_columns_reduce_the_rank_and_keep_the_fit() {
        let base = random_matrix(25, 5, 5);
        // columns 5..8 repeat columns 0..3
        let a = Mat::from_fn(25, 8, |i, j| base[(i, j % 5)]);
        let mut rng = SeededRng::new(6, 0);
        let b: Vec<f64> = (0..25).map(|_| rng.uniform()).collect();
        let fit = solve(a.as_ref(), &b, 1e-12, Par::Seq).unwrap();
        assert_eq!(fit.rank, 5);
        let reference = solve(base.as_ref(), &b, 1e-12, Par::Seq).unwrap();
        assert!((fit.residual_norm - reference.residual_norm).abs() < 1e-12);
    }

    #[test]
    fn nan_and_zero_matrices_are_errors() {
        let mut a = random_matrix(5, 3, 7);
        let b = vec![1.0; 5];
        let zero = Mat::<f64>::zeros(5, 3);
        assert_eq!(
            solve(zero.as_ref(), &b, 1e-13, Par::Seq).unwrap_err(),
            LstsqError::ZeroMatrix
        );
        a[(2, 1)] = f64::NAN;
        assert_eq!(
            solve(a.as_ref(), &b, 1e-13, Par::Seq).unwrap_err(),
            LstsqError::NotFinite
        );
    }
}
