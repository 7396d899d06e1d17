//! Time of the random feature least-squares solve of `examples/poisson2d.pde`
//! (3840 x 1600, numerical rank about 635), the problem of the numpy peer in
//! `benches/peers`: assembly once, then `train::lstsq::solve` repeated, with
//! minimum and median on one thread and on all cores. The minimum is the
//! figure to compare between builds on a busy machine; the ratio against
//! numpy comes from `benches/peers/compare.sh`. Run with
//! `cargo bench --bench lstsq`.

mod common;

use common::{cores, time, Prepared};
use faer::Par;

fn main() {
    let mut prepared = Prepared::example("poisson2d.pde");
    let cores = cores();
    prepared.compiled.set_threads(cores);
    let problem = prepared.problem();
    let theta = &prepared.theta;
    let mut system = None;
    let (assembly_min, assembly_median) = time(5, || {
        system = Some(pdec::train::assemble::assemble(problem, theta).expect("assembles"));
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
