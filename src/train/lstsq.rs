//! Rank-revealing linear least squares: min_x ||A x - b||_2 by column-pivoted
//! Householder QR, truncated at a relative cutoff.
//!
//! With A P^T = Q R and |R_00| >= |R_11| >= ..., the numerical rank is
//! r = #{ i : |R_ii| > cutoff * |R_00| }; the solution solves
//! `R[:r, :r] y = (Q^T b)[:r]` and sets the other (pivoted) unknowns to zero
//! (the "basic" solution, as LAPACK's xGELSY does up to its final
//! orthogonalization). For random feature models this drops the directions
//! that round-off cannot resolve, which is what keeps the solve stable when
//! the features are nearly dependent. The condition estimate is
//! |R_00| / |R_{r-1,r-1}|.
//!
//! For a tall A (m > n) the factorization runs in two stages, because a
//! pivoted QR reads and writes the whole remaining matrix at every step:
//! 1. `[A | b] = Q1 [R1 | c]`, Householder QR without pivoting, blocked so
//!    that almost all of its work is matrix products (`householder_qr`).
//! 2. R1 P^T = Q2 R, column-pivoted QR of the n x n triangle, applied to c
//!    as well (`TruncatedPivotedQr`, blocked as LAPACK's xGEQP3), and
//!    stopped as soon as the largest remaining column norm is at most
//!    cutoff * |R_00|: the steps past the numerical rank are never taken.
//! A wide or square A goes to stage 2 directly.
//!
//! Pivoted QR of R1 is pivoted QR of A up to the backward error of stage 1,
//! so the rank and the retained block are those of A. Two details matter
//! at the 1e-13 cutoff the random feature models need, and both were
//! measured on the examples (docs/reproductions.md):
//! - Stage 1 applies every reflector. faer's QR skips the reflectors of
//!   columns below 16 (m - j) eps of their norm; with it as stage 1 the
//!   helmholtz2d error went from 2.8e-8 to 6.5e-6.
//! - Stage 2 recomputes a downdated column norm from its column when
//!   cancellation has eaten half of its digits (LAPACK's sqrt(eps) test).
//!   faer's pivoted QR only downdates, and its pivots on R1 went wrong.

use faer::linalg::matmul::matmul;
use faer::reborrow::{Reborrow, ReborrowMut};
use faer::{Accum, Mat, MatMut, MatRef, Par};

/// The outcome of a least-squares solve.
#[derive(Clone, Debug)]
pub struct LeastSquares {
    pub solution: Vec<f64>,
    /// Numerical rank at the cutoff.
    pub rank: usize,
    /// |R_00| / |R_{r-1,r-1}|, an estimate of the 2-norm condition number
    /// of the retained columns.
    pub condition_estimate: f64,
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
    let s = m.min(n);
    if s == 0 {
        return Err(LstsqError::ZeroMatrix);
    }
    if !b.iter().all(|v| v.is_finite()) {
        return Err(LstsqError::NotFinite);
    }
    // Stage 1 on [A | b] when it shrinks the matrix (m > n): A = Q1 R1
    // without pivoting, and c = Q1^T b. Stage 2 then works on the n x n
    // triangle R1 and c[..n]; for m <= n it works on A and b directly.
    if m > n {
        let mut work = Mat::<f64>::zeros(m, n + 1);
        work.as_mut().subcols_mut(0, n).copy_from(a);
        column_mut(work.as_mut(), n).copy_from_slice(b);
        return solve_tall(work, cutoff, par);
    }
    let mut stage2 = vec![0.0; s * (n + 1)];
    for (j, column) in stage2.chunks_exact_mut(s).enumerate() {
        for (i, e) in column.iter_mut().enumerate() {
            *e = if j < n { a[(i, j)] } else { b[i] };
        }
    }
    if !stage2.iter().all(|v| v.is_finite()) {
        return Err(LstsqError::NotFinite);
    }
    solve_stage2(stage2, s, n, cutoff, par)
}

/// [`solve`] for a tall system whose `work` (m x (n + 1), m > n,
/// column-major) holds [A | b]: stage 1, then stage 2 on the triangle.
fn solve_tall(mut work: Mat<f64>, cutoff: f64, par: Par) -> Result<LeastSquares, LstsqError> {
    let n = work.ncols() - 1;
    debug_assert!(work.nrows() > n);
    if !(0..n).all(|j| column_of(work.as_ref(), j).iter().all(|v| v.is_finite())) {
        return Err(LstsqError::NotFinite);
    }
    householder_qr(work.as_mut(), n, par);
    let mut stage2 = vec![0.0; n * (n + 1)];
    for (j, column) in stage2.chunks_exact_mut(n).enumerate() {
        let top = if j < n { j + 1 } else { n };
        column[..top].copy_from_slice(&column_of(work.as_ref(), j)[..top]);
    }
    solve_stage2(stage2, n, n, cutoff, par)
}

/// Stage 2 of [`solve`] on `stage2` (s x (n + 1), column-major, the right-
/// hand side last): truncated pivoted QR, then back substitution on the
/// retained block.
fn solve_stage2(
    mut stage2: Vec<f64>,
    s: usize,
    n: usize,
    cutoff: f64,
    par: Par,
) -> Result<LeastSquares, LstsqError> {
    let pivoted = TruncatedPivotedQr::factor(&mut stage2, s, n, cutoff, par);
    let rank = pivoted.rank;
    if rank == 0 {
        return Err(LstsqError::ZeroMatrix);
    }
    let r = |i: usize, j: usize| stage2[j * s + i];
    // Back substitution on the leading r x r block of R.
    let mut y = vec![0.0; rank];
    for i in (0..rank).rev() {
        let mut sum = r(i, n);
        for (j, yj) in y.iter().enumerate().skip(i + 1) {
            sum -= r(i, j) * yj;
        }
        y[i] = sum / r(i, i);
    }
    // x = P^T [y; 0]: pivoted position i holds original column columns[i].
    let mut solution = vec![0.0; n];
    for (i, &yi) in y.iter().enumerate() {
        solution[pivoted.columns[i]] = yi;
    }
    Ok(LeastSquares {
        solution,
        rank,
        condition_estimate: r(0, 0).abs() / r(rank - 1, rank - 1).abs(),
    })
}

/// Tall systems with at least this many columns try [`solve_selecting_columns`]'s
/// sketch first; below it the sketch costs more than it saves.
pub const SKETCH_MIN_COLUMNS: usize = 256;

/// Nonzeros per row of A in the sparse sign sketch (each row of A is added,
/// with random signs and weight 1/sqrt(ZETA), to ZETA rows of S A).
const SKETCH_ZETA: usize = 4;

/// The sketch has 3n/5 rows (SKETCH_ROWS_NUMERATOR / SKETCH_ROWS_DENOMINATOR):
/// selections whose size comes within 80% of that are not trusted (the
/// direct solve runs).
const SKETCH_ROWS_NUMERATOR: usize = 3;
const SKETCH_ROWS_DENOMINATOR: usize = 5;

/// Seed of the sketch (fixed, so that a solve is reproducible).
const SKETCH_SEED: u64 = 0x5EED_1E57;

