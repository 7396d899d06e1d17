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
    /// Inputs of the first layer: d, plus one per coordinate of
    /// `periodic in` (it enters as cos and sin).
    pub inputs: usize,
    /// M: number of unknowns.
    pub unknowns: usize,
    /// K: number of neurons (features).
    pub neurons: usize,
    /// False for random feature models (only a is trained).
    pub train_hidden: bool,
    /// `Some(depth)` for a deep network (`mlp`): theta is then
    /// [W_1 (K x d), b_1 (K), W_2 (K x K), b_2, ..., W_depth, b_depth,
    /// W_out (M x K), b_out (M)], weights row-major (see [`Self::layer`]).
    /// For depth 1 the first K (d + 1 + M) entries are the shallow layout.
    pub depth: Option<usize>,
}

/// Where one dense layer's parameters sit in theta: the weights W
/// (`rows` x `cols`, row-major from `weights`) and the biases (`rows`
/// entries from `biases`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LayerBlock {
    pub rows: usize,
    pub cols: usize,
    pub weights: usize,
    pub biases: usize,
}

impl ParameterLayout {
    /// The layout for `spec`'s ansatz with `neurons` neurons.
    pub fn new(spec: &Spec, neurons: usize) -> Self {
        ParameterLayout {
            dims: spec.coordinates.len(),
            inputs: spec.coordinates.len() + spec.periodic_inputs.len(),
            unknowns: spec.unknowns.len(),
            neurons,
            train_hidden: matches!(spec.ansatz, Ansatz::Shallow { .. } | Ansatz::Mlp { .. }),
            depth: match (&spec.ansatz, &spec.diff) {
                (Ansatz::Mlp { depth, .. }, _) => Some(*depth),
                // `diff stein` runs a shallow network as depth 1 (the
                // shallow layout, then M output biases held at 0).
                (Ansatz::Shallow { .. }, crate::check::DiffMode::Stein { .. }) => Some(1),
                _ => None,
            },
        }
    }

    /// Length of theta.
    pub fn total(&self) -> usize {
        match self.depth {
            Some(depth) => {
                let last = self.layer(depth);
                last.biases + last.rows
            }
            None => self.neurons * (self.inputs + 1 + self.unknowns),
        }
    }

    /// Dense layer `l` of a deep network: l = 0 .. depth-1 are the hidden
    /// layers (layer 0 reads the d coordinates), l = depth the output layer
    /// (M rows). Layers are stored one after the other, weights then biases.
    pub fn layer(&self, l: usize) -> LayerBlock {
        let (k, d) = (self.neurons, self.inputs);
        let depth = self.depth.unwrap_or(1);
        let start = if l == 0 {
            0
        } else {
            k * d + k + (l - 1) * (k * k + k)
        };
        let rows = if l == depth { self.unknowns } else { k };
        let cols = if l == 0 { d } else { k };
        LayerBlock {
            rows,
            cols,
            weights: start,
            biases: start + rows * cols,
        }
    }

    /// Index of w_{k,j} in theta (j counts the first layer's inputs).
    pub fn w(&self, k: usize, j: usize) -> usize {
        k * self.inputs + j
    }

    /// Index of b_k in theta.
    pub fn b(&self, k: usize) -> usize {
        self.neurons * self.inputs + k
    }

