//! Stage 7b, spectrum: the singular values of the matrix training works
//! with, and the truncated entropy that summarizes them (Chen, Yang, Xiang,
//! Hao 2024, "Automatic differentiation is essential in training neural
//! networks for solving differential equations").
//!
//! - Random feature models with a linear problem: the weighted least-squares
//!   matrix A that `solve` assembles (equation rows, then condition rows),
//!   or its equation rows alone.
//! - Networks (and random feature models of nonlinear problems): the
//!   Jacobian J of the weighted residual vector with respect to the trained
//!   parameters at the initial parameters. Its singular values are the
//!   square roots of the eigenvalues of the Gram matrix J J^T that sets the
//!   speed of gradient descent along each direction; also at chosen epochs
//!   of an Adam run ([`adam_snapshots`]).
//!
//! Definitions (see docs/reproductions.md; the paper's exact normalization
//! is not confirmed, so both the plain and the energy versions are given).
//! With s_1 >= s_2 >= ... >= s_n >= 0 and a cutoff eps:
//!   R(eps)  = #{ i : s_i > eps }                (effective cut-off number)
//!   p_i     = s_i / sum_{j <= R} s_j            (i <= R)
//!   H(eps)  = - sum_{i <= R} p_i ln p_i          (truncated entropy)
//!   exp(H)  an effective rank; the energy versions use s_i^2 for s_i.
//! pdec sets eps = cutoff * s_1 with a relative cutoff (default 1e-13, the
//! rank cutoff of `train lstsq`).

use std::ops::Range;

use faer::{Mat, MatRef};

use crate::ir::RunError;
use crate::train::network::{self, TrainError};
use crate::train::{assemble, init::initial_parameters, TrainingProblem};

/// Which rows of the least-squares matrix to analyse.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rows {
    /// Equation rows and condition rows, as `solve` uses them.
    All,
    /// The equation rows alone.
    Interior,
}

/// Which matrix a spectrum belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MatrixKind {
    /// The least-squares matrix A of a random feature model.
    LeastSquares,
    /// The Jacobian of the residuals with respect to the trained parameters.
    Jacobian,
}

impl MatrixKind {
    /// The name used in reports (`least_squares`, `jacobian`).
    pub fn name(self) -> &'static str {
        match self {
            MatrixKind::LeastSquares => "least_squares",
            MatrixKind::Jacobian => "jacobian",
        }
    }
}

/// The matrix of one problem at its initial parameters.
pub struct TrainingMatrix {
    pub kind: MatrixKind,
    pub matrix: Mat<f64>,
}

/// Builds the matrix training works with at the spec's initial parameters
/// (the same seed gives the same random features in every diff mode);
/// `problem` holds the spec's lowered kernels and training points.
pub fn training_matrix(
    spec: &crate::check::Spec,
    problem: TrainingProblem<'_>,
    rows: Rows,
) -> Result<TrainingMatrix, RunError> {
    let theta = initial_parameters(spec, &problem.lowered.layout);
    training_matrix_at(problem, &theta, rows)
}

/// The parameters after each of `epochs` (sorted, deduplicated) epochs of
/// the full-batch Adam run `solve` would make with `spec`'s learning rate,
/// from the initial parameters (epoch 0).
pub fn adam_snapshots(
    spec: &crate::check::Spec,
    problem: TrainingProblem<'_>,
    lr: f64,
    epochs: &[usize],
) -> Result<Vec<(usize, Vec<f64>)>, TrainError> {
    let mut theta = initial_parameters(spec, &problem.lowered.layout);
    let last = epochs.iter().copied().max().unwrap_or(0);
    let mut snapshots = Vec::new();
    if epochs.contains(&0) {
        snapshots.push((0, theta.clone()));
    }
    if last > 0 {
        let schedule = match spec.train {
            crate::check::Trainer::Adam {
                schedule, epochs, ..
            } => (schedule, epochs),
            _ => (crate::check::Schedule::Constant, last),
        };
        network::adam_scheduled(
            problem,
            &mut theta,
            lr,
            schedule,
            last,
            |epoch, _, current| {
                // `current` holds the parameters after epoch - 1 updates.
                if epoch > 1 && epochs.contains(&(epoch - 1)) {
                    snapshots.push((epoch - 1, current.to_vec()));
                }
            },
        )?;
        snapshots.push((last, theta));
    }
    Ok(snapshots)
}

