//! `pdec simulate`: the schemes against exact solutions, their stability
//! guarantees, JIT against the interpreter, and the command line.

mod common;
use common::{pdec, pdec_json, scratch};

use pdec::check::{self, Overrides, Spec};
use pdec::ir::{Interpreted, Kernel};
use pdec::jit::Compiled;
use pdec::simulate::{Outcome, Problem, Scheme, Settings, Solver};
use pdec::syntax;

fn spec(source: &str) -> Spec {
    let (tree, diagnostics) = syntax::parse(source);
    assert!(diagnostics.is_empty(), "{diagnostics:?}");
    let (spec, diagnostics) = check::check(&tree.expect("parsed"), &Overrides::default());
    spec.unwrap_or_else(|| panic!("{diagnostics:?}"))
}

fn compiled(kernels: &[Kernel]) -> Compiled {
    let mut c = Compiled::new(kernels, 0).expect("compiles");
    c.set_threads(1);
    c
}

fn run(spec: &Spec, settings: &Settings) -> (Problem, Outcome) {
    let problem = Problem::new(spec, settings).unwrap_or_else(|d| panic!("{d:?}"));
    let kernels = problem.kernels().expect("lowers");
    let outcome = problem.run(&compiled(&kernels)).expect("runs");
    (problem, outcome)
}

const HEAT: &str = "
domain x in [0, 1]
time t in [0, 0.1]
unknown u
equation u_t = u_xx
bc u = 0 on x = 0, x = 1
initial u = sin(pi*x)
exact u = exp(-pi^2*t)*sin(pi*x)
";

const PERONA_MALIK: &str = "
domain x in [0, 1]
time t in [0, 1]
const lambda = 2
unknown u
equation u_t = d(u_x/(1 + u_x^2/lambda^2), x)
bc u_x = 0 on x = 0, x = 1
initial u = tanh(40*(x - 0.5)) + 0.1*sin(60*pi*x) + 0.05*cos(97*x^2)
";

const FOURTH_ORDER: &str = "
domain x in [0, 1]
time t in [0, 1]
const lambda = 100
unknown u
equation u_t = -d(d(u_xx/(1 + u_xx^2/lambda^2), x), x)
bc u_x = 0 on x = 0, x = 1
initial u = exp(-100*(x - 0.5)^2) + 0.05*cos(40*pi*x) + 0.02*sin(91*x^2)
";

fn settings(scheme: Scheme, grid: usize) -> Settings {
    Settings {
        scheme,
        grid: Some(grid),
        ..Settings::default()
    }
}

fn relative_error(o: &Outcome) -> f64 {
    o.errors.expect("exact solution given").relative_l2
}

#[test]
fn explicit_heat_converges_at_second_order_in_h() {
    let s = spec(HEAT);
    let errors: Vec<f64> = [21, 41, 81]
        .iter()
        .map(|&n| relative_error(&run(&s, &settings(Scheme::Explicit, n)).1))
        .collect();
    for pair in errors.windows(2) {
        let ratio = pair[0] / pair[1];
        assert!(
            (3.5..4.5).contains(&ratio),
            "error ratio {ratio} per halving of h (errors {errors:?})"
        );
    }
}

#[test]
fn implicit_heat_converges_at_first_order_in_tau() {
    let s = spec(HEAT);
    let errors: Vec<f64> = [0.01, 0.005, 0.0025]
        .iter()
        .map(|&tau| {
            let settings = Settings {
                tau: Some(tau),
                solver: Solver::Multigrid,
                ..settings(Scheme::Implicit, 801)
            };
            relative_error(&run(&s, &settings).1)
        })
        .collect();
    for pair in errors.windows(2) {
        let ratio = pair[0] / pair[1];
        assert!(
            (1.8..2.2).contains(&ratio),
            "error ratio {ratio} per halving of tau (errors {errors:?})"
        );
    }
}

