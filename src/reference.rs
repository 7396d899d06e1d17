//! Reference solutions from data: `reference u = data("file.csv")`.
//!
//! A table is a CSV file with a header row naming its columns; it must
//! have one column per coordinate of the problem (named like the
//! coordinate) and one named like the unknown. Other columns are ignored,
//! so the `solution.csv` that `pdec solve --out` writes (columns
//! `x, y, u, u_exact, u_error`) is itself a reference table. Blank lines
//! and lines starting with `#` are skipped. The path is relative to the
//! problem file's directory.
//!
//! Errors (a missing or unreadable file, a malformed row, a missing
//! column, no rows, a value that is not finite) are located at the path's
//! string literal (E0418), with the line of the file in the message.

use std::path::Path;

use crate::check::Spec;
use crate::diag::Diagnostic;
use crate::sample::PointSet;

/// The rows of a reference table: points (the problem's coordinates, in
/// order) and the unknown's value at each.
#[derive(Clone, Debug, PartialEq)]
pub struct Table {
    pub points: PointSet,
    pub values: Vec<f64>,
}

/// Reads every `reference` table of `spec`, relative to `base` (the
/// problem file's directory), into `spec.references[..].table`.
pub fn load(spec: &mut Spec, base: &Path) -> Vec<Diagnostic> {
    let coordinates: Vec<String> = spec.coordinates.iter().map(|c| c.name.clone()).collect();
    let mut diagnostics = Vec::new();
    for r in &mut spec.references {
        let unknown = spec.unknowns[r.unknown].name.clone();
        let path = base.join(&r.path);
        let result = std::fs::read_to_string(&path)
            .map_err(|e| format!("cannot read `{}`: {}", r.path, io_reason(&e)))
            .and_then(|text| parse(&text, &coordinates, &unknown));
        match result {
            Ok(table) => r.table = Some(table),
            Err(message) => diagnostics.push(
                Diagnostic::error("E0418", message, r.span)
                    .with_label_message("this reference table")
                    .with_note(format!(
                        "a reference table is a CSV file with a header naming the coordinates ({}) and `{unknown}`, then one row per point; the path is relative to the problem file",
                        coordinates.join(", ")
                    )),
            ),
        }
    }
    diagnostics
}

fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => e.to_string(),
    }
}

/// Parses a table with columns `coordinates` and `unknown` (by name).
pub fn parse(text: &str, coordinates: &[String], unknown: &str) -> Result<Table, String> {
    let mut lines = text
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim()))
        .filter(|(_, l)| !l.is_empty() && !l.starts_with('#'));
    let (header_line, header) = lines.next().ok_or("the file is empty")?;
    let names: Vec<&str> = header.split(',').map(str::trim).collect();
    let column = |name: &str| -> Result<usize, String> {
        match names.iter().filter(|n| **n == name).count() {
            0 => Err(format!(
                "line {header_line}: no column `{name}` (the columns are {})",
                names.join(", ")
            )),
            1 => Ok(names.iter().position(|n| *n == name).expect("counted")),
            _ => Err(format!("line {header_line}: two columns named `{name}`")),
        }
    };
    let wanted: Vec<usize> = coordinates
        .iter()
        .map(|c| column(c))
        .chain(std::iter::once(column(unknown)))
        .collect::<Result<_, _>>()?;
    let dims = coordinates.len();
    let mut points = PointSet::new(dims);
    let mut values = Vec::new();
    for (number, line) in lines {
        let cells: Vec<&str> = line.split(',').map(str::trim).collect();
        if cells.len() != names.len() {
            return Err(format!(
                "line {number}: {} values, but the header has {} columns",
                cells.len(),
                names.len()
            ));
        }
        for (k, &c) in wanted.iter().enumerate() {
            let v: f64 = cells[c].parse().map_err(|_| {
                format!(
                    "line {number}: `{}` in column `{}` is not a number",
                    cells[c], names[c]
                )
            })?;
            if !v.is_finite() {
                return Err(format!(
                    "line {number}: column `{}` is not finite ({})",
                    names[c], cells[c]
                ));
            }
            if k < dims {
                points.coords.push(v);
            } else {
                values.push(v);
            }
        }
    }
    if values.is_empty() {
        return Err("the table has a header but no rows".into());
    }
    Ok(Table { points, values })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn reads_the_named_columns_in_the_problems_order() {
        let text = "# written by hand\ny,u_exact,x,u\n0.5,9,0.25,1.5\n\n1,9,0.75,-2e-1\n";
        let t = parse(text, &names(&["x", "y"]), "u").unwrap();
        assert_eq!(t.points.coords, vec![0.25, 0.5, 0.75, 1.0]);
        assert_eq!(t.values, vec![1.5, -0.2]);
    }

    #[test]
    fn malformed_tables_name_the_line() {
        let x = names(&["x"]);
        assert_eq!(parse("", &x, "u").unwrap_err(), "the file is empty");
        assert!(parse("x,v\n0,1\n", &x, "u")
            .unwrap_err()
            .contains("line 1: no column `u` (the columns are x, v)"));
        assert!(parse("x,u\n0,1\n0.5\n", &x, "u")
            .unwrap_err()
            .starts_with("line 3: 1 values, but the header has 2 columns"));
        assert!(parse("x,u\n0,one\n", &x, "u")
            .unwrap_err()
            .contains("line 2: `one` in column `u` is not a number"));
        assert!(parse("x,u\n0,NaN\n", &x, "u")
            .unwrap_err()
            .contains("not finite"));
        assert!(parse("x,u\n", &x, "u").unwrap_err().contains("no rows"));
        assert!(parse("x,u,u\n0,1,2\n", &x, "u")
            .unwrap_err()
            .contains("two columns named `u`"));
    }
}
