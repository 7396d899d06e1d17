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
    /// alm: per condition, its multipliers lambda_i in the order of its
    /// points (empty for the other trainers).
    pub multipliers: Vec<(String, Vec<f64>)>,
    /// alm: the final penalty parameter.
    pub mu: Option<f64>,
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
            multipliers: fit.multipliers.clone(),
            mu: fit.mu,
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
                format!(
                    "{{\"unknown\": {}, \"relative_l2\": {}, \"max_abs\": {}}}",
                    json_string(&e.unknown),
                    json_number(e.relative_l2),
                    json_number(e.max_abs)
                )
            })
            .collect();
        field(&mut s, "errors", format!("[{}]", errors.join(", ")));
        if let Some(mu) = self.mu {
            field(&mut s, "mu", json_number(mu));
            let summaries: Vec<String> = self
                .multipliers
                .iter()
                .map(|(name, lambda)| {
                    let (mean_abs, max_abs) = multiplier_summary(lambda);
                    format!(
                        "{{\"condition\": {}, \"points\": {}, \"mean_abs\": {}, \"max_abs\": {}}}",
                        json_string(name),
                        lambda.len(),
                        json_number(mean_abs),
                        json_number(max_abs)
                    )
                })
                .collect();
            field(&mut s, "multipliers", format!("[{}]", summaries.join(", ")));
        }
        s.push('}');
        s
    }
}

/// (mean_i |lambda_i|, max_i |lambda_i|) of one condition's multipliers.
pub fn multiplier_summary(lambda: &[f64]) -> (f64, f64) {
    let n = lambda.len().max(1) as f64;
    let mean = lambda.iter().map(|l| l.abs()).sum::<f64>() / n;
    let max = lambda.iter().fold(0.0f64, |m, l| m.max(l.abs()));
    (mean, max)
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
        if let Some(mu) = self.mu {
            writeln!(
                f,
                "multipliers    (|lambda_i| per condition), final mu {}",
                sci(mu)
            )?;
            for (name, lambda) in &self.multipliers {
                let (mean, max) = multiplier_summary(lambda);
                writeln!(f, "  {name:<12} mean {}, max {}", sci(mean), sci(max))?;
            }
        }
        if !self.errors.is_empty() {
            writeln!(
                f,
                "errors         vs exact solution on {} test points",
                self.test_points
            )?;
            for e in &self.errors {
                writeln!(
                    f,
                    "  {:<12} relative L2 {}, max {}",
                    e.unknown,
                    sci(e.relative_l2),
                    sci(e.max_abs)
                )?;
            }
        }
        Ok(())
    }
}
