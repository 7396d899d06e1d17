//! Cost of one full-batch Adam epoch of `examples/poisson2d_mlp.pde` (mlp
//! width 32, depth 3, tanh; 1156 interior + 136 boundary points), the
//! problem of the JAX peer `benches/peers/mlp_adam.py`, split into its
//! parts: the forward pass of the Laplacian jets (the dense products and
//! the layer kernels separately), the reverse sweep, the loss gradient and
//! whole epochs of Adam. Also counts the subnormal numbers in the stored
//! jets (a subnormal operand makes an arithmetic instruction take some
//! hundred cycles). `MLP_WIDTH` and `MLP_DEPTH` override the network's
//! size. Run with `cargo bench --bench mlp_epoch`.

mod common;

use common::{cores, time, Prepared};
use pdec::ir::{ArrayArg, Executor};
use pdec::train::mlp::{forward, loss_gradient, reverse, Sink};
use pdec::train::network::{adam, Evaluation};

fn subnormals(v: &[f64]) -> usize {
    v.iter().filter(|x| x.is_subnormal()).count()
}

fn main() {
    let path = format!("{}/examples/poisson2d_mlp.pde", env!("CARGO_MANIFEST_DIR"));
    let mut source = std::fs::read_to_string(&path).expect("reads the example");
    let width = std::env::var("MLP_WIDTH").unwrap_or_else(|_| "32".into());
    let depth = std::env::var("MLP_DEPTH").unwrap_or_else(|_| "3".into());
    source = source.replace(
        "mlp(width = 32, depth = 3,",
        &format!("mlp(width = {width}, depth = {depth},"),
    );
    let mut prepared = Prepared::new(&source);
    let theta = prepared.theta.clone();
    let plan = prepared.lowered.mlp.clone().expect("an mlp");
    println!("mlp width {width} depth {depth}");
    for threads in [1, cores()] {
        prepared.compiled.set_threads(threads);
        let problem = prepared.problem();
        let layout = &prepared.lowered.layout;
        let r = &plan.residuals[0];
        let rule = &plan.rules[r.rule];
        let points = problem.points(r.residual);
        let pass = forward(
            problem.executor,
            &plan,
            layout,
            rule,
            Some(r.kernel),
            &theta,
            points,
        )
        .expect("runs");
        if threads == 1 {
            let pre: usize = pass.a.iter().map(|a| subnormals(a)).sum();
            let post: usize = pass.z.iter().map(|z| subnormals(z)).sum();
            let total: usize = pass.a.iter().map(Vec::len).sum();
            println!(
                "subnormals in the stored jets: {pre} of {total} pre-activations, {post} post"
            );
        }
        let fwd = time(200, || {
            forward(
                problem.executor,
                &plan,
                layout,
                rule,
                Some(r.kernel),
                &theta,
                points,
            )
            .expect("runs");
        });
        for (l, a) in pass.a.iter().enumerate() {
            let mut post = vec![0.0; a.len()];
            let t = time(50, || {
                problem
                    .executor
                    .run(
                        rule.forward,
                        &mut [ArrayArg::In(a), ArrayArg::Out(&mut post)],
                        plan.width,
                        0..points.len(),
                    )
                    .expect("runs");
            });
            let special = a.iter().filter(|x| !x.is_normal() && **x != 0.0).count();
            let zeros = a.iter().filter(|x| **x == 0.0).count();
            println!(
                "layer {l} kernel: {:.3} / {:.3} ms; {zeros} zeros, {special} non-normal",
                t.0 * 1e3,
                t.1 * 1e3
            );
        }
        // One layer kernel alone, on the stored pre-activations of layer 2.
        let mut post = vec![0.0; pass.a[1].len()];
        let kernel = time(500, || {
            problem
                .executor
                .run(
                    rule.forward,
                    &mut [ArrayArg::In(&pass.a[1]), ArrayArg::Out(&mut post)],
                    plan.width,
                    0..points.len(),
                )
                .expect("runs");
        });
        let mut abar = vec![0.0; pass.a[1].len()];
        let adjoint = time(500, || {
            problem
                .executor
                .run(
                    rule.adjoint,
                    &mut [
                        ArrayArg::In(&pass.a[1]),
                        ArrayArg::In(&pass.z[2]),
                        ArrayArg::In(&pass.z[2]),
                        ArrayArg::Out(&mut abar),
                    ],
                    plan.width,
                    0..points.len(),
                )
                .expect("runs");
        });
        // The steps of `loss_gradient`, each timed once.
        for (t, r) in plan.residuals.iter().enumerate() {
            let rule = &plan.rules[r.rule];
            let points = problem.points(r.residual);
            let start = std::time::Instant::now();
            let pass = forward(
                problem.executor,
                &plan,
                layout,
                rule,
                Some(r.kernel),
                &theta,
                points,
            )
            .expect("runs");
            let f = start.elapsed().as_secs_f64();
            let count = points.len() as f64;
            let scale: Vec<f64> = pass.residual.iter().map(|r| 2.0 * r / count).collect();
            let mut gradient = vec![0.0; layout.total()];
            let start = std::time::Instant::now();
            reverse(
                problem.executor,
                &plan,
                layout,
                rule,
                &theta,
                &pass,
                &scale,
                Sink::Gradient(&mut gradient),
            )
            .expect("runs");
            println!(
                "term {t}: forward {:.3} ms, reverse {:.3} ms",
                f * 1e3,
                start.elapsed().as_secs_f64() * 1e3
            );
        }
        let scale = vec![1e-3; points.len()];
        let mut gradient = vec![0.0; layout.total()];
        let rev = time(200, || {
            reverse(
                problem.executor,
                &plan,
                layout,
                rule,
                &theta,
                &pass,
                &scale,
                Sink::Gradient(&mut gradient),
            )
            .expect("runs");
        });
        let mut e = Evaluation {
            residual: Vec::new(),
            jacobian: Vec::new(),
            blocks: Vec::new(),
        };
        let mut terms = vec![0.0; plan.residuals.len()];
        let grad = time(30, || {
            loss_gradient(problem, &plan, &theta, &mut e, &mut gradient, &mut terms).expect("runs");
        });
        let epochs = 30;
        let whole = time(3, || {
            let mut t = theta.clone();
            adam(problem, &mut t, 1e-3, epochs, |_, _, _| {}).expect("trains");
        });
        println!(
            "{threads} thread(s), ms (min / median): forward (Laplacian jets) {:.3} / {:.3}, \
             one layer kernel {:.3} / {:.3}, its adjoint {:.3} / {:.3}, reverse {:.3} / {:.3}, \
             loss and gradient {:.3} / {:.3}, adam epoch {:.3} / {:.3}",
            fwd.0 * 1e3,
            fwd.1 * 1e3,
            kernel.0 * 1e3,
            kernel.1 * 1e3,
            adjoint.0 * 1e3,
            adjoint.1 * 1e3,
            rev.0 * 1e3,
            rev.1 * 1e3,
            grad.0 * 1e3,
            grad.1 * 1e3,
            whole.0 * 1e3 / epochs as f64,
            whole.1 * 1e3 / epochs as f64
        );
    }
}
