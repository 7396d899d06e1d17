//! The kernels pdec generates, and the parameter layout they share.
//!
//! Arrays (all flat f64, row-major):
//! - `points`: n x d coordinates (space, then time);
//! - `w`: K x d hidden weights, `b`: K biases, `a`: M x K output weights
//!   (`a[m*K + k]`), together the parameter vector theta = [w, b, a];
//! - outputs per kernel, one row per point (see [`KernelRole`]).

use std::fmt::Write;

use super::emit::{reachable, Emitter, Source};
use super::{JetResidual, Jets, LowerError};
use crate::check::{Ansatz, Spec};
use crate::ir::{Access, ArrayDecl, ArrayId, Index, Inst, Kernel, KernelBuilder, Stmt, ValueId};
use crate::symbolic::{ExprId, Graph, Node};

/// Where each parameter lives in theta = [w (K x d), b (K), a (M x K)], and
/// which of them are trained.
#[derive(Clone, Debug, PartialEq)]
pub struct ParameterLayout {
    /// d: number of coordinates.
    pub dims: usize,
    /// M: number of unknowns.
    pub unknowns: usize,
    /// K: number of neurons (features).
    pub neurons: usize,
    /// False for random feature models (only a is trained).
    pub train_hidden: bool,
}

impl ParameterLayout {
    /// The layout for `spec`'s ansatz with `neurons` neurons.
    pub fn new(spec: &Spec, neurons: usize) -> Self {
        ParameterLayout {
            dims: spec.coordinates.len(),
            unknowns: spec.unknowns.len(),
            neurons,
            train_hidden: matches!(spec.ansatz, Ansatz::Shallow { .. }),
        }
    }

    /// Length of theta.
    pub fn total(&self) -> usize {
        self.neurons * (self.dims + 1 + self.unknowns)
    }

    /// Index of w_{k,j} in theta.
    pub fn w(&self, k: usize, j: usize) -> usize {
        k * self.dims + j
    }

    /// Index of b_k in theta.
    pub fn b(&self, k: usize) -> usize {
        self.neurons * self.dims + k
    }

    /// Index of a_{m,k} in theta.
    pub fn a(&self, m: usize, k: usize) -> usize {
        self.neurons * (self.dims + 1) + m * self.neurons + k
    }

    /// Number of trained parameters (columns of the Jacobian): all of theta
    /// for a network, the M*K output weights for a random feature model.
    pub fn trained(&self) -> usize {
        if self.train_hidden {
            self.total()
        } else {
            self.unknowns * self.neurons
        }
    }

    /// Column of trained parameter theta[p] in a Jacobian row.
    fn column(&self, theta_index: usize) -> usize {
        if self.train_hidden {
            theta_index
        } else {
            theta_index - self.neurons * (self.dims + 1)
        }
    }
}

/// What a kernel computes, per point i.
#[derive(Clone, Debug, PartialEq)]
pub enum KernelRole {
    /// Least-squares rows of a linear residual for a random feature model:
    /// `rows[i, m*K + k] = weight * L_m[phi_k](x_i)`, `rhs[i] = -weight * r(x_i, 0)`.
    /// Arrays: points, w, b, rows, rhs.
    Rows { residual: usize },
    /// A residual of the network and its gradient over the trained parameters:
    /// `residual[i] = weight * r(x_i, J)`, `jacobian[i, c] = d residual[i] / d theta_c`.
    /// Arrays: points, w, b, a, residual, jacobian.
    Network { residual: usize },
    /// The network's values `u[i*M + m] = u_m(x_i)`. Arrays: points, w, b, a, u.
    Value,
}

/// A generated kernel with its role and the residual's name.
#[derive(Clone, Debug)]
pub struct LoweredKernel {
    pub role: KernelRole,
    pub name: String,
    pub kernel: Kernel,
}

const POINTS: ArrayId = ArrayId(0);
const W: ArrayId = ArrayId(1);
const B: ArrayId = ArrayId(2);
const A: ArrayId = ArrayId(3);

/// A builder for a kernel with the shared argument convention: `points`,
/// `w`, `b`, then `a` when `with_a`, then `outputs` (the convention
/// `bind_common` and `train::init::run_kernel` rely on). Returns the ids of
/// the output arrays.
fn kernel_builder(name: &str, with_a: bool, outputs: &[&str]) -> (KernelBuilder, Vec<ArrayId>) {
    let decl = |name: &str, access| ArrayDecl {
        name: name.into(),
        access,
    };
    let mut arrays = vec![
        decl("points", Access::Input),
        decl("w", Access::Input),
        decl("b", Access::Input),
    ];
    if with_a {
        arrays.push(decl("a", Access::Input));
    }
    let first = arrays.len();
    arrays.extend(outputs.iter().map(|o| decl(o, Access::Output)));
    let ids = (first..arrays.len()).map(|i| ArrayId(i as u32)).collect();
    (KernelBuilder::new(name, arrays), ids)
}

