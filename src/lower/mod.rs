//! Stage 4, lowering: the network ansatz substituted into the problem's
//! residuals, with the ansatz's derivatives computed exactly (`ad`) or by
//! finite-difference stencils of the network (`fd`), and turned into kernel
//! IR.
//!
//! The ansatz for every unknown m is u_m(x) = sum_k a_{m,k} phi_k(x) with
//! the shared hidden features phi_k(x) = act(w_k . x + b_k). A residual
//! r(x, J) depends on the jet J_{m,alpha} = d^alpha u_m(x); we write
//! G_{m,alpha} = dr/dJ_{m,alpha}. Then
//! - for a linear problem and a random feature model, the least-squares
//!   matrix has entries A[i, (m,k)] = sum_alpha G_{m,alpha}(x_i) D_alpha phi_k(x_i)
//!   and right-hand side b_i = -r(x_i, 0) (module [`kernels`], `rows_*`);
//! - for network training (Gauss-Newton, Adam, L-BFGS) the residual is
//!   evaluated with J accumulated over the neurons, and its gradient with
//!   respect to every trained parameter follows from G by the chain rule
//!   (`network_*` kernels). No tape: every derivative is a closed-form
//!   expression per neuron.
//!
//! `D_alpha phi_k` is where the diff modes differ: `ad` differentiates
//! act(w . x + b) symbolically (one transcendental per neuron, higher
//! derivatives as polynomials of it); `fd` takes tensor products of central
//! stencils ([`stencil::Stencil`]) of network values at shifted points.
//! A third mode (Gaussian smoothing, Stein's identity) is another arm of
//! [`Jets::derivative`]: a weighted sum of network values at random shifts.

pub mod emit;
pub mod kernels;
pub mod mlp;
pub mod stein;
pub mod stencil;

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::check::{Ansatz, DiffMode, Spec};
use crate::math::Activation;
use crate::symbolic::problem::{diff_multi_index, SymbolicProblem};
use crate::symbolic::{ExprId, Graph, SizeLimitExceeded, SymbolId};
use stencil::Stencil;

pub use kernels::{KernelRole, LayerBlock, LoweredKernel, ParameterLayout};
pub use mlp::{FdStencils, JetComponent, JetRule, MlpPlan, MlpResidual, SteinPlan};

/// Why lowering failed.
#[derive(Clone, Debug, PartialEq)]
pub enum LowerError {
    /// The expressions grew beyond the graph's node limit.
    TooLarge(SizeLimitExceeded),
    /// A diff mode that this version cannot lower.
    Unsupported(String),
}

impl std::fmt::Display for LowerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LowerError::TooLarge(e) => write!(
                f,
                "the generated code would be too large ({e}); reduce the derivative order or simplify the equation"
            ),
            LowerError::Unsupported(what) => write!(f, "{what} is not supported yet"),
        }
    }
}

impl std::error::Error for LowerError {}

impl From<SizeLimitExceeded> for LowerError {
    fn from(e: SizeLimitExceeded) -> Self {
        LowerError::TooLarge(e)
    }
}

/// The symbols of one generic neuron k (the kernels load them per k).
#[derive(Clone, Debug)]
pub struct NeuronSymbols {
    /// w_k, one per coordinate.
    pub w: Vec<SymbolId>,
    /// b_k
    pub b: SymbolId,
    /// a_{m,k}, one per unknown.
    pub a: Vec<SymbolId>,
}

/// How the derivatives D_alpha phi_k of one neuron are built.
pub struct Jets<'a> {
    pub activation: Activation,
    pub diff: &'a DiffMode,
    pub coordinates: &'a [SymbolId],
    pub neuron: &'a NeuronSymbols,
    /// Memo of D_alpha phi per multi-index.
    cache: BTreeMap<Vec<u8>, ExprId>,
    /// The stencils used (fd), for `emit --stage sym`.
    pub stencils: BTreeMap<(u32, u32), Stencil>,
    /// `bc periodic`: (coordinate c, period L) makes every derivative the
    /// difference D_alpha phi(x) - D_alpha phi(x + L e_c).
    pub period: Option<(usize, f64)>,
    /// The input map per coordinate (empty: the identity), see
    /// [`InputMap`]. It is part of the neuron's expression, so `ad`
    /// differentiates through it and `fd` shifts x before the map.
    pub inputs: Vec<InputMap>,
}

