//! The report of `pdec spectrum`: a table, one JSON object (stable field
//! names, see docs/language.md) and the files of `--out` (report.json,
//! spectrum.csv, spectrum.svg).

use std::fmt::{self, Write};

use super::plot::{self, PlotError};
use super::{json_number, json_string, sci};
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

    /// The report as one JSON object.
    pub fn to_json(&self) -> String {
        let mut s = String::from("{");
        let _ = write!(
            s,
            "\"problem\": {}, \"ansatz\": {}, \"matrix\": {}, \"rows\": {}, \"relative_cutoff\": {}, \"spectra\": [",
            json_string(&self.problem),
            json_string(&self.ansatz),
            json_string(self.kind.name()),
            json_string(self.rows_name()),
            json_number(self.relative_cutoff)
        );
        for (i, e) in self.entries.iter().enumerate() {
            let m = &e.summary;
            let t = &m.entropy;
            if i > 0 {
                s.push_str(", ");
            }
            let _ = write!(
                s,
                "{{\"label\": {}, \"epoch\": {}, \"rows\": {}, \"columns\": {}, \"s_max\": {}, \"s_min\": {}, \
                 \"condition\": {}, \"cutoff\": {}, \"effective_cutoff_number\": {}, \
                 \"truncated_entropy\": {}, \"effective_rank\": {}, \"energy_entropy\": {}, \
                 \"seconds\": {}}}",
                json_string(&e.label),
                e.epoch,
                m.rows,
                m.columns,
                json_number(m.s_max),
                json_number(m.s_min),
                json_number(m.condition),
                json_number(t.cutoff),
                t.effective_cutoff_number,
                json_number(t.entropy),
                json_number(t.effective_rank()),
                json_number(t.energy_entropy),
                json_number(e.seconds),
            );
        }
        s.push_str("], \"comparisons\": [");
        for (i, (reference, other, c)) in self.comparisons.iter().enumerate() {
            if i > 0 {
                s.push_str(", ");
            }
            let _ = write!(
                s,
                "{{\"reference\": {}, \"other\": {}, \"agree_up_to\": {}, \"tail_ratio\": {}}}",
                json_string(&self.entries[*reference].label),
                json_string(&self.entries[*other].label),
                c.agree_up_to,
                json_number(c.tail_ratio)
            );
        }
        s.push_str("]}");
        s
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
