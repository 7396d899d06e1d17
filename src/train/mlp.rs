//! Deep networks (`ansatz mlp`) at run time: the forward pass of the jets
//! through the layers and the reverse sweep, from the kernels of
//! `lower::mlp`.
//!
//! A layer's jet is a K x (n C) matrix (column-major: neuron k of jet
//! component c at point i is element (k, i*C + c)), the layout the layer
//! kernels read and write. Per hidden layer l (z_0 = x with its jet):
//! - a_l = W_l z_{l-1} (+ b_l on the value columns): one faer product;
//! - z_l = the activation's jet rule of a_l (`layer_forward` kernel);
//!
//! then U = W_out z_depth (+ b_out) and the residual kernel gives r_i and
//! the seed weight * dr_i/dU. The reverse sweep, for per-point factors s_i
//! (2 r_i / n_t for the loss gradient, 1 for Jacobian rows):
//! - Ubar = s_i seed; dW_out = Ubar z_depth^T, db_out = the value columns' sum;
//! - zbar_depth = W_out^T Ubar, then per hidden layer from the last:
//!   abar_l = the adjoint kernel of (a_l, zbar_l), dW_l = abar_l z_{l-1}^T,
//!   db_l = the value columns' sum of abar_l, zbar_{l-1} = W_l^T abar_l.
//!
//! Jacobian rows are the same products per point, not summed:
//! dr_i/dW_l = sum_c abar_l[:, (i,c)] z_{l-1}[:, (i,c)]^T. Memory: the
//! stored a_l and z_l, (2 depth + 1) K n C numbers per residual block.

use std::sync::Mutex;

use faer::linalg::matmul::matmul;
use faer::{Accum, MatMut, MatRef, Par};

use super::network::Evaluation;
use super::{block_mean_squares, TrainingProblem};
use crate::ir::{ArrayArg, Executor, RunError};
use crate::jit::clean_upper_state;
use crate::lower::{
    FdStencils, InputMap, JetComponent, JetRule, LayerBlock, Lowered, MlpPlan, MlpResidual,
    ParameterLayout,
};
use crate::sample::PointSet;

/// The stored jets of one forward pass over a point set.
pub struct Pass {
    /// C: jet components per point.
    pub components: usize,
    /// n: points.
    pub points: usize,
    /// z[0] = the input jet (d x nC), z[l] the output of hidden layer l (K x nC).
    pub z: Vec<Vec<f64>>,
    /// a[l]: the pre-activation jet of hidden layer l + 1 (K x nC).
    pub a: Vec<Vec<f64>>,
    /// The output jets U (M x nC).
    pub u: Vec<f64>,
    /// Weighted residual per point (empty for a value pass).
    pub residual: Vec<f64>,
    /// weight * dr_i / dU (M x nC; empty for a value pass).
    pub seed: Vec<f64>,
}

impl Pass {
    /// Hands the pass's buffers back for the next passes (see [`scratch`]).
    pub fn recycle(self) {
        self.z.into_iter().chain(self.a).for_each(recycle);
        recycle(self.u);
    }
}

/// Buffers of finished passes and sweeps, reused by the next ones. An
/// Adam epoch makes the same passes every time, and a fresh buffer of a
/// layer's jets (megabytes) costs a page fault per 4 KiB page when first
/// written: most of an epoch of a small network before. Shared by all
/// threads: the chunks' threads ([`on_threads`]) live for one call only.
static SPARE: Mutex<Vec<Vec<f64>>> = Mutex::new(Vec::new());

/// How many spare buffers are kept at most.
const SPARES: usize = 64;

/// A buffer of `len` numbers whose contents are unspecified: the caller
/// writes every element before reading it. A spare buffer of that length
/// (the passes of an epoch ask for the same lengths every time), else the
/// smallest spare that is large enough but not twice as large (growing its
/// length writes zeros beyond it; a small block taking a large spare would
/// leave the next large one to fill it again), else a new one.
pub(super) fn scratch(len: usize) -> Vec<f64> {
    let spare = {
        let mut s = SPARE.lock().unwrap_or_else(|e| e.into_inner());
        let best = s.iter().position(|v| v.len() == len).or_else(|| {
            s.iter()
                .enumerate()
                .filter(|(_, v)| v.capacity() >= len && v.capacity() / 2 <= len)
                .min_by_key(|(_, v)| v.capacity())
                .map(|(i, _)| i)
        });
        best.map(|i| s.swap_remove(i))
    };
    match spare {
        Some(mut v) => {
            // Only the elements beyond the spare's old length are written.
            v.resize(len, 0.0);
            v
        }
        None => vec![0.0; len],
    }
}

/// Keeps `v` for a later [`scratch`] (the smallest spare goes when there
/// are too many).
pub(super) fn recycle(v: Vec<f64>) {
    if v.capacity() < 1024 {
        return;
    }
    let mut s = SPARE.lock().unwrap_or_else(|e| e.into_inner());
    s.push(v);
    if s.len() > SPARES {
        let smallest = (0..s.len())
            .min_by_key(|&i| s[i].capacity())
            .expect("not empty");
        s.swap_remove(smallest);
    }
}

