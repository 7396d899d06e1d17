//! The simplifying constructors: the only way `Add`, `Mul`, `Pow`, `Call`
//! and `Act` nodes are created, so every such node is in the canonical form
//! documented on [`Node`].
//!
//! Rules (all exact for every real input where the original expression is
//! defined, except at isolated points such as `x = 0` in `x^2 * x^-1 = x`):
//! - constant folding of `+ * ^`, functions and activations, only when the
//!   inputs and the result are finite (so `0/0`, `log(-1)`, `1/0` and
//!   overflows stay unfolded and evaluate to NaN/inf exactly as IEEE says);
//! - `x + 0 = x`, `0 * x = 0`, `1 * x = x`, `x^1 = x`, `x^0 = 1`, `1^x = 1`;
//! - flattening of nested sums and products, canonical operand order;
//! - collection of numeric factors (`2*(3*x) = 6*x`) and like terms
//!   (`x + x = 2*x`, `3*x - x = 2*x`, `x - x = 0`);
//! - merging powers of one base with numeric exponents (`x*x = x^2`,
//!   `x^2 * x^-1 = x`) when the exponents are integers or the merged
//!   exponent is not an integer (`x^0.5 * x^0.5` stays: it is NaN for x < 0);
//! - `(a^b)^n = a^(b*n)` for integer `n` when `b` is an integer or `b*n` is
//!   not (`(x^2)^0.5` stays: it is `|x|`);
//! - `(a*b)^n = a^n * b^n` for integer `n`;
//! - `log(exp(x)) = x` and `abs(abs(x)) = abs(x)`.
//!
//! Deliberately absent: `exp(log x) = x` (wrong for x <= 0), `sqrt(x^2) = x`
//! (it is |x|), expansion of products of sums, trigonometric identities.
//! Identities that could differ at non-finite values (`0*K`, `K - K`,
//! `K * K^-1`) are not applied to variable-free expressions `K` that could
//! not be folded (those are exactly the non-finite ones). Sums of constants
//! are computed in a fixed (sorted) order so the canonical form does not
//! depend on the order operands were given.

use super::graph::{ExprId, Graph, Node};
use crate::math::{Activation, MathFn};

/// True for a finite `v` without fractional part.
fn is_integer(v: f64) -> bool {
    v.is_finite() && v.fract() == 0.0
}

impl Graph {
    /// The constant `value`, with `-0.0` stored as `0.0`. Non-finite values
    /// are stored as given (the checker rejects them in user input); they are
    /// never folded with other constants.
    pub fn num(&mut self, value: f64) -> ExprId {
        let value = if value == 0.0 { 0.0 } else { value };
        self.intern(Node::Num(value.to_bits()))
    }

    /// The value of `id` if it is a finite numeric constant.
    pub(super) fn finite_number(&self, id: ExprId) -> Option<f64> {
        self.number(id).filter(|v| v.is_finite())
    }

    /// True if `id` is the constant 0.
    pub(super) fn is_zero(&self, id: ExprId) -> bool {
        self.number(id) == Some(0.0)
    }

    /// `a + b`.
    pub fn add(&mut self, a: ExprId, b: ExprId) -> ExprId {
        self.add_all(&[a, b])
    }

    /// `a - b`, stored as `a + (-1)*b`.
    pub fn sub(&mut self, a: ExprId, b: ExprId) -> ExprId {
        let minus_b = self.neg(b);
        self.add(a, minus_b)
    }

    /// `-a`, stored as `(-1)*a`.
    pub fn neg(&mut self, a: ExprId) -> ExprId {
        let minus_one = self.num(-1.0);
        self.mul(minus_one, a)
    }

    /// `a * b`.
    pub fn mul(&mut self, a: ExprId, b: ExprId) -> ExprId {
        self.mul_all(&[a, b])
    }

    /// `a / b`, stored as `a * b^(-1)`.
    pub fn div(&mut self, a: ExprId, b: ExprId) -> ExprId {
        let reciprocal = self.powi(b, -1);
        self.mul(a, reciprocal)
    }

    /// `a ^ n` for an integer `n`.
    pub fn powi(&mut self, a: ExprId, n: i32) -> ExprId {
        let exponent = self.num(f64::from(n));
        self.pow(a, exponent)
    }

