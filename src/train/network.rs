//! Residual vectors and Jacobians of the network kernels, and
//! Levenberg-Marquardt (damped Gauss-Newton) on them.
//!
//! Each `network_*` kernel gives, per point of its residual's set, the
//! weighted residual and its gradient with respect to the trained
//! parameters. Stacked over all residuals they form r(theta) and J(theta).
//! A Levenberg-Marquardt step solves
//!   min_delta ||J delta + r||^2 + lambda ||delta||^2
//! as the least-squares problem [J; sqrt(lambda) I] delta = [-r; 0]
//! (column-pivoted QR), accepts it if the loss 0.5 ||r||^2 decreases
//! and otherwise retries with a larger lambda (Nielsen's schedule, see
//! [`levenberg_marquardt`]).

use std::cell::RefCell;
use std::ops::Range;

use faer::linalg::matmul::matmul;
use faer::{Accum, Mat, MatRef};

use super::init::run_kernel;
use super::lbfgs::{self, LbfgsError, LbfgsSettings, LbfgsStop};
use super::{block_mean_squares, lstsq, TrainingProblem};
use crate::check::Schedule;
use crate::ir::RunError;
use crate::lower::KernelRole;

/// Stacked residuals and, if requested, the Jacobian (row-major, n x p).
pub struct Evaluation {
    pub residual: Vec<f64>,
    pub jacobian: Vec<f64>,
    /// (residual name, its rows), in order.
    pub blocks: Vec<(String, Range<usize>)>,
}

/// Runs every network kernel at parameters `theta`.
pub fn evaluate(problem: TrainingProblem<'_>, theta: &[f64]) -> Result<Evaluation, RunError> {
    let mut out = Evaluation {
        residual: Vec::new(),
        jacobian: Vec::new(),
        blocks: Vec::new(),
    };
    evaluate_into(problem, theta, &mut out)?;
    Ok(out)
}

/// The residuals at `theta` (the Jacobian only where the kernels compute
/// it anyway: a deep network runs its forward passes alone, so that the
/// report and L-BFGS do not hold an n x p matrix they never read).
pub fn residuals(problem: TrainingProblem<'_>, theta: &[f64]) -> Result<Evaluation, RunError> {
    let Some(plan) = &problem.lowered.mlp else {
        return evaluate(problem, theta);
    };
    let mut out = Evaluation {
        residual: Vec::new(),
        jacobian: Vec::new(),
        blocks: Vec::new(),
    };
    super::mlp::residuals_into(problem, plan, theta, &mut out)?;
    Ok(out)
}

/// Like [`evaluate`], reusing the buffers of `out` (the kernels write every
/// entry, so nothing is cleared): no allocation once the sizes are known.
pub fn evaluate_into(
    problem: TrainingProblem<'_>,
    theta: &[f64],
    out: &mut Evaluation,
) -> Result<(), RunError> {
    if let Some(plan) = &problem.lowered.mlp {
        return super::mlp::evaluate_into(problem, plan, theta, out);
    }
    let layout = &problem.lowered.layout;
    let p = layout.trained();
    if out.blocks.is_empty() {
        let mut rows = 0;
        for kernel in &problem.lowered.kernels {
            if let KernelRole::Network { residual } = kernel.role {
                let n = problem.points(residual).len();
                let name = kernel.name.trim_start_matches("network_").to_string();
                out.blocks.push((name, rows..rows + n));
                rows += n;
            }
        }
        out.residual = vec![0.0; rows];
        out.jacobian = crate::ir::zeroed(rows.saturating_mul(p), "Jacobian")?;
    }
    let mut block = 0;
    for (index, kernel) in problem.lowered.kernels.iter().enumerate() {
        let KernelRole::Network { residual } = kernel.role else {
            continue;
        };
        let range = out.blocks[block].1.clone();
        block += 1;
        run_kernel(
            problem.executor,
            index,
            layout,
            problem.points(residual),
            theta,
            true,
            &mut [
                &mut out.residual[range.clone()],
                &mut out.jacobian[range.start * p..range.end * p],
            ],
        )?;
    }
    Ok(())
}