/// Like [`training_matrix`], at the parameters `theta`.
pub fn training_matrix_at(
    problem: TrainingProblem<'_>,
    theta: &[f64],
    rows: Rows,
) -> Result<TrainingMatrix, RunError> {
    let equations = problem.equations;
    let rows_kernels = problem
        .lowered
        .kernels
        .iter()
        .any(|k| matches!(k.role, crate::lower::KernelRole::Rows { .. }));
    // Both kinds come row-major from their kernels: one copy makes the
    // (column-major) matrix, of every row or of the selected ones.
    let (kind, data, blocks, rows_total, columns) = if rows_kernels {
        let system = assemble::assemble(problem, theta)?;
        let shape = (system.nrows, system.ncols);
        (
            MatrixKind::LeastSquares,
            system.rows,
            system.blocks,
            shape.0,
            shape.1,
        )
    } else {
        let e = network::evaluate(problem, theta)?;
        let n = e.residual.len();
        let p = problem.lowered.layout.trained();
        (MatrixKind::Jacobian, e.jacobian, e.blocks, n, p)
    };
    let full = MatRef::from_row_major_slice(&data, rows_total, columns);
    let keep: Vec<Range<usize>> = blocks
        .iter()
        .enumerate()
        .filter(|(index, _)| rows == Rows::All || *index < equations)
        .map(|(_, (_, range))| range.clone())
        .collect();
    let matrix = if keep.len() == blocks.len() {
        full.to_owned()
    } else {
        let selected: Vec<usize> = keep.into_iter().flatten().collect();
        Mat::from_fn(selected.len(), columns, |i, j| full[(selected[i], j)])
    };
    Ok(TrainingMatrix { kind, matrix })
}

/// Why the singular values could not be computed (a runtime failure).
#[derive(Clone, Debug, PartialEq)]
pub enum SpectrumError {
    NotFinite,
    NoConvergence,
    Empty,
}

impl std::fmt::Display for SpectrumError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SpectrumError::NotFinite => write!(f, "the matrix contains NaN or infinite entries"),
            SpectrumError::NoConvergence => write!(f, "the SVD did not converge"),
            SpectrumError::Empty => write!(f, "the matrix has no rows or no columns"),
        }
    }
}

/// The singular values of `a`, largest first (faer's dense SVD, values only).
pub fn singular_values(a: MatRef<'_, f64>) -> Result<Vec<f64>, SpectrumError> {
    if a.nrows() == 0 || a.ncols() == 0 {
        return Err(SpectrumError::Empty);
    }
    let finite = (0..a.ncols()).all(|j| (0..a.nrows()).all(|i| a[(i, j)].is_finite()));
    if !finite {
        return Err(SpectrumError::NotFinite);
    }
    // faer's svd with the parallelism passed explicitly (its
    // `singular_values()` reads the process-global setting).
    let par = crate::train::parallelism();
    let size = a.nrows().min(a.ncols());
    let mut diagonal = faer::diag::Diag::<f64>::zeros(size);
    let no = faer::linalg::svd::ComputeSvdVectors::No;
    let scratch = faer::linalg::svd::svd_scratch::<f64>(
        a.nrows(),
        a.ncols(),
        no,
        no,
        par,
        Default::default(),
    );
    faer::linalg::svd::svd(
        a,
        diagonal.as_mut(),
        None,
        None,
        par,
        faer::dyn_stack::MemStack::new(&mut faer::dyn_stack::MemBuffer::new(scratch)),
        Default::default(),
    )
    .map_err(|_| SpectrumError::NoConvergence)?;
    let mut s: Vec<f64> = diagonal.column_vector().iter().copied().collect();
    s.sort_by(|x, y| y.total_cmp(x));
    Ok(s)
}

