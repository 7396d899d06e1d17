//! `pdec study`: running the planned runs (in parallel, each result cached
//! under its key), job files for other machines, and merging results into
//! study.csv, study.json and plots.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::{json, Value};

use std::ffi::OsString;

use super::session::Session;
use super::{all_cores, output, overrides, DiffArgs, StudyArgs, EXIT_INPUT, EXIT_OK, EXIT_RUNTIME};
use crate::check::Overrides;
use crate::check::Spec;
use crate::report::plot;
use crate::spectrum::Rows;
use crate::study::{self, RunSettings};

/// One planned run: its settings, key and checked problem.
pub struct PlannedRun {
    pub settings: RunSettings,
    pub key: String,
    pub spec: Spec,
}

/// The directory holding one JSON file per finished run.
pub fn runs_dir(dir: &Path) -> PathBuf {
    dir.join("runs")
}

/// Runs every planned run whose result is not yet in `dir`/runs, `jobs` at
/// a time, storing each result as soon as it is done (so a killed study
/// resumes). Returns (computed, found).
pub fn execute(
    runs: &[PlannedRun],
    file: &Path,
    varied: &[String],
    dir: &Path,
    jobs: usize,
    progress_bar: bool,
) -> Result<(usize, usize), String> {
    let store = runs_dir(dir);
    output::prepare_dir(&store)?;
    let todo: Vec<&PlannedRun> = runs
        .iter()
        .filter(|r| !store.join(format!("{}.json", r.key)).is_file())
        .collect();
    let found = runs.len() - todo.len();
    let bar = progress_bar.then(|| {
        let bar = ProgressBar::with_draw_target(
            Some(todo.len() as u64),
            ProgressDrawTarget::stderr_with_hz(5),
        );
        if let Ok(style) = ProgressStyle::with_template(
            "study {bar:30} {pos}/{len} runs  elapsed {elapsed}  eta {eta}",
        ) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar
    });
    let jobs = jobs.clamp(1, todo.len().max(1));
    // Runs side by side share the cores: each gets one thread.
    // The dense linear algebra of a run on one thread is sequential too,
    // set for the workers' threads only (see `train::with_parallelism`).
    let threads = if jobs > 1 { 1 } else { super::all_cores() };
    let par = if jobs > 1 {
        faer::Par::Seq
    } else {
        crate::train::parallelism()
    };
    let next = AtomicUsize::new(0);
    let failure: Mutex<Option<String>> = Mutex::new(None);
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(run) = todo.get(i) else { break };
                let result =
                    crate::train::with_parallelism(par, || run_one(run, file, varied, threads));
                let text = serde_json::to_string_pretty(&result).unwrap_or_default() + "\n";
                let written =
                    output::write_atomically(&store, &[(format!("{}.json", run.key), text)]);
                if let Err(e) = written {
                    *failure.lock().unwrap_or_else(|p| p.into_inner()) = Some(e);
                    break;
                }
                if let Some(bar) = &bar {
                    bar.inc(1);
                }
            });
        }
    });
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    match failure.into_inner().unwrap_or_else(|p| p.into_inner()) {
        Some(e) => Err(e),
        None => Ok((todo.len(), found)),
    }
}

