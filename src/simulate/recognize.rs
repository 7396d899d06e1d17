//! Recognising `u_t = -(D^m)^* Phi(D^m u)` in a checked problem.
//!
//! The equation's residual `lhs - rhs` is split into a sum of terms
//! `c * leaf` (through `+`, `-`, negation and multiplication or division by
//! constants). Every leaf must be one of
//! - `u_t` (the time derivative, constant coefficient),
//! - `u_xx` (m = 1, Phi(s) = s) or `u_xxxx` (m = 2, Phi(s) = s),
//! - `d(E, x)` with E a function of `u_x` alone (m = 1),
//! - `d(d(E, x), x)` with E a function of `u_xx` alone (m = 2).
//!
//! With `a` the coefficient of `u_t`, the equation is
//! `u_t = (-1)^(m+1) d^m/dx^m Phi(d^m u / dx^m)` with
//! `Phi(s) = sum_i (-1)^m (c_i / a) E_i(s)`: the continuous form of
//! `u_t = -(D^m)^* Phi(D^m u)` (the adjoint of d/dx is -d/dx).

use crate::check::{fmt_num, Expr, ExprPrinter, Op, Spec};
use crate::diag::{Diagnostic, Span};
use crate::symbolic::{Evaluator, ExprId, Graph, SymbolId};

/// The recognised equation: its order and flux function.
#[derive(Clone, Debug)]
pub struct Diffusion {
    /// m: 1 (second-order equation) or 2 (fourth-order equation).
    pub order: usize,
    /// The graph holding `flux` and `diffusivity`, over the symbol `s`.
    pub graph: Graph,
    pub s: SymbolId,
    /// Phi(s).
    pub flux: ExprId,
    /// Phi(s)/s, simplified (s cancels when Phi has a factor s).
    pub diffusivity: ExprId,
    /// `Some(c)` when Phi(s) = c s (the linear equation).
    pub linear: Option<f64>,
    /// Whether Phi(s)/s has a finite value at s = 0 as written.
    pub diffusivity_defined_at_zero: bool,
    /// L = sup Phi(s)/s.
    pub slope: Slope,
}

/// The bound L = sup_s Phi(s)/s and how it was found.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Slope {
    pub sup: f64,
    /// Where the supremum was attained (0 for a linear flux).
    pub at: f64,
    /// True when Phi(s)/s is a constant (the bound is exact); otherwise
    /// the bound is the largest of Phi(s)/s sampled at s = 0 and at
    /// 100 points per decade over 1e-12 <= |s| <= 1e12, refined by a
    /// golden-section search around the largest sample.
    pub exact: bool,
}

impl Diffusion {
    /// Phi(s) as text.
    pub fn flux_text(&self) -> String {
        self.graph.display(self.flux)
    }

    /// Phi(s)/s as text.
    pub fn diffusivity_text(&self) -> String {
        self.graph.display(self.diffusivity)
    }

    /// Phi at one value (reference evaluation).
    pub fn eval_flux(&self, s: f64) -> f64 {
        let sym = self.s;
        self.graph.eval(
            &[self.flux],
            &|x| if x == sym { s } else { f64::NAN },
            &|_, _| f64::NAN,
        )[0]
    }

    /// Where Phi stops being monotone: the smallest sampled |s| (at the
    /// points L is sampled on) from which Phi decreases, or `None` if Phi
    /// is non-decreasing on the samples. Perona-Malik's Phi decreases
    /// from |s| = lambda: it is non-monotone, which the schemes allow
    /// (only 0 <= Phi(s)/s <= L matters).
    pub fn decreasing_from(&self) -> Option<f64> {
        let magnitudes: Vec<f64> = sample_points().filter(|&s| s > 0.0).collect();
        let mut first: Option<f64> = None;
        for sign in [1.0, -1.0] {
            let mut last = self.eval_flux(0.0);
            for &m in &magnitudes {
                let v = self.eval_flux(sign * m);
                if !v.is_finite() {
                    break;
                }
                // Non-decreasing in s: for s < 0 the values fall as |s| grows.
                let fell = if sign > 0.0 { v < last } else { v > last };
                if fell && (v - last).abs() > 1e-12 * v.abs().max(last.abs()) {
                    first = Some(first.map_or(m, |f: f64| f.min(m)));
                    break;
                }
                last = v;
            }
        }
        first
    }
}