/// Binds coordinates and the neuron's w, b (and a) to their arrays.
fn bind_common(emitter: &mut Emitter<'_>, jets: &Jets<'_>, layout: &ParameterLayout, with_a: bool) {
    for (j, &x) in jets.coordinates.iter().enumerate() {
        emitter.bind(
            x,
            Source::Point {
                array: POINTS,
                dims: layout.dims,
                j,
            },
        );
    }
    for (j, &w) in jets.neuron.w.iter().enumerate() {
        emitter.bind(
            w,
            Source::Neuron {
                array: W,
                stride: layout.dims,
                offset: j,
            },
        );
    }
    emitter.bind(
        jets.neuron.b,
        Source::Neuron {
            array: B,
            stride: 1,
            offset: 0,
        },
    );
    if with_a {
        for (m, &a) in jets.neuron.a.iter().enumerate() {
            emitter.bind(
                a,
                Source::Neuron {
                    array: A,
                    stride: 1,
                    offset: m * layout.neurons,
                },
            );
        }
    }
}

/// Sums each of `contributions` over the neurons into a fresh accumulator
/// (set to 0 at the point level first, so no value leaks between points).
fn accumulate(
    emitter: &mut Emitter<'_>,
    contributions: &[ExprId],
) -> Result<Vec<crate::ir::VarId>, LowerError> {
    accumulate_and(emitter, contributions, contributions.len(), |_, _| {})
}

/// Like [`accumulate`] for `roots[..split]`, in a neuron loop that also
/// hands the values of `roots[split..]` to `rest` (e.g. to store them).
fn accumulate_and(
    emitter: &mut Emitter<'_>,
    roots: &[ExprId],
    split: usize,
    rest: impl FnOnce(&mut KernelBuilder, &[ValueId]),
) -> Result<Vec<crate::ir::VarId>, LowerError> {
    let vars: Vec<_> = roots[..split]
        .iter()
        .map(|_| emitter.builder.var())
        .collect();
    let zero = emitter.builder.def(Inst::Const(0.0));
    for &v in &vars {
        emitter.builder.push(Stmt::Set(v, zero));
    }
    let vars_in_loop = vars.clone();
    emitter.neuron_loop(roots, |b, values| {
        let (sums, others) = values.split_at(split);
        for (&var, &value) in vars_in_loop.iter().zip(sums) {
            let current = b.def(Inst::Read(var));
            let sum = b.def(Inst::Binary(crate::ir::BinaryOp::Add, current, value));
            b.push(Stmt::Set(var, sum));
        }
        rest(b, others);
    })?;
    Ok(vars)
}

/// `array[i * stride + offset] = value` for the current point i.
fn point_store(array: ArrayId, stride: usize, offset: usize, value: ValueId) -> Stmt {
    Stmt::Store {
        array,
        index: Index {
            point: stride,
            neuron: 0,
            offset,
        },
        value,
    }
}