/// How coordinate x_j enters the first layer.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum InputMap {
    /// One input xi_j = s x_j + t: the identity (s = 1, t = 0) or the
    /// normalization to [-1, 1] (s = 2 / (hi - lo), t = -(lo + hi) / (hi - lo)).
    Affine { s: f64, t: f64 },
    /// Two inputs cos(k (x_j - lo)), sin(k (x_j - lo)) with k = 2 pi / length
    /// (`ansatz ... periodic in x`): the network is periodic in x_j with
    /// period `length`, with all its derivatives.
    Periodic { lo: f64, length: f64 },
}

impl InputMap {
    /// The number of first-layer inputs it makes.
    pub fn width(&self) -> usize {
        match self {
            InputMap::Affine { .. } => 1,
            InputMap::Periodic { .. } => 2,
        }
    }

    /// d^n/dx^n of input `i` (0 or 1) of the map at x: s x + t, s, 0, ...
    /// for the affine map; k^n cos(k (x - lo) + n pi / 2) and
    /// k^n sin(k (x - lo) + n pi / 2) for the periodic one.
    pub fn derivative(&self, i: usize, n: u32, x: f64) -> f64 {
        match *self {
            InputMap::Affine { s, t } => match n {
                0 => s * x + t,
                1 => s,
                _ => 0.0,
            },
            InputMap::Periodic { lo, length } => {
                let k = 2.0 * std::f64::consts::PI / length;
                let phase = k * (x - lo) + f64::from(n) * std::f64::consts::FRAC_PI_2;
                let scale = k.powi(n as i32);
                if i == 0 {
                    scale * phase.cos()
                } else {
                    scale * phase.sin()
                }
            }
        }
    }
}

/// The input map of `spec`'s ansatz, one entry per coordinate: the
/// periodic map for the coordinates of `periodic in`, else xi_j =
/// (2 x_j - lo_j - hi_j) / (hi_j - lo_j) when it normalizes, else the
/// identity; empty when every coordinate enters as is.
pub fn input_map(spec: &Spec) -> Vec<InputMap> {
    if !spec.ansatz.normalize() && spec.periodic_inputs.is_empty() {
        return Vec::new();
    }
    spec.coordinates
        .iter()
        .enumerate()
        .map(|(j, c)| {
            if spec.periodic_inputs.contains(&j) {
                InputMap::Periodic {
                    lo: c.lo,
                    length: c.hi - c.lo,
                }
            } else if spec.ansatz.normalize() {
                let s = 2.0 / (c.hi - c.lo);
                InputMap::Affine {
                    s,
                    t: -(c.lo + c.hi) / (c.hi - c.lo),
                }
            } else {
                InputMap::Affine { s: 1.0, t: 0.0 }
            }
        })
        .collect()
}

/// `first layer inputs: 2*x - 1, cos(2*pi*t), sin(2*pi*t)`: the input map
/// as formulas, one line (for `emit --stage sym` of a deep network, whose
/// input jet is computed numerically).
fn describe_inputs(spec: &Spec, inputs: &[InputMap]) -> String {
    let num = crate::check::fmt_num;
    let mut parts = Vec::new();
    for (c, map) in spec.coordinates.iter().zip(inputs) {
        let x = &c.name;
        match *map {
            InputMap::Affine { s, t } if s == 1.0 && t == 0.0 => parts.push(x.clone()),
            InputMap::Affine { s, t } => {
                let sign = if t < 0.0 { "-" } else { "+" };
                parts.push(match t {
                    0.0 => format!("{}*{x}", num(s)),
                    _ => format!("{}*{x} {sign} {}", num(s), num(t.abs())),
                })
            }
            InputMap::Periodic { lo, length } => {
                let k = num(2.0 * std::f64::consts::PI / length);
                let arg = if lo == 0.0 {
                    format!("{k}*{x}")
                } else if lo < 0.0 {
                    format!("{k}*({x} + {})", num(-lo))
                } else {
                    format!("{k}*({x} - {})", num(lo))
                };
                parts.push(format!("cos({arg})"));
                parts.push(format!("sin({arg})"));
            }
        }
    }
    format!("first layer inputs: {}\n", parts.join(", "))
}

