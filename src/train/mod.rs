//! Stage 7, training: initial parameters, assembly of the residual systems
//! from the generated kernels, and the solvers (least squares,
//! Levenberg-Marquardt, Adam, L-BFGS).

pub mod alm;
pub mod assemble;
pub mod fit;
pub mod init;
pub mod lbfgs;
pub mod lstsq;
pub mod mlp;
pub mod network;
pub mod stein;

pub use fit::{fit, Fit, FitError, TermLoss};
pub use network::HistoryRow;

use std::cell::Cell;
use std::ops::Range;

use faer::Par;

use crate::ir::Executor;
use crate::lower::Lowered;
use crate::sample::TrainingPoints;

/// What every trainer works on: the generated kernels of a problem, the
/// executor that runs them (kernel i of `executor` is `lowered.kernels[i]`)
/// and the training points. Residuals `0..equations` are the equations (on
/// the interior points), the others the conditions, in order.
#[derive(Clone, Copy)]
pub struct TrainingProblem<'a> {
    pub executor: &'a dyn Executor,
    pub lowered: &'a Lowered,
    pub training: &'a TrainingPoints,
    pub equations: usize,
}

impl TrainingProblem<'_> {
    /// The point set residual number `residual` is trained on.
    pub fn points(&self, residual: usize) -> &crate::sample::PointSet {
        if residual < self.equations {
            &self.training.interior
        } else {
            &self.training.conditions[residual - self.equations]
        }
    }
}

/// The mean square of `residual` over each block's rows, sum_i r_i^2 / n:
/// the loss of each term (equation or condition) as every trainer and
/// report counts it.
pub fn block_mean_squares(residual: &[f64], blocks: &[(String, Range<usize>)]) -> Vec<f64> {
    blocks
        .iter()
        .map(|(_, range)| {
            residual[range.clone()].iter().map(|r| r * r).sum::<f64>() / range.len().max(1) as f64
        })
        .collect()
}

thread_local! {
    /// The parallelism of this thread's dense linear algebra, when set by
    /// [`with_parallelism`].
    static PARALLELISM: Cell<Option<Par>> = const { Cell::new(None) };
}

/// The parallelism every faer call of pdec passes explicitly: the one set
/// for the current thread by [`with_parallelism`], else faer's global
/// default (all cores). Nothing in pdec changes faer's global setting, so
/// runs side by side (`study --jobs`) do not affect other threads.
pub fn parallelism() -> Par {
    PARALLELISM
        .with(Cell::get)
        .unwrap_or_else(faer::get_global_parallelism)
}

/// Runs `f` with [`parallelism`] = `par` on this thread (restored after).
pub fn with_parallelism<R>(par: Par, f: impl FnOnce() -> R) -> R {
    struct Restore(Option<Par>);
    impl Drop for Restore {
        fn drop(&mut self) {
            PARALLELISM.with(|p| p.set(self.0));
        }
    }
    let _restore = Restore(PARALLELISM.with(|p| p.replace(Some(par))));
    f()
}