/// One term `coef * leaf` of a residual.
struct Term<'e> {
    coef: f64,
    leaf: &'e Expr,
}

/// Splits `e` into terms through sums, negation and constant factors.
fn terms<'e>(e: &'e Expr, coef: f64, out: &mut Vec<Term<'e>>) {
    match e {
        Expr::Neg(a) => terms(a, -coef, out),
        Expr::Binary(Op::Add, a, b) => {
            terms(a, coef, out);
            terms(b, coef, out);
        }
        Expr::Binary(Op::Sub, a, b) => {
            terms(a, coef, out);
            terms(b, -coef, out);
        }
        Expr::Binary(Op::Mul, a, b) => {
            if let Some(c) = a.eval_constant().filter(|c| c.is_finite()) {
                terms(b, coef * c, out)
            } else if let Some(c) = b.eval_constant().filter(|c| c.is_finite()) {
                terms(a, coef * c, out)
            } else {
                out.push(Term { coef, leaf: e })
            }
        }
        Expr::Binary(Op::Div, a, b) => {
            match b.eval_constant().filter(|c| c.is_finite() && *c != 0.0) {
                Some(c) => terms(a, coef / c, out),
                None => out.push(Term { coef, leaf: e }),
            }
        }
        // `... = 0`: a zero term contributes nothing.
        _ if e.eval_constant() == Some(0.0) || coef == 0.0 => {}
        _ => out.push(Term { coef, leaf: e }),
    }
}

/// Splits a residual into terms (public for the condition readers).
pub(crate) fn split(e: &Expr) -> Vec<(f64, &Expr)> {
    let mut out = Vec::new();
    terms(e, 1.0, &mut out);
    out.into_iter().map(|t| (t.coef, t.leaf)).collect()
}

/// The expected form, for messages.
const FORM: &str = "simulate needs `u_t = d(Phi(u_x), x)` (second order, m = 1) or \
                    `u_t = -d(d(Phi(u_xx), x), x)` (fourth order, m = 2); linear terms may \
                    be written `u_xx` and `-u_xxxx`";

