//! End-to-end tests of `pdec check` and `pdec emit` through the same entry
//! point the binary uses. Every rendered diagnostic is a reviewed snapshot.

mod common;
use common::pdec;

use std::path::Path;

fn relative(path: &Path) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    path.strip_prefix(root)
        .unwrap_or(path)
        .to_string_lossy()
        .replace('\\', "/")
}

/// Each file under tests/bad/ holds one mistake: the check must fail with
/// exit code 2, and the rendered diagnostics are snapshotted.
#[test]
fn bad_inputs_are_reported_with_location() {
    insta::glob!("bad/*.pde", |path| {
        let path = relative(path);
        let (code, stdout, stderr) = pdec(&["check", &path]);
        assert_eq!(code, 2, "{path} should be rejected:\n{stderr}");
        assert!(stdout.is_empty(), "{path}: nothing on stdout on failure");
        assert!(
            stderr.contains(&format!("{path}:")) || stderr.contains("error[E05"),
            "{path}: diagnostics must point at file:line:col\n{stderr}"
        );
        insta::assert_snapshot!(stderr);
    });
}

/// Every example passes `check` with no warning at all.
#[test]
fn every_example_checks_cleanly() {
    let mut count = 0;
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let entries = std::fs::read_dir(&root)
        .expect("examples/ exists")
        .chain(std::fs::read_dir(root.join("paper")).expect("examples/paper/ exists"))
        .chain(std::fs::read_dir(root.join("paper/long")).expect("examples/paper/long/ exists"));
    for entry in entries {
        let path = entry.expect("readable entry").path();
        if path.extension().is_some_and(|e| e == "pde") {
            count += 1;
            let path = relative(&path);
            let (code, _, stderr) = pdec(&["check", "--deny-warnings", &path]);
            assert_eq!(code, 0, "{path} must check cleanly:\n{stderr}");
            assert!(stderr.is_empty(), "{path} printed diagnostics:\n{stderr}");
        }
    }
    assert!(count >= 14, "expected at least 14 examples, found {count}");
}

/// The summaries `check` prints for the examples are reviewed text.
#[test]
fn example_summaries() {
    insta::glob!("../examples", "*.pde", |path| {
        let path = relative(path);
        let (code, stdout, _) = pdec(&["check", &path]);
        assert_eq!(code, 0);
        insta::assert_snapshot!(stdout);
    });
}

/// The exact-solution check runs on each boundary piece of a shaped
/// domain and names the piece it fails on: a Neumann condition on a hole
/// written with the disk's own normal (out of the hole) instead of the
/// domain's (into the hole) is flagged on `hole`, and `--deny-warnings`
/// makes it an input error.
#[test]
fn exact_check_names_the_piece_it_fails_on() {
    let file = "tests/data/hole_wrong_normal.pde";
    let (code, stdout, stderr) = pdec(&["check", file]);
    assert_eq!(code, 0);
    assert!(stdout.contains("pieces       outer (x = -1)"), "{stdout}");
    assert!(stderr.contains("boundary condition 2 on hole"), "{stderr}");
    insta::assert_snapshot!(stderr);
    let (code, _, _) = pdec(&["check", "--deny-warnings", file]);
    assert_eq!(code, 2);
}

#[test]
fn emit_ast_and_problem_for_wave() {
    let (code, ast, _) = pdec(&["emit", "examples/wave.pde", "--stage", "ast"]);
    assert_eq!(code, 0);
    insta::assert_snapshot!("wave_ast", ast);
    let (code, problem, _) = pdec(&["emit", "examples/wave.pde", "--stage", "problem"]);
    assert_eq!(code, 0);
    insta::assert_snapshot!("wave_problem", problem);
}

