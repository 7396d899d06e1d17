//! What `pdec simulate` reports: the table, the JSON object (stable field
//! names, see docs/language.md) and the files of `--out`.

use std::fmt::{self, Write};

use serde_json::{json, Value};

use super::plot::{self, PlotError};
use crate::check::fmt_num;
use crate::simulate::{Outcome, Problem, Scheme};

/// A finished simulation, ready to print.
pub struct SimulateReport<'a> {
    pub title: &'a str,
    pub unknown: &'a str,
    pub problem: &'a Problem,
    pub outcome: &'a Outcome,
    /// Seconds to compile the kernels.
    pub compile_seconds: f64,
}

fn finite(v: f64) -> Value {
    if v.is_finite() {
        json!(v)
    } else {
        Value::Null
    }
}

impl SimulateReport<'_> {
    fn norm_first(&self) -> f64 {
        self.outcome.norms.first().map_or(f64::NAN, |r| r.2)
    }

    fn norm_last(&self) -> f64 {
        self.outcome.norms.last().map_or(f64::NAN, |r| r.2)
    }

    /// The `--json` object.
    pub fn to_json(&self) -> String {
        let p = self.problem;
        let o = self.outcome;
        let mut v = json!({
            "problem": self.title,
            "scheme": p.scheme.name(),
            "order": p.operator.order,
            "flux": p.diffusion.flux_text(),
            "boundary": p.operator.boundary.name(),
            "grid": p.operator.n,
            "h": finite(p.operator.h),
            "tau": finite(p.tau),
            "tau_max": finite(p.tau_max),
            "L": finite(p.diffusion.slope.sup),
            "L_exact": p.diffusion.slope.exact,
            "K_norm_squared": finite(p.operator.norm_squared()),
            "steps": p.steps,
            "t_end": finite(p.t_end),
            "seconds": finite(o.seconds),
            "compile_seconds": finite(self.compile_seconds),
            "norm_first": finite(self.norm_first()),
            "norm_last": finite(self.norm_last()),
            "norm_increased": o.norm_increased,
            "flux_monotone": p.diffusion.decreasing_from().is_none(),
        });
        if let Some(plan) = &p.fed {
            v["cycles"] = json!(plan.cycles);
            v["steps_per_cycle"] = json!(plan.steps.len());
        }
        if let Some(s) = &o.solver {
            v["solver"] = json!(p.solver.name());
            v["iterations"] = json!(s.iterations);
            v["iterations_per_step"] = finite(s.mean_iterations());
            v["convergence_factor"] = finite(s.factor());
        }
        v["errors"] = match &o.errors {
            Some(e) => json!([{
                "unknown": self.unknown,
                "relative_l2": finite(e.relative_l2),
                "max_abs": finite(e.max_abs),
            }]),
            None => json!([]),
        };
        v.to_string()
    }

    /// `solution.csv`: x, then one column per snapshot (`u(t=...)`), then
    /// the exact solution at t_end if known.
    pub fn solution_csv(&self, exact: Option<&[f64]>) -> String {
        let xs = self.problem.xs();
        let mut out = String::from("x");
        for (t, _) in &self.outcome.snapshots {
            let _ = write!(out, ",{}(t={t:e})", self.unknown);
        }
        if exact.is_some() {
            let _ = write!(out, ",{}_exact(t={:e})", self.unknown, self.problem.t_end);
        }
        out.push('\n');
        for (i, x) in xs.iter().enumerate() {
            let _ = write!(out, "{x:e}");
            for (_, values) in &self.outcome.snapshots {
                let _ = write!(out, ",{:e}", values[i]);
            }
            if let Some(e) = exact {
                let _ = write!(out, ",{:e}", e[i]);
            }
            out.push('\n');
        }
        out
    }

    /// `norms.csv`: step, t, norm.
    pub fn norms_csv(&self) -> String {
        let mut out = String::from("step,t,norm\n");
        for (k, t, n) in &self.outcome.norms {
            let _ = writeln!(out, "{k},{t:e},{n:e}");
        }
        out
    }

    /// Every file of `--out`: solution.csv, norms.csv, solution.svg,
    /// norms.svg. `exact` holds the exact solution at t_end on the grid.
    pub fn files(&self, exact: Option<&[f64]>) -> Result<Vec<(String, String)>, PlotError> {
        let xs = self.problem.xs();
        let mut series: Vec<(String, Vec<f64>)> = self
            .outcome
            .snapshots
            .iter()
            .map(|(t, v)| (format!("t = {}", fmt_num(*t)), v.clone()))
            .collect();
        if let Some(e) = exact {
            series.push((
                format!("exact, t = {}", fmt_num(self.problem.t_end)),
                e.to_vec(),
            ));
        }
        let refs: Vec<(&str, &[f64])> = series
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_slice()))
            .collect();
        let title = format!("{} ({})", self.title, self.problem.scheme.name());
        let solution = plot::lines_svg(&title, "x", self.unknown, &xs, &refs)?;
        let norms: Vec<f64> = self.outcome.norms.iter().map(|r| r.2).collect();
        let norm_title = match self.problem.scheme {
            Scheme::Fed => "||u||_2 at the cycle ends",
            _ => "||u||_2 after every step",
        };
        let norm_svg = plot::history_svg(norm_title, &[("||u||_2", &norms)])?;
        Ok(vec![
            ("solution.csv".into(), self.solution_csv(exact)),
            ("norms.csv".into(), self.norms_csv()),
            ("solution.svg".into(), solution),
            ("norms.svg".into(), norm_svg),
        ])
    }
}

