//! Numerical evaluation of expressions at a point: the reference semantics
//! of the symbolic stage (later backends must agree with it).
//!
//! An [`Evaluator`] compiles the nodes reachable from its roots, in id order
//! (a topological order, children first), into a flat tape once; evaluating
//! at a point then walks the tape with one reusable value buffer and no
//! allocation. Arithmetic is plain f64: non-finite values propagate as IEEE
//! says (`x^(-1)` at 0 is inf, `log(-1)` is NaN).

use std::collections::HashMap;

use super::graph::{ExprId, Graph, Node, SymbolId};
use crate::math::{Activation, MathFn};

/// One tape instruction; operands are tape slots (earlier instructions).
#[derive(Clone, Debug)]
enum Instr {
    Const(f64),
    Symbol(SymbolId),
    /// Index into [`Evaluator::fields`].
    Field(usize),
    /// Sum of `operands[start..start + len]`.
    Add {
        start: usize,
        len: usize,
    },
    /// Product of `operands[start..start + len]`.
    Mul {
        start: usize,
        len: usize,
    },
    /// Integer power (exact exponent known at compile time).
    PowI(usize, i32),
    Pow(usize, usize),
    Call(MathFn, usize),
    Act(Activation, usize),
}

/// A compiled evaluation plan for a fixed set of roots, reusable across
/// points (compile once, then call [`Evaluator::eval`] per point).
#[derive(Clone, Debug)]
pub struct Evaluator {
    tape: Vec<Instr>,
    /// Operand slots of the n-ary instructions.
    operands: Vec<usize>,
    /// (field, derivative multi-index) of each distinct field node.
    fields: Vec<(u32, Box<[u8]>)>,
    /// Tape slot of each root, in the order the roots were given.
    root_slots: Vec<usize>,
    values: Vec<f64>,
    results: Vec<f64>,
}

impl Evaluator {
    /// Compiles the nodes of `graph` reachable from `roots`.
    pub fn new(graph: &Graph, roots: &[ExprId]) -> Evaluator {
        let order = graph.topological_order(roots);
        let mut slot_of: HashMap<ExprId, usize> = HashMap::with_capacity(order.len());
        let mut tape = Vec::with_capacity(order.len());
        let mut operands = Vec::new();
        let mut fields = Vec::new();
        for (slot, &id) in order.iter().enumerate() {
            // Operands have smaller ids, so they already have slots.
            let slot_of_child = |child: &ExprId| slot_of.get(child).copied().unwrap_or(0);
            let instr = match graph.node(id) {
                Node::Num(bits) => Instr::Const(f64::from_bits(*bits)),
                Node::Symbol(symbol) => Instr::Symbol(*symbol),
                Node::Field { field, derivative } => {
                    fields.push((*field, derivative.clone()));
                    Instr::Field(fields.len() - 1)
                }
                Node::Add(ops) | Node::Mul(ops) => {
                    let start = operands.len();
                    operands.extend(ops.iter().map(slot_of_child));
                    let len = ops.len();
                    if matches!(graph.node(id), Node::Add(_)) {
                        Instr::Add { start, len }
                    } else {
                        Instr::Mul { start, len }
                    }
                }
                Node::Pow(base, exponent) => match graph.number(*exponent) {
                    Some(n) if n.fract() == 0.0 && n.abs() <= 1024.0 => {
                        Instr::PowI(slot_of_child(base), n as i32)
                    }
                    _ => Instr::Pow(slot_of_child(base), slot_of_child(exponent)),
                },
                Node::Call(function, arg) => Instr::Call(*function, slot_of_child(arg)),
                Node::Act(activation, arg) => Instr::Act(*activation, slot_of_child(arg)),
            };
            tape.push(instr);
            slot_of.insert(id, slot);
        }
        let root_slots: Vec<usize> = roots
            .iter()
            .map(|root| slot_of.get(root).copied().unwrap_or(0))
            .collect();
        Evaluator {
            values: vec![0.0; tape.len()],
            results: vec![0.0; root_slots.len()],
            tape,
            operands,
            fields,
            root_slots,
        }
    }

    /// Number of instructions (= distinct nodes reachable from the roots).
    pub fn tape_len(&self) -> usize {
        self.tape.len()
    }

    /// The values of the roots (in the order given to [`Evaluator::new`]) at
    /// the point where symbol `s` has value `symbols(s)` and d^alpha u_f has
    /// value `fields(f, alpha)`.
    pub fn eval(
        &mut self,
        symbols: &dyn Fn(SymbolId) -> f64,
        fields: &dyn Fn(u32, &[u8]) -> f64,
    ) -> &[f64] {
        for (slot, instr) in self.tape.iter().enumerate() {
            let v = &self.values;
            let value = match *instr {
                Instr::Const(c) => c,
                Instr::Symbol(symbol) => symbols(symbol),
                Instr::Field(k) => {
                    let (field, ref derivative) = self.fields[k];
                    fields(field, derivative)
                }
                Instr::Add { start, len } => self.operands[start..start + len]
                    .iter()
                    .map(|&s| v[s])
                    .sum(),
                Instr::Mul { start, len } => self.operands[start..start + len]
                    .iter()
                    .map(|&s| v[s])
                    .product(),
                Instr::PowI(base, n) => v[base].powi(n),
                Instr::Pow(base, exponent) => v[base].powf(v[exponent]),
                Instr::Call(function, arg) => function.eval(v[arg]),
                Instr::Act(activation, arg) => activation.eval(v[arg]),
            };
            self.values[slot] = value;
        }
        for (result, &slot) in self.results.iter_mut().zip(&self.root_slots) {
            *result = self.values[slot];
        }
        &self.results
    }
}

impl Graph {
    /// The values of `roots` at one point (see [`Evaluator::eval`]); to
    /// evaluate at many points, build an [`Evaluator`] once instead.
    pub fn eval(
        &self,
        roots: &[ExprId],
        symbols: &dyn Fn(SymbolId) -> f64,
        fields: &dyn Fn(u32, &[u8]) -> f64,
    ) -> Vec<f64> {
        Evaluator::new(self, roots).eval(symbols, fields).to_vec()
    }
}
