//! Random-feature least squares end to end with the reference interpreter:
//! sample, assemble, solve, compare with the exact solution.

use pdec::check::{self, Overrides, Spec};
use pdec::ir::{self, ArrayArg};
use pdec::lower::{self, KernelRole};
use pdec::random::SeededRng;

fn spec(source: &str, overrides: &Overrides) -> Spec {
    let (file, _) = pdec::syntax::parse(source);
    let (spec, diagnostics) = check::check(&file.expect("parses"), overrides);
    spec.unwrap_or_else(|| panic!("{diagnostics:?}"))
}

fn rfm_error(source: &str, overrides: &Overrides, scale: f64) -> f64 {
    let spec = spec(source, overrides);
    let lowered = lower::lower(&spec).unwrap();
    let layout = lowered.layout.clone();
    let (k, d) = (layout.neurons, layout.dims);
    let mut rng = SeededRng::new(0, 0);
    let w: Vec<f64> = (0..k * d).map(|_| rng.uniform_in(-scale, scale)).collect();
    let b: Vec<f64> = (0..k).map(|_| rng.uniform_in(-scale, scale)).collect();
    let training = pdec::sample::training_points(&spec);
    let mut rows: Vec<f64> = Vec::new();
    let mut rhs: Vec<f64> = Vec::new();
    for kernel in &lowered.kernels {
        let KernelRole::Rows { residual } = kernel.role else {
            continue;
        };
        let pts = if residual < spec.equations.len() {
            &training.interior
        } else {
            &training.conditions[residual - spec.equations.len()]
        };
        let n = pts.len();
        let mut r = vec![0.0; n * k];
        let mut f = vec![0.0; n];
        ir::run(
            &kernel.kernel,
            &mut [
                ArrayArg::In(&pts.coords),
                ArrayArg::In(&w),
                ArrayArg::In(&b),
                ArrayArg::Out(&mut r),
                ArrayArg::Out(&mut f),
            ],
            k,
            0..n,
        )
        .unwrap();
        rows.extend(r);
        rhs.extend(f);
    }
    let m = rhs.len();
    let a = faer::Mat::from_fn(m, k, |i, j| rows[i * k + j]);
    let fit = pdec::train::lstsq::solve(a.as_ref(), &rhs, 1e-13, faer::Par::Seq).unwrap();
    let test = pdec::sample::test_points(&spec);
    let n = test.len();
    let mut u = vec![0.0; n];
    let value = &lowered
        .kernels
        .iter()
        .find(|k| k.role == KernelRole::Value)
        .unwrap()
        .kernel;
    ir::run(
        value,
        &mut [
            ArrayArg::In(&test.coords),
            ArrayArg::In(&w),
            ArrayArg::In(&b),
            ArrayArg::In(&fit.solution),
            ArrayArg::Out(&mut u),
        ],
        k,
        0..n,
    )
    .unwrap();
    let problem = pdec::symbolic::problem::SymbolicProblem::new(&spec).unwrap();
    let exact = problem.exact[0].unwrap();
    let mut evaluator = pdec::symbolic::Evaluator::new(&problem.graph, &[exact]);
    let (mut num, mut den) = (0.0, 0.0);
    for (i, ui) in u.iter().enumerate().take(n) {
        let p = test.point(i);
        let symbols = pdec::symbolic::problem::point_symbols(&problem.coordinates, p);
        let e = evaluator.eval(&symbols, &|_, _| f64::NAN)[0];
        num += (ui - e).powi(2);
        den += e * e;
    }
    (num / den).sqrt()
}

const POISSON1D: &str = "
domain x in [0, 1]
unknown u
equation -u_xx = pi^2*sin(pi*x)
bc u = 0 on boundary
exact u = sin(pi*x)
ansatz rfm(features = 200)
";

/// AD reaches round-off; FD is O(h^2): halving h divides the error by 4.
#[test]
fn poisson1d_rfm_ad_is_exact_and_fd_is_second_order() {
    let ad = rfm_error(POISSON1D, &Overrides::default(), 1.0);
    assert!(ad < 1e-8, "ad error {ad:e}");
    let fd = |h: f64| {
        let o = Overrides {
            diff: Some("fd".into()),
            h: Some(h),
            ..Overrides::default()
        };
        rfm_error(POISSON1D, &o, 1.0)
    };
    let (e1, e2) = (fd(1e-2), fd(5e-3));
    assert!((1e-6..1e-3).contains(&e1), "fd error {e1:e}");
    let ratio = e1 / e2;
    assert!((ratio - 4.0).abs() < 0.2, "error ratio {ratio}");
}
