//! Deep networks (`ansatz mlp`): the generated jets and reverse sweeps
//! against independent computations (the shallow network's kernels, the
//! symbolic derivatives of the unrolled network, central differences of
//! the loss, the interpreter).

use pdec::check::{self, Overrides, Spec};
use pdec::ir::{ArrayArg, Executor, Interpreted};
use pdec::jit::Compiled;
use pdec::lower::{self, InputMap, JetComponent, Lowered};
use pdec::math::{Activation, MathFn};
use pdec::random::SeededRng;
use pdec::sample::TrainingPoints;
use pdec::symbolic::problem::diff_multi_index;
use pdec::symbolic::Graph;
use pdec::train::network::{self, Evaluation};
use pdec::train::TrainingProblem;

fn spec(source: &str, overrides: &Overrides) -> Spec {
    let (file, diagnostics) = pdec::syntax::parse(source);
    assert!(diagnostics.is_empty(), "{diagnostics:?}");
    let (spec, diagnostics) = check::check(&file.expect("parses"), overrides);
    assert!(diagnostics.iter().all(|d| !d.is_error()), "{diagnostics:?}");
    spec.expect("checks")
}

fn mlp(width: usize, depth: usize) -> Overrides {
    Overrides {
        ansatz: Some("mlp".into()),
        width: Some(width as f64),
        depth: Some(depth as f64),
        ..Overrides::default()
    }
}

/// A nonlinear 2-D problem with a Laplacian, a first derivative, a Robin
/// condition and a Dirichlet condition.
const NONLINEAR: &str = "
domain   x in [0, 1], y in [0, 2]
unknown  u
equation -lap(u) + u*u_x + sin(x)*u^2 = exp(x)*y
bc       u_x + 2*u = x*y on x = 0
bc       u = 0 on y = 0, y = 2
sample   interior = grid(5), boundary = grid(4)
train    lbfgs
";

/// Mixed and third derivatives, two unknowns (full jets, no collapse).
const MIXED: &str = "
domain   x in [0, 1], y in [0, 1]
unknown  u, v
equation u_xxy + u_xy*v_yy = x
equation v - u_x*v_y = y
bc       u = 0 on boundary
bc       v = 0 on boundary
sample   interior = grid(4), boundary = grid(3)
train    lbfgs
";

fn random_theta(n: usize, seed: u64) -> Vec<f64> {
    let mut rng = SeededRng::new(seed, 5);
    (0..n).map(|_| rng.uniform_in(-0.8, 0.8)).collect()
}

struct Setup {
    spec: Spec,
    lowered: Lowered,
    compiled: Compiled,
    training: TrainingPoints,
}

impl Setup {
    fn new(source: &str, overrides: &Overrides) -> Setup {
        let spec = spec(source, overrides);
        let lowered = lower::lower(&spec).expect("lowers");
        let compiled = Compiled::of_lowered(&lowered).expect("compiles");
        let training = pdec::sample::training_points(&spec);
        Setup {
            spec,
            lowered,
            compiled,
            training,
        }
    }

    fn problem<'a>(&'a self, executor: &'a dyn Executor) -> TrainingProblem<'a> {
        TrainingProblem {
            executor,
            lowered: &self.lowered,
            training: &self.training,
            equations: self.spec.equations.len(),
        }
    }

    /// (loss, gradient) from the reverse sweep.
    fn loss_gradient(&self, executor: &dyn Executor, theta: &[f64]) -> (f64, Vec<f64>) {
        let mut e = empty();
        let mut gradient = vec![0.0; self.lowered.layout.trained()];
        let mut terms = vec![0.0; 8];
        let loss = network::loss_and_gradient(
            self.problem(executor),
            theta,
            &mut e,
            &mut gradient,
            &mut terms,
        )
        .expect("runs");
        (loss, gradient)
    }
}

fn empty() -> Evaluation {
    Evaluation {
        residual: Vec::new(),
        jacobian: Vec::new(),
        blocks: Vec::new(),
    }
}

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * a.abs().max(b.abs()).max(1.0)
}

