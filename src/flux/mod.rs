//! Stage 2b, flux: rewrites a checked problem as a first-order system
//! (`formulation flux`). [`Spec`] in, [`Spec`] out; the later stages see
//! only additional unknowns and equations.
//!
//! Two kinds of new unknowns, each defined by one new equation:
//! - the derivative d^α u of an unknown u, |α| >= 1, named `qu_<letters>`
//!   (`qu_x`, `qu_xx`, ...) and defined by `qu_x = u_x` for |α| = 1 and
//!   `qu_<α> = d(qu_<α - e_j>, x_j)` otherwise (j the last coordinate of α).
//!   A field d^β u of order |β| >= 2 becomes `d(qu_<β - e_j>, x_j)`, so
//!   `u_xxxx = f` becomes `qu_x = u_x, qu_xx = d(qu_x, x),
//!   qu_xxx = d(qu_xx, x), d(qu_xxx, x) = f` and `lap(u)` becomes
//!   `d(qu_x, x) + d(qu_y, y)` with `qu_x = u_x`, `qu_y = u_y`;
//! - the flux E of a derivative `d(E, x_j)` of an expression of order 1,
//!   named `fu_<letters>` after the highest derivative d^α u in E and
//!   defined by `fu_<α> = E`: `-d(k*u_x, x)` becomes `-d(fu_x, x)` with
//!   `fu_x = k*u_x` (q = k grad u, -div q = f).
//!
//! A name already taken gets a number (`qu_x2`). Conditions are rewritten
//! in the new unknowns: a derivative d^β u that has an unknown `qu_<β>`
//! becomes that unknown (a Neumann condition `u_x = g` becomes the flux
//! condition `qu_x = g`). Exact solutions of the new unknowns are the
//! derivatives of the given ones (`Expr::Derivative`, differentiated by
//! the symbolic stage), so the exact-solution check and the error report
//! cover every unknown. A derivative of order >= 2 that enters a residual
//! nonlinearly (inside a function, a product or quotient with another
//! unknown, a power) cannot be rewritten this way: error E0310.

use std::collections::{BTreeMap, HashSet};

use crate::check::{
    Equation, Expr, Formulation, Linearity, Op, Spec, Unknown, UnknownId, BUILTIN_NAMES,
};
use crate::diag::{Diagnostic, Span};
use crate::math::MathFn;

/// The problem in its formulation: unchanged for `primal`, rewritten as a
/// first-order system for `flux`. Returns the errors of what cannot be
/// rewritten (E0310) instead of a problem.
pub fn rewrite(spec: Spec) -> Result<Spec, Vec<Diagnostic>> {
    if spec.formulation == Formulation::Primal {
        return Ok(spec);
    }
    let mut diagnostics = Vec::new();
    for e in &spec.equations {
        nonlinear_high_order(&e.residual(), e.span, &mut diagnostics);
    }
    for c in &spec.conditions {
        nonlinear_high_order(&c.residual(), c.span, &mut diagnostics);
    }
    if !diagnostics.is_empty() {
        return Err(diagnostics);
    }
    let mut taken: HashSet<String> = spec
        .unknowns
        .iter()
        .map(|u| u.name.clone())
        .chain(spec.coordinates.iter().map(|c| c.name.clone()))
        .chain(spec.constants.iter().map(|(n, _)| n.clone()))
        .chain(BUILTIN_NAMES.iter().map(|n| n.to_string()))
        .collect();
    taken.extend(MathFn::ALL.iter().map(|f| f.name().to_string()));
    let mut r = Rewriter {
        letters: spec.coordinates.iter().map(|c| c.name.clone()).collect(),
        unknowns: spec.unknowns.clone(),
        exact: spec.exact.clone(),
        definitions: Vec::new(),
        plain: BTreeMap::new(),
        compound: Vec::new(),
        taken,
        span: Span::new(0, 0),
    };
    let mut out = spec.clone();
    for e in &mut out.equations {
        r.span = e.span;
        e.lhs = r.equation_expr(&e.lhs);
        e.rhs = r.equation_expr(&e.rhs);
    }
    for c in &mut out.conditions {
        r.span = c.span;
        c.lhs = r.condition_expr(&c.lhs);
        c.rhs = r.condition_expr(&c.rhs);
    }
    out.equations.extend(r.definitions);
    out.unknowns = r.unknowns;
    out.exact = r.exact;
    out.linearity = out
        .equations
        .iter()
        .map(|e| Linearity::of(&e.residual()))
        .chain(out.conditions.iter().map(|c| Linearity::of(&c.residual())))
        .max()
        .unwrap_or(Linearity::Linear);
    Ok(out)
}

