//! Time of `pdec spectrum`'s SVD (singular values only, faer) on the sizes
//! the spectrum issue names: a 6000 x 2000 training matrix must take
//! seconds. The matrix is the least-squares matrix of a 2-D Poisson problem
//! with 2000 tanh random features on 6084 points, built by pdec's own
//! kernels. Run with `cargo bench --bench spectrum`.

mod common;

use std::time::Instant;

use common::Prepared;

const PROBLEM: &str = "
problem \"Poisson 2-D, 2000 features\"
domain   x in [0, 1], y in [0, 1]
unknown  u
equation -lap(u) = 2*pi^2*sin(pi*x)*sin(pi*y)
bc       u = 0 on boundary
ansatz   rfm(features = 2000, activation = tanh, scale = 3)
sample   interior = grid(76), boundary = grid(76)
train    lstsq
";

fn main() {
    let mut prepared = Prepared::new(PROBLEM);
    prepared.compiled.set_threads(common::cores());
    let start = Instant::now();
    let problem = prepared.problem();
    let matrix =
        pdec::spectrum::training_matrix(&prepared.spec, problem, pdec::spectrum::Rows::All)
            .expect("assembles");
    let assembly = start.elapsed().as_secs_f64();
    let a = matrix.matrix.as_ref();
    println!(
        "matrix {} x {}, assembled in {assembly:.3} s",
        a.nrows(),
        a.ncols()
    );
    let mut times = Vec::new();
    for _ in 0..3 {
        let start = Instant::now();
        let s = pdec::spectrum::singular_values(a).expect("svd");
        times.push(start.elapsed().as_secs_f64());
        assert_eq!(s.len(), a.ncols().min(a.nrows()));
    }
    times.sort_by(f64::total_cmp);
    println!(
        "singular values: median {:.2} s, min {:.2} s, max {:.2} s (3 runs)",
        times[1], times[0], times[2]
    );
}