/// Solves one run and analyses its spectrum; a failure becomes a result
/// with an `error` field, so one diverging run does not stop a study.
fn run_one(run: &PlannedRun, file: &Path, varied: &[String], threads: usize) -> Value {
    let mut row = json!({
        "key": run.key,
        "file": file.display().to_string(),
        "varied": varied,
        "diff": run.settings.diff,
        "seed": run.settings.seed,
    });
    for (name, value) in &run.settings.values {
        row[name.as_str()] = json!(value);
    }
    let solved = match super::solve::solve(&run.spec, true, threads) {
        Ok(s) => s,
        Err(e) => {
            row["error"] = json!(e);
            return row;
        }
    };
    let r = &solved.report;
    let totals: Vec<f64> = solved.history.iter().map(|h| h.total).collect();
    let loss: f64 = r.terms.iter().map(|(_, _, l)| l).sum();
    row["loss"] = number(loss);
    for (name, _, l) in &r.terms {
        row[format!("loss_{name}").as_str()] = number(*l);
    }
    if let Some(e) = r.errors.first() {
        row["relative_l2"] = number(e.relative_l2);
        row["max_abs"] = number(e.max_abs);
    }
    row["train_seconds"] = number(r.train_seconds);
    row["iterations"] = json!(r.iterations);
    if let Some((rank, _, _)) = r.rank {
        row["rank"] = json!(rank);
    }
    if !totals.is_empty() {
        for level in study::LOSS_LEVELS {
            row[format!("epochs_to_{level:e}").as_str()] =
                json!(study::iterations_to(&totals, level * totals[0]));
        }
        row["history"] = json!(totals.iter().map(|v| number(*v)).collect::<Vec<_>>());
    }
    match super::spectrum::spectra(
        std::slice::from_ref(&run.spec),
        Rows::All,
        1e-13,
        &[0],
        threads,
    ) {
        Ok(report) => {
            if let Some(e) = report.entries.first() {
                row["truncated_entropy"] = number(e.summary.entropy.entropy);
                row["effective_cutoff_number"] = json!(e.summary.entropy.effective_cutoff_number);
                row["condition"] = number(e.summary.condition);
            }
        }
        Err(e) => row["error"] = json!(format!("spectrum: {e}")),
    }
    row
}

fn number(v: f64) -> Value {
    if v.is_finite() {
        json!(v)
    } else {
        Value::Null
    }
}