/// The least-squares rows of a linear residual (random feature models).
pub fn rows_kernel(
    g: &mut Graph,
    r: &JetResidual,
    jets: &mut Jets<'_>,
    layout: &ParameterLayout,
    sym: &mut String,
) -> Result<LoweredKernel, LowerError> {
    let weight = g.num(r.weight);
    let minus_weight = g.num(-r.weight);
    let rhs = g.mul(minus_weight, r.constant);
    // entry_m = weight * sum_alpha G_{m,alpha} D_alpha phi
    let mut entries = Vec::with_capacity(layout.unknowns);
    for m in 0..layout.unknowns {
        let mut terms = Vec::new();
        for (field, alpha, symbol) in &r.jets {
            if *field as usize != m {
                continue;
            }
            let coefficient = g.diff(r.expr, *symbol)?;
            let d = jets.derivative(g, alpha)?;
            terms.push(g.mul(coefficient, d));
        }
        let sum = g.add_all(&terms);
        entries.push(g.mul(weight, sum));
    }
    g.check_size()?;
    let _ = writeln!(sym, "{} (least-squares rows, weight {}):", r.name, r.weight);
    let _ = writeln!(sym, "  residual  = {}", g.display(r.expr));
    let _ = writeln!(sym, "  rhs[i]    = {}", g.display(rhs));
    for (m, &e) in entries.iter().enumerate() {
        let _ = writeln!(sym, "  A[i, {m}*K + k] = {}", g.display(e));
    }
    let columns = layout.unknowns * layout.neurons;
    let name = format!("rows_{}", r.name);
    let (builder, out) = kernel_builder(&name, false, &["rows", "rhs"]);
    let (rows_id, rhs_id) = (out[0], out[1]);
    let mut emitter = Emitter::new(g, builder);
    bind_common(&mut emitter, jets, layout, false);
    let rhs_value = emitter.point(&[rhs])?[0];
    emitter.builder.push(point_store(rhs_id, 1, 0, rhs_value));
    let neurons = layout.neurons;
    emitter.neuron_loop(&entries, |b, values| {
        for (m, &v) in values.iter().enumerate() {
            b.push(Stmt::Store {
                array: rows_id,
                index: Index {
                    point: columns,
                    neuron: 1,
                    offset: m * neurons,
                },
                value: v,
            });
        }
    })?;
    Ok(LoweredKernel {
        role: KernelRole::Rows {
            residual: residual_index(r),
        },
        name,
        kernel: emitter.builder.finish(),
    })
}

fn residual_index(r: &JetResidual) -> usize {
    r.index
}

/// A residual of the network and its gradient with respect to the trained
/// parameters (Gauss-Newton rows, or Adam/L-BFGS gradients via J^T r).
pub fn network_kernel(
    g: &mut Graph,
    r: &JetResidual,
    jets: &mut Jets<'_>,
    layout: &ParameterLayout,
    sym: &mut String,
) -> Result<LoweredKernel, LowerError> {
    let name = format!("network_{}", r.name);
    let _ = writeln!(
        sym,
        "{} (network residual and gradient, weight {}):",
        r.name, r.weight
    );
    let _ = writeln!(sym, "  residual = {}", g.display(r.expr));
    // Pass 1: J_{m,alpha} = sum_k a_{m,k} D_alpha phi_k.
    let mut contributions = Vec::new();
    for (field, alpha, symbol) in &r.jets {
        let d = jets.derivative(g, alpha)?;
        let a = g.symbol(jets.neuron.a[*field as usize]);
        let c = g.mul(a, d);
        let _ = writeln!(sym, "  {} = sum_k {}", g.symbol_name(*symbol), g.display(c));
        contributions.push(c);
    }
    // After pass 1: the residual and G_{m,alpha} at point level.
    let weight = g.num(r.weight);
    let residual = g.mul(weight, r.expr);
    let mut coefficients = Vec::new();
    for (_, _, symbol) in &r.jets {
        let c = g.diff(residual, *symbol)?;
        coefficients.push(c);
    }
    // Pass 2: gradient entries per neuron.
    let mut entries: Vec<(usize, ExprId)> = Vec::new(); // (theta index for neuron 0, expr)
    let mut labels: Vec<String> = Vec::new();
    let mut gradient_wrt = |g: &mut Graph,
                            jets: &mut Jets<'_>,
                            theta: usize,
                            param: Option<crate::symbolic::SymbolId>,
                            only_field: Option<u32>|
     -> Result<(), LowerError> {
        let mut terms = Vec::new();
        for ((field, alpha, _), &coefficient) in r.jets.iter().zip(&coefficients) {
            if only_field.is_some_and(|f| f != *field) {
                continue;
            }
            let d = jets.derivative(g, alpha)?;
            let term = match param {
                // d/d a_{m,k} of a_{m,k} D phi = D phi
                None => d,
                Some(p) => {
                    let a = g.symbol(jets.neuron.a[*field as usize]);
                    let dd = g.diff(d, p)?;
                    g.mul(a, dd)
                }
            };
            terms.push(g.mul(coefficient, term));
        }
        let sum = g.add_all(&terms);
        entries.push((theta, sum));
        let label = match (param, only_field) {
            (Some(p), _) => g.symbol_name(p).to_string(),
            (None, Some(m)) => g.symbol_name(jets.neuron.a[m as usize]).to_string(),
            (None, None) => String::new(),
        };
        labels.push(label);
        Ok(())
    };
    if layout.train_hidden {
        for j in 0..layout.dims {
            let p = jets.neuron.w[j];
            gradient_wrt(g, jets, layout.w(0, j), Some(p), None)?;
        }
        let p = jets.neuron.b;
        gradient_wrt(g, jets, layout.b(0), Some(p), None)?;
    }
    for m in 0..layout.unknowns {
        gradient_wrt(g, jets, layout.a(m, 0), None, Some(m as u32))?;
    }
    g.check_size()?;
    for ((_, e), label) in entries.iter().zip(&labels) {
        let _ = writeln!(sym, "  d residual / d {label}[k] = {}", g.display(*e));
    }
    let (builder, out) = kernel_builder(&name, true, &["residual", "jacobian"]);
    let (residual_id, jacobian_id) = (out[0], out[1]);
    let mut emitter = Emitter::new(g, builder);
    bind_common(&mut emitter, jets, layout, true);
    let columns = layout.trained();
    let stores: Vec<(usize, usize)> = entries
        .iter()
        .map(|&(theta, _)| {
            // Within one neuron's block, w_j advances by d per neuron, the
            // others by 1.
            let stride = if theta < layout.neurons * layout.dims {
                layout.dims
            } else {
                1
            };
            (layout.column(theta), stride)
        })
        .collect();
    let roots: Vec<ExprId> = entries.iter().map(|&(_, e)| e).collect();
    let store_row = |b: &mut KernelBuilder, values: &[ValueId]| {
        for (&(offset, stride), &v) in stores.iter().zip(values) {
            b.push(Stmt::Store {
                array: jacobian_id,
                index: Index {
                    point: columns,
                    neuron: stride,
                    offset,
                },
                value: v,
            });
        }
    };
    // When the gradient entries do not involve the point sums (a residual
    // linear in the unknowns), one neuron loop both accumulates the sums
    // and stores the Jacobian row, so every activation is evaluated once
    // per neuron and point. Otherwise a second loop follows the sums.
    let jet_symbols: Vec<_> = r.jets.iter().map(|(_, _, s)| *s).collect();
    let fused = !reachable(g, &roots)
        .iter()
        .any(|&id| matches!(g.node(id), Node::Symbol(s) if jet_symbols.contains(s)));
    let vars = if fused {
        let both: Vec<ExprId> = contributions.iter().chain(&roots).copied().collect();
        let split = contributions.len();
        accumulate_and(&mut emitter, &both, split, store_row)?
    } else {
        accumulate(&mut emitter, &contributions)?
    };
    for ((_, _, symbol), &var) in r.jets.iter().zip(&vars) {
        let value = emitter.builder.def(Inst::Read(var));
        emitter.bind(*symbol, Source::Value(value));
    }
    let residual_value = emitter.point(&[residual])?[0];
    emitter
        .builder
        .push(point_store(residual_id, 1, 0, residual_value));
    if !fused {
        emitter.neuron_loop(&roots, store_row)?;
    }
    Ok(LoweredKernel {
        role: KernelRole::Network {
            residual: residual_index(r),
        },
        name,
        kernel: emitter.builder.finish(),
    })
}