/// The explicit problem on `grid` values (for its tau_max), one step long.
fn probe(s: &Spec, grid: usize) -> Problem {
    let settings = Settings {
        t_end: Some(1e-300),
        ..settings(Scheme::Explicit, grid)
    };
    Problem::new(s, &settings).unwrap_or_else(|d| panic!("{d:?}"))
}

/// `t_end` for exactly `steps` steps at tau_max.
fn steps_at_tau_max(s: &Spec, grid: usize, steps: usize) -> Settings {
    let probe = probe(s, grid);
    Settings {
        t_end: Some(probe.tau_max * steps as f64),
        ..settings(Scheme::Explicit, grid)
    }
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

#[test]
fn perona_malik_and_fourth_order_never_increase_the_norm_and_keep_the_mean() {
    for (name, source) in [
        ("perona-malik", PERONA_MALIK),
        ("fourth order", FOURTH_ORDER),
    ] {
        let s = spec(source);
        let settings = steps_at_tau_max(&s, 200, 10_000);
        let (problem, outcome) = run(&s, &settings);
        assert_eq!(problem.steps, 10_000, "{name}");
        assert!(
            (problem.tau - problem.tau_max).abs() <= 1e-12 * problem.tau_max,
            "{name}: runs at tau_max"
        );
        assert!(!outcome.norm_increased, "{name}: the norm grew");
        for pair in outcome.norms.windows(2) {
            assert!(
                pair[1].2 <= pair[0].2 * (1.0 + 1e-12),
                "{name}: norm {} -> {} at step {}",
                pair[0].2,
                pair[1].2,
                pair[1].0
            );
        }
        let first = outcome.norms[0].2;
        let last = outcome.norms[outcome.norms.len() - 1].2;
        assert!(
            last < first,
            "{name}: the scheme smooths ({first} -> {last})"
        );
        let (m0, m1) = (mean(&problem.initial), mean(&outcome.values));
        assert!(
            (m0 - m1).abs() <= 1e-12 * (1.0 + m0.abs()),
            "{name}: mean {m0} -> {m1}"
        );
    }
}

#[test]
fn perona_malik_obeys_the_maximum_minimum_principle() {
    let s = spec(PERONA_MALIK);
    let settings = steps_at_tau_max(&s, 200, 2_000);
    let (problem, outcome) = run(&s, &settings);
    let max0 = problem.initial.iter().copied().fold(f64::MIN, f64::max);
    let min0 = problem.initial.iter().copied().fold(f64::MAX, f64::min);
    for (t, values) in &outcome.snapshots {
        let max = values.iter().copied().fold(f64::MIN, f64::max);
        let min = values.iter().copied().fold(f64::MAX, f64::min);
        assert!(
            max <= max0 + 1e-12 && min >= min0 - 1e-12,
            "t = {t}: [{min}, {max}] leaves [{min0}, {max0}]"
        );
    }
}

#[test]
fn above_the_bound_the_norm_grows() {
    let s = spec(HEAT);
    let probe = probe(&s, 101);
    let tau = 1.1 * probe.tau_max;
    let settings = Settings {
        tau: Some(tau),
        t_end: Some(300.0 * tau),
        allow_unstable: true,
        ..settings(Scheme::Explicit, 101)
    };
    let (problem, outcome) = run(&s, &settings);
    assert_eq!(problem.steps, 300);
    assert!(outcome.norm_increased);
    let last = outcome.norms[outcome.norms.len() - 1].2;
    assert!(last > 10.0 * outcome.norms[0].2, "norm {last}");
    // At the bound itself the same run decays.
    let at_bound = Settings {
        tau: None,
        allow_unstable: false,
        t_end: Some(300.0 * probe.tau_max),
        ..settings
    };
    assert!(!run(&s, &at_bound).1.norm_increased);
}

#[test]
fn fed_cycles_end_with_smaller_norms() {
    for source in [PERONA_MALIK, FOURTH_ORDER, HEAT] {
        let s = spec(source);
        let probe = probe(&s, 200);
        let settings = Settings {
            cycles: Some(10),
            t_end: Some(probe.tau_max * 4000.0),
            ..settings(Scheme::Fed, 200)
        };
        let (problem, outcome) = run(&s, &settings);
        assert_eq!(outcome.norms.len(), 11);
        assert!(problem.steps < 4000 / 4, "{} steps", problem.steps);
        assert!(!outcome.norm_increased, "{:?}", outcome.norms);
    }
}

#[test]
fn fed_on_heat_is_cheaper_and_accurate_and_improves_with_cycles() {
    let s = spec(HEAT);
    let (explicit, _) = run(&s, &settings(Scheme::Explicit, 101));
    let errors: Vec<(usize, f64)> = [1, 2, 4, 8]
        .iter()
        .map(|&cycles| {
            let (p, o) = run(
                &s,
                &Settings {
                    cycles: Some(cycles),
                    ..settings(Scheme::Fed, 101)
                },
            );
            (p.steps, relative_error(&o))
        })
        .collect();
    let (steps8, error8) = errors[3];
    assert!(
        steps8 * 5 <= explicit.steps,
        "FED {steps8} steps vs explicit {}",
        explicit.steps
    );
    assert!(error8 < 5e-2, "8 cycles: relative error {error8}");
    for pair in errors.windows(2) {
        assert!(
            pair[1].1 < pair[0].1,
            "error does not fall with cycles: {errors:?}"
        );
    }
}

#[test]
fn jit_equals_interpreter() {
    for source in [PERONA_MALIK, FOURTH_ORDER, HEAT] {
        let s = spec(source);
        for scheme in [Scheme::Explicit, Scheme::Fed, Scheme::Implicit] {
            let probe = probe(&s, 64);
            let settings = Settings {
                t_end: Some(probe.tau_max * 150.0),
                cycles: Some(3),
                tau: (scheme == Scheme::Implicit).then_some(probe.tau_max * 20.0),
                ..settings(scheme, 64)
            };
            let problem = Problem::new(&s, &settings).expect("recognised");
            let kernels = problem.kernels().expect("lowers");
            let jit = problem.run(&compiled(&kernels)).expect("runs");
            let interpreted = problem.run(&Interpreted(kernels)).expect("runs");
            assert_eq!(jit.values, interpreted.values, "{scheme:?}");
            assert!(jit.values.iter().all(|v| v.is_finite()));
        }
    }
}

#[test]
fn implicit_solvers_agree() {
    let s = spec(PERONA_MALIK);
    let results: Vec<Vec<f64>> = [Solver::FixedPoint, Solver::Cg, Solver::Multigrid]
        .iter()
        .map(|&solver| {
            let settings = Settings {
                solver,
                tau: Some(1e-5),
                t_end: Some(2e-4),
                ..settings(Scheme::Implicit, 128)
            };
            run(&s, &settings).1.values
        })
        .collect();
    for other in &results[1..] {
        let diff = results[0]
            .iter()
            .zip(other)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        assert!(diff < 1e-7, "solvers differ by {diff}");
    }
}

#[test]
fn recognised_flux_and_bound() {
    let s = spec(
        "domain x in [0, 2]\ntime t in [0, 1]\nunknown u\nequation u_t - 0.5*u_xx = 0\ninitial u = x\n",
    );
    let p = Problem::new(&s, &settings(Scheme::Explicit, 50)).expect("recognised");
    assert_eq!(p.diffusion.linear, Some(0.5));
    assert_eq!(p.operator.order, 1);
    let h = 2.0 / 50.0;
    let norm2 = 4.0 / (h * h) * (std::f64::consts::PI * 49.0 / 100.0).sin().powi(2);
    assert!((p.tau_max - 2.0 / (0.5 * norm2)).abs() < 1e-12 * p.tau_max);
    let pm = probe(&spec(PERONA_MALIK), 50);
    assert!((pm.diffusion.slope.sup - 1.0).abs() < 1e-12);
    assert!(pm.diffusion.linear.is_none());
    // Phi decreases from |s| = lambda = 2 (to the sampling's 1%); the
    // linear flux is monotone.
    let from = pm
        .diffusion
        .decreasing_from()
        .expect("Perona-Malik is non-monotone");
    assert!((from - 2.0).abs() < 0.05, "decreasing from {from}");
    assert!(p.diffusion.decreasing_from().is_none());
    let phi = |s: f64| s / (1.0 + s * s / 4.0);
    for x in [-3.0, 0.1, 2.0, 7.0] {
        assert!((pm.diffusion.eval_flux(x) - phi(x)).abs() < 1e-14);
    }
}

#[test]
fn command_line_reports_and_rejects() {
    let heat = format!("{}/examples/simulate/heat.pde", env!("CARGO_MANIFEST_DIR"));
    let v = pdec_json(&[
        "simulate", &heat, "--scheme", "fed", "--grid", "101", "--cycles", "8", "--json",
    ]);
    for key in [
        "scheme",
        "grid",
        "tau",
        "tau_max",
        "steps",
        "t_end",
        "seconds",
        "norm_first",
        "norm_last",
        "norm_increased",
        "cycles",
        "steps_per_cycle",
        "errors",
    ] {
        assert!(v.get(key).is_some(), "missing {key}: {v}");
    }
    assert_eq!(v["scheme"], "fed");
    assert_eq!(v["steps"], 216);
    assert!(v["errors"][0]["relative_l2"].as_f64().unwrap() < 5e-2);
    let v = pdec_json(&[
        "simulate",
        &heat,
        "--scheme",
        "implicit",
        "--solver",
        "multigrid",
        "--grid",
        "101",
        "--json",
    ]);
    assert!(v["iterations"].as_u64().unwrap() > 0);
    assert!(v["convergence_factor"].as_f64().unwrap() < 0.5);

    let (code, _, err) = pdec(&["simulate", &heat, "--tau", "1e-3"]);
    assert_eq!(code, 2);
    assert!(err.contains("E0704") && err.contains("tau_max"), "{err}");
    let (code, _, _) = pdec(&[
        "simulate",
        &heat,
        "--tau",
        "1e-3",
        "--t-end",
        "1",
        "--allow-unstable",
    ]);
    assert_eq!(code, 1, "diverges to non-finite values");
}

#[test]
fn out_writes_files_and_nothing_on_failure() {
    let heat = format!("{}/examples/simulate/heat.pde", env!("CARGO_MANIFEST_DIR"));
    let dir = scratch("simulate-out");
    let d = dir.to_string_lossy().to_string();
    let (code, _, err) = pdec(&["simulate", &heat, "--grid", "51", "--out", &d]);
    assert_eq!(code, 0, "{err}");
    let csv = std::fs::read_to_string(dir.join("solution.csv")).unwrap();
    assert_eq!(csv.lines().count(), 52);
    assert!(csv.starts_with("x,u(t=0e0)"));
    let norms = std::fs::read_to_string(dir.join("norms.csv")).unwrap();
    assert!(norms.starts_with("step,t,norm\n0,"));
    for svg in ["solution.svg", "norms.svg"] {
        assert!(std::fs::read_to_string(dir.join(svg))
            .unwrap()
            .contains("<svg"));
    }
    let failed = scratch("simulate-failed");
    let f = failed.to_string_lossy().to_string();
    let (code, _, _) = pdec(&[
        "simulate",
        &heat,
        "--tau",
        "1e-3",
        "--t-end",
        "1",
        "--allow-unstable",
        "--out",
        &f,
    ]);
    assert_eq!(code, 1);
    assert_eq!(
        std::fs::read_dir(&failed).unwrap().count(),
        0,
        "no partial files"
    );
    let _ = std::fs::remove_dir_all(dir);
    let _ = std::fs::remove_dir_all(failed);
}

#[test]
fn equations_of_another_form_are_located_errors() {
    let cases = [
        ("equation u_t = u_x\nbc u = 0 on boundary", "E0701", "u_x"),
        (
            "equation u_t = u_xx + x\nbc u = 0 on boundary",
            "E0701",
            "source",
        ),
        (
            "equation u_t = d(u*u_x, x)\nbc u = 0 on boundary",
            "E0701",
            "u_x",
        ),
        (
            "equation u_t = -u_xx\nbc u = 0 on boundary",
            "E0703",
            "Phi(s)/s",
        ),
        (
            "equation u_t = u_xx\nbc u = 0 on x = 0\nbc u_x = 0 on x = 1",
            "E0702",
            "both ends",
        ),
        (
            "equation u_t = u_xx\nbc u = t on boundary",
            "E0702",
            "changes in time",
        ),
    ];
    let dir = scratch("simulate-bad");
    std::fs::create_dir_all(&dir).unwrap();
    for (i, (body, code, phrase)) in cases.iter().enumerate() {
        let path = dir.join(format!("bad{i}.pde"));
        let text = format!(
            "domain x in [0, 1]\ntime t in [0, 1]\nunknown u\n{body}\ninitial u = sin(pi*x)\n"
        );
        std::fs::write(&path, text).unwrap();
        let p = path.to_string_lossy().to_string();
        let (exit, _, err) = pdec(&["simulate", &p]);
        assert_eq!(exit, 2, "{body}: {err}");
        assert!(err.contains(code) && err.contains(phrase), "{body}:\n{err}");
        assert!(err.contains(&format!("bad{i}.pde:")), "located: {err}");
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn emit_network_for_fed() {
    let heat = format!("{}/examples/simulate/heat.pde", env!("CARGO_MANIFEST_DIR"));
    let (code, out, err) = pdec(&[
        "emit", &heat, "--stage", "network", "--scheme", "fed", "--grid", "21", "--cycles", "2",
    ]);
    assert_eq!(code, 0, "{err}");
    insta::assert_snapshot!("network_heat_fed", out);
    let pm = format!(
        "{}/examples/simulate/perona_malik.pde",
        env!("CARGO_MANIFEST_DIR")
    );
    let (code, out, err) = pdec(&[
        "emit", &pm, "--stage", "network", "--scheme", "explicit", "--grid", "16",
    ]);
    assert_eq!(code, 0, "{err}");
    insta::assert_snapshot!("network_perona_malik_explicit", out);
}

/// One explicit step through the kernels (with their ghost values) against
/// u - tau K^T K u assembled from K's rows, for both orders and boundaries,
/// on a grid of several tiles.
#[test]
fn kernel_step_equals_the_assembled_operator() {
    for (equation, bc) in [
        ("u_t = u_xx", "bc u = 0.5 on boundary"),
        ("u_t = u_xx", "bc u_x = 0 on boundary"),
        ("u_t = -u_xxxx", "bc u = 0.25 on boundary"),
        ("u_t = -u_xxxx", "bc u_x = 0 on boundary"),
    ] {
        let s = spec(&format!(
            "domain x in [0, 1]\ntime t in [0, 1]\nunknown u\nequation {equation}\n{bc}\ninitial u = exp(x)*sin(7*x)\n"
        ));
        // Three tiles of the step: the fluxes at the tiles' seams.
        let grid = 2 * pdec::simulate::TILE + 37;
        let p0 = probe(&s, grid);
        let explicit = Settings {
            t_end: Some(0.7 * p0.tau_max),
            ..settings(Scheme::Explicit, grid)
        };
        let (p, o) = run(&s, &explicit);
        assert_eq!(p.steps, 1);
        let step = |u: &[f64], tau: f64| {
            let mut next = u.to_vec();
            for (_, on_free, on_held) in p.operator.rows() {
                // padded position q -> grid value q - 1
                let ku: f64 = on_free
                    .iter()
                    .chain(&on_held)
                    .map(|&(q, a)| a * u[q - 1])
                    .sum();
                for &(q, a) in &on_free {
                    next[q - 1] -= tau * a * ku;
                }
            }
            next
        };
        let close = |got: &[f64], want: &[f64], what: &str| {
            for (i, (g, w)) in got.iter().zip(want).enumerate() {
                assert!(
                    (g - w).abs() <= 1e-9 * (1.0 + w.abs()),
                    "{equation}, {bc}, {what}: value {i}: {g} vs {w}"
                );
            }
        };
        close(&o.values, &step(&p.initial, p.tau), "explicit");
        // One FED cycle (the fused frozen kernel inside, the two kernels
        // at the ends): the steps of the plan, in its order.
        let fed = Settings {
            cycles: Some(1),
            t_end: Some(5.0 * p0.tau_max),
            ..settings(Scheme::Fed, grid)
        };
        let (pf, of) = run(&s, &fed);
        let plan = pf.fed.as_ref().unwrap();
        assert!(plan.steps.len() >= 3, "{:?}", plan.steps);
        let expected = plan
            .steps
            .iter()
            .fold(pf.initial.clone(), |u, &tau| step(&u, tau));
        close(&of.values, &expected, "fed");
    }
}

/// `--allow-unstable` at 1.1 tau_max on linear heat: the command runs and
/// reports that the norm grew; at tau_max the same run does not.
#[test]
fn command_line_allow_unstable_shows_growth() {
    let heat = format!("{}/examples/simulate/heat.pde", env!("CARGO_MANIFEST_DIR"));
    let at_bound = pdec_json(&[
        "simulate", &heat, "--grid", "101", "--t-end", "1e-2", "--json",
    ]);
    assert_eq!(at_bound["norm_increased"], false);
    let tau_max = at_bound["tau_max"].as_f64().unwrap();
    let tau = format!("{:e}", 1.1 * tau_max);
    let t_end = format!("{:e}", 1.1 * tau_max * 400.0);
    let (code, _, err) = pdec(&["simulate", &heat, "--grid", "101", "--tau", &tau]);
    assert_eq!(code, 2);
    assert!(err.contains("E0704") && err.contains("tau_max"), "{err}");
    let v = pdec_json(&[
        "simulate",
        &heat,
        "--grid",
        "101",
        "--tau",
        &tau,
        "--t-end",
        &t_end,
        "--allow-unstable",
        "--json",
    ]);
    assert_eq!(v["norm_increased"], true);
    assert!(v["norm_last"].as_f64().unwrap() > 10.0 * v["norm_first"].as_f64().unwrap());
}

/// `initial u = data("...")`: the values (one per grid point) are the
/// initial state, the grid defaults to their count, and bad files are
/// located errors.
#[test]
fn initial_values_from_a_data_file() {
    let dir = scratch("simulate-data");
    std::fs::create_dir_all(&dir).unwrap();
    let n = 64;
    let h = 1.0 / n as f64;
    let values: Vec<f64> = (0..n).map(|i| ((i as f64 + 0.5) * h * 7.0).sin()).collect();
    let text: String = std::iter::once("# u at t = 0\n".to_string())
        .chain(values.iter().map(|v| format!("{v:e}\n")))
        .collect();
    std::fs::write(dir.join("signal.csv"), text).unwrap();
    std::fs::write(dir.join("bad.csv"), "0.5\n1.0\n  1..5\n").unwrap();
    let body = "domain x in [0, 1]\ntime t in [0, 1e-3]\nunknown u\nequation u_t = d(u_x/(1 + u_x^2), x)\nbc u_x = 0 on boundary\n";
    let data = dir.join("data.pde");
    std::fs::write(&data, format!("{body}initial u = data(\"signal.csv\")\n")).unwrap();
    let expression = dir.join("expr.pde");
    std::fs::write(&expression, format!("{body}initial u = sin(7*x)\n")).unwrap();
    let d = data.to_string_lossy().to_string();
    let from_data = pdec_json(&["simulate", &d, "--json"]);
    assert_eq!(from_data["grid"], n);
    let from_expression = pdec_json(&[
        "simulate",
        &expression.to_string_lossy(),
        "--grid",
        "64",
        "--json",
    ]);
    let first = |v: &serde_json::Value| v["norm_first"].as_f64().unwrap();
    let last = |v: &serde_json::Value| v["norm_last"].as_f64().unwrap();
    assert!((first(&from_data) - first(&from_expression)).abs() < 1e-12 * first(&from_data));
    assert!((last(&from_data) - last(&from_expression)).abs() < 1e-12 * last(&from_data));

    let (code, _, err) = pdec(&["simulate", &d, "--grid", "100"]);
    assert_eq!(code, 2);
    assert!(err.contains("E0707") && err.contains("64 values"), "{err}");
    assert!(err.contains("data.pde:6:18"), "located: {err}");
    for (file, place) in [("bad.csv", "bad.csv:3:3"), ("missing.csv", "6:18")] {
        let pde = dir.join(format!("{file}.pde"));
        std::fs::write(&pde, format!("{body}initial u = data(\"{file}\")\n")).unwrap();
        let (code, _, err) = pdec(&["simulate", &pde.to_string_lossy()]);
        assert_eq!(code, 2, "{err}");
        assert!(
            err.contains("E0707") && err.contains(place),
            "{file}: {err}"
        );
    }
    // The training commands refuse grid values as an input error at the
    // data statement.
    for args in [
        vec!["solve", &d, "--quiet"],
        vec!["spectrum", &d, "--diff", "ad"],
        vec!["study", &d, "--diff", "ad", "--quiet"],
        vec!["emit", &d, "--stage", "sym"],
    ] {
        let command = args[0];
        let (code, _, err) = pdec(&args);
        assert_eq!(code, 2, "{command}: {err}");
        assert!(
            err.contains("E0707") && err.contains("data.pde:6:"),
            "{command}: {err}"
        );
    }
    let _ = std::fs::remove_dir_all(dir);
}

/// Every example under examples/simulate/ runs (its own `scheme`), and
/// its norm does not grow.
#[test]
fn the_examples_run() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/simulate");
    let mut count = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("pde") {
            continue;
        }
        let v = pdec_json(&["simulate", &path.to_string_lossy(), "--json"]);
        assert_eq!(v["norm_increased"], false, "{}", path.display());
        count += 1;
    }
    assert!(count >= 4, "{count} examples");
}

/// One FED cycle of Perona-Malik on a grid of several tiles against the
/// frozen steps assembled from K's rows, with g = Phi(s)/s at the cycle's
/// start (so a misplaced diffusivity in the fused kernel shows).
#[test]
fn fed_cycle_equals_the_assembled_frozen_steps() {
    let s = spec(PERONA_MALIK);
    let grid = 2 * pdec::simulate::TILE + 37;
    let p0 = probe(&s, grid);
    let fed = Settings {
        cycles: Some(1),
        t_end: Some(5.0 * p0.tau_max),
        ..settings(Scheme::Fed, grid)
    };
    let (p, o) = run(&s, &fed);
    let rows = p.operator.rows();
    let u0 = &p.initial;
    let g: Vec<f64> = rows
        .iter()
        .map(|(_, on_free, on_held)| {
            let ku: f64 = on_free
                .iter()
                .chain(on_held)
                .map(|&(q, a)| a * u0[q - 1])
                .sum();
            if ku == 0.0 {
                1.0
            } else {
                p.diffusion.eval_flux(ku) / ku
            }
        })
        .collect();
    let plan = p.fed.as_ref().unwrap();
    assert!(plan.steps.len() >= 3);
    let expected = plan.steps.iter().fold(u0.clone(), |u, &tau| {
        let mut next = u.clone();
        for ((_, on_free, on_held), g) in rows.iter().zip(&g) {
            let ku: f64 = on_free
                .iter()
                .chain(on_held)
                .map(|&(q, a)| a * u[q - 1])
                .sum();
            for &(q, a) in on_free {
                next[q - 1] -= tau * a * g * ku;
            }
        }
        next
    });
    for (i, (got, want)) in o.values.iter().zip(&expected).enumerate() {
        assert!(
            (got - want).abs() <= 1e-9 * (1.0 + want.abs()),
            "value {i}: {got} vs {want}"
        );
    }
}
