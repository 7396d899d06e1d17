//! Symbolic differentiation and field substitution: the operations that
//! multiply the size of a graph, so the ones that enforce its node limit.
//!
//! Invariants: every derivative rule is stated once, in [`Graph::diff`]'s
//! per-node step and the two tables [`Graph::function_derivative`] and
//! [`Graph::activation_derivative`]; higher orders come only from repeated
//! differentiation. Results are memoized per (expression, variable) in the
//! graph, so differentiating a DAG costs O(reachable nodes) and the result is
//! again a DAG sharing subexpressions with its input. Both operations walk
//! nodes in id order (children first) without recursion.

use std::collections::HashMap;

use super::graph::{ExprId, Graph, Node, SizeLimitExceeded, SymbolId, SymbolKind};
use crate::math::{Activation, MathFn};

/// The callback of [`Graph::substitute_fields`]: given the graph, a field
/// number and its derivative multi-index alpha, returns the expression that
/// replaces d^alpha u_field (or an error that aborts the substitution).
pub type FieldReplacement<'a, E> = dyn FnMut(&mut Graph, u32, &[u8]) -> Result<ExprId, E> + 'a;

impl Graph {
    /// d(expr)/d(wrt), simplified.
    ///
    /// Rules: d(c) = 0; d(x)/dx = 1, other symbols 0; a field's derivative in
    /// coordinate `j` raises `alpha_j` by one (0 for parameters); sum rule;
    /// product rule over all factors of an n-ary product; d(a^b) =
    /// b a^(b-1) a' when b does not depend on `wrt`, else
    /// a^b (b' log a + b a'/a); chain rule through every function and
    /// activation, with f' from [`Graph::function_derivative`] and
    /// [`Graph::activation_derivative`].
    ///
    /// Errors: [`SizeLimitExceeded::Nodes`] when the graph grows past its
    /// node limit (checked before each node), or
    /// [`SizeLimitExceeded::DerivativeOrder`] for a field derivative count
    /// above 255. Derivatives completed before an error stay memoized.
    pub fn diff(&mut self, expr: ExprId, wrt: SymbolId) -> Result<ExprId, SizeLimitExceeded> {
        if self.is_constant(expr) {
            return Ok(self.num(0.0));
        }
        if let Some(&known) = self.diff_cache.get(&(expr, wrt)) {
            return Ok(known);
        }
        let order = self.reachable_in_order(&[expr], |id| {
            self.is_constant(id) || self.diff_cache.contains_key(&(id, wrt))
        });
        for id in order {
            self.check_size()?;
            let derivative = self.diff_node(id, wrt)?;
            self.diff_cache.insert((id, wrt), derivative);
        }
        Ok(self.known_derivative(expr, wrt))
    }

    /// `d^n(expr)/d(wrt[0]) ... d(wrt[n-1])`: repeated [`Graph::diff`].
    pub fn diff_multi(
        &mut self,
        expr: ExprId,
        wrt: &[SymbolId],
    ) -> Result<ExprId, SizeLimitExceeded> {
        wrt.iter()
            .try_fold(expr, |current, &symbol| self.diff(current, symbol))
    }

    /// The derivative of a node whose operands are already differentiated
    /// (or constant).
    fn known_derivative(&mut self, id: ExprId, wrt: SymbolId) -> ExprId {
        if self.is_constant(id) {
            return self.num(0.0);
        }
        *self
            .diff_cache
            .get(&(id, wrt))
            .expect("invariant: operands are differentiated before their parents")
    }