/// A spare buffer of `len` zeros, for a chunk's gradient: a fresh one
/// would be zero pages, each written for the first time by a product (a
/// fault and a TLB flush).
pub(super) fn zeroed_spare(len: usize) -> Vec<f64> {
    let mut v = scratch(len);
    v.fill(0.0);
    v
}

/// Adds the chunks' gradients `parts` to `gradient` in their order (so the
/// sum does not depend on the thread count) and keeps their buffers.
pub(super) fn add_parts(gradient: &mut [f64], parts: Vec<Vec<f64>>) {
    for part in parts {
        for (g, v) in gradient.iter_mut().zip(&part) {
            *g += v;
        }
        recycle(part);
    }
}

fn parallelism() -> Par {
    super::parallelism()
}

/// y = W x (+ b on the value column of every point), x: cols x (n C).
fn dense(
    theta: &[f64],
    block: LayerBlock,
    input: &[f64],
    points: usize,
    components: usize,
    out: &mut [f64],
) {
    let columns = points * components;
    let w =
        MatRef::from_row_major_slice(&theta[block.weights..block.biases], block.rows, block.cols);
    let x = MatRef::from_column_major_slice(input, block.cols, columns);
    let y = MatMut::from_column_major_slice_mut(out, block.rows, columns);
    matmul(y, Accum::Replace, w, x, 1.0, parallelism());
    clean_upper_state();
    let b = &theta[block.biases..block.biases + block.rows];
    for i in 0..points {
        let column = &mut out[i * components * block.rows..][..block.rows];
        for (v, bias) in column.iter_mut().zip(b) {
            *v += bias;
        }
    }
}

/// Rows of the input layer: the coordinates, or the mapped inputs (a
/// periodic coordinate gives two, cos and sin).
fn input_width(dims: usize, inputs: &[InputMap]) -> usize {
    if inputs.is_empty() {
        dims
    } else {
        inputs.iter().map(InputMap::width).sum()
    }
}

/// The input layer's jet z_0 for `rule` at `points` (inputs x nC): x, or
/// the mapped inputs with their derivatives (`InputMap::derivative`: for
/// the affine map xi_j = s_j x_j + t_j, first derivatives s_j and none
/// higher; for the periodic map, cos and sin with every derivative along
/// their coordinate). A map depends on one coordinate, so mixed
/// derivatives of an input vanish.
fn input_jet(rule: &JetRule, points: &PointSet, dims: usize, inputs: &[InputMap]) -> Vec<f64> {
    let c = rule.components.len();
    let width = input_width(dims, inputs);
    // Every entry is written below (all `width` columns of every point
    // and component), so a spare buffer needs no zeroing.
    let mut z = scratch(width * c * points.len());
    // Per component and coordinate j: the order of the component's
    // derivative if it is one along x_j alone (0 for the value), once per
    // call rather than per point (d^2 per component).
    let orders: Vec<Vec<Option<u32>>> = rule
        .components
        .iter()
        .map(|component| {
            (0..dims)
                .map(|j| match component {
                    JetComponent::Partial(alpha) => alpha
                        .iter()
                        .enumerate()
                        .all(|(l, &n)| l == j || n == 0)
                        .then(|| u32::from(alpha[j])),
                    JetComponent::Laplacian(p) => p.contains(&j).then_some(2),
                })
                .collect()
        })
        .collect();
    for i in 0..points.len() {
        for (ci, orders) in orders.iter().enumerate() {
            let column = &mut z[(i * c + ci) * width..][..width];
            let mut next = 0;
            for (j, order) in orders.iter().enumerate() {
                let x = points.coords[i * dims + j];
                let Some(map) = inputs.get(j) else {
                    // x_j for the value, 1 for d/dx_j, 0 for every other.
                    column[next] = match order {
                        Some(0) => x,
                        Some(1) => 1.0,
                        _ => 0.0,
                    };
                    next += 1;
                    continue;
                };
                for input in 0..map.width() {
                    column[next] = order.map_or(0.0, |n| map.derivative(input, n, x));
                    next += 1;
                }
            }
        }
    }
    z
}

