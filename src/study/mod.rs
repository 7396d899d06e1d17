//! Studies: many independent `solve` + `spectrum` runs over a Cartesian
//! product of settings and seeds, merged into one tidy table.
//!
//! This module plans runs, names them by a content hash (so a re-run finds
//! what is already computed, on this machine or any other), turns per-run
//! results into rows, and computes the statistics the table is read with
//! (Spearman's rank correlation, fitted convergence orders). Running the
//! runs, the cache directory and job files belong to the command line.

use std::fmt::Write;

use serde_json::{json, Map, Value};

use crate::check::Overrides;

/// Settings a study may vary: the override flags of `solve`, by name.
pub const VARIABLE: [&str; 17] = [
    "features",
    "width",
    "depth",
    "activation",
    "h",
    "order",
    "lr",
    "epochs",
    "iters",
    "formulation",
    "train",
    "mu",
    "mu_max",
    "every",
    "sigma",
    "samples",
    "estimator",
];

/// Variable settings whose values are names, not numbers.
const NAMED: [&str; 4] = ["activation", "formulation", "train", "estimator"];

/// Settings that only apply to `diff fd` (not varied for other modes).
const FD_ONLY: [&str; 2] = ["h", "order"];

/// Settings that only apply to `diff stein` (not varied for other modes).
const STEIN_ONLY: [&str; 3] = ["sigma", "samples", "estimator"];

/// The loss levels, relative to the first iteration's loss, whose first
/// crossing is reported for iterative trainers (`epochs_to_1e-3` = the
/// first iteration with loss <= 1e-3 x the loss of iteration 1).
pub const LOSS_LEVELS: [f64; 3] = [1e-2, 1e-3, 1e-4];

/// `--vary NAME=v1,v2,...`.
#[derive(Clone, Debug, PartialEq)]
pub struct Variation {
    pub name: String,
    pub values: Vec<String>,
}

impl Variation {
    /// Parses `NAME=v1,v2,...`; NAME must be one of [`VARIABLE`] and each
    /// value a number (a name for `activation`, `formulation`, `train`).
    pub fn parse(text: &str) -> Result<Variation, String> {
        let (name, values) = text
            .split_once('=')
            .ok_or_else(|| format!("--vary {text}: expected NAME=v1,v2,... (e.g. h=1e-1,1e-2)"))?;
        let name = name.trim();
        if !VARIABLE.contains(&name) {
            return Err(format!(
                "--vary {text}: `{name}` cannot be varied; one of {}",
                VARIABLE.join(", ")
            ));
        }
        let values: Vec<String> = values
            .split(',')
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
            .collect();
        if values.is_empty() {
            return Err(format!("--vary {text}: no values"));
        }
        if !NAMED.contains(&name) {
            if let Some(bad) = values.iter().find(|v| v.parse::<f64>().is_err()) {
                return Err(format!("--vary {text}: `{bad}` is not a number"));
            }
        }
        Ok(Variation {
            name: name.to_string(),
            values,
        })
    }
}

/// Parses `--seeds`: `a..b` (a, a+1, ..., b-1) or a list `0,3,7`.
pub fn parse_seeds(text: &str) -> Result<Vec<u64>, String> {
    let bad = || format!("--seeds {text}: expected a range a..b (b excluded) or a list 0,1,2");
    let seeds: Vec<u64> = match text.split_once("..") {
        Some((a, b)) => {
            let (a, b): (u64, u64) = (
                a.trim().parse().map_err(|_| bad())?,
                b.trim().parse().map_err(|_| bad())?,
            );
            (a..b).collect()
        }
        None => text
            .split(',')
            .map(|s| s.trim().parse().map_err(|_| bad()))
            .collect::<Result<_, _>>()?,
    };
    if seeds.is_empty() {
        return Err(format!("--seeds {text}: no seeds"));
    }
    Ok(seeds)
}

/// One run of a study: a diff mode, a value for each varied setting that
/// applies to it, and a seed.
#[derive(Clone, Debug, PartialEq)]
pub struct RunSettings {
    pub diff: String,
    /// (setting name, value) in the order of the study's variations.
    pub values: Vec<(String, String)>,
    pub seed: u64,
}

