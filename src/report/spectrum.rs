//! The report of `pdec spectrum`: a table, one JSON object (stable field
//! names, see docs/language.md) and the files of `--out` (report.json,
//! spectrum.csv, spectrum.svg).

use std::fmt::{self, Write};

use serde::Serialize;

use super::plot::{self, PlotError};
use super::{sci, to_json, SCHEMA_VERSION};
use crate::spectrum::{Comparison, MatrixKind, Rows, SpectrumSummary};

/// One analysed matrix: a diff mode (and step) of the same problem.
#[derive(Clone, Debug)]
pub struct SpectrumEntry {
    /// How the matrix was differentiated, as `pdec check` prints the diff
    /// setting (`ad`, `fd(h = 0.01, order = 2)`).
    pub label: String,
    /// Networks: the Adam epoch of the parameters (0 = initial).
    pub epoch: usize,
    pub summary: SpectrumSummary,
    /// The singular values, largest first.
    pub values: Vec<f64>,
    /// Time to assemble the matrix and compute its singular values.
    pub seconds: f64,
}

/// The `spectrum --json` object (field names are the interface).
#[derive(Serialize)]
pub struct SpectrumJson<'a> {
    pub schema_version: u32,
    pub problem: &'a str,
    pub ansatz: &'a str,
    /// `least_squares` or `jacobian`.
    pub matrix: &'a str,
    /// `all` or `interior`.
    pub rows: &'a str,
    pub relative_cutoff: f64,
    pub spectra: Vec<SpectrumEntryJson<'a>>,
    pub comparisons: Vec<ComparisonJson<'a>>,
}

/// One matrix of [`SpectrumJson::spectra`].
#[derive(Serialize)]
pub struct SpectrumEntryJson<'a> {
    pub label: &'a str,
    pub epoch: usize,
    pub rows: usize,
    pub columns: usize,
    pub s_max: f64,
    pub s_min: f64,
    pub condition: f64,
    /// The absolute cutoff eps.
    pub cutoff: f64,
    pub effective_cutoff_number: usize,
    pub truncated_entropy: f64,
    pub effective_rank: f64,
    pub energy_entropy: f64,
    pub seconds: f64,
}

/// One pair of [`SpectrumJson::comparisons`].
#[derive(Serialize)]
pub struct ComparisonJson<'a> {
    pub reference: &'a str,
    pub other: &'a str,
    pub agree_up_to: usize,
    pub tail_ratio: f64,
}

/// Everything `pdec spectrum` reports.
#[derive(Clone, Debug)]
pub struct SpectrumReport {
    pub problem: String,
    pub ansatz: String,
    pub kind: MatrixKind,
    pub rows: Rows,
    /// eps = cutoff * s_max of each matrix.
    pub relative_cutoff: f64,
    pub entries: Vec<SpectrumEntry>,
    /// (index of the reference, index of the other, comparison): every pair
    /// of entries of the same epoch, the earlier one as the reference.
    pub comparisons: Vec<(usize, usize, Comparison)>,
}

impl SpectrumReport {
    /// Builds the report; every pair of entries of the same epoch is
    /// compared (the one listed first is the reference).
    pub fn new(
        problem: String,
        ansatz: String,
        kind: MatrixKind,
        rows: Rows,
        relative_cutoff: f64,
        entries: Vec<SpectrumEntry>,
    ) -> SpectrumReport {
        let mut comparisons = Vec::new();
        for (j, other) in entries.iter().enumerate() {
            for (i, reference) in entries.iter().enumerate().take(j) {
                if reference.epoch != other.epoch {
                    continue;
                }
                comparisons.push((
                    i,
                    j,
                    Comparison::new(
                        &reference.values,
                        &other.values,
                        reference.summary.entropy.cutoff,
                        other.summary.entropy.cutoff,
                    ),
                ));
            }
        }
        SpectrumReport {
            problem,
            ansatz,
            kind,
            rows,
            relative_cutoff,
            entries,
            comparisons,
        }
    }

