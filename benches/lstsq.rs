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
        // Alternating rounds of the direct solve and the solve on columns
        // selected by a sketch.
        let (mut direct, mut selected) = (Vec::new(), Vec::new());
        let (mut rank_direct, mut rank_selected, mut path) = (0, 0, None);
        for _ in 0..7 {
            let start = std::time::Instant::now();
            let fit = pdec::train::lstsq::solve(a, &system.rhs, 1e-13, par).expect("solves");
            direct.push(start.elapsed().as_secs_f64());
            rank_direct = fit.rank;
            let start = std::time::Instant::now();
            let (fit, how) =
                pdec::train::lstsq::solve_selecting_columns(a, &system.rhs, 1e-13, par)
                    .expect("solves");
            selected.push(start.elapsed().as_secs_f64());
            rank_selected = fit.rank;
            path = Some(how);
        }
        let ratios: Vec<f64> = direct.iter().zip(&selected).map(|(d, s)| d / s).collect();
        let median = |v: &[f64]| {
            let mut v = v.to_vec();
            v.sort_by(f64::total_cmp);
            v[v.len() / 2]
        };
        println!(
            "solve, {label}: direct median {:.3} s (rank {rank_direct}), selected median {:.3} s \
             (rank {rank_selected}, {path:?}), direct/selected per round {:?}, median {:.2}",
            median(&direct),
            median(&selected),
            ratios
                .iter()
                .map(|r| (r * 100.0).round() / 100.0)
                .collect::<Vec<_>>(),
            median(&ratios)
        );
    }
}