/// The sketch's own cutoff is this factor below the solve's, so that the
/// selection keeps the columns whose sketched norms the embedding
/// distorted below the cutoff (a margin for the distortion).
const SKETCH_CUTOFF_MARGIN: f64 = 1e-1;

/// How a least-squares solve went (for the report and for tests).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Path {
    /// Householder QR of all columns, then truncated pivoted QR ([`solve`]).
    Direct,
    /// Columns selected on a sketch, QR of those only, accepted by the
    /// optimality check.
    Selected { columns: usize },
    /// The selection failed its optimality check; solved directly.
    FellBack,
}

/// [`solve`] for a tall, numerically rank-deficient A (the random feature
/// matrices), which spends most of its time in stage 1 on columns that end
/// up past the numerical rank. This first selects columns on a sketch:
/// 1. S A with S a sparse sign embedding of 3n/5 rows ([`SKETCH_ZETA`]
///    nonzeros per column of S, O(m n) work, [`sparse_sign_sketch`]);
/// 2. a column-pivoted QR of S A by randomized blocks ([`select_columns`]),
///    stopped at cutoff * [`SKETCH_CUTOFF_MARGIN`]: its pivots are the
///    selected columns C;
/// 3. [`solve`] on A[:, C] (m x |C|) at `cutoff`;
/// 4. the optimality check on the columns left out: with r = b - A x,
///    every |a_j^T r| <= 10 (cutoff |R_00| + sqrt(m) eps ||a_j||) ||r||,
///    which the direct solution meets (its dropped columns lie within
///    cutoff |R_00| of the retained ones); otherwise it solves directly.
///
/// Wide or small systems go to [`solve`] at once.
pub fn solve_selecting_columns(
    a: MatRef<'_, f64>,
    b: &[f64],
    cutoff: f64,
    par: Par,
) -> Result<(LeastSquares, Path), LstsqError> {
    let (m, n) = (a.nrows(), a.ncols());
    if m <= n || n < SKETCH_MIN_COLUMNS {
        return Ok((solve(a, b, cutoff, par)?, Path::Direct));
    }
    assert_eq!(b.len(), m, "right-hand side length");
    if !b.iter().all(|v| v.is_finite()) {
        return Err(LstsqError::NotFinite);
    }
    // 1. The sketch (rows x n, column-major) and the column norms of A.
    let rows = n * SKETCH_ROWS_NUMERATOR / SKETCH_ROWS_DENOMINATOR;
    let mut sketch = vec![0.0; rows * n];
    let mut rng = crate::random::SeededRng::new(SKETCH_SEED, m as u64);
    let weight = 1.0 / (SKETCH_ZETA as f64).sqrt();
    let targets: Vec<(usize, f64)> = (0..m * SKETCH_ZETA)
        .map(|_| {
            let bits = rng.next_u64();
            let row = ((bits >> 1) % rows as u64) as usize;
            (row, if bits & 1 == 1 { weight } else { -weight })
        })
        .collect();
    let mut norms = vec![0.0; n];
    sparse_sign_sketch(a, &targets, rows, &mut sketch, &mut norms, par);
    if !norms.iter().all(|v| v.is_finite()) {
        return Err(LstsqError::NotFinite);
    }
    // 2. Pivots of the sketch.
    let chosen = select_columns(&mut sketch, rows, n, cutoff * SKETCH_CUTOFF_MARGIN, par);
    if chosen.is_empty() || chosen.len() * 5 > rows * 4 {
        // The sketch is too small for the rank (or A has (nearly) full
        // rank, and there is nothing to save).
        return Ok((solve(a, b, cutoff, par)?, Path::FellBack));
    }
    let chosen = &chosen[..];
    // 3. The solve on the chosen columns.
    let fit = solve_tall(gather_columns(a, chosen, b), cutoff, par)?;
    let mut solution = vec![0.0; n];
    for (q, &j) in chosen.iter().enumerate() {
        solution[j] = fit.solution[q];
    }
    // 4. The optimality check.
    if !meets_optimality_check(a, b, &solution, &norms, cutoff) {
        return Ok((solve(a, b, cutoff, par)?, Path::FellBack));
    }
    Ok((
        LeastSquares {
            solution,
            rank: fit.rank,
            condition_estimate: fit.condition_estimate,
        },
        Path::Selected {
            columns: chosen.len(),
        },
    ))
}

/// Steps per block of [`select_columns`].
const SELECT_BLOCK: usize = 64;

/// Extra rows of the Gaussian sketch that chooses a block's pivots in
/// [`select_columns`].
const SELECT_OVERSAMPLING: usize = 8;

/// Seed of that Gaussian sketch.
const SELECT_SEED: u64 = 0x5E1E_C7ED;

/// The leading columns of a column-pivoted QR of W (s x n, column-major),
/// stopped at the first |R_kk| <= cutoff |R_00|: the columns a least-squares
/// solve keeps, in pivot order.
///
/// Randomized blocked pivoting (HQRRP, Martinsson et al. 2017), so that the
/// work is matrix products rather than one pass over W per step: with G a
/// Gaussian (b + p) x s matrix and Y = G W, the next b pivots are those of a
/// column-pivoted QR of the small Y; the b chosen columns of W are reduced
/// by Householder QR, the reflectors applied to the rest at once
/// ([`blocked_householder_qr`]), and Y is recomputed from the rest. Y's
/// column norms are those of W to within the embedding's distortion, so the
/// pivots approximate those of the classical column-pivoted QR; the caller
/// checks the resulting least-squares solution and solves directly if the
/// selection missed a direction.
fn select_columns(w: &mut [f64], s: usize, n: usize, cutoff: f64, par: Par) -> Vec<usize> {
    let steps = s.min(n);
    let mut columns: Vec<usize> = (0..n).collect();
    let height = SELECT_BLOCK + SELECT_OVERSAMPLING;
    let mut rng = crate::random::SeededRng::new(SELECT_SEED, (s as u64) << 32 | n as u64);
    let g = Mat::<f64>::from_fn(height, s, |_, _| rng.normal());
    let mut taus = vec![0.0; SELECT_BLOCK];
    let mut first = 0.0;
    let mut k = 0;
    while k < steps {
        let width = SELECT_BLOCK.min(steps - k);
        // Y = G W[k.., k..] and its pivots.
        let mut y = vec![0.0; height * (n - k + 1)];
        {
            let wm = MatRef::from_column_major_slice(&w[..], s, n);
            let mut ym = MatMut::from_column_major_slice_mut(&mut y[..], height, n - k + 1);
            matmul(
                ym.rb_mut().subcols_mut(0, n - k),
                Accum::Replace,
                g.as_ref().subcols(0, s - k),
                wm.subrows(k, s - k).subcols(k, n - k),
                1.0,
                par,
            );
        }
        let picked = TruncatedPivotedQr::factor(&mut y, height, n - k, 0.0, Par::Seq);
        let width = width.min(picked.rank);
        if width == 0 {
            break;
        }
        // Move the picked columns to k..k + width, in pivot order.
        let mut position: Vec<usize> = (0..n - k).collect(); // original -> current
        let mut original: Vec<usize> = (0..n - k).collect(); // current -> original
        for (t, &c) in picked.columns[..width].iter().enumerate() {
            let from = position[c];
            if from != t {
                let (lo, hi) = w.split_at_mut((k + from) * s);
                lo[(k + t) * s..(k + t + 1) * s].swap_with_slice(&mut hi[..s]);
                columns.swap(k + t, k + from);
                let displaced = original[t];
                original.swap(t, from);
                position[displaced] = from;
                position[c] = t;
            }
        }
        // Householder QR of the block, applied to all later columns.
        {
            let wm = MatMut::from_column_major_slice_mut(&mut w[..], s, n);
            let rest = wm.subrows_mut(k, s - k).subcols_mut(k, n - k);
            blocked_householder_qr(rest, width, &[width, 16], par, &mut taus[..width]);
        }
        if k == 0 {
            first = w[0].abs();
            if !(first > 0.0) {
                return Vec::new();
            }
        }
        for t in 0..width {
            let r = w[(k + t) * s + k + t].abs();
            if !(r > cutoff * first) {
                columns.truncate(k + t);
                return columns;
            }
        }
        k += width;
    }
    columns.truncate(k);
    columns
}

