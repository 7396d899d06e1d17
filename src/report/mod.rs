//! Stage 8, report: what a run achieved, as a table for people and as JSON
//! for scripts (field names are stable; see docs/language.md).

use std::fmt::{self, Write};

pub mod outputs;
pub mod plot;
pub mod simulate;
pub mod spectrum;

pub use outputs::SolveOutputs;
pub use spectrum::{SpectrumEntry, SpectrumReport};

use crate::check::{self, Spec};
use crate::ir::{Executor, RunError};
use crate::lower::{KernelRole, Lowered};
use crate::sample::PointSet;
use crate::symbolic::problem::{point_symbols, SymbolicProblem};
use crate::symbolic::Evaluator;
use crate::train::init::run_kernel;
use crate::train::Fit;

/// Errors of one unknown against its exact solution on the test set.
#[derive(Clone, Debug)]
pub struct UnknownError {
    pub unknown: String,
    /// ||u - u_exact||_2 / ||u_exact||_2 over the test points.
    pub relative_l2: f64,
    /// max |u - u_exact| over the test points.
    pub max_abs: f64,
    /// Against a `reference` table: its number of points (the errors are
    /// at its points, not the test points).
    pub reference_points: Option<usize>,
}

/// Everything `pdec solve` reports.
#[derive(Clone, Debug)]
pub struct Report {
    pub problem: String,
    pub ansatz: String,
    pub parameters: usize,
    pub diff: String,
    pub train: String,
    /// (set name, points)
    pub point_sets: Vec<(String, usize)>,
    pub compile_seconds: f64,
    pub assembly_seconds: f64,
    pub train_seconds: f64,
    pub terms: Vec<(String, usize, f64)>,
    pub rank: Option<(usize, usize, f64)>,
    pub iterations: usize,
    pub final_loss: Option<f64>,
    pub test_points: usize,
    pub errors: Vec<UnknownError>,
}

/// The network's values at `points`: `u[i*M + m]`.
pub fn predict(
    executor: &dyn Executor,
    lowered: &Lowered,
    theta: &[f64],
    points: &PointSet,
) -> Result<Vec<f64>, RunError> {
    if let Some(plan) = &lowered.mlp {
        return crate::train::mlp::values(executor, lowered, plan, theta, points);
    }
    let index = lowered
        .kernels
        .iter()
        .position(|k| k.role == KernelRole::Value)
        .ok_or(RunError::NoSuchKernel {
            index: lowered.kernels.len(),
        })?;
    let layout = &lowered.layout;
    let mut u = vec![0.0; points.len() * layout.unknowns];
    run_kernel(executor, index, layout, points, theta, true, &mut [&mut u])?;
    Ok(u)
}

/// The exact solutions at `points` (`exact[i*M + m]`, NaN where absent).
pub fn exact_values(spec: &Spec, points: &PointSet) -> Option<Vec<f64>> {
    let problem = SymbolicProblem::new(spec).ok()?;
    let m = spec.unknowns.len();
    let roots: Vec<_> = problem.exact.iter().flatten().copied().collect();
    if roots.is_empty() {
        return None;
    }
    let mut evaluator = Evaluator::new(&problem.graph, &roots);
    let mut out = vec![f64::NAN; points.len() * m];
    for i in 0..points.len() {
        let symbols = point_symbols(&problem.coordinates, points.point(i));
        let values = evaluator.eval(&symbols, &|_, _| f64::NAN);
        let mut next = values.iter();
        for (u, e) in problem.exact.iter().enumerate() {
            if e.is_some() {
                out[i * m + u] = *next.next().unwrap_or(&f64::NAN);
            }
        }
    }
    Some(out)
}

