//! The memory estimate (E0515): runs that cannot fit stop with a clear
//! error, exit code 2, before anything is allocated; the estimate itself is
//! checked against the sizes counted by hand.

mod common;
use common::{example, pdec};

use pdec::check::memory::{check_fits, estimate};
use pdec::check::{self, Overrides};

/// Issue 15: `--features 100000000` on poisson2d aborted with exit 134
/// (allocation failure). It is an input error naming the sizes, for
/// `solve` and for `check` alike.
#[test]
fn too_many_features_is_an_input_error_not_an_abort() {
    for command in ["solve", "check"] {
        let (code, out, err) = pdec(&[command, &example("poisson2d"), "--features", "100000000"]);
        assert_eq!(code, 2, "{command}: {err}");
        assert!(out.is_empty(), "{command}: {out}");
        assert!(
            err.contains("error[E0515]: this run needs about 6.1 TB of memory"),
            "{err}"
        );
        assert!(
            err.contains("least-squares matrix: 3840 x 100000000 (3.1 TB)"),
            "{err}"
        );
        assert!(
            err.contains("reduce `features` (100000000, from the command line)"),
            "{err}"
        );
    }
}

/// Too many sample points: located at the `sample` statement.
#[test]
fn too_many_points_are_located_at_the_sample_statement() {
    let file = format!("{}/tests/data/huge_sample.pde", env!("CARGO_MANIFEST_DIR"));
    let (code, _, err) = pdec(&["solve", &file]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("error[E0515]"), "{err}");
    assert!(err.contains("huge_sample.pde:10:1"), "{err}");
    assert!(
        err.contains("least-squares matrix: 19000192 x 1600 (243.2 GB)"),
        "{err}"
    );
}

/// A deep network's jets dominate: width x points x components x depth.
#[test]
fn a_huge_mlp_names_its_layer_jets() {
    let (code, _, err) = pdec(&[
        "check",
        &example("poisson2d"),
        "--ansatz",
        "mlp",
        "--train",
        "adam",
        "--width",
        "100000",
        "--depth",
        "100",
    ]);
    assert_eq!(code, 2, "{err}");
    // 4 x 101 layers x 100000 x 3600 points x 5 components (1, x, y, xx,
    // yy: the derivatives the problem reads, closed under lower orders)
    // x 8 bytes = 5.8 TB.
    assert!(
        err.contains(
            "parameter vectors (theta and the trainer's state): 4 x 990010300001 (31.7 TB)"
        ),
        "{err}"
    );
    assert!(
        err.contains("mlp layer jets (4 x (depth + 1) x width x points x jet components): 4 x 101 x 100000 x 3600 x 5 (5.8 TB)"),
        "{err}"
    );
}

/// A Laplacian in 100-D needs 2d + 1 = 201 jet components (the value, the
/// first and the pure second derivatives), not all binom(102, 2) = 5151
/// derivatives of order up to 2: 4 x 5 x 256 x 100 x 201 x 8 bytes.
#[test]
fn a_laplacian_in_high_dimensions_counts_its_own_derivatives() {
    let dir = std::env::temp_dir().join(format!("pdec-memory-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("poisson100d.pde");
    std::fs::write(
        &path,
        "const n = 100\ndomain x in [0, 1]^n\nunknown u\nequation lap(u) = -sin(sum(x))\n\
         bc u = sin(sum(x))/n on boundary\nansatz mlp(width = 256, depth = 4)\n\
         sample interior = random(100), boundary = random(100)\ntrain adam(epochs = 1)\n",
    )
    .unwrap();
    let (spec, _) = checked(path.to_str().unwrap(), &Overrides::default());
    let jets = estimate(&spec, false)
        .parts
        .iter()
        .find(|p| p.what.starts_with("mlp layer jets"))
        .map(|p| p.bytes)
        .expect("an mlp part");
    assert_eq!(jets, 8.0 * 4.0 * 5.0 * 256.0 * 100.0 * 201.0);
    std::fs::remove_dir_all(&dir).unwrap();
}

fn checked(path: &str, overrides: &Overrides) -> (pdec::check::Spec, pdec::syntax::ast::File) {
    let source = std::fs::read_to_string(path).unwrap();
    let (tree, _) = pdec::syntax::parse(&source);
    let tree = tree.unwrap();
    let (spec, diagnostics) = check::check(&tree, overrides);
    (spec.unwrap_or_else(|| panic!("{diagnostics:?}")), tree)
}

/// poisson2d, rfm 1600, lstsq on a 60 x 60 grid with 4 x 60 boundary
/// points: the matrix 3840 x 1600, stage 1's copy 3840 x 1601, the
/// triangle 1600 x 1601, the points 3840 x 2 and theta 1600, in f64; the spectrum adds
/// two 3840 x 1600 and one 1600 x 1600. One byte less than that is an
/// error, that much is not.
#[test]
fn the_estimate_counts_the_least_squares_sizes() {
    let (spec, tree) = checked(&example("poisson2d"), &Overrides::default());
    let solve = 8.0 * (3840.0 * 1600.0 + 3840.0 * 1601.0 + 1600.0 * 1601.0 + 3840.0 * 2.0 + 1600.0);
    assert_eq!(estimate(&spec, false).total(), solve);
    let spectrum = solve + 8.0 * (2.0 * 3840.0 * 1600.0 + 1600.0 * 1600.0);
    assert_eq!(estimate(&spec, true).total(), spectrum);
    let overrides = Overrides::default();
    assert!(check_fits(&spec, &tree, &overrides, false, (solve, "test")).is_none());
    let d = check_fits(&spec, &tree, &overrides, false, (solve - 1.0, "test")).unwrap();
    assert_eq!(d.code, "E0515");
}

/// Levenberg-Marquardt on burgers (rfm 400, 256 + 2 rows): two
/// evaluations 258 x 400, the damped system and its copy 658 x 401, the
/// points 258 x 1 and 3 parameter vectors of 400.
#[test]
fn the_estimate_counts_the_gauss_newton_sizes() {
    let (spec, _) = checked(&example("burgers"), &Overrides::default());
    let expected = 8.0 * (2.0 * 258.0 * 400.0 + 2.0 * 658.0 * 401.0 + 258.0 + 3.0 * 400.0);
    assert_eq!(estimate(&spec, false).total(), expected);
}

/// Every example fits in 1 GB.
#[test]
fn every_example_needs_less_than_a_gigabyte() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    for entry in std::fs::read_dir(&root).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "pde") {
            let (spec, _) = checked(path.to_str().unwrap(), &Overrides::default());
            let need = estimate(&spec, true).total();
            assert!(need < 1e9, "{}: {need:e} bytes", path.display());
        }
    }
}