    /// The sum of `terms` (0 for none), in canonical form: nested sums
    /// flattened, numeric terms folded into one constant stored first, like
    /// terms `c1*t + c2*t` collected into `(c1 + c2)*t` (dropped if 0), the
    /// remaining terms sorted by id.
    pub fn add_all(&mut self, terms: &[ExprId]) -> ExprId {
        let mut numbers = Vec::new();
        let mut weighted = Vec::new(); // (term without coefficient, coefficient)
        for &term in terms {
            let operands: Vec<ExprId> = match self.node(term) {
                Node::Add(ops) => ops.to_vec(),
                _ => vec![term],
            };
            for op in operands {
                match self.number(op) {
                    Some(v) => numbers.push(v),
                    None => weighted.push(self.split_coefficient(op)),
                }
            }
        }
        numbers.sort_by(f64::total_cmp);
        let constant_sum: f64 = numbers.iter().sum();
        let mut constant = None;
        if constant_sum.is_finite() {
            if constant_sum != 0.0 {
                constant = Some(self.num(constant_sum));
            }
        } else {
            // Overflow or non-finite inputs: keep every number as a term.
            for v in numbers {
                let n = self.num(v);
                weighted.push((n, 1.0));
            }
        }

        weighted.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)));
        let mut collected: Vec<(ExprId, f64)> = Vec::with_capacity(weighted.len());
        for (rest, coefficient) in weighted {
            if let Some(last) = collected.last_mut() {
                let merged = last.1 + coefficient;
                if last.0 == rest && !self.is_constant(rest) && merged.is_finite() {
                    last.1 = merged;
                    continue;
                }
            }
            collected.push((rest, coefficient));
        }

        let mut operands = Vec::with_capacity(collected.len() + 1);
        for (rest, coefficient) in collected {
            // (`0*K` with a non-finite constant K is NaN and must stay.)
            if coefficient == 0.0 && !self.is_constant(rest) {
                continue;
            }
            let term = if coefficient == 1.0 {
                rest
            } else {
                let c = self.num(coefficient);
                self.mul(c, rest)
            };
            operands.push(term);
        }
        operands.sort_unstable();
        if let Some(c) = constant {
            operands.insert(0, c);
        }
        match operands.as_slice() {
            [] => self.num(0.0),
            [single] => *single,
            _ => self.intern(Node::Add(operands.into())),
        }
    }

    /// Splits a term into (rest, numeric coefficient): `c*a*b` -> (`a*b`, c);
    /// anything else -> (term, 1).
    fn split_coefficient(&mut self, term: ExprId) -> (ExprId, f64) {
        let Node::Mul(ops) = self.node(term) else {
            return (term, 1.0);
        };
        let Some(coefficient) = ops.first().and_then(|&c| self.finite_number(c)) else {
            return (term, 1.0);
        };
        let rest: Vec<ExprId> = ops[1..].to_vec();
        match rest.as_slice() {
            [single] => (*single, coefficient),
            // A sub-list of a canonical product is itself canonical.
            _ => (self.intern(Node::Mul(rest.into())), coefficient),
        }
    }

    /// The product of `factors` (1 for none), in canonical form: nested
    /// products flattened, numeric factors folded into one coefficient stored
    /// first (`0*x = 0`), powers of one base merged (see the file header),
    /// the remaining factors sorted by id.
    pub fn mul_all(&mut self, factors: &[ExprId]) -> ExprId {
        let mut numbers = Vec::new();
        let mut powers = Vec::new(); // (base, numeric exponent)
        for &factor in factors {
            let operands: Vec<ExprId> = match self.node(factor) {
                Node::Mul(ops) => ops.to_vec(),
                _ => vec![factor],
            };
            for op in operands {
                match self.node(op) {
                    Node::Num(_) => numbers.push(op),
                    &Node::Pow(base, exponent) => match self.finite_number(exponent) {
                        Some(e) => powers.push((base, e)),
                        None => powers.push((op, 1.0)),
                    },
                    _ => powers.push((op, 1.0)),
                }
            }
        }
        let mut values: Vec<f64> = numbers.iter().filter_map(|&n| self.number(n)).collect();
        values.sort_by(f64::total_cmp);
        let product: f64 = values.iter().product();
        // `0 * K` is NaN, not 0, when K is a non-finite constant.
        let has_unfolded_constant = powers.iter().any(|&(base, _)| self.is_constant(base));
        let mut coefficient = 1.0;
        if product.is_finite() && !(product == 0.0 && has_unfolded_constant) {
            if product == 0.0 {
                return self.num(0.0);
            }
            coefficient = product;
        } else {
            powers.extend(numbers.iter().map(|&n| (n, 1.0)));
        }

        powers.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)));
        let mut operands = Vec::with_capacity(powers.len() + 1);
        let mut start = 0;
        while start < powers.len() {
            let base = powers[start].0;
            let end = start + powers[start..].iter().take_while(|p| p.0 == base).count();
            let exponents: Vec<f64> = powers[start..end].iter().map(|p| p.1).collect();
            let merged = if self.is_constant(base) {
                exponents
            } else {
                merge_exponents(&exponents)
            };
            for exponent in merged {
                if exponent == 0.0 {
                    continue;
                }
                let factor = if exponent == 1.0 {
                    base
                } else {
                    let e = self.num(exponent);
                    self.pow(base, e)
                };
                operands.push(factor);
            }
            start = end;
        }
        operands.sort_unstable();
        if coefficient != 1.0 {
            let c = self.num(coefficient);
            operands.insert(0, c);
        }
        match operands.as_slice() {
            [] => self.num(1.0),
            [single] => *single,
            _ => self.intern(Node::Mul(operands.into())),
        }
    }

    /// `base ^ exponent` with the rules: `x^0 = 1`, `x^1 = x`, `1^x = 1`,
    /// finite constant folding, `(a^b)^n = a^(b n)` and `(a*b)^n = a^n b^n`
    /// for integer `n` (see the file header for the exact conditions).
    pub fn pow(&mut self, base: ExprId, exponent: ExprId) -> ExprId {
        let base_value = self.number(base);
        let exponent_value = self.number(exponent);
        if exponent_value == Some(0.0) || base_value == Some(1.0) {
            return self.num(1.0);
        }
        if exponent_value == Some(1.0) {
            return base;
        }
        if let (Some(b), Some(e)) = (base_value, exponent_value) {
            let folded = b.powf(e);
            if b.is_finite() && e.is_finite() && folded.is_finite() {
                return self.num(folded);
            }
        }
        if let Some(n) = exponent_value.filter(|&n| is_integer(n)) {
            match self.node(base) {
                &Node::Pow(inner, inner_exponent) => {
                    if let Some(b) = self.finite_number(inner_exponent) {
                        let product = b * n;
                        if product.is_finite() && (is_integer(b) || !is_integer(product)) {
                            let e = self.num(product);
                            return self.pow(inner, e);
                        }
                    }
                }
                Node::Mul(ops) => {
                    let ops = ops.to_vec();
                    let parts: Vec<ExprId> = ops.iter().map(|&op| self.pow(op, exponent)).collect();
                    return self.mul_all(&parts);
                }
                _ => {}
            }
        }
        self.intern(Node::Pow(base, exponent))
    }

    /// `function(arg)`, folded when `arg` is a finite constant with a finite
    /// result; `log(exp(x)) = x`, `abs(abs(x)) = abs(x)`.
    pub fn call(&mut self, function: MathFn, arg: ExprId) -> ExprId {
        if let Some(a) = self.finite_number(arg) {
            let folded = function.eval(a);
            if folded.is_finite() {
                return self.num(folded);
            }
        }
        if !self.is_constant(arg) {
            match (function, self.node(arg)) {
                (MathFn::Log, &Node::Call(MathFn::Exp, inner)) => return inner,
                (MathFn::Abs, Node::Call(MathFn::Abs, _)) => return arg,
                (MathFn::Sign, Node::Call(MathFn::Sign, _)) => return arg,
                _ => {}
            }
        }
        self.intern(Node::Call(function, arg))
    }

    /// `activation(arg)`, folded when `arg` is a finite constant with a
    /// finite result.
    pub fn act(&mut self, activation: Activation, arg: ExprId) -> ExprId {
        if let Some(a) = self.finite_number(arg) {
            let folded = activation.eval(a);
            if folded.is_finite() {
                return self.num(folded);
            }
        }
        self.intern(Node::Act(activation, arg))
    }
}

/// Merges the numeric exponents of one (non-constant) base in a product.
///
/// For x > 0 any merge is exact. For x < 0 a non-integer power is NaN, so a
/// merge is valid only if it keeps that: all exponents integers, or the
/// merged exponent non-integer. Otherwise the integer exponents are merged
/// and the non-integer ones kept apart (`x^0.5 * x^0.5` stays as it is).
/// Exponents arrive sorted, so the sums do not depend on operand order.
fn merge_exponents(exponents: &[f64]) -> Vec<f64> {
    let total: f64 = exponents.iter().sum();
    if !total.is_finite() {
        return exponents.to_vec();
    }
    let all_integers = exponents.iter().all(|&e| is_integer(e));
    if all_integers || !is_integer(total) {
        return vec![total];
    }
    let integer_sum: f64 = exponents.iter().filter(|&&e| is_integer(e)).sum();
    let mut merged = vec![integer_sum];
    merged.extend(exponents.iter().filter(|&&e| !is_integer(e)));
    merged
}