/// Relative L2 and max errors against the `reference` tables: the network
/// evaluated at each table's points.
pub fn reference_errors(
    spec: &Spec,
    executor: &dyn Executor,
    lowered: &Lowered,
    theta: &[f64],
) -> Result<Vec<UnknownError>, RunError> {
    let m = spec.unknowns.len();
    let mut out = Vec::new();
    for r in &spec.references {
        let Some(table) = &r.table else { continue };
        let predicted = predict(executor, lowered, theta, &table.points)?;
        let (mut num, mut den, mut max) = (0.0, 0.0, 0.0f64);
        for (i, e) in table.values.iter().enumerate() {
            let d = predicted[i * m + r.unknown] - e;
            num += d * d;
            den += e * e;
            max = max.max(d.abs());
        }
        out.push(UnknownError {
            unknown: spec.unknowns[r.unknown].name.clone(),
            relative_l2: if den > 0.0 {
                (num / den).sqrt()
            } else {
                num.sqrt()
            },
            max_abs: max,
            reference_points: Some(table.values.len()),
        });
    }
    Ok(out)
}

/// Relative L2 and max errors per unknown that has an exact solution.
pub fn errors(spec: &Spec, predicted: &[f64], exact: &[f64]) -> Vec<UnknownError> {
    let m = spec.unknowns.len();
    let n = predicted.len() / m.max(1);
    let mut out = Vec::new();
    for (u, unknown) in spec.unknowns.iter().enumerate() {
        if spec.exact[u].is_none() {
            continue;
        }
        let (mut num, mut den, mut max) = (0.0, 0.0, 0.0f64);
        for i in 0..n {
            let (p, e) = (predicted[i * m + u], exact[i * m + u]);
            if !e.is_finite() {
                continue;
            }
            num += (p - e) * (p - e);
            den += e * e;
            max = max.max((p - e).abs());
        }
        out.push(UnknownError {
            unknown: unknown.name.clone(),
            relative_l2: if den > 0.0 {
                (num / den).sqrt()
            } else {
                num.sqrt()
            },
            max_abs: max,
            reference_points: None,
        });
    }
    out
}

impl Report {
    /// Assembles the report of a finished run.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        spec: &Spec,
        lowered: &Lowered,
        fit: &Fit,
        point_sets: Vec<(String, usize)>,
        compile_seconds: f64,
        test_points: usize,
        errors: Vec<UnknownError>,
    ) -> Report {
        Report {
            problem: spec.title.clone().unwrap_or_default(),
            ansatz: check::print::ansatz(&spec.ansatz),
            parameters: lowered.layout.trained(),
            diff: check::print::diff(&spec.diff),
            train: check::print::trainer(&spec.train),
            point_sets,
            compile_seconds,
            assembly_seconds: fit.assembly_seconds,
            train_seconds: fit.train_seconds,
            terms: fit
                .terms
                .iter()
                .map(|t| (t.name.clone(), t.points, t.mean_square))
                .collect(),
            rank: fit.rank,
            iterations: fit.history.len(),
            final_loss: fit.history.last().map(|h| h.total),
            test_points,
            errors,
        }
    }

    /// The report as one JSON object (stable field names).
    pub fn to_json(&self) -> String {
        let mut s = String::from("{");
        let field = |s: &mut String, k: &str, v: String| {
            if s.len() > 1 {
                s.push_str(", ");
            }
            let _ = write!(s, "\"{k}\": {v}");
        };
        field(&mut s, "problem", json_string(&self.problem));
        field(&mut s, "ansatz", json_string(&self.ansatz));
        field(&mut s, "trained_parameters", self.parameters.to_string());
        field(&mut s, "diff", json_string(&self.diff));
        field(&mut s, "train", json_string(&self.train));
        let sets: Vec<String> = self
            .point_sets
            .iter()
            .map(|(n, c)| format!("{}: {c}", json_string(n)))
            .collect();
        field(&mut s, "points", format!("{{{}}}", sets.join(", ")));
        field(&mut s, "compile_seconds", json_number(self.compile_seconds));
        field(
            &mut s,
            "assembly_seconds",
            json_number(self.assembly_seconds),
        );
        field(&mut s, "train_seconds", json_number(self.train_seconds));
        let terms: Vec<String> = self
            .terms
            .iter()
            .map(|(n, p, l)| {
                format!(
                    "{{\"term\": {}, \"points\": {p}, \"mean_square_residual\": {}}}",
                    json_string(n),
                    json_number(*l)
                )
            })
            .collect();
        field(&mut s, "terms", format!("[{}]", terms.join(", ")));
        match self.rank {
            Some((rank, columns, condition)) => {
                field(&mut s, "rank", rank.to_string());
                field(&mut s, "columns", columns.to_string());
                field(&mut s, "condition_estimate", json_number(condition));
            }
            None => field(&mut s, "rank", "null".into()),
        }
        field(&mut s, "iterations", self.iterations.to_string());
        field(
            &mut s,
            "final_loss",
            self.final_loss.map_or("null".into(), json_number),
        );
        field(&mut s, "test_points", self.test_points.to_string());
        let errors: Vec<String> = self
            .errors
            .iter()
            .map(|e| {
                let reference = e
                    .reference_points
                    .map_or(String::new(), |n| format!(", \"reference_points\": {n}"));
                format!(
                    "{{\"unknown\": {}, \"relative_l2\": {}, \"max_abs\": {}{reference}}}",
                    json_string(&e.unknown),
                    json_number(e.relative_l2),
                    json_number(e.max_abs)
                )
            })
            .collect();
        field(&mut s, "errors", format!("[{}]", errors.join(", ")));
        s.push('}');
        s
    }
}

