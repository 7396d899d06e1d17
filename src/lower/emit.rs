//! From expression DAG roots to kernel IR statements.
//!
//! Every DAG node becomes at most one SSA value per block (the DAG is
//! hash-consed, so this is common-subexpression elimination for free).
//! Nodes that depend only on the point (coordinates, jets) are hoisted out
//! of the neuron loop; nodes that depend on a neuron's parameters are
//! emitted inside it. Activations are expanded into primal math functions:
//! tanh, sin, cos are calls; sigmoid = 1/(1 + exp(-z)); gauss = exp(-z^2);
//! softplus = (z + |z|)/2 + log(1 + exp(-|z|)) (no overflow for large |z|).

use std::collections::{BTreeSet, HashMap};

use super::LowerError;
use crate::ir::{ArrayId, BinaryOp, Index, Inst, KernelBuilder, UnaryOp, ValueId};
use crate::math::{Activation, MathFn};
use crate::symbolic::{ExprId, Graph, Node, SymbolId};

/// Where a symbol's value comes from inside a kernel.
#[derive(Clone, Copy, Debug)]
pub enum Source {
    /// Coordinate j of point i: `points[i*dims + j]`.
    Point {
        array: ArrayId,
        dims: usize,
        j: usize,
    },
    /// A per-neuron parameter: `array[k*stride + offset]`.
    Neuron {
        array: ArrayId,
        stride: usize,
        offset: usize,
    },
    /// A value computed earlier at point level (e.g. an accumulated jet).
    Value(ValueId),
    /// Any array element `array[i*point + k*neuron + offset]` (neuron
    /// dependent when `index.neuron != 0`), e.g. a jet component of neuron
    /// k at point i.
    Element { array: ArrayId, index: Index },
}

/// Emits DAG nodes into a [`KernelBuilder`].
pub struct Emitter<'g> {
    graph: &'g Graph,
    pub builder: KernelBuilder,
    sources: HashMap<SymbolId, Source>,
    /// Values emitted at point level (visible everywhere after).
    point_values: HashMap<ExprId, ValueId>,
    /// Memo: does the node depend on a per-neuron symbol?
    neuron_dependent: HashMap<ExprId, bool>,
}

impl<'g> Emitter<'g> {
    /// An emitter for `graph` writing into `builder`.
    pub fn new(graph: &'g Graph, builder: KernelBuilder) -> Self {
        Emitter {
            graph,
            builder,
            sources: HashMap::new(),
            point_values: HashMap::new(),
            neuron_dependent: HashMap::new(),
        }
    }

    /// Declares where symbol `s` comes from.
    pub fn bind(&mut self, s: SymbolId, source: Source) {
        self.sources.insert(s, source);
    }

    fn is_neuron_dependent(&mut self, root: ExprId) -> bool {
        for id in reachable(self.graph, &[root]) {
            if self.neuron_dependent.contains_key(&id) {
                continue;
            }
            let node = self.graph.node(id);
            let dependent = match node {
                Node::Symbol(s) => match self.sources.get(s) {
                    Some(Source::Neuron { .. }) => true,
                    Some(Source::Element { index, .. }) => index.neuron != 0,
                    _ => false,
                },
                _ => {
                    let mut any = false;
                    node.for_each_child(|c| any |= self.neuron_dependent[&c]);
                    any
                }
            };
            self.neuron_dependent.insert(id, dependent);
        }
        self.neuron_dependent[&root]
    }

    /// Emits `roots` at point level (outside any neuron loop).
    pub fn point(&mut self, roots: &[ExprId]) -> Result<Vec<ValueId>, LowerError> {
        let mut local = HashMap::new();
        for id in reachable(self.graph, roots) {
            if self.point_values.contains_key(&id) {
                continue;
            }
            if self.is_neuron_dependent(id) {
                return Err(LowerError::Unsupported(format!(
                    "internal: point-level expression {} depends on a neuron",
                    self.graph.display(id)
                )));
            }
            let v = self.node(id, &mut local)?;
            self.point_values.insert(id, v);
        }
        Ok(roots.iter().map(|r| self.point_values[r]).collect())
    }