impl<'a> Jets<'a> {
    /// Jets of `act(w . x + b)` in the given diff mode.
    pub fn new(
        activation: Activation,
        diff: &'a DiffMode,
        coordinates: &'a [SymbolId],
        neuron: &'a NeuronSymbols,
    ) -> Self {
        Jets {
            activation,
            diff,
            coordinates,
            neuron,
            cache: BTreeMap::new(),
            stencils: BTreeMap::new(),
            period: None,
            inputs: Vec::new(),
        }
    }

    /// phi(x + base + shift*h): the neuron at a shifted point.
    fn neuron_at(&self, g: &mut Graph, base: &[f64], shift: &[i32], h: f64) -> ExprId {
        let mut z = g.symbol(self.neuron.b);
        let mut weights = self.neuron.w.iter();
        for (j, &x) in self.coordinates.iter().enumerate() {
            let mut xj = g.symbol(x);
            let offset = base[j] + f64::from(shift[j]) * h;
            if offset != 0.0 {
                let offset = g.num(offset);
                xj = g.add(xj, offset);
            }
            let inputs = match self.inputs.get(j) {
                None => vec![xj],
                Some(&InputMap::Affine { s, t }) if s == 1.0 && t == 0.0 => vec![xj],
                Some(&InputMap::Affine { s, t }) => {
                    let s = g.num(s);
                    xj = g.mul(s, xj);
                    if t != 0.0 {
                        let t = g.num(t);
                        xj = g.add(xj, t);
                    }
                    vec![xj]
                }
                Some(&InputMap::Periodic { lo, length }) => {
                    // theta = k (x - lo), k = 2 pi / L: cos theta, sin theta.
                    if lo != 0.0 {
                        let lo = g.num(-lo);
                        xj = g.add(xj, lo);
                    }
                    let k = g.num(2.0 * std::f64::consts::PI / length);
                    let theta = g.mul(k, xj);
                    vec![
                        g.call(crate::math::MathFn::Cos, theta),
                        g.call(crate::math::MathFn::Sin, theta),
                    ]
                }
            };
            for input in inputs {
                let w = g.symbol(*weights.next().expect("one weight per input"));
                let term = g.mul(w, input);
                z = g.add(z, term);
            }
        }
        g.act(self.activation, z)
    }

    /// D_alpha phi for the multi-index `alpha` (counts per coordinate).
    pub fn derivative(&mut self, g: &mut Graph, alpha: &[u8]) -> Result<ExprId, LowerError> {
        if let Some(&e) = self.cache.get(alpha) {
            return Ok(e);
        }
        let dims = self.coordinates.len();
        let here = self.derivative_at(g, alpha, &vec![0.0; dims])?;
        let e = match self.period {
            None => here,
            Some((c, length)) => {
                let mut base = vec![0.0; dims];
                base[c] = length;
                let there = self.derivative_at(g, alpha, &base)?;
                g.sub(here, there)
            }
        };
        self.cache.insert(alpha.to_vec(), e);
        Ok(e)
    }