/// The truncated entropy of a spectrum at one cutoff (see the module doc).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TruncatedEntropy {
    /// The absolute cutoff eps.
    pub cutoff: f64,
    /// R(eps) = #{ i : s_i > eps }.
    pub effective_cutoff_number: usize,
    /// H(eps) with p_i = s_i / sum s_j.
    pub entropy: f64,
    /// H(eps) with p_i = s_i^2 / sum s_j^2.
    pub energy_entropy: f64,
}

impl TruncatedEntropy {
    /// H and R of `s` (sorted, largest first) at the absolute cutoff `eps`.
    pub fn new(s: &[f64], eps: f64) -> TruncatedEntropy {
        let kept: Vec<f64> = s.iter().copied().filter(|&v| v > eps).collect();
        let entropy = |weights: &[f64]| {
            let total: f64 = weights.iter().sum();
            if total <= 0.0 {
                return 0.0;
            }
            -weights
                .iter()
                .map(|w| w / total)
                .filter(|&p| p > 0.0)
                .map(|p| p * p.ln())
                .sum::<f64>()
        };
        let squares: Vec<f64> = kept.iter().map(|v| v * v).collect();
        TruncatedEntropy {
            cutoff: eps,
            effective_cutoff_number: kept.len(),
            entropy: entropy(&kept),
            energy_entropy: entropy(&squares),
        }
    }

    /// exp(H): the number of equal singular values with the same entropy.
    pub fn effective_rank(&self) -> f64 {
        self.entropy.exp()
    }
}

/// Everything reported about one spectrum.
#[derive(Clone, Debug)]
pub struct SpectrumSummary {
    pub rows: usize,
    pub columns: usize,
    pub s_max: f64,
    pub s_min: f64,
    /// s_max / s_min (infinite when s_min = 0).
    pub condition: f64,
    pub entropy: TruncatedEntropy,
}

impl SpectrumSummary {
    /// The summary of singular values `s` of a rows x columns matrix, with
    /// eps = `relative_cutoff` * s_max.
    pub fn new(s: &[f64], rows: usize, columns: usize, relative_cutoff: f64) -> SpectrumSummary {
        let s_max = s.first().copied().unwrap_or(0.0);
        let s_min = s.last().copied().unwrap_or(0.0);
        SpectrumSummary {
            rows,
            columns,
            s_max,
            s_min,
            condition: if s_min > 0.0 {
                s_max / s_min
            } else {
                f64::INFINITY
            },
            entropy: TruncatedEntropy::new(s, relative_cutoff * s_max),
        }
    }
}

/// How two spectra of the same problem compare.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Comparison {
    /// The number of leading singular values that agree to 1%:
    /// the largest k with |t_i - s_i| <= 0.01 s_i for all i < k.
    pub agree_up_to: usize,
    /// The median of t_i / s_i over the tail: the indices from
    /// `agree_up_to` on where both values are above their cutoffs (NaN if
    /// there are none).
    pub tail_ratio: f64,
}