pub(crate) fn json_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

pub(crate) fn json_number(v: f64) -> String {
    if v.is_finite() {
        format!("{v:e}")
    } else {
        "null".into()
    }
}

pub(crate) fn sci(v: f64) -> String {
    format!("{v:.3e}")
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.problem.is_empty() {
            writeln!(f, "problem        {}", self.problem)?;
        }
        writeln!(
            f,
            "ansatz         {} ({} trained parameters)",
            self.ansatz, self.parameters
        )?;
        writeln!(f, "diff           {}", self.diff)?;
        writeln!(f, "train          {}", self.train)?;
        let sets: Vec<String> = self
            .point_sets
            .iter()
            .map(|(n, c)| format!("{n} {c}"))
            .collect();
        writeln!(f, "points         {}", sets.join(", "))?;
        writeln!(
            f,
            "time           compile {:.3} s, assembly {:.3} s, train {:.3} s",
            self.compile_seconds, self.assembly_seconds, self.train_seconds
        )?;
        if let Some((rank, columns, condition)) = self.rank {
            writeln!(
                f,
                "matrix         rank {rank} of {columns}, condition estimate {}",
                sci(condition)
            )?;
        }
        if self.iterations > 0 {
            writeln!(
                f,
                "iterations     {}, final loss {}",
                self.iterations,
                self.final_loss.map_or("-".into(), sci)
            )?;
        }
        writeln!(f, "residuals      (mean square per term)")?;
        for (name, points, loss) in &self.terms {
            writeln!(f, "  {name:<12} {:>10}  on {points} points", sci(*loss))?;
        }
        if self.errors.iter().any(|e| e.reference_points.is_none()) {
            writeln!(
                f,
                "errors         vs exact solution on {} test points",
                self.test_points
            )?;
        } else if !self.errors.is_empty() {
            writeln!(f, "errors")?;
        }
        if !self.errors.is_empty() {
            for e in &self.errors {
                let reference = e.reference_points.map_or(String::new(), |n| {
                    format!(" (vs reference data on its {n} points)")
                });
                writeln!(
                    f,
                    "  {:<12} relative L2 {}, max {}{reference}",
                    e.unknown,
                    sci(e.relative_l2),
                    sci(e.max_abs)
                )?;
            }
        }
        Ok(())
    }
}