    /// One step of [`Graph::diff`]: the derivative of node `id`, given the
    /// memoized derivatives of its operands.
    fn diff_node(&mut self, id: ExprId, wrt: SymbolId) -> Result<ExprId, SizeLimitExceeded> {
        let node = self.node(id).clone();
        Ok(match node {
            Node::Num(_) => self.num(0.0),
            Node::Symbol(symbol) => self.num(if symbol == wrt { 1.0 } else { 0.0 }),
            Node::Field { field, derivative } => match self.symbol_kind(wrt) {
                Some(SymbolKind::Coordinate(j)) if j < derivative.len() => {
                    let mut raised = derivative.to_vec();
                    raised[j] =
                        raised[j]
                            .checked_add(1)
                            .ok_or(SizeLimitExceeded::DerivativeOrder {
                                field,
                                coordinate: j,
                            })?;
                    self.field(field, &raised)
                }
                _ => self.num(0.0),
            },
            Node::Add(terms) => {
                let derivatives: Vec<ExprId> = terms
                    .iter()
                    .map(|&t| self.known_derivative(t, wrt))
                    .collect();
                self.add_all(&derivatives)
            }
            Node::Mul(factors) => {
                let mut terms = Vec::with_capacity(factors.len());
                for (i, &factor) in factors.iter().enumerate() {
                    let derivative = self.known_derivative(factor, wrt);
                    if self.is_zero(derivative) {
                        continue;
                    }
                    let mut product = factors.to_vec();
                    product[i] = derivative;
                    terms.push(self.mul_all(&product));
                }
                self.add_all(&terms)
            }
            Node::Pow(base, exponent) => {
                let d_base = self.known_derivative(base, wrt);
                let d_exponent = self.known_derivative(exponent, wrt);
                if self.is_zero(d_exponent) {
                    if self.is_zero(d_base) {
                        return Ok(self.num(0.0));
                    }
                    // b a^(b-1) a'
                    let minus_one = self.num(-1.0);
                    let lowered = self.add(exponent, minus_one);
                    let power = self.pow(base, lowered);
                    self.mul_all(&[exponent, power, d_base])
                } else {
                    // a^b b' log a + b a^(b-1) a' (not a^b (b' log a +
                    // b a'/a), whose a'/a is NaN at a = 0 where the
                    // second term is defined for b >= 1)
                    let log_base = self.call(MathFn::Log, base);
                    let mut terms = vec![self.mul_all(&[id, d_exponent, log_base])];
                    if !self.is_zero(d_base) {
                        let minus_one = self.num(-1.0);
                        let lowered = self.add(exponent, minus_one);
                        let power = self.pow(base, lowered);
                        terms.push(self.mul_all(&[exponent, power, d_base]));
                    }
                    self.add_all(&terms)
                }
            }
            Node::Call(function, arg) => {
                let d_arg = self.known_derivative(arg, wrt);
                if self.is_zero(d_arg) {
                    return Ok(self.num(0.0));
                }
                let outer = self.function_derivative(function, arg, id);
                self.mul(outer, d_arg)
            }
            Node::Act(activation, arg) => {
                let d_arg = self.known_derivative(arg, wrt);
                if self.is_zero(d_arg) {
                    return Ok(self.num(0.0));
                }
                let outer = self.activation_derivative(activation, arg, id);
                self.mul(outer, d_arg)
            }
        })
    }

