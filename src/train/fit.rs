//! One training run: initial parameters, the trainer the spec asks for, and
//! the per-term residual losses at the end.

use std::ops::Range;
use std::time::Instant;

use super::alm::AlmSettings;
use super::init::initial_parameters;
use super::network::{self, HistoryRow, TrainError};
use super::{assemble, block_mean_squares, lstsq, TrainingProblem};
use crate::check::{Spec, Trainer};
use crate::ir::Executor;
use crate::lower::Lowered;
use crate::sample::TrainingPoints;

/// The mean squared residual of one equation or condition.
#[derive(Clone, Debug)]
pub struct TermLoss {
    pub name: String,
    pub points: usize,
    /// mean_i r_i^2 over the term's points (r includes the term's weight).
    pub mean_square: f64,
}

/// The result of training.
#[derive(Clone, Debug)]
pub struct Fit {
    pub theta: Vec<f64>,
    pub terms: Vec<TermLoss>,
    /// Losses after each iteration or epoch (empty for lstsq).
    pub history: Vec<HistoryRow>,
    /// lstsq: numerical rank and condition estimate of the matrix.
    pub rank: Option<(usize, usize, f64)>,
    pub assembly_seconds: f64,
    pub train_seconds: f64,
    /// alm: per condition, the multiplier lambda_i of each of its points
    /// (the Lagrange multiplier of the point's constraint is lambda_i / n),
    /// and the final penalty parameter mu.
    pub multipliers: Vec<(String, Vec<f64>)>,
    pub mu: Option<f64>,
}

/// Why training failed (a runtime failure: exit code 1).
#[derive(Clone, Debug)]
pub enum FitError {
    Train(TrainError),
    Lstsq(lstsq::LstsqError),
}

impl std::fmt::Display for FitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FitError::Train(e) => write!(f, "{e}"),
            FitError::Lstsq(e) => write!(f, "{e}"),
        }
    }
}

impl From<TrainError> for FitError {
    fn from(e: TrainError) -> Self {
        FitError::Train(e)
    }
}

impl From<crate::ir::RunError> for FitError {
    fn from(e: crate::ir::RunError) -> Self {
        FitError::Train(TrainError::Run(e))
    }
}

/// The loss of every term of a stacked residual.
fn term_losses(residual: &[f64], blocks: &[(String, Range<usize>)]) -> Vec<TermLoss> {
    blocks
        .iter()
        .zip(block_mean_squares(residual, blocks))
        .map(|((name, range), mean_square)| TermLoss {
            name: name.clone(),
            points: range.len(),
            mean_square,
        })
        .collect()
}

/// Trains `spec`'s ansatz with its trainer. `progress` is called with
/// (iteration, loss) for iterative trainers.
pub fn fit(
    spec: &Spec,
    lowered: &Lowered,
    executor: &dyn Executor,
    training: &TrainingPoints,
    mut progress: impl FnMut(usize, f64),
) -> Result<Fit, FitError> {
    let mut theta = initial_parameters(spec, &lowered.layout);
    let problem = TrainingProblem {
        executor,
        lowered,
        training,
        equations: spec.equations.len(),
    };
    let first = lowered.layout.total() - lowered.layout.trained();
    match spec.train {
        Trainer::Lstsq { cutoff } => {
            let start = Instant::now();
            let system = assemble::assemble(problem, &theta)?;
            let assembly_seconds = start.elapsed().as_secs_f64();
            let start = Instant::now();
            let (solution, _) = lstsq::solve_selecting_columns(
                system.matrix(),
                &system.rhs,
                cutoff,
                super::parallelism(),
            )
            .map_err(FitError::Lstsq)?;
            let train_seconds = start.elapsed().as_secs_f64();
            theta[first..].copy_from_slice(&solution.solution);
            let columns = system.ncols;
            let residual = lstsq::residual(system.matrix(), &solution.solution, &system.rhs);
            let terms = term_losses(&residual, &system.blocks);
            Ok(Fit {
                theta,
                terms,
                history: Vec::new(),
                rank: Some((solution.rank, columns, solution.condition_estimate)),
                assembly_seconds,
                train_seconds,
                multipliers: Vec::new(),
                mu: None,
            })
        }
        Trainer::GaussNewton { iters, tol } => {
            let start = Instant::now();
            let history =
                network::levenberg_marquardt(problem, &mut theta, iters, tol, |i, it| {
                    progress(i, it.row.total)
                })?;
            finish(
                problem,
                theta,
                start,
                history.into_iter().map(|h| h.row).collect(),
            )
        }
        Trainer::Adam {
            lr,
            epochs,
            schedule,
        } => {
            let start = Instant::now();
            let history = network::adam_resampled(
                problem,
                &mut theta,
                lr,
                (schedule, epochs),
                epochs,
                &mut |epoch, current| crate::sample::resampled(spec, current, epoch),
                |epoch, loss, _| progress(epoch, loss),
            )?;
            finish(problem, theta, start, history)
        }
        Trainer::Alm {
            lr,
            epochs,
            mu,
            mu_max,
            every,
            growth,
            dual,
        } => {
            let start = Instant::now();
            let settings = AlmSettings {
                lr,
                epochs,
                mu,
                mu_max,
                every,
                growth,
                adaptive: dual == crate::check::Dual::Adaptive,
            };
            let run = network::alm(problem, &mut theta, &settings, &mut progress)?;
            let mut fit = finish(problem, theta, start, run.history)?;
            fit.multipliers = run.multipliers;
            fit.mu = Some(run.mu);
            Ok(fit)
        }
        Trainer::Lbfgs { iters, memory } => {
            let start = Instant::now();
            let (history, _stop) =
                network::lbfgs(problem, &mut theta, iters, memory, &mut progress)?;
            finish(problem, theta, start, history)
        }
    }
}

fn finish(
    problem: TrainingProblem<'_>,
    theta: Vec<f64>,
    start: Instant,
    history: Vec<HistoryRow>,
) -> Result<Fit, FitError> {
    let train_seconds = start.elapsed().as_secs_f64();
    let e = network::residuals(problem, &theta)?;
    let terms = term_losses(&e.residual, &e.blocks);
    Ok(Fit {
        theta,
        terms,
        history,
        rank: None,
        assembly_seconds: 0.0,
        train_seconds,
        multipliers: Vec::new(),
        mu: None,
    })
}