    /// D_alpha phi at x + base.
    fn derivative_at(
        &mut self,
        g: &mut Graph,
        alpha: &[u8],
        base: &[f64],
    ) -> Result<ExprId, LowerError> {
        let dims = self.coordinates.len();
        let e = match *self.diff {
            DiffMode::Ad => {
                let phi = self.neuron_at(g, base, &vec![0; dims], 0.0);
                diff_multi_index(g, phi, self.coordinates, alpha)?
            }
            DiffMode::Fd { h, order } => {
                // Tensor product of 1-D central stencils over the
                // differentiated coordinates.
                let mut nodes: Vec<(Vec<i32>, f64)> = vec![(vec![0; dims], 1.0)];
                let mut total_order = 0i32;
                for (j, &n) in alpha.iter().enumerate() {
                    if n == 0 {
                        continue;
                    }
                    total_order += i32::from(n);
                    let s = self
                        .stencils
                        .entry((u32::from(n), order))
                        .or_insert_with(|| Stencil::central(u32::from(n), order))
                        .clone();
                    let mut next = Vec::new();
                    for (shift, weight) in &nodes {
                        for (&o, &w) in s.offsets.iter().zip(&s.weights) {
                            if w == 0.0 {
                                continue;
                            }
                            let mut shifted = shift.clone();
                            shifted[j] += o;
                            next.push((shifted, weight * w));
                        }
                    }
                    nodes = next;
                }
                let scale = 1.0 / h.powi(total_order);
                let mut terms = Vec::with_capacity(nodes.len());
                for (shift, weight) in nodes {
                    let value = self.neuron_at(g, base, &shift, h);
                    let w = g.num(weight * scale);
                    terms.push(g.mul(w, value));
                }
                g.check_size()?;
                g.add_all(&terms)
            }
            DiffMode::Stein { .. } => {
                return Err(LowerError::Unsupported(
                    "`diff stein` (Gaussian-smoothing estimators)".into(),
                ))
            }
        };
        Ok(e)
    }
}

/// A residual with its fields replaced by jet symbols J_{m,alpha}.
#[derive(Clone, Debug)]
pub struct JetResidual {
    /// Index in [`JetProblem::residuals`] (equations first, then conditions).
    pub index: usize,
    pub name: String,
    pub weight: f64,
    /// r(x, J) over coordinate and jet symbols.
    pub expr: ExprId,
    /// r(x, 0): the residual with every field set to zero (minus the
    /// forcing term, for a linear problem).
    pub constant: ExprId,
    /// The jets it uses: (unknown m, alpha, symbol J_{m,alpha}), in a fixed order.
    pub jets: Vec<(u32, Vec<u8>, SymbolId)>,
    /// `bc periodic`: (coordinate, period); every jet is then the
    /// difference of the field at x and at x + L e_c.
    pub period: Option<(usize, f64)>,
}

/// The problem's residuals over jet symbols, and the neuron's symbols, in one graph.
pub struct JetProblem {
    pub graph: Graph,
    pub coordinates: Vec<SymbolId>,
    pub neuron: NeuronSymbols,
    pub residuals: Vec<JetResidual>,
    pub unknowns: usize,
}

