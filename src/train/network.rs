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
//! (then lambda /= 3) and otherwise retries with lambda *= 4.

use std::cell::RefCell;
use std::ops::Range;

use faer::{Mat, MatRef};

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
        out.jacobian = vec![0.0; rows * p];
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
/// Stops after `iters` accepted or rejected steps, or when the loss
/// decreases by less than `tol` relatively.
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
    let mut lambda: f64 = 1e-3;
    for iteration in 1..=iters {
        check_jacobian_finite(&current, p, iteration)?;
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
        let step = match lstsq::solve(
            augmented.as_ref(),
            &rhs,
            1e-14,
            faer::get_global_parallelism(),
        ) {
            Ok(s) => s.solution,
            Err(_) => {
                return Err(TrainError::Diverged {
                    iteration,
                    term: "the Jacobian".into(),
                })
            }
        };
        let mut trial = theta.to_vec();
        for (j, d) in step.iter().enumerate() {
            trial[first + j] += d;
        }
        let candidate = evaluate(problem, &trial)?;
        let candidate_loss = loss(&candidate.residual);
        if candidate_loss.is_finite() && candidate_loss < current_loss {
            let decrease = (current_loss - candidate_loss) / current_loss.max(f64::MIN_POSITIVE);
            theta.copy_from_slice(&trial);
            current = candidate;
            current_loss = candidate_loss;
            lambda = (lambda / 3.0).max(1e-15);
            let record = Iteration {
                loss: current_loss,
                lambda,
                row: HistoryRow::of(&current),
            };
            on_iteration(iteration, &record);
            history.push(record);
            if decrease < tol || current_loss == 0.0 {
                break;
            }
        } else {
            lambda *= 4.0;
            let record = Iteration {
                loss: current_loss,
                lambda,
                row: HistoryRow::of(&current),
            };
            on_iteration(iteration, &record);
            history.push(record);
            if lambda > 1e16 {
                break;
            }
        }
    }
    check_finite(&current, history.len())?;
    Ok(history)
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
        let total = loss_and_gradient(problem, theta, &mut e, &mut gradient, &mut terms)?;
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
        let g = jacobian.transpose() * &c;
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
    let mut start = evaluate(problem, theta)?;
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
        evaluate_into(self.problem, &self.full, &mut self.e)?;
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
        let g = jacobian.transpose() * &self.coefficients;
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