/// mlp with depth 1 is the shallow network plus an output bias: with the
/// same weights (output bias 0) the residuals, Jacobians and loss
/// gradients agree to 1e-12.
#[test]
fn depth_one_equals_shallow_on_the_same_weights() {
    let shallow = Overrides {
        ansatz: Some("shallow".into()),
        width: Some(6.0),
        ..Overrides::default()
    };
    let s = Setup::new(NONLINEAR, &shallow);
    let m = Setup::new(NONLINEAR, &mlp(6, 1));
    let ps = s.lowered.layout.total();
    let pm = m.lowered.layout.total();
    assert_eq!(pm, ps + 1, "one output bias more");
    let theta_s = random_theta(ps, 1);
    let mut theta_m = theta_s.clone();
    theta_m.push(0.0);
    let es = network::evaluate(s.problem(&s.compiled), &theta_s).unwrap();
    let em = network::evaluate(m.problem(&m.compiled), &theta_m).unwrap();
    assert_eq!(es.blocks, em.blocks);
    for (a, b) in es.residual.iter().zip(&em.residual) {
        assert!(close(*a, *b, 1e-12), "residual {a} vs {b}");
    }
    let rows = es.residual.len();
    for i in 0..rows {
        for c in 0..ps {
            let (a, b) = (es.jacobian[i * ps + c], em.jacobian[i * pm + c]);
            assert!(close(a, b, 1e-12), "jacobian[{i}, {c}]: {a} vs {b}");
        }
    }
    let (ls, gs) = s.loss_gradient(&s.compiled, &theta_s);
    let (lm, gm) = m.loss_gradient(&m.compiled, &theta_m);
    assert!(close(ls, lm, 1e-12), "loss {ls} vs {lm}");
    for (c, (a, b)) in gs.iter().zip(&gm).enumerate() {
        assert!(close(*a, *b, 1e-12), "gradient[{c}]: {a} vs {b}");
    }
}

/// The unrolled network u(x) = W_out z_depth + b_out as one expression
/// with the weights as numbers, and its derivative d^alpha (or the
/// Laplacian), evaluated at a point.
fn unrolled(
    lowered: &Lowered,
    theta: &[f64],
    m: usize,
    component: &JetComponent,
    point: &[f64],
) -> f64 {
    let layout = &lowered.layout;
    let depth = layout.depth.unwrap();
    let mut g = Graph::new();
    let names = ["x", "y", "z", "t"];
    let coordinates: Vec<_> = (0..layout.dims)
        .map(|j| g.coordinate(j, names[j]).unwrap())
        .collect();
    // The input map (normalization, periodic inputs) as expressions.
    let inputs = &lowered.mlp.as_ref().unwrap().inputs;
    let mut z = Vec::new();
    for (j, &c) in coordinates.iter().enumerate() {
        let x = g.symbol(c);
        match inputs.get(j) {
            None => z.push(x),
            Some(&InputMap::Affine { s, t }) => {
                let s = g.num(s);
                let t = g.num(t);
                let sx = g.mul(s, x);
                z.push(g.add(sx, t));
            }
            Some(&InputMap::Periodic { lo, length }) => {
                let lo = g.num(-lo);
                let k = g.num(2.0 * std::f64::consts::PI / length);
                let shifted = g.add(x, lo);
                let theta = g.mul(k, shifted);
                z.push(g.call(MathFn::Cos, theta));
                z.push(g.call(MathFn::Sin, theta));
            }
        }
    }
    for l in 0..=depth {
        let block = layout.layer(l);
        let mut next = Vec::new();
        for r in 0..block.rows {
            let mut terms = vec![g.num(theta[block.biases + r])];
            for (c, &zc) in z.iter().enumerate() {
                let w = g.num(theta[block.weights + r * block.cols + c]);
                terms.push(g.mul(w, zc));
            }
            let a = g.add_all(&terms);
            next.push(if l < depth {
                g.act(Activation::Tanh, a)
            } else {
                a
            });
        }
        z = next;
    }
    let u = z[m];
    let root = match component {
        JetComponent::Partial(alpha) => diff_multi_index(&mut g, u, &coordinates, alpha).unwrap(),
        JetComponent::Laplacian(p) => {
            let mut terms = Vec::new();
            for &j in p {
                let mut alpha = vec![0; layout.dims];
                alpha[j] = 2;
                terms.push(diff_multi_index(&mut g, u, &coordinates, &alpha).unwrap());
            }
            g.add_all(&terms)
        }
    };
    let symbols = |s: pdec::symbolic::SymbolId| {
        coordinates
            .iter()
            .position(|&c| c == s)
            .map_or(f64::NAN, |j| point[j])
    };
    g.eval(&[root], &symbols, &|_, _| f64::NAN)[0]
}