impl JetProblem {
    /// Builds the symbolic problem and replaces each field d^alpha u_m by a
    /// jet symbol named like the field (`u_xx`).
    pub fn new(spec: &Spec) -> Result<JetProblem, LowerError> {
        let SymbolicProblem {
            mut graph,
            coordinates,
            residuals: symbolic,
            ..
        } = SymbolicProblem::new(spec)?;
        let dims = spec.coordinates.len();
        let printer = crate::check::ExprPrinter::new(spec);
        let mut jet_symbols: BTreeMap<(u32, Vec<u8>), SymbolId> = BTreeMap::new();
        let mut residuals = Vec::new();
        for (index, r) in symbolic.into_iter().enumerate() {
            let constant =
                graph.substitute_fields(
                    &[r.expr],
                    &mut |g: &mut Graph, _, _| -> Result<ExprId, LowerError> { Ok(g.num(0.0)) },
                )?[0];
            let mut used: Vec<(u32, Vec<u8>)> = Vec::new();
            let replaced =
                graph.substitute_fields(
                    &[r.expr],
                    &mut |g: &mut Graph, field, derivative| -> Result<ExprId, LowerError> {
                        let key = (field, derivative.to_vec());
                        let symbol = match jet_symbols.get(&key) {
                            Some(&s) => s,
                            None => {
                                let name = printer.field_name(field as usize, derivative);
                                let s = fresh_parameter(g, &name)?;
                                jet_symbols.insert(key.clone(), s);
                                s
                            }
                        };
                        if !used.contains(&key) {
                            used.push(key);
                        }
                        Ok(g.symbol(symbol))
                    },
                )?;
            used.sort();
            let jets = used
                .into_iter()
                .map(|(m, alpha)| {
                    let s = jet_symbols[&(m, alpha.clone())];
                    (m, alpha, s)
                })
                .collect();
            let period = match r.source {
                crate::symbolic::problem::ResidualSource::Condition(i) => {
                    spec.conditions[i].periodic.map(|c| {
                        let coordinate = &spec.coordinates[c];
                        (c, coordinate.hi - coordinate.lo)
                    })
                }
                _ => None,
            };
            residuals.push(JetResidual {
                index,
                period,
                constant,
                name: r.name,
                weight: r.weight,
                expr: replaced[0],
                jets,
            });
        }
        let parameter = |g: &mut Graph, name: String| fresh_parameter(g, &name);
        let mut w = Vec::new();
        for (j, c) in spec.coordinates.iter().enumerate() {
            if spec.periodic_inputs.contains(&j) {
                w.push(parameter(&mut graph, format!("w_cos_{}", c.name))?);
                w.push(parameter(&mut graph, format!("w_sin_{}", c.name))?);
            } else {
                w.push(parameter(&mut graph, format!("w_{}", c.name))?);
            }
        }
        let b = parameter(&mut graph, "b".into())?;
        let mut a = Vec::new();
        for u in &spec.unknowns {
            a.push(parameter(&mut graph, format!("a_{}", u.name))?);
        }
        debug_assert_eq!(w.len(), dims + spec.periodic_inputs.len());
        Ok(JetProblem {
            graph,
            coordinates,
            neuron: NeuronSymbols { w, b, a },
            residuals,
            unknowns: spec.unknowns.len(),
        })
    }
}

/// A new parameter symbol named `base`, or `base'`, `base''`, ... if the
/// name is taken (a user's unknown may be called `b`, a coordinate `w_x`),
/// so generated symbols never alias the problem's own.
fn fresh_parameter(g: &mut Graph, base: &str) -> Result<SymbolId, LowerError> {
    let mut name = base.to_string();
    while g.lookup_symbol(&name).is_some() {
        name.push('\'');
    }
    g.parameter(&name)
        .map_err(|e| LowerError::Unsupported(format!("internal: parameter {name}: {e}")))
}

/// Everything `solve` and `emit` need from lowering.
pub struct Lowered {
    pub graph: Graph,
    pub kernels: Vec<LoweredKernel>,
    pub layout: ParameterLayout,
    /// Readable per-neuron formulas (`pdec emit --stage sym`).
    pub sym: String,
    /// Deep networks: how the layer kernels are chained (`None` for the
    /// one-layer ansatzes).
    pub mlp: Option<MlpPlan>,
}

/// The activation and neuron count of the spec's ansatz.
pub fn ansatz_shape(spec: &Spec) -> (Activation, usize) {
    match spec.ansatz {
        Ansatz::Rfm {
            features,
            activation,
            ..
        } => (activation, features),
        Ansatz::Shallow {
            width, activation, ..
        }
        | Ansatz::Mlp {
            width, activation, ..
        } => (activation, width),
    }
}

