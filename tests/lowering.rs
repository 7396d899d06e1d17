//! The generated kernels against independent hand-written formulas, and the
//! finite-difference mode against the exact one.

use pdec::check::{self, Overrides, Spec};
use pdec::ir::{self, ArrayArg};
use pdec::lower::{self, KernelRole, Lowered};
use pdec::random::SeededRng;

fn spec(source: &str, overrides: &Overrides) -> Spec {
    let (file, diagnostics) = pdec::syntax::parse(source);
    assert!(diagnostics.is_empty(), "{diagnostics:?}");
    let (spec, diagnostics) = check::check(&file.expect("parses"), overrides);
    assert!(diagnostics.iter().all(|d| !d.is_error()), "{diagnostics:?}");
    spec.expect("checks")
}

/// Random neuron parameters: w (K x d), b (K), a (M x K).
fn parameters(k: usize, d: usize, m: usize, seed: u64) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let mut rng = SeededRng::new(seed, 0);
    let w = (0..k * d).map(|_| rng.uniform_in(-2.0, 2.0)).collect();
    let b = (0..k).map(|_| rng.uniform_in(-1.0, 1.0)).collect();
    let a = (0..k * m).map(|_| rng.uniform_in(-1.0, 1.0)).collect();
    (w, b, a)
}

fn points(n: usize, bounds: &[(f64, f64)], seed: u64) -> Vec<f64> {
    let mut rng = SeededRng::new(seed, 1);
    let mut p = Vec::new();
    for _ in 0..n {
        for &(lo, hi) in bounds {
            p.push(rng.uniform_in(lo, hi));
        }
    }
    p
}

/// Runs a rows kernel as machine code (the JIT); returns (rows, rhs).
fn rows(
    lowered: &Lowered,
    name: &str,
    pts: &[f64],
    w: &[f64],
    b: &[f64],
    columns: usize,
) -> (Vec<f64>, Vec<f64>) {
    let k = lowered
        .kernels
        .iter()
        .find(|k| k.name == name)
        .unwrap_or_else(|| panic!("no kernel {name}"));
    assert!(matches!(k.role, KernelRole::Rows { .. }));
    let n = pts.len() / lowered.layout.dims;
    let mut out = vec![0.0; n * columns];
    let mut rhs = vec![0.0; n];
    let compiled =
        pdec::jit::Compiled::new(std::slice::from_ref(&k.kernel), lowered.layout.neurons)
            .expect("compiles");
    compiled
        .run(
            0,
            &mut [
                ArrayArg::In(pts),
                ArrayArg::In(w),
                ArrayArg::In(b),
                ArrayArg::Out(&mut out),
                ArrayArg::Out(&mut rhs),
            ],
            lowered.layout.neurons,
            0..n,
        )
        .expect("valid call");
    (out, rhs)
}

// The by-hand operators below differentiate act(w x + b) in the raw
// coordinates, so these sources turn input normalization off (the
// normalized and periodic maps are checked against the symbolic
// derivatives of the unrolled network in tests/mlp.rs).
const POISSON: &str = "
domain x in [0, 1]
unknown u
equation -u_xx = pi^2*sin(pi*x)
bc u = 0 on boundary
bc u_x + 2*u = 1 on x = 1 weight 3
exact u = sin(pi*x)
ansatz rfm(features = 7, normalize = false)
";

#[test]
fn poisson_rows_match_the_operator_applied_by_hand() {
    let spec = spec(POISSON, &Overrides::default());
    let lowered = lower::lower(&spec).expect("lowers");
    let (w, b, _) = parameters(7, 1, 1, 3);
    let pts = points(5, &[(0.0, 1.0)], 4);
    let (a, rhs) = rows(&lowered, "rows_equation0", &pts, &w, &b, 7);
    for i in 0..5 {
        let x = pts[i];
        assert!(
            (rhs[i] - std::f64::consts::PI.powi(2) * (std::f64::consts::PI * x).sin()).abs()
                < 1e-13
        );
        for k in 0..7 {
            let t = (w[k] * x + b[k]).tanh();
            // -(d/dx)^2 tanh(w x + b) = 2 w^2 t (1 - t^2)
            let expected = 2.0 * w[k] * w[k] * t * (1.0 - t * t);
            let got = a[i * 7 + k];
            assert!(
                (got - expected).abs() <= 1e-14 * expected.abs().max(1.0),
                "{got} vs {expected}"
            );
        }
    }
    // Robin condition with weight 3: 3 * (w (1 - t^2) + 2 t), rhs 3 * 1
    let (a, rhs) = rows(&lowered, "rows_bc1", &pts, &w, &b, 7);
    for i in 0..5 {
        let x = pts[i];
        assert!((rhs[i] - 3.0).abs() < 1e-15);
        for k in 0..7 {
            let t = (w[k] * x + b[k]).tanh();
            let expected = 3.0 * (w[k] * (1.0 - t * t) + 2.0 * t);
            assert!((a[i * 7 + k] - expected).abs() <= 1e-14 * expected.abs().max(1.0));
        }
    }
}

