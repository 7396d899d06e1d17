//! The command line: argument parsing, file I/O, diagnostic rendering and
//! exit codes. The only module that touches files and terminals.
//!
//! Exit codes: 0 success (warnings allowed), 1 runtime failure (divergence,
//! singular systems, ...), 2 bad input (syntax, names, settings, unreadable
//! files, bad flags).

use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};

use clap::{Args, Parser, Subcommand, ValueEnum};
use codespan_reporting::diagnostic::{Diagnostic as Rendered, Label as RenderedLabel};
use codespan_reporting::files::SimpleFile;
use codespan_reporting::term;

use crate::check::{self, Overrides, ProblemDump, Spec, Summary};
use crate::diag::{has_errors, Diagnostic, Severity};
use crate::jit::{self, Compiled};
use crate::lower;
use crate::report::{self, Report, SolveOutputs, SpectrumEntry, SpectrumReport};
use crate::sample;
use crate::spectrum;
use crate::syntax;
use crate::train;
use crate::verify;
use std::time::Instant;

mod output;
mod progress;
mod study;

/// Exit code for success.
pub const EXIT_OK: i32 = 0;
/// Exit code for runtime failures (the input was fine, the computation was not).
pub const EXIT_RUNTIME: i32 = 1;
/// Exit code for bad input.
pub const EXIT_INPUT: i32 = 2;

