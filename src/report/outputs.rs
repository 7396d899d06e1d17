//! The files of `pdec solve --out DIR`, as (file name, contents) pairs; the
//! command line writes them (atomically) so that this stage stays free of
//! file-system effects.
//!
//! - `report.json`: [`Report::to_json`].
//! - `solution.csv`: one row per test point: the coordinates, then per
//!   unknown `u`, `u_exact`, `u_error` (= u - u_exact; the exact columns
//!   only for unknowns with an exact solution).
//! - `history.csv`: `iteration,loss,<term>...`: the sum of the terms' mean
//!   square residuals and each of them, after every iteration or epoch
//!   (only for iterative trainers).
//! - `solution_<u>.svg`: 1-D, the prediction against x with the exact
//!   solution; 2-D, a heat map of the prediction, and `error_<u>.svg`, a
//!   heat map of |u - u_exact|; on a shaped domain the cells outside the
//!   shape are blank (gray). Nothing for 3-D and above.
//! - `reference_<u>.csv` (a `reference` table): one row per table point:
//!   the coordinates, `u` (the network there), `u_reference`, `u_error`
//!   (= u - u_reference).
//! - `reference_<u>.svg`: 1-D, the network against the reference values at
//!   the table's points (in x order); 2-D, when the unknown has no exact
//!   solution, `error_<u>.svg` is the heat map of |u - u_reference| on the
//!   grid of the table's distinct coordinate values, blank (gray) where
//!   the table has no point (outside a shape); a table whose points are
//!   not such a grid gets the CSV only, as do 3-D tables.
//! - `loss.svg`: the history on a log scale, one line per term and the total.
//! - `multipliers.csv` (alm): `condition,point,<coordinates>,lambda`: the
//!   final multiplier of every condition point, in the order of the
//!   condition's training points; `multipliers.svg`: |lambda_i| against
//!   the point's index, one line per condition, on a log scale.

use std::fmt::Write;

use super::plot::{self, PlotError};
use super::Report;
use crate::check::Spec;
use crate::sample::PointSet;
use crate::train::HistoryRow;

/// What a finished solve run knows, for its output files.
pub struct SolveOutputs<'a> {
    pub spec: &'a Spec,
    pub report: &'a Report,
    pub test: &'a PointSet,
    /// The test grid's axes when the test set is a grid (`sample::test_axes`).
    pub axes: Option<&'a [Vec<f64>]>,
    /// `predicted[i*M + m]`.
    pub predicted: &'a [f64],
    /// `exact[i*M + m]`, NaN where an unknown has no exact solution.
    pub exact: Option<&'a [f64]>,
    /// The network at each `reference` table's points, indexed like
    /// `spec.references` (`[i*M + m]`).
    pub reference_predicted: &'a [Vec<f64>],
    pub history: &'a [HistoryRow],
    /// The training points of each condition, indexed like
    /// `spec.conditions` (for `multipliers.csv`).
    pub condition_points: &'a [PointSet],
}