/// The training losses after one iteration or epoch.
#[derive(Clone, Debug, PartialEq)]
pub struct HistoryRow {
    /// The sum of `terms`.
    pub total: f64,
    /// Mean square residual per term (equations, then conditions).
    pub terms: Vec<f64>,
}

impl HistoryRow {
    /// The losses of the terms of `e`.
    pub fn of(e: &Evaluation) -> HistoryRow {
        let terms = term_losses(e);
        HistoryRow {
            total: terms.iter().sum(),
            terms,
        }
    }
}

/// One Levenberg-Marquardt iteration's record.
#[derive(Clone, Debug)]
pub struct Iteration {
    /// 0.5 ||r||^2, the objective Levenberg-Marquardt decreases.
    pub loss: f64,
    pub lambda: f64,
    /// Per-term mean squares at the current parameters.
    pub row: HistoryRow,
}

/// Why network training stopped early.
#[derive(Clone, Debug)]
pub enum TrainError {
    Run(RunError),
    /// The loss or the parameters became NaN/infinite.
    Diverged {
        iteration: usize,
        term: String,
    },
    /// A derivative of a term with respect to the parameters is NaN or
    /// infinite while its residual is finite (sqrt(z) or z^p with p < 1 at
    /// z = 0, for instance).
    NotDifferentiable {
        iteration: usize,
        term: String,
    },
}

impl std::fmt::Display for TrainError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TrainError::Run(e) => write!(f, "{e}"),
            TrainError::Diverged { iteration, term } => write!(
                f,
                "training diverged at iteration {iteration}: the residual of {term} is not finite"
            ),
            TrainError::NotDifferentiable { iteration, term } => write!(
                f,
                "training stopped at iteration {iteration}: the derivative of {term} with \
                 respect to the parameters is not finite (a function such as sqrt(z) or z^p \
                 with p < 1 is evaluated where z = 0, where its derivative is infinite)"
            ),
        }
    }
}

impl From<RunError> for TrainError {
    fn from(e: RunError) -> Self {
        TrainError::Run(e)
    }
}

/// 0.5 ||r||^2
pub fn loss(residual: &[f64]) -> f64 {
    0.5 * residual.iter().map(|r| r * r).sum::<f64>()
}

/// Names the first term whose Jacobian rows hold a NaN or an infinity;
/// without stored rows (an mlp's gradient comes from its reverse sweep),
/// the loss as a whole.
fn check_jacobian_finite(e: &Evaluation, p: usize, iteration: usize) -> Result<(), TrainError> {
    if e.jacobian.len() < e.residual.len() * p {
        return Err(TrainError::NotDifferentiable {
            iteration,
            term: "the loss".into(),
        });
    }
    for (name, range) in &e.blocks {
        let rows = &e.jacobian[range.start * p..range.end * p];
        if rows.iter().any(|v| !v.is_finite()) {
            return Err(TrainError::NotDifferentiable {
                iteration,
                term: name.clone(),
            });
        }
    }
    Ok(())
}

fn check_finite(e: &Evaluation, iteration: usize) -> Result<(), TrainError> {
    for (name, range) in &e.blocks {
        if e.residual[range.clone()].iter().any(|v| !v.is_finite()) {
            return Err(TrainError::Diverged {
                iteration,
                term: name.clone(),
            });
        }
    }
    Ok(())
}

