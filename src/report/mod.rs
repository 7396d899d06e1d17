//! Stage 8, report: what a run achieved, as a table for people and as JSON
//! for scripts (field names are stable; see docs/language.md).

use std::fmt;

use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;

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
#[derive(Clone, Debug, Serialize)]
pub struct UnknownError {
    pub unknown: String,
    /// ||u - u_exact||_2 / ||u_exact||_2 over the test points.
    pub relative_l2: f64,
    /// max |u - u_exact| over the test points.
    pub max_abs: f64,
    /// Against a `reference` table: its number of points (the errors are
    /// at its points, not the test points).
    #[serde(skip_serializing_if = "Option::is_none")]
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

/// The network at each `reference` table's points, indexed like
/// `spec.references` (`[i*M + m]`; empty for a table not read).
pub fn reference_predictions(
    spec: &Spec,
    executor: &dyn Executor,
    lowered: &Lowered,
    theta: &[f64],
) -> Result<Vec<Vec<f64>>, RunError> {
    spec.references
        .iter()
        .map(|r| match &r.table {
            Some(table) => predict(executor, lowered, theta, &table.points),
            None => Ok(Vec::new()),
        })
        .collect()
}

/// Relative L2 and max errors against the `reference` tables, from the
/// network at each table's points ([`reference_predictions`]).
pub fn reference_errors(spec: &Spec, predictions: &[Vec<f64>]) -> Vec<UnknownError> {
    let m = spec.unknowns.len();
    let mut out = Vec::new();
    for (r, predicted) in spec.references.iter().zip(predictions) {
        let Some(table) = &r.table else { continue };
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
    out
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
            ansatz: check::print::ansatz_of(spec),
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

    /// The report as one JSON object (stable field names; see
    /// [`SolveJson`] and docs/language.md).
    pub fn to_json(&self) -> String {
        let (rank, columns, condition_estimate) = match self.rank {
            Some((rank, columns, condition)) => (Some(rank), Some(columns), Some(condition)),
            None => (None, None, None),
        };
        let json = SolveJson {
            schema_version: SCHEMA_VERSION,
            problem: &self.problem,
            ansatz: &self.ansatz,
            trained_parameters: self.parameters,
            diff: &self.diff,
            train: &self.train,
            points: PointCounts(&self.point_sets),
            compile_seconds: self.compile_seconds,
            assembly_seconds: self.assembly_seconds,
            train_seconds: self.train_seconds,
            terms: self
                .terms
                .iter()
                .map(|(term, points, mean_square_residual)| TermJson {
                    term,
                    points: *points,
                    mean_square_residual: *mean_square_residual,
                })
                .collect(),
            rank,
            columns,
            condition_estimate,
            iterations: self.iterations,
            final_loss: self.final_loss,
            test_points: self.test_points,
            errors: &self.errors,
            mu: self.mu,
            multipliers: self.mu.map(|_| {
                self.multipliers
                    .iter()
                    .map(|(condition, lambda)| {
                        let (mean_abs, max_abs) = multiplier_summary(lambda);
                        MultiplierJson {
                            condition,
                            points: lambda.len(),
                            mean_abs,
                            max_abs,
                        }
                    })
                    .collect()
            }),
        };
        to_json(&json)
    }
}

/// (mean_i |lambda_i|, max_i |lambda_i|) of one condition's multipliers.
pub fn multiplier_summary(lambda: &[f64]) -> (f64, f64) {
    let n = lambda.len().max(1) as f64;
    let mean = lambda.iter().map(|l| l.abs()).sum::<f64>() / n;
    let max = lambda.iter().fold(0.0f64, |m, l| m.max(l.abs()));
    (mean, max)
}

/// The version of the JSON reports' schema (`schema_version` of `solve
/// --json` and `spectrum --json`): raised when a field changes meaning or
/// disappears, not when one is added.
pub const SCHEMA_VERSION: u32 = 1;

/// A report as one line of JSON; non-finite numbers become `null`
/// (serde_json's rule), floats are written in shortest round-trip form.
pub(crate) fn to_json(value: &impl Serialize) -> String {
    serde_json::to_string(value).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}

/// The `solve --json` object (field names are the interface).
#[derive(Serialize)]
pub struct SolveJson<'a> {
    pub schema_version: u32,
    pub problem: &'a str,
    pub ansatz: &'a str,
    pub trained_parameters: usize,
    pub diff: &'a str,
    pub train: &'a str,
    /// Point set name -> count, in the order of the sets.
    pub points: PointCounts<'a>,
    pub compile_seconds: f64,
    pub assembly_seconds: f64,
    pub train_seconds: f64,
    pub terms: Vec<TermJson<'a>>,
    /// `null` unless the trainer is `lstsq`.
    pub rank: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub columns: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub condition_estimate: Option<f64>,
    pub iterations: usize,
    pub final_loss: Option<f64>,
    pub test_points: usize,
    pub errors: &'a [UnknownError],
    /// `train alm`: the final penalty parameter.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mu: Option<f64>,
    /// `train alm`: a summary of each condition's multipliers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub multipliers: Option<Vec<MultiplierJson<'a>>>,
}

/// One condition of [`SolveJson::multipliers`].
#[derive(Serialize)]
pub struct MultiplierJson<'a> {
    pub condition: &'a str,
    pub points: usize,
    pub mean_abs: f64,
    pub max_abs: f64,
}