/// Recognises the structure of `spec`'s single equation.
pub fn recognise(spec: &Spec) -> Result<Diffusion, Vec<Diagnostic>> {
    let whole = spec.equations.first().map_or(Span::new(0, 0), |e| e.span);
    let fail = |code, message: String, span: Span, note: &str| {
        Err(vec![Diagnostic::error(code, message, span)
            .with_label_message("here")
            .with_note(note.to_string())])
    };
    let Some(time) = spec.time() else {
        return fail(
            "E0701",
            "simulate needs a time-dependent problem (a `time` statement)".into(),
            whole,
            FORM,
        );
    };
    if spec.space_dims != 1 {
        return fail(
            "E0701",
            format!(
                "simulate supports one space dimension; this problem has {}",
                spec.space_dims
            ),
            spec.coordinates[1].span,
            FORM,
        );
    }
    if spec.unknowns.len() != 1 {
        return fail(
            "E0701",
            format!(
                "simulate supports one unknown; this problem has {}",
                spec.unknowns.len()
            ),
            spec.unknowns[1].span,
            FORM,
        );
    }
    if spec.equations.len() != 1 {
        return fail(
            "E0701",
            format!(
                "simulate needs exactly one equation; this problem has {}",
                spec.equations.len()
            ),
            spec.equations.get(1).map_or(whole, |e| e.span),
            FORM,
        );
    }
    let equation = &spec.equations[0];
    let residual = equation.residual();
    let printer = ExprPrinter::new(spec);
    let space = 0usize;
    let mut time_coef = 0.0;
    let mut fluxes: Vec<(usize, f64, Expr)> = Vec::new();
    for (coef, leaf) in split(&residual) {
        let mismatch = |what: &str| {
            fail(
                "E0701",
                format!("the term `{}` {what}", printer.print(leaf)),
                equation.span,
                FORM,
            )
        };
        match leaf {
            Expr::Field { derivative, .. } => {
                let (k, t) = (derivative[space], derivative[time]);
                match (k, t) {
                    (0, 1) => time_coef += coef,
                    (2, 0) | (4, 0) => {
                        let m = k as usize / 2;
                        let mut d = vec![0u8; derivative.len()];
                        d[space] = m as u8;
                        fluxes.push((
                            m,
                            coef,
                            Expr::Field {
                                unknown: 0,
                                derivative: d,
                            },
                        ));
                    }
                    _ => {
                        return mismatch(
                            "is not a time derivative `u_t` nor a derivative of a flux",
                        )
                    }
                }
            }
            Expr::Derivative(inner, c) if *c == space => match inner.as_ref() {
                Expr::Derivative(inner2, c2) if *c2 == space => {
                    fluxes.push((2, coef, inner2.as_ref().clone()))
                }
                Expr::Derivative(..) => return mismatch("differentiates in time"),
                other => fluxes.push((1, coef, other.clone())),
            },
            Expr::Derivative(..) => return mismatch("differentiates in time"),
            other if !other.has_unknowns() => {
                return mismatch("is a source term; simulate needs an equation without sources")
            }
            _ => return mismatch("is not a time derivative `u_t` nor a derivative of a flux"),
        }
    }
    if time_coef == 0.0 {
        return fail(
            "E0701",
            "the equation has no time derivative `u_t`".into(),
            equation.span,
            FORM,
        );
    }
    let Some(&(order, ..)) = fluxes.first() else {
        return fail(
            "E0701",
            "the equation has no flux term (`u_xx`, `d(Phi(u_x), x)`, ...)".into(),
            equation.span,
            FORM,
        );
    };
    if let Some((other, ..)) = fluxes.iter().find(|f| f.0 != order) {
        return fail(
            "E0701",
            format!("the equation mixes a flux of order m = {order} with one of order m = {other}"),
            equation.span,
            FORM,
        );
    }
    let mut graph = Graph::new();
    let s = graph
        .parameter("s")
        .unwrap_or_else(|_| unreachable!("a fresh graph has no symbols"));
    let sign = if order == 1 { -1.0 } else { 1.0 };
    let mut parts = Vec::new();
    for (_, coef, inner) in &fluxes {
        let argument = {
            let mut d = vec![0u8; spec.coordinates.len()];
            d[space] = order as u8;
            printer.field_name(0, &d)
        };
        if let Some(problem) = flux_problem(inner, space, order) {
            return fail(
                "E0701",
                format!(
                    "the flux `{}` {problem}; it must be a function of `{argument}` alone",
                    printer.print(inner)
                ),
                equation.span,
                FORM,
            );
        }
        let e = to_graph(inner, &mut graph, s);
        let c = graph.num(sign * coef / time_coef);
        parts.push(graph.mul(c, e));
    }
    let flux = graph.add_all(&parts);
    let s_node = graph.symbol(s);
    let diffusivity = graph.div(flux, s_node);
    let linear = graph.number(diffusivity);
    let mut evaluator = Evaluator::new(&graph, &[flux, diffusivity]);
    let mut g = |x: f64| -> (f64, f64) {
        let v = evaluator.eval(&|_| x, &|_, _| f64::NAN);
        (v[0], v[1])
    };
    let at_zero = g(0.0).1;
    let diffusivity_defined_at_zero = at_zero.is_finite();
    let slope = match linear {
        Some(c) => Slope {
            sup: c,
            at: 0.0,
            exact: true,
        },
        None => sampled_slope(&mut |x| {
            let (phi, ratio) = g(x);
            if x == 0.0 {
                ratio
            } else if ratio.is_finite() {
                ratio
            } else {
                phi / x
            }
        }),
    };
    // Phi(s)/s must be >= 0 (and finite) wherever it was sampled.
    let mut worst: Option<(f64, f64)> = None;
    for x in sample_points() {
        let (phi, ratio) = g(x);
        let r = if x == 0.0 && !ratio.is_finite() {
            continue;
        } else if ratio.is_finite() {
            ratio
        } else {
            phi / x
        };
        if !r.is_finite() || r < 0.0 {
            worst = Some((x, r));
            break;
        }
    }
    if let Some((x, r)) = worst {
        return Err(vec![Diagnostic::error(
            "E0703",
            format!(
                "the flux Phi(s) = {} has Phi(s)/s = {} at s = {}; the schemes need 0 <= Phi(s)/s",
                graph.display(flux),
                fmt_num(r),
                fmt_num(x)
            ),
            equation.span,
        )
        .with_label_message("the flux of this equation")
        .with_note(
            "Phi may be non-monotone (Perona-Malik's is), but it must not point uphill: \
             Phi(s) has the sign of s",
        )]);
    }
    if !(slope.sup.is_finite() && slope.sup > 0.0) {
        return Err(vec![Diagnostic::error(
            "E0703",
            format!(
                "the flux Phi(s) = {} has sup Phi(s)/s = {}; the step bound needs a finite positive value",
                graph.display(flux),
                fmt_num(slope.sup)
            ),
            equation.span,
        )
        .with_label_message("the flux of this equation")]);
    }
    Ok(Diffusion {
        order,
        graph,
        s,
        flux,
        diffusivity,
        linear,
        diffusivity_defined_at_zero,
        slope,
    })
}