    /// Emits a neuron loop computing `roots`; `body` adds the statements
    /// that use their values (stores, accumulations) inside the loop.
    /// Point-level parts are hoisted before the loop.
    pub fn neuron_loop(
        &mut self,
        roots: &[ExprId],
        body: impl FnOnce(&mut KernelBuilder, &[ValueId]),
    ) -> Result<(), LowerError> {
        let order = reachable(self.graph, roots);
        let hoisted: Vec<ExprId> = order
            .iter()
            .copied()
            .filter(|&id| !self.is_neuron_dependent(id))
            .collect();
        self.point(&hoisted)?;
        let graph = self.graph;
        let mut builder = std::mem::replace(&mut self.builder, KernelBuilder::new("", vec![]));
        let result = builder.neuron_loop(|b| -> Result<(), LowerError> {
            let mut local: HashMap<ExprId, ValueId> = HashMap::new();
            let mut inner = Emitter {
                graph,
                builder: std::mem::replace(b, KernelBuilder::new("", vec![])),
                sources: self.sources.clone(),
                point_values: self.point_values.clone(),
                neuron_dependent: HashMap::new(),
            };
            for &id in &order {
                if inner.point_values.contains_key(&id) {
                    continue;
                }
                let v = inner.node(id, &mut local)?;
                local.insert(id, v);
            }
            let values: Vec<ValueId> = roots
                .iter()
                .map(|r| {
                    inner
                        .point_values
                        .get(r)
                        .copied()
                        .unwrap_or_else(|| local[r])
                })
                .collect();
            body(&mut inner.builder, &values);
            *b = inner.builder;
            Ok(())
        });
        self.builder = builder;
        result
    }

    fn value_of(&self, id: ExprId, local: &HashMap<ExprId, ValueId>) -> ValueId {
        self.point_values
            .get(&id)
            .or_else(|| local.get(&id))
            .copied()
            .expect("operands are emitted before their users (id order)")
    }

    fn def(&mut self, inst: Inst) -> ValueId {
        self.builder.def(inst)
    }

    /// Emits one node whose operands are already emitted.
    fn node(
        &mut self,
        id: ExprId,
        local: &mut HashMap<ExprId, ValueId>,
    ) -> Result<ValueId, LowerError> {
        let node = self.graph.node(id).clone();
        let v = match node {
            Node::Num(bits) => self.def(Inst::Const(f64::from_bits(bits))),
            Node::Symbol(s) => match self.sources.get(&s).copied() {
                Some(Source::Point { array, dims, j }) => self.def(Inst::Load {
                    array,
                    index: Index {
                        point: dims,
                        neuron: 0,
                        offset: j,
                    },
                }),
                Some(Source::Neuron {
                    array,
                    stride,
                    offset,
                }) => self.def(Inst::Load {
                    array,
                    index: Index {
                        point: 0,
                        neuron: stride,
                        offset,
                    },
                }),
                Some(Source::Value(v)) => v,
                Some(Source::Element { array, index }) => self.def(Inst::Load { array, index }),
                None => {
                    return Err(LowerError::Unsupported(format!(
                        "internal: symbol `{}` has no value in this kernel",
                        self.graph.symbol_name(s)
                    )))
                }
            },
            Node::Field { .. } => {
                return Err(LowerError::Unsupported(
                    "internal: a field reached code generation".into(),
                ))
            }
            Node::Add(ops) => {
                let mut acc: Option<ValueId> = None;
                for &op in ops.iter() {
                    // c*t with c = -1 becomes a subtraction.
                    let negated = self.negated_operand(op);
                    acc = Some(match (acc, negated) {
                        (Some(a), Some(t)) => {
                            let t = self.product(&t, local)?;
                            self.def(Inst::Binary(BinaryOp::Sub, a, t))
                        }
                        (Some(a), None) => {
                            let t = self.value_of(op, local);
                            self.def(Inst::Binary(BinaryOp::Add, a, t))
                        }
                        (None, _) => self.value_of(op, local),
                    });
                }
                acc.unwrap_or_else(|| self.def(Inst::Const(0.0)))
            }
            Node::Mul(ops) => self.product(&ops, local)?,
            Node::Pow(base, exponent) => {
                let b = self.value_of(base, local);
                match self.graph.number(exponent) {
                    Some(n) if n.fract() == 0.0 && n.abs() <= 64.0 => {
                        self.def(Inst::Powi(b, n as i32))
                    }
                    Some(0.5) => self.def(Inst::Unary(UnaryOp::Call(MathFn::Sqrt), b)),
                    _ => {
                        let e = self.value_of(exponent, local);
                        self.def(Inst::Binary(BinaryOp::Pow, b, e))
                    }
                }
            }
            Node::Call(f, a) => {
                let a = self.value_of(a, local);
                self.def(Inst::Unary(UnaryOp::Call(f), a))
            }
            Node::Act(act, z) => {
                let z = self.value_of(z, local);
                self.activation(act, z)
            }
        };
        Ok(v)
    }