#[derive(Parser, Debug)]
#[command(
    name = "pdec",
    version,
    about = "Compile a PDE specification (.pde) into neural-network residual code and train it",
    long_about = "pdec reads a .pde file (domain, unknowns, equations, conditions, exact solution, \
                  network ansatz), checks it, differentiates the ansatz symbolically (exact AD jets \
                  or finite-difference stencils), JIT-compiles the residuals and trains them.",
    after_help = "Example:\n  pdec check examples/poisson1d.pde\n  pdec emit examples/wave.pde --stage problem"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Parse and check .pde files; print a summary of each problem.
    #[command(
        after_help = "Example:\n  pdec check examples/*.pde\n  pdec check wave.pde --diff fd --h 1e-3"
    )]
    Check {
        /// The .pde files to check.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Treat warnings as errors (exit code 2).
        #[arg(long)]
        deny_warnings: bool,
        #[command(flatten)]
        overrides: OverrideArgs,
        #[command(flatten)]
        diff: DiffArgs,
    },
    /// Compile, train and report the error against the exact solution.
    #[command(
        after_help = "Example:\n  pdec solve examples/poisson1d.pde\n  pdec solve examples/wave.pde --diff fd --h 1e-3 --json"
    )]
    Solve {
        /// The .pde file.
        file: PathBuf,
        /// Print the report as one JSON object instead of a table.
        #[arg(long)]
        json: bool,
        /// No progress bar.
        #[arg(long)]
        quiet: bool,
        /// Write report.json, solution.csv, history.csv and SVG plots into
        /// this directory (created if missing; checked before training).
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        #[command(flatten)]
        overrides: OverrideArgs,
        #[command(flatten)]
        diff: DiffArgs,
    },
    /// Singular values and truncated entropy of the training matrix, per diff mode.
    #[command(
        after_help = "Example:\n  pdec spectrum examples/poisson2d.pde --diff ad,fd\n  pdec spectrum examples/poisson1d.pde --diff ad,fd --h 1e-1,1e-2,1e-3 --json"
    )]
    Spectrum {
        /// The .pde file.
        file: PathBuf,
        /// Rows of the least-squares matrix: all (equations and conditions) or interior (equations).
        #[arg(long, value_enum, default_value = "all")]
        rows: RowsArg,
        /// Relative cutoff: singular values at most cutoff * s_max count as zero.
        #[arg(long, default_value_t = 1e-13, allow_negative_numbers = true)]
        cutoff: f64,
        /// Networks: also the Jacobian after these epochs of the Adam run `solve` would
        /// make (0 = initial parameters), comma-separated.
        #[arg(long, value_delimiter = ',', default_value = "0")]
        at_epochs: Vec<usize>,
        /// Print one JSON object instead of a table.
        #[arg(long)]
        json: bool,
        /// Write report.json, spectrum.csv and spectrum.svg into this directory.
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        #[command(flatten)]
        overrides: OverrideArgs,
        #[command(flatten)]
        diffs: DiffListArgs,
    },
    /// Run solve and spectrum over a product of settings and seeds; merge into one table.
    #[command(
        after_help = "Example:\n  pdec study examples/poisson1d.pde --vary h=1e-1,1e-2,1e-3 --vary features=100,200 --diff ad,fd --seeds 0..4\n  pdec study examples/poisson1d.pde --vary h=1e-1,1e-2 --emit-jobs jobs.txt\n  pdec study --collect study"
    )]
    Study {
        /// The .pde file (not needed with --collect).
        file: Option<PathBuf>,
        /// A setting and its values, NAME=V1,V2,... (features, width, activation, h, order, lr, epochs, iters); repeatable.
        #[arg(long = "vary", value_name = "NAME=V1,V2")]
        vary: Vec<String>,
        /// Derivative modes, comma-separated.
        #[arg(long, default_value = "ad,fd", value_delimiter = ',')]
        diff: Vec<String>,
        /// Seeds of the ansatz: a range a..b (b excluded) or a list 0,1,2.
        #[arg(long, default_value = "0")]
        seeds: String,
        /// Directory of the study: runs/ (one result per run), study.csv, study.json, plots.
        #[arg(long, default_value = "study")]
        dir: PathBuf,
        /// Runs at a time (default: one per core).
        #[arg(long)]
        jobs: Option<usize>,
        /// Write one command line per run into FILE instead of running (for job arrays).
        #[arg(long, value_name = "FILE")]
        emit_jobs: Option<PathBuf>,
        /// Merge the run results found in DIR/runs into DIR/study.csv and study.json.
        #[arg(long, value_name = "DIR")]
        collect: Option<PathBuf>,
        /// Run only the run with this key (as written by --emit-jobs).
        #[arg(long, value_name = "KEY")]
        only: Option<String>,
        /// No progress bar.
        #[arg(long)]
        quiet: bool,
        #[command(flatten)]
        overrides: OverrideArgs,
    },
    /// Print one stage of the compilation pipeline.
    #[command(
        after_help = "Example:\n  pdec emit examples/wave.pde --stage ast\n  pdec emit examples/wave.pde --stage problem --features 200"
    )]
    Emit {
        /// The .pde file.
        file: PathBuf,
        /// Which stage to print.
        #[arg(long, value_enum, default_value = "problem")]
        stage: Stage,
        #[command(flatten)]
        overrides: OverrideArgs,
        #[command(flatten)]
        diff: DiffArgs,
    },
}

/// `spectrum --rows`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum RowsArg {
    /// Equation and condition rows, as `solve` uses them.
    All,
    /// Equation rows only.
    Interior,
}

/// Pipeline stages `emit` can print.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Stage {
    /// The parsed syntax tree, with line:col positions.
    Ast,
    /// The checked problem: names resolved, constants folded, defaults filled in.
    Problem,
    /// The residuals with the ansatz substituted, per neuron (and the fd stencils).
    Sym,
    /// The kernel IR.
    Ir,
    /// Cranelift's IR of every kernel.
    Clif,
    /// The machine code of every kernel, disassembled.
    Asm,
}