    fn rows_name(&self) -> &'static str {
        match self.rows {
            Rows::All => "all",
            Rows::Interior => "interior",
        }
    }

    /// The report as one JSON object (stable field names; see
    /// [`SpectrumJson`] and docs/language.md).
    pub fn to_json(&self) -> String {
        let json = SpectrumJson {
            schema_version: SCHEMA_VERSION,
            problem: &self.problem,
            ansatz: &self.ansatz,
            matrix: self.kind.name(),
            rows: self.rows_name(),
            relative_cutoff: self.relative_cutoff,
            spectra: self
                .entries
                .iter()
                .map(|e| {
                    let m = &e.summary;
                    let t = &m.entropy;
                    SpectrumEntryJson {
                        label: &e.label,
                        epoch: e.epoch,
                        rows: m.rows,
                        columns: m.columns,
                        s_max: m.s_max,
                        s_min: m.s_min,
                        condition: m.condition,
                        cutoff: t.cutoff,
                        effective_cutoff_number: t.effective_cutoff_number,
                        truncated_entropy: t.entropy,
                        effective_rank: t.effective_rank(),
                        energy_entropy: t.energy_entropy,
                        seconds: e.seconds,
                    }
                })
                .collect(),
            comparisons: self
                .comparisons
                .iter()
                .map(|(reference, other, c)| ComparisonJson {
                    reference: &self.entries[*reference].label,
                    other: &self.entries[*other].label,
                    agree_up_to: c.agree_up_to,
                    tail_ratio: c.tail_ratio,
                })
                .collect(),
        };
        to_json(&json)
    }

    /// `spectrum.csv`: `index` then one column of singular values per
    /// matrix (1-based index; empty cells where a matrix has fewer values).
    pub fn csv(&self) -> String {
        let mut out = String::from("index");
        for e in &self.entries {
            let _ = write!(out, ",\"{}\"", e.label.replace('"', "'"));
        }
        out.push('\n');
        let n = self
            .entries
            .iter()
            .map(|e| e.values.len())
            .max()
            .unwrap_or(0);
        for i in 0..n {
            let _ = write!(out, "{}", i + 1);
            for e in &self.entries {
                match e.values.get(i) {
                    Some(v) => {
                        let _ = write!(out, ",{v:e}");
                    }
                    None => out.push(','),
                }
            }
            out.push('\n');
        }
        out
    }

    /// `spectrum.svg`: the singular values against their index on a log
    /// scale, one line per matrix, and the first matrix's cutoff.
    pub fn svg(&self) -> Result<String, PlotError> {
        let series: Vec<(&str, &[f64])> = self
            .entries
            .iter()
            .map(|e| (e.label.as_str(), e.values.as_slice()))
            .collect();
        let cutoff = self
            .entries
            .first()
            .map(|e| e.summary.entropy.cutoff)
            .unwrap_or(0.0);
        let label = format!("cutoff {:.0e} s_max", self.relative_cutoff);
        let title = match self.problem.as_str() {
            "" => format!("singular values ({})", self.kind.name()),
            p => format!("{p}: singular values ({})", self.kind.name()),
        };
        plot::spectrum_svg(&title, &series, &[(label.as_str(), cutoff)])
    }

    /// The files of `--out`, as (name, contents).
    pub fn files(&self) -> Result<Vec<(String, String)>, PlotError> {
        Ok(vec![
            ("report.json".into(), self.to_json() + "\n"),
            ("spectrum.csv".into(), self.csv()),
            ("spectrum.svg".into(), self.svg()?),
        ])
    }
}

impl fmt::Display for SpectrumReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.problem.is_empty() {
            writeln!(f, "problem        {}", self.problem)?;
        }
        writeln!(f, "ansatz         {}", self.ansatz)?;
        let what = match self.kind {
            MatrixKind::LeastSquares => "least-squares matrix",
            MatrixKind::Jacobian => "Jacobian of the residuals over the trained parameters",
        };
        writeln!(f, "matrix         {what}, {} rows", self.rows_name())?;
        writeln!(
            f,
            "cutoff         eps = {:.0e} * s_max; H = truncated entropy, R = #{{s > eps}}",
            self.relative_cutoff
        )?;
        let width = self
            .entries
            .iter()
            .map(|e| e.label.len())
            .max()
            .unwrap_or(0)
            .max(4);
        writeln!(
            f,
            "\n{:<width$}  {:>11}  {:>10}  {:>10}  {:>10}  {:>6}  {:>8}  {:>8}  {:>8}",
            "diff", "size", "s_max", "s_min", "cond", "R", "H", "exp(H)", "H_energy"
        )?;
        for e in &self.entries {
            let m = &e.summary;
            writeln!(
                f,
                "{:<width$}  {:>11}  {:>10}  {:>10}  {:>10}  {:>6}  {:>8.4}  {:>8.2}  {:>8.4}",
                e.label,
                format!("{}x{}", m.rows, m.columns),
                sci(m.s_max),
                sci(m.s_min),
                sci(m.condition),
                m.entropy.effective_cutoff_number,
                m.entropy.entropy,
                m.entropy.effective_rank(),
                m.entropy.energy_entropy
            )?;
        }
        if !self.comparisons.is_empty() {
            writeln!(f)?;
            for (reference, other, c) in &self.comparisons {
                writeln!(
                    f,
                    "{:<width$}  vs {}: first {} singular values agree to 1%; beyond, median ratio {}",
                    self.entries[*other].label,
                    self.entries[*reference].label,
                    c.agree_up_to,
                    if c.tail_ratio.is_finite() {
                        format!("{:.3}", c.tail_ratio)
                    } else {
                        "- (no tail above the cutoffs)".to_string()
                    }
                )?;
            }
        }
        Ok(())
    }
}
