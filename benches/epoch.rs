//! Cost of one full-batch Adam epoch of `examples/poisson2d_shallow.pde`
//! (two-layer tanh network, width 100, 1024 interior + 128 boundary
//! points), the problem of the JAX peer in `benches/peers`, split into its
//! parts: the network kernels (residuals and Jacobian), the loss and its
//! gradient from them, and whole epochs of `train::network::adam`. Each
//! part is timed many times and reported as minimum and median, on one
//! thread and on all cores; the minimum is the figure to compare between
//! builds on a busy machine. Run with `cargo bench --bench epoch`.

mod common;

use common::{cores, time, Prepared};
use pdec::train::network::{adam, evaluate_into, mean_square_loss, Evaluation};

fn main() {
    let mut prepared = Prepared::example("poisson2d_shallow.pde");
    let theta = prepared.theta.clone();
    for threads in [1, cores()] {
        prepared.compiled.set_threads(threads);
        let problem = prepared.problem();
        let mut e = Evaluation {
            residual: Vec::new(),
            jacobian: Vec::new(),
            blocks: Vec::new(),
        };
        evaluate_into(problem, &theta, &mut e).expect("runs");
        let mut gradient = vec![0.0; prepared.lowered.layout.trained()];
        let mut terms = vec![0.0; e.blocks.len()];
        let kernels = time(300, || {
            evaluate_into(problem, &theta, &mut e).expect("runs")
        });
        let loss = time(300, || {
            mean_square_loss(&e, &mut gradient, &mut terms);
        });
        let epochs = 200;
        let whole = time(5, || {
            let mut t = theta.clone();
            adam(problem, &mut t, 1e-3, epochs, |_, _, _| {}).expect("trains");
        });
        println!(
            "{threads} thread(s), ms (min / median): kernels {:.3} / {:.3}, \
             loss and gradient {:.3} / {:.3}, adam epoch {:.3} / {:.3}",
            kernels.0 * 1e3,
            kernels.1 * 1e3,
            loss.0 * 1e3,
            loss.1 * 1e3,
            whole.0 * 1e3 / epochs as f64,
            whole.1 * 1e3 / epochs as f64
        );
    }
}