/// Command-line overrides of the settings in the file.
#[derive(Args, Debug, Default, Clone)]
#[command(next_help_heading = "Overrides of the file's settings")]
struct OverrideArgs {
    /// Ansatz: rfm | shallow.
    #[arg(long)]
    ansatz: Option<String>,
    /// Number of random features (rfm).
    #[arg(long, allow_negative_numbers = true)]
    features: Option<f64>,
    /// Hidden width (shallow).
    #[arg(long, allow_negative_numbers = true)]
    width: Option<f64>,
    /// Activation: tanh | sin | cos | sigmoid | gauss | softplus.
    #[arg(long)]
    activation: Option<String>,
    /// Seed of the ansatz's random weights.
    #[arg(long, allow_negative_numbers = true)]
    seed: Option<f64>,
    /// Trainer: lstsq | gauss_newton | adam | lbfgs | alm.
    #[arg(long)]
    train: Option<String>,
    /// Epochs (adam, alm).
    #[arg(long, allow_negative_numbers = true)]
    epochs: Option<f64>,
    /// Learning rate (adam, alm).
    #[arg(long, allow_negative_numbers = true)]
    lr: Option<f64>,
    /// Iterations (gauss_newton, lbfgs).
    #[arg(long, allow_negative_numbers = true)]
    iters: Option<f64>,
    /// Formulation: primal | flux (flux: first-order system with flux unknowns).
    #[arg(long)]
    formulation: Option<String>,
    /// Initial penalty parameter (alm).
    #[arg(long, allow_negative_numbers = true)]
    mu: Option<f64>,
    /// Largest penalty parameter (alm).
    #[arg(long = "mu-max", allow_negative_numbers = true)]
    mu_max: Option<f64>,
    /// Epochs between multiplier updates (alm).
    #[arg(long, allow_negative_numbers = true)]
    every: Option<f64>,
    /// Training weight of a condition, NAME=W: NAME is bc0, bc1, initial0, ...
    /// (as in the report), or bc / initial for every condition of that kind.
    /// Repeatable; later flags win.
    #[arg(long = "weight", value_name = "NAME=W", value_parser = parse_weight, allow_negative_numbers = true)]
    weights: Vec<(String, f64)>,
}

/// Parses `NAME=W` of `--weight`.
fn parse_weight(text: &str) -> Result<(String, f64), String> {
    let (name, value) = text
        .split_once('=')
        .ok_or_else(|| format!("expected NAME=W (e.g. bc0=10), got `{text}`"))?;
    let value: f64 = value
        .trim()
        .parse()
        .map_err(|_| format!("`{}` is not a number", value.trim()))?;
    Ok((name.trim().to_string(), value))
}

/// Command-line overrides of the `diff` setting.
#[derive(Args, Debug, Default, Clone)]
#[command(next_help_heading = "Overrides of the file's settings")]
struct DiffArgs {
    /// Derivatives: ad | fd | stein.
    #[arg(long)]
    diff: Option<String>,
    /// Finite-difference step (fd).
    #[arg(long, allow_negative_numbers = true)]
    h: Option<f64>,
    /// Finite-difference accuracy order, 2 or 4 (fd).
    #[arg(long, allow_negative_numbers = true)]
    order: Option<f64>,
}

/// The diff modes and steps `spectrum` compares.
#[derive(Args, Debug, Clone)]
struct DiffListArgs {
    /// Derivative modes to compare, comma-separated: ad,fd.
    #[arg(long, default_value = "ad,fd", value_delimiter = ',')]
    diff: Vec<String>,
    /// Finite-difference steps for fd, comma-separated (default: the file's h).
    #[arg(long, value_delimiter = ',', allow_negative_numbers = true)]
    h: Vec<f64>,
    /// Finite-difference accuracy order, 2 or 4 (fd).
    #[arg(long, allow_negative_numbers = true)]
    order: Option<f64>,
}

/// The overrides of `a` with the diff flags of `d`.
fn overrides(a: OverrideArgs, d: DiffArgs) -> Overrides {
    Overrides {
        ansatz: a.ansatz,
        features: a.features,
        width: a.width,
        activation: a.activation,
        seed: a.seed,
        diff: d.diff,
        h: d.h,
        order: d.order,
        train: a.train,
        epochs: a.epochs,
        lr: a.lr,
        iters: a.iters,
        formulation: a.formulation,
        mu: a.mu,
        mu_max: a.mu_max,
        every: a.every,
        weights: a.weights,
    }
}