impl RunSettings {
    /// The overrides of this run on top of `base`.
    pub fn overrides(&self, base: &Overrides) -> Overrides {
        let mut o = base.clone();
        o.diff = Some(self.diff.clone());
        o.seed = Some(self.seed as f64);
        for (name, value) in &self.values {
            let number = value.parse::<f64>().ok();
            match name.as_str() {
                "features" => o.features = number,
                "width" => o.width = number,
                "depth" => o.depth = number,
                "activation" => o.activation = Some(value.clone()),
                "h" => o.h = number,
                "order" => o.order = number,
                "lr" => o.lr = number,
                "epochs" => o.epochs = number,
                "iters" => o.iters = number,
                "formulation" => o.formulation = Some(value.clone()),
                "train" => o.train = Some(value.clone()),
                "mu" => o.mu = number,
                "mu_max" => o.mu_max = number,
                "every" => o.every = number,
                "sigma" => o.sigma = number,
                "samples" => o.samples = number,
                "estimator" => o.estimator = Some(value.clone()),
                _ => {}
            }
        }
        o
    }

    /// A canonical text of the settings (part of the run's key).
    pub fn canonical(&self) -> String {
        let mut s = format!("diff={};seed={}", self.diff, self.seed);
        for (name, value) in &self.values {
            let _ = write!(s, ";{name}={value}");
        }
        s
    }

    /// The settings as a JSON object (`diff`, each varied name, `seed`).
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("diff".into(), json!(self.diff));
        for (name, value) in &self.values {
            m.insert(name.clone(), json!(value));
        }
        m.insert("seed".into(), json!(self.seed));
        Value::Object(m)
    }
}

/// Every run of a study: diff modes, then the variations' product (fd-only
/// and stein-only settings skipped for other modes), then seeds.
pub fn plan(diffs: &[String], variations: &[Variation], seeds: &[u64]) -> Vec<RunSettings> {
    let mut runs = Vec::new();
    for diff in diffs {
        let applicable: Vec<&Variation> = variations
            .iter()
            .filter(|v| diff == "fd" || !FD_ONLY.contains(&v.name.as_str()))
            .filter(|v| diff == "stein" || !STEIN_ONLY.contains(&v.name.as_str()))
            .collect();
        let mut combinations: Vec<Vec<(String, String)>> = vec![Vec::new()];
        for v in &applicable {
            combinations = combinations
                .into_iter()
                .flat_map(|c| {
                    v.values.iter().map(move |value| {
                        let mut next = c.clone();
                        next.push((v.name.clone(), value.clone()));
                        next
                    })
                })
                .collect();
        }
        for values in combinations {
            for &seed in seeds {
                runs.push(RunSettings {
                    diff: diff.clone(),
                    values: values.clone(),
                    seed,
                });
            }
        }
    }
    runs
}

/// The identity of this build, part of every run key: `git:COMMIT` when
/// the binary was built from a commit with no change to its tracked files
/// (the same on every machine that builds that commit), otherwise
/// `binary:HASH`, FNV-1a of the running executable's bytes (a development
/// build with uncommitted changes, or sources without git), and
/// `version:X.Y.Z` only if the executable cannot be read.
pub fn build_identity() -> &'static str {
    static IDENTITY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    IDENTITY.get_or_init(|| {
        let commit = env!("PDEC_GIT_COMMIT");
        if !commit.is_empty() && env!("PDEC_GIT_DIRTY") == "0" {
            return format!("git:{commit}");
        }
        match std::env::current_exe().and_then(std::fs::read) {
            Ok(bytes) => format!("binary:{:016x}", fnv1a(&bytes)),
            Err(_) => format!("version:{}", env!("CARGO_PKG_VERSION")),
        }
    })
}

/// FNV-1a, 64 bits.
fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

/// The key of a run: FNV-1a (64 bit) of the problem file's bytes, the
/// base overrides, the run's settings, the pdec version and the
/// [`build_identity`], in hex. Equal keys mean the same computation by the
/// same code, whichever machine ran it.
pub fn run_key(source: &[u8], base: &str, run: &RunSettings) -> String {
    run_key_of_build(source, base, run, build_identity())
}

/// [`run_key`] for the build `identity`.
pub fn run_key_of_build(source: &[u8], base: &str, run: &RunSettings, identity: &str) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut feed = |bytes: &[u8]| {
        for &b in bytes {
            hash ^= u64::from(b);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
        // A separator that no text contains.
        hash ^= 0xff;
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    };
    feed(source);
    feed(base.as_bytes());
    feed(run.canonical().as_bytes());
    feed(env!("CARGO_PKG_VERSION").as_bytes());
    feed(identity.as_bytes());
    format!("{hash:016x}")
}

