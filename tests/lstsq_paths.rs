//! The least-squares solve with columns selected on a sketch
//! (`lstsq::solve_selecting_columns`) against the direct solve
//! (`lstsq::solve`) on every example trained by `lstsq`: the same accuracy
//! against the exact solution, and a rank within a few columns.

use pdec::check::{Spec, Trainer};
use pdec::train::lstsq::{self, Path};

fn examples() -> Vec<std::path::PathBuf> {
    let root = env!("CARGO_MANIFEST_DIR");
    let mut files = Vec::new();
    for dir in ["examples", "examples/paper"] {
        for entry in std::fs::read_dir(format!("{root}/{dir}")).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "pde") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

fn spec_of(path: &std::path::Path) -> Spec {
    let source = std::fs::read_to_string(path).unwrap();
    let (file, _) = pdec::syntax::parse(&source);
    let (spec, diagnostics) = pdec::check::check(&file.expect("parses"), &Default::default());
    spec.unwrap_or_else(|| panic!("{}: {diagnostics:?}", path.display()))
}

/// The relative L2 error of each unknown for the output weights `x`.
fn errors(spec: &Spec, prepared: &Prepared, x: &[f64]) -> Vec<f64> {
    let mut theta = prepared.theta.clone();
    let first = theta.len() - x.len();
    theta[first..].copy_from_slice(x);
    let test = pdec::sample::test_points(spec);
    let predicted =
        pdec::report::predict(&prepared.compiled, &prepared.lowered, &theta, &test).unwrap();
    let exact = pdec::report::exact_values(spec, &test).expect("exact solution");
    pdec::report::errors(spec, &predicted, &exact)
        .iter()
        .map(|e| e.relative_l2)
        .collect()
}

struct Prepared {
    lowered: pdec::lower::Lowered,
    compiled: pdec::jit::Compiled,
    theta: Vec<f64>,
}

#[test]
fn selected_columns_solve_every_example_as_accurately_as_the_direct_path() {
    let mut selected_somewhere = false;
    for path in examples() {
        let spec = spec_of(&path);
        let Trainer::Lstsq { cutoff } = spec.train else {
            continue;
        };
        if spec.linearity == pdec::check::Linearity::Nonlinear {
            continue;
        }
        let lowered = pdec::lower::lower(&spec).unwrap();
        let compiled = pdec::jit::Compiled::of_lowered(&lowered).unwrap();
        let training = pdec::sample::training_points(&spec);
        let theta = pdec::train::init::initial_parameters(&spec, &lowered.layout);
        let problem = pdec::train::TrainingProblem {
            executor: &compiled,
            lowered: &lowered,
            training: &training,
            equations: spec.equations.len(),
        };
        let system = pdec::train::assemble::assemble(problem, &theta).unwrap();
        let a = system.matrix();
        let direct = lstsq::solve(a, &system.rhs, cutoff, faer::Par::Seq).unwrap();
        let (selected, how) =
            lstsq::solve_selecting_columns(a, &system.rhs, cutoff, faer::Par::Seq).unwrap();
        let prepared = Prepared {
            lowered,
            compiled,
            theta,
        };
        let e_direct = errors(&spec, &prepared, &direct.solution);
        let e_selected = errors(&spec, &prepared, &selected.solution);
        eprintln!(
            "{}: {} x {}, {how:?}, rank {} vs {}, error {e_selected:?} vs {e_direct:?}",
            path.file_name().unwrap().to_string_lossy(),
            a.nrows(),
            a.ncols(),
            selected.rank,
            direct.rank
        );
        selected_somewhere |= matches!(how, Path::Selected { .. });
        for (s, d) in e_selected.iter().zip(&e_direct) {
            assert!(
                *s <= 2.0 * d + 1e-12,
                "{}: error {s:e} with selected columns, {d:e} directly",
                path.display()
            );
        }
        assert!(
            selected.rank.abs_diff(direct.rank) <= direct.rank / 20 + 2,
            "{}: rank {} vs {}",
            path.display(),
            selected.rank,
            direct.rank
        );
    }
    assert!(selected_somewhere, "no example took the selected path");
}
