//! `pdec simulate` and `pdec emit --stage network`: finite-difference
//! schemes for nonlinear diffusion (see the `simulate` module).

use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::{Args, ValueEnum};

use super::{output, Session, EXIT_INPUT, EXIT_OK, EXIT_RUNTIME};
use crate::check::{Overrides, SchemeSetting};
use crate::diag::Diagnostic;
use crate::jit::Compiled;
use crate::report::simulate::SimulateReport;
use crate::simulate::{self, network, Problem, Scheme, Settings, Solver};

/// `--scheme`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(super) enum SchemeArg {
    /// u <- u - tau K^T Phi(K u) (a ResNet block per step).
    Explicit,
    /// Fast explicit diffusion: cycles of explicit steps with varying sizes.
    Fed,
    /// Semi-implicit: (I + tau K^T G(u) K) u_new = u.
    Implicit,
}

/// `--solver` of the implicit scheme.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(super) enum SolverArg {
    /// Damped Jacobi, the recurrent network.
    #[value(name = "fixed_point")]
    FixedPoint,
    /// Conjugate gradients.
    Cg,
    /// Multigrid V-cycles.
    Multigrid,
}

/// The scheme and its settings.
#[derive(Args, Debug, Default, Clone)]
#[command(next_help_heading = "Scheme")]
pub(super) struct SchemeArgs {
    /// Scheme: explicit | fed | implicit (default explicit).
    #[arg(long, value_enum)]
    scheme: Option<SchemeArg>,
    /// Grid values (default 256).
    #[arg(long)]
    grid: Option<usize>,
    /// Time step (default: the stability bound tau_max for explicit,
    /// (t_end - t_start)/100 for implicit; fed takes its steps from the bound).
    #[arg(long, allow_negative_numbers = true)]
    tau: Option<f64>,
    /// Final time (default: the end of the time interval).
    #[arg(long = "t-end", allow_negative_numbers = true)]
    t_end: Option<f64>,
    /// FED cycles (default 8).
    #[arg(long)]
    cycles: Option<usize>,
    /// Solver of the implicit scheme: fixed_point | cg | multigrid (default cg).
    #[arg(long, value_enum)]
    solver: Option<SolverArg>,
    /// Run an explicit step above the stability bound (for demonstrations).
    #[arg(long)]
    allow_unstable: bool,
}

impl SchemeArgs {
    /// The settings: the file's `scheme` statement, overridden by the
    /// flags (a `--scheme` naming another scheme drops the file's
    /// arguments). A message for a bad flag value.
    fn settings(&self, file: Option<&SchemeSetting>) -> Result<Settings, String> {
        if let Some(tau) = self.tau {
            if !(tau.is_finite() && tau > 0.0) {
                return Err(format!("--tau must be a positive number, got {tau}"));
            }
        }
        if let Some(t) = self.t_end {
            if !t.is_finite() {
                return Err(format!("--t-end must be a finite number, got {t}"));
            }
        }
        if self.cycles == Some(0) {
            return Err("--cycles must be at least 1".into());
        }
        let file_scheme = file.map(|f| match f.name.as_str() {
            "fed" => Scheme::Fed,
            "implicit" => Scheme::Implicit,
            _ => Scheme::Explicit,
        });
        let scheme = match self.scheme {
            Some(SchemeArg::Explicit) => Scheme::Explicit,
            Some(SchemeArg::Fed) => Scheme::Fed,
            Some(SchemeArg::Implicit) => Scheme::Implicit,
            None => file_scheme.unwrap_or(Scheme::Explicit),
        };
        let file = file.filter(|_| file_scheme == Some(scheme));
        let solver = match self.solver {
            Some(SolverArg::FixedPoint) => Solver::FixedPoint,
            Some(SolverArg::Multigrid) => Solver::Multigrid,
            Some(SolverArg::Cg) => Solver::Cg,
            None => match file.and_then(|f| f.solver.as_deref()) {
                Some("fixed_point") => Solver::FixedPoint,
                Some("multigrid") => Solver::Multigrid,
                _ => Solver::Cg,
            },
        };
        Ok(Settings {
            scheme,
            grid: self.grid.or(file.and_then(|f| f.grid)),
            tau: self.tau.or(file.and_then(|f| f.tau)),
            t_end: self.t_end.or(file.and_then(|f| f.t_end)),
            cycles: self.cycles.or(file.and_then(|f| f.cycles)),
            solver,
            allow_unstable: self.allow_unstable,
            initial_values: None,
            span: file.map(|f| f.span),
        })
    }
}

