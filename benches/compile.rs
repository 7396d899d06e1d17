//! Compile time of every example: parse -> check -> lower -> JIT, in a
//! release build. Goal: under 50 ms per example. Run with
//! `cargo bench --bench compile`.

use std::time::{Duration, Instant};

fn compile(source: &str) -> Duration {
    let start = Instant::now();
    let (file, _) = pdec::syntax::parse(source);
    let (spec, _) = pdec::check::check(&file.expect("example parses"), &Default::default());
    let spec = spec.expect("example checks");
    let lowered = pdec::lower::lower(&spec).expect("example lowers");
    let compiled = pdec::jit::Compiled::of_lowered(&lowered).expect("compiles");
    let elapsed = start.elapsed();
    drop(compiled);
    elapsed
}

fn main() {
    let mut paths: Vec<_> = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/examples"))
        .expect("examples/")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "pde"))
        .collect();
    paths.sort();
    println!("{:<32} {:>10} {:>10}", "example", "median ms", "max ms");
    let mut worst: f64 = 0.0;
    for path in paths {
        let source = std::fs::read_to_string(&path).expect("readable");
        let mut times: Vec<f64> = (0..21)
            .map(|_| compile(&source).as_secs_f64() * 1e3)
            .collect();
        times.sort_by(|a, b| a.total_cmp(b));
        let median = times[times.len() / 2];
        worst = worst.max(median);
        println!(
            "{:<32} {:>10.2} {:>10.2}",
            path.file_name().unwrap().to_string_lossy(),
            median,
            times[times.len() - 1]
        );
    }
    println!("slowest median: {worst:.2} ms (goal: < 50 ms)");
}