impl SolveOutputs<'_> {
    /// Every file, in the order they are listed in the module doc.
    pub fn files(&self) -> Result<Vec<(String, String)>, PlotError> {
        let mut files = vec![
            ("report.json".to_string(), self.report.to_json() + "\n"),
            ("solution.csv".to_string(), self.solution_csv()),
        ];
        if !self.history.is_empty() {
            files.push(("history.csv".to_string(), self.history_csv()));
        }
        files.extend(self.solution_plots()?);
        files.extend(self.reference_files()?);
        if !self.history.is_empty() {
            files.push(("loss.svg".to_string(), self.loss_plot()?));
        }
        if self.report.mu.is_some() {
            files.push(("multipliers.csv".to_string(), self.multipliers_csv()));
            files.push(("multipliers.svg".to_string(), self.multipliers_plot()?));
        }
        Ok(files)
    }

    fn has_exact(&self, unknown: usize) -> bool {
        self.exact.is_some() && self.spec.exact[unknown].is_some()
    }

    /// `solution.csv`.
    pub fn solution_csv(&self) -> String {
        let m = self.spec.unknowns.len();
        let mut header: Vec<String> = self
            .spec
            .coordinates
            .iter()
            .map(|c| c.name.clone())
            .collect();
        for (u, unknown) in self.spec.unknowns.iter().enumerate() {
            header.push(unknown.name.clone());
            if self.has_exact(u) {
                header.push(format!("{}_exact", unknown.name));
                header.push(format!("{}_error", unknown.name));
            }
        }
        let mut out = header.join(",");
        out.push('\n');
        for i in 0..self.test.len() {
            let mut cells: Vec<String> = self.test.point(i).iter().map(|v| num(*v)).collect();
            for u in 0..m {
                let p = self.predicted[i * m + u];
                cells.push(num(p));
                if let (true, Some(exact)) = (self.has_exact(u), self.exact) {
                    let e = exact[i * m + u];
                    cells.push(num(e));
                    cells.push(num(p - e));
                }
            }
            out.push_str(&cells.join(","));
            out.push('\n');
        }
        out
    }

    /// `multipliers.csv`.
    pub fn multipliers_csv(&self) -> String {
        let mut s = String::from("condition,point");
        for c in &self.spec.coordinates {
            let _ = write!(s, ",{}", c.name);
        }
        s.push_str(",lambda\n");
        let dims = self.spec.coordinates.len();
        for (name, lambda) in &self.report.multipliers {
            let points = self
                .spec
                .conditions
                .iter()
                .position(|c| &c.name == name)
                .and_then(|k| self.condition_points.get(k));
            for (i, l) in lambda.iter().enumerate() {
                let _ = write!(s, "{name},{i}");
                for d in 0..dims {
                    let x = points
                        .and_then(|p| p.coords.get(i * p.dims + d))
                        .copied()
                        .unwrap_or(f64::NAN);
                    let _ = write!(s, ",{}", num(x));
                }
                let _ = writeln!(s, ",{}", num(*l));
            }
        }
        s
    }

    fn multipliers_plot(&self) -> Result<String, PlotError> {
        let magnitudes: Vec<(String, Vec<f64>)> = self
            .report
            .multipliers
            .iter()
            .map(|(name, lambda)| (name.clone(), lambda.iter().map(|l| l.abs()).collect()))
            .collect();
        let series: Vec<(&str, &[f64])> = magnitudes
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_slice()))
            .collect();
        plot::spectrum_svg("multipliers |lambda_i| per condition point", &series, &[])
    }

    /// `history.csv`.
    pub fn history_csv(&self) -> String {
        let mut out = String::from("iteration,loss");
        for (name, _, _) in &self.report.terms {
            let _ = write!(out, ",{name}");
        }
        out.push('\n');
        for (i, row) in self.history.iter().enumerate() {
            let _ = write!(out, "{},{}", i + 1, num(row.total));
            for t in &row.terms {
                let _ = write!(out, ",{}", num(*t));
            }
            out.push('\n');
        }
        out
    }

    fn solution_plots(&self) -> Result<Vec<(String, String)>, PlotError> {
        let Some(axes) = self.axes else {
            return Ok(Vec::new());
        };
        let m = self.spec.unknowns.len();
        let names: Vec<&str> = self
            .spec
            .coordinates
            .iter()
            .map(|c| c.name.as_str())
            .collect();
        let title = |what: &str, unknown: &str| match self.report.problem.as_str() {
            "" => format!("{what} {unknown}"),
            problem => format!("{problem}: {what} {unknown}"),
        };
        let mut files = Vec::new();
        // On a shaped domain the test set is the grid masked by the shape:
        // the plots show the grid with the cells outside left blank (NaN,
        // drawn gray).
        let mask = crate::sample::test_mask(self.spec);
        let on_grid = |values: Vec<f64>| -> Vec<f64> {
            match &mask {
                None => values,
                Some(mask) => {
                    let mut inside = values.into_iter();
                    mask.iter()
                        .map(|&m| {
                            if m {
                                inside.next().unwrap_or(f64::NAN)
                            } else {
                                f64::NAN
                            }
                        })
                        .collect()
                }
            }
        };
        for (u, unknown) in self.spec.unknowns.iter().enumerate() {
            let name = unknown.name.as_str();
            let predicted: Vec<f64> = on_grid(
                (0..self.test.len())
                    .map(|i| self.predicted[i * m + u])
                    .collect(),
            );
            let exact: Option<Vec<f64>> = match (self.has_exact(u), self.exact) {
                (true, Some(exact)) => Some(on_grid(
                    (0..self.test.len()).map(|i| exact[i * m + u]).collect(),
                )),
                _ => None,
            };
            match axes {
                [x] => files.push((
                    format!("solution_{name}.svg"),
                    plot::curve_svg(
                        &title("solution", name),
                        names[0],
                        name,
                        x,
                        &predicted,
                        exact.as_deref(),
                    )?,
                )),
                [x, y] => {
                    files.push((
                        format!("solution_{name}.svg"),
                        plot::heatmap_svg(
                            &title("solution", name),
                            names[0],
                            names[1],
                            x,
                            y,
                            &predicted,
                        )?,
                    ));
                    if let Some(exact) = &exact {
                        let error: Vec<f64> = predicted
                            .iter()
                            .zip(exact)
                            .map(|(p, e)| (p - e).abs())
                            .collect();
                        files.push((
                            format!("error_{name}.svg"),
                            plot::heatmap_svg(
                                &title("error |u - u_exact| of", name),
                                names[0],
                                names[1],
                                x,
                                y,
                                &error,
                            )?,
                        ));
                    }
                }
                _ => {}
            }
        }
        Ok(files)
    }

    /// `reference_<u>.csv` and the plots at the reference points.
    fn reference_files(&self) -> Result<Vec<(String, String)>, PlotError> {
        let m = self.spec.unknowns.len();
        let names: Vec<&str> = (self.spec.coordinates.iter())
            .map(|c| c.name.as_str())
            .collect();
        let mut files = Vec::new();
        for (r, predicted) in self.spec.references.iter().zip(self.reference_predicted) {
            let Some(table) = &r.table else { continue };
            let name = self.spec.unknowns[r.unknown].name.as_str();
            let n = table.values.len();
            let u: Vec<f64> = (0..n).map(|i| predicted[i * m + r.unknown]).collect();
            let mut csv = names.join(",");
            let _ = writeln!(csv, ",{name},{name}_reference,{name}_error");
            for i in 0..n {
                let point: Vec<String> = table.points.point(i).iter().map(|v| num(*v)).collect();
                let (p, e) = (u[i], table.values[i]);
                let _ = writeln!(
                    csv,
                    "{},{},{},{}",
                    point.join(","),
                    num(p),
                    num(e),
                    num(p - e)
                );
            }
            files.push((format!("reference_{name}.csv"), csv));
            let title = |what: &str| match self.report.problem.as_str() {
                "" => format!("{what} {name}"),
                problem => format!("{problem}: {what} {name}"),
            };
            match names.len() {
                1 => {
                    let mut order: Vec<usize> = (0..n).collect();
                    order.sort_by(|&a, &b| {
                        table.points.coords[a].total_cmp(&table.points.coords[b])
                    });
                    let x: Vec<f64> = order.iter().map(|&i| table.points.coords[i]).collect();
                    let p: Vec<f64> = order.iter().map(|&i| u[i]).collect();
                    let e: Vec<f64> = order.iter().map(|&i| table.values[i]).collect();
                    files.push((
                        format!("reference_{name}.svg"),
                        plot::curve_svg(
                            &title("network against the reference values of"),
                            names[0],
                            name,
                            &x,
                            &p,
                            Some(&e),
                        )?,
                    ));
                }
                2 if self.spec.exact[r.unknown].is_none() => {
                    let error: Vec<f64> = (0..n).map(|i| (u[i] - table.values[i]).abs()).collect();
                    if let Some((x, y, cells)) = on_point_grid(&table.points, &error) {
                        files.push((
                            format!("error_{name}.svg"),
                            plot::heatmap_svg(
                                &title("error |u - u_reference| at the reference points of"),
                                names[0],
                                names[1],
                                &x,
                                &y,
                                &cells,
                            )?,
                        ));
                    }
                }
                _ => {}
            }
        }
        Ok(files)
    }

    fn loss_plot(&self) -> Result<String, PlotError> {
        let mut columns: Vec<(String, Vec<f64>)> = vec![(
            "total".into(),
            self.history.iter().map(|h| h.total).collect(),
        )];
        for (t, (name, _, _)) in self.report.terms.iter().enumerate() {
            columns.push((
                name.clone(),
                self.history
                    .iter()
                    .map(|h| h.terms.get(t).copied().unwrap_or(f64::NAN))
                    .collect(),
            ));
        }
        let series: Vec<(&str, &[f64])> = columns
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_slice()))
            .collect();
        let title = match self.report.problem.as_str() {
            "" => "training loss (mean square residual)".to_string(),
            problem => format!("{problem}: training loss"),
        };
        plot::history_svg(&title, &series)
    }
}