/// Columns of A per block of [`sparse_sign_sketch`]: the block's part of
/// S A (rows x SKETCH_BLOCK, row-major, about 1 MB for 960 rows) stays in
/// cache while the rows of A stream through it.
const SKETCH_BLOCK: usize = 128;

/// S A for the sparse sign embedding S given by `targets`: row i of A is
/// added with sign `targets[i ZETA + t].1` to sketch row `targets[i ZETA +
/// t].0`, t < [`SKETCH_ZETA`]. `out` is rows x n, column-major. Blocks of
/// [`SKETCH_BLOCK`] columns are accumulated row by row (one contiguous
/// axpy per target and row of A, since the assembled A is row-major) and
/// split between threads; every sketch entry sums its terms in the order
/// of i, so the result does not depend on the blocking or the threads.
/// The same pass writes the column norms ||a_j||_2 into `norms` (a sum of
/// squares, recomputed with scaling where it overflows or underflows; a
/// column with a NaN or an infinity gets a non-finite norm).
fn sparse_sign_sketch(
    a: MatRef<'_, f64>,
    targets: &[(usize, f64)],
    rows: usize,
    out: &mut [f64],
    norms: &mut [f64],
    par: Par,
) {
    let n = a.ncols();
    debug_assert_eq!(out.len(), rows * n);
    let blocks = n.div_ceil(SKETCH_BLOCK);
    sketch_blocks(a, targets, rows, out, norms, 0, blocks, par);
    for (j, norm) in norms.iter_mut().enumerate() {
        // Below ~1e-290 the squares lose digits to underflow.
        if norm.is_finite() && *norm > 1e-290 {
            *norm = norm.sqrt();
        } else {
            *norm = a.col(j).norm_l2();
        }
    }
}

/// [`sparse_sign_sketch`] of the column blocks `first..first + count`,
/// whose columns `out` holds (from block `first` on).
#[allow(clippy::too_many_arguments)]
fn sketch_blocks(
    a: MatRef<'_, f64>,
    targets: &[(usize, f64)],
    rows: usize,
    out: &mut [f64],
    squares: &mut [f64],
    first: usize,
    count: usize,
    par: Par,
) {
    let threads = faer::utils::thread::parallelism_degree(par);
    if threads > 1 && count > 1 {
        let half = count / 2;
        let (left, right) = out.split_at_mut(half * SKETCH_BLOCK * rows);
        let (left_squares, right_squares) = squares.split_at_mut(half * SKETCH_BLOCK);
        faer::utils::thread::join_raw(
            |par| sketch_blocks(a, targets, rows, left, left_squares, first, half, par),
            |par| {
                let (first, count) = (first + half, count - half);
                sketch_blocks(a, targets, rows, right, right_squares, first, count, par)
            },
            par,
        );
        return;
    }
    let (m, n) = (a.nrows(), a.ncols());
    let mut block = vec![0.0; rows * SKETCH_BLOCK];
    let mut gathered = vec![0.0; SKETCH_BLOCK];
    for b in first..first + count {
        let j0 = b * SKETCH_BLOCK;
        let width = SKETCH_BLOCK.min(n - j0);
        let block = &mut block[..rows * width];
        block.fill(0.0);
        let local = (b - first) * SKETCH_BLOCK;
        let squares = &mut squares[local..local + width];
        squares.fill(0.0);
        pulp::Arch::new().dispatch(|| {
            for i in 0..m {
                let segment = a.row(i).subcols(j0, width);
                let values: &[f64] = match segment.try_as_row_major() {
                    Some(contiguous) => contiguous.as_slice(),
                    None => {
                        for (g, v) in gathered.iter_mut().zip(segment.iter()) {
                            *g = *v;
                        }
                        &gathered[..width]
                    }
                };
                for (q, v) in squares.iter_mut().zip(values) {
                    *q += v * v;
                }
                for &(row, sign) in &targets[i * SKETCH_ZETA..(i + 1) * SKETCH_ZETA] {
                    let acc = &mut block[row * width..(row + 1) * width];
                    for (e, v) in acc.iter_mut().zip(values) {
                        *e += sign * v;
                    }
                }
            }
        });
        for l in 0..width {
            let column = &mut out[(local + l) * rows..(local + l + 1) * rows];
            for (row, e) in column.iter_mut().enumerate() {
                *e = block[row * width + l];
            }
        }
    }
}

/// Whether x is a least-squares solution of A x = b up to the cutoff and
/// rounding: with r = b - A x, every |a_j^T r| <= 10 (cutoff max_k ||a_k||
/// ||r|| + ||a_j|| nu), where nu = sqrt(n) eps || |A| |x| + |b| ||_2
/// bounds the rounding error of the computed r (a typical, not
/// worst-case, bound on a dot product's rounding). The direct solution
/// meets it: its retained columns have a_j^T r = 0 up to rounding, and its
/// dropped columns lie within cutoff ||a_max|| of the retained ones. A
/// selection that missed a direction b needs leaves a residual with a
/// component along it that the dropped column sees. `norms` are the
/// column norms of A.
fn meets_optimality_check(
    a: MatRef<'_, f64>,
    b: &[f64],
    x: &[f64],
    norms: &[f64],
    cutoff: f64,
) -> bool {
    let (m, n) = (a.nrows(), a.ncols());
    let x_mat = Mat::<f64>::from_fn(n, 1, |j, _| x[j]);
    let ax = a * &x_mat;
    let r = Mat::<f64>::from_fn(m, 1, |i, _| b[i] - ax[(i, 0)]);
    let r_norm = r.col(0).norm_l2();
    let g = a.transpose() * &r;
    // |A| |x| + |b| over the columns with x_j != 0 only (a selection's x
    // is zero outside the chosen columns), without a copy of |A|.
    let mut magnitude: Vec<f64> = b.iter().map(|v| v.abs()).collect();
    if a.col_stride() == 1 {
        // Row-major A: a contiguous pass per row.
        let x_abs: Vec<f64> = x.iter().map(|v| v.abs()).collect();
        for (i, v) in magnitude.iter_mut().enumerate() {
            let row = a.row(i).try_as_row_major().expect("row-major storage");
            *v += row
                .as_slice()
                .iter()
                .zip(&x_abs)
                .map(|(aij, xj)| aij.abs() * xj)
                .sum::<f64>();
        }
    } else {
        for (j, &xj) in x.iter().enumerate().filter(|(_, xj)| **xj != 0.0) {
            for (v, aij) in magnitude.iter_mut().zip(a.col(j).iter()) {
                *v += aij.abs() * xj.abs();
            }
        }
    }
    let nu = (n as f64).sqrt() * f64::EPSILON * magnitude.iter().map(|v| v * v).sum::<f64>().sqrt();
    let largest = norms.iter().copied().fold(0.0, f64::max);
    (0..n).all(|j| g[(j, 0)].abs() <= 10.0 * (cutoff * largest * r_norm + norms[j] * nu))
}