#[test]
fn overrides_replace_file_settings() {
    let (code, out, err) = pdec(&[
        "check",
        "examples/poisson1d.pde",
        "--diff",
        "fd",
        "--h",
        "1e-3",
        "--order",
        "4",
        "--features",
        "50",
        "--seed",
        "7",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("diff         fd(h = 0.001, order = 4)"),
        "{out}"
    );
    assert!(out.contains("features = 50"), "{out}");
    assert!(out.contains("seed = 7"), "{out}");
}

/// `--sigma`, `--samples`, `--estimator` set `diff stein`'s parameters;
/// bad values are input errors (exit 2) naming the flag.
#[test]
fn stein_settings_come_from_the_command_line() {
    let (code, out, err) = pdec(&[
        "check",
        "examples/poisson1d.pde",
        "--ansatz",
        "mlp",
        "--train",
        "adam",
        "--diff",
        "stein",
        "--sigma",
        "0.05",
        "--samples",
        "16",
        "--estimator",
        "plain",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("stein(sigma = 0.05, samples = 16, estimator = plain, seed = 0"),
        "{out}"
    );
    let cases: &[(&[&str], &str)] = &[
        (
            &["--sigma", "-1"],
            "--sigma: `sigma` must be positive, got -1",
        ),
        (
            &["--sigma", "0"],
            "--sigma: `sigma` must be positive, got 0",
        ),
        (
            &["--samples", "2.5"],
            "--samples: `samples` must be a whole number >= 1, got 2.5",
        ),
        (
            &["--samples", "0"],
            "--samples: `samples` must be a whole number >= 1, got 0",
        ),
        (
            &["--estimator", "control"],
            "--estimator: unknown estimator `control`; expected one of plain, antithetic",
        ),
    ];
    for (flags, expected) in cases {
        let mut args = vec![
            "check",
            "examples/poisson1d.pde",
            "--ansatz",
            "mlp",
            "--train",
            "adam",
            "--diff",
            "stein",
        ];
        args.extend_from_slice(flags);
        let (code, _, err) = pdec(&args);
        assert_eq!(code, 2, "{flags:?} must be rejected");
        assert!(
            err.contains(expected),
            "{flags:?}: expected {expected:?} in\n{err}"
        );
    }
    let (code, _, err) = pdec(&["check", "examples/poisson1d.pde", "--samples", "8"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("--samples does not apply to `diff ad`"),
        "{err}"
    );
    let (code, _, err) = pdec(&[
        "spectrum",
        "examples/poisson1d.pde",
        "--diff",
        "ad,fd",
        "--sigma",
        "0.1",
    ]);
    assert_eq!(code, 2);
    assert!(
        err.contains("--sigma: the setting applies to stein"),
        "{err}"
    );
}

#[test]
fn overrides_are_validated_like_file_settings() {
    let cases: &[(&[&str], &str)] = &[
        (
            &["--diff", "fd", "--h", "-1"],
            "--h: `h` must be positive, got -1",
        ),
        (&["--h", "1e-3"], "--h does not apply to `diff ad`"),
        (&["--width", "10"], "--width does not apply to `ansatz rfm`"),
        (&["--diff", "spectral"], "unknown diff mode `spectral`"),
        (
            &["--features", "2.5"],
            "`features` must be a whole number >= 1, got 2.5",
        ),
        (&["--activation", "relu"], "unknown activation `relu`"),
        (
            &["--diff", "fd", "--order", "3"],
            "`order` must be 2 or 4, got 3",
        ),
        (
            &["--ansatz", "shallow", "--train", "lstsq"],
            "cannot train a `shallow` network",
        ),
    ];
    for (flags, expected) in cases {
        let mut args = vec!["check", "examples/poisson1d.pde"];
        args.extend_from_slice(flags);
        let (code, _, err) = pdec(&args);
        assert_eq!(code, 2, "{flags:?} must be rejected");
        assert!(
            err.contains(expected),
            "{flags:?}: expected {expected:?} in\n{err}"
        );
    }
}

#[test]
fn unreadable_files_are_input_errors() {
    let (code, _, err) = pdec(&["check", "tests/does-not-exist.pde"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("cannot read tests/does-not-exist.pde: no such file"),
        "{err}"
    );
    let (code, _, err) = pdec(&["check", "tests"]);
    assert_eq!(code, 2);
    assert!(err.contains("cannot read tests"), "{err}");
}

#[test]
fn bad_command_lines_exit_with_2() {
    assert_eq!(pdec(&["check"]).0, 2);
    assert_eq!(pdec(&["frobnicate"]).0, 2);
    assert_eq!(pdec(&["emit", "examples/wave.pde", "--stage", "nope"]).0, 2);
    assert_eq!(pdec(&["check", "examples/wave.pde", "--h", "abc"]).0, 2);
}

#[test]
fn help_shows_purpose_and_example() {
    for sub in [&["--help"][..], &["check", "--help"], &["emit", "--help"]] {
        let (code, out, _) = pdec(sub);
        assert_eq!(code, 0);
        assert!(
            out.contains("Example:"),
            "{sub:?} help lacks an example:\n{out}"
        );
    }
}

#[test]
fn several_independent_errors_are_reported_in_one_run() {
    let dir = std::env::temp_dir().join(format!("pdec-multi-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("multi.pde");
    std::fs::write(
        &file,
        "domain x in [0, 1]\nunknown u\nequation -u_xx = q\nbc u = 0 on x = 2\nansatz rfm(features = 0)\n",
    )
    .unwrap();
    let (code, _, err) = pdec(&["check", file.to_str().unwrap()]);
    std::fs::remove_dir_all(&dir).ok();
    assert_eq!(code, 2);
    assert!(err.contains("undefined name `q`"), "{err}");
    assert!(err.contains("x = 2 is not a face of the domain"), "{err}");
    assert!(
        err.contains("`features` must be a whole number >= 1, got 0"),
        "{err}"
    );
    assert!(err.contains("3 errors"), "{err}");
}

/// Generated code is part of the interface: every stage of poisson1d and
/// wave, in ad and fd, is a reviewed snapshot.
#[test]
fn emit_stages_for_poisson1d_and_wave() {
    for example in ["poisson1d", "wave"] {
        for diff in ["ad", "fd"] {
            for stage in ["sym", "ir", "clif", "asm"] {
                let path = format!("examples/{example}.pde");
                let (code, out, err) = pdec(&["emit", &path, "--stage", stage, "--diff", diff]);
                assert_eq!(code, 0, "{err}");
                insta::assert_snapshot!(format!("emit_{example}_{diff}_{stage}"), out);
            }
        }
    }
}

/// A deep network (examples/heat_mlp.pde, a full jet u, u_x, u_t, u_xx):
/// `sym` shows the per-layer jet rules and their adjoints, `ir`, `clif`
/// and `asm` the layer kernels, their adjoints and the residual kernels.
#[test]
fn emit_stages_for_heat_mlp() {
    for stage in ["sym", "ir", "clif", "asm"] {
        let (code, out, err) = pdec(&["emit", "examples/heat_mlp.pde", "--stage", stage]);
        assert_eq!(code, 0, "{err}");
        insta::assert_snapshot!(format!("emit_heat_mlp_ad_{stage}"), out);
    }
}

/// The exactly periodic ansatz (`periodic in x`): `sym` shows x entering
/// the neuron as cos(2 pi x) and sin(2 pi x) with weights w_cos_x and
/// w_sin_x, differentiated through (`ad`) or stepped in x (`fd`), and a
/// deep network's first layer inputs.
#[test]
fn emit_sym_for_the_periodic_ansatz() {
    let path = "examples/poisson1d_periodic_ansatz.pde";
    for diff in ["ad", "fd"] {
        let (code, out, err) = pdec(&["emit", path, "--stage", "sym", "--diff", diff]);
        assert_eq!(code, 0, "{err}");
        insta::assert_snapshot!(format!("emit_poisson1d_periodic_ansatz_{diff}_sym"), out);
    }
    let (code, out, err) = pdec(&[
        "emit", path, "--stage", "sym", "--ansatz", "mlp", "--width", "4", "--depth", "1",
        "--train", "lbfgs",
    ]);
    assert_eq!(code, 0, "{err}");
    let first = out.lines().next().unwrap();
    assert_eq!(
        first,
        "first layer inputs: cos(6.283185307179586*x), sin(6.283185307179586*x)"
    );
}

/// Every example can be emitted at every stage in both diff modes.
#[test]
fn every_example_emits_every_stage() {
    for entry in std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("examples")).unwrap()
    {
        let path = relative(&entry.unwrap().path());
        if !path.ends_with(".pde") {
            continue;
        }
        for stage in ["ast", "problem", "sym", "ir", "clif"] {
            for diff in ["ad", "fd"] {
                let (code, out, err) = pdec(&["emit", &path, "--stage", stage, "--diff", diff]);
                assert_eq!(code, 0, "{path} --stage {stage} --diff {diff}: {err}");
                assert!(!out.is_empty());
            }
        }
    }
}