/// Lowers a checked problem to kernels for its ansatz, diff mode and trainer.
pub fn lower(spec: &Spec) -> Result<Lowered, LowerError> {
    if spec.initial_data.is_some() {
        return Err(LowerError::Unsupported(
            "`initial u = data(...)` (grid values, read by `pdec simulate`) in a trained problem"
                .into(),
        ));
    }
    let mut problem = JetProblem::new(spec)?;
    let (activation, neurons) = ansatz_shape(spec);
    let layout = ParameterLayout::new(spec, neurons);
    let coordinates = problem.coordinates.clone();
    let neuron = problem.neuron.clone();
    let mut sym = String::new();
    // `diff stein` runs a shallow network as the deep network of depth 1
    // (the same weights; its output bias is held at 0, see `SteinPlan`).
    let deep = match (&spec.ansatz, &spec.diff) {
        (Ansatz::Mlp { depth, .. }, _) => Some(*depth),
        (Ansatz::Shallow { .. }, DiffMode::Stein { .. }) => Some(1),
        _ => None,
    };
    if let Some(depth) = deep {
        let fd = match spec.diff {
            DiffMode::Ad => None,
            DiffMode::Fd { h, order } => Some((h, order)),
            DiffMode::Stein { .. } => None,
        };
        let names: Vec<String> = spec.coordinates.iter().map(|c| c.name.clone()).collect();
        let mut kernels = Vec::new();
        let mut plan = mlp::lower_mlp(
            &mut problem.graph,
            &problem.residuals,
            &coordinates,
            &names,
            layout.unknowns,
            (neurons, depth, activation),
            fd,
            &mut kernels,
            &mut sym,
        )?;
        plan.inputs = input_map(spec);
        if !plan.inputs.is_empty() {
            sym.insert_str(0, &describe_inputs(spec, &plan.inputs));
        }
        if let DiffMode::Stein {
            sigma,
            samples,
            seed,
            antithetic,
            eval_samples,
        } = spec.diff
        {
            if let Some(r) = plan.residuals.iter().find(|r| r.period.is_some()) {
                return Err(LowerError::Unsupported(format!(
                    "`diff stein` with the `bc periodic` rows of {}",
                    r.name
                )));
            }
            plan.stein = Some(stein::plan(
                &plan,
                mlp::SteinPlan {
                    sigma,
                    samples,
                    seed,
                    antithetic,
                    eval_samples,
                    frozen_output_bias: matches!(spec.ansatz, Ansatz::Shallow { .. }),
                },
                &mut sym,
            )?);
        }
        return Ok(Lowered {
            graph: problem.graph,
            kernels,
            layout,
            sym,
            mlp: Some(plan),
        });
    }
    let mut jets = Jets::new(activation, &spec.diff, &coordinates, &neuron);
    jets.inputs = input_map(spec);
    // Least-squares rows only for `lstsq`: the iterative trainers (adam,
    // lbfgs, gauss_newton, alm) read the network kernels' residuals and
    // Jacobians, also for a linear problem.
    let linear_rows = matches!(spec.ansatz, Ansatz::Rfm { .. })
        && spec.linearity != crate::check::Linearity::Nonlinear
        && matches!(spec.train, crate::check::Trainer::Lstsq { .. });
    let mut out = Vec::new();
    for r in problem.residuals.clone() {
        // A periodic condition differentiates through its own jets.
        let mut periodic_jets;
        let jets = match r.period {
            None => &mut jets,
            Some(period) => {
                periodic_jets = Jets::new(activation, &spec.diff, &coordinates, &neuron);
                periodic_jets.period = Some(period);
                periodic_jets.inputs = input_map(spec);
                &mut periodic_jets
            }
        };
        let kernel = if linear_rows {
            kernels::rows_kernel(&mut problem.graph, &r, jets, &layout, &mut sym)?
        } else {
            kernels::network_kernel(&mut problem.graph, &r, jets, &layout, &mut sym)?
        };
        out.push(kernel);
    }
    out.push(kernels::value_kernel(
        &mut problem.graph,
        &mut jets,
        &layout,
        &mut sym,
    )?);
    if !jets.stencils.is_empty() {
        let _ = writeln!(sym, "stencils (weights for unit step, divided by h^m):");
        for ((m, p), s) in &jets.stencils {
            let nodes: Vec<String> = s
                .offsets
                .iter()
                .zip(&s.weights)
                .map(|(o, w)| format!("{o:+}: {}", crate::check::fmt_num(*w)))
                .collect();
            let _ = writeln!(sym, "  d^{m}, order {p}: {}", nodes.join(", "));
        }
    }
    Ok(Lowered {
        graph: problem.graph,
        kernels: out,
        layout,
        sym,
        mlp: None,
    })
}