/// Carries the jets of `rule` through the network at `points`; with
/// `residual_kernel`, also runs it (residual and seed).
pub fn forward(
    executor: &dyn Executor,
    plan: &MlpPlan,
    layout: &ParameterLayout,
    rule: &JetRule,
    residual_kernel: Option<usize>,
    theta: &[f64],
    points: &PointSet,
) -> Result<Pass, RunError> {
    let n = points.len();
    let c = rule.components.len();
    let k = plan.width;
    let mut z = vec![input_jet(rule, points, layout.dims, &plan.inputs)];
    let mut a = Vec::with_capacity(plan.depth);
    let ranges = chunk_ranges(n, c);
    if ranges.len() > 1 {
        // Chunk by chunk: each chunk's columns of every layer on one thread.
        let m = layout.unknowns;
        let mut pre: Vec<Vec<f64>> = (0..plan.depth).map(|_| scratch(k * n * c)).collect();
        let mut post: Vec<Vec<f64>> = (0..plan.depth).map(|_| scratch(k * n * c)).collect();
        let mut u = scratch(m * n * c);
        let mut pre_parts: Vec<_> = pre
            .iter_mut()
            .map(|v| split_points(v, k * c, &ranges).into_iter())
            .collect();
        let mut post_parts: Vec<_> = post
            .iter_mut()
            .map(|v| split_points(v, k * c, &ranges).into_iter())
            .collect();
        let width = input_width(layout.dims, &plan.inputs);
        let inputs = split_points_ref(&z[0], width * c, &ranges);
        let outputs = split_points(&mut u, m * c, &ranges);
        let items: Vec<_> = ranges
            .iter()
            .zip(inputs)
            .zip(outputs)
            .map(|((r, input), output)| {
                let pre: Vec<&mut [f64]> = pre_parts
                    .iter_mut()
                    .map(|p| p.next().expect("a chunk"))
                    .collect();
                let post: Vec<&mut [f64]> = post_parts
                    .iter_mut()
                    .map(|p| p.next().expect("a chunk"))
                    .collect();
                (r.len(), input, pre, post, output)
            })
            .collect();
        on_threads(items, |(len, input, mut pre, mut post, output)| {
            for l in 0..plan.depth {
                let (done, rest) = post.split_at_mut(l);
                let from: &[f64] = if l == 0 { input } else { done[l - 1] };
                dense(theta, layout.layer(l), from, len, c, pre[l]);
                executor.run(
                    rule.forward,
                    &mut [ArrayArg::In(pre[l]), ArrayArg::Out(rest[0])],
                    k,
                    0..len,
                )?;
            }
            dense(
                theta,
                layout.layer(plan.depth),
                post[plan.depth - 1],
                len,
                c,
                output,
            );
            Ok(())
        })?;
        a = pre;
        z.extend(post);
        let (residual, seed) = match residual_kernel {
            Some(kernel) => run_residual_kernel(executor, kernel, points, &u)?,
            None => (Vec::new(), Vec::new()),
        };
        return Ok(Pass {
            components: c,
            points: n,
            z,
            a,
            u,
            residual,
            seed,
        });
    }
    for l in 0..plan.depth {
        let mut pre = scratch(k * n * c);
        dense(theta, layout.layer(l), &z[l], n, c, &mut pre);
        let mut post = scratch(k * n * c);
        executor.run(
            rule.forward,
            &mut [ArrayArg::In(&pre), ArrayArg::Out(&mut post)],
            k,
            0..n,
        )?;
        a.push(pre);
        z.push(post);
    }
    let m = layout.unknowns;
    let mut u = scratch(m * n * c);
    dense(
        theta,
        layout.layer(plan.depth),
        &z[plan.depth],
        n,
        c,
        &mut u,
    );
    let (residual, seed) = match residual_kernel {
        Some(kernel) => run_residual_kernel(executor, kernel, points, &u)?,
        None => (Vec::new(), Vec::new()),
    };
    Ok(Pass {
        components: c,
        points: n,
        z,
        a,
        u,
        residual,
        seed,
    })
}