/// Levenberg-Marquardt on the trained parameters of `theta` (in place).
/// Stops after `iters` accepted steps, when the loss decreases by less
/// than `tol` relatively, or when lambda exceeds [`LAMBDA_MAX`] times its
/// start (no step of any length decreases the loss). Rejected steps are
/// retried with a larger lambda and do not count as iterations.
///
/// The damping follows Nielsen (Madsen, Nielsen and Tingleff, "Methods for
/// non-linear least squares problems", 2004, sec. 3.2):
/// - lambda_0 = tau max_j (J^T J)_jj with tau = [`LAMBDA_TAU`]: the start
///   is on the scale of the Jacobian, so a problem whose first full
///   Gauss-Newton step overshoots (u = 0 solves the equations, only the
///   conditions drive u) needs no string of rejected steps to find it;
/// - the gain ratio rho = (F(theta) - F(theta + h)) / (L(0) - L(h)), with
///   F = 0.5 ||r||^2 and the linear model L(h) = 0.5 ||r + J h||^2;
/// - rho > 0: accept, lambda *= max(1/10, 1 - (2 rho - 1)^3), nu = 2
///   (Nielsen has 1/3, see [`LAMBDA_DECREASE`]);
/// - otherwise: reject, lambda *= nu, nu *= 2.
pub fn levenberg_marquardt(
    problem: TrainingProblem<'_>,
    theta: &mut [f64],
    iters: usize,
    tol: f64,
    mut on_iteration: impl FnMut(usize, &Iteration),
) -> Result<Vec<Iteration>, TrainError> {
    let layout = &problem.lowered.layout;
    let p = layout.trained();
    let first = layout.total() - p;
    let mut history = Vec::new();
    let mut current = evaluate(problem, theta)?;
    check_finite(&current, 0)?;
    let mut current_loss = loss(&current.residual);
    check_jacobian_finite(&current, p, 1)?;
    let diagonal = max_column_square(&current.jacobian, p);
    // A zero Jacobian (every column zero) has no scale; then the old
    // absolute start.
    let start = if diagonal > 0.0 {
        LAMBDA_TAU * diagonal
    } else {
        1e-3
    };
    let mut lambda = start;
    let floor = LAMBDA_FLOOR.min(start);
    let mut nu = 2.0;
    let mut iteration = 0;
    while iteration < iters && current_loss > 0.0 {
        check_jacobian_finite(&current, p, iteration + 1)?;
        let n = current.residual.len();
        let scale = lambda.sqrt();
        let augmented = Mat::from_fn(n + p, p, |i, j| {
            if i < n {
                current.jacobian[i * p + j]
            } else if i - n == j {
                scale
            } else {
                0.0
            }
        });
        let mut rhs: Vec<f64> = current.residual.iter().map(|r| -r).collect();
        rhs.resize(n + p, 0.0);
        let step = match lstsq::solve(augmented.as_ref(), &rhs, 1e-14, super::parallelism()) {
            Ok(s) => s.solution,
            Err(_) => {
                return Err(TrainError::Diverged {
                    iteration: iteration + 1,
                    term: "the Jacobian".into(),
                })
            }
        };
        // L(0) - L(h) = 0.5 ||r||^2 - 0.5 ||r + J h||^2.
        let jacobian = MatRef::from_row_major_slice(&current.jacobian, n, p);
        let predicted = current_loss - loss_of_model(jacobian, &step, &current.residual);
        let mut trial = theta.to_vec();
        for (j, d) in step.iter().enumerate() {
            trial[first + j] += d;
        }
        let candidate = evaluate(problem, &trial)?;
        let candidate_loss = loss(&candidate.residual);
        let actual = current_loss - candidate_loss;
        if candidate_loss.is_finite() && actual > 0.0 && predicted > 0.0 {
            iteration += 1;
            let rho = actual / predicted;
            let decrease = actual / current_loss.max(f64::MIN_POSITIVE);
            theta.copy_from_slice(&trial);
            current = candidate;
            current_loss = candidate_loss;
            let factor = LAMBDA_DECREASE.max(1.0 - (2.0 * rho - 1.0).powi(3));
            lambda = (lambda * factor).max(floor);
            nu = 2.0;
            let record = Iteration {
                loss: current_loss,
                lambda,
                row: HistoryRow::of(&current),
            };
            on_iteration(iteration, &record);
            history.push(record);
            if decrease < tol {
                break;
            }
        } else {
            lambda *= nu;
            nu *= 2.0;
            if lambda > LAMBDA_MAX * start {
                break;
            }
        }
    }
    check_finite(&current, history.len())?;
    Ok(history)
}

