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
//! A `.npy` file holds one 2-D array of n rows and d + 1 columns: the
//! coordinates in the problem's order, then the value. A `.npz` archive
//! (`numpy.savez` or `savez_compressed`) holds one 1-D array per
//! coordinate and one for the unknown, named like them, all of length n
//! (other arrays are ignored). Both take float32 or float64 in either byte
//! order, C or Fortran order.
//!
//! Errors (a missing or unreadable file, a malformed row or file, a
//! missing column or array, a wrong shape, no rows, a value that is not
//! finite) are located at the path's string literal (E0418), with the
//! line, row or array of the file in the message.

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
        let kind = Format::of(&r.path);
        let result = match kind {
            Format::Csv => std::fs::read_to_string(&path)
                .map_err(|e| format!("cannot read `{}`: {}", r.path, io_reason(&e)))
                .and_then(|text| parse(&text, &coordinates, &unknown)),
            Format::Npy => std::fs::File::open(&path)
                .map_err(|e| format!("cannot read `{}`: {}", r.path, io_reason(&e)))
                .and_then(|f| read_npy(std::io::BufReader::new(f), &coordinates, &unknown)),
            Format::Npz => std::fs::File::open(&path)
                .map_err(|e| format!("cannot read `{}`: {}", r.path, io_reason(&e)))
                .and_then(|f| read_npz(std::io::BufReader::new(f), &coordinates, &unknown)),
        };
        let mut names = coordinates.clone();
        names.push(unknown.clone());
        let note = match kind {
            Format::Csv => format!(
                "a reference table is a CSV file with a header naming the coordinates ({}) and `{unknown}`, then one row per point; the path is relative to the problem file",
                coordinates.join(", ")
            ),
            Format::Npy => format!(
                "a .npy reference holds a 2-D float32 or float64 array, one row per point and the columns {} in this order; the path is relative to the problem file",
                names.join(", ")
            ),
            Format::Npz => format!(
                "a .npz reference holds 1-D float32 or float64 arrays of equal length named {}; the path is relative to the problem file",
                names.join(", ")
            ),
        };
        match result {
            Ok(table) => r.table = Some(table),
            Err(message) => diagnostics.push(
                Diagnostic::error("E0418", message, r.span)
                    .with_label_message("this reference table")
                    .with_note(note),
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

/// The file format, from the path's extension (`.npy`, `.npz`, else CSV).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    Csv,
    Npy,
    Npz,
}

impl Format {
    fn of(path: &str) -> Format {
        let extension = Path::new(path)
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        match extension.as_deref() {
            Some("npy") => Format::Npy,
            Some("npz") => Format::Npz,
            _ => Format::Csv,
        }
    }
}

/// An array of a .npy stream as f64 in C (row-major) order, with its shape.
fn npy_array<R: std::io::Read>(reader: R) -> Result<(Vec<u64>, Vec<f64>), String> {
    let file = npyz::NpyFile::new(reader).map_err(|e| format!("not a .npy array ({e})"))?;
    let shape = file.shape().to_vec();
    let fortran = file.order() == npyz::Order::Fortran;
    let dtype = match file.dtype() {
        npyz::DType::Plain(t) => t.to_string(),
        other => other.descr(),
    };
    let values: Vec<f64> = if dtype.ends_with("f8") {
        file.into_vec::<f64>()
            .map_err(|e| format!("cannot read the {dtype} data ({e})"))?
    } else if dtype.ends_with("f4") {
        (file.into_vec::<f32>())
            .map_err(|e| format!("cannot read the {dtype} data ({e})"))?
            .into_iter()
            .map(f64::from)
            .collect()
    } else {
        return Err(format!(
            "the array holds `{dtype}`, not float32 or float64 (`<f4`, `<f8`, `>f4`, `>f8`)"
        ));
    };
    let count: u64 = shape.iter().product();
    if values.len() as u64 != count {
        return Err(format!(
            "the array has {} values, but its shape {shape:?} needs {count}",
            values.len()
        ));
    }
    if fortran && shape.len() == 2 {
        // Column-major: element (i, j) at j n + i.
        let (n, m) = (shape[0] as usize, shape[1] as usize);
        let mut c = vec![0.0; values.len()];
        for i in 0..n {
            for j in 0..m {
                c[i * m + j] = values[j * n + i];
            }
        }
        return Ok((shape, c));
    }
    Ok((shape, values))
}

fn shape_text(shape: &[u64]) -> String {
    let parts: Vec<String> = shape.iter().map(u64::to_string).collect();
    if parts.len() == 1 {
        format!("({},)", parts[0])
    } else {
        format!("({})", parts.join(", "))
    }
}

/// Reads a `.npy` reference: a 2-D array, n rows of the coordinates in
/// the problem's order and then the value of `unknown`.
pub fn read_npy<R: std::io::Read>(
    reader: R,
    coordinates: &[String],
    unknown: &str,
) -> Result<Table, String> {
    let (shape, data) = npy_array(reader)?;
    let dims = coordinates.len();
    let columns = dims + 1;
    if shape.len() != 2 || shape[1] != columns as u64 {
        return Err(format!(
            "the array has shape {}, but this problem needs (n, {columns}): the columns {}, {unknown}",
            shape_text(&shape),
            coordinates.join(", ")
        ));
    }
    if shape[0] == 0 {
        return Err("the array has no rows".into());
    }
    let mut points = PointSet::new(dims);
    let mut values = Vec::with_capacity(shape[0] as usize);
    for (i, row) in data.chunks(columns).enumerate() {
        for (j, &v) in row.iter().enumerate() {
            if !v.is_finite() {
                let name = coordinates.get(j).map_or(unknown, String::as_str);
                return Err(format!(
                    "row {i} (counted from 0), column {j} (`{name}`) is not finite ({v})"
                ));
            }
        }
        points.coords.extend_from_slice(&row[..dims]);
        values.push(row[dims]);
    }
    Ok(Table { points, values })
}

/// Reads a `.npz` reference: 1-D arrays of equal length named like the
/// coordinates and like `unknown` (`x.npy`, ... inside the archive).
pub fn read_npz<R: std::io::Read + std::io::Seek>(
    reader: R,
    coordinates: &[String],
    unknown: &str,
) -> Result<Table, String> {
    let mut archive =
        zip::ZipArchive::new(reader).map_err(|e| format!("not a .npz archive ({e})"))?;
    let available: Vec<String> = archive
        .file_names()
        .filter_map(|n| n.ok())
        .filter_map(|n| n.strip_suffix(".npy").map(str::to_string))
        .collect();
    let mut arrays: Vec<Vec<f64>> = Vec::new();
    for name in coordinates.iter().map(String::as_str).chain([unknown]) {
        let entry = match archive.by_name(&format!("{name}.npy")) {
            Ok(entry) => entry,
            Err(zip::result::ZipError::FileNotFound) => {
                let mut list = available.clone();
                list.sort();
                return Err(format!(
                    "no array `{name}` (the arrays are {})",
                    if list.is_empty() {
                        "none".to_string()
                    } else {
                        list.join(", ")
                    }
                ));
            }
            Err(e) => return Err(format!("cannot read array `{name}` ({e})")),
        };
        let (shape, data) = npy_array(entry).map_err(|e| format!("array `{name}`: {e}"))?;
        if shape.len() != 1 {
            return Err(format!(
                "array `{name}` has shape {}, but each array must be 1-D",
                shape_text(&shape)
            ));
        }
        if let Some(first) = arrays.first() {
            if first.len() != data.len() {
                return Err(format!(
                    "array `{name}` has {} values, but `{}` has {}",
                    data.len(),
                    coordinates.first().map_or(unknown, String::as_str),
                    first.len()
                ));
            }
        }
        if let Some(i) = data.iter().position(|v| !v.is_finite()) {
            return Err(format!(
                "array `{name}`: value {i} (counted from 0) is not finite ({})",
                data[i]
            ));
        }
        arrays.push(data);
    }
    let n = arrays[0].len();
    if n == 0 {
        return Err("the arrays are empty".into());
    }
    let dims = coordinates.len();
    let mut points = PointSet::new(dims);
    points.coords.reserve(n * dims);
    for i in 0..n {
        for a in &arrays[..dims] {
            points.coords.push(a[i]);
        }
    }
    let values = arrays.pop().expect("the unknown's array");
    Ok(Table { points, values })
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

    /// A .npy file written by hand (format 1.0): the magic, the header
    /// dict padded to a multiple of 64 bytes, then the data in `descr`
    /// (`<f8`, `>f8`, `<f4`, `>f4`), C or Fortran order of `values` given
    /// in C order.
    fn npy(descr: &str, fortran: bool, shape: &[usize], values: &[f64]) -> Vec<u8> {
        let dims: Vec<String> = shape.iter().map(usize::to_string).collect();
        let shape_text = if dims.len() == 1 {
            format!("({},)", dims[0])
        } else {
            format!("({})", dims.join(", "))
        };
        let order = if fortran { "True" } else { "False" };
        let mut header =
            format!("{{'descr': '{descr}', 'fortran_order': {order}, 'shape': {shape_text}, }}");
        while (10 + header.len() + 1) % 64 != 0 {
            header.push(' ');
        }
        header.push('\n');
        let mut out = b"\x93NUMPY\x01\x00".to_vec();
        out.extend_from_slice(&(header.len() as u16).to_le_bytes());
        out.extend_from_slice(header.as_bytes());
        let ordered: Vec<f64> = if fortran && shape.len() == 2 {
            let (n, m) = (shape[0], shape[1]);
            (0..n * m).map(|k| values[(k % n) * m + k / n]).collect()
        } else {
            values.to_vec()
        };
        for v in ordered {
            match descr {
                "<f8" => out.extend_from_slice(&v.to_le_bytes()),
                ">f8" => out.extend_from_slice(&v.to_be_bytes()),
                "<f4" => out.extend_from_slice(&(v as f32).to_le_bytes()),
                ">f4" => out.extend_from_slice(&(v as f32).to_be_bytes()),
                "<i8" => out.extend_from_slice(&(v as i64).to_le_bytes()),
                _ => panic!("{descr}"),
            }
        }
        out
    }

    /// A .npz archive of `arrays` (name, .npy bytes), deflated or stored.
    fn npz(arrays: &[(&str, Vec<u8>)], deflate: bool) -> Vec<u8> {
        use std::io::Write;
        let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let method = if deflate {
            zip::CompressionMethod::Deflated
        } else {
            zip::CompressionMethod::Stored
        };
        let options = zip::write::SimpleFileOptions::default().compression_method(method);
        for (name, bytes) in arrays {
            zip.start_file(format!("{name}.npy"), options).unwrap();
            zip.write_all(bytes).unwrap();
        }
        zip.finish().unwrap().into_inner()
    }

    /// The three rows of a small 2-D table, (x, y, u) each, and its CSV.
    const ROWS: [[f64; 3]; 3] = [[0.25, 0.5, 1.5], [0.75, 1.0, -0.2], [0.1, 0.3, 1e-3]];
    const CSV: &str = "x,y,u\n0.25,0.5,1.5\n0.75,1.0,-0.2\n0.1,0.3,1e-3\n";

    fn flat() -> Vec<f64> {
        ROWS.iter().flatten().copied().collect()
    }

    fn column(j: usize) -> Vec<f64> {
        ROWS.iter().map(|r| r[j]).collect()
    }

    #[test]
    fn npy_and_npz_tables_match_the_csv_table() {
        let xy = names(&["x", "y"]);
        let csv = parse(CSV, &xy, "u").unwrap();
        for descr in ["<f8", ">f8"] {
            for fortran in [false, true] {
                let bytes = npy(descr, fortran, &[3, 3], &flat());
                let t = read_npy(&bytes[..], &xy, "u").unwrap();
                assert_eq!(t, csv, "{descr}, fortran {fortran}");
            }
        }
        for descr in ["<f4", ">f4"] {
            let t = read_npy(&npy(descr, false, &[3, 3], &flat())[..], &xy, "u").unwrap();
            for (a, b) in t.values.iter().zip(&csv.values) {
                assert_eq!(*a, f64::from(*b as f32));
            }
        }
        for deflate in [false, true] {
            let archive = npz(
                &[
                    ("u", npy("<f8", false, &[3], &column(2))),
                    ("notes", npy("<f8", false, &[1], &[7.0])),
                    ("y", npy(">f8", false, &[3], &column(1))),
                    ("x", npy("<f8", false, &[3], &column(0))),
                ],
                deflate,
            );
            let t = read_npz(std::io::Cursor::new(archive), &xy, "u").unwrap();
            assert_eq!(t, csv, "deflate {deflate}");
        }
    }

    #[test]
    fn malformed_npy_files_are_named() {
        let xy = names(&["x", "y"]);
        let err = |bytes: Vec<u8>| read_npy(&bytes[..], &xy, "u").unwrap_err();
        assert_eq!(
            err(npy("<f8", false, &[9], &[0.0; 9])),
            "the array has shape (9,), but this problem needs (n, 3): the columns x, y, u"
        );
        assert!(err(npy("<f8", false, &[3, 2], &[0.0; 6])).contains("shape (3, 2)"));
        assert!(err(npy("<i8", false, &[3, 3], &flat())).contains("holds `<i8`"));
        assert_eq!(
            err(npy("<f8", false, &[0, 3], &[])),
            "the array has no rows"
        );
        let mut bad = flat();
        bad[4] = f64::INFINITY;
        assert_eq!(
            err(npy("<f8", false, &[3, 3], &bad)),
            "row 1 (counted from 0), column 1 (`y`) is not finite (inf)"
        );
        assert!(err(b"x,y,u\n1,2,3\n".to_vec()).starts_with("not a .npy array"));
        let mut short = npy("<f8", false, &[3, 3], &flat());
        short.truncate(short.len() - 8);
        assert!(err(short).starts_with("cannot read the <f8 data"));
    }

    #[test]
    fn malformed_npz_archives_are_named() {
        let xy = names(&["x", "y"]);
        let err = |arrays: &[(&str, Vec<u8>)]| {
            read_npz(std::io::Cursor::new(npz(arrays, true)), &xy, "u").unwrap_err()
        };
        let x = || ("x", npy("<f8", false, &[3], &column(0)));
        let y = || ("y", npy("<f8", false, &[3], &column(1)));
        assert_eq!(
            err(&[x(), y(), ("v", npy("<f8", false, &[3], &column(2)))]),
            "no array `u` (the arrays are v, x, y)"
        );
        assert_eq!(
            err(&[x(), y(), ("u", npy("<f8", false, &[2], &[1.0, 2.0]))]),
            "array `u` has 2 values, but `x` has 3"
        );
        assert_eq!(
            err(&[
                x(),
                ("y", npy("<f8", false, &[3, 1], &column(1))),
                ("u", npy("<f8", false, &[3], &column(2)))
            ]),
            "array `y` has shape (3, 1), but each array must be 1-D"
        );
        assert_eq!(
            err(&[
                x(),
                y(),
                ("u", npy("<f8", false, &[3], &[1.0, f64::NAN, 0.0]))
            ]),
            "array `u`: value 1 (counted from 0) is not finite (NaN)"
        );
        assert!(err(&[x(), y(), ("u", b"nonsense".to_vec())]).starts_with("array `u`: not a .npy"));
        let garbage = read_npz(std::io::Cursor::new(b"PK nonsense".to_vec()), &xy, "u");
        assert!(garbage.unwrap_err().starts_with("not a .npz archive"));
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