/// Reads every run result under `dir`/runs, in key order.
pub fn read_results(dir: &Path) -> Result<Vec<Value>, String> {
    let store = runs_dir(dir);
    let entries =
        fs::read_dir(&store).map_err(|e| format!("cannot read {}: {e}", store.display()))?;
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    paths.sort();
    let mut rows = Vec::new();
    for path in paths {
        let text = fs::read_to_string(&path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let row: Value = serde_json::from_str(&text)
            .map_err(|e| format!("{} is not a run result: {e}", path.display()))?;
        rows.push(row);
    }
    Ok(rows)
}

/// Orders rows like the plan (when given), then writes study.csv,
/// study.json and the plots into `dir`; returns the summary lines.
pub fn merge(dir: &Path, rows: Vec<Value>, plan_keys: Option<&[String]>) -> Result<String, String> {
    let mut rows = rows;
    if let Some(keys) = plan_keys {
        rows.retain(|r| keys.iter().any(|k| r["key"] == *k));
        rows.sort_by_key(|r| keys.iter().position(|k| r["key"] == *k));
    }
    let mut varied: Vec<String> = Vec::new();
    for row in &rows {
        for name in row["varied"].as_array().into_iter().flatten() {
            if let Some(name) = name.as_str() {
                if !varied.iter().any(|v| v == name) {
                    varied.push(name.to_string());
                }
            }
        }
    }
    let mut summary = String::new();
    let failed = rows.iter().filter(|r| r.get("error").is_some()).count();
    summary.push_str(&format!("{} runs in the table", rows.len()));
    if failed > 0 {
        summary.push_str(&format!(
            ", {failed} failed (see the `error` field in study.json)"
        ));
    }
    summary.push('\n');
    let value = |r: &Value, k: &str| r[k].as_f64();
    let modes: BTreeSet<String> = rows
        .iter()
        .filter_map(|r| r["diff"].as_str().map(str::to_string))
        .collect();
    // Residual loss against truncated entropy (random feature models) and
    // training speed against entropy (networks), per mode and overall.
    let mut groups: Vec<(String, Vec<(f64, f64)>)> = Vec::new();
    for mode in modes.iter().map(Some).chain([None]) {
        let pairs: Vec<(f64, f64)> = rows
            .iter()
            .filter(|r| mode.is_none_or(|m| r["diff"] == *m))
            .filter_map(|r| Some((value(r, "truncated_entropy")?, value(r, "loss")?)))
            .collect();
        let (x, y): (Vec<f64>, Vec<f64>) = pairs.iter().copied().unzip();
        let rho = study::spearman(&x, &y);
        summary.push_str(&format!(
            "Spearman(loss, truncated entropy) {:<4} {} over {} runs\n",
            mode.map_or("all", |m| m.as_str()),
            fmt(rho),
            pairs.len()
        ));
        if let Some(m) = mode {
            groups.push((m.clone(), pairs));
        }
        let speed: Vec<(f64, f64)> = rows
            .iter()
            .filter(|r| mode.is_none_or(|m| r["diff"] == *m))
            .filter_map(|r| Some((value(r, "truncated_entropy")?, value(r, "epochs_to_1e-3")?)))
            .collect();
        if speed.len() >= 3 {
            let (x, y): (Vec<f64>, Vec<f64>) = speed.iter().copied().unzip();
            summary.push_str(&format!(
                "Spearman(epochs to 1e-3 x the first loss, truncated entropy) {:<4} {} over {} runs\n",
                mode.map_or("all", |m| m.as_str()),
                fmt(study::spearman(&x, &y)),
                speed.len()
            ));
        }
    }
    let mut files = vec![
        (
            "study.csv".to_string(),
            study::csv(&varied, &term_columns(&rows), &rows),
        ),
        (
            "study.json".to_string(),
            serde_json::to_string_pretty(&json!({ "varied": varied, "runs": rows }))
                .unwrap_or_default()
                + "\n",
        ),
    ];
    let series: Vec<(&str, &[(f64, f64)])> = groups
        .iter()
        .map(|(m, p)| (m.as_str(), p.as_slice()))
        .collect();
    files.push((
        "loss_vs_entropy.svg".into(),
        plot::scatter_svg(
            "residual loss against truncated entropy",
            "truncated entropy",
            "residual loss (sum of mean squares)",
            false,
            true,
            &series,
        )
        .map_err(|e| e.to_string())?,
    ));
    // Error against h for fd runs, with the fitted order per other setting.
    let fd: Vec<(f64, f64)> = rows
        .iter()
        .filter(|r| r["diff"] == "fd")
        .filter_map(|r| {
            let h: f64 = r["h"].as_str()?.parse().ok()?;
            Some((h, value(r, "relative_l2")?))
        })
        .collect();
    if fd.len() >= 2 {
        let (h, e): (Vec<f64>, Vec<f64>) = fd.iter().copied().unzip();
        let order = study::fitted_order(&h, &e);
        summary.push_str(&format!(
            "fd: error ~ h^{} (least squares over {} runs)\n",
            fmt(order),
            fd.len()
        ));
        let label = format!("fd, fitted order {}", fmt(order));
        files.push((
            "error_vs_h.svg".into(),
            plot::scatter_svg(
                "relative L2 error against h",
                "h",
                "relative L2 error",
                true,
                true,
                &[(label.as_str(), fd.as_slice())],
            )
            .map_err(|e| e.to_string())?,
        ));
    }
    let histories: Vec<(String, Vec<f64>)> = rows
        .iter()
        .filter_map(|r| {
            let h: Vec<f64> = r["history"]
                .as_array()?
                .iter()
                .filter_map(Value::as_f64)
                .collect();
            Some((run_label(r, &varied), h))
        })
        .take(24)
        .collect();
    if !histories.is_empty() {
        let series: Vec<(&str, &[f64])> = histories
            .iter()
            .map(|(n, h)| (n.as_str(), h.as_slice()))
            .collect();
        files.push((
            "loss_histories.svg".into(),
            plot::history_svg("training loss per run", &series).map_err(|e| e.to_string())?,
        ));
    }
    output::write_atomically(dir, &files)?;
    Ok(summary)
}

/// The per-term loss columns (`loss_equation0`, `loss_bc0`, ...) in the
/// order they first appear.
fn term_columns(rows: &[Value]) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for row in rows {
        for key in row.as_object().into_iter().flat_map(|o| o.keys()) {
            if key.starts_with("loss_") && !names.contains(key) {
                names.push(key.clone());
            }
        }
    }
    names
}