    /// Index of a_{m,k} in theta.
    pub fn a(&self, m: usize, k: usize) -> usize {
        self.neurons * (self.inputs + 1) + m * self.neurons + k
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
            theta_index - self.neurons * (self.inputs + 1)
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
    /// Deep networks: the activation's jet rule of jet shape `rule` for
    /// every neuron of a layer (see `lower::mlp`).
    LayerForward { rule: usize },
    /// Deep networks: the adjoint of that rule.
    LayerAdjoint { rule: usize },
    /// Deep networks: a residual and the reverse sweep's seed from the
    /// output jets.
    MlpResidual { residual: usize },
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
                stride: layout.inputs,
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
    let split = contributions.len();
    accumulate_and(emitter, contributions, split, |_, v| v.to_vec(), |_, _| {})
}

/// Like [`accumulate`], in a neuron loop that computes `roots` and derives
/// from their values the loop's results by `combine` (the identity, or
/// [`Factored::combine`]): the first `split` results are summed, the
/// others handed to `rest` (e.g. to store them).
fn accumulate_and(
    emitter: &mut Emitter<'_>,
    roots: &[ExprId],
    split: usize,
    combine: impl FnOnce(&mut KernelBuilder, &[ValueId]) -> Vec<ValueId>,
    rest: impl FnOnce(&mut KernelBuilder, &[ValueId]),
) -> Result<Vec<crate::ir::VarId>, LowerError> {
    let vars: Vec<_> = (0..split).map(|_| emitter.builder.var()).collect();
    let zero = emitter.builder.def(Inst::Const(0.0));
    for &v in &vars {
        emitter.builder.push(Stmt::Set(v, zero));
    }
    let vars_in_loop = vars.clone();
    emitter.neuron_loop(roots, |b, values| {
        let values = combine(b, values);
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
        for (j, &p) in jets.neuron.w.clone().iter().enumerate() {
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
    // When the gradient entries do not involve the point sums (a residual
    // linear in the unknowns), one neuron loop both accumulates the sums
    // and stores the Jacobian row, so every activation is evaluated once
    // per neuron and point. Otherwise a second loop follows the sums.
    let roots: Vec<ExprId> = entries.iter().map(|&(_, e)| e).collect();
    let jet_symbols: Vec<_> = r.jets.iter().map(|(_, _, s)| *s).collect();
    let fused = !reachable(g, &roots)
        .iter()
        .any(|&id| matches!(g.node(id), Node::Symbol(s) if jet_symbols.contains(s)));
    let neuron: Vec<_> = (jets.neuron.w.iter())
        .chain([&jets.neuron.b])
        .chain(&jets.neuron.a)
        .copied()
        .collect();
    let (first_loop, second_loop) = if fused {
        let both: Vec<ExprId> = contributions.iter().chain(&roots).copied().collect();
        (Factored::new(g, &both, &neuron), None)
    } else {
        (
            Factored::new(g, &contributions, &neuron),
            Some(Factored::new(g, &roots, &neuron)),
        )
    };
    g.check_size()?;
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
            let stride = if theta < layout.neurons * layout.inputs {
                layout.inputs
            } else {
                1
            };
            (layout.column(theta), stride)
        })
        .collect();
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
    let split = contributions.len();
    let combine = |b: &mut KernelBuilder, v: &[ValueId]| first_loop.combine(b, v);
    let vars = if fused {
        accumulate_and(&mut emitter, &first_loop.flat, split, combine, store_row)?
    } else {
        accumulate_and(&mut emitter, &first_loop.flat, split, combine, |_, _| {})?
    };
    for ((_, _, symbol), &var) in r.jets.iter().zip(&vars) {
        let value = emitter.builder.def(Inst::Read(var));
        emitter.bind(*symbol, Source::Value(value));
    }
    let residual_value = emitter.point(&[residual])?[0];
    emitter
        .builder
        .push(point_store(residual_id, 1, 0, residual_value));
    if let Some(second) = second_loop {
        emitter.neuron_loop(&second.flat, |b, v| {
            let values = second.combine(b, v);
            store_row(b, &values)
        })?;
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
        exact.inputs = jets.inputs.clone();
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

/// Expressions of a neuron loop rewritten as sums of products
/// `N * P`, with `N` depending on the neuron's parameters alone (and
/// constants) and `P` on everything else (the point, the activation at the
/// point). Products of the same `P` are grouped (`sum N * P` with the `N`s
/// added), so an expression costs one multiplication and one addition per
/// group, and the `P`s (hash-consed) are shared between all expressions of
/// the loop. On a network's gradient entries this replaces long products
/// that repeat the same point-level factors, e.g.
/// `-a (-2 x s^2 w1^2 + 4 x t^2 s w1^2)` becomes
/// `(2 a w1^2) * (x s^2) + (-4 a w1^2) * (x t^2 s)`.
struct Factored {
    /// The N and P nodes every expression needs, each once.
    flat: Vec<ExprId>,
    /// Per expression, its groups as indices into `flat`: (N, P), with
    /// `None` for a factor that is exactly 1.
    groups: Vec<Vec<(Option<usize>, Option<usize>)>>,
}

/// A monomial of [`Factored`]: coefficient, neuron-only factors, others.
#[derive(Clone)]
struct Monomial {
    coefficient: f64,
    neuron: Vec<ExprId>,
    other: Vec<ExprId>,
}

/// Expansions larger than this keep the expression as it is (one group).
const MAX_MONOMIALS: usize = 64;

impl Factored {
    /// Factors `roots`; `neuron` are the neuron's parameter symbols.
    fn new(g: &mut Graph, roots: &[ExprId], neuron: &[crate::symbolic::SymbolId]) -> Self {
        // Whether each node depends on anything but the neuron's parameters.
        let mut point_dependent = std::collections::HashMap::new();
        for id in reachable(g, roots) {
            let node = g.node(id);
            let dependent = match node {
                Node::Symbol(s) => !neuron.contains(s),
                Node::Field { .. } => true,
                _ => {
                    let mut any = false;
                    node.for_each_child(|c| any |= point_dependent[&c]);
                    any
                }
            };
            point_dependent.insert(id, dependent);
        }
        let mut flat = Vec::new();
        let mut index = std::collections::HashMap::new();
        let mut slot = |id: ExprId, flat: &mut Vec<ExprId>| -> usize {
            *index.entry(id).or_insert_with(|| {
                flat.push(id);
                flat.len() - 1
            })
        };
        let mut groups = Vec::with_capacity(roots.len());
        for &root in roots {
            let one = g.num(1.0);
            let Some(monomials) = expand(g, root, &point_dependent) else {
                groups.push(vec![(None, Some(slot(root, &mut flat)))]);
                continue;
            };
            // Group by the canonical product of the other factors.
            let mut by_p: std::collections::BTreeMap<ExprId, Vec<ExprId>> = Default::default();
            for m in monomials {
                let p = g.mul_all(&m.other);
                let c = g.num(m.coefficient);
                let mut factors = vec![c];
                factors.extend(m.neuron);
                let n = g.mul_all(&factors);
                by_p.entry(p).or_default().push(n);
            }
            let mut list = Vec::with_capacity(by_p.len());
            for (p, ns) in by_p {
                let n = g.add_all(&ns);
                if g.number(n) == Some(0.0) {
                    continue;
                }
                let n = (n != one).then(|| slot(n, &mut flat));
                let p = (p != one).then(|| slot(p, &mut flat));
                list.push((n, p));
            }
            if list.is_empty() {
                let zero = g.num(0.0);
                list.push((Some(slot(zero, &mut flat)), None));
            }
            groups.push(list);
        }
        // Keep the expressions as they are when factoring does not make
        // the loop smaller (nodes to compute, plus a multiplication and an
        // addition per group).
        let combining: usize = groups.iter().map(|l| 2 * l.len() - 1).sum();
        if operations(g, &flat) + combining >= operations(g, roots) {
            return Factored::whole(roots);
        }
        Factored { flat, groups }
    }

    /// Every expression as one group of its own (no factoring).
    fn whole(roots: &[ExprId]) -> Self {
        Factored {
            flat: roots.to_vec(),
            groups: (0..roots.len()).map(|i| vec![(None, Some(i))]).collect(),
        }
    }

    /// The value of each expression, from the values of `flat`: the sum of
    /// its groups' products, in group order.
    fn combine(&self, b: &mut KernelBuilder, values: &[ValueId]) -> Vec<ValueId> {
        use crate::ir::BinaryOp;
        self.groups
            .iter()
            .map(|groups| {
                let mut sum: Option<ValueId> = None;
                for &(n, p) in groups {
                    let term = match (n.map(|n| values[n]), p.map(|p| values[p])) {
                        (Some(n), Some(p)) => b.def(Inst::Binary(BinaryOp::Mul, p, n)),
                        (Some(v), None) | (None, Some(v)) => v,
                        (None, None) => b.def(Inst::Const(1.0)),
                    };
                    sum = Some(match sum {
                        Some(s) => b.def(Inst::Binary(BinaryOp::Add, s, term)),
                        None => term,
                    });
                }
                sum.unwrap_or_else(|| b.def(Inst::Const(0.0)))
            })
            .collect()
    }
}

/// The number of arithmetic operations the emitter makes of `roots` (an
/// n-ary sum or product costs n - 1, a leaf nothing, any other node one).
/// The arithmetic operations that computing `roots` takes, each shared node
/// once (an n-ary sum or product counts n - 1).
fn operations(g: &Graph, roots: &[ExprId]) -> usize {
    reachable(g, roots)
        .iter()
        .map(|&id| match g.node(id) {
            Node::Num(_) | Node::Symbol(_) | Node::Field { .. } => 0,
            Node::Add(ops) | Node::Mul(ops) => ops.len().saturating_sub(1),
            _ => 1,
        })
        .sum()
}

/// `id` as a sum of monomials, distributing products over the sums that
/// involve the neuron's parameters (sums of point-level terms stay whole).
/// `None` past [`MAX_MONOMIALS`] or for a non-finite coefficient.
fn expand(
    g: &Graph,
    id: ExprId,
    point_dependent: &std::collections::HashMap<ExprId, bool>,
) -> Option<Vec<Monomial>> {
    let atom = |neuron: bool| {
        Some(vec![Monomial {
            coefficient: 1.0,
            neuron: if neuron { vec![id] } else { vec![] },
            other: if neuron { vec![] } else { vec![id] },
        }])
    };
    if !point_dependent[&id] {
        return match g.number(id) {
            Some(c) if c.is_finite() => Some(vec![Monomial {
                coefficient: c,
                neuron: vec![],
                other: vec![],
            }]),
            Some(_) => None,
            None => atom(true),
        };
    }
    let product = |factors: &[Vec<Monomial>]| -> Option<Vec<Monomial>> {
        let mut result = vec![Monomial {
            coefficient: 1.0,
            neuron: vec![],
            other: vec![],
        }];
        for f in factors {
            if result.len().saturating_mul(f.len()) > MAX_MONOMIALS {
                return None;
            }
            let mut next = Vec::with_capacity(result.len() * f.len());
            for a in &result {
                for b in f {
                    next.push(Monomial {
                        coefficient: a.coefficient * b.coefficient,
                        neuron: a.neuron.iter().chain(&b.neuron).copied().collect(),
                        other: a.other.iter().chain(&b.other).copied().collect(),
                    });
                }
            }
            result = next;
        }
        result
            .iter()
            .all(|m| m.coefficient.is_finite())
            .then_some(result)
    };
    match g.node(id) {
        Node::Add(ops) => {
            let mut all = Vec::new();
            for &op in ops.iter() {
                all.extend(expand(g, op, point_dependent)?);
                if all.len() > MAX_MONOMIALS {
                    return None;
                }
            }
            if all.iter().all(|m| m.neuron.is_empty()) {
                atom(false)
            } else {
                Some(all)
            }
        }
        Node::Mul(ops) => {
            let factors = ops
                .iter()
                .map(|&op| expand(g, op, point_dependent))
                .collect::<Option<Vec<_>>>()?;
            product(&factors)
        }
        &Node::Pow(base, exponent) => match g.number(exponent) {
            Some(n) if n.fract() == 0.0 && (2.0..=4.0).contains(&n) => {
                let b = expand(g, base, point_dependent)?;
                if b.iter().all(|m| m.neuron.is_empty()) {
                    return atom(false);
                }
                product(&vec![b; n as usize])
            }
            _ => atom(false),
        },
        _ => atom(false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::math::Activation;
    use crate::random::SeededRng;

    /// Each factored expression, evaluated as `sum N * P` from its groups,
    /// equals the expression itself (both evaluated by the symbolic
    /// evaluator at random values), and every `N` depends on the neuron's
    /// parameters alone.
    #[test]
    fn factored_expressions_equal_the_originals() {
        let mut g = Graph::new();
        let x = g.coordinate(0, "x").unwrap();
        let y = g.coordinate(1, "y").unwrap();
        let w0 = g.parameter("w0").unwrap();
        let w1 = g.parameter("w1").unwrap();
        let b = g.parameter("b").unwrap();
        let a = g.parameter("a").unwrap();
        let jet = g.parameter("J").unwrap();
        let [xe, ye, w0e, w1e, be, ae, je] = [x, y, w0, w1, b, a, jet].map(|s| g.symbol(s));
        let wx = g.mul(w0e, xe);
        let wy = g.mul(w1e, ye);
        let z = g.add_all(&[wx, wy, be]);
        let t = g.act(Activation::Tanh, z);
        // The contribution and gradient entries of a Poisson residual's
        // network kernel: a * lap(phi) and its derivatives.
        let dxx = {
            let d = g.diff(t, x).unwrap();
            g.diff(d, x).unwrap()
        };
        let dyy = {
            let d = g.diff(t, y).unwrap();
            g.diff(d, y).unwrap()
        };
        let d_a = g.add(dxx, dyy);
        let lap = g.mul(ae, d_a);
        let d_b = g.diff(lap, b).unwrap();
        let d_w0 = g.diff(lap, w0).unwrap();
        let d_w1 = g.diff(lap, w1).unwrap();
        // A point-level factor, a quotient, and a nonlinear jet.
        let jsq = g.mul(je, je);
        let mixed = g.mul_all(&[jsq, d_w0, ye]);
        let denominator = g.add(t, w0e);
        let one = g.num(1.0);
        let inverse = g.div(one, denominator);
        let quotient = g.mul(inverse, d_w1);
        // A sum of products too long to expand (kept whole).
        let mut long = g.num(1.0);
        let (w0w1, w0b, ab) = (g.mul(w0e, w1e), g.mul(w0e, be), g.mul(ae, be));
        for s in [w0e, w1e, be, ae, w0w1, w0b, ab] {
            let sum = g.add(s, t);
            long = g.mul(long, sum);
        }
        let zero = g.num(0.0);
        let neuron = [w0, w1, b, a];
        let point = [x, y, jet].map(|s| g.symbol(s));
        let roots = [lap, d_w0, d_w1, d_b, d_a];
        let factored = Factored::new(&mut g, &roots, &neuron);
        assert!(factored.groups[1].len() > 1, "d/dw0 is split into groups");
        check(&g, &roots, &factored, &point);
        let roots = [mixed, quotient, zero, ae, xe, d_w0];
        let factored = Factored::new(&mut g, &roots, &neuron);
        check(&g, &roots, &factored, &point);
        let long = [long];
        let whole = Factored::new(&mut g, &long, &neuron);
        assert_eq!(whole.groups, vec![vec![(None, Some(0))]]);
        check(&g, &long, &whole, &point);
    }

    /// Every N of `factored` is free of the `point` symbols, and its groups
    /// add up to `roots` at random values of the symbols.
    fn check(g: &Graph, roots: &[ExprId], factored: &Factored, point: &[ExprId]) {
        for (n, _) in factored.groups.iter().flatten() {
            if let Some(n) = *n {
                let id = factored.flat[n];
                assert!(
                    !reachable(g, &[id]).iter().any(|r| point.contains(r)),
                    "{} is neuron-only",
                    g.display(id)
                );
            }
        }
        let mut rng = SeededRng::new(3, 7);
        for _ in 0..20 {
            let values: Vec<f64> = (0..g.symbol_count())
                .map(|_| rng.uniform_in(-1.5, 1.5))
                .collect();
            let symbols = |s: crate::symbolic::SymbolId| values[s.index()];
            let no_fields = |_: u32, _: &[u8]| f64::NAN;
            let expected = g.eval(roots, &symbols, &no_fields);
            let flat = g.eval(&factored.flat, &symbols, &no_fields);
            for (groups, want) in factored.groups.iter().zip(&expected) {
                let got: f64 = groups
                    .iter()
                    .map(|&(n, p)| n.map_or(1.0, |n| flat[n]) * p.map_or(1.0, |p| flat[p]))
                    .sum();
                assert!(
                    (got - want).abs() <= 1e-12 * want.abs().max(1.0),
                    "{got} vs {want}"
                );
            }
        }
    }
}