/// Every jet component of every residual's forward pass (mixed, third
/// order and collapsed Laplacians included) equals the symbolic derivative
/// of the unrolled network, for depth 2 and 3, with normalized inputs
/// (the default), raw inputs, and periodic inputs (cos and sin of y, or
/// of x and y).
#[test]
fn jets_match_the_unrolled_network() {
    let raw = format!("{NONLINEAR}ansatz mlp(normalize = false)\n");
    let periodic = format!("{NONLINEAR}ansatz mlp periodic in y\n");
    let mixed_periodic = format!("{MIXED}ansatz mlp periodic in x, y\n");
    for (source, expect_laplacian) in [
        (NONLINEAR, true),
        (&raw[..], true),
        (&periodic[..], true),
        (MIXED, false),
        (&mixed_periodic[..], false),
    ] {
        for depth in [2, 3] {
            let s = Setup::new(source, &mlp(3, depth));
            let layout = &s.lowered.layout;
            let plan = s.lowered.mlp.as_ref().unwrap();
            // Random biases too (the initialization has zeros).
            let theta = random_theta(layout.total(), depth as u64);
            let mut saw_laplacian = false;
            let mut saw_mixed = false;
            for r in &plan.residuals {
                let rule = &plan.rules[r.rule];
                let points = s.problem(&s.compiled).points(r.residual).clone();
                let pass = pdec::train::mlp::forward(
                    &s.compiled,
                    plan,
                    layout,
                    rule,
                    None,
                    &theta,
                    &points,
                )
                .unwrap();
                let c = rule.components.len();
                for i in 0..points.len() {
                    for (ci, component) in rule.components.iter().enumerate() {
                        saw_laplacian |= matches!(component, JetComponent::Laplacian(_));
                        saw_mixed |= matches!(component,
                            JetComponent::Partial(a) if a.iter().filter(|&&n| n > 0).count() > 1);
                        for m in 0..layout.unknowns {
                            let got = pass.u[(i * c + ci) * layout.unknowns + m];
                            let want = unrolled(&s.lowered, &theta, m, component, points.point(i));
                            assert!(
                                close(got, want, 1e-11),
                                "depth {depth}, {component:?} of u{m} at {:?}: {got} vs {want}",
                                points.point(i)
                            );
                        }
                    }
                }
            }
            assert_eq!(saw_laplacian, expect_laplacian);
            assert_eq!(saw_mixed, !expect_laplacian);
        }
    }
}

/// At random parameters (seed `seed`): every entry of the reverse sweep's
/// loss gradient against a central difference of the loss with step `h`
/// (relative tolerance `h`), and the gradient from the Jacobian rows,
/// sum_t (2 / n_t) J_t^T r_t, against the sweep's (tolerance `rows`).
fn gradient_matches_central_differences(s: &Setup, depth: usize, seed: u64, h: f64, rows: f64) {
    let p = s.lowered.layout.total();
    let theta = random_theta(p, seed);
    let (_, gradient) = s.loss_gradient(&s.compiled, &theta);
    for c in 0..p {
        let mut plus = theta.clone();
        plus[c] += h;
        let mut minus = theta.clone();
        minus[c] -= h;
        let fd = (s.loss_gradient(&s.compiled, &plus).0 - s.loss_gradient(&s.compiled, &minus).0)
            / (2.0 * h);
        assert!(
            (fd - gradient[c]).abs() <= h * gradient[c].abs().max(1.0),
            "depth {depth}, parameter {c}: sweep {} vs central difference {fd}",
            gradient[c]
        );
    }
    let e = network::evaluate(s.problem(&s.compiled), &theta).unwrap();
    let mut from_rows = vec![0.0; p];
    let mut terms = vec![0.0; e.blocks.len()];
    network::mean_square_loss(&e, &mut from_rows, &mut terms);
    for (a, b) in from_rows.iter().zip(&gradient) {
        assert!(close(*a, *b, rows), "Jacobian rows {a} vs sweep {b}");
    }
}

