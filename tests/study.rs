//! `pdec study`: the planned rows, resuming without recomputation, job
//! files for other machines and merging their results.

mod common;
use common::{pdec, scratch};

fn poisson1d() -> String {
    format!("{}/examples/poisson1d.pde", env!("CARGO_MANIFEST_DIR"))
}

/// 2 x 2 settings and 2 seeds: ad varies only the features (h is an fd
/// setting), so 2 x 2 ad runs and 2 x 2 x 2 fd runs; a second identical
/// study computes nothing.
#[test]
fn tiny_study_has_the_planned_rows_and_resumes() {
    let dir = scratch("tiny");
    let dir_text = dir.to_str().unwrap().to_string();
    let file = poisson1d();
    let args = [
        "study",
        file.as_str(),
        "--vary",
        "h=1e-1,5e-2",
        "--vary",
        "features=50,100",
        "--diff",
        "ad,fd",
        "--seeds",
        "0..2",
        "--dir",
        dir_text.as_str(),
    ];
    let (code, out, err) = pdec(&args);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with("study: 12 runs, 12 computed, 0 already in"),
        "{out}"
    );
    assert!(
        out.contains("Spearman(loss, truncated entropy) all "),
        "{out}"
    );
    assert!(out.contains("fd: error ~ h^"), "{out}");
    let csv = std::fs::read_to_string(dir.join("study.csv")).unwrap();
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    assert_eq!(&header[..5], ["key", "diff", "h", "features", "seed"]);
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), 12);
    let column = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let count = |diff: &str| rows.iter().filter(|r| r[1] == diff).count();
    assert_eq!((count("ad"), count("fd")), (4, 8));
    for row in &rows {
        assert_eq!(row[2].is_empty(), row[1] == "ad", "{row:?}");
        let entropy: f64 = row[column("truncated_entropy")].parse().unwrap();
        let error: f64 = row[column("relative_l2")].parse().unwrap();
        assert!(entropy > 0.0 && error.is_finite());
    }
    for plot in ["loss_vs_entropy.svg", "error_vs_h.svg", "study.json"] {
        assert!(dir.join(plot).is_file(), "{plot}");
    }
    let (code, out, _) = pdec(&args);
    assert_eq!(code, 0);
    assert!(
        out.starts_with("study: 12 runs, 0 computed, 12 already in"),
        "{out}"
    );
    assert_eq!(std::fs::read_to_string(dir.join("study.csv")).unwrap(), csv);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// --emit-jobs writes one command per run; running two of them and