/// [A[:, columns] | b] as a column-major matrix, copied in blocks of rows
/// so that a row-major A is read row by row.
fn gather_columns(a: MatRef<'_, f64>, columns: &[usize], b: &[f64]) -> Mat<f64> {
    const ROWS: usize = 32;
    let m = a.nrows();
    let mut sub = Mat::<f64>::zeros(m, columns.len() + 1);
    column_mut(sub.as_mut(), columns.len()).copy_from_slice(b);
    for i0 in (0..m).step_by(ROWS) {
        let height = ROWS.min(m - i0);
        for (q, &j) in columns.iter().enumerate() {
            for i in i0..i0 + height {
                sub[(i, q)] = a[(i, j)];
            }
        }
    }
    sub
}

/// Column j of a column-major matrix as a slice.
fn column_of(w: MatRef<'_, f64>, j: usize) -> &[f64] {
    w.col(j)
        .try_as_col_major()
        .expect("column-major storage")
        .as_slice()
}

/// Block widths of stage 1, outermost first: blocks of 128 columns update
/// the rest of the matrix (few passes over a matrix larger than the cache),
/// and each is reduced in panels of 32 columns, themselves reduced column
/// by column.
const PANELS: [usize; 2] = [128, 32];

/// Householder QR without pivoting, blocked (LAPACK's xGEQRF, with a
/// recursive panel): reduces the first `s` columns of `w` (m x c,
/// column-major) to upper-triangular form and applies every reflector to
/// all later columns, so a right-hand side stored as an extra column comes
/// out as Q^T b. On return the upper triangle holds R; the reflectors are
/// not kept.
///
/// A block of columns j0..j0+nb is reduced (by the next, narrower block
/// width, or column by column); its reflectors combine into
/// H_0 ... H_{nb-1} = I - V T V^T (T upper triangular, xLARFT), and the
/// trailing columns C become C - V (T^T (V^T C)) by three matrix products.
/// Every reflector is applied, however small its column: faer's own QR
/// skips reflectors whose column is below 16 (m - j) eps of its norm, which
/// lost up to two digits in the least-squares solutions of rank-deficient
/// random feature models.
fn householder_qr(w: MatMut<'_, f64>, s: usize, par: Par) {
    let mut taus = vec![0.0; s];
    blocked_householder_qr(w, s, &PANELS, par, &mut taus);
}

/// [`householder_qr`] with block widths `widths` (outermost first);
/// `taus[l]` receives the factor of reflector l.
fn blocked_householder_qr(
    mut w: MatMut<'_, f64>,
    s: usize,
    widths: &[usize],
    par: Par,
    taus: &mut [f64],
) {
    let m = w.nrows();
    let Some((&width, inner)) = widths.split_first() else {
        pulp::Arch::new().dispatch(|| {
            for l in 0..s {
                let (done, mut rest) = w.rb_mut().split_at_col_mut(l + 1);
                let pivot = column_mut(done, l);
                taus[l] = make_reflector(&mut pivot[l..]);
                for q in 0..rest.ncols() {
                    reflect(&pivot[l..], taus[l], &mut column_mut(rest.rb_mut(), q)[l..]);
                }
            }
        });
        return;
    };
    for j0 in (0..s).step_by(width) {
        let nb = width.min(s - j0);
        let (mut left, mut trailing) = w.rb_mut().split_at_col_mut(j0 + nb);
        let mut panel = left.rb_mut().subcols_mut(j0, nb).subrows_mut(j0, m - j0);
        let taus = &mut taus[j0..j0 + nb];
        blocked_householder_qr(panel.rb_mut(), nb, inner, par, taus);
        if trailing.ncols() == 0 {
            continue;
        }
        // V: unit lower trapezoidal, (m - j0) x nb.
        let v = Mat::<f64>::from_fn(m - j0, nb, |i, l| match i.cmp(&l) {
            std::cmp::Ordering::Less => 0.0,
            std::cmp::Ordering::Equal => 1.0,
            std::cmp::Ordering::Greater => panel[(i, l)],
        });
        // T from the Gram matrix V^T V: T_ii = tau_i,
        // T[..i, i] = -tau_i T[..i, ..i] (V^T v_i)[..i].
        let gram = v.transpose() * &v;
        let mut t = Mat::<f64>::zeros(nb, nb);
        for i in 0..nb {
            t[(i, i)] = taus[i];
            for r in 0..i {
                let mut sum = 0.0;
                for q in r..i {
                    sum += t[(r, q)] * gram[(q, i)];
                }
                t[(r, i)] = -taus[i] * sum;
            }
        }
        let mut c = trailing.rb_mut().subrows_mut(j0, m - j0);
        let mut vtc = Mat::<f64>::zeros(nb, c.ncols());
        matmul(
            vtc.as_mut(),
            Accum::Replace,
            v.transpose(),
            c.rb(),
            1.0,
            par,
        );
        let mut update = Mat::<f64>::zeros(nb, c.ncols());
        matmul(
            update.as_mut(),
            Accum::Replace,
            t.transpose(),
            vtc.as_ref(),
            1.0,
            par,
        );
        matmul(
            c.rb_mut(),
            Accum::Add,
            v.as_ref(),
            update.as_ref(),
            -1.0,
            par,
        );
    }
}

/// Column j of a column-major matrix as a mutable slice.
fn column_mut(w: MatMut<'_, f64>, j: usize) -> &mut [f64] {
    w.col_mut(j)
        .try_as_col_major_mut()
        .expect("column-major storage")
        .as_slice_mut()
}

/// Column-pivoted Householder QR of an s x n matrix that stops at the
/// numerical rank, blocked as LAPACK's xGEQP3/xLAQPS.
///
/// Step k picks the remaining column of largest norm, swaps it to position
/// k and reflects it onto R_kk e_k with H_k = I - tau v v^T (v_k = 1, as
/// LAPACK's xLARFG). It stops before step k when that largest norm is at
/// most cutoff * |R_00|. Within a block of steps the reflectors are not
/// applied to the remaining columns at once: their effect is kept as
/// A - V F^T, where column q of F is tau_q (A - V F^T)^T v_q, and only
/// the current row (which gives R_kj) and the current column are brought up
/// to date. At the end of a block one matrix product updates the rest, so
/// each step reads the remaining columns once instead of reading and
/// writing them. The norms of the remaining columns are downdated by
/// ||a_j||_new^2 = ||a_j||^2 - R_kj^2; a column whose downdated norm has
/// lost half of its digits (ratio below sqrt(eps), LAPACK's test) ends the
/// block and is recomputed from the updated column.
struct TruncatedPivotedQr {
    /// Number of steps taken: the numerical rank.
    rank: usize,
    /// columns[i] = the original index of the column at position i.
    columns: Vec<usize>,
}

