//! Cost of one full-batch Adam epoch of `examples/poisson2d_shallow.pde`
//! (two-layer tanh network, width 100, 1024 interior + 128 boundary
//! points), the problem of the JAX peer in `benches/peers`, split into its
//! parts: the network kernels (residuals and Jacobian), the loss and its
//! gradient from them, and whole epochs of `train::network::adam`. Each
//! part is timed many times and reported as minimum and median, on one
//! thread and on all cores; the minimum is the figure to compare between
//! builds on a busy machine. Run with `cargo bench --bench epoch`.

use std::time::Instant;

use pdec::train::network::{adam, evaluate_into, mean_square_loss, Evaluation};

/// (minimum, median) of `runs` timings of `f`, in milliseconds.
fn time(runs: usize, mut f: impl FnMut()) -> (f64, f64) {
    let mut times: Vec<f64> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    times.sort_by(f64::total_cmp);
    (times[0], times[runs / 2])
}

fn main() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/poisson2d_shallow.pde"
    );
    let source = std::fs::read_to_string(path).expect("reads the example");
    let (file, _) = pdec::syntax::parse(&source);
    let (spec, diagnostics) = pdec::check::check(&file.expect("parses"), &Default::default());
    let spec = spec.unwrap_or_else(|| panic!("{diagnostics:?}"));
    let lowered = pdec::lower::lower(&spec).expect("lowers");
    let kernels: Vec<_> = lowered.kernels.iter().map(|k| k.kernel.clone()).collect();
    let mut compiled =
        pdec::jit::Compiled::new(&kernels, lowered.layout.neurons).expect("compiles");
    let training = pdec::sample::training_points(&spec);
    let theta = pdec::train::init::initial_parameters(&spec, &lowered.layout);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    for threads in [1, cores] {
        compiled.set_threads(threads);
        let problem = pdec::train::TrainingProblem {
            executor: &compiled,
            lowered: &lowered,
            training: &training,
            equations: spec.equations.len(),
        };
        let mut e = Evaluation {
            residual: Vec::new(),
            jacobian: Vec::new(),
            blocks: Vec::new(),
        };
        evaluate_into(problem, &theta, &mut e).expect("runs");
        let mut gradient = vec![0.0; lowered.layout.trained()];
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
            kernels.0,
            kernels.1,
            loss.0,
            loss.1,
            whole.0 / epochs as f64,
            whole.1 / epochs as f64
        );
    }
}