/// The loss gradient of the reverse sweep against central differences of
/// the loss, and the Jacobian rows (the same sweep, not summed) against
/// the gradient: sum_t (2 / n_t) J_t^T r_t.
#[test]
fn gradients_match_central_differences() {
    for (source, depth) in [(NONLINEAR, 2), (MIXED, 3), (NONLINEAR, 3)] {
        let s = Setup::new(source, &mlp(3, depth));
        gradient_matches_central_differences(&s, depth, 7 + depth as u64, 1e-6, 1e-12);
    }
}

/// Passes and sweeps of at least twice 256 points run in chunks of points
/// on separate threads (the gradients added in chunk order): a block's
/// loss gradient by chunks of its points (`ad`, 900 points), and the
/// batched pass and sweep of `fd` (grid(16), 5 shifts per point) by
/// chunks of the shifted points. Residuals and gradient
/// against the unsplit Jacobian rows, sum_t (2 / n_t) J_t^T r_t, and the
/// JIT against the interpreter bit for bit.
#[test]
fn chunked_loss_gradient_matches_the_jacobian_rows() {
    let ad = NONLINEAR.replace("interior = grid(5)", "interior = grid(30)");
    let fd = NONLINEAR.replace("interior = grid(5)", "interior = grid(16)");
    for (source, overrides, tol) in [(ad, mlp(4, 2), 1e-12), (fd, mlp_fd(4, 2, 5e-2, 2), 1e-11)] {
        let s = Setup::new(&source, &overrides);
        let p = s.lowered.layout.total();
        let theta = random_theta(p, 12);
        let mut chunked = empty();
        let mut gradient = vec![0.0; p];
        let mut terms = vec![0.0; 8];
        network::loss_and_gradient(
            s.problem(&s.compiled),
            &theta,
            &mut chunked,
            &mut gradient,
            &mut terms,
        )
        .expect("runs");
        let e = network::evaluate(s.problem(&s.compiled), &theta).unwrap();
        for (a, b) in chunked.residual.iter().zip(&e.residual) {
            assert!(close(*a, *b, 1e-13), "chunked residual {a} vs unsplit {b}");
        }
        let mut from_rows = vec![0.0; p];
        let mut terms = vec![0.0; e.blocks.len()];
        network::mean_square_loss(&e, &mut from_rows, &mut terms);
        for (a, b) in from_rows.iter().zip(&gradient) {
            assert!(close(*a, *b, tol), "Jacobian rows {a} vs chunked sweep {b}");
        }
        let interpreted = Interpreted(s.lowered.kernels.iter().map(|k| k.kernel.clone()).collect());
        let (lj, gj) = s.loss_gradient(&s.compiled, &theta);
        let (li, gi) = s.loss_gradient(&interpreted, &theta);
        assert_eq!(lj.to_bits(), li.to_bits());
        assert_eq!(gj, gi);
        assert_eq!(gj, gradient);
    }
}

