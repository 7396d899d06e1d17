//! Diagnostics: the one error/warning type every stage reports with.
//!
//! Stages never print and never stop at the first problem: they return their
//! result together with a `Vec<Diagnostic>`. Rendering (file:line:col, the
//! source line, carets) happens only in `cli`, which is the one place that
//! knows about files and terminals.

use std::fmt;

/// A byte range `start..end` in the source text of one `.pde` file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    /// The span from `start` to `end` (byte offsets).
    pub fn new(start: usize, end: usize) -> Span {
        Span { start, end }
    }

    /// The smallest span covering both `self` and `other`.
    pub fn to(self, other: Span) -> Span {
        Span::new(self.start.min(other.start), self.end.max(other.end))
    }

    /// The 1-based line and column of `start` in `source`.
    pub fn line_col(self, source: &str) -> (usize, usize) {
        let before = &source[..self.start.min(source.len())];
        let line = before.matches('\n').count() + 1;
        let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        (line, col)
    }
}

/// Whether a diagnostic stops the pipeline.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// Suspicious but the problem can still be solved (exit code stays 0).
    Warning,
    /// Invalid input: nothing downstream runs (exit code 2).
    Error,
}

/// A span with a short message, drawn under the source line.
#[derive(Clone, Debug, PartialEq)]
pub struct Label {
    pub span: Span,
    pub message: String,
    /// The primary label is drawn with carets (`^^^`), secondary ones with dashes.
    pub primary: bool,
}

/// One error or warning about the input, with where and why.
#[derive(Clone, Debug, PartialEq)]
pub struct Diagnostic {
    pub severity: Severity,
    /// A stable code such as `E0201`, listed in docs/language.md.
    pub code: &'static str,
    pub message: String,
    pub labels: Vec<Label>,
    /// Extra lines: what was expected, how to fix it.
    pub notes: Vec<String>,
}

impl Diagnostic {
    /// An error with a primary label at `span`.
    pub fn error(code: &'static str, message: impl Into<String>, span: Span) -> Diagnostic {
        Diagnostic::new(Severity::Error, code, message, Some(span))
    }

    /// A warning with a primary label at `span`.
    pub fn warning(code: &'static str, message: impl Into<String>, span: Span) -> Diagnostic {
        Diagnostic::new(Severity::Warning, code, message, Some(span))
    }

    /// An error that belongs to no place in the file (e.g. a bad command-line override).
    pub fn error_without_span(code: &'static str, message: impl Into<String>) -> Diagnostic {
        Diagnostic::new(Severity::Error, code, message, None)
    }

    /// A warning that belongs to no place in the file.
    pub fn warning_without_span(code: &'static str, message: impl Into<String>) -> Diagnostic {
        Diagnostic::new(Severity::Warning, code, message, None)
    }

    fn new(
        severity: Severity,
        code: &'static str,
        message: impl Into<String>,
        span: Option<Span>,
    ) -> Diagnostic {
        Diagnostic {
            severity,
            code,
            message: message.into(),
            labels: span
                .map(|span| Label {
                    span,
                    message: String::new(),
                    primary: true,
                })
                .into_iter()
                .collect(),
            notes: Vec::new(),
        }
    }

    /// Sets the text of the primary label.
    pub fn with_label_message(mut self, message: impl Into<String>) -> Diagnostic {
        if let Some(label) = self.labels.iter_mut().find(|l| l.primary) {
            label.message = message.into();
        }
        self
    }

    /// Adds a secondary label (e.g. "first defined here").
    pub fn with_secondary(mut self, span: Span, message: impl Into<String>) -> Diagnostic {
        self.labels.push(Label {
            span,
            message: message.into(),
            primary: false,
        });
        self
    }

    /// Adds a note line.
    pub fn with_note(mut self, note: impl Into<String>) -> Diagnostic {
        self.notes.push(note.into());
        self
    }

    /// True for errors (as opposed to warnings).
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Diagnostic {
    /// A one-line form without source context (`error[E0201]: ...`), for logs and tests.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(f, "{kind}[{}]: {}", self.code, self.message)
    }
}

/// Levenshtein distance between two names, for "did you mean" notes.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let substitute = previous + usize::from(ca != cb);
            previous = row[j + 1];
            row[j + 1] = substitute.min(row[j] + 1).min(row[j + 1] + 1);
        }
    }
    row[b.len()]
}

/// True when any diagnostic in the list is an error.
pub fn has_errors(diagnostics: &[Diagnostic]) -> bool {
    diagnostics.iter().any(Diagnostic::is_error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_distance_counts_single_edits() {
        assert_eq!(edit_distance("sin", "sin"), 0);
        assert_eq!(edit_distance("sni", "sin"), 2);
        assert_eq!(edit_distance("u", "v"), 1);
        assert_eq!(edit_distance("tanh", "tan"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
    }

    #[test]
    fn line_col_is_one_based_and_counts_characters() {
        let src = "ab\nc\u{e9}d\nx";
        assert_eq!(Span::new(0, 1).line_col(src), (1, 1));
        assert_eq!(Span::new(3, 4).line_col(src), (2, 1));
        // 'd' comes after a two-byte character: column 3, byte offset 6
        assert_eq!(Span::new(6, 7).line_col(src), (2, 3));
        assert_eq!(Span::new(8, 9).line_col(src), (3, 1));
    }
}