fn run_label(r: &Value, varied: &[String]) -> String {
    let mut s = r["diff"].as_str().unwrap_or("?").to_string();
    for name in varied {
        if let Some(v) = r[name.as_str()].as_str() {
            s.push_str(&format!(" {name}={v}"));
        }
    }
    s.push_str(&format!(" seed={}", r["seed"]));
    s
}

fn fmt(v: f64) -> String {
    if v.is_finite() {
        format!("{v:.3}")
    } else {
        "-".into()
    }
}

/// Writes one self-contained command line per run that `--only` runs it
/// alone into `dir` (for a Slurm job array or GNU parallel).
pub fn write_jobs(path: &Path, runs: &[PlannedRun], command: &[String]) -> Result<(), String> {
    let mut text = String::new();
    for run in runs {
        let line: Vec<String> = command.iter().map(|a| shell_quote(a)).collect();
        text.push_str(&format!("{} --only {}\n", line.join(" "), run.key));
    }
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .ok_or_else(|| format!("{} is not a file name", path.display()))?
        .to_string_lossy()
        .into_owned();
    output::write_atomically(dir, &[(name, text)])
}

fn shell_quote(arg: &str) -> String {
    if !arg.is_empty()
        && arg
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=,:+@".contains(c))
    {
        arg.to_string()
    } else {
        format!("'{}'", arg.replace('\'', "'\\''"))
    }
}