impl fmt::Display for SimulateReport<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = self.problem;
        let o = self.outcome;
        let op = &p.operator;
        let row = |f: &mut fmt::Formatter<'_>, k: &str, v: String| writeln!(f, "{k:<12} {v}");
        row(f, "problem", self.title.to_string())?;
        row(
            f,
            "equation",
            format!(
                "u_t = -(D^{m})^* Phi(D^{m} u), m = {m}, Phi(s) = {}",
                p.diffusion.flux_text(),
                m = op.order
            ),
        )?;
        let scheme = match (&p.fed, p.scheme) {
            (Some(plan), _) => format!(
                "fed, {} cycles x {} steps (Leja order)",
                plan.cycles,
                plan.steps.len()
            ),
            (None, Scheme::Implicit) => format!("implicit, solver {}", p.solver.name()),
            _ => p.scheme.name().to_string(),
        };
        row(f, "scheme", scheme)?;
        row(
            f,
            "grid",
            format!(
                "{} values, h = {}, boundary {}",
                op.n,
                fmt_num(op.h),
                op.boundary.name()
            ),
        )?;
        row(
            f,
            "tau",
            format!(
                "{}{}",
                fmt_num(p.tau),
                if p.scheme == Scheme::Fed {
                    " (the largest step)"
                } else {
                    ""
                }
            ),
        )?;
        row(
            f,
            "tau_max",
            format!(
                "{} = 2/(L ||K||^2), L = {} ({}), ||K||^2 = {}",
                fmt_num(p.tau_max),
                fmt_num(p.diffusion.slope.sup),
                if p.diffusion.slope.exact {
                    "exact"
                } else {
                    "sampled"
                },
                fmt_num(op.norm_squared())
            ),
        )?;
        row(
            f,
            "Phi(s)/s",
            format!(
                "in [0, {}]: the bound holds; Phi is {}",
                fmt_num(p.diffusion.slope.sup),
                match p.diffusion.decreasing_from() {
                    None => "monotone".to_string(),
                    Some(s) => format!("non-monotone (decreasing from |s| = {:.3}), allowed", s),
                }
            ),
        )?;
        row(
            f,
            "steps",
            format!("{} to t_end = {}", p.steps, fmt_num(p.t_end)),
        )?;
        row(
            f,
            "time",
            format!("{:.3} s (compile {:.3} s)", o.seconds, self.compile_seconds),
        )?;
        row(
            f,
            "norm",
            format!(
                "{} -> {} ({})",
                fmt_num(self.norm_first()),
                fmt_num(self.norm_last()),
                if o.norm_increased {
                    "increased at some step"
                } else {
                    "never increased"
                }
            ),
        )?;
        if let Some(s) = &o.solver {
            row(
                f,
                "solver",
                format!(
                    "{} iterations ({:.1} per step), residual factor {:.3} per iteration",
                    s.iterations,
                    s.mean_iterations(),
                    s.factor()
                ),
            )?;
        }
        if let Some(e) = &o.errors {
            row(
                f,
                "error",
                format!(
                    "{}: relative L2 {:.3e}, max abs {:.3e} at t_end",
                    self.unknown, e.relative_l2, e.max_abs
                ),
            )?;
        }
        Ok(())
    }
}
