//! `pdec solve`: compile, sample, train, evaluate against the exact
//! solution, and write the report (table or JSON) and the `--out` files.

use std::time::Instant;

use super::session::Session;
use super::{all_cores, compile, output, overrides, progress, SolveArgs};
use super::{EXIT_INPUT, EXIT_OK, EXIT_RUNTIME};
use crate::check::{self, Spec};
use crate::lower;
use crate::report::{self, Report, SolveOutputs};
use crate::sample;
use crate::train;

/// Runs `pdec solve`; returns the exit code.
pub(super) fn run(args: SolveArgs, session: &mut Session) -> i32 {
    let SolveArgs {
        file,
        json,
        quiet,
        out,
        overrides: o,
        diff,
    } = args;
    let overrides = overrides(o, diff);
    let Some(checked) = session.check_file(&file, &overrides, false) else {
        return EXIT_INPUT;
    };
    if session.refuse_initial_data(&file, &checked.spec, "solve") {
        return EXIT_INPUT;
    }
    if let Some(dir) = &out {
        if let Err(message) = output::prepare_dir(dir) {
            let _ = writeln!(session.stderr, "error[E0002]: {message}");
            return EXIT_INPUT;
        }
    }
    let solved = match solve(&checked.spec, quiet || !session.progress_bar, all_cores()) {
        Ok(solved) => solved,
        Err(message) => {
            let _ = writeln!(session.stderr, "error: {message}");
            return EXIT_RUNTIME;
        }
    };
    if let Some(dir) = &out {
        let files = SolveOutputs {
            spec: &checked.spec,
            report: &solved.report,
            test: &solved.test,
            axes: solved.axes.as_deref(),
            predicted: &solved.predicted,
            exact: solved.exact.as_deref(),
            reference_predicted: &solved.reference_predicted,
            history: &solved.history,
            condition_points: &solved.condition_points,
        }
        .files();
        if let Err(message) = output::write_drawn(dir, files) {
            let _ = writeln!(session.stderr, "error: {message}");
            return EXIT_RUNTIME;
        }
    }
    if json {
        let _ = writeln!(session.stdout, "{}", solved.report.to_json());
    } else {
        let _ = write!(session.stdout, "{}", solved.report);
    }
    EXIT_OK
}

/// What one solve run produced: the report and the data behind `--out`.
pub(super) struct Solved {
    pub report: Report,
    pub test: sample::PointSet,
    pub axes: Option<Vec<Vec<f64>>>,
    pub predicted: Vec<f64>,
    pub exact: Option<Vec<f64>>,
    /// The network at each `reference` table's points (`spec.references`).
    pub reference_predicted: Vec<Vec<f64>>,
    pub history: Vec<train::HistoryRow>,
    /// The training points of each condition (the multipliers' points).
    pub condition_points: Vec<sample::PointSet>,
}

/// Compiles, samples, trains and evaluates one problem. Shows a progress
/// bar on stderr unless `quiet`.
pub(super) fn solve(spec: &Spec, quiet: bool, threads: usize) -> Result<Solved, String> {
    let start = Instant::now();
    let lowered = lower::lower(spec).map_err(|e| e.to_string())?;
    let executor = compile(&lowered, threads).map_err(|e| e.to_string())?;
    let compile_seconds = start.elapsed().as_secs_f64();
    let training = sample::training_points(spec);
    let mut point_sets = vec![("interior".to_string(), training.interior.len())];
    for (name, kind) in [
        ("boundary", check::ConditionKind::Boundary),
        ("initial", check::ConditionKind::Initial),
    ] {
        let points: usize = spec
            .conditions
            .iter()
            .zip(&training.conditions)
            .filter(|(c, _)| c.kind == kind)
            .map(|(_, p)| p.len())
            .sum();
        if points > 0 {
            point_sets.push((name.to_string(), points));
        }
    }
    let bar = progress::TrainingBar::new(&spec.train, quiet);
    let fit = train::fit(spec, &lowered, &executor, &training, |i, loss| {
        bar.update(i, loss)
    });
    bar.finish();
    let fit = fit.map_err(|e| e.to_string())?;
    let test = sample::test_points(spec);
    let predicted =
        report::predict(&executor, &lowered, &fit.theta, &test).map_err(|e| e.to_string())?;
    if predicted.iter().any(|v| !v.is_finite()) {
        return Err("the trained network is not finite on the test points".into());
    }
    let exact = report::exact_values(spec, &test);
    let mut errors = match &exact {
        Some(exact) => report::errors(spec, &predicted, exact),
        None => Vec::new(),
    };
    let reference_predicted = report::reference_predictions(spec, &executor, &lowered, &fit.theta)
        .map_err(|e| e.to_string())?;
    if reference_predicted.iter().flatten().any(|v| !v.is_finite()) {
        return Err("the trained network is not finite on the reference points".into());
    }
    errors.extend(report::reference_errors(spec, &reference_predicted));
    let report = Report::new(
        spec,
        &lowered,
        &fit,
        point_sets,
        compile_seconds,
        test.len(),
        errors,
    );
    Ok(Solved {
        report,
        axes: sample::test_axes(spec),
        test,
        predicted,
        exact,
        reference_predicted,
        history: fit.history,
        condition_points: training.conditions,
    })
}
