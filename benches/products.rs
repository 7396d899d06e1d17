//! Dense product throughput of faer at the shapes of a deep network's
//! layers in the Stein and high-dimensional benchmarks (width 256, jets
//! of 1024 columns, input width d = 100): the layer product W z, the
//! weight gradient abar z^T (inner dimension 1024) and the input layer.
//! GFLOP/s on one thread (each chunk's products run on one thread in an
//! epoch) and on all cores, the best of several repeats. The reference
//! for how close an epoch bound by these products can get to the
//! machine's limit; `benches/peers/products.py` measures numpy's BLAS on
//! the same shapes. Run with `cargo bench --bench products`.

mod common;

use common::cores;
use faer::linalg::matmul::matmul;
use faer::{Accum, Mat, Par};
use std::time::Instant;

fn main() {
    let shapes = [
        ("layer W z", 256usize, 256usize, 1024usize),
        ("weight gradient abar z^T", 256, 1024, 256),
        ("input layer W1 x (d = 100)", 256, 100, 1024),
    ];
    let all = cores();
    println!("faer products, GFLOP/s (best of 20 after 3 warm-up), {all} cores");
    for (name, m, k, n) in shapes {
        let a = Mat::<f64>::from_fn(m, k, |i, j| ((i * 7 + j * 3) % 11) as f64 * 0.1);
        let b = Mat::<f64>::from_fn(k, n, |i, j| ((i * 5 + j) % 13) as f64 * 0.1);
        let mut c = Mat::<f64>::zeros(m, n);
        let mut line = format!("{name:28} {m} x {k} x {n}:");
        for (label, par) in [("1 thread", Par::Seq), ("all cores", Par::rayon(all))] {
            for _ in 0..3 {
                matmul(c.as_mut(), Accum::Replace, a.as_ref(), b.as_ref(), 1.0, par);
            }
            let mut best = f64::INFINITY;
            for _ in 0..20 {
                let start = Instant::now();
                matmul(c.as_mut(), Accum::Replace, a.as_ref(), b.as_ref(), 1.0, par);
                best = best.min(start.elapsed().as_secs_f64());
            }
            let gflops = 2.0 * (m * k * n) as f64 / best / 1e9;
            line.push_str(&format!(" {label} {gflops:.1}"));
        }
        println!("{line}");
        std::hint::black_box(&c);
    }
}
