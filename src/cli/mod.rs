//! The command line: argument parsing, file I/O, diagnostic rendering and
//! exit codes. The only module that touches files and terminals.
//!
//! Exit codes: 0 success (warnings allowed), 1 runtime failure (divergence,
//! singular systems, ...), 2 bad input (syntax, names, settings, unreadable
//! files, bad flags).

use std::ffi::OsString;
use std::io::Write;
use std::path::PathBuf;

use crate::check::Overrides;
use crate::jit::{self, Compiled};
use crate::lower;
use clap::{Args, Parser, Subcommand, ValueEnum};

mod check;
mod emit;
mod output;
mod progress;
mod session;
mod simulate;
mod solve;
mod spectrum;
mod study;

pub use session::render;
use session::Session;

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
    Check(CheckArgs),
    /// Compile, train and report the error against the exact solution.
    #[command(
        after_help = "Example:\n  pdec solve examples/poisson1d.pde\n  pdec solve examples/wave.pde --diff fd --h 1e-3 --json"
    )]
    Solve(SolveArgs),
    /// Singular values and truncated entropy of the training matrix, per diff mode.
    #[command(
        after_help = "Example:\n  pdec spectrum examples/poisson2d.pde --diff ad,fd\n  pdec spectrum examples/poisson1d.pde --diff ad,fd --h 1e-1,1e-2,1e-3 --json"
    )]
    Spectrum(SpectrumArgs),
    /// Run solve and spectrum over a product of settings and seeds; merge into one table.
    #[command(
        after_help = "Example:\n  pdec study examples/poisson1d.pde --vary h=1e-1,1e-2,1e-3 --vary features=100,200 --diff ad,fd --seeds 0..4\n  pdec study examples/poisson1d.pde --vary h=1e-1,1e-2 --emit-jobs jobs.txt\n  pdec study --collect study"
    )]
    Study(StudyArgs),
    /// Print one stage of the compilation pipeline.
    #[command(
        after_help = "Example:\n  pdec emit examples/wave.pde --stage ast\n  pdec emit examples/wave.pde --stage problem --features 200"
    )]
    Emit(EmitArgs),
    /// Run an explicit, FED or semi-implicit finite-difference scheme for
    /// u_t = -(D^m)^* Phi(D^m u), m = 1 or 2.
    #[command(
        after_help = "Example:\n  pdec simulate examples/simulate/heat.pde\n  pdec simulate examples/simulate/perona_malik.pde --scheme fed --cycles 8 --json"
    )]
    Simulate(SimulateArgs),
}

/// Arguments of `pdec simulate`.
#[derive(Args, Debug)]
struct SimulateArgs {
    /// The .pde file.
    file: PathBuf,
    /// Print the report as one JSON object.
    #[arg(long)]
    json: bool,
    /// Write solution.csv, norms.csv and plots into this directory.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    #[command(flatten)]
    scheme: simulate::SchemeArgs,
}

/// Arguments of `pdec check`.
#[derive(Args, Debug)]
struct CheckArgs {
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
}

/// Arguments of `pdec solve`.
#[derive(Args, Debug)]
struct SolveArgs {
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
}

/// Arguments of `pdec spectrum`.
#[derive(Args, Debug)]
struct SpectrumArgs {
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
}

/// Arguments of `pdec study`.
#[derive(Args, Debug)]
struct StudyArgs {
    /// The .pde file (not needed with --collect).
    file: Option<PathBuf>,
    /// A setting and its values, NAME=V1,V2,... (features, width, depth, activation, h, order, lr, epochs, iters, formulation, train, mu, mu_max, every, sigma, samples, estimator); repeatable.
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
}

/// Arguments of `pdec emit`.
#[derive(Args, Debug)]
struct EmitArgs {
    /// The .pde file.
    file: PathBuf,
    /// Which stage to print.
    #[arg(long, value_enum, default_value = "problem")]
    stage: Stage,
    #[command(flatten)]
    overrides: OverrideArgs,
    #[command(flatten)]
    diff: DiffArgs,
    /// Scheme settings for `--stage network`.
    #[command(flatten)]
    scheme: simulate::SchemeArgs,
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
    /// A finite-difference scheme as a network (with `--scheme`; see `simulate`).
    Network,
}

/// Command-line overrides of the settings in the file.
#[derive(Args, Debug, Default, Clone)]
#[command(next_help_heading = "Overrides of the file's settings")]
struct OverrideArgs {
    /// Ansatz: rfm | shallow | mlp.
    #[arg(long)]
    ansatz: Option<String>,
    /// Number of random features (rfm).
    #[arg(long, allow_negative_numbers = true)]
    features: Option<f64>,
    /// Hidden width (shallow, mlp).
    #[arg(long, allow_negative_numbers = true)]
    width: Option<f64>,
    /// Number of hidden layers (mlp).
    #[arg(long, allow_negative_numbers = true)]
    depth: Option<f64>,
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
    #[command(flatten)]
    stein: SteinArgs,
}

/// The settings of `diff stein`, shared by [`DiffArgs`] and [`DiffListArgs`].
#[derive(Args, Debug, Default, Clone)]
struct SteinArgs {
    /// Width of the Gaussian smoothing (stein).
    #[arg(long, allow_negative_numbers = true)]
    sigma: Option<f64>,
    /// Samples per point (stein).
    #[arg(long, allow_negative_numbers = true)]
    samples: Option<f64>,
    /// Estimator: plain | antithetic (stein).
    #[arg(long)]
    estimator: Option<String>,
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
    #[command(flatten)]
    stein: SteinArgs,
}

/// The overrides of `a` with the diff flags of `d`.
fn overrides(a: OverrideArgs, d: DiffArgs) -> Overrides {
    Overrides {
        ansatz: a.ansatz,
        features: a.features,
        width: a.width,
        depth: a.depth,
        activation: a.activation,
        seed: a.seed,
        diff: d.diff,
        h: d.h,
        order: d.order,
        sigma: d.stein.sigma,
        samples: d.stein.samples,
        estimator: d.stein.estimator,
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
        progress_bar,
    };
    match cli.command {
        Command::Check(args) => check::run(args, &mut session),
        Command::Solve(args) => solve::run(args, &mut session),
        Command::Spectrum(args) => spectrum::run(args, &mut session),
        Command::Study(args) => study::run(args, &raw, &mut session),
        Command::Emit(args) => emit::run(args, &mut session),
        Command::Simulate(args) => simulate::run(
            &mut session,
            &args.file,
            &args.scheme,
            args.json,
            args.out.as_ref(),
        ),
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
