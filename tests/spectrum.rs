//! `pdec spectrum`: singular values against an independent SVD (nalgebra),
//! FD spectra converging to the AD spectrum at the stencil's order, and
//! the command line.

mod common;
use common::{example, pdec, pdec_json};

use pdec::check::{self, Overrides};
use pdec::spectrum::{self, MatrixKind, Rows};
use pdec::train::TrainingProblem;

/// The checked problem of an example with overrides.
fn spec(name: &str, overrides: &Overrides) -> check::Spec {
    let source = std::fs::read_to_string(example(name)).unwrap();
    let (tree, diagnostics) = pdec::syntax::parse(&source);
    assert!(diagnostics.is_empty(), "{diagnostics:?}");
    let (spec, diagnostics) = check::check(&tree.unwrap(), overrides);
    assert!(diagnostics.is_empty(), "{diagnostics:?}");
    spec.unwrap()
}

/// The training matrix of a spec at its initial parameters.
fn matrix(spec: &check::Spec, rows: Rows) -> spectrum::TrainingMatrix {
    let lowered = pdec::lower::lower(spec).unwrap();
    let compiled = pdec::jit::Compiled::of_lowered(&lowered).unwrap();
    let training = pdec::sample::training_points(spec);
    let problem = TrainingProblem {
        executor: &compiled,
        lowered: &lowered,
        training: &training,
        equations: spec.equations.len(),
    };
    spectrum::training_matrix(spec, problem, rows).unwrap()
}

/// faer's values against nalgebra's SVD. A backward-stable SVD computes
/// every value to about eps * s_1 absolutely, so values far above that
/// agree to 1e-10 relatively, and every value above the cutoff to 1e-12
/// s_1 absolutely.
fn agrees_with_nalgebra(m: &spectrum::TrainingMatrix) {
    let a = &m.matrix;
    let s = spectrum::singular_values(a.as_ref()).unwrap();
    let copy = nalgebra::DMatrix::from_fn(a.nrows(), a.ncols(), |i, j| a[(i, j)]);
    let mut t: Vec<f64> = copy.singular_values().iter().copied().collect();
    t.sort_by(|x, y| y.total_cmp(x));
    assert_eq!(s.len(), t.len());
    let s1 = s[0];
    let mut checked = 0;
    for (i, (&x, &y)) in s.iter().zip(&t).enumerate() {
        if x <= 1e-13 * s1 {
            break;
        }
        assert!((x - y).abs() <= 1e-12 * s1, "s_{i}: {x:e} vs {y:e}");
        if x >= 1e-5 * s1 {
            assert!((x - y).abs() <= 1e-10 * x, "s_{i}: {x:e} vs {y:e}");
            checked += 1;
        }
    }
    assert!(checked >= 5, "only {checked} values compared");
}

#[test]
fn least_squares_values_match_nalgebra() {
    let m = matrix(&spec("poisson1d", &Overrides::default()), Rows::All);
    assert_eq!(m.kind, MatrixKind::LeastSquares);
    assert_eq!((m.matrix.nrows(), m.matrix.ncols()), (130, 200));
    agrees_with_nalgebra(&m);
    let interior = matrix(&spec("poisson1d", &Overrides::default()), Rows::Interior);
    assert_eq!(interior.matrix.nrows(), 128);
    agrees_with_nalgebra(&interior);
}

#[test]
fn jacobian_values_match_nalgebra() {
    let overrides = Overrides {
        width: Some(20.0),
        ..Overrides::default()
    };
    let m = matrix(&spec("poisson2d_shallow", &overrides), Rows::All);
    assert_eq!(m.kind, MatrixKind::Jacobian);
    assert_eq!(m.matrix.ncols(), 80);
    agrees_with_nalgebra(&m);
}