/// How the output streams may be used.
#[derive(Clone, Copy, Debug, Default)]
pub struct Terminal {
    /// ANSI colors in diagnostics.
    pub color: bool,
    /// A progress bar on the process's stderr during training (only when
    /// both stdout and stderr are terminals).
    pub progress_bar: bool,
}

/// Runs pdec with `args` (including the program name), writing to the given
/// streams; returns the exit code. `color` turns on ANSI colors in
/// diagnostics; there is no progress bar.
pub fn run(
    args: impl IntoIterator<Item = impl Into<OsString> + Clone>,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
    color: bool,
) -> i32 {
    run_with(
        args,
        stdout,
        stderr,
        Terminal {
            color,
            progress_bar: false,
        },
    )
}

/// Like [`run`], with the terminal's abilities spelled out.
pub fn run_with(
    args: impl IntoIterator<Item = impl Into<OsString> + Clone>,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
    terminal: Terminal,
) -> i32 {
    let Terminal {
        color,
        progress_bar,
    } = terminal;
    let raw: Vec<OsString> = args.into_iter().map(Into::into).collect();
    let cli = match Cli::try_parse_from(raw.iter().cloned()) {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { EXIT_INPUT } else { EXIT_OK };
            let text = if color {
                e.render().ansi().to_string()
            } else {
                e.render().to_string()
            };
            let out: &mut dyn Write = if e.use_stderr() { stderr } else { stdout };
            let _ = write!(out, "{text}");
            return code;
        }
    };
    let mut session = Session {
        stdout,
        stderr,
        color,
    };
    match cli.command {
        Command::Check {
            files,
            deny_warnings,
            overrides: o,
            diff,
        } => {
            let overrides = overrides(o, diff);
            let mut code = EXIT_OK;
            for (i, path) in files.iter().enumerate() {
                if files.len() > 1 {
                    let _ = writeln!(
                        session.stdout,
                        "{}== {} ==",
                        if i > 0 { "\n" } else { "" },
                        path.display()
                    );
                }
                let result = session.check_file(path, &overrides, deny_warnings);
                code = code.max(match result {
                    Some(checked) => {
                        let _ = writeln!(session.stdout, "{}", Summary(&checked.spec));
                        if let Some(line) = checked.exact_line {
                            let _ = writeln!(session.stdout, "exact check  {line}");
                        }
                        EXIT_OK
                    }
                    None => EXIT_INPUT,
                });
            }
            code
        }
        Command::Solve {
            file,
            json,
            quiet,
            out,
            overrides: o,
            diff,
        } => {
            let overrides = overrides(o, diff);
            let Some(checked) = session.check_file(&file, &overrides, false) else {
                return EXIT_INPUT;
            };
            if let Some(dir) = &out {
                if let Err(message) = output::prepare_dir(dir) {
                    let _ = writeln!(session.stderr, "error[E0002]: {message}");
                    return EXIT_INPUT;
                }
            }
            let solved = match solve(&checked.spec, quiet || !progress_bar, all_cores()) {
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
                    history: &solved.history,
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
        Command::Spectrum {
            file,
            rows,
            cutoff,
            at_epochs,
            json,
            out,
            overrides: o,
            diffs,
        } => {
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
            let variants: Vec<Overrides> =
                runs.into_iter().map(|d| overrides(o.clone(), d)).collect();
            let Ok((_, specs)) = session.check_variants(&file, &variants) else {
                return EXIT_INPUT;
            };
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
        Command::Study {
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
        } => {
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
            let mut runs = Vec::new();
            for (settings, spec) in plan.into_iter().zip(specs) {
                let key = crate::study::run_key(source.as_bytes(), &base_text, &settings);
                runs.push(study::PlannedRun {
                    settings,
                    key,
                    spec,
                });
            }
            let varied: Vec<String> = variations.iter().map(|v| v.name.clone()).collect();
            if let Some(jobs_file) = emit_jobs {
                let command = job_command(&raw, &file, &dir);
                return match study::write_jobs(&jobs_file, &runs, &command) {
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
            let (computed, found) =
                match study::execute(&runs, &file, &varied, &dir, jobs, progress_bar && !quiet) {
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
                study::runs_dir(&dir).display()
            );
            if only.is_some() {
                return EXIT_OK;
            }
            let keys: Vec<String> = runs.iter().map(|r| r.key.clone()).collect();
            session.merge_study(&dir, Some(&keys), "error", EXIT_RUNTIME)
        }
        Command::Emit {
            file,
            stage,
            overrides: o,
            diff,
        } => {
            let overrides = overrides(o, diff);
            match stage {
                Stage::Ast => {
                    let Some(source) = session.read(&file) else {
                        return EXIT_INPUT;
                    };
                    let (tree, diagnostics) = syntax::parse(&source);
                    session.report(&file, &source, &diagnostics);
                    match tree {
                        Some(tree) if !has_errors(&diagnostics) => {
                            let _ = write!(session.stdout, "{}", syntax::dump(&tree, &source));
                            EXIT_OK
                        }
                        _ => EXIT_INPUT,
                    }
                }
                Stage::Problem => match session.check_file(&file, &overrides, false) {
                    Some(checked) => {
                        let _ = writeln!(session.stdout, "{}", ProblemDump(&checked.spec));
                        EXIT_OK
                    }
                    None => EXIT_INPUT,
                },
                Stage::Sym | Stage::Ir | Stage::Clif | Stage::Asm => {
                    let Some(checked) = session.check_file(&file, &overrides, false) else {
                        return EXIT_INPUT;
                    };
                    let lowered = match lower::lower(&checked.spec) {
                        Ok(l) => l,
                        Err(e) => {
                            let _ = writeln!(session.stderr, "error: {e}");
                            return EXIT_RUNTIME;
                        }
                    };
                    match stage {
                        Stage::Sym => {
                            let _ = write!(session.stdout, "{}", lowered.sym);
                        }
                        Stage::Ir => {
                            for k in &lowered.kernels {
                                let _ = write!(session.stdout, "{}", k.kernel);
                            }
                        }
                        _ => {
                            let compiled = match compile(&lowered, 1) {
                                Ok(c) => c,
                                Err(e) => {
                                    let _ = writeln!(session.stderr, "error: {e}");
                                    return EXIT_RUNTIME;
                                }
                            };
                            let text = if stage == Stage::Clif {
                                compiled.clif()
                            } else {
                                compiled.asm()
                            };
                            let _ = write!(session.stdout, "{text}");
                        }
                    }
                    EXIT_OK
                }
            }
        }
    }
}

/// JIT-compiles the lowered kernels, to run on `threads` threads.
fn compile(lowered: &lower::Lowered, threads: usize) -> Result<Compiled, jit::JitError> {
    let mut compiled = Compiled::of_lowered(lowered)?;
    compiled.set_threads(threads);
    Ok(compiled)
}

/// The machine's cores.
fn all_cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
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
    for mode in modes {
        let fd = mode == "fd";
        let run = |h: Option<f64>| DiffArgs {
            diff: Some(mode.to_string()),
            h,
            order: if fd { d.order } else { None },
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
fn spectra(
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

/// What one solve run produced: the report and the data behind `--out`.
struct Solved {
    report: Report,
    test: sample::PointSet,
    axes: Option<Vec<Vec<f64>>>,
    predicted: Vec<f64>,
    exact: Option<Vec<f64>>,
    history: Vec<train::HistoryRow>,
}

/// Compiles, samples, trains and evaluates one problem. Shows a progress
/// bar on stderr unless `quiet`.
fn solve(spec: &Spec, quiet: bool, threads: usize) -> Result<Solved, String> {
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
    let errors = match &exact {
        Some(exact) => report::errors(spec, &predicted, exact),
        None => Vec::new(),
    };
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
        history: fit.history,
    })
}

/// A checked problem and the one-line outcome of its exact-solution check.
struct Checked {
    spec: Spec,
    exact_line: Option<String>,
}

/// The output streams of one invocation.
struct Session<'a> {
    stdout: &'a mut dyn Write,
    stderr: &'a mut dyn Write,
    color: bool,
}

impl Session<'_> {
    /// Merges the runs cached under `dir` (those of `keys`, or all of
    /// them) into the study's tables and plots and prints the summary. A
    /// failure is printed after `label` and gives `code`.
    fn merge_study(&mut self, dir: &Path, keys: Option<&[String]>, label: &str, code: i32) -> i32 {
        match study::read_results(dir).and_then(|rows| study::merge(dir, rows, keys)) {
            Ok(summary) => {
                let _ = write!(self.stdout, "{summary}");
                EXIT_OK
            }
            Err(message) => {
                let _ = writeln!(self.stderr, "{label}: {message}");
                code
            }
        }
    }

    /// Reads a source file; reports an unreadable file as an input error.
    fn read(&mut self, path: &Path) -> Option<String> {
        match std::fs::read(path) {
            Ok(bytes) => match String::from_utf8(bytes) {
                Ok(text) => Some(text),
                Err(e) => {
                    let _ = writeln!(
                        self.stderr,
                        "error[E0001]: {} is not UTF-8 text (invalid byte at offset {})",
                        path.display(),
                        e.utf8_error().valid_up_to()
                    );
                    None
                }
            },
            Err(e) => {
                let _ = writeln!(
                    self.stderr,
                    "error[E0001]: cannot read {}: {}",
                    path.display(),
                    io_reason(&e)
                );
                None
            }
        }
    }

    /// Reads, parses and checks one file, reporting every diagnostic.
    /// Returns the problem when there were no errors (and, with
    /// `deny_warnings`, no warnings).
    fn check_file(
        &mut self,
        path: &Path,
        overrides: &Overrides,
        deny_warnings: bool,
    ) -> Option<Checked> {
        let source = self.read(path)?;
        self.check_source(path, &source, overrides, deny_warnings)
    }

    /// Checks one file under several sets of overrides that differ only in
    /// settings (diff mode, sizes, seeds, ...). The file is read once and
    /// checked in full under the first set; warnings and the exact-solution
    /// check do not depend on settings, so under the other sets only errors
    /// are reported. Returns the source and one problem per set, or, after
    /// reporting, the index of the set that failed (None if the file could
    /// not be read).
    fn check_variants(
        &mut self,
        path: &Path,
        variants: &[Overrides],
    ) -> Result<(String, Vec<Spec>), Option<usize>> {
        let source = self.read(path).ok_or(None)?;
        let Some(first) = variants.first() else {
            return Ok((source, Vec::new()));
        };
        let first = self
            .check_source(path, &source, first, false)
            .ok_or(0usize)?;
        let mut specs = vec![first.spec];
        let (tree, _) = syntax::parse(&source);
        let tree = tree.ok_or(0usize)?;
        for (i, overrides) in variants.iter().enumerate().skip(1) {
            let (spec, mut diagnostics) = check::check(&tree, overrides);
            let spec = formulated(spec, &mut diagnostics);
            let errors: Vec<Diagnostic> =
                diagnostics.into_iter().filter(|d| d.is_error()).collect();
            match spec {
                Some(spec) if errors.is_empty() => specs.push(spec),
                _ => {
                    self.report(path, &source, &errors);
                    return Err(Some(i));
                }
            }
        }
        Ok((source, specs))
    }

    /// Parses and checks `source` (read from `path`), with the
    /// exact-solution check, and reports every diagnostic.
    fn check_source(
        &mut self,
        path: &Path,
        source: &str,
        overrides: &Overrides,
        deny_warnings: bool,
    ) -> Option<Checked> {
        let (tree, mut diagnostics) = syntax::parse(source);
        let spec = match tree {
            Some(tree) if !has_errors(&diagnostics) => {
                let (spec, more) = check::check(&tree, overrides);
                diagnostics.extend(more);
                formulated(spec, &mut diagnostics)
            }
            _ => None,
        };
        let mut exact_line = None;
        if let Some(spec) = &spec {
            match verify::check_exact(spec) {
                Ok(checks) => {
                    diagnostics.extend(verify::diagnostics(spec, &checks));
                    exact_line = verify::summary_line(&checks);
                }
                Err(e) => diagnostics.push(Diagnostic::warning_without_span(
                    "W0603",
                    format!("the exact solution could not be checked: {e}"),
                )),
            }
        }
        if deny_warnings {
            for d in &mut diagnostics {
                d.severity = Severity::Error;
            }
        }
        self.report(path, source, &diagnostics);
        let spec = spec.filter(|_| !has_errors(&diagnostics))?;
        Some(Checked { spec, exact_line })
    }

    /// Renders diagnostics rustc-style (file:line:col, source line, carets) to stderr.
    fn report(&mut self, path: &Path, source: &str, diagnostics: &[Diagnostic]) {
        let text = render(path, source, diagnostics, self.color);
        let _ = write!(self.stderr, "{text}");
        let errors = diagnostics.iter().filter(|d| d.is_error()).count();
        if errors > 0 {
            let _ = writeln!(
                self.stderr,
                "{}: {errors} error{} in {}",
                if self.color {
                    "\x1b[1;31merror\x1b[0m"
                } else {
                    "error"
                },
                if errors == 1 { "" } else { "s" },
                path.display()
            );
        }
    }
}

/// The checked problem in its formulation (`flux::rewrite`); the
/// rewrite's errors join `diagnostics`.
fn formulated(spec: Option<Spec>, diagnostics: &mut Vec<Diagnostic>) -> Option<Spec> {
    match crate::flux::rewrite(spec?) {
        Ok(spec) => Some(spec),
        Err(errors) => {
            diagnostics.extend(errors);
            None
        }
    }
}

fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ if e.raw_os_error() == Some(21) => "it is a directory".into(),
        _ => e.to_string(),
    }
}

/// Renders diagnostics against their source with codespan-reporting.
pub fn render(path: &Path, source: &str, diagnostics: &[Diagnostic], color: bool) -> String {
    let file = SimpleFile::new(path.display().to_string(), source);
    let config = term::Config::default();
    let mut out = String::new();
    for d in diagnostics {
        let rendered = match d.severity {
            Severity::Error => Rendered::error(),
            Severity::Warning => Rendered::warning(),
        }
        .with_code(d.code)
        .with_message(&d.message)
        .with_labels(
            d.labels
                .iter()
                .map(|l| {
                    let span = l.span.start.min(source.len())..l.span.end.min(source.len());
                    let label = if l.primary {
                        RenderedLabel::primary((), span)
                    } else {
                        RenderedLabel::secondary((), span)
                    };
                    label.with_message(&l.message)
                })
                .collect(),
        )
        .with_notes(d.notes.clone());
        if color {
            let mut buffer = term::termcolor::Buffer::ansi();
            let styles = term::Styles::default();
            let mut writer = term::StylesWriter::new(&mut buffer, &styles);
            if term::emit_to_write_style(&mut writer, &config, &file, &rendered).is_ok() {
                out.push_str(&String::from_utf8_lossy(buffer.as_slice()));
                continue;
            }
        }
        if let Ok(text) = term::emit_into_string(&config, &file, &rendered) {
            out.push_str(&text);
        }
    }
    out
}