/// One term of [`SolveJson::terms`].
#[derive(Serialize)]
pub struct TermJson<'a> {
    pub term: &'a str,
    pub points: usize,
    pub mean_square_residual: f64,
}

/// (set name, count) pairs as one JSON object, in their order.
pub struct PointCounts<'a>(pub &'a [(String, usize)]);

impl Serialize for PointCounts<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (name, count) in self.0 {
            map.serialize_entry(name, count)?;
        }
        map.end()
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

#[cfg(test)]
mod tests {
    use super::*;

    fn report() -> Report {
        Report {
            problem: "a \"quoted\"\ntitle\\ with \u{1} control".into(),
            ansatz: "rfm(features = 10)".into(),
            parameters: 10,
            diff: "ad".into(),
            train: "lstsq".into(),
            point_sets: vec![("interior".into(), 100), ("boundary".into(), 2)],
            compile_seconds: 0.5,
            assembly_seconds: 0.25,
            train_seconds: 1e-3,
            terms: vec![
                ("equation0".into(), 100, 1.5e-20),
                ("bc0".into(), 2, f64::NAN),
            ],
            rank: Some((7, 10, 1e12)),
            iterations: 0,
            final_loss: None,
            test_points: 101,
            errors: vec![UnknownError {
                unknown: "u".into(),
                relative_l2: 0.1 + 0.2,
                max_abs: f64::INFINITY,
                reference_points: None,
            }],
            multipliers: Vec::new(),
            mu: None,
        }
    }

    /// The JSON parses back to the same values: strings with quotes,
    /// backslashes and control characters, floats exactly (round trip),
    /// non-finite numbers as null, the point sets in their order.
    #[test]
    fn solve_json_round_trips() {
        let r = report();
        let text = r.to_json();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["schema_version"], SCHEMA_VERSION);
        assert_eq!(v["problem"], r.problem.as_str());
        assert_eq!(v["trained_parameters"], 10);
        assert!(
            text.contains("\"points\":{\"interior\":100,\"boundary\":2}"),
            "{text}"
        );
        assert_eq!(v["terms"][0]["term"], "equation0");
        assert_eq!(v["terms"][0]["mean_square_residual"], 1.5e-20);
        assert!(v["terms"][1]["mean_square_residual"].is_null());
        assert_eq!(v["rank"], 7);
        assert_eq!(v["columns"], 10);
        assert_eq!(v["condition_estimate"], 1e12);
        assert!(v["final_loss"].is_null());
        assert_eq!(v["errors"][0]["relative_l2"].as_f64(), Some(0.1 + 0.2));
        assert!(v["errors"][0]["max_abs"].is_null());
    }

    /// Without a rank (iterative trainers) `rank` is null and `columns`
    /// and `condition_estimate` are absent.
    #[test]
    fn solve_json_without_rank() {
        let mut r = report();
        r.rank = None;
        let v: serde_json::Value = serde_json::from_str(&r.to_json()).unwrap();
        assert!(v["rank"].is_null());
        let object = v.as_object().unwrap();
        assert!(!object.contains_key("columns") && !object.contains_key("condition_estimate"));
    }
}