/// `equation ... weight 2` doubles the equation's rows and right-hand side.
#[test]
fn equation_weight_scales_its_rows() {
    let plain = lower::lower(&spec(POISSON, &Overrides::default())).expect("lowers");
    let weighted_source = POISSON.replace(
        "equation -u_xx = pi^2*sin(pi*x)",
        "equation -u_xx = pi^2*sin(pi*x) weight 2",
    );
    let weighted_spec = spec(&weighted_source, &Overrides::default());
    assert_eq!(weighted_spec.equations[0].weight, 2.0);
    let weighted = lower::lower(&weighted_spec).expect("lowers");
    let (w, b, _) = parameters(7, 1, 1, 3);
    let pts = points(5, &[(0.0, 1.0)], 4);
    let (a1, r1) = rows(&plain, "rows_equation0", &pts, &w, &b, 7);
    let (a2, r2) = rows(&weighted, "rows_equation0", &pts, &w, &b, 7);
    for (one, two) in a1.iter().zip(&a2).chain(r1.iter().zip(&r2)) {
        assert!(
            (2.0 * one - two).abs() <= 1e-14 * two.abs().max(1.0),
            "{one} {two}"
        );
    }
}

const WAVE: &str = "
domain x in [0, 1]
time t in [0, 2]
const c = 2
unknown u
equation u_tt - c^2*u_xx = 0
bc u = 0 on boundary
initial u = sin(pi*x)
initial u_t = 0
exact u = sin(pi*x)*cos(c*pi*t)
ansatz rfm(features = 5, activation = sigmoid, normalize = false)
";

#[test]
fn space_time_rows_with_sigmoid_match_by_hand() {
    let spec = spec(WAVE, &Overrides::default());
    let lowered = lower::lower(&spec).expect("lowers");
    let (w, b, _) = parameters(5, 2, 1, 9);
    let pts = points(6, &[(0.0, 1.0), (0.0, 2.0)], 10);
    let (a, _) = rows(&lowered, "rows_equation0", &pts, &w, &b, 5);
    for i in 0..6 {
        let (x, t) = (pts[2 * i], pts[2 * i + 1]);
        for k in 0..5 {
            let (wx, wt) = (w[2 * k], w[2 * k + 1]);
            let s = 1.0 / (1.0 + (-(wx * x + wt * t + b[k])).exp());
            let second = s * (1.0 - s) * (1.0 - 2.0 * s); // sigmoid''
            let expected = (wt * wt - 4.0 * wx * wx) * second;
            let got = a[i * 5 + k];
            assert!(
                (got - expected).abs() <= 1e-13 * expected.abs().max(1.0),
                "{got} vs {expected}"
            );
        }
    }
}

/// fd rows approach ad rows at the stencil's order as h shrinks.
#[test]
fn fd_rows_converge_to_ad_rows_at_the_stencil_order() {
    let source = "
domain x in [0, 1], y in [0, 1]
unknown u
equation -lap(u) + u_xy + d(u, x, x, x, x) = 1
bc u = 0 on boundary
ansatz rfm(features = 6, activation = tanh)
";
    let ad = lower::lower(&spec(source, &Overrides::default())).unwrap();
    let (w, b, _) = parameters(6, 2, 1, 21);
    let w: Vec<f64> = w.iter().map(|v| v * 0.5).collect();
    let pts = points(4, &[(0.0, 1.0), (0.0, 1.0)], 22);
    let (exact, _) = rows(&ad, "rows_equation0", &pts, &w, &b, 6);
    for order in [2.0, 4.0] {
        let error = |h: f64| {
            let overrides = Overrides {
                diff: Some("fd".into()),
                h: Some(h),
                order: Some(order),
                ..Overrides::default()
            };
            let fd = lower::lower(&spec(source, &overrides)).unwrap();
            let (approx, _) = rows(&fd, "rows_equation0", &pts, &w, &b, 6);
            approx
                .iter()
                .zip(&exact)
                .map(|(a, e)| (a - e).abs())
                .fold(0.0, f64::max)
        };
        let (h1, h2) = if order == 2.0 {
            (0.04, 0.02)
        } else {
            (0.08, 0.04)
        };
        let observed = (error(h1) / error(h2)).log2();
        assert!(
            (observed - order).abs() < 0.25,
            "order {order}: observed {observed} (errors {} {})",
            error(h1),
            error(h2)
        );
    }
}

