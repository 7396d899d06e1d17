//! Helpers shared by the end-to-end tests: running pdec in-process and
//! locating the examples.

#![allow(dead_code)]

/// Runs pdec with `args` through the entry point the binary uses; returns
/// (exit code, stdout, stderr).
pub fn pdec(args: &[&str]) -> (i32, String, String) {
    let mut out = Vec::new();
    let mut err = Vec::new();
    let mut full = vec!["pdec"];
    full.extend_from_slice(args);
    let code = pdec::cli::run(full, &mut out, &mut err, false);
    (
        code,
        String::from_utf8(out).expect("stdout is UTF-8"),
        String::from_utf8(err).expect("stderr is UTF-8"),
    )
}

/// Runs pdec with `args`, which must succeed and print one JSON object
/// (a `--json` report); returns it.
pub fn pdec_json(args: &[&str]) -> serde_json::Value {
    let (code, out, err) = pdec(args);
    assert_eq!(code, 0, "pdec {args:?} failed:\n{err}");
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("bad JSON ({e}):\n{out}"))
}

/// The absolute path of `examples/NAME.pde`.
pub fn example(name: &str) -> String {
    format!("{}/examples/{name}.pde", env!("CARGO_MANIFEST_DIR"))
}

/// A fresh, empty scratch directory path for one test (not created).
pub fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("pdec-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// The header line of `dir/history.csv` (written by `solve --out`) and its
/// loss column, one value per iteration.
pub fn history_losses(dir: &std::path::Path) -> (String, Vec<f64>) {
    let history = std::fs::read_to_string(dir.join("history.csv")).unwrap();
    let mut lines = history.lines();
    let header = lines.next().unwrap_or_default().to_string();
    let loss = lines
        .map(|l| l.split(',').nth(1).unwrap().parse().unwrap())
        .collect();
    (header, loss)
}