/// Where the reverse sweep writes: the summed gradient, or Jacobian rows.
pub enum Sink<'s> {
    /// Adds sum_i s_i dr_i/dtheta to the slice (length theta).
    Gradient(&'s mut [f64]),
    /// Writes dr_i/dtheta into row i (row-major n x theta).
    Rows(&'s mut [f64]),
}

/// The contribution of one layer: from its adjoint `bar` (rows x nC) and
/// its input jet `input` (cols x nC).
fn layer_parameters(
    block: LayerBlock,
    bar: &[f64],
    input: &[f64],
    points: usize,
    components: usize,
    sink: &mut Sink<'_>,
    total: usize,
) {
    let columns = points * components;
    let bar_matrix = MatRef::from_column_major_slice(bar, block.rows, columns);
    let input_matrix = MatRef::from_column_major_slice(input, block.cols, columns);
    match sink {
        Sink::Gradient(gradient) => {
            // dW (rows x cols, row-major) = its transpose in column-major.
            let dw = MatMut::from_column_major_slice_mut(
                &mut gradient[block.weights..block.biases],
                block.cols,
                block.rows,
            );
            matmul(
                dw,
                Accum::Add,
                input_matrix,
                bar_matrix.transpose(),
                1.0,
                parallelism(),
            );
            clean_upper_state();
            let db = &mut gradient[block.biases..block.biases + block.rows];
            for i in 0..points {
                let column = &bar[i * components * block.rows..][..block.rows];
                for (g, v) in db.iter_mut().zip(column) {
                    *g += v;
                }
            }
        }
        Sink::Rows(rows) => {
            for i in 0..points {
                let row = &mut rows[i * total..(i + 1) * total];
                let dw = MatMut::from_column_major_slice_mut(
                    &mut row[block.weights..block.biases],
                    block.cols,
                    block.rows,
                );
                matmul(
                    dw,
                    Accum::Replace,
                    input_matrix.subcols(i * components, components),
                    bar_matrix.subcols(i * components, components).transpose(),
                    1.0,
                    Par::Seq,
                );
                clean_upper_state();
                let column = &bar[i * components * block.rows..][..block.rows];
                row[block.biases..block.biases + block.rows].copy_from_slice(column);
            }
        }
    }
}

/// The reverse sweep of `pass` with per-point factors `scale` (the seed of
/// point i times scale[i]). A periodic pass (twice as many network points
/// as residuals, see [`residual_pass`]) scales both halves by the
/// residual's factor and sums their Jacobian rows.
#[allow(clippy::too_many_arguments)]
pub fn reverse(
    executor: &dyn Executor,
    plan: &MlpPlan,
    layout: &ParameterLayout,
    rule: &JetRule,
    theta: &[f64],
    pass: &Pass,
    scale: &[f64],
    sink: Sink<'_>,
) -> Result<(), RunError> {
    if pass.points == 2 * scale.len() && !scale.is_empty() {
        if let Sink::Rows(rows) = sink {
            let mut both = vec![0.0; 2 * rows.len()];
            sweep(
                executor,
                plan,
                layout,
                rule,
                theta,
                pass,
                scale,
                Sink::Rows(&mut both),
            )?;
            let half = rows.len();
            for (j, v) in rows.iter_mut().enumerate() {
                *v = both[j] + both[half + j];
            }
            return Ok(());
        }
    }
    sweep(executor, plan, layout, rule, theta, pass, scale, sink)
}

#[allow(clippy::too_many_arguments)]
fn sweep(
    executor: &dyn Executor,
    plan: &MlpPlan,
    layout: &ParameterLayout,
    rule: &JetRule,
    theta: &[f64],
    pass: &Pass,
    scale: &[f64],
    sink: Sink<'_>,
) -> Result<(), RunError> {
    let (n, c, m) = (pass.points, pass.components, layout.unknowns);
    let mut bar = pass.seed.clone();
    for i in 0..n {
        for v in &mut bar[i * c * m..(i + 1) * c * m] {
            *v *= scale[i % scale.len()];
        }
    }
    let ranges = chunk_ranges(n, c);
    let gradient = match sink {
        Sink::Gradient(gradient) if ranges.len() > 1 => gradient,
        sink => {
            let z: Vec<&[f64]> = pass.z.iter().map(Vec::as_slice).collect();
            let a: Vec<&[f64]> = pass.a.iter().map(Vec::as_slice).collect();
            return sweep_columns(
                executor, plan, layout, rule, theta, &z, &a, &bar, n, c, sink,
            );
        }
    };
    // Chunk by chunk, each into a gradient of its own, added in chunk order.
    let columns = |v: &'_ [f64], r: &std::ops::Range<usize>| -> std::ops::Range<usize> {
        let per_point = v.len() / n.max(1);
        r.start * per_point..r.end * per_point
    };
    let items: Vec<_> = ranges
        .iter()
        .map(|r| {
            let z: Vec<&[f64]> = pass.z.iter().map(|v| &v[columns(v, r)]).collect();
            let a: Vec<&[f64]> = pass.a.iter().map(|v| &v[columns(v, r)]).collect();
            (r.len(), z, a, &bar[columns(&bar, r)])
        })
        .collect();
    let p = gradient.len();
    let parts = on_threads(items, |(len, z, a, bar)| {
        let mut part = zeroed_spare(p);
        sweep_columns(
            executor,
            plan,
            layout,
            rule,
            theta,
            &z,
            &a,
            bar,
            len,
            c,
            Sink::Gradient(&mut part),
        )?;
        Ok(part)
    })?;
    add_parts(gradient, parts);
    Ok(())
}

/// The reverse sweep over the `n` points of the stored jets `z`, `a`
/// (slices of a pass's buffers, n C columns each) from the output
/// adjoint `bar`.
#[allow(clippy::too_many_arguments)]
fn sweep_columns(
    executor: &dyn Executor,
    plan: &MlpPlan,
    layout: &ParameterLayout,
    rule: &JetRule,
    theta: &[f64],
    z: &[&[f64]],
    a: &[&[f64]],
    bar: &[f64],
    n: usize,
    c: usize,
    mut sink: Sink<'_>,
) -> Result<(), RunError> {
    let k = plan.width;
    let total = layout.total();
    let output = layout.layer(plan.depth);
    layer_parameters(output, bar, z[plan.depth], n, c, &mut sink, total);
    // zbar = W^T bar
    let back = |block: LayerBlock, bar: &[f64]| -> Vec<f64> {
        let mut out = scratch(block.cols * n * c);
        let w = MatRef::from_row_major_slice(
            &theta[block.weights..block.biases],
            block.rows,
            block.cols,
        );
        matmul(
            MatMut::from_column_major_slice_mut(&mut out, block.cols, n * c),
            Accum::Replace,
            w.transpose(),
            MatRef::from_column_major_slice(bar, block.rows, n * c),
            1.0,
            parallelism(),
        );
        clean_upper_state();
        out
    };
    let mut zbar = back(output, bar);
    for l in (0..plan.depth).rev() {
        let mut abar = scratch(k * n * c);
        executor.run(
            rule.adjoint,
            &mut [
                ArrayArg::In(a[l]),
                ArrayArg::In(z[l + 1]),
                ArrayArg::In(&zbar),
                ArrayArg::Out(&mut abar),
            ],
            k,
            0..n,
        )?;
        let block = layout.layer(l);
        layer_parameters(block, &abar, z[l], n, c, &mut sink, total);
        if l > 0 {
            recycle(std::mem::replace(&mut zbar, back(block, &abar)));
        }
        recycle(abar);
    }
    recycle(zbar);
    Ok(())
}