/// The network's values u_m(x_i) = sum_k a_{m,k} phi_k(x_i).
pub fn value_kernel(
    g: &mut Graph,
    jets: &mut Jets<'_>,
    layout: &ParameterLayout,
    sym: &mut String,
) -> Result<LoweredKernel, LowerError> {
    // Values use the network itself, never a stencil.
    let phi = {
        let dims = layout.dims;
        let mut exact = Jets::new(
            jets.activation,
            &crate::check::DiffMode::Ad,
            jets.coordinates,
            jets.neuron,
        );
        exact.derivative(g, &vec![0; dims])?
    };
    let mut contributions = Vec::new();
    for m in 0..layout.unknowns {
        let a = g.symbol(jets.neuron.a[m]);
        contributions.push(g.mul(a, phi));
    }
    let _ = writeln!(sym, "value: u_m(x) = sum_k a_m * {}", g.display(phi));
    let (builder, out) = kernel_builder("value", true, &["u"]);
    let u_id = out[0];
    let mut emitter = Emitter::new(g, builder);
    bind_common(&mut emitter, jets, layout, true);
    let vars = accumulate(&mut emitter, &contributions)?;
    for (m, &var) in vars.iter().enumerate() {
        let value = emitter.builder.def(Inst::Read(var));
        emitter
            .builder
            .push(point_store(u_id, layout.unknowns, m, value));
    }
    Ok(LoweredKernel {
        role: KernelRole::Value,
        name: "value".into(),
        kernel: emitter.builder.finish(),
    })
}