const BURGERS: &str = "
domain x in [-1, 1]
const nu = 0.1
unknown u
equation u*u_x - nu*u_xx = 0
bc u = -tanh(x/(2*nu)) on boundary
exact u = -tanh(x/(2*nu))
ansatz rfm(features = 4)
";

/// Runs a network kernel; returns (residual, jacobian).
fn network(lowered: &Lowered, name: &str, pts: &[f64], theta: &[f64]) -> (Vec<f64>, Vec<f64>) {
    let layout = &lowered.layout;
    let kernel = &lowered
        .kernels
        .iter()
        .find(|k| k.name == name)
        .unwrap()
        .kernel;
    let (kd, k) = (layout.neurons * layout.dims, layout.neurons);
    let n = pts.len() / layout.dims;
    let mut r = vec![0.0; n];
    let mut j = vec![0.0; n * layout.trained()];
    ir::run(
        kernel,
        &mut [
            ArrayArg::In(pts),
            ArrayArg::In(&theta[..kd]),
            ArrayArg::In(&theta[kd..kd + k]),
            ArrayArg::In(&theta[kd + k..]),
            ArrayArg::Out(&mut r),
            ArrayArg::Out(&mut j),
        ],
        layout.neurons,
        0..n,
    )
    .unwrap();
    (r, j)
}

/// The Jacobian rows equal central differences of the residual in every
/// trained parameter, for a nonlinear rfm problem and a shallow network.
#[test]
fn network_gradients_match_finite_differences_of_the_residual() {
    for (source, overrides) in [
        (BURGERS, Overrides::default()),
        (
            POISSON,
            Overrides {
                ansatz: Some("shallow".into()),
                width: Some(4.0),
                ..Overrides::default()
            },
        ),
        // An unknown named like a generated parameter must not alias it.
        (
            "domain x in [0, 1]\nunknown b\nequation -b_xx + b^2 = x\nbc b = 0 on boundary\nansatz shallow(width = 3)\n",
            Overrides::default(),
        ),
    ] {
        let lowered = lower::lower(&spec(source, &overrides)).unwrap();
        let layout = lowered.layout.clone();
        let mut rng = SeededRng::new(5, 5);
        let theta: Vec<f64> = (0..layout.total())
            .map(|_| rng.uniform_in(-1.0, 1.0))
            .collect();
        let pts = points(3, &[(0.0, 1.0)], 6);
        let name = "network_equation0";
        let (_, jac) = network(&lowered, name, &pts, &theta);
        let first_trained = layout.total() - layout.trained();
        for c in 0..layout.trained() {
            let p = first_trained + c;
            let h = 1e-6;
            let mut plus = theta.clone();
            plus[p] += h;
            let mut minus = theta.clone();
            minus[p] -= h;
            let (rp, _) = network(&lowered, name, &pts, &plus);
            let (rm, _) = network(&lowered, name, &pts, &minus);
            for i in 0..3 {
                let fd = (rp[i] - rm[i]) / (2.0 * h);
                let got = jac[i * layout.trained() + c];
                assert!(
                    (fd - got).abs() <= 1e-6 * got.abs().max(1.0),
                    "parameter {p}, point {i}: {got} vs finite difference {fd}"
                );
            }
        }
    }
}

#[test]
fn network_residual_matches_the_equation_by_hand() {
    let lowered = lower::lower(&spec(BURGERS, &Overrides::default())).unwrap();
    let layout = lowered.layout.clone();
    let mut rng = SeededRng::new(8, 1);
    let theta: Vec<f64> = (0..layout.total())
        .map(|_| rng.uniform_in(-1.0, 1.0))
        .collect();
    let pts = points(4, &[(-1.0, 1.0)], 2);
    let (r, _) = network(&lowered, "network_equation0", &pts, &theta);
    let k = layout.neurons;
    for i in 0..4 {
        let x = pts[i];
        let (mut u, mut ux, mut uxx) = (0.0, 0.0, 0.0);
        for n in 0..k {
            let (w, b, a) = (theta[n], theta[k + n], theta[2 * k + n]);
            let t = (w * x + b).tanh();
            u += a * t;
            ux += a * w * (1.0 - t * t);
            uxx += a * w * w * (-2.0 * t * (1.0 - t * t));
        }
        let expected = u * ux - 0.1 * uxx;
        assert!((r[i] - expected).abs() < 1e-13, "{} vs {expected}", r[i]);
    }
}

