//! The schemes' kernels in the IR (compiled by the JIT, or run by the
//! reference interpreter), one loop over the rows of K each:
//!
//! - `flux`:        `out[i] = Phi(sum_j a_j w[i+j])`              (K, then the activation)
//! - `diffusivity`: `out[i] = (Phi(s)/s)(sum_j a_j w[i+j])`       (frozen for a FED cycle)
//! - `frozen_flux`: `out[i] = g[i] * sum_j a_j w[i+j]`            (K, then the frozen activation)
//! - `update`:      `out[i] = w[i+1] - step[0] * sum_j b_j f[i+j]` (K^T and the skip connection)
//! - `frozen_update`: `frozen_flux` and `update` in one loop, for rows away
//!   from the ends: `out[i] = w[i+1+shift] - step[0] * sum_j b_j g[i+j] (sum_k a_k w[i+j+k])`
//!   (K is evaluated again per row instead of stored; the same operations
//!   in the same order as the two kernels, so the same bits)
//!
//! `a` is K's stencil, `b` K^T's; the caller passes slices shifted so that
//! every store is at the point's own index.

use crate::ir::{
    Access, ArrayDecl, ArrayId, BinaryOp, Index, Inst, Kernel, KernelBuilder, Stmt, ValueId,
};
use crate::lower::emit::{Emitter, Source};
use crate::lower::LowerError;
use crate::symbolic::ExprId;

use super::grid::Operator;
use super::recognize::Diffusion;

/// Kernel numbers in the list [`kernels`] returns.
pub const FLUX: usize = 0;
/// See [`FLUX`].
pub const DIFFUSIVITY: usize = 1;
/// See [`FLUX`].
pub const FROZEN_FLUX: usize = 2;
/// See [`FLUX`].
pub const UPDATE: usize = 3;
/// See [`FLUX`].
pub const FROZEN_UPDATE: usize = 4;

fn array(name: &str, access: Access) -> ArrayDecl {
    ArrayDecl {
        name: name.into(),
        access,
    }
}

fn load(b: &mut KernelBuilder, array: u32, offset: usize, point: usize) -> ValueId {
    b.def(Inst::Load {
        array: ArrayId(array),
        index: Index {
            point,
            neuron: 0,
            offset,
        },
    })
}

/// `sum_j weights[j] * arr[i + j]`, left to right.
fn stencil(b: &mut KernelBuilder, array: u32, weights: &[f64]) -> ValueId {
    stencil_at(b, array, 0, weights)
}

/// `sum_j weights[j] * arr[i + first + j]`, left to right.
fn stencil_at(b: &mut KernelBuilder, array: u32, first: usize, weights: &[f64]) -> ValueId {
    let mut sum: Option<ValueId> = None;
    for (j, &a) in weights.iter().enumerate() {
        let x = load(b, array, first + j, 1);
        let c = b.def(Inst::Const(a));
        let term = b.def(Inst::Binary(BinaryOp::Mul, c, x));
        sum = Some(match sum {
            None => term,
            Some(s) => b.def(Inst::Binary(BinaryOp::Add, s, term)),
        });
    }
    sum.unwrap_or_else(|| b.def(Inst::Const(0.0)))
}

fn store(b: &mut KernelBuilder, array: u32, value: ValueId) {
    b.push(Stmt::Store {
        array: ArrayId(array),
        index: Index {
            point: 1,
            neuron: 0,
            offset: 0,
        },
        value,
    });
}

/// `out[i] = f(K w)` for the flux or the diffusivity.
fn activation_kernel(
    name: &str,
    d: &Diffusion,
    root: ExprId,
    weights: &[f64],
) -> Result<Kernel, LowerError> {
    let mut b = KernelBuilder::new(
        name,
        vec![array("w", Access::Input), array("out", Access::Output)],
    );
    let s = stencil(&mut b, 0, weights);
    let mut emitter = Emitter::new(&d.graph, b);
    emitter.bind(d.s, Source::Value(s));
    let values = emitter.point(&[root])?;
    let mut b = emitter.builder;
    store(&mut b, 1, values[0]);
    Ok(b.finish())
}

/// The four kernels of the schemes for `d` on `op`.
pub fn kernels(d: &Diffusion, op: &Operator) -> Result<Vec<Kernel>, LowerError> {
    let a = op.stencil();
    let flux = activation_kernel("flux", d, d.flux, &a)?;
    let diffusivity = activation_kernel("diffusivity", d, d.diffusivity, &a)?;
    let frozen = {
        let mut b = KernelBuilder::new(
            "frozen_flux",
            vec![
                array("w", Access::Input),
                array("g", Access::Input),
                array("out", Access::Output),
            ],
        );
        let s = stencil(&mut b, 0, &a);
        let g = load(&mut b, 1, 0, 1);
        let v = b.def(Inst::Binary(BinaryOp::Mul, g, s));
        store(&mut b, 2, v);
        b.finish()
    };
    let update = {
        let mut b = KernelBuilder::new(
            "update",
            vec![
                array("w", Access::Input),
                array("f", Access::Input),
                array("step", Access::Input),
                array("out", Access::Output),
            ],
        );
        let w = load(&mut b, 0, 1, 1);
        let div = stencil(&mut b, 1, &op.adjoint_stencil());
        let tau = load(&mut b, 2, 0, 0);
        let t = b.def(Inst::Binary(BinaryOp::Mul, tau, div));
        let v = b.def(Inst::Binary(BinaryOp::Sub, w, t));
        store(&mut b, 3, v);
        b.finish()
    };
    let frozen_update = {
        let mut b = KernelBuilder::new(
            "frozen_update",
            vec![
                array("w", Access::Input),
                array("g", Access::Input),
                array("step", Access::Input),
                array("out", Access::Output),
            ],
        );
        let w = load(&mut b, 0, 1 + op.shift(), 1);
        // K^T's stencil over the fluxes of rows i + j, each g * (K w).
        let mut div: Option<ValueId> = None;
        for (j, &bj) in op.adjoint_stencil().iter().enumerate() {
            let s = stencil_at(&mut b, 0, j, &a);
            let g = load(&mut b, 1, j, 1);
            let f = b.def(Inst::Binary(BinaryOp::Mul, g, s));
            let c = b.def(Inst::Const(bj));
            let term = b.def(Inst::Binary(BinaryOp::Mul, c, f));
            div = Some(match div {
                None => term,
                Some(d) => b.def(Inst::Binary(BinaryOp::Add, d, term)),
            });
        }
        let div = div.unwrap_or_else(|| b.def(Inst::Const(0.0)));
        let tau = load(&mut b, 2, 0, 0);
        let t = b.def(Inst::Binary(BinaryOp::Mul, tau, div));
        let v = b.def(Inst::Binary(BinaryOp::Sub, w, t));
        store(&mut b, 3, v);
        b.finish()
    };
    Ok(vec![flux, diffusivity, frozen, update, frozen_update])
}
