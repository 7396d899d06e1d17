//! Initial parameters theta = [w (K x d), b (K), a (M x K)], from the
//! ansatz's seed (see `lower::ParameterLayout`).
//!
//! - Random feature model: w and b ~ uniform(-scale, scale), independent
//!   streams of the seed; a = 0 (it is what training computes).
//! - Two-layer network (Glorot/Xavier uniform): w ~ uniform(-s1, s1) with
//!   s1 = sqrt(6 / (d + K)), b = 0, a ~ uniform(-s2, s2) with
//!   s2 = sqrt(6 / (K + M)).
//! - Deep network (Glorot/Xavier normal): every layer's W ~ N(0, s^2) with
//!   s = sqrt(2 / (fan_in + fan_out)), layer l from stream l + 1 of the
//!   seed; all biases 0.

use crate::check::{Ansatz, Spec};
use crate::lower::ParameterLayout;
use crate::random::SeededRng;

/// The initial parameter vector for `spec`'s ansatz.
pub fn initial_parameters(spec: &Spec, layout: &ParameterLayout) -> Vec<f64> {
    let (k, d, m) = (layout.neurons, layout.inputs, layout.unknowns);
    let mut theta = vec![0.0; layout.total()];
    match spec.ansatz {
        Ansatz::Rfm { scale, seed, .. } => {
            let mut weights = SeededRng::new(seed, 1);
            let mut biases = SeededRng::new(seed, 2);
            for v in &mut theta[..k * d] {
                *v = weights.uniform_in(-scale, scale);
            }
            for v in &mut theta[k * d..k * (d + 1)] {
                *v = biases.uniform_in(-scale, scale);
            }
        }
        Ansatz::Shallow { seed, .. } => {
            let mut weights = SeededRng::new(seed, 1);
            let mut outputs = SeededRng::new(seed, 3);
            let s1 = (6.0 / (d + k) as f64).sqrt();
            let s2 = (6.0 / (k + m) as f64).sqrt();
            for v in &mut theta[..k * d] {
                *v = weights.uniform_in(-s1, s1);
            }
            // (With `diff stein` M output biases follow; they stay 0.)
            for v in &mut theta[k * (d + 1)..k * (d + 1 + m)] {
                *v = outputs.uniform_in(-s2, s2);
            }
        }
        Ansatz::Mlp { seed, depth, .. } => {
            for l in 0..=depth {
                let block = layout.layer(l);
                let mut rng = SeededRng::new(seed, l as u64 + 1);
                let s = (2.0 / (block.rows + block.cols) as f64).sqrt();
                for v in &mut theta[block.weights..block.biases] {
                    *v = s * rng.normal();
                }
            }
        }
    }
    theta
}

/// Splits theta into (w, b, a).
pub fn split<'t>(theta: &'t [f64], layout: &ParameterLayout) -> (&'t [f64], &'t [f64], &'t [f64]) {
    let (k, d) = (layout.neurons, layout.inputs);
    let (w, rest) = theta.split_at(k * d);
    let (b, a) = rest.split_at(k);
    (w, b, a)
}

/// Runs kernel `index` of `executor` on all of `points` with the parameters
/// `theta`: the argument list every generated kernel takes is `points, w, b`
/// (plus `a` when `with_output_weights`), then its outputs.
pub fn run_kernel(
    executor: &dyn crate::ir::Executor,
    index: usize,
    layout: &ParameterLayout,
    points: &crate::sample::PointSet,
    theta: &[f64],
    with_output_weights: bool,
    outputs: &mut [&mut [f64]],
) -> Result<(), crate::ir::RunError> {
    use crate::ir::ArrayArg;
    let (w, b, a) = split(theta, layout);
    let mut args = vec![
        ArrayArg::In(&points.coords),
        ArrayArg::In(w),
        ArrayArg::In(b),
    ];
    if with_output_weights {
        args.push(ArrayArg::In(a));
    }
    for out in outputs.iter_mut() {
        args.push(ArrayArg::Out(out));
    }
    executor.run(index, &mut args, layout.neurons, 0..points.len())
}