/// Runs residual kernel `kernel` on the output jets `jets` (element
/// (i, c, m) at i*C*M + c*M + m) at `points`: the residual per point and
/// the seed of the reverse sweep (shaped like `jets`).
pub(super) fn run_residual_kernel(
    executor: &dyn Executor,
    kernel: usize,
    points: &PointSet,
    jets: &[f64],
) -> Result<(Vec<f64>, Vec<f64>), RunError> {
    let n = points.len();
    let mut residual = vec![0.0; n];
    let mut seed = vec![0.0; jets.len()];
    executor.run(
        kernel,
        &mut [
            ArrayArg::In(&points.coords),
            ArrayArg::In(jets),
            ArrayArg::Out(&mut residual),
            ArrayArg::Out(&mut seed),
        ],
        1,
        0..n,
    )?;
    Ok((residual, seed))
}

/// The forward pass of residual `r` at `points`, with its kernel run. A
/// periodic condition (`bc periodic`, period L in coordinate c) runs the
/// network at x and at x + L e_c (2n points, the shifted half second) and
/// its kernel on the differences U(x) - U(x + L e_c) of the output jets;
/// the shifted half's seed is the negated seed (d/dU(x + L e_c) of the
/// difference is -1).
fn residual_pass(
    executor: &dyn Executor,
    plan: &MlpPlan,
    layout: &ParameterLayout,
    r: &MlpResidual,
    theta: &[f64],
    points: &PointSet,
) -> Result<Pass, RunError> {
    let rule = &plan.rules[r.rule];
    let Some((coordinate, length)) = r.period else {
        return forward(executor, plan, layout, rule, Some(r.kernel), theta, points);
    };
    let n = points.len();
    let mut both = points.clone();
    for i in 0..n {
        let mut p = points.point(i).to_vec();
        p[coordinate] += length;
        both.coords.extend_from_slice(&p);
    }
    let mut pass = forward(executor, plan, layout, rule, None, theta, &both)?;
    let block = pass.components * layout.unknowns;
    let difference: Vec<f64> = (0..n * block)
        .map(|j| pass.u[j] - pass.u[n * block + j])
        .collect();
    let (residual, seed) = run_residual_kernel(executor, r.kernel, points, &difference)?;
    pass.seed = seed
        .iter()
        .copied()
        .chain(seed.iter().map(|v| -v))
        .collect();
    pass.residual = residual;
    Ok(pass)
}

/// The points x_i + h s for every point i and shift s (point i*S + s).
fn shifted_points(stencils: &FdStencils, points: &PointSet) -> PointSet {
    let dims = points.dims;
    let mut coords = Vec::with_capacity(points.coords.len() * stencils.shifts.len());
    for x in points.coords.chunks(dims.max(1)) {
        for shift in &stencils.shifts {
            for (j, &xj) in x.iter().enumerate() {
                coords.push(xj + stencils.h * f64::from(shift[j]));
            }
        }
    }
    PointSet { dims, coords }
}

/// The forward pass of one residual: the jets of its rule, or under
/// `diff fd` the value network at every shifted point (one batched pass),
/// combined into the jets by the stencils. The returned pass holds the
/// value network's stored jets (at the shifted points for fd), and the
/// residual and the seed of the reverse sweep per (unshifted) point.
fn residual_forward(
    problem: TrainingProblem<'_>,
    plan: &MlpPlan,
    r: &MlpResidual,
    theta: &[f64],
    points: &PointSet,
) -> Result<Pass, RunError> {
    let layout = &problem.lowered.layout;
    let rule = &plan.rules[r.rule];
    let Some(stencils) = &r.fd else {
        return residual_pass(problem.executor, plan, layout, r, theta, points);
    };
    let shifted = shifted_points(stencils, points);
    let mut pass = forward(problem.executor, plan, layout, rule, None, theta, &shifted)?;
    let (n, s, c, m) = (
        points.len(),
        stencils.shifts.len(),
        stencils.components.len(),
        layout.unknowns,
    );
    // U(i, c, m) = sum_s w[c][s] u(m, i*S + s)
    let mut jets = vec![0.0; n * c * m];
    for i in 0..n {
        for (ci, row) in stencils.weights.iter().enumerate() {
            for (si, &w) in row.iter().enumerate() {
                if w == 0.0 {
                    continue;
                }
                for mi in 0..m {
                    jets[(i * c + ci) * m + mi] += w * pass.u[(i * s + si) * m + mi];
                }
            }
        }
    }
    (pass.residual, pass.seed) = run_residual_kernel(problem.executor, r.kernel, points, &jets)?;
    Ok(pass)
}