/// Reports (E0310) each place where a derivative of order >= 2 enters
/// `e` nonlinearly.
fn nonlinear_high_order(e: &Expr, span: Span, out: &mut Vec<Diagnostic>) {
    let high = |a: &Expr| a.has_unknowns() && a.max_derivative_order() >= 2;
    let offending: Option<&Expr> = match e {
        Expr::Call(_, a) if high(a) => Some(e),
        Expr::Binary(Op::Mul, a, b)
            if (high(a) && b.has_unknowns()) || (high(b) && a.has_unknowns()) =>
        {
            Some(e)
        }
        Expr::Binary(Op::Div, a, b) if high(b) || (high(a) && b.has_unknowns()) => Some(e),
        Expr::Binary(Op::Pow, a, b)
            if high(b) || (high(a) && !matches!(b.eval_constant(), Some(v) if v == 1.0)) =>
        {
            Some(e)
        }
        _ => None,
    };
    if offending.is_some() {
        out.push(
            Diagnostic::error(
                "E0310",
                "`formulation flux` cannot rewrite a nonlinear function of a derivative of order 2 or more",
                span,
            )
            .with_label_message("a second or higher derivative enters this residual nonlinearly")
            .with_note(
                "the flux rewrite replaces each derivative level by a new unknown and needs the highest derivatives to appear linearly; use `formulation primal` for this problem",
            ),
        );
        return;
    }
    match e {
        Expr::Neg(a) | Expr::Call(_, a) | Expr::Derivative(a, _) => {
            nonlinear_high_order(a, span, out)
        }
        Expr::Binary(_, a, b) => {
            nonlinear_high_order(a, span, out);
            if out.is_empty() {
                nonlinear_high_order(b, span, out);
            }
        }
        _ => {}
    }
}

struct Rewriter {
    /// Coordinate names, for the new unknowns' names.
    letters: Vec<String>,
    unknowns: Vec<Unknown>,
    exact: Vec<Option<Expr>>,
    /// The equations that define the new unknowns, in creation order.
    definitions: Vec<Equation>,
    /// (unknown, multi-index) -> the unknown that equals that derivative.
    plain: BTreeMap<(UnknownId, Vec<u8>), UnknownId>,
    /// (flux expression, the unknown that equals it).
    compound: Vec<(Expr, UnknownId)>,
    taken: HashSet<String>,
    /// The span of the statement being rewritten (given to new unknowns
    /// and their equations).
    span: Span,
}

fn order(alpha: &[u8]) -> usize {
    alpha.iter().map(|&a| a as usize).sum()
}

fn unit(dims: usize, j: usize) -> Vec<u8> {
    let mut e = vec![0; dims];
    e[j] = 1;
    e
}

fn field(unknown: UnknownId, derivative: Vec<u8>) -> Expr {
    Expr::Field {
        unknown,
        derivative,
    }
}

impl Rewriter {
    fn dims(&self) -> usize {
        self.letters.len()
    }

    /// A fresh name `base`, or `base2`, `base3`, ... if taken.
    fn fresh(&mut self, base: String) -> String {
        let mut name = base.clone();
        let mut n = 2;
        while self.taken.contains(&name) {
            name = format!("{base}{n}");
            n += 1;
        }
        self.taken.insert(name.clone());
        name
    }

    fn suffix(&self, alpha: &[u8]) -> String {
        alpha
            .iter()
            .enumerate()
            .flat_map(|(c, &n)| std::iter::repeat_n(self.letters[c].as_str(), n as usize))
            .collect()
    }

    /// Adds unknown `name` with its defining equation `name = definition`
    /// and its exact solution.
    fn define(&mut self, name: String, definition: Expr, exact: Option<Expr>) -> UnknownId {
        let id = self.unknowns.len();
        self.unknowns.push(Unknown {
            name,
            span: self.span,
        });
        self.exact.push(exact);
        self.definitions.push(Equation {
            lhs: field(id, vec![0; self.dims()]),
            rhs: definition,
            weight: 1.0,
            span: self.span,
        });
        id
    }

    /// The unknown equal to d^alpha u (|alpha| >= 1), created on first use.
    fn plain(&mut self, u: UnknownId, alpha: &[u8]) -> UnknownId {
        if let Some(&v) = self.plain.get(&(u, alpha.to_vec())) {
            return v;
        }
        let definition = if order(alpha) == 1 {
            field(u, alpha.to_vec())
        } else {
            let j = last_coordinate(alpha);
            let mut lower = alpha.to_vec();
            lower[j] -= 1;
            let v = self.plain(u, &lower);
            field(v, unit(self.dims(), j))
        };
        let name = format!("q{}_{}", self.unknowns[u].name, self.suffix(alpha));
        let name = self.fresh(name);
        let exact = self.exact[u].clone().map(|e| derivative_of(e, alpha));
        let v = self.define(name, definition, exact);
        self.plain.insert((u, alpha.to_vec()), v);
        v
    }

    /// d^beta u with every derivative of order >= 2 replaced by a first
    /// derivative of a new unknown.
    fn high_field(&mut self, u: UnknownId, beta: &[u8]) -> Expr {
        if order(beta) <= 1 {
            return field(u, beta.to_vec());
        }
        let j = last_coordinate(beta);
        let mut lower = beta.to_vec();
        lower[j] -= 1;
        let v = self.plain(u, &lower);
        field(v, unit(self.dims(), j))
    }