/// tau of Nielsen's lambda_0 = tau max_j (J^T J)_jj. 1, the largest of
/// the values Madsen, Nielsen and Tingleff suggest (1e-6 ... 1): the start
/// u = 0 is far from the solution, and on burgers.pde and the ODE systems
/// of docs/reproductions.md smaller values still began with rejected steps.
pub const LAMBDA_TAU: f64 = 1.0;
/// The largest decrease of lambda after one accepted step: 1/10 where
/// Nielsen has 1/3, so that the heavily damped start is left in a few
/// steps once the linear model predicts well (rho near 1); measured on the
/// same problems (docs/reproductions.md).
const LAMBDA_DECREASE: f64 = 0.1;
/// The smallest lambda (the undamped steps past it gain nothing).
const LAMBDA_FLOOR: f64 = 1e-15;
/// Levenberg-Marquardt stops when lambda exceeds this multiple of its start.
const LAMBDA_MAX: f64 = 1e16;

/// max_j sum_i J_ij^2 of a row-major n x p matrix: the largest diagonal
/// entry of J^T J.
fn max_column_square(jacobian: &[f64], p: usize) -> f64 {
    if p == 0 {
        return 0.0;
    }
    let mut sums = vec![0.0; p];
    for row in jacobian.chunks_exact(p) {
        for (s, v) in sums.iter_mut().zip(row) {
            *s += v * v;
        }
    }
    sums.into_iter().fold(0.0, f64::max)
}

/// 0.5 ||r + J h||^2, the linear model of the loss at step h.
fn loss_of_model(jacobian: MatRef<'_, f64>, step: &[f64], residual: &[f64]) -> f64 {
    let h = Mat::from_fn(step.len(), 1, |j, _| step[j]);
    let mut jh = Mat::<f64>::zeros(jacobian.nrows(), 1);
    matmul(
        jh.as_mut(),
        Accum::Replace,
        jacobian,
        h.as_ref(),
        1.0,
        super::parallelism(),
    );
    0.5 * residual
        .iter()
        .enumerate()
        .map(|(i, r)| (r + jh[(i, 0)]).powi(2))
        .sum::<f64>()
}

/// Full-batch Adam on the loss sum_t mean_i r_{t,i}^2 (each term averaged
/// over its points), with gradient sum_t (2 / n_t) J_t^T r_t from the
/// network kernels. Standard Adam (beta1 0.9, beta2 0.999, eps 1e-8).
/// `on_epoch(epoch, loss, theta)` sees the parameters the epoch's loss was
/// computed at (those after `epoch - 1` updates).
pub fn adam(
    problem: TrainingProblem<'_>,
    theta: &mut [f64],
    lr: f64,
    epochs: usize,
    on_epoch: impl FnMut(usize, f64, &[f64]),
) -> Result<Vec<HistoryRow>, TrainError> {
    adam_scheduled(
        problem,
        theta,
        lr,
        (Schedule::Constant, epochs),
        epochs,
        on_epoch,
    )
}

/// [`adam`] with the learning rate of epoch e set by
/// `schedule.0.rate(lr, e, schedule.1)` (`schedule.1` is the length of the
/// run the schedule spans, which may exceed `epochs`).
pub fn adam_scheduled(
    problem: TrainingProblem<'_>,
    theta: &mut [f64],
    lr: f64,
    schedule: (Schedule, usize),
    epochs: usize,
    on_epoch: impl FnMut(usize, f64, &[f64]),
) -> Result<Vec<HistoryRow>, TrainError> {
    adam_resampled(
        problem,
        theta,
        lr,
        schedule,
        epochs,
        &mut |_, _| None,
        on_epoch,
    )
}

