//! Setup shared by the benchmarks: a problem from pdec source, checked,
//! lowered, compiled, with its training points and initial parameters.
//! Each benchmark uses only part of it.
#![allow(dead_code)]

use std::time::Instant;

/// Everything a benchmark needs to run a problem's kernels and trainers.
pub struct Prepared {
    pub spec: pdec::check::Spec,
    pub lowered: pdec::lower::Lowered,
    pub compiled: pdec::jit::Compiled,
    pub training: pdec::sample::TrainingPoints,
    pub theta: Vec<f64>,
}

impl Prepared {
    /// Parses, checks, lowers and compiles `source`; panics with the
    /// diagnostics if the problem is not valid.
    pub fn new(source: &str) -> Prepared {
        let (file, _) = pdec::syntax::parse(source);
        let (spec, diagnostics) = pdec::check::check(&file.expect("parses"), &Default::default());
        let spec = spec.unwrap_or_else(|| panic!("{diagnostics:?}"));
        let lowered = pdec::lower::lower(&spec).expect("lowers");
        let compiled = pdec::jit::Compiled::of_lowered(&lowered).expect("compiles");
        let training = pdec::sample::training_points(&spec);
        let theta = pdec::train::init::initial_parameters(&spec, &lowered.layout);
        Prepared {
            spec,
            lowered,
            compiled,
            training,
            theta,
        }
    }

    /// [`Prepared::new`] on `examples/NAME`.
    pub fn example(name: &str) -> Prepared {
        let path = format!("{}/examples/{name}", env!("CARGO_MANIFEST_DIR"));
        Prepared::new(&std::fs::read_to_string(&path).expect("reads the example"))
    }

    /// The problem as the trainers take it.
    pub fn problem(&self) -> pdec::train::TrainingProblem<'_> {
        pdec::train::TrainingProblem {
            executor: &self.compiled,
            lowered: &self.lowered,
            training: &self.training,
            equations: self.spec.equations.len(),
        }
    }
}

/// The number of cores (1 if unknown).
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// (minimum, median) of `runs` timings of `f`, in seconds.
pub fn time(runs: usize, mut f: impl FnMut()) -> (f64, f64) {
    let mut times: Vec<f64> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed().as_secs_f64()
        })
        .collect();
    times.sort_by(f64::total_cmp);
    (times[0], times[runs / 2])
}