    /// If `op` is `-1 * t1 * t2 ...`, the factors t1, t2, ...
    fn negated_operand(&self, op: ExprId) -> Option<Vec<ExprId>> {
        match self.graph.node(op) {
            Node::Mul(factors) if self.graph.number(factors[0]) == Some(-1.0) => {
                Some(factors[1..].to_vec())
            }
            _ => None,
        }
    }

    /// The product of `factors`, with negative integer powers as divisions.
    fn product(
        &mut self,
        factors: &[ExprId],
        local: &HashMap<ExprId, ValueId>,
    ) -> Result<ValueId, LowerError> {
        let mut numerator = Vec::new();
        let mut denominator = Vec::new();
        for &f in factors {
            let inverse_power = match self.graph.node(f) {
                Node::Pow(base, exponent) => self
                    .graph
                    .number(*exponent)
                    .filter(|n| *n < 0.0 && n.fract() == 0.0 && *n >= -64.0)
                    .map(|n| (*base, -n as i32)),
                _ => None,
            };
            match inverse_power {
                Some((base, n)) => {
                    let b = self.value_of(base, local);
                    let v = if n == 1 {
                        b
                    } else {
                        self.def(Inst::Powi(b, n))
                    };
                    denominator.push(v);
                }
                None => numerator.push(self.value_of(f, local)),
            }
        }
        let numerator = match self.chain_mul(&numerator) {
            Some(n) => n,
            None => self.def(Inst::Const(1.0)),
        };
        Ok(match self.chain_mul(&denominator) {
            Some(d) => self.def(Inst::Binary(BinaryOp::Div, numerator, d)),
            None => numerator,
        })
    }

    fn chain_mul(&mut self, values: &[ValueId]) -> Option<ValueId> {
        let (&first, rest) = values.split_first()?;
        Some(rest.iter().fold(first, |acc, &v| {
            self.def(Inst::Binary(BinaryOp::Mul, acc, v))
        }))
    }

    fn activation(&mut self, act: Activation, z: ValueId) -> ValueId {
        let call = |e: &mut Self, f: MathFn, a: ValueId| e.def(Inst::Unary(UnaryOp::Call(f), a));
        match act {
            Activation::Tanh => call(self, MathFn::Tanh, z),
            Activation::Sin => call(self, MathFn::Sin, z),
            Activation::Cos => call(self, MathFn::Cos, z),
            Activation::Sigmoid => {
                let minus = self.def(Inst::Unary(UnaryOp::Neg, z));
                let e = call(self, MathFn::Exp, minus);
                let one = self.def(Inst::Const(1.0));
                let denominator = self.def(Inst::Binary(BinaryOp::Add, one, e));
                self.def(Inst::Binary(BinaryOp::Div, one, denominator))
            }
            Activation::Gauss => {
                let square = self.def(Inst::Binary(BinaryOp::Mul, z, z));
                let minus = self.def(Inst::Unary(UnaryOp::Neg, square));
                call(self, MathFn::Exp, minus)
            }
            Activation::Softplus => {
                let abs = call(self, MathFn::Abs, z);
                let sum = self.def(Inst::Binary(BinaryOp::Add, z, abs));
                let half = self.def(Inst::Const(0.5));
                let relu = self.def(Inst::Binary(BinaryOp::Mul, half, sum));
                let minus = self.def(Inst::Unary(UnaryOp::Neg, abs));
                let e = call(self, MathFn::Exp, minus);
                let one = self.def(Inst::Const(1.0));
                let shifted = self.def(Inst::Binary(BinaryOp::Add, one, e));
                let log = call(self, MathFn::Log, shifted);
                self.def(Inst::Binary(BinaryOp::Add, relu, log))
            }
        }
    }
}

/// Every node reachable from `roots`, in increasing id order (children first).
pub fn reachable(graph: &Graph, roots: &[ExprId]) -> Vec<ExprId> {
    let mut seen = BTreeSet::new();
    let mut stack: Vec<ExprId> = roots.to_vec();
    while let Some(id) = stack.pop() {
        if seen.insert(id) {
            graph.node(id).for_each_child(|c| stack.push(c));
        }
    }
    seen.into_iter().collect()
}
