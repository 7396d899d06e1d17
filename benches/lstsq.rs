//! Time of the random feature least-squares solve of `examples/poisson2d.pde`
//! (3840 x 1600, numerical rank about 635), the problem of the numpy peer in
//! `benches/peers`: assembly once, then `train::lstsq::solve` repeated, with
//! minimum and median on one thread and on all cores. The minimum is the
//! figure to compare between builds on a busy machine; the ratio against
//! numpy comes from `benches/peers/compare.sh`. Run with
//! `cargo bench --bench lstsq`.

use std::time::Instant;

use faer::Par;

/// (minimum, median) of `runs` timings of `f`, in seconds.
fn time(runs: usize, mut f: impl FnMut()) -> (f64, f64) {
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

fn main() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/poisson2d.pde");
    let source = std::fs::read_to_string(path).expect("reads the example");
    let (file, _) = pdec::syntax::parse(&source);
    let (spec, diagnostics) = pdec::check::check(&file.expect("parses"), &Default::default());
    let spec = spec.unwrap_or_else(|| panic!("{diagnostics:?}"));
    let lowered = pdec::lower::lower(&spec).expect("lowers");
    let kernels: Vec<_> = lowered.kernels.iter().map(|k| k.kernel.clone()).collect();
    let mut compiled =
        pdec::jit::Compiled::new(&kernels, lowered.layout.neurons).expect("compiles");
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    compiled.set_threads(cores);
    let training = pdec::sample::training_points(&spec);
    let problem = pdec::train::TrainingProblem {
        executor: &compiled,
        lowered: &lowered,
        training: &training,
        equations: spec.equations.len(),
    };
    let theta = pdec::train::init::initial_parameters(&spec, &lowered.layout);
    let mut system = None;
    let (assembly_min, assembly_median) = time(5, || {
        system = Some(pdec::train::assemble::assemble(problem, &theta).expect("assembles"));
    });
    let system = system.expect("assembled");
    let a = system.matrix();
    println!(
        "matrix {} x {}: assembly min {assembly_min:.3} s, median {assembly_median:.3} s",
        a.nrows(),
        a.ncols()
    );
    for (label, par) in [("1 thread", Par::Seq), ("all cores", Par::rayon(cores))] {
        let mut rank = 0;
        let (min, median) = time(7, || {
            let fit = pdec::train::lstsq::solve(a, &system.rhs, 1e-13, par).expect("solves");
            rank = fit.rank;
        });
        println!("solve, {label}: min {min:.3} s, median {median:.3} s (rank {rank}, 7 runs)");
    }
}