    /// f'(a) for a built-in function, where `value` is the node `f(a)`
    /// itself (reused so that code evaluates the transcendental once):
    /// sin' = cos, cos' = -sin, tan' = 1 + tan^2, exp' = exp, log' = 1/a,
    /// sqrt' = 1/(2 sqrt a), tanh' = 1 - tanh^2, sinh' = cosh, cosh' = sinh,
    /// abs' = sign(a) (0 at a = 0, the middle of the subdifferential [-1, 1],
    /// so that a start at u = 0 has a finite Jacobian), sign' = 0 (its jump
    /// at 0 is not represented). sqrt' is +inf at a = 0, as is (a^p)' for
    /// p < 1 (see `Node::Pow`): training that meets them stops with the name
    /// of the term.
    /// erf' = 2/sqrt(pi) exp(-a^2), erfc' = -erf'; Bessel functions through
    /// the even entire functions f_n(a) = J_n(a)/a^n, f_n' = -a f_(n+1):
    /// J0' = -a f_1 (= -J1), J1' = J0 - f_1 (= J0 - J1/a, exact at a = 0),
    /// f_1' = -a f_2, f_2' = -a f_3, f_3' = -(6 f_3 - f_2)/a (the recurrence
    /// J4 = 6 J3/a - J2, so only a fourth derivative of J0 is 0/0 at a = 0);
    /// Y0' = -Y1, Y1' = Y0 - Y1/a (Y is singular at 0 anyway).
    pub fn function_derivative(&mut self, function: MathFn, arg: ExprId, value: ExprId) -> ExprId {
        match function {
            MathFn::Sin => self.call(MathFn::Cos, arg),
            MathFn::Cos => {
                let sin = self.call(MathFn::Sin, arg);
                self.neg(sin)
            }
            MathFn::Tan => {
                let one = self.num(1.0);
                let square = self.powi(value, 2);
                self.add(one, square)
            }
            MathFn::Exp => value,
            MathFn::Log => self.powi(arg, -1),
            MathFn::Sqrt => {
                let half = self.num(0.5);
                let reciprocal = self.powi(value, -1);
                self.mul(half, reciprocal)
            }
            MathFn::Tanh => {
                let one = self.num(1.0);
                let square = self.powi(value, 2);
                self.sub(one, square)
            }
            MathFn::Sinh => self.call(MathFn::Cosh, arg),
            MathFn::Cosh => self.call(MathFn::Sinh, arg),
            MathFn::Abs => self.call(MathFn::Sign, arg),
            MathFn::Sign => self.num(0.0),
            MathFn::Erf | MathFn::Erfc => {
                let sign = if function == MathFn::Erf { 1.0 } else { -1.0 };
                let coefficient = self.num(sign * 2.0 / std::f64::consts::PI.sqrt());
                let square = self.powi(arg, 2);
                let minus_square = self.neg(square);
                let gauss = self.call(MathFn::Exp, minus_square);
                self.mul(coefficient, gauss)
            }
            MathFn::BesselJ0 => {
                let j1 = self.call(MathFn::BesselJ1, arg);
                self.neg(j1)
            }
            MathFn::BesselJ1 => {
                let j0 = self.call(MathFn::BesselJ0, arg);
                let f1 = self.call(MathFn::BesselJ1Scaled, arg);
                self.sub(j0, f1)
            }
            MathFn::BesselJ1Scaled | MathFn::BesselJ2Scaled => {
                let next = if function == MathFn::BesselJ1Scaled {
                    MathFn::BesselJ2Scaled
                } else {
                    MathFn::BesselJ3Scaled
                };
                let f = self.call(next, arg);
                let product = self.mul(arg, f);
                self.neg(product)
            }
            MathFn::BesselJ3Scaled => {
                let six = self.num(6.0);
                let f3 = self.mul(six, value);
                let f2 = self.call(MathFn::BesselJ2Scaled, arg);
                let numerator = self.sub(f3, f2);
                let quotient = self.div(numerator, arg);
                self.neg(quotient)
            }
            MathFn::BesselY0 => {
                let y1 = self.call(MathFn::BesselY1, arg);
                self.neg(y1)
            }
            MathFn::BesselY1 => {
                let y0 = self.call(MathFn::BesselY0, arg);
                let quotient = self.div(value, arg);
                self.sub(y0, quotient)
            }
        }
    }

    /// act'(z) for an activation, expressed through the activation's own
    /// node `value` where possible so each neuron needs one transcendental:
    /// tanh' = 1 - tanh^2, sigmoid' = s (1 - s), gauss' = -2 z gauss(z),
    /// softplus' = sigmoid(z), sin' = cos(z), cos' = -sin(z).
    pub fn activation_derivative(
        &mut self,
        activation: Activation,
        arg: ExprId,
        value: ExprId,
    ) -> ExprId {
        match activation {
            Activation::Tanh => {
                let one = self.num(1.0);
                let square = self.powi(value, 2);
                self.sub(one, square)
            }
            Activation::Sin => self.act(Activation::Cos, arg),
            Activation::Cos => {
                let sin = self.act(Activation::Sin, arg);
                self.neg(sin)
            }
            Activation::Sigmoid => {
                let one = self.num(1.0);
                let complement = self.sub(one, value);
                self.mul(value, complement)
            }
            Activation::Gauss => {
                let minus_two = self.num(-2.0);
                self.mul_all(&[minus_two, arg, value])
            }
            Activation::Softplus => self.act(Activation::Sigmoid, arg),
        }
    }

