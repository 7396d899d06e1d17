//! The output streams of one invocation and the steps every command
//! shares: reading a source file, parsing and checking it (with the
//! exact-solution check), and rendering diagnostics rustc-style.

use std::io::Write;
use std::path::Path;

use codespan_reporting::diagnostic::{Diagnostic as Rendered, Label as RenderedLabel};
use codespan_reporting::files::SimpleFile;
use codespan_reporting::term;

use super::{study, EXIT_OK};
use crate::check::{self, Overrides, Spec};
use crate::diag::{has_errors, Diagnostic, Severity};
use crate::syntax;
use crate::verify;

/// A checked problem and the one-line outcome of its exact-solution check.
pub(super) struct Checked {
    pub spec: Spec,
    pub exact_line: Option<String>,
}

/// The output streams of one invocation.
pub(super) struct Session<'a> {
    pub stdout: &'a mut dyn Write,
    pub stderr: &'a mut dyn Write,
    /// ANSI colors in diagnostics.
    pub color: bool,
    /// A progress bar on the process's stderr may be drawn.
    pub progress_bar: bool,
}

impl Session<'_> {
    /// Merges the runs cached under `dir` (those of `keys`, or all of
    /// them) into the study's tables and plots and prints the summary. A
    /// failure is printed after `label` and gives `code`.
    pub(super) fn merge_study(
        &mut self,
        dir: &Path,
        keys: Option<&[String]>,
        label: &str,
        code: i32,
    ) -> i32 {
        match study::read_results(dir).and_then(|rows| study::merge(dir, rows, keys)) {
            Ok(summary) => {
                let _ = write!(self.stdout, "{summary}");
                EXIT_OK
            }
            Err(message) => {
                let _ = writeln!(self.stderr, "{label}: {message}");
                code
            }
        }
    }

    /// `initial u = data(...)` holds grid values for `pdec simulate`; a
    /// command that trains a network (`command`) reports it at the data
    /// statement (E0707, an input error) and returns true.
    pub(super) fn refuse_initial_data(&mut self, path: &Path, spec: &Spec, command: &str) -> bool {
        let Some(data) = &spec.initial_data else {
            return false;
        };
        let source = self.read(path).unwrap_or_default();
        let name = spec
            .unknowns
            .get(data.unknown)
            .map_or("u", |u| u.name.as_str());
        let diagnostic = Diagnostic::error(
            "E0707",
            format!(
                "`initial {name} = data(...)` gives grid values for `pdec simulate`; `pdec {command}` needs the initial condition as an expression"
            ),
            data.span,
        )
        .with_label_message("grid values")
        .with_note("write the initial condition as an expression of the coordinates, or run `pdec simulate`");
        self.report(path, &source, &[diagnostic]);
        true
    }

    /// Reads a source file; reports an unreadable file as an input error.
    pub(super) fn read(&mut self, path: &Path) -> Option<String> {
        match std::fs::read(path) {
            Ok(bytes) => match String::from_utf8(bytes) {
                Ok(text) => Some(text),
                Err(e) => {
                    let _ = writeln!(
                        self.stderr,
                        "error[E0001]: {} is not UTF-8 text (invalid byte at offset {})",
                        path.display(),
                        e.utf8_error().valid_up_to()
                    );
                    None
                }
            },
            Err(e) => {
                let _ = writeln!(
                    self.stderr,
                    "error[E0001]: cannot read {}: {}",
                    path.display(),
                    io_reason(&e)
                );
                None
            }
        }
    }

    /// Reads, parses and checks one file, reporting every diagnostic.
    /// Returns the problem when there were no errors (and, with
    /// `deny_warnings`, no warnings).
    pub(super) fn check_file(
        &mut self,
        path: &Path,
        overrides: &Overrides,
        deny_warnings: bool,
    ) -> Option<Checked> {
        let source = self.read(path)?;
        self.check_source(path, &source, overrides, deny_warnings)
    }

    /// Checks one file under several sets of overrides that differ only in
    /// settings (diff mode, sizes, seeds, ...). The file is read once and
    /// checked in full under the first set; warnings and the exact-solution
    /// check do not depend on settings, so under the other sets only errors
    /// are reported. Returns the source and one problem per set, or, after
    /// reporting, the index of the set that failed (None if the file could
    /// not be read).
    pub(super) fn check_variants(
        &mut self,
        path: &Path,
        variants: &[Overrides],
    ) -> Result<(String, Vec<Spec>), Option<usize>> {
        let source = self.read(path).ok_or(None)?;
        let Some(first) = variants.first() else {
            return Ok((source, Vec::new()));
        };
        let first = self
            .check_source_for(path, &source, first, false, true)
            .ok_or(0usize)?;
        let mut specs = vec![first.spec];
        let (tree, _) = syntax::parse(&source);
        let tree = tree.ok_or(0usize)?;
        for (i, overrides) in variants.iter().enumerate().skip(1) {
            let (spec, mut diagnostics) = check::check(&tree, overrides);
            let spec = formulated(spec, &mut diagnostics);
            if let Some(spec) = &spec {
                diagnostics.extend(fits(spec, &tree, overrides, true));
            }
            let errors: Vec<Diagnostic> =
                diagnostics.into_iter().filter(|d| d.is_error()).collect();
            match spec {
                Some(spec) if errors.is_empty() => specs.push(spec),
                _ => {
                    self.report(path, &source, &errors);
                    return Err(Some(i));
                }
            }
        }
        Ok((source, specs))
    }

    /// Parses and checks `source` (read from `path`), with the
    /// exact-solution check, and reports every diagnostic.
    pub(super) fn check_source(
        &mut self,
        path: &Path,
        source: &str,
        overrides: &Overrides,
        deny_warnings: bool,
    ) -> Option<Checked> {
        self.check_source_for(path, source, overrides, deny_warnings, false)
    }

    /// [`Self::check_source`]; the memory estimate counts the singular
    /// value decomposition of `pdec spectrum` and `pdec study` when
    /// `spectrum`.
    fn check_source_for(
        &mut self,
        path: &Path,
        source: &str,
        overrides: &Overrides,
        deny_warnings: bool,
        spectrum: bool,
    ) -> Option<Checked> {
        let (tree, mut diagnostics) = syntax::parse(source);
        let spec = match tree {
            Some(tree) if !has_errors(&diagnostics) => {
                let (spec, more) = check::check(&tree, overrides);
                diagnostics.extend(more);
                let spec = formulated(spec, &mut diagnostics);
                if let Some(spec) = &spec {
                    diagnostics.extend(fits(spec, &tree, overrides, spectrum));
                }
                spec
            }
            _ => None,
        };
        let mut spec = spec;
        if let Some(spec) = &mut spec {
            let base = path.parent().unwrap_or(Path::new("."));
            diagnostics.extend(crate::reference::load(spec, base));
        }
        let mut exact_line = None;
        if let Some(spec) = &spec {
            match verify::check_exact(spec) {
                Ok(checks) => {
                    diagnostics.extend(verify::diagnostics(spec, &checks));
                    exact_line = verify::summary_line(&checks);
                }
                Err(e) => diagnostics.push(Diagnostic::warning_without_span(
                    "W0603",
                    format!("the exact solution could not be checked: {e}"),
                )),
            }
        }
        if deny_warnings {
            for d in &mut diagnostics {
                d.severity = Severity::Error;
            }
        }
        self.report(path, source, &diagnostics);
        let spec = spec.filter(|_| !has_errors(&diagnostics))?;
        Some(Checked { spec, exact_line })
    }

    /// Renders diagnostics rustc-style (file:line:col, source line, carets) to stderr.
    pub(super) fn report(&mut self, path: &Path, source: &str, diagnostics: &[Diagnostic]) {
        let text = render(path, source, diagnostics, self.color);
        let _ = write!(self.stderr, "{text}");
        let errors = diagnostics.iter().filter(|d| d.is_error()).count();
        if errors > 0 {
            let _ = writeln!(
                self.stderr,
                "{}: {errors} error{} in {}",
                if self.color {
                    "\x1b[1;31merror\x1b[0m"
                } else {
                    "error"
                },
                if errors == 1 { "" } else { "s" },
                path.display()
            );
        }
    }
}