/// Runs `pdec study` (`raw` is the invocation's arguments, for the job
/// lines of `--emit-jobs`); returns the exit code.
pub(super) fn run(args: StudyArgs, raw: &[OsString], session: &mut Session) -> i32 {
    let StudyArgs {
        file,
        vary,
        diff,
        seeds,
        dir,
        jobs,
        emit_jobs,
        collect,
        only,
        quiet,
        overrides: o,
    } = args;
    if let Some(from) = collect {
        // Results that cannot be read are the user's input here.
        return session.merge_study(&from, None, "error[E0002]", EXIT_INPUT);
    }
    let Some(file) = file else {
        let _ = writeln!(
            session.stderr,
            "error[E0504]: `pdec study` needs a .pde file (or --collect DIR)"
        );
        return EXIT_INPUT;
    };
    if o.seed.is_some() {
        let _ = writeln!(
            session.stderr,
            "error[E0504]: --seed: a study sets the seed of each run; use --seeds"
        );
        return EXIT_INPUT;
    }
    let planned = (|| -> Result<_, String> {
        let variations = vary
            .iter()
            .map(|v| crate::study::Variation::parse(v))
            .collect::<Result<Vec<_>, _>>()?;
        let seeds = crate::study::parse_seeds(&seeds)?;
        let mut modes: Vec<String> = Vec::new();
        for m in diff.iter().map(|m| m.trim().to_string()) {
            if !modes.contains(&m) {
                modes.push(m);
            }
        }
        let plan = crate::study::plan(&modes, &variations, &seeds);
        Ok((variations, plan))
    })();
    let (variations, plan) = match planned {
        Ok(p) => p,
        Err(message) => {
            let _ = writeln!(session.stderr, "error[E0504]: {message}");
            return EXIT_INPUT;
        }
    };
    let base = overrides(o, DiffArgs::default());
    let base_text = format!("{base:?}");
    let variants: Vec<Overrides> = plan.iter().map(|r| r.overrides(&base)).collect();
    let (source, specs) = match session.check_variants(&file, &variants) {
        Ok(checked) => checked,
        Err(failed) => {
            if let Some(run) = failed.and_then(|i| plan.get(i)) {
                let _ = writeln!(
                    session.stderr,
                    "error: in the study's run {}",
                    run.canonical()
                );
            }
            return EXIT_INPUT;
        }
    };
    if specs
        .first()
        .is_some_and(|spec| session.refuse_initial_data(&file, spec, "study"))
    {
        return EXIT_INPUT;
    }
    let mut runs = Vec::new();
    for (settings, spec) in plan.into_iter().zip(specs) {
        let key = crate::study::run_key(source.as_bytes(), &base_text, &settings);
        runs.push(PlannedRun {
            settings,
            key,
            spec,
        });
    }
    let varied: Vec<String> = variations.iter().map(|v| v.name.clone()).collect();
    if let Some(jobs_file) = emit_jobs {
        let command = job_command(&raw, &file, &dir);
        return match write_jobs(&jobs_file, &runs, &command) {
            Ok(()) => {
                let _ = writeln!(
                    session.stdout,
                    "{} jobs written to {}; afterwards: pdec study --collect {}",
                    runs.len(),
                    jobs_file.display(),
                    dir.display()
                );
                EXIT_OK
            }
            Err(message) => {
                let _ = writeln!(session.stderr, "error[E0002]: {message}");
                EXIT_INPUT
            }
        };
    }
    if let Some(key) = &only {
        runs.retain(|r| &r.key == key);
        if runs.is_empty() {
            let _ = writeln!(
                session.stderr,
                "error[E0504]: --only {key}: no run of this study has that key"
            );
            return EXIT_INPUT;
        }
    }
    if let Err(message) = output::prepare_dir(&dir) {
        let _ = writeln!(session.stderr, "error[E0002]: {message}");
        return EXIT_INPUT;
    }
    let jobs = jobs.unwrap_or_else(all_cores);
    let (computed, found) = match execute(
        &runs,
        &file,
        &varied,
        &dir,
        jobs,
        session.progress_bar && !quiet,
    ) {
        Ok(counts) => counts,
        Err(message) => {
            let _ = writeln!(session.stderr, "error: {message}");
            return EXIT_RUNTIME;
        }
    };
    let _ = writeln!(
        session.stdout,
        "study: {} runs, {computed} computed, {found} already in {}",
        runs.len(),
        runs_dir(&dir).display()
    );
    if only.is_some() {
        return EXIT_OK;
    }
    let keys: Vec<String> = runs.iter().map(|r| r.key.clone()).collect();
    session.merge_study(&dir, Some(&keys), "error", EXIT_RUNTIME)
}

/// The command line of one job of a study: this invocation's arguments
/// without `--emit-jobs`, `--dir` and `--jobs`, with the problem file and
/// the study directory as absolute paths (jobs may start elsewhere).
fn job_command(raw: &[OsString], file: &Path, dir: &Path) -> Vec<String> {
    let absolute = |p: &Path| {
        std::path::absolute(p)
            .unwrap_or_else(|_| p.to_path_buf())
            .display()
            .to_string()
    };
    let mut out = vec!["pdec".to_string()];
    let mut skip_value = false;
    for arg in raw.iter().skip(1).map(|a| a.to_string_lossy().into_owned()) {
        if skip_value {
            skip_value = false;
            continue;
        }
        if ["--emit-jobs", "--dir", "--jobs"].contains(&arg.as_str()) {
            skip_value = true;
            continue;
        }
        if ["--emit-jobs=", "--dir=", "--jobs="]
            .iter()
            .any(|p| arg.starts_with(p))
        {
            continue;
        }
        if Path::new(&arg) == file {
            out.push(absolute(file));
        } else {
            out.push(arg);
        }
    }
    out.push("--dir".into());
    out.push(absolute(dir));
    out.push("--jobs".into());
    out.push("1".into());
    out
}