/// Reads, checks and recognises `file`; reports every diagnostic.
fn prepare(session: &mut Session<'_>, file: &Path, args: &SchemeArgs) -> Option<(Problem, String)> {
    let source = session.read(file)?;
    let checked = session.check_source(file, &source, &Overrides::default(), false)?;
    let mut settings = match args.settings(checked.spec.scheme.as_ref()) {
        Ok(s) => s,
        Err(message) => {
            let _ = writeln!(session.stderr, "error[E0705]: {message}");
            return None;
        }
    };
    if let Some(data) = &checked.spec.initial_data {
        // Relative to the .pde file's directory.
        let path = file.parent().unwrap_or(Path::new("")).join(&data.path);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) => {
                let d = Diagnostic::error(
                    "E0707",
                    format!("cannot read the initial values {}: {e}", path.display()),
                    data.span,
                )
                .with_label_message("this file");
                session.report(file, &source, &[d]);
                return None;
            }
        };
        match simulate::data::parse(&text) {
            Ok(values) => settings.initial_values = Some(values),
            Err(diagnostics) => {
                session.report(&path, &text, &diagnostics);
                return None;
            }
        }
    }
    let title = checked
        .spec
        .title
        .clone()
        .unwrap_or_else(|| file.display().to_string());
    match Problem::new(&checked.spec, &settings) {
        Ok(problem) => Some((problem, title)),
        Err(diagnostics) => {
            session.report(file, &source, &diagnostics);
            None
        }
    }
}

/// `pdec simulate`.
pub(super) fn run(
    session: &mut Session<'_>,
    file: &Path,
    args: &SchemeArgs,
    json: bool,
    out: Option<&PathBuf>,
) -> i32 {
    let Some((problem, title)) = prepare(session, file, args) else {
        return EXIT_INPUT;
    };
    if let Some(dir) = out {
        if let Err(message) = output::prepare_dir(dir) {
            let _ = writeln!(session.stderr, "error[E0002]: {message}");
            return EXIT_INPUT;
        }
    }
    let compile_start = Instant::now();
    let compiled = match problem
        .kernels()
        .map_err(|e| e.to_string())
        .and_then(|k| Compiled::new(&k, 0).map_err(|e| e.to_string()))
    {
        Ok(mut c) => {
            c.set_threads(1);
            c
        }
        Err(message) => {
            let _ = writeln!(session.stderr, "error: {message}");
            return EXIT_RUNTIME;
        }
    };
    let compile_seconds = compile_start.elapsed().as_secs_f64();
    let outcome = match problem.run(&compiled) {
        Ok(o) => o,
        Err(message) => {
            let _ = writeln!(session.stderr, "error: {message}");
            return EXIT_RUNTIME;
        }
    };
    let unknown = "u";
    let report = SimulateReport {
        title: &title,
        unknown,
        problem: &problem,
        outcome: &outcome,
        compile_seconds,
    };
    if let Some(dir) = out {
        let exact = problem.exact_at_end();
        if let Err(message) = output::write_drawn(dir, report.files(exact.as_deref())) {
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

/// `pdec emit --stage network`.
pub(super) fn emit_network(session: &mut Session<'_>, file: &Path, args: &SchemeArgs) -> i32 {
    let Some((problem, _)) = prepare(session, file, args) else {
        return EXIT_INPUT;
    };
    let _ = write!(session.stdout, "{}", network::describe(&problem));
    EXIT_OK
}