/// [`adam_scheduled`] on training points that `redraw(epoch, current)`
/// may replace before an epoch (`random(n, resample = k)`).
pub fn adam_resampled(
    problem: TrainingProblem<'_>,
    theta: &mut [f64],
    lr: f64,
    schedule: (Schedule, usize),
    epochs: usize,
    redraw: &mut dyn FnMut(
        usize,
        &crate::sample::TrainingPoints,
    ) -> Option<crate::sample::TrainingPoints>,
    mut on_epoch: impl FnMut(usize, f64, &[f64]),
) -> Result<Vec<HistoryRow>, TrainError> {
    let mut current: Option<crate::sample::TrainingPoints> = None;
    let layout = &problem.lowered.layout;
    let p = layout.trained();
    let first = layout.total() - p;
    let (beta1, beta2, eps) = (0.9, 0.999, 1e-8);
    let mut m = vec![0.0; p];
    let mut v = vec![0.0; p];
    let mut history = Vec::with_capacity(epochs);
    let mut gradient = vec![0.0; p];
    let mut e = Evaluation {
        residual: Vec::new(),
        jacobian: Vec::new(),
        blocks: Vec::new(),
    };
    for epoch in 1..=epochs {
        if let Some(fresh) = redraw(epoch, current.as_ref().unwrap_or(problem.training)) {
            current = Some(fresh);
            e.blocks.clear();
        }
        let problem = TrainingProblem {
            training: current.as_ref().unwrap_or(problem.training),
            ..problem
        };
        let mut terms = vec![0.0; problem.lowered.kernels.len()];
        let total = super::stein::with_round(epoch as u64, || {
            loss_and_gradient(problem, theta, &mut e, &mut gradient, &mut terms)
        })?;
        check_finite(&e, epoch)?;
        terms.truncate(e.blocks.len());
        if gradient.iter().any(|g| !g.is_finite()) {
            check_jacobian_finite(&e, p, epoch)?;
        }
        history.push(HistoryRow { total, terms });
        on_epoch(epoch, total, theta);
        let lr = schedule.0.rate(lr, epoch, schedule.1);
        let (c1, c2) = (1.0 - beta1_pow(beta1, epoch), 1.0 - beta1_pow(beta2, epoch));
        for j in 0..p {
            m[j] = beta1 * m[j] + (1.0 - beta1) * gradient[j];
            v[j] = beta2 * v[j] + (1.0 - beta2) * gradient[j] * gradient[j];
            theta[first + j] -= lr * (m[j] / c1) / ((v[j] / c2).sqrt() + eps);
        }
        if theta.iter().any(|t| !t.is_finite()) {
            return Err(TrainError::Diverged {
                iteration: epoch,
                term: "the parameters".into(),
            });
        }
    }
    Ok(history)
}

fn beta1_pow(beta: f64, epoch: usize) -> f64 {
    beta.powi(epoch.min(i32::MAX as usize) as i32)
}

/// The training loss of networks, L = sum_t mean_i r_{t,i}^2 (each term
/// averaged over its points), and its gradient
/// dL/dtheta = sum_t (2 / n_t) J_t^T r_t, written into `gradient`.
/// The mean squares per term go into `terms` (one per block).
pub fn mean_square_loss(e: &Evaluation, gradient: &mut [f64], terms: &mut [f64]) -> f64 {
    let p = gradient.len();
    let n = e.residual.len();
    // weights c_i = 2 r_i / n_t, then gradient = J^T c (one matrix-vector
    // product in faer, parallel and vectorized).
    let mut c = Mat::<f64>::zeros(n, 1);
    for (_, range) in &e.blocks {
        let count = range.len().max(1) as f64;
        for i in range.clone() {
            c[(i, 0)] = 2.0 * e.residual[i] / count;
        }
    }
    terms.copy_from_slice(&block_mean_squares(&e.residual, &e.blocks));
    if n > 0 && p > 0 {
        let jacobian = MatRef::from_row_major_slice(&e.jacobian, n, p);
        let mut g = Mat::<f64>::zeros(p, 1);
        matmul(
            g.as_mut(),
            Accum::Replace,
            jacobian.transpose(),
            c.as_ref(),
            1.0,
            super::parallelism(),
        );
        for (j, v) in gradient.iter_mut().enumerate() {
            *v = g[(j, 0)];
        }
    } else {
        gradient.iter_mut().for_each(|g| *g = 0.0);
    }
    terms.iter().sum()
}