/// Steps per block of the pivoted QR.
const PIVOTED_BLOCK: usize = 64;

impl TruncatedPivotedQr {
    /// Factors `w` (s x (n + 1), column-major, leading dimension s) in
    /// place: the last column is the right-hand side, which is transformed
    /// with the rest but never chosen as a pivot. On return, rows
    /// 0..rank of the first `rank` columns hold R and rows 0..rank of the
    /// last column hold (Q^T b)[..rank].
    fn factor(w: &mut [f64], s: usize, n: usize, cutoff: f64, par: Par) -> TruncatedPivotedQr {
        assert_eq!(w.len(), s * (n + 1));
        let mut columns: Vec<usize> = (0..n).collect();
        // norms[j]: current norm of rows k.. of column j; exact[j]: its
        // value when last computed from the column.
        let mut norms: Vec<f64> = w.chunks_exact(s).take(n).map(column_norm).collect();
        let mut exact = norms.clone();
        let first = norms.iter().copied().fold(0.0, f64::max);
        let steps = s.min(n);
        let mut rank = 0;
        if !(first > 0.0) {
            return TruncatedPivotedQr { rank, columns };
        }
        let mut f = Mat::<f64>::zeros(n + 1, PIVOTED_BLOCK);
        let mut recompute = Vec::new();
        let mut done = false;
        while rank < steps && !done {
            let j = rank;
            let width = PIVOTED_BLOCK.min(steps - j);
            // F rows are columns j..=n.
            let mut f = f.as_mut().subrows_mut(0, n + 1 - j);
            f.fill(0.0);
            let mut taken = 0;
            while taken < width {
                let k = j + taken;
                let p = k + argmax(&norms[k..n]);
                if norms[p] <= cutoff * first {
                    done = true;
                    break;
                }
                if p != k {
                    let (left, right) = w.split_at_mut(p * s);
                    left[k * s..(k + 1) * s].swap_with_slice(&mut right[..s]);
                    for q in 0..taken {
                        let (a, b) = (f[(k - j, q)], f[(p - j, q)]);
                        f[(k - j, q)] = b;
                        f[(p - j, q)] = a;
                    }
                    columns.swap(k, p);
                    norms.swap(k, p);
                    exact.swap(k, p);
                }
                // Bring column k up to date: a_k -= V F[k, ..taken]^T.
                if taken > 0 {
                    let mut a = MatMut::from_column_major_slice_mut(&mut w[..], s, n + 1);
                    let (left, mut right) = a.rb_mut().split_at_col_mut(k);
                    matmul(
                        right.rb_mut().col_mut(0).subrows_mut(k, s - k).as_mat_mut(),
                        Accum::Add,
                        left.rb().subcols(j, taken).subrows(k, s - k),
                        f.rb().row(k - j).subcols(0, taken).transpose().as_mat(),
                        -1.0,
                        Par::Seq,
                    );
                }
                let tau = make_reflector(&mut w[k * s + k..(k + 1) * s]);
                let diagonal = w[k * s + k];
                w[k * s + k] = 1.0;
                {
                    // F[k+1.., taken] = tau A[k.., k+1..]^T v, corrected for
                    // the block's earlier reflectors by
                    // - tau F[.., ..taken] V[k.., ..]^T v.
                    let a = MatRef::from_column_major_slice(&w[..], s, n + 1);
                    let v = a.col(k).subrows(k, s - k).as_mat();
                    let (f_done, mut f_rest) = f.rb_mut().split_at_col_mut(taken);
                    let mut f_column = f_rest.rb_mut().col_mut(0).as_mat_mut();
                    matmul(
                        f_column.rb_mut().subrows_mut(k + 1 - j, n - k),
                        Accum::Replace,
                        a.subcols(k + 1, n - k).subrows(k, s - k).transpose(),
                        v,
                        tau,
                        par,
                    );
                    if taken > 0 {
                        let mut overlap = Mat::<f64>::zeros(taken, 1);
                        matmul(
                            overlap.as_mut(),
                            Accum::Replace,
                            a.subcols(j, taken).subrows(k, s - k).transpose(),
                            v,
                            -tau,
                            Par::Seq,
                        );
                        matmul(
                            f_column.rb_mut(),
                            Accum::Add,
                            f_done.rb(),
                            overlap.as_ref(),
                            1.0,
                            Par::Seq,
                        );
                    }
                }
                {
                    // Row k of the rest, which gives R_kj:
                    // A[k, k+1..] -= A[k, j..=k] F[k+1.., ..=taken]^T.
                    let mut a = MatMut::from_column_major_slice_mut(&mut w[..], s, n + 1);
                    let (left, mut right) = a.rb_mut().split_at_col_mut(k + 1);
                    matmul(
                        right.rb_mut().row_mut(k).as_mat_mut(),
                        Accum::Add,
                        left.rb().row(k).subcols(j, taken + 1).as_mat(),
                        f.rb()
                            .subrows(k + 1 - j, n - k)
                            .subcols(0, taken + 1)
                            .transpose(),
                        -1.0,
                        Par::Seq,
                    );
                }
                w[k * s + k] = diagonal;
                // Downdate the norms of the remaining columns by R_kj.
                for q in k + 1..n {
                    let r_kj = w[q * s + k];
                    if !downdate(r_kj, &mut norms[q], exact[q]) {
                        recompute.push(q);
                    }
                }
                taken += 1;
                rank = k + 1;
                if !recompute.is_empty() {
                    break;
                }
            }
            if done || rank == steps {
                break;
            }
            // Apply the block to the rest: A[r.., r..] -= V[r.., ..] F[r.., ..]^T.
            let r = rank;
            let mut a = MatMut::from_column_major_slice_mut(&mut w[..], s, n + 1);
            let (head, mut tail) = a.rb_mut().split_at_col_mut(r);
            matmul(
                tail.rb_mut().subrows_mut(r, s - r),
                Accum::Add,
                head.rb().subcols(j, taken).subrows(r, s - r),
                f.rb()
                    .subrows(r - j, n + 1 - r)
                    .subcols(0, taken)
                    .transpose(),
                -1.0,
                par,
            );
            for q in recompute.drain(..) {
                norms[q] = column_norm(&w[q * s + r..(q + 1) * s]);
                exact[q] = norms[q];
            }
        }
        TruncatedPivotedQr { rank, columns }
    }
}

/// Index of the largest value (the first one on ties).
fn argmax(values: &[f64]) -> usize {
    let mut best = 0;
    for (i, &v) in values.iter().enumerate() {
        if v > values[best] {
            best = i;
        }
    }
    best
}

/// ||x||_2 without overflow or underflow (faer's scaled norm).
fn column_norm(x: &[f64]) -> f64 {
    faer::ColRef::from_slice(x).norm_l2()
}