/// Why `e` is not a function of d^m u alone, if it is not.
fn flux_problem(e: &Expr, space: usize, order: usize) -> Option<String> {
    let mut problem = None;
    e.visit(&mut |node| {
        if problem.is_some() {
            return;
        }
        match node {
            Expr::Coordinate(_) => {
                problem = Some("depends on a coordinate".to_string());
            }
            Expr::Derivative(..) => {
                problem = Some("differentiates a compound expression".to_string());
            }
            Expr::Field { derivative, .. } => {
                let ok = derivative.iter().enumerate().all(|(j, &d)| {
                    if j == space {
                        d as usize == order
                    } else {
                        d == 0
                    }
                });
                if !ok {
                    problem = Some("involves another derivative of the unknown".to_string());
                }
            }
            _ => {}
        }
    });
    if problem.is_none() && !e.has_unknowns() {
        problem = Some("does not involve the unknown".to_string());
    }
    problem
}

/// Converts a flux expression into the graph, the field d^m u becoming `s`.
fn to_graph(e: &Expr, graph: &mut Graph, s: SymbolId) -> ExprId {
    match e {
        Expr::Number(v) | Expr::Constant(_, v) => graph.num(*v),
        Expr::Field { .. } | Expr::Coordinate(_) | Expr::Derivative(..) => graph.symbol(s),
        Expr::Neg(a) => {
            let a = to_graph(a, graph, s);
            graph.neg(a)
        }
        Expr::Binary(op, a, b) => {
            let (a, b) = (to_graph(a, graph, s), to_graph(b, graph, s));
            match op {
                Op::Add => graph.add(a, b),
                Op::Sub => graph.sub(a, b),
                Op::Mul => graph.mul(a, b),
                Op::Div => graph.div(a, b),
                Op::Pow => graph.pow(a, b),
            }
        }
        Expr::Call(f, a) => {
            let a = to_graph(a, graph, s);
            graph.call(*f, a)
        }
    }
}

/// s = 0 and 100 points per decade over 1e-12 <= |s| <= 1e12, both signs.
fn sample_points() -> impl Iterator<Item = f64> {
    let magnitudes = (0..=2400).map(|k| 10f64.powf(-12.0 + k as f64 / 100.0));
    std::iter::once(0.0).chain(magnitudes.flat_map(|m| [m, -m]))
}

/// The largest sample of `ratio`, refined by golden-section search between
/// the neighbouring samples.
fn sampled_slope(ratio: &mut dyn FnMut(f64) -> f64) -> Slope {
    let points: Vec<f64> = sample_points().collect();
    let mut best = (f64::NEG_INFINITY, 0.0);
    for &x in &points {
        let r = ratio(x);
        if r.is_finite() && r > best.0 {
            best = (r, x);
        }
    }
    if best.1 != 0.0 {
        // Bracket [x/10^0.01, x*10^0.01] (same sign).
        let step = 10f64.powf(0.01);
        let (mut a, mut b) = (best.1 / step, best.1 * step);
        let phi = (5f64.sqrt() - 1.0) / 2.0;
        for _ in 0..80 {
            let c = b - phi * (b - a);
            let d = a + phi * (b - a);
            if ratio(c) > ratio(d) {
                b = d;
            } else {
                a = c;
            }
        }
        let x = (a + b) / 2.0;
        let r = ratio(x);
        if r.is_finite() && r > best.0 {
            best = (r, x);
        }
    }
    Slope {
        sup: best.0,
        at: best.1,
        exact: false,
    }
}