impl Comparison {
    /// Compares `other` (t) with `reference` (s), both sorted largest first,
    /// counting tail values above `eps_reference` and `eps_other`.
    pub fn new(reference: &[f64], other: &[f64], eps_reference: f64, eps_other: f64) -> Comparison {
        let n = reference.len().min(other.len());
        let agree_up_to = (0..n)
            .take_while(|&i| (other[i] - reference[i]).abs() <= 0.01 * reference[i])
            .count();
        let mut ratios: Vec<f64> = (agree_up_to..n)
            .take_while(|&i| reference[i] > eps_reference && other[i] > eps_other)
            .map(|i| other[i] / reference[i])
            .collect();
        ratios.sort_by(f64::total_cmp);
        let tail_ratio = if ratios.is_empty() {
            f64::NAN
        } else if ratios.len() % 2 == 1 {
            ratios[ratios.len() / 2]
        } else {
            0.5 * (ratios[ratios.len() / 2 - 1] + ratios[ratios.len() / 2])
        };
        Comparison {
            agree_up_to,
            tail_ratio,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// n equal singular values: H = ln n exactly, exp(H) = n.
    #[test]
    fn equal_values_have_entropy_ln_n() {
        let s = vec![2.5; 64];
        let t = TruncatedEntropy::new(&s, 1e-13 * 2.5);
        assert_eq!(t.effective_cutoff_number, 64);
        assert!((t.entropy - 64f64.ln()).abs() < 1e-14);
        assert!((t.energy_entropy - 64f64.ln()).abs() < 1e-14);
        assert!((t.effective_rank() - 64.0).abs() < 1e-12);
    }

    /// One dominant value and values below the cutoff: H = 0, R = 1.
    #[test]
    fn one_value_above_the_cutoff_has_zero_entropy() {
        let s = [1.0, 1e-14, 1e-15, 0.0];
        let t = TruncatedEntropy::new(&s, 1e-13);
        assert_eq!(t.effective_cutoff_number, 1);
        assert_eq!(t.entropy, 0.0);
        assert_eq!(t.energy_entropy, 0.0);
    }

    /// diag(4, 2, 1, 1): p = (1/2, 1/4, 1/8, 1/8), H = (7/4) ln 2; energy
    /// weights (16, 4, 1, 1)/22.
    #[test]
    fn diagonal_matrix_entropy_matches_the_formula() {
        let a = Mat::from_fn(
            4,
            4,
            |i, j| if i == j { [4.0, 1.0, 2.0, 1.0][i] } else { 0.0 },
        );
        let s = singular_values(a.as_ref()).unwrap();
        assert_eq!(s, vec![4.0, 2.0, 1.0, 1.0]);
        let t = TruncatedEntropy::new(&s, 0.5);
        assert!(
            (t.entropy - 1.75 * 2f64.ln()).abs() < 1e-15,
            "{}",
            t.entropy
        );
        let e: f64 = [16.0f64, 4.0, 1.0, 1.0]
            .iter()
            .map(|w| {
                let p = w / 22.0;
                -p * p.ln()
            })
            .sum();
        assert!((t.energy_entropy - e).abs() < 1e-15);
        // A cutoff between values drops the small ones.
        let t = TruncatedEntropy::new(&s, 1.5);
        assert_eq!(t.effective_cutoff_number, 2);
        let (p, q) = (4.0 / 6.0, 2.0 / 6.0);
        assert!((t.entropy + p * f64::ln(p) + q * f64::ln(q)).abs() < 1e-15);
    }

    #[test]
    fn comparison_counts_agreement_and_tail_ratio() {
        let s = [10.0, 5.0, 1.0, 0.1, 0.01];
        let t = [10.05, 4.99, 1.2, 0.3, 0.03];
        let c = Comparison::new(&s, &t, 1e-3, 1e-3);
        assert_eq!(c.agree_up_to, 2);
        // tail ratios 1.2, 3, 3: median 3.
        assert!((c.tail_ratio - 3.0).abs() < 1e-12);
    }

    #[test]
    fn bad_matrices_are_errors() {
        let a = Mat::from_fn(2, 2, |i, _| if i == 0 { f64::NAN } else { 1.0 });
        assert_eq!(singular_values(a.as_ref()), Err(SpectrumError::NotFinite));
        let a = Mat::<f64>::zeros(0, 3);
        assert_eq!(singular_values(a.as_ref()), Err(SpectrumError::Empty));
    }
}