/// The largest singular value of the FD matrix converges to the AD one at
/// the stencil's order: halving h divides the difference by 4 (order 2)
/// or 16 (order 4).
#[test]
fn fd_spectrum_converges_to_ad_at_the_stencil_order() {
    let s_max = |overrides: &Overrides| {
        let m = matrix(&spec("poisson1d", overrides), Rows::All);
        spectrum::singular_values(m.matrix.as_ref()).unwrap()[0]
    };
    let ad = s_max(&Overrides::default());
    for (order, expected) in [(2.0, 4.0), (4.0, 16.0)] {
        let differences: Vec<f64> = [0.1, 0.05, 0.025]
            .iter()
            .map(|&h| {
                let fd = s_max(&Overrides {
                    diff: Some("fd".into()),
                    h: Some(h),
                    order: Some(order),
                    ..Overrides::default()
                });
                (fd - ad).abs()
            })
            .collect();
        for pair in differences.windows(2) {
            let ratio = pair[0] / pair[1];
            assert!(
                (ratio / expected - 1.0).abs() < 0.05,
                "order {order}: ratio {ratio} ({differences:?})"
            );
        }
    }
}

#[test]
fn spectrum_command_compares_modes() {
    let r = pdec_json(&[
        "spectrum",
        &example("poisson1d"),
        "--diff",
        "ad,fd",
        "--h",
        "1e-1,1e-2",
        "--json",
    ]);
    assert_eq!(r["matrix"], "least_squares");
    assert_eq!(r["relative_cutoff"].as_f64(), Some(1e-13));
    let spectra = r["spectra"].as_array().unwrap();
    let labels: Vec<&str> = spectra
        .iter()
        .map(|s| s["label"].as_str().unwrap())
        .collect();
    assert_eq!(
        labels,
        ["ad", "fd(h = 0.1, order = 2)", "fd(h = 0.01, order = 2)"]
    );
    for s in spectra {
        let rank = s["effective_cutoff_number"].as_u64().unwrap();
        let h = s["truncated_entropy"].as_f64().unwrap();
        assert!((1..=130).contains(&rank));
        // 0 <= H <= ln R, and exp(H) is the effective rank.
        assert!(h >= 0.0 && h <= (rank as f64).ln() + 1e-12);
        let effective = s["effective_rank"].as_f64().unwrap();
        assert!((effective - h.exp()).abs() < 1e-9 * effective);
        let cutoff = s["cutoff"].as_f64().unwrap();
        assert_eq!(cutoff, 1e-13 * s["s_max"].as_f64().unwrap());
    }
    let comparisons = r["comparisons"].as_array().unwrap();
    // Every pair: (ad, fd 0.1), (ad, fd 0.01), (fd 0.1, fd 0.01).
    assert_eq!(comparisons.len(), 3);
    assert_eq!(comparisons[2]["reference"], "fd(h = 0.1, order = 2)");
    assert_eq!(comparisons[2]["other"], "fd(h = 0.01, order = 2)");
    // The smaller step agrees with AD on more leading values.
    let agree = |i: usize| comparisons[i]["agree_up_to"].as_u64().unwrap();
    assert!(agree(1) > agree(0), "{comparisons:?}");
}