/// The reverse sweep of [`residual_forward`]'s pass with per-point factors
/// `scale`. Under `diff fd` the seed of the value network at x_i + h s is
/// scale_i sum_c w[c][s] seed(i, c); Jacobian rows sum over the shifts.
fn residual_reverse(
    problem: TrainingProblem<'_>,
    plan: &MlpPlan,
    r: &MlpResidual,
    theta: &[f64],
    pass: &mut Pass,
    scale: &[f64],
    sink: Sink<'_>,
) -> Result<(), RunError> {
    let layout = &problem.lowered.layout;
    let rule = &plan.rules[r.rule];
    let Some(stencils) = &r.fd else {
        return reverse(
            problem.executor,
            plan,
            layout,
            rule,
            theta,
            pass,
            scale,
            sink,
        );
    };
    let (n, s, c, m) = (
        scale.len(),
        stencils.shifts.len(),
        stencils.components.len(),
        layout.unknowns,
    );
    let mut value_seed = vec![0.0; n * s * m];
    for i in 0..n {
        for (ci, row) in stencils.weights.iter().enumerate() {
            for (si, &w) in row.iter().enumerate() {
                if w == 0.0 {
                    continue;
                }
                for mi in 0..m {
                    value_seed[(i * s + si) * m + mi] +=
                        scale[i] * w * pass.seed[(i * c + ci) * m + mi];
                }
            }
        }
    }
    // The value network's pass, with its own seed (put back afterwards).
    std::mem::swap(&mut pass.seed, &mut value_seed);
    let value_pass = &*pass;
    let ones = vec![1.0; n * s];
    let result = match sink {
        Sink::Gradient(gradient) => reverse(
            problem.executor,
            plan,
            layout,
            rule,
            theta,
            value_pass,
            &ones,
            Sink::Gradient(gradient),
        ),
        Sink::Rows(rows) => {
            let p = layout.total();
            let mut shifted = vec![0.0; n * s * p];
            reverse(
                problem.executor,
                plan,
                layout,
                rule,
                theta,
                value_pass,
                &ones,
                Sink::Rows(&mut shifted),
            )
            .map(|()| {
                for i in 0..n {
                    let row = &mut rows[i * p..(i + 1) * p];
                    row.iter_mut().for_each(|v| *v = 0.0);
                    for si in 0..s {
                        let from = &shifted[(i * s + si) * p..(i * s + si + 1) * p];
                        for (v, f) in row.iter_mut().zip(from) {
                            *v += f;
                        }
                    }
                }
            })
        }
    };
    std::mem::swap(&mut pass.seed, &mut value_seed);
    result
}

/// The network's values at `points`: `u[i*M + m]`.
pub fn values(
    executor: &dyn Executor,
    lowered: &Lowered,
    plan: &MlpPlan,
    theta: &[f64],
    points: &PointSet,
) -> Result<Vec<f64>, RunError> {
    if let Some(stein) = &plan.stein {
        return super::stein::values(executor, lowered, plan, stein, theta, points);
    }
    let rule = &plan.rules[plan.value_rule];
    let pass = forward(executor, plan, &lowered.layout, rule, None, theta, points)?;
    Ok(pass.u)
}

/// Names and row ranges of the residual blocks (once per evaluation).
pub(super) fn blocks(problem: TrainingProblem<'_>, plan: &MlpPlan, out: &mut Evaluation) {
    if out.blocks.is_empty() {
        let mut rows = 0;
        for r in &plan.residuals {
            let n = problem.points(r.residual).len();
            out.blocks.push((r.name.clone(), rows..rows + n));
            rows += n;
        }
        out.residual = vec![0.0; rows];
    }
}

/// The residuals of every term, from forward passes only (no Jacobian:
/// `out.jacobian` is left empty).
pub fn residuals_into(
    problem: TrainingProblem<'_>,
    plan: &MlpPlan,
    theta: &[f64],
    out: &mut Evaluation,
) -> Result<(), RunError> {
    if let Some(stein) = &plan.stein {
        return super::stein::residuals_into(problem, plan, stein, theta, out);
    }
    exact_residuals_into(problem, plan, theta, out)
}

/// The residuals of every term from the network's exact derivatives (the
/// jets), also under `diff stein`, where they are those of the unsmoothed
/// network f rather than of u_s; no Jacobian.
pub fn exact_residuals_into(
    problem: TrainingProblem<'_>,
    plan: &MlpPlan,
    theta: &[f64],
    out: &mut Evaluation,
) -> Result<(), RunError> {
    blocks(problem, plan, out);
    out.jacobian = Vec::new();
    for (r, (_, range)) in plan.residuals.iter().zip(out.blocks.clone()) {
        let pass = residual_forward(problem, plan, r, theta, problem.points(r.residual))?;
        out.residual[range].copy_from_slice(&pass.residual);
        pass.recycle();
    }
    Ok(())
}