/// The training loss sum_t mean_i r_{t,i}^2 at `theta` and its gradient
/// (into `gradient`, the trained parameters); the residuals go into `e`,
/// the mean squares per term into the first `e.blocks.len()` entries of
/// `terms`. Deep networks take one reverse sweep (no Jacobian); the
/// one-layer ansatzes J^T c from their network kernels.
pub fn loss_and_gradient(
    problem: TrainingProblem<'_>,
    theta: &[f64],
    e: &mut Evaluation,
    gradient: &mut [f64],
    terms: &mut [f64],
) -> Result<f64, RunError> {
    if let Some(plan) = &problem.lowered.mlp {
        return super::mlp::loss_gradient(problem, plan, theta, e, gradient, terms);
    }
    evaluate_into(problem, theta, e)?;
    let blocks = e.blocks.len();
    Ok(mean_square_loss(e, gradient, &mut terms[..blocks]))
}

/// The mean square residual of each term (block) of `e`.
pub fn term_losses(e: &Evaluation) -> Vec<f64> {
    block_mean_squares(&e.residual, &e.blocks)
}

/// L-BFGS with a strong Wolfe line search (see [`super::lbfgs`]) on the
/// same loss as Adam. A trial point where the network is not finite is a
/// step that is too long; only a non-finite starting point is divergence.
pub fn lbfgs(
    problem: TrainingProblem<'_>,
    theta: &mut [f64],
    iters: usize,
    memory: usize,
    mut on_iteration: impl FnMut(usize, f64),
) -> Result<(Vec<HistoryRow>, LbfgsStop), TrainError> {
    let layout = &problem.lowered.layout;
    let first = layout.total() - layout.trained();
    let mut start = residuals(problem, theta)?;
    check_finite(&start, 0)?;
    let mut full = theta.to_vec();
    let settings = LbfgsSettings::new(iters, memory);
    // The line search accepts the point it evaluated last, so the terms of
    // the latest evaluation are those of the accepted point.
    let latest = RefCell::new(vec![0.0; start.blocks.len()]);
    let mut history = Vec::with_capacity(iters);
    let outcome = lbfgs::minimize(
        &mut theta[first..],
        &settings,
        |trained: &[f64], gradient: &mut [f64]| -> Result<f64, RunError> {
            full[first..].copy_from_slice(trained);
            let loss = loss_and_gradient(
                problem,
                &full,
                &mut start,
                gradient,
                &mut latest.borrow_mut(),
            )?;
            Ok(if loss.is_finite() {
                loss
            } else {
                f64::INFINITY
            })
        },
        |iteration, total| {
            history.push(HistoryRow {
                total,
                terms: latest.borrow().clone(),
            });
            on_iteration(iteration, total);
        },
    );
    match outcome {
        Ok(o) => Ok((history, o.stop)),
        Err(LbfgsError::Objective(e)) => Err(TrainError::Run(e)),
        Err(LbfgsError::NotFinite) => Err(TrainError::Diverged {
            iteration: 0,
            term: "the gradient".into(),
        }),
    }
}

/// The end of an augmented-Lagrangian run on the network kernels.
#[derive(Clone, Debug)]
pub struct AlmRun {
    pub history: Vec<HistoryRow>,
    /// Per condition (its name): lambda_i at each of its points, in the
    /// order of its point set.
    pub multipliers: Vec<(String, Vec<f64>)>,
    /// The final penalty parameter.
    pub mu: f64,
}

/// The network kernels as a constrained objective: J = sum over the
/// equations of their mean square residual, one constraint per condition
/// point (its weighted residual).
struct NetworkObjective<'a> {
    problem: TrainingProblem<'a>,
    full: Vec<f64>,
    first: usize,
    e: Evaluation,
    /// The first row of the conditions (they run to the end).
    condition_rows: usize,
    coefficients: Mat<f64>,
    history: Vec<HistoryRow>,
}