/// Turns x into the Householder vector of H = I - tau v v^T with
/// H x = beta e_0 (LAPACK's xLARFG): x[0] becomes beta, x[1..] becomes
/// v[1..] (v[0] = 1 implicitly). Returns tau (0 when x[1..] = 0).
///
/// v[1..] = x[1..] / (alpha - beta) and tau = (beta - alpha) / beta are
/// computed from x scaled by 2^[`RESCALE_EXPONENT`] when |beta| is below
/// [`SAFE_MINIMUM`] (as xLARFG does): a column that earlier reflectors have
/// reduced to subnormal round-off (it happens in stage 1 to the columns of
/// random feature models past their numerical rank) would otherwise give
/// 1 / (alpha - beta) = inf and a NaN reflector, and subnormal arithmetic
/// would give a v that does not match tau (H not orthogonal). Scaling by a
/// power of two is exact, and v and tau do not depend on the scale.
#[inline(always)]
fn make_reflector(x: &mut [f64]) -> f64 {
    let below = column_norm(&x[1..]);
    if below == 0.0 {
        return 0.0;
    }
    let rescaled = x[0].hypot(below) < SAFE_MINIMUM;
    if rescaled {
        let up = 2f64.powi(RESCALE_EXPONENT);
        for e in x.iter_mut() {
            *e *= up;
        }
    }
    let alpha = x[0];
    let beta = -alpha.signum() * alpha.hypot(column_norm(&x[1..]));
    let tau = (beta - alpha) / beta;
    let scale = 1.0 / (alpha - beta);
    for e in &mut x[1..] {
        *e *= scale;
    }
    x[0] = if rescaled {
        beta * 2f64.powi(-RESCALE_EXPONENT)
    } else {
        beta
    };
    tau
}

/// Below this |beta| a reflector is computed from its column scaled up
/// (LAPACK's safe minimum, the smallest normal number over eps:
/// 1 / (alpha - beta) and the products with it stay normal above it).
const SAFE_MINIMUM: f64 = f64::MIN_POSITIVE / f64::EPSILON;

/// The scale 2^600 lifts every non-zero f64 below [`SAFE_MINIMUM`]
/// (down to the least subnormal, 2^-1074) to a normal number below 1e-111.
const RESCALE_EXPONENT: i32 = 600;

/// y = H y for H = I - tau v v^T, with v[0] = 1 (v[0] holds beta, unused).
#[inline(always)]
fn reflect(v: &[f64], tau: f64, y: &mut [f64]) {
    if tau == 0.0 {
        return;
    }
    let d = y[0] + dot(&v[1..], &y[1..]);
    let t = tau * d;
    y[0] -= t;
    for (yi, vi) in y[1..].iter_mut().zip(&v[1..]) {
        *yi -= t * vi;
    }
}

/// x . y with eight independent partial sums (vectorizable).
#[inline(always)]
fn dot(x: &[f64], y: &[f64]) -> f64 {
    let mut partial = [0.0; 8];
    let (xc, yc) = (x.chunks_exact(8), y.chunks_exact(8));
    let tail: f64 = xc
        .remainder()
        .iter()
        .zip(yc.remainder())
        .map(|(a, b)| a * b)
        .sum();
    for (a, b) in xc.zip(yc) {
        for l in 0..8 {
            partial[l] += a[l] * b[l];
        }
    }
    partial.iter().sum::<f64>() + tail
}

