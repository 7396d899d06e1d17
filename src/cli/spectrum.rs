//! `pdec spectrum`: singular values and truncated entropy of the training
//! matrix, for each diff mode (and fd step) and, for networks, at epochs of
//! the Adam run.

use std::time::Instant;

use super::session::Session;
use super::{
    all_cores, compile, output, overrides, DiffArgs, DiffListArgs, RowsArg, SpectrumArgs, SteinArgs,
};
use super::{EXIT_INPUT, EXIT_OK, EXIT_RUNTIME};
use crate::check::{self, Overrides, Spec};
use crate::lower;
use crate::report::{SpectrumEntry, SpectrumReport};
use crate::sample;
use crate::spectrum;
use crate::train;

/// Runs `pdec spectrum`; returns the exit code.
pub(super) fn run(args: SpectrumArgs, session: &mut Session) -> i32 {
    let SpectrumArgs {
        file,
        rows,
        cutoff,
        at_epochs,
        json,
        out,
        overrides: o,
        diffs,
    } = args;
    if !(cutoff > 0.0 && cutoff < 1.0) {
        let _ = writeln!(
            session.stderr,
            "error[E0504]: --cutoff: the relative cutoff must be between 0 and 1, got {cutoff}"
        );
        return EXIT_INPUT;
    }
    let runs = match diff_runs(&diffs) {
        Ok(runs) => runs,
        Err(message) => {
            let _ = writeln!(session.stderr, "error[E0504]: {message}");
            return EXIT_INPUT;
        }
    };
    let variants: Vec<Overrides> = runs.into_iter().map(|d| overrides(o.clone(), d)).collect();
    let Ok((_, specs)) = session.check_variants(&file, &variants) else {
        return EXIT_INPUT;
    };
    if specs
        .first()
        .is_some_and(|spec| session.refuse_initial_data(&file, spec, "spectrum"))
    {
        return EXIT_INPUT;
    }
    let mut at_epochs = at_epochs;
    at_epochs.sort_unstable();
    at_epochs.dedup();
    if at_epochs != [0] {
        for spec in &specs {
            let network = !(matches!(spec.ansatz, check::Ansatz::Rfm { .. })
                && spec.linearity != check::Linearity::Nonlinear);
            if !network || !matches!(spec.train, check::Trainer::Adam { .. }) {
                let _ = writeln!(
                    session.stderr,
                    "error[E0507]: --at-epochs needs a network trained by `adam`, but {} uses {} with `train {}`",
                    file.display(),
                    check::print::ansatz(&spec.ansatz),
                    spec.train.name()
                );
                return EXIT_INPUT;
            }
        }
    }
    if let Some(dir) = &out {
        if let Err(message) = output::prepare_dir(dir) {
            let _ = writeln!(session.stderr, "error[E0002]: {message}");
            return EXIT_INPUT;
        }
    }
    let rows = match rows {
        RowsArg::All => spectrum::Rows::All,
        RowsArg::Interior => spectrum::Rows::Interior,
    };
    let report = match spectra(&specs, rows, cutoff, &at_epochs, all_cores()) {
        Ok(report) => report,
        Err(message) => {
            let _ = writeln!(session.stderr, "error: {message}");
            return EXIT_RUNTIME;
        }
    };
    if let Some(dir) = &out {
        if let Err(message) = output::write_drawn(dir, report.files()) {
            let _ = writeln!(session.stderr, "error: {message}");
            return EXIT_RUNTIME;
        }
    }
    if json {
        let _ = writeln!(session.stdout, "{}", report.to_json());
    } else {
        let _ = write!(session.stdout, "{report}");
    }
    EXIT_OK
}

/// The diff settings `spectrum` runs: each mode of `--diff` in order, fd
/// once per step of `--h` (or once with the file's step).
fn diff_runs(d: &DiffListArgs) -> Result<Vec<DiffArgs>, String> {
    let mut runs: Vec<DiffArgs> = Vec::new();
    let mut modes: Vec<&str> = Vec::new();
    for mode in d.diff.iter().map(|m| m.trim()) {
        if !modes.contains(&mode) {
            modes.push(mode);
        }
    }
    if !d.h.is_empty() && !modes.contains(&"fd") {
        return Err("--h: the steps apply to fd, which is not among --diff".into());
    }
    let stein_flag = [
        d.stein.sigma.map(|_| "--sigma"),
        d.stein.samples.map(|_| "--samples"),
    ]
    .into_iter()
    .chain([d.stein.estimator.as_ref().map(|_| "--estimator")])
    .flatten()
    .next();
    if let (Some(flag), false) = (stein_flag, modes.contains(&"stein")) {
        return Err(format!(
            "{flag}: the setting applies to stein, which is not among --diff"
        ));
    }
    for mode in modes {
        let fd = mode == "fd";
        let stein = mode == "stein";
        let run = |h: Option<f64>| DiffArgs {
            diff: Some(mode.to_string()),
            h,
            order: if fd { d.order } else { None },
            stein: if stein {
                d.stein.clone()
            } else {
                SteinArgs::default()
            },
        };
        if fd && !d.h.is_empty() {
            runs.extend(d.h.iter().map(|&h| run(Some(h))));
        } else {
            runs.push(run(None));
        }
    }
    Ok(runs)
}

/// Builds every spec's training matrix (same points, seed and features),
/// at each of `at_epochs` for networks, and summarizes its singular values.
pub(super) fn spectra(
    specs: &[Spec],
    rows: spectrum::Rows,
    cutoff: f64,
    at_epochs: &[usize],
    threads: usize,
) -> Result<SpectrumReport, String> {
    let mut entries = Vec::new();
    let mut kind = spectrum::MatrixKind::LeastSquares;
    for spec in specs {
        let start = Instant::now();
        let lowered = lower::lower(spec).map_err(|e| e.to_string())?;
        let executor = compile(&lowered, threads).map_err(|e| e.to_string())?;
        let training = sample::training_points(spec);
        let label = check::print::diff(&spec.diff);
        let problem = train::TrainingProblem {
            executor: &executor,
            lowered: &lowered,
            training: &training,
            equations: spec.equations.len(),
        };
        let snapshots = match spec.train {
            check::Trainer::Adam { lr, .. } if at_epochs != [0] => {
                spectrum::adam_snapshots(spec, problem, lr, at_epochs).map_err(|e| e.to_string())?
            }
            _ => vec![(0, train::init::initial_parameters(spec, &lowered.layout))],
        };
        for (epoch, theta) in snapshots {
            let matrix =
                spectrum::training_matrix_at(problem, &theta, rows).map_err(|e| e.to_string())?;
            kind = matrix.kind;
            let values = spectrum::singular_values(matrix.matrix.as_ref())
                .map_err(|e| format!("singular values of the {label} matrix: {e}"))?;
            let summary = spectrum::SpectrumSummary::new(
                &values,
                matrix.matrix.nrows(),
                matrix.matrix.ncols(),
                cutoff,
            );
            entries.push(SpectrumEntry {
                label: if at_epochs == [0] {
                    label.clone()
                } else {
                    format!("{label} @ epoch {epoch}")
                },
                epoch,
                summary,
                values,
                seconds: start.elapsed().as_secs_f64(),
            });
        }
    }
    let first = &specs[0];
    Ok(SpectrumReport::new(
        first.title.clone().unwrap_or_default(),
        check::print::ansatz(&first.ansatz),
        kind,
        rows,
        cutoff,
        entries,
    ))
}