    /// The unknown equal to the first-order expression `e`.
    fn compound(&mut self, e: Expr) -> UnknownId {
        if let Some((_, w)) = self.compound.iter().find(|(x, _)| *x == e) {
            return *w;
        }
        let (u, alpha) = leading_field(&e).unwrap_or((0, vec![0; self.dims()]));
        let name = format!("f{}_{}", self.unknowns[u].name, self.suffix(&alpha));
        let name = self.fresh(name);
        let exact = self.exact_of(&e);
        let w = self.define(name, e.clone(), exact);
        self.compound.push((e, w));
        w
    }

    /// `e` with every field replaced by the derivative of its exact
    /// solution (None if one is missing).
    fn exact_of(&self, e: &Expr) -> Option<Expr> {
        Some(match e {
            Expr::Number(_) | Expr::Constant(..) | Expr::Coordinate(_) => e.clone(),
            Expr::Field {
                unknown,
                derivative,
            } => derivative_of(self.exact[*unknown].clone()?, derivative),
            Expr::Neg(a) => Expr::Neg(Box::new(self.exact_of(a)?)),
            Expr::Call(f, a) => Expr::Call(*f, Box::new(self.exact_of(a)?)),
            Expr::Derivative(a, j) => Expr::Derivative(Box::new(self.exact_of(a)?), *j),
            Expr::Binary(op, a, b) => Expr::Binary(
                *op,
                Box::new(self.exact_of(a)?),
                Box::new(self.exact_of(b)?),
            ),
        })
    }

    /// An equation's side as a first-order expression.
    fn equation_expr(&mut self, e: &Expr) -> Expr {
        match e {
            Expr::Number(_) | Expr::Constant(..) | Expr::Coordinate(_) => e.clone(),
            Expr::Field {
                unknown,
                derivative,
            } => self.high_field(*unknown, derivative),
            Expr::Neg(a) => Expr::Neg(Box::new(self.equation_expr(a))),
            Expr::Call(f, a) => Expr::Call(*f, Box::new(self.equation_expr(a))),
            Expr::Binary(op, a, b) => Expr::Binary(
                *op,
                Box::new(self.equation_expr(a)),
                Box::new(self.equation_expr(b)),
            ),
            Expr::Derivative(a, j) => {
                let inner = self.equation_expr(a);
                if !inner.has_unknowns() || inner.max_derivative_order() == 0 {
                    return Expr::Derivative(Box::new(inner), *j);
                }
                if let Expr::Field {
                    unknown,
                    derivative,
                } = &inner
                {
                    let mut beta = derivative.clone();
                    beta[*j] += 1;
                    return self.high_field(*unknown, &beta);
                }
                let w = self.compound(inner);
                field(w, unit(self.dims(), *j))
            }
        }
    }

    /// A condition's side: derivatives that have an unknown become it,
    /// the rest as in equations.
    fn condition_expr(&mut self, e: &Expr) -> Expr {
        match e {
            Expr::Field {
                unknown,
                derivative,
            } if order(derivative) >= 1 => match self.plain.get(&(*unknown, derivative.clone())) {
                Some(&v) => field(v, vec![0; self.dims()]),
                None => self.high_field(*unknown, derivative),
            },
            Expr::Neg(a) => Expr::Neg(Box::new(self.condition_expr(a))),
            Expr::Call(f, a) => Expr::Call(*f, Box::new(self.condition_expr(a))),
            Expr::Binary(op, a, b) => Expr::Binary(
                *op,
                Box::new(self.condition_expr(a)),
                Box::new(self.condition_expr(b)),
            ),
            _ => self.equation_expr(e),
        }
    }
}

/// The last coordinate with a derivative in `alpha` (alpha != 0).
fn last_coordinate(alpha: &[u8]) -> usize {
    alpha.iter().rposition(|&a| a > 0).unwrap_or(0)
}

/// d^alpha e as nested `Expr::Derivative` nodes.
fn derivative_of(e: Expr, alpha: &[u8]) -> Expr {
    let mut out = e;
    for (j, &n) in alpha.iter().enumerate() {
        for _ in 0..n {
            out = Expr::Derivative(Box::new(out), j);
        }
    }
    out
}

/// The field of highest order in `e` (the first one found among equals).
fn leading_field(e: &Expr) -> Option<(UnknownId, Vec<u8>)> {
    let mut best: Option<(UnknownId, Vec<u8>)> = None;
    e.visit(&mut |n| {
        if let Expr::Field {
            unknown,
            derivative,
        } = n
        {
            if best
                .as_ref()
                .is_none_or(|(_, b)| order(derivative) > order(b))
            {
                best = Some((*unknown, derivative.clone()));
            }
        }
    });
    best
}