/// collecting gives a table of those two runs.
#[test]
fn jobs_run_separately_and_collect() {
    let dir = scratch("jobs");
    let jobs = scratch("jobs-file");
    std::fs::create_dir_all(&jobs).unwrap();
    let jobs_file = jobs.join("jobs.txt");
    let file = poisson1d();
    let (code, out, err) = pdec(&[
        "study",
        &file,
        "--vary",
        "features=50,100",
        "--diff",
        "ad",
        "--seeds",
        "0,1",
        "--dir",
        dir.to_str().unwrap(),
        "--emit-jobs",
        jobs_file.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("4 jobs written"), "{out}");
    let text = std::fs::read_to_string(&jobs_file).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4);
    for line in &lines[..2] {
        let words: Vec<&str> = line.split(' ').collect();
        assert_eq!(words[0], "pdec");
        assert!(words.contains(&"--only"));
        let (code, out, err) = pdec(&words[1..]);
        assert_eq!(code, 0, "{line}: {err}");
        assert!(out.starts_with("study: 1 runs, 1 computed"), "{out}");
    }
    assert!(!dir.join("study.csv").exists(), "jobs do not merge");
    let (code, out, err) = pdec(&["study", "--collect", dir.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("2 runs in the table"), "{out}");
    let csv = std::fs::read_to_string(dir.join("study.csv")).unwrap();
    assert_eq!(csv.lines().count(), 3);
    std::fs::remove_dir_all(&dir).unwrap();
    std::fs::remove_dir_all(&jobs).unwrap();
}

#[test]
fn bad_study_arguments_are_input_errors() {
    let file = poisson1d();
    for (args, message) in [
        (vec!["--vary", "scale=1,2"], "cannot be varied"),
        (vec!["--vary", "h=x"], "not a number"),
        (vec!["--seeds", "4..2"], "no seeds"),
        (vec!["--seed", "3"], "use --seeds"),
        (vec!["--only", "0000000000000000"], "no run of this study"),
    ] {
        let mut all = vec!["study", file.as_str()];
        all.extend(args);
        let (code, _, err) = pdec(&all);
        assert_eq!(code, 2, "{all:?}");
        assert!(err.contains(message), "{all:?}: {err}");
    }
    let (code, _, err) = pdec(&["study"]);
    assert_eq!(code, 2);
    assert!(err.contains("needs a .pde file"), "{err}");
    let (code, _, err) = pdec(&["study", "--collect", "/nonexistent/study"]);
    assert_eq!(code, 2);
    assert!(err.contains("cannot read"), "{err}");
}

/// The four variants of the flux/alm reproduction as one study: the
/// formulation and the trainer are varied settings (names, not numbers).
#[test]
fn study_varies_the_formulation_and_the_trainer() {
    let dir = scratch("flux-alm");
    let dir_text = dir.to_str().unwrap().to_string();
    let file = format!(
        "{}/tests/data/flux/poisson1d_alm.pde",
        env!("CARGO_MANIFEST_DIR")
    );
    let (code, out, err) = pdec(&[
        "study",
        &file,
        "--vary",
        "formulation=primal,flux",
        "--vary",
        "train=adam,alm",
        "--diff",
        "ad",
        "--epochs",
        "500",
        "--dir",
        &dir_text,
        "--quiet",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("study: 4 runs, 4 computed"), "{out}");
    let csv = std::fs::read_to_string(dir.join("study.csv")).unwrap();
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    assert_eq!(
        &header[..5],
        ["key", "diff", "formulation", "train", "seed"]
    );
    let mut variants: Vec<String> = lines
        .map(|l| {
            let row: Vec<&str> = l.split(',').collect();
            let error: f64 = row[header.iter().position(|h| *h == "relative_l2").unwrap()]
                .parse()
                .unwrap();
            assert!(error.is_finite() && error < 1.0, "{l}");
            format!("{}+{}", row[2], row[3])
        })
        .collect();
    variants.sort();
    assert_eq!(
        variants,
        ["flux+adam", "flux+alm", "primal+adam", "primal+alm"]
    );
}

/// Issue 15: `study --jobs 2` ran each run's dense linear algebra
/// sequentially by setting faer's process-global parallelism, which every
/// other thread of the process saw while the study ran. The setting is now
/// per worker thread: a thread watching the global value during a
/// two-job study never sees it change.
#[test]
fn parallel_study_leaves_the_global_parallelism_alone() {
    use std::sync::atomic::{AtomicBool, Ordering};
    let dir = scratch("global-par");
    let dir_text = dir.to_str().unwrap().to_string();
    let file = poisson1d();
    let before = format!("{:?}", faer::get_global_parallelism());
    let done = AtomicBool::new(false);
    let (code, err, changed) = std::thread::scope(|scope| {
        let watcher = scope.spawn(|| {
            let mut changed = None;
            while !done.load(Ordering::Relaxed) {
                let now = format!("{:?}", faer::get_global_parallelism());
                if now != before {
                    changed = Some(now);
                }
                std::thread::yield_now();
            }
            changed
        });
        let (code, _, err) = pdec(&[
            "study",
            file.as_str(),
            "--vary",
            "features=50,100,150,200",
            "--jobs",
            "2",
            "--dir",
            dir_text.as_str(),
        ]);
        done.store(true, Ordering::Relaxed);
        (code, err, watcher.join().unwrap())
    });
    assert_eq!(code, 0, "{err}");
    assert_eq!(changed, None, "the global parallelism was {before}");
    assert_eq!(format!("{:?}", faer::get_global_parallelism()), before);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A deep network varied in width and depth: one run per combination,
/// each the run `pdec solve --width W --depth D` makes (the same loss).
#[test]
fn mlp_study_varies_width_and_depth() {
    let dir = scratch("mlp_study");
    let file = format!("{}/examples/heat_mlp.pde", env!("CARGO_MANIFEST_DIR"));
    let (code, out, err) = pdec(&[
        "study",
        &file,
        "--vary",
        "width=4,8",
        "--vary",
        "depth=1,2",
        "--diff",
        "ad",
        "--dir",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("study: 4 runs, 4 computed"), "{out}");
    let csv = std::fs::read_to_string(dir.join("study.csv")).unwrap();
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    assert_eq!(&header[..5], ["key", "diff", "width", "depth", "seed"]);
    let loss = header.iter().position(|h| *h == "loss").unwrap();
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    let mut combinations: Vec<(&str, &str)> = rows.iter().map(|r| (r[2], r[3])).collect();
    combinations.sort();
    assert_eq!(
        combinations,
        [("4", "1"), ("4", "2"), ("8", "1"), ("8", "2")]
    );
    for row in &rows {
        let (code, report, err) = pdec(&[
            "solve", &file, "--json", "--quiet", "--width", row[2], "--depth", row[3],
        ]);
        assert_eq!(code, 0, "{err}");
        let report: serde_json::Value = serde_json::from_str(&report).unwrap();
        let expected: f64 = row[loss].parse().unwrap();
        assert_eq!(report["final_loss"].as_f64(), Some(expected), "{row:?}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