#[test]
fn spectrum_out_directory_and_bad_flags() {
    let dir = std::env::temp_dir().join(format!("pdec-spectrum-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let (code, _, err) = pdec(&[
        "spectrum",
        &example("poisson1d"),
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let csv = std::fs::read_to_string(dir.join("spectrum.csv")).unwrap();
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some("index,\"ad\",\"fd(h = 0.01, order = 2)\"")
    );
    assert_eq!(lines.count(), 130);
    let svg = std::fs::read_to_string(dir.join("spectrum.svg")).unwrap();
    assert!(svg.starts_with("<svg"));
    assert!(dir.join("report.json").is_file());
    std::fs::remove_dir_all(&dir).unwrap();

    let (code, _, err) = pdec(&["spectrum", &example("poisson1d"), "--cutoff", "2"]);
    assert_eq!(code, 2);
    assert!(err.contains("--cutoff"), "{err}");
    let (code, _, err) = pdec(&[
        "spectrum",
        &example("poisson1d"),
        "--diff",
        "ad",
        "--h",
        "1e-2",
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("not among --diff"), "{err}");
    let (code, _, err) = pdec(&["spectrum", &example("poisson1d"), "--diff", "ad,fe"]);
    assert_eq!(code, 2);
    assert!(err.contains("fe"), "{err}");
}

/// --at-epochs: the Jacobian after e Adam epochs is the one at the
/// parameters a separate Adam run of e epochs reaches.
#[test]
fn jacobian_after_adam_epochs_matches_a_separate_run() {
    let r = pdec_json(&[
        "spectrum",
        &example("poisson2d_shallow"),
        "--width",
        "10",
        "--diff",
        "ad",
        "--at-epochs",
        "0,7",
        "--json",
    ]);
    let spectra = r["spectra"].as_array().unwrap();
    assert_eq!(spectra.len(), 2);
    assert_eq!(spectra[1]["label"], "ad @ epoch 7");
    let overrides = Overrides {
        width: Some(10.0),
        ..Overrides::default()
    };
    let spec = spec("poisson2d_shallow", &overrides);
    let lowered = pdec::lower::lower(&spec).unwrap();
    let compiled = pdec::jit::Compiled::of_lowered(&lowered).unwrap();
    let training = pdec::sample::training_points(&spec);
    let mut theta = pdec::train::init::initial_parameters(&spec, &lowered.layout);
    let pdec::check::Trainer::Adam { lr, .. } = spec.train else {
        panic!("the example trains with adam")
    };
    let problem = TrainingProblem {
        executor: &compiled,
        lowered: &lowered,
        training: &training,
        equations: spec.equations.len(),
    };
    pdec::train::network::adam(problem, &mut theta, lr, 7, |_, _, _| {}).unwrap();
    let m = spectrum::training_matrix_at(problem, &theta, Rows::All).unwrap();
    let s = spectrum::singular_values(m.matrix.as_ref()).unwrap();
    assert_eq!(spectra[1]["s_max"].as_f64(), Some(s[0]));
    assert_ne!(spectra[0]["s_max"], spectra[1]["s_max"]);
}

/// A deep network: the Jacobian rows from the reverse sweep at the initial
/// parameters (mlp 8 x 2 on examples/poisson2d_mlp.pde) have nalgebra's
/// singular values; with `--at-epochs 0,5` the second spectrum is the one
/// at the parameters of a separate 5-epoch Adam run.
#[test]
fn mlp_spectrum_at_initialization_and_after_adam_epochs() {
    let overrides = Overrides {
        width: Some(8.0),
        depth: Some(2.0),
        train: Some("adam".into()),
        ..Overrides::default()
    };
    let spec = spec("poisson2d_mlp", &overrides);
    let m = matrix(&spec, Rows::All);
    assert_eq!(m.kind, MatrixKind::Jacobian);
    // 2 x 8 + 8 + 8 x 8 + 8 + 8 + 1 trained parameters.
    assert_eq!(m.matrix.ncols(), 105);
    assert_eq!(m.matrix.nrows(), 1156 + 136);
    agrees_with_nalgebra(&m);

    let r = pdec_json(&[
        "spectrum",
        &example("poisson2d_mlp"),
        "--width",
        "8",
        "--depth",
        "2",
        "--train",
        "adam",
        "--diff",
        "ad",
        "--at-epochs",
        "0,5",
        "--json",
    ]);
    let spectra = r["spectra"].as_array().unwrap();
    assert_eq!(spectra.len(), 2);
    assert_eq!(spectra[1]["label"], "ad @ epoch 5");
    let lowered = pdec::lower::lower(&spec).unwrap();
    let compiled = pdec::jit::Compiled::of_lowered(&lowered).unwrap();
    let training = pdec::sample::training_points(&spec);
    let mut theta = pdec::train::init::initial_parameters(&spec, &lowered.layout);
    let pdec::check::Trainer::Adam { lr, .. } = spec.train else {
        panic!("--train adam")
    };
    let problem = TrainingProblem {
        executor: &compiled,
        lowered: &lowered,
        training: &training,
        equations: spec.equations.len(),
    };
    let first = spectrum::singular_values(m.matrix.as_ref()).unwrap();
    assert_eq!(spectra[0]["s_max"].as_f64(), Some(first[0]));
    pdec::train::network::adam(problem, &mut theta, lr, 5, |_, _, _| {}).unwrap();
    let after = spectrum::training_matrix_at(problem, &theta, Rows::All).unwrap();
    let s = spectrum::singular_values(after.matrix.as_ref()).unwrap();
    assert_eq!(spectra[1]["s_max"].as_f64(), Some(s[0]));
    assert_ne!(spectra[0]["s_max"], spectra[1]["s_max"]);
}