#[test]
fn every_generated_kernel_verifies() {
    for source in [POISSON, WAVE, BURGERS] {
        for diff in ["ad", "fd"] {
            let overrides = Overrides {
                diff: Some(diff.into()),
                ..Overrides::default()
            };
            let lowered = lower::lower(&spec(source, &overrides)).unwrap();
            for k in &lowered.kernels {
                k.kernel
                    .verify(lowered.layout.neurons)
                    .unwrap_or_else(|e| panic!("{}: {e}", k.name));
            }
        }
    }
}

/// Every kernel generated for every example, in both diff modes, gives
/// bit-identical results as machine code and in the interpreter.
#[test]
fn jit_matches_the_interpreter_on_every_example_kernel() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut checked = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "pde") {
            continue;
        }
        let source = std::fs::read_to_string(&path).unwrap();
        for diff in ["ad", "fd"] {
            let overrides = Overrides {
                diff: Some(diff.into()),
                ..Overrides::default()
            };
            let lowered = lower::lower(&spec(&source, &overrides)).unwrap();
            let layout = lowered.layout.clone();
            // Few neurons keep the test fast; the kernels take K as a bound.
            let neurons = layout.neurons.min(7);
            let kernels: Vec<_> = lowered.kernels.iter().map(|k| k.kernel.clone()).collect();
            let compiled = pdec::jit::Compiled::new(&kernels, layout.neurons).unwrap();
            let mut rng = SeededRng::new(11, 0);
            let n = 9;
            let pts: Vec<f64> = (0..n * layout.dims).map(|_| rng.uniform()).collect();
            let theta: Vec<f64> = (0..layout.total())
                .map(|_| rng.uniform_in(-1.0, 1.0))
                .collect();
            let (kd, k) = (layout.neurons * layout.dims, layout.neurons);
            for (index, kernel) in kernels.iter().enumerate() {
                let lengths = kernel.required_lengths(n, neurons);
                // Other inputs (a deep network's layer jets and their
                // adjoints): random values of the needed lengths.
                let inputs: Vec<Vec<f64>> = kernel
                    .arrays
                    .iter()
                    .zip(&lengths)
                    .map(|(decl, &len)| {
                        if decl.access == ir::Access::Input {
                            (0..len).map(|_| rng.uniform_in(-1.0, 1.0)).collect()
                        } else {
                            Vec::new()
                        }
                    })
                    .collect();
                let run = |jit: bool| {
                    let mut outputs: Vec<Vec<f64>> = Vec::new();
                    for (decl, &len) in kernel.arrays.iter().zip(&lengths) {
                        if decl.access == ir::Access::Output {
                            outputs.push(vec![0.0; len]);
                        }
                    }
                    let mut outs = outputs.iter_mut();
                    let mut args: Vec<ArrayArg> = Vec::new();
                    for (decl, input) in kernel.arrays.iter().zip(&inputs) {
                        args.push(match decl.name.as_str() {
                            "points" => ArrayArg::In(&pts),
                            "w" => ArrayArg::In(&theta[..kd]),
                            "b" => ArrayArg::In(&theta[kd..kd + k]),
                            "a" => ArrayArg::In(&theta[kd + k..]),
                            _ if decl.access == ir::Access::Input => ArrayArg::In(input),
                            _ => ArrayArg::Out(outs.next().unwrap()),
                        });
                    }
                    if jit {
                        compiled.run(index, &mut args, neurons, 0..n).unwrap();
                    } else {
                        ir::run(kernel, &mut args, neurons, 0..n).unwrap();
                    }
                    drop(args);
                    outputs
                };
                let (a, b) = (run(true), run(false));
                for (x, y) in a.iter().flatten().zip(b.iter().flatten()) {
                    assert!(
                        x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan()),
                        "{}: {} ({diff}): {x} vs {y}",
                        path.display(),
                        kernel.name
                    );
                }
                checked += 1;
            }
        }
    }
    assert!(checked >= 40, "only {checked} kernels checked");
}