/// Downdates the norm of a remaining column after a step that gave it
/// R_kj: ||a_j||_new = ||a_j|| sqrt(1 - (R_kj / ||a_j||)^2) (LAPACK's
/// xLAQPS). Returns false, leaving the norm alone, when the new value has
/// lost half of its digits to cancellation (its square relative to the
/// last exactly computed one is at most sqrt(eps)): the caller recomputes it.
fn downdate(r_kj: f64, norm: &mut f64, exact: f64) -> bool {
    if *norm == 0.0 {
        return true;
    }
    let ratio = r_kj.abs() / *norm;
    let remaining = ((1.0 + ratio) * (1.0 - ratio)).max(0.0);
    let relative = remaining * (*norm / exact) * (*norm / exact);
    if relative <= f64::EPSILON.sqrt() {
        return false;
    }
    *norm *= remaining.sqrt();
    true
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

    /// ||A x - b||_2
    fn residual_norm(a: MatRef<'_, f64>, x: &[f64], b: &[f64]) -> f64 {
        residual(a, x, b).iter().map(|r| r * r).sum::<f64>().sqrt()
    }

    fn random_matrix(m: usize, n: usize, seed: u64) -> Mat<f64> {
        let mut rng = SeededRng::new(seed, 0);
        Mat::from_fn(m, n, |_, _| rng.uniform_in(-1.0, 1.0))
    }

    /// A (m x n) of rank k: a product of random m x k and k x n factors.
    fn low_rank(m: usize, n: usize, k: usize, seed: u64) -> Mat<f64> {
        random_matrix(m, k, seed) * random_matrix(k, n, seed + 1)
    }

    #[test]
    fn the_optimality_check_accepts_the_direct_solution_and_rejects_a_missing_column() {
        let a = random_matrix(80, 30, 3);
        let mut rng = SeededRng::new(4, 0);
        let b: Vec<f64> = (0..80).map(|_| rng.uniform_in(-1.0, 1.0)).collect();
        let norms: Vec<f64> = (0..30).map(|j| a.col(j).norm_l2()).collect();
        let full = solve(a.as_ref(), &b, 1e-13, Par::Seq).unwrap();
        assert!(meets_optimality_check(
            a.as_ref(),
            &b,
            &full.solution,
            &norms,
            1e-13
        ));
        // The least-squares solution on all columns but the last.
        let part = solve(a.as_ref().subcols(0, 29), &b, 1e-13, Par::Seq).unwrap();
        let mut x = part.solution.clone();
        x.push(0.0);
        assert!(!meets_optimality_check(a.as_ref(), &b, &x, &norms, 1e-13));
    }

    #[test]
    fn selected_columns_match_the_direct_solve_on_a_tall_rank_deficient_system() {
        let (m, n, k) = (1200, 400, 90);
        let a = low_rank(m, n, k, 5);
        let mut rng = SeededRng::new(6, 0);
        let x_true: Vec<f64> = (0..n).map(|_| rng.uniform_in(-1.0, 1.0)).collect();
        let mut b = vec![0.0; m];
        for (i, bi) in b.iter_mut().enumerate() {
            *bi = (0..n).map(|j| a[(i, j)] * x_true[j]).sum::<f64>()
                + 1e-3 * rng.uniform_in(-1.0, 1.0);
        }
        let direct = solve(a.as_ref(), &b, 1e-13, Par::Seq).unwrap();
        let (selected, path) = solve_selecting_columns(a.as_ref(), &b, 1e-13, Par::Seq).unwrap();
        assert!(
            matches!(path, Path::Selected { columns } if columns < n / 2),
            "{path:?}"
        );
        assert_eq!(selected.rank, k);
        assert_eq!(direct.rank, k);
        let (rs, rd) = (
            residual_norm(a.as_ref(), &selected.solution, &b),
            residual_norm(a.as_ref(), &direct.solution, &b),
        );
        assert!((rs - rd).abs() <= 1e-10 * rd, "residuals {rs:e} vs {rd:e}");
    }

    /// The assembled matrices are row-major, the tests' column-major: the
    /// same system either way gives the same selection and solution bit for
    /// bit, and the sketch does not depend on the thread count.
    #[test]
    fn the_selection_does_not_depend_on_the_layout_or_the_threads() {
        let (m, n, k) = (900, 300, 70);
        let a = low_rank(m, n, k, 7);
        let mut rng = SeededRng::new(8, 0);
        let b: Vec<f64> = (0..m).map(|_| rng.uniform_in(-1.0, 1.0)).collect();
        let row_major: Vec<f64> = (0..m)
            .flat_map(|i| (0..n).map(move |j| (i, j)))
            .map(|(i, j)| a[(i, j)])
            .collect();
        let a_rows = MatRef::from_row_major_slice(&row_major, m, n);
        let (by_columns, path) = solve_selecting_columns(a.as_ref(), &b, 1e-13, Par::Seq).unwrap();
        let (by_rows, path_rows) = solve_selecting_columns(a_rows, &b, 1e-13, Par::Seq).unwrap();
        assert!(matches!(path, Path::Selected { .. }), "{path:?}");
        assert_eq!(path, path_rows);
        assert_eq!(by_columns.solution, by_rows.solution);
        let rows = 200;
        let targets: Vec<(usize, f64)> = (0..m * SKETCH_ZETA)
            .map(|_| (rng.next_u64() as usize % rows, rng.uniform_in(-1.0, 1.0)))
            .collect();
        let sketch = |a: MatRef<'_, f64>, par: Par| {
            let (mut out, mut norms) = (vec![0.0; rows * n], vec![0.0; n]);
            sparse_sign_sketch(a, &targets, rows, &mut out, &mut norms, par);
            (out, norms)
        };
        let one = sketch(a_rows, Par::Seq);
        assert_eq!(one, sketch(a_rows, Par::rayon(2)));
        assert_eq!(one.0, sketch(a.as_ref(), Par::Seq).0);
        for (j, norm) in one.1.iter().enumerate() {
            let exact = a.col(j).norm_l2();
            assert!((norm - exact).abs() <= 1e-14 * exact, "column {j}");
        }
    }

    /// The randomized blocked selection finds the numerical rank that the
    /// classical pivoted QR finds, on a matrix whose singular values decay
    /// from 1 to 1e-20 (so the cutoff falls inside the spectrum, not at a
    /// gap), and its columns are well conditioned.
    #[test]
    fn randomized_blocks_select_the_numerical_rank_of_the_classical_pivoting() {
        let (s, n, k) = (400, 600, 300);
        let u = random_matrix(s, k, 9).qr().compute_thin_Q();
        let v = random_matrix(n, k, 10).qr().compute_thin_Q();
        let scaled = Mat::<f64>::from_fn(s, k, |i, l| {
            u[(i, l)] * 10f64.powf(-20.0 * l as f64 / k as f64)
        });
        let w = &scaled * v.transpose();
        let mut classical = vec![0.0; s * (n + 1)];
        let mut randomized = vec![0.0; s * n];
        for j in 0..n {
            for i in 0..s {
                classical[j * s + i] = w[(i, j)];
                randomized[j * s + i] = w[(i, j)];
            }
        }
        let cutoff = 1e-14;
        let reference = TruncatedPivotedQr::factor(&mut classical, s, n, cutoff, Par::Seq);
        let chosen = select_columns(&mut randomized, s, n, cutoff, Par::Seq);
        assert!(
            chosen.len().abs_diff(reference.rank) <= 3,
            "randomized {} vs classical {}",
            chosen.len(),
            reference.rank
        );
        // The chosen columns of W span what the classical ones span: the
        // least-squares residual of every column of W on them is at the
        // cutoff's level.
        let basis = Mat::<f64>::from_fn(s, chosen.len(), |i, q| w[(i, chosen[q])]);
        for j in (0..n).step_by(37) {
            let column: Vec<f64> = (0..s).map(|i| w[(i, j)]).collect();
            let fit = solve(basis.as_ref(), &column, 1e-15, Par::Seq).unwrap();
            let r = residual_norm(basis.as_ref(), &fit.solution, &column);
            assert!(r <= 1e-12, "column {j}: residual {r:e}");
        }
    }

    #[test]
    fn selected_columns_fall_back_when_the_matrix_has_full_rank() {
        let a = random_matrix(600, 300, 7);
        let b: Vec<f64> = (0..600).map(|i| (i as f64).sin()).collect();
        let (fit, path) = solve_selecting_columns(a.as_ref(), &b, 1e-13, Par::Seq).unwrap();
        assert_eq!(path, Path::FellBack);
        let direct = solve(a.as_ref(), &b, 1e-13, Par::Seq).unwrap();
        assert_eq!(fit.solution, direct.solution);
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
        assert!(residual_norm(a.as_ref(), &fit.solution, &b) < 1e-12);
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
        let (got, want) = (
            residual_norm(a.as_ref(), &fit.solution, &b),
            residual_norm(base.as_ref(), &reference.solution, &b),
        );
        assert!((got - want).abs() < 1e-12);
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

    /// Businger-Golub column-pivoted Householder QR with every remaining
    /// column norm recomputed at every step: slow, but its pivots are
    /// exact. Returns the pivot order and |R_kk|.
    fn reference_pivoted_qr(a: &Mat<f64>) -> (Vec<usize>, Vec<f64>) {
        let (m, n) = (a.nrows(), a.ncols());
        let mut w: Vec<Vec<f64>> = (0..n)
            .map(|j| (0..m).map(|i| a[(i, j)]).collect())
            .collect();
        let mut order: Vec<usize> = (0..n).collect();
        let mut diagonal = Vec::new();
        for k in 0..m.min(n) {
            let norm = |c: &Vec<f64>| c[k..].iter().map(|x| x * x).sum::<f64>().sqrt();
            let p = (k..n)
                .max_by(|&x, &y| norm(&w[x]).total_cmp(&norm(&w[y])))
                .unwrap();
            w.swap(k, p);
            order.swap(k, p);
            let alpha = w[k][k];
            let sigma = norm(&w[k]);
            let beta = -alpha.signum() * sigma;
            let mut v: Vec<f64> = w[k][k..].to_vec();
            v[0] -= beta;
            let vv: f64 = v.iter().map(|x| x * x).sum();
            diagonal.push(beta.abs());
            for column in w.iter_mut().skip(k + 1) {
                let d: f64 = v.iter().zip(&column[k..]).map(|(x, y)| x * y).sum();
                for (x, y) in v.iter().zip(column[k..].iter_mut()) {
                    *y -= 2.0 * d / vv * x;
                }
            }
        }
        (order, diagonal)
    }

    /// G D with G random and D = diag(10^(-8 j / n)): full rank, graded,
    /// with well separated column norms.
    fn graded_matrix(m: usize, n: usize, seed: u64) -> Mat<f64> {
        let g = random_matrix(m, n, seed);
        Mat::from_fn(m, n, |i, j| {
            g[(i, j)] * 10f64.powf(-8.0 * j as f64 / n as f64)
        })
    }

    /// The blocked two-stage factorization (tall) and the blocked one on A
    /// itself (wide) choose the pivots of the textbook algorithm and give
    /// the same |R_kk|, over several blocks.
    #[test]
    fn pivots_and_diagonal_match_the_textbook_algorithm() {
        for (m, n) in [(150, 100), (70, 110)] {
            let a = graded_matrix(m, n, 11);
            let (order, diagonal) = reference_pivoted_qr(&a);
            let s = m.min(n);
            let mut w = vec![0.0; s * (n + 1)];
            if m > n {
                let mut work = Mat::<f64>::zeros(m, n + 1);
                work.as_mut().subcols_mut(0, n).copy_from(&a);
                householder_qr(work.as_mut(), s, Par::Seq);
                for j in 0..n {
                    for i in 0..=j {
                        w[j * s + i] = work[(i, j)];
                    }
                }
            } else {
                for j in 0..n {
                    for i in 0..m {
                        w[j * s + i] = a[(i, j)];
                    }
                }
            }
            let qr = TruncatedPivotedQr::factor(&mut w, s, n, 0.0, Par::Seq);
            assert_eq!(qr.rank, s);
            assert_eq!(qr.columns[..s], order[..s], "{m} x {n}");
            for k in 0..s {
                let got = w[k * s + k].abs();
                assert!(
                    (got - diagonal[k]).abs() <= 1e-11 * diagonal[k],
                    "{m} x {n}, R_{k}{k}: {got} vs {}",
                    diagonal[k]
                );
            }
        }
    }

    /// A = B C of exact rank r: the numerical rank is r, and the residual
    /// is that of the least-squares fit in the column space of B
    /// (nalgebra's SVD solve of B, an independent computation). Covers
    /// tall and wide shapes, several blocks and the norm recomputations
    /// that rank deficiency triggers.
    #[test]
    fn low_rank_products_have_the_residual_of_their_column_space() {
        for (m, n, r) in [(200, 90, 50), (60, 150, 40), (120, 100, 97)] {
            let left = random_matrix(m, r, 21);
            let right = random_matrix(r, n, 22);
            let a = &left * &right;
            let mut rng = SeededRng::new(23, 0);
            let b: Vec<f64> = (0..m).map(|_| rng.uniform_in(-1.0, 1.0)).collect();
            let fit = solve(a.as_ref(), &b, 1e-10, Par::rayon(2)).unwrap();
            assert_eq!(fit.rank, r, "{m} x {n}");
            let basis = nalgebra::DMatrix::from_fn(m, r, |i, j| left[(i, j)]);
            let rhs = nalgebra::DVector::from_column_slice(&b);
            let coefficients = basis.clone().svd(true, true).solve(&rhs, 1e-12).unwrap();
            let want = (&basis * coefficients - &rhs).norm();
            let got = residual_norm(a.as_ref(), &fit.solution, &b);
            assert!(
                (got - want).abs() <= 1e-10 * want,
                "{m} x {n}: {got} vs {want}"
            );
        }
    }

    /// Rows of -phi'' for phi_k(x) = tanh(w_k x + b_k), w, b ~ U(-60, 60)
    /// at `m` grid points of [0, 1], plus the two boundary rows phi(0),
    /// phi(1): the least-squares matrix of a 1-D Poisson problem with a
    /// large feature scale. Its columns past the numerical rank are
    /// reduced by stage 1 to round-off of round-off, down to subnormal
    /// numbers.
    fn steep_feature_matrix(m: usize, n: usize) -> Mat<f64> {
        let mut rng = SeededRng::new(31, 0);
        let w: Vec<f64> = (0..n).map(|_| rng.uniform_in(-60.0, 60.0)).collect();
        let b: Vec<f64> = (0..n).map(|_| rng.uniform_in(-60.0, 60.0)).collect();
        Mat::from_fn(m + 2, n, |i, k| {
            if i >= m {
                return (w[k] * (i - m) as f64 + b[k]).tanh();
            }
            let t = (w[k] * (i as f64 + 1.0) / (m as f64 + 1.0) + b[k]).tanh();
            // phi'' = w^2 (-2 t (1 - t^2))
            2.0 * w[k] * w[k] * t * (1.0 - t * t)
        })
    }

    /// Stage 1 meets columns whose remaining norm is subnormal; their
    /// reflectors must stay finite and orthogonal (they gave
    /// 1 / (alpha - beta) = inf, and NaN solutions, before the rescaling
    /// in `make_reflector`). The residual is that of nalgebra's SVD solve.
    #[test]
    fn subnormal_columns_in_stage_one_keep_the_solution_finite() {
        // Built: five ordinary columns, three of size 1e-311 (subnormal
        // after the first reflectors), four ordinary ones after them.
        let (m, n) = (60, 12);
        let g = random_matrix(m, n, 41);
        let tiny = |j: usize| (5..8).contains(&j);
        let a = Mat::from_fn(m, n, |i, j| {
            if tiny(j) {
                1e-311 * g[(i, j)]
            } else {
                g[(i, j)]
            }
        });
        let mut rng = SeededRng::new(42, 0);
        let b: Vec<f64> = (0..m).map(|_| rng.uniform_in(-1.0, 1.0)).collect();
        let fit = solve(a.as_ref(), &b, 1e-13, Par::Seq).unwrap();
        assert!(fit.solution.iter().all(|x| x.is_finite()));
        assert_eq!(fit.rank, 9);
        let kept: Vec<usize> = (0..n).filter(|&j| !tiny(j)).collect();
        let basis = nalgebra::DMatrix::from_fn(m, kept.len(), |i, j| a[(i, kept[j])]);
        let rhs = nalgebra::DVector::from_column_slice(&b);
        let coefficients = basis.clone().svd(true, true).solve(&rhs, 1e-14).unwrap();
        let want = (&basis * coefficients - &rhs).norm();
        let got = residual_norm(a.as_ref(), &fit.solution, &b);
        assert!((got - want).abs() <= 1e-12 * want, "{got} vs {want}");

        // Arising: the steep feature matrix (1202 x 600 is the smallest of
        // the sizes tried that met a subnormal column), with a right-hand
        // side in its column space (b = A x for a random x): the exact
        // residual is zero, so the computed one must be round-off of |b|.
        let a = steep_feature_matrix(1200, 600);
        let mut rng = SeededRng::new(43, 0);
        let x: Vec<f64> = (0..600).map(|_| rng.uniform_in(-1.0, 1.0)).collect();
        let b: Vec<f64> = residual(a.as_ref(), &x, &vec![0.0; a.nrows()]);
        let fit = solve(a.as_ref(), &b, 1e-13, Par::Seq).unwrap();
        assert!(fit.solution.iter().all(|x| x.is_finite()));
        let b_norm = b.iter().map(|v| v * v).sum::<f64>().sqrt();
        let got = residual_norm(a.as_ref(), &fit.solution, &b);
        assert!(got <= 1e-11 * b_norm, "residual {got}, |b| {b_norm}");
    }

    /// The thread count does not change the result.
    #[test]
    fn one_and_two_threads_agree() {
        let a = Mat::from_fn(400, 160, |i, j| {
            let x = i as f64 / 400.0;
            (3.0 * (j as f64 / 160.0 - 0.5) * x + 0.01 * j as f64).tanh()
        });
        let b: Vec<f64> = (0..400).map(|i| (i as f64 * 0.1).sin()).collect();
        let one = solve(a.as_ref(), &b, 1e-13, Par::Seq).unwrap();
        let two = solve(a.as_ref(), &b, 1e-13, Par::rayon(2)).unwrap();
        assert_eq!(one.rank, two.rank);
        assert_eq!(one.solution, two.solution);
    }
}
