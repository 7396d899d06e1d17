//! The training progress bar: iteration, loss and ETA on stderr while an
//! iterative trainer runs; nothing for `lstsq` or when hidden.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::check::Trainer;

/// A progress bar over a trainer's iteration budget (hidden if `quiet`).
pub struct TrainingBar {
    bar: Option<ProgressBar>,
    /// Levenberg-Marquardt has few, slow iterations: each gets a line.
    line_per_iteration: bool,
}

impl TrainingBar {
    /// A bar for `trainer`; hidden when `quiet` or when it does not iterate.
    pub fn new(trainer: &Trainer, quiet: bool) -> TrainingBar {
        let (budget, line_per_iteration) = match *trainer {
            Trainer::Lstsq { .. } => (0, false),
            Trainer::GaussNewton { iters, .. } => (iters, true),
            Trainer::Adam { epochs, .. } | Trainer::Alm { epochs, .. } => (epochs, false),
            Trainer::Lbfgs { iters, .. } => (iters, false),
        };
        let bar = (!quiet && budget > 0).then(|| {
            let bar = ProgressBar::with_draw_target(
                Some(budget as u64),
                ProgressDrawTarget::stderr_with_hz(10),
            );
            let style = ProgressStyle::with_template(
                "{prefix} {bar:30} {pos}/{len}  loss {msg}  elapsed {elapsed}  eta {eta}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
            bar.set_style(style);
            bar.set_prefix(trainer.name());
            bar
        });
        TrainingBar {
            bar,
            line_per_iteration,
        }
    }

    /// Records iteration `i` (1-based) with its loss.
    pub fn update(&self, i: usize, loss: f64) {
        if let Some(bar) = &self.bar {
            bar.set_position(i as u64);
            bar.set_message(format!("{loss:.4e}"));
            if self.line_per_iteration {
                bar.println(format!("iteration {i:>4}  loss {loss:.6e}"));
            }
        }
    }

    /// Removes the bar from the terminal.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