/// Residuals and Jacobian rows of every residual (see `network::evaluate_into`).
pub fn evaluate_into(
    problem: TrainingProblem<'_>,
    plan: &MlpPlan,
    theta: &[f64],
    out: &mut Evaluation,
) -> Result<(), RunError> {
    if let Some(stein) = &plan.stein {
        return super::stein::evaluate_into(problem, plan, stein, theta, out);
    }
    blocks(problem, plan, out);
    let layout = &problem.lowered.layout;
    let p = layout.total();
    out.jacobian.resize(out.residual.len() * p, 0.0);
    for (r, (_, range)) in plan.residuals.iter().zip(out.blocks.clone()) {
        let points = problem.points(r.residual);
        let mut pass = residual_forward(problem, plan, r, theta, points)?;
        out.residual[range.clone()].copy_from_slice(&pass.residual);
        let ones = vec![1.0; points.len()];
        residual_reverse(
            problem,
            plan,
            r,
            theta,
            &mut pass,
            &ones,
            Sink::Rows(&mut out.jacobian[range.start * p..range.end * p]),
        )?;
        pass.recycle();
    }
    Ok(())
}

/// The loss sum_t mean_i r_{t,i}^2 and its gradient (into `gradient`) by
/// one reverse sweep per residual with s_i = 2 r_i / n_t; the residuals go
/// into `out` (its Jacobian stays empty), the terms' mean squares into `terms`.
pub fn loss_gradient(
    problem: TrainingProblem<'_>,
    plan: &MlpPlan,
    theta: &[f64],
    out: &mut Evaluation,
    gradient: &mut [f64],
    terms: &mut [f64],
) -> Result<f64, RunError> {
    if let Some(stein) = &plan.stein {
        return super::stein::loss_gradient(problem, plan, stein, theta, out, gradient, terms);
    }
    blocks(problem, plan, out);
    gradient.iter_mut().for_each(|g| *g = 0.0);
    // Every chunk of every residual's points: one item each, all in one
    // fork and join (the residual, the chunk's points and residuals).
    let items: Vec<_> = residual_chunks(problem, plan, &mut out.residual, |t| {
        network_columns(plan, &plan.residuals[t])
    })
    .into_iter()
    .map(|(t, chunk, residual)| (&plan.residuals[t], chunk, residual))
    .collect();
    let p = gradient.len();
    let job = |(r, chunk, residual): (&MlpResidual, std::ops::Range<usize>, &mut [f64])| {
        let points = problem.points(r.residual);
        let count = points.len().max(1) as f64;
        let set;
        let chunk_points = if chunk.len() == points.len() {
            points
        } else {
            set = PointSet {
                dims: points.dims,
                coords: points.coords[chunk.start * points.dims..chunk.end * points.dims].to_vec(),
            };
            &set
        };
        let mut part = zeroed_spare(p);
        chunk_gradient(
            problem,
            plan,
            r,
            theta,
            chunk_points,
            count,
            residual,
            &mut part,
        )?;
        Ok(part)
    };
    let parts = on_threads(items, job)?;
    add_parts(gradient, parts);
    let n = out.blocks.len();
    terms[..n].copy_from_slice(&block_mean_squares(&out.residual, &out.blocks));
    Ok(terms.iter().sum())
}

/// Every residual's points cut into chunks ([`chunk_ranges`] with
/// `columns(t)` jet columns per point of residual t), each with its rows
/// of the stacked `residual` (blocks in the order of `plan.residuals`):
/// (t, the chunk's points, its rows).
pub(super) fn residual_chunks<'r>(
    problem: TrainingProblem<'_>,
    plan: &MlpPlan,
    residual: &'r mut [f64],
    columns: impl Fn(usize) -> usize,
) -> Vec<(usize, std::ops::Range<usize>, &'r mut [f64])> {
    let mut chunks = Vec::new();
    let mut rest = residual;
    for (t, r) in plan.residuals.iter().enumerate() {
        let n = problem.points(r.residual).len();
        let (here, tail) = std::mem::take(&mut rest).split_at_mut(n);
        rest = tail;
        let ranges = chunk_ranges(n, columns(t));
        for (chunk, rows) in ranges.iter().zip(split_points(here, 1, &ranges)) {
            chunks.push((t, chunk.clone(), rows));
        }
    }
    chunks
}

/// The network's jet columns per residual point of `r`: the rule's
/// components, times the stencil's shifts under `diff fd` (the network
/// runs at every shifted point), times two for a periodic condition (at x
/// and at x + L e_c).
fn network_columns(plan: &MlpPlan, r: &MlpResidual) -> usize {
    let components = plan.rules[r.rule].components.len();
    let shifts = r.fd.as_ref().map_or(1, |s| s.shifts.len());
    let copies = if r.period.is_some() { 2 } else { 1 };
    components * shifts * copies
}