/// The 2-D points as a grid: the sorted distinct x and y values, and
/// `values` on the grid (`[ix * ny + iy]`, as `plot::heatmap_svg` takes
/// them), NaN where no point lies; `None` if two points share a cell, an
/// axis has fewer than 2 values, or the grid would have more than 4
/// million cells (scattered points).
fn on_point_grid(points: &PointSet, values: &[f64]) -> Option<(Vec<f64>, Vec<f64>, Vec<f64>)> {
    let axis = |j: usize| {
        let mut v: Vec<f64> = (0..points.len()).map(|i| points.point(i)[j]).collect();
        v.sort_by(f64::total_cmp);
        v.dedup();
        v
    };
    let (x, y) = (axis(0), axis(1));
    if x.len() < 2 || y.len() < 2 || x.len().checked_mul(y.len())? > 4_000_000 {
        return None;
    }
    let mut cells = vec![f64::NAN; x.len() * y.len()];
    let mut filled = vec![false; cells.len()];
    for (i, &v) in values.iter().enumerate() {
        let p = points.point(i);
        let ix = x.binary_search_by(|a| a.total_cmp(&p[0])).ok()?;
        let iy = y.binary_search_by(|a| a.total_cmp(&p[1])).ok()?;
        let k = ix * y.len() + iy;
        if std::mem::replace(&mut filled[k], true) {
            return None;
        }
        cells[k] = v;
    }
    Some((x, y, cells))
}

/// A number for CSV: shortest round-trip form, `nan`/`inf` spelled out.
fn num(v: f64) -> String {
    if v.is_finite() {
        format!("{v:e}")
    } else if v.is_nan() {
        "nan".into()
    } else if v > 0.0 {
        "inf".into()
    } else {
        "-inf".into()
    }
}