impl super::alm::ConstrainedObjective for NetworkObjective<'_> {
    type Error = RunError;

    fn evaluate(&mut self, x: &[f64], constraints: &mut [f64]) -> Result<f64, RunError> {
        self.full[self.first..].copy_from_slice(x);
        // One evaluation per epoch: `diff stein` draws the epoch's samples.
        let round = self.history.len() as u64 + 1;
        super::stein::with_round(round, || {
            evaluate_into(self.problem, &self.full, &mut self.e)
        })?;
        constraints.copy_from_slice(&self.e.residual[self.condition_rows..]);
        let row = HistoryRow::of(&self.e);
        let j = row.terms[..self.problem.equations].iter().sum();
        self.history.push(row);
        Ok(j)
    }

    fn gradient(&mut self, coefficients: &[f64], gradient: &mut [f64]) {
        let n = self.e.residual.len();
        for (_, range) in &self.e.blocks[..self.problem.equations] {
            let count = range.len().max(1) as f64;
            for i in range.clone() {
                self.coefficients[(i, 0)] = 2.0 * self.e.residual[i] / count;
            }
        }
        for (k, a) in coefficients.iter().enumerate() {
            self.coefficients[(self.condition_rows + k, 0)] = *a;
        }
        let p = gradient.len();
        if n == 0 || p == 0 {
            gradient.fill(0.0);
            return;
        }
        let jacobian = MatRef::from_row_major_slice(&self.e.jacobian, n, p);
        let mut g = Mat::<f64>::zeros(p, 1);
        matmul(
            g.as_mut(),
            Accum::Replace,
            jacobian.transpose(),
            self.coefficients.as_ref(),
            1.0,
            super::parallelism(),
        );
        for (j, v) in gradient.iter_mut().enumerate() {
            *v = g[(j, 0)];
        }
    }
}

/// The augmented Lagrangian method (see [`super::alm`]) on the network
/// kernels: J = sum over the equations of mean_i r_i^2, every condition
/// point an equality constraint with scale 1/n of its condition.
/// `on_epoch(epoch, lagrangian)`.
pub fn alm(
    problem: TrainingProblem<'_>,
    theta: &mut [f64],
    settings: &super::alm::AlmSettings,
    mut on_epoch: impl FnMut(usize, f64),
) -> Result<AlmRun, TrainError> {
    use super::alm::{minimize, AlmError};
    let layout = &problem.lowered.layout;
    let first = layout.total() - layout.trained();
    let start = evaluate(problem, theta)?;
    check_finite(&start, 0)?;
    let condition_rows = start
        .blocks
        .get(problem.equations)
        .map_or(start.residual.len(), |(_, r)| r.start);
    let mut scales = Vec::new();
    for (_, range) in &start.blocks[problem.equations..] {
        scales.extend(std::iter::repeat_n(
            1.0 / range.len().max(1) as f64,
            range.len(),
        ));
    }
    let blocks = start.blocks.clone();
    let rows = start.residual.len();
    let mut objective = NetworkObjective {
        problem,
        full: theta.to_vec(),
        first,
        e: start,
        condition_rows,
        coefficients: Mat::zeros(rows, 1),
        history: Vec::with_capacity(settings.epochs),
    };
    let outcome = minimize(
        &mut theta[first..],
        &scales,
        settings,
        &mut objective,
        |epoch| on_epoch(epoch.epoch, epoch.lagrangian),
    );
    let term_of_row = |row: usize| {
        blocks
            .iter()
            .find(|(_, r)| r.contains(&row))
            .map_or_else(|| "the loss".to_string(), |(name, _)| name.clone())
    };
    match outcome {
        Ok(outcome) => {
            let multipliers = blocks[problem.equations..]
                .iter()
                .map(|(name, range)| {
                    let local = range.start - condition_rows..range.end - condition_rows;
                    (name.clone(), outcome.multipliers[local].to_vec())
                })
                .collect();
            Ok(AlmRun {
                history: objective.history,
                multipliers,
                mu: outcome.mu,
            })
        }
        Err(AlmError::Objective(e)) => Err(TrainError::Run(e)),
        Err(AlmError::NotFinite { epoch, constraint }) => Err(TrainError::Diverged {
            iteration: epoch,
            term: match constraint {
                Some(i) => term_of_row(condition_rows + i),
                None => match check_finite(&objective.e, epoch) {
                    Err(TrainError::Diverged { term, .. }) => term,
                    _ => "the parameters".into(),
                },
            },
        }),
    }
}