/// The compiled layer kernels, their adjoints and the residual kernels give
/// bit for bit what the interpreter gives, on random inputs and through
/// whole sweeps.
#[test]
fn jit_equals_interpreter_on_layer_kernels_and_adjoints() {
    for source in [NONLINEAR, MIXED] {
        let s = Setup::new(source, &mlp(5, 2));
        let interpreted = Interpreted(s.lowered.kernels.iter().map(|k| k.kernel.clone()).collect());
        let plan = s.lowered.mlp.as_ref().unwrap();
        let mut rng = SeededRng::new(11, 0);
        let n = 9;
        for rule in &plan.rules {
            let c = rule.components.len();
            let len = n * c * plan.width;
            let pre: Vec<f64> = (0..len).map(|_| rng.uniform_in(-2.0, 2.0)).collect();
            let bar: Vec<f64> = (0..len).map(|_| rng.uniform_in(-2.0, 2.0)).collect();
            let run = |e: &dyn Executor| {
                let mut post = vec![0.0; len];
                e.run(
                    rule.forward,
                    &mut [ArrayArg::In(&pre), ArrayArg::Out(&mut post)],
                    plan.width,
                    0..n,
                )
                .unwrap();
                let mut pre_bar = vec![0.0; len];
                e.run(
                    rule.adjoint,
                    &mut [
                        ArrayArg::In(&pre),
                        ArrayArg::In(&post),
                        ArrayArg::In(&bar),
                        ArrayArg::Out(&mut pre_bar),
                    ],
                    plan.width,
                    0..n,
                )
                .unwrap();
                (post, pre_bar)
            };
            let (jit, interp) = (run(&s.compiled), run(&interpreted));
            let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&jit.0), bits(&interp.0), "forward rule");
            assert_eq!(bits(&jit.1), bits(&interp.1), "adjoint rule");
            assert!(jit.1.iter().any(|&v| v != 0.0));
        }
        let theta = random_theta(s.lowered.layout.total(), 3);
        let (lj, gj) = s.loss_gradient(&s.compiled, &theta);
        let (li, gi) = s.loss_gradient(&interpreted, &theta);
        assert_eq!(lj.to_bits(), li.to_bits());
        assert_eq!(gj, gi);
    }
}

fn mlp_fd(width: usize, depth: usize, h: f64, order: u32) -> Overrides {
    Overrides {
        diff: Some("fd".into()),
        h: Some(h),
        order: Some(f64::from(order)),
        ..mlp(width, depth)
    }
}

/// `diff fd`: the residuals from the stencils of the network's values
/// converge to the `diff ad` residuals (exact jets) at the stencils'
/// order: the largest difference falls by about 2^p when h is halved
/// (p = 2 and 4), on problems with a Laplacian, first derivatives and
/// mixed and third derivatives.
#[test]
fn fd_residuals_converge_to_ad_at_the_stencil_order() {
    for (source, depth) in [(NONLINEAR, 2), (MIXED, 3)] {
        let ad = Setup::new(source, &mlp(4, depth));
        let theta = random_theta(ad.lowered.layout.total(), 11);
        let exact = network::evaluate(ad.problem(&ad.compiled), &theta).unwrap();
        for order in [2, 4] {
            let h = if order == 2 { 2e-2 } else { 8e-2 };
            let gap = |h: f64| {
                let fd = Setup::new(source, &mlp_fd(4, depth, h, order));
                let e = network::evaluate(fd.problem(&fd.compiled), &theta).unwrap();
                assert_eq!(e.residual.len(), exact.residual.len());
                e.residual
                    .iter()
                    .zip(&exact.residual)
                    .map(|(a, b)| (a - b).abs())
                    .fold(0.0, f64::max)
            };
            let (coarse, fine) = (gap(h), gap(h / 2.0));
            let ratio = coarse / fine;
            let expected = 2f64.powi(order as i32);
            assert!(
                coarse > 1e-9 && ratio > 0.8 * expected && ratio < 1.25 * expected,
                "depth {depth}, order {order}: gap {coarse:e} at h = {h}, {fine:e} at h/2, ratio {ratio}"
            );
        }
    }
}

/// `diff fd`: the loss gradient from the reverse sweep of the value
/// network at the shifted points matches central differences of the loss,
/// and the Jacobian rows (summed over the shifts) give the same gradient.
#[test]
fn fd_gradients_match_central_differences() {
    for (source, depth) in [(NONLINEAR, 2), (MIXED, 3)] {
        // A step of 0.05: the third-derivative stencil's 1/h^3 amplifies
        // the round-off of the loss, which the central differences divide
        // by their own step.
        let s = Setup::new(source, &mlp_fd(3, depth, 5e-2, 2));
        gradient_matches_central_differences(&s, depth, 13 + depth as u64, 1e-5, 1e-11);
    }
}