/// The checked problem in its formulation (`flux::rewrite`); the
/// rewrite's errors join `diagnostics`.
fn formulated(spec: Option<Spec>, diagnostics: &mut Vec<Diagnostic>) -> Option<Spec> {
    match crate::flux::rewrite(spec?) {
        Ok(spec) => Some(spec),
        Err(errors) => {
            diagnostics.extend(errors);
            None
        }
    }
}

/// E0515 if the run of `spec` needs more memory than is available (see
/// [`check::memory`]).
fn fits(
    spec: &Spec,
    tree: &crate::syntax::ast::File,
    overrides: &Overrides,
    spectrum: bool,
) -> Option<Diagnostic> {
    check::memory::check_fits(spec, tree, overrides, spectrum, check::memory::available())
}

fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ if e.raw_os_error() == Some(21) => "it is a directory".into(),
        _ => e.to_string(),
    }
}

/// Renders diagnostics against their source with codespan-reporting.
pub fn render(path: &Path, source: &str, diagnostics: &[Diagnostic], color: bool) -> String {
    let file = SimpleFile::new(path.display().to_string(), source);
    let config = term::Config::default();
    let mut out = String::new();
    for d in diagnostics {
        let rendered = match d.severity {
            Severity::Error => Rendered::error(),
            Severity::Warning => Rendered::warning(),
        }
        .with_code(d.code)
        .with_message(&d.message)
        .with_labels(
            d.labels
                .iter()
                .map(|l| {
                    let span = l.span.start.min(source.len())..l.span.end.min(source.len());
                    let label = if l.primary {
                        RenderedLabel::primary((), span)
                    } else {
                        RenderedLabel::secondary((), span)
                    };
                    label.with_message(&l.message)
                })
                .collect(),
        )
        .with_notes(d.notes.clone());
        if color {
            let mut buffer = term::termcolor::Buffer::ansi();
            let styles = term::Styles::default();
            let mut writer = term::StylesWriter::new(&mut buffer, &styles);
            if term::emit_to_write_style(&mut writer, &config, &file, &rendered).is_ok() {
                out.push_str(&String::from_utf8_lossy(buffer.as_slice()));
                continue;
            }
        }
        if let Ok(text) = term::emit_into_string(&config, &file, &rendered) {
            out.push_str(&text);
        }
    }
    out
}