/// The first iteration (1-based) at which `history` is at most `level`.
pub fn iterations_to(history: &[f64], level: f64) -> Option<usize> {
    history.iter().position(|&l| l <= level).map(|i| i + 1)
}

/// Spearman's rank correlation of paired samples (average ranks for ties);
/// NaN for fewer than 3 pairs or a constant sample.
pub fn spearman(x: &[f64], y: &[f64]) -> f64 {
    let n = x.len().min(y.len());
    if n < 3 {
        return f64::NAN;
    }
    let (rx, ry) = (ranks(&x[..n]), ranks(&y[..n]));
    pearson(&rx, &ry)
}

fn ranks(v: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..v.len()).collect();
    order.sort_by(|&a, &b| v[a].total_cmp(&v[b]));
    let mut r = vec![0.0; v.len()];
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && v[order[j + 1]] == v[order[i]] {
            j += 1;
        }
        let average = (i + j) as f64 / 2.0 + 1.0;
        for &k in &order[i..=j] {
            r[k] = average;
        }
        i = j + 1;
    }
    r
}

fn pearson(x: &[f64], y: &[f64]) -> f64 {
    let n = x.len() as f64;
    let (mx, my) = (x.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in x.iter().zip(y) {
        sxy += (a - mx) * (b - my);
        sxx += (a - mx) * (a - mx);
        syy += (b - my) * (b - my);
    }
    if sxx == 0.0 || syy == 0.0 {
        return f64::NAN;
    }
    sxy / (sxx * syy).sqrt()
}

/// The slope of log(e) against log(h) by least squares: the observed order
/// of convergence. NaN for fewer than two distinct positive pairs.
pub fn fitted_order(h: &[f64], e: &[f64]) -> f64 {
    let pairs: Vec<(f64, f64)> = h
        .iter()
        .zip(e)
        .filter(|(h, e)| **h > 0.0 && **e > 0.0 && h.is_finite() && e.is_finite())
        .map(|(h, e)| (h.ln(), e.ln()))
        .collect();
    if pairs.len() < 2 {
        return f64::NAN;
    }
    let n = pairs.len() as f64;
    let (mx, my) = pairs
        .iter()
        .fold((0.0, 0.0), |(a, b), (x, y)| (a + x / n, b + y / n));
    let (mut sxy, mut sxx) = (0.0, 0.0);
    for (x, y) in &pairs {
        sxy += (x - mx) * (y - my);
        sxx += (x - mx) * (x - mx);
    }
    if sxx == 0.0 {
        f64::NAN
    } else {
        sxy / sxx
    }
}

/// The columns of `study.csv`, from the rows' fields: settings first (in
/// the order the variations were given), the total loss, the per-term
/// losses `terms`, then the other measured values.
pub fn csv(variations: &[String], terms: &[String], rows: &[Value]) -> String {
    let measured = [
        "relative_l2",
        "max_abs",
        "train_seconds",
        "iterations",
        "epochs_to_1e-2",
        "epochs_to_1e-3",
        "epochs_to_1e-4",
        "truncated_entropy",
        "effective_cutoff_number",
        "condition",
        "rank",
    ];
    let mut header = vec!["key".to_string(), "diff".to_string()];
    header.extend(variations.iter().cloned());
    header.push("seed".into());
    header.push("loss".into());
    header.extend(terms.iter().cloned());
    header.extend(measured.iter().map(|s| s.to_string()));
    let mut out = header.join(",");
    out.push('\n');
    for row in rows {
        let cells: Vec<String> = header
            .iter()
            .map(|name| match &row[name.as_str()] {
                Value::Null => String::new(),
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                other => other.to_string(),
            })
            .collect();
        out.push_str(&cells.join(","));
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_is_the_product_with_fd_only_settings_skipped_for_ad() {
        let variations = vec![
            Variation::parse("h=1e-1,1e-2").unwrap(),
            Variation::parse("features=100,200").unwrap(),
        ];
        let runs = plan(&["ad".into(), "fd".into()], &variations, &[0, 1]);
        // ad: 2 feature counts x 2 seeds; fd: 2 h x 2 features x 2 seeds.
        assert_eq!(runs.len(), 4 + 8);
        assert!(runs[..4].iter().all(|r| r.values.len() == 1));
        assert_eq!(
            runs[4].values,
            vec![
                ("h".to_string(), "1e-1".to_string()),
                ("features".to_string(), "100".to_string())
            ]
        );
        let keys: std::collections::HashSet<String> =
            runs.iter().map(|r| run_key(b"file", "", r)).collect();
        assert_eq!(keys.len(), runs.len());
    }

    /// Stein settings vary only the stein runs, and reach the overrides.
    #[test]
    fn stein_settings_vary_only_stein_runs() {
        let variations = vec![
            Variation::parse("sigma=1e-3,1e-2").unwrap(),
            Variation::parse("samples=32,128").unwrap(),
            Variation::parse("estimator=plain,antithetic").unwrap(),
        ];
        let runs = plan(&["ad".into(), "stein".into()], &variations, &[0]);
        assert_eq!(runs.len(), 1 + 8);
        assert!(runs[0].values.is_empty());
        let o = runs[1].overrides(&Overrides::default());
        assert_eq!(o.sigma, Some(1e-3));
        assert_eq!(o.samples, Some(32.0));
        assert_eq!(o.estimator.as_deref(), Some("plain"));
        assert!(Variation::parse("samples=many").is_err());
    }

    #[test]
    fn keys_depend_on_file_settings_and_base() {
        let run = RunSettings {
            diff: "ad".into(),
            values: vec![],
            seed: 0,
        };
        let k = run_key(b"a", "", &run);
        assert_eq!(k, run_key(b"a", "", &run));
        assert_ne!(k, run_key(b"b", "", &run));
        assert_ne!(k, run_key(b"a", "--lr 1", &run));
        let other = RunSettings {
            seed: 1,
            ..run.clone()
        };
        assert_ne!(k, run_key(b"a", "", &other));
        // Another build of pdec does not reuse the results.
        assert_ne!(
            run_key_of_build(b"a", "", &run, "git:1111"),
            run_key_of_build(b"a", "", &run, "git:2222")
        );
        assert_ne!(
            run_key_of_build(b"a", "", &run, "git:1111"),
            run_key_of_build(b"a", "", &run, "binary:1111")
        );
        assert_eq!(k, run_key_of_build(b"a", "", &run, build_identity()));
    }

    #[test]
    fn bad_variations_and_seeds_are_errors() {
        assert!(Variation::parse("h").is_err());
        assert!(Variation::parse("scale=1")
            .unwrap_err()
            .contains("cannot be varied"));
        assert!(Variation::parse("h=a")
            .unwrap_err()
            .contains("not a number"));
        assert_eq!(parse_seeds("0..4").unwrap(), vec![0, 1, 2, 3]);
        assert_eq!(parse_seeds("5,2").unwrap(), vec![5, 2]);
        assert!(parse_seeds("3..3").is_err());
        assert!(parse_seeds("x").is_err());
    }

    #[test]
    fn spearman_of_monotone_and_reversed_samples() {
        let x = [1.0, 2.0, 3.0, 4.0, 5.0];
        assert!((spearman(&x, &[1.0, 4.0, 9.0, 16.0, 100.0]) - 1.0).abs() < 1e-15);
        assert!((spearman(&x, &[5.0, 3.0, 2.0, 1.0, 0.5]) + 1.0).abs() < 1e-15);
        // Ties get average ranks: x ranks 1..5, y ranks 1.5, 1.5, 3, 4, 5.
        let r = spearman(&x, &[1.0, 1.0, 2.0, 3.0, 4.0]);
        let expected = pearson(&[1.0, 2.0, 3.0, 4.0, 5.0], &[1.5, 1.5, 3.0, 4.0, 5.0]);
        assert!((r - expected).abs() < 1e-15);
        assert!(spearman(&x[..2], &x[..2]).is_nan());
    }

    #[test]
    fn fitted_order_of_exact_powers() {
        let h = [0.1, 0.05, 0.025];
        let e: Vec<f64> = h.iter().map(|h| 3.0 * h * h).collect();
        assert!((fitted_order(&h, &e) - 2.0).abs() < 1e-12);
        assert!(fitted_order(&[0.1], &[1.0]).is_nan());
    }

    #[test]
    fn iterations_to_a_level() {
        let history = [1.0, 0.5, 0.009, 0.02, 0.0001];
        assert_eq!(iterations_to(&history, 1e-2), Some(3));
        assert_eq!(iterations_to(&history, 1e-4), Some(5));
        assert_eq!(iterations_to(&history, 1e-5), None);
    }
}