/// Jet columns (points times components) per chunk (about) when a pass,
/// a sweep or a residual block's loss gradient is split into chunks of
/// points: a chunk's layer jets stay in the core's cache (32 neurons x
/// 1024 columns is 256 KiB), and a block of some thousand columns gives
/// every core work.
const CHUNK_COLUMNS: usize = 1024;

/// The chunks of points 0..n with `columns` jet columns per point:
/// n columns / 1024 contiguous ranges of about equal length (one below
/// 2048 columns). A function of the problem alone, so that sums over
/// chunks do not depend on the thread count.
pub(super) fn chunk_ranges(n: usize, columns: usize) -> Vec<std::ops::Range<usize>> {
    let chunks = (n.saturating_mul(columns.max(1)) / CHUNK_COLUMNS).clamp(1, n.max(1));
    (0..chunks)
        .map(|c| c * n / chunks..(c + 1) * n / chunks)
        .collect()
}

/// `v` (per_point numbers per point) cut at the chunks' points.
pub(super) fn split_points<'v>(
    mut v: &'v mut [f64],
    per_point: usize,
    ranges: &[std::ops::Range<usize>],
) -> Vec<&'v mut [f64]> {
    let mut parts = Vec::with_capacity(ranges.len());
    for r in ranges {
        let (here, rest) = std::mem::take(&mut v).split_at_mut(r.len() * per_point);
        parts.push(here);
        v = rest;
    }
    parts
}

/// [`split_points`] of a shared slice.
fn split_points_ref<'v>(
    v: &'v [f64],
    per_point: usize,
    ranges: &[std::ops::Range<usize>],
) -> Vec<&'v [f64]> {
    ranges
        .iter()
        .map(|r| &v[r.start * per_point..r.end * per_point])
        .collect()
}

/// Runs `job` on every item on up to [`super::parallelism`]'s number of
/// threads of the process's worker pool (the one faer's products use,
/// started once), each item with sequential products and kernel calls;
/// the results in item order. The items are taken in turn by whichever
/// thread is free, and an item's result does not depend on the thread
/// that computed it. One fork and join for the whole work instead of one
/// per product and kernel call. A single item runs on the calling thread
/// with the caller's parallelism for its products and kernels.
pub(super) fn on_threads<W: Send, T: Send>(
    items: Vec<W>,
    job: impl Fn(W) -> Result<T, RunError> + Sync,
) -> Result<Vec<T>, RunError> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let count = items.len();
    if count == 1 {
        return items.into_iter().map(job).collect();
    }
    let threads = match parallelism() {
        Par::Seq => 1,
        Par::Rayon(t) => t.get(),
    }
    .clamp(1, count.max(1));
    let run = |w: W| -> Result<T, RunError> {
        super::with_parallelism(Par::Seq, || crate::jit::on_this_thread(|| job(w)))
    };
    if threads == 1 {
        return items.into_iter().map(run).collect();
    }
    let items: Vec<Mutex<Option<W>>> = items.into_iter().map(|w| Mutex::new(Some(w))).collect();
    let results: Vec<Mutex<Option<Result<T, RunError>>>> =
        (0..count).map(|_| Mutex::new(None)).collect();
    let next = AtomicUsize::new(0);
    let worker = || loop {
        let i = next.fetch_add(1, Ordering::Relaxed);
        let Some(slot) = items.get(i) else { break };
        let w = slot
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
            .expect("each item is taken once");
        let result = run(w);
        *results[i].lock().unwrap_or_else(|e| e.into_inner()) = Some(result);
    };
    rayon::in_place_scope(|s| {
        for _ in 1..threads {
            s.spawn(|_| worker());
        }
        worker();
    });
    results
        .into_iter()
        .map(|r| {
            r.into_inner()
                .unwrap_or_else(|e| e.into_inner())
                .expect("every item ran")
        })
        .collect()
}

/// The residuals of `r` at `points` (into `residual`) and the gradient of
/// sum_i r_i^2 / count added to `gradient`: one forward pass and one
/// reverse sweep with s_i = 2 r_i / count.
#[allow(clippy::too_many_arguments)]
fn chunk_gradient(
    problem: TrainingProblem<'_>,
    plan: &MlpPlan,
    r: &MlpResidual,
    theta: &[f64],
    points: &PointSet,
    count: f64,
    residual: &mut [f64],
    gradient: &mut [f64],
) -> Result<(), RunError> {
    let mut pass = residual_forward(problem, plan, r, theta, points)?;
    residual.copy_from_slice(&pass.residual);
    let scale: Vec<f64> = pass.residual.iter().map(|r| 2.0 * r / count).collect();
    residual_reverse(
        problem,
        plan,
        r,
        theta,
        &mut pass,
        &scale,
        Sink::Gradient(gradient),
    )?;
    pass.recycle();
    Ok(())
}