    /// Replaces every field node reachable from `roots` by
    /// `replace(graph, field, derivative)` and rebuilds the expressions above
    /// it with the simplifying constructors; returns the new roots in order.
    ///
    /// Memoized over the DAG: each distinct field node is replaced once and
    /// shared subexpressions stay shared. Expressions returned by `replace`
    /// are used as they are (fields inside them are not substituted again).
    /// Errors from `replace` are passed through; the node limit is checked
    /// before each node.
    pub fn substitute_fields<E: From<SizeLimitExceeded>>(
        &mut self,
        roots: &[ExprId],
        replace: &mut FieldReplacement<'_, E>,
    ) -> Result<Vec<ExprId>, E> {
        self.rebuild_above(roots, |graph, _, node| match node {
            Node::Field { field, derivative } => replace(graph, *field, derivative).map(Some),
            _ => Ok(None),
        })
    }

    /// Replaces the node `target` by `replacement` in the expressions
    /// `roots` and rebuilds the expressions above it with the simplifying
    /// constructors (as [`Graph::substitute_fields`]); returns the new roots.
    pub fn substitute_node(
        &mut self,
        roots: &[ExprId],
        target: ExprId,
        replacement: ExprId,
    ) -> Result<Vec<ExprId>, SizeLimitExceeded> {
        self.rebuild_above(roots, |_, id, _| Ok((id == target).then_some(replacement)))
    }

    /// The walk under [`Graph::substitute_fields`] and
    /// [`Graph::substitute_node`]: every node reachable from `roots`, in
    /// dependency order, becomes `leaf(graph, id, node)` when that is
    /// `Some`, and otherwise is rebuilt through the simplifying
    /// constructors if one of its operands changed. Memoized over the DAG;
    /// the node limit is checked before each node.
    fn rebuild_above<E: From<SizeLimitExceeded>>(
        &mut self,
        roots: &[ExprId],
        mut leaf: impl FnMut(&mut Graph, ExprId, &Node) -> Result<Option<ExprId>, E>,
    ) -> Result<Vec<ExprId>, E> {
        let order = self.reachable_in_order(roots, |id| self.is_constant(id));
        let mut image: HashMap<ExprId, ExprId> = HashMap::with_capacity(order.len());
        for id in order {
            self.check_size()?;
            let node = self.node(id).clone();
            let new = match leaf(self, id, &node)? {
                Some(new) => new,
                None => {
                    let mut changed = false;
                    node.for_each_child(|child| changed |= image.contains_key(&child));
                    if changed {
                        self.rebuild(&node, &image)
                    } else {
                        id
                    }
                }
            };
            if new != id {
                image.insert(id, new);
            }
        }
        Ok(roots
            .iter()
            .map(|root| image.get(root).copied().unwrap_or(*root))
            .collect())
    }

    /// Rebuilds `node` with each operand replaced by its image (operands
    /// without an image are kept), through the simplifying constructors.
    fn rebuild(&mut self, node: &Node, image: &HashMap<ExprId, ExprId>) -> ExprId {
        let map = |id: ExprId| image.get(&id).copied().unwrap_or(id);
        match node {
            Node::Add(ops) => {
                let ops: Vec<ExprId> = ops.iter().map(|&op| map(op)).collect();
                self.add_all(&ops)
            }
            Node::Mul(ops) => {
                let ops: Vec<ExprId> = ops.iter().map(|&op| map(op)).collect();
                self.mul_all(&ops)
            }
            &Node::Pow(base, exponent) => self.pow(map(base), map(exponent)),
            &Node::Call(function, arg) => self.call(function, map(arg)),
            &Node::Act(activation, arg) => self.act(activation, map(arg)),
            Node::Num(_) | Node::Symbol(_) | Node::Field { .. } => self.intern(node.clone()),
        }
    }
}
