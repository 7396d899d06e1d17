//! The grid, the boundary treatment and the operator K with its norm.
//!
//! Values live in a padded vector `W` of `n + 2` entries, the grid values
//! at `W[1..=n]` and one ghost entry at each end.
//! - Reflecting (homogeneous Neumann) boundaries use a cell-centred grid,
//!   `x_i = lo + (i + 1/2) h`, `h = (hi - lo)/n`: the mirror images
//!   `W[0] = W[1]`, `W[n+1] = W[n]` lie across the walls.
//!   m = 1: K u = (u_{i+1} - u_i)/h on the n - 1 inner cell faces (zero flux
//!   through the walls); m = 2: K = the second difference with the mirror
//!   images, a symmetric n x n matrix.
//! - Dirichlet boundaries use a vertex grid, `x_i = lo + i h`,
//!   `h = (hi - lo)/(n - 1)`, whose end values are held at the data; the
//!   n - 2 inner values are free. m = 1: K = forward differences on the
//!   n - 1 edges; m = 2: second differences at the n - 2 inner nodes.
//!
//! ||K|| is exact: K^T K (m = 1) and K (m = 2, symmetric on the free
//! values) are the discrete Laplacians whose eigenvalues are
//! `(4/h^2) sin^2(pi k / (2q))`, k = 0..q-1 (reflecting, q free values) and
//! `(4/h^2) sin^2(pi k / (2(q+1)))`, k = 1..q (Dirichlet).

use crate::check::{ConditionKind, Expr, Op, Side, Spec};
use crate::diag::{Diagnostic, Span};

use super::recognize::split;

/// The boundary treatment (the same at both ends).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Boundary {
    /// Homogeneous Neumann: mirror images across the walls.
    Reflecting,
    /// u held at `lo` and `hi`.
    Dirichlet { lo: f64, hi: f64 },
}

impl Boundary {
    /// `reflecting` or `dirichlet`.
    pub fn name(&self) -> &'static str {
        match self {
            Boundary::Reflecting => "reflecting",
            Boundary::Dirichlet { .. } => "dirichlet",
        }
    }
}

/// The finite-difference operator K of order m on a grid with its boundary.
#[derive(Clone, Debug, PartialEq)]
pub struct Operator {
    /// m.
    pub order: usize,
    pub boundary: Boundary,
    /// Grid values n (including the two held ends under Dirichlet).
    pub n: usize,
    pub lo: f64,
    pub hi: f64,
    pub h: f64,
}

impl Operator {
    /// The operator for `n` grid values on `[lo, hi]`.
    pub fn new(order: usize, boundary: Boundary, n: usize, lo: f64, hi: f64) -> Operator {
        let h = match boundary {
            Boundary::Reflecting => (hi - lo) / n as f64,
            Boundary::Dirichlet { .. } => (hi - lo) / (n - 1) as f64,
        };
        Operator {
            order,
            boundary,
            n,
            lo,
            hi,
            h,
        }
    }

    /// The smallest grid the boundary allows.
    pub fn min_grid(boundary: Boundary) -> usize {
        match boundary {
            Boundary::Reflecting => 2,
            Boundary::Dirichlet { .. } => 3,
        }
    }

    /// The coordinate of grid value i (0-based).
    pub fn x(&self, i: usize) -> f64 {
        match self.boundary {
            Boundary::Reflecting => self.lo + (i as f64 + 0.5) * self.h,
            Boundary::Dirichlet { .. } => self.lo + i as f64 * self.h,
        }
    }

    /// The stencil of K (weights on consecutive values, including 1/h^m).
    pub fn stencil(&self) -> Vec<f64> {
        let h = self.h;
        match self.order {
            1 => vec![-1.0 / h, 1.0 / h],
            _ => {
                let c = 1.0 / (h * h);
                vec![c, -2.0 * c, c]
            }
        }
    }

    /// The stencil of K^T applied to fluxes F[p-1], F[p], (F[p+1]).
    pub fn adjoint_stencil(&self) -> Vec<f64> {
        let h = self.h;
        match self.order {
            1 => vec![1.0 / h, -1.0 / h],
            _ => {
                let c = 1.0 / (h * h);
                vec![c, -2.0 * c, c]
            }
        }
    }

    /// The padded rows p where K is evaluated: F[p] = Phi((K u)_p).
    /// K's stencil for row p starts at W[p - shift] ([`Operator::shift`]).
    pub fn flux_rows(&self) -> std::ops::Range<usize> {
        let n = self.n;
        match (self.order, self.boundary) {
            (1, _) => 1..n,
            (_, Boundary::Reflecting) => 1..n + 1,
            (_, Boundary::Dirichlet { .. }) => 2..n,
        }
    }

    /// How far K's stencil reaches before its row (0 for m = 1, 1 for m = 2).
    pub fn shift(&self) -> usize {
        self.order - 1
    }

    /// The padded positions p of the free values (updated by the schemes).
    pub fn free(&self) -> std::ops::Range<usize> {
        match self.boundary {
            Boundary::Reflecting => 1..self.n + 1,
            Boundary::Dirichlet { .. } => 2..self.n,
        }
    }

    /// Fills the ghost values of a padded state (mirror images; unused
    /// under Dirichlet, kept equal to the ends).
    pub fn fill_ghosts(&self, w: &mut [f64]) {
        let n = self.n;
        w[0] = w[1];
        w[n + 1] = w[n];
    }

    /// Fills the ghost fluxes F[0], F[n] (m = 1) or F[0], F[n+1] (m = 2):
    /// zero flux through the walls (m = 1), mirror images (m = 2,
    /// reflecting) or no row (m = 2, Dirichlet).
    pub fn fill_flux_ghosts(&self, f: &mut [f64]) {
        self.fill_flux_ghosts_in(f, 0);
    }

    /// [`Operator::fill_flux_ghosts`] on a window `f` of the fluxes that
    /// starts at padded position `base` (ghosts outside it are skipped; a
    /// mirrored ghost's source lies next to it, inside the window).
    pub fn fill_flux_ghosts_in(&self, f: &mut [f64], base: usize) {
        let n = self.n;
        let rules: [(usize, Option<usize>); 2] = match (self.order, self.boundary) {
            (1, _) => [(0, None), (n, None)],
            (_, Boundary::Reflecting) => [(0, Some(1)), (n + 1, Some(n))],
            (_, Boundary::Dirichlet { .. }) => [(1, None), (n, None)],
        };
        let len = f.len();
        let inside = |p: usize| p >= base && p - base < len;
        for (p, source) in rules {
            if inside(p) {
                f[p - base] = match source {
                    Some(q) if inside(q) => f[q - base],
                    Some(_) => continue,
                    None => 0.0,
                };
            }
        }
    }

    /// ||K||_2^2 on the free values (exact, see the module docs).
    pub fn norm_squared(&self) -> f64 {
        let q = self.free().len() as f64;
        let angle = match self.boundary {
            Boundary::Reflecting => std::f64::consts::PI * (q - 1.0) / (2.0 * q),
            Boundary::Dirichlet { .. } => std::f64::consts::PI * q / (2.0 * (q + 1.0)),
        };
        let laplacian = 4.0 / (self.h * self.h) * angle.sin().powi(2);
        match self.order {
            1 => laplacian,
            _ => laplacian * laplacian,
        }
    }

    /// The rows of K as (padded row, [(padded free position, weight)],
    /// [(padded held position, weight)]), mirror images folded in.
    pub fn rows(&self) -> Vec<(usize, Vec<(usize, f64)>, Vec<(usize, f64)>)> {
        let stencil = self.stencil();
        let free = self.free();
        let n = self.n;
        self.flux_rows()
            .map(|p| {
                let mut on_free: Vec<(usize, f64)> = Vec::new();
                let mut on_held: Vec<(usize, f64)> = Vec::new();
                for (j, &a) in stencil.iter().enumerate() {
                    let mut q = p + j - self.shift();
                    if self.boundary == Boundary::Reflecting {
                        if q == 0 {
                            q = 1;
                        } else if q == n + 1 {
                            q = n;
                        }
                    }
                    let target = if free.contains(&q) {
                        &mut on_free
                    } else {
                        &mut on_held
                    };
                    match target.iter_mut().find(|(c, _)| *c == q) {
                        Some(entry) => entry.1 += a,
                        None => target.push((q, a)),
                    }
                }
                on_free.retain(|&(_, a)| a != 0.0);
                (p, on_free, on_held)
            })
            .collect()
    }
}

/// The value of an expression of the coordinates at `coords` (`None` if it
/// involves an unknown).
pub fn eval_at(e: &Expr, coords: &[f64]) -> Option<f64> {
    Some(match e {
        Expr::Number(v) | Expr::Constant(_, v) => *v,
        Expr::Coordinate(c) => coords[*c],
        Expr::Field { .. } | Expr::Derivative(..) => return None,
        Expr::Neg(a) => -eval_at(a, coords)?,
        Expr::Call(f, a) => f.eval(eval_at(a, coords)?),
        Expr::Binary(op, a, b) => {
            let (a, b) = (eval_at(a, coords)?, eval_at(b, coords)?);
            match op {
                Op::Add => a + b,
                Op::Sub => a - b,
                Op::Mul => a * b,
                Op::Div => a / b,
                Op::Pow => a.powf(b),
            }
        }
    })
}

/// A condition read as `d^k u = value` (k derivatives in x): (k, value
/// expression as residual terms). `None` if it has another form.
fn condition_form(spec: &Spec, lhs: &Expr, rhs: &Expr) -> Option<(usize, Vec<(f64, Expr)>, f64)> {
    let residual = Expr::difference(lhs.clone(), rhs.clone());
    let mut field: Option<(usize, f64)> = None;
    let mut rest = Vec::new();
    for (coef, leaf) in split(&residual) {
        match leaf {
            Expr::Field { derivative, .. } => {
                let time = spec.time().map_or(0, |t| derivative[t]);
                if field.is_some() || time != 0 {
                    return None;
                }
                field = Some((derivative[0] as usize, coef));
            }
            other if !other.has_unknowns() => rest.push((coef, other.clone())),
            _ => return None,
        }
    }
    let (k, coef) = field?;
    Some((k, rest, coef))
}

/// Reads the boundary treatment from the `bc` statements: `u = g` (g
/// constant in time) at both ends is Dirichlet; `u_x = 0` (and for m = 2
/// also `u_xxx = 0`) is reflecting; for m = 2 under Dirichlet, `u_xx = 0`
/// states the condition the scheme imposes anyway. Ends without a
/// condition are reflecting.
pub fn boundary(spec: &Spec, order: usize) -> Result<Boundary, Vec<Diagnostic>> {
    let time = spec.time();
    let c = &spec.coordinates[0];
    let mut held: [Option<f64>; 2] = [None, None];
    let mut reflecting: [bool; 2] = [false, false];
    let mut last_span: [Option<Span>; 2] = [None, None];
    for cond in spec
        .conditions
        .iter()
        .filter(|c| c.kind == ConditionKind::Boundary)
    {
        let unsupported = |why: String| {
            vec![Diagnostic::error("E0702", why, cond.span)
                .with_label_message("this condition")
                .with_note(
                    "simulate reads `u = g` (Dirichlet, g constant in time) or `u_x = 0` \
                     (reflecting) at x = lo and x = hi",
                )]
        };
        let Some((k, rest, coef)) = condition_form(spec, &cond.lhs, &cond.rhs) else {
            return Err(unsupported(
                "simulate cannot use this boundary condition".into(),
            ));
        };
        for face in &cond.faces {
            if face.coordinate != 0 {
                return Err(unsupported("the condition is not on a spatial face".into()));
            }
            let side = match face.side {
                Side::Lo => 0,
                Side::Hi => 1,
            };
            let x = if side == 0 { c.lo } else { c.hi };
            let mut values = Vec::new();
            for t in [0.0, 0.37, 1.0] {
                let mut coords = vec![x; spec.coordinates.len()];
                if let Some(tc) = time {
                    let tcoord = &spec.coordinates[tc];
                    coords[tc] = tcoord.lo + t * (tcoord.hi - tcoord.lo);
                }
                let mut v = 0.0;
                for (a, e) in &rest {
                    v -= a * eval_at(e, &coords).unwrap_or(f64::NAN);
                }
                values.push(v / coef);
            }
            let value = values[0];
            if !values
                .iter()
                .all(|v| v.is_finite() && (v - value).abs() <= 1e-14 * (1.0 + value.abs()))
            {
                return Err(unsupported(
                    "the boundary value changes in time; simulate holds it fixed".into(),
                ));
            }
            match k {
                0 => held[side] = Some(value),
                1 | 3 if value == 0.0 => reflecting[side] = true,
                2 if order == 2 && value == 0.0 => {}
                _ => {
                    return Err(unsupported(format!(
                        "simulate cannot use a condition on the derivative of order {k} with value {value}"
                    )))
                }
            }
            last_span[side] = Some(cond.span);
        }
    }
    for side in 0..2 {
        if held[side].is_some() && reflecting[side] {
            return Err(vec![Diagnostic::error(
                "E0702",
                "an end has both a Dirichlet and a reflecting condition",
                last_span[side].unwrap_or(c.span),
            )
            .with_label_message("conflicting condition")]);
        }
    }
    match held {
        [Some(lo), Some(hi)] => Ok(Boundary::Dirichlet { lo, hi }),
        [None, None] => Ok(Boundary::Reflecting),
        _ => Err(vec![Diagnostic::error(
            "E0702",
            "simulate needs the same kind of condition at both ends (Dirichlet `u = g` or reflecting `u_x = 0`)",
            last_span[0].or(last_span[1]).unwrap_or(c.span),
        )
        .with_label_message("held at one end only")]),
    }
}

/// The initial values u0(x) from `initial u = f(x)`.
pub fn initial(spec: &Spec) -> Result<Expr, Vec<Diagnostic>> {
    let title_span = spec.equations.first().map_or(Span::new(0, 0), |e| e.span);
    let Some(cond) = spec
        .conditions
        .iter()
        .find(|c| c.kind == ConditionKind::Initial)
    else {
        return Err(vec![Diagnostic::error(
            "E0706",
            "simulate needs an initial condition `initial u = ...`",
            title_span,
        )
        .with_label_message("for this equation")]);
    };
    let wrong = || {
        vec![Diagnostic::error(
            "E0706",
            "simulate needs the initial condition as `initial u = f(x)`",
            cond.span,
        )
        .with_label_message("not of this form")]
    };
    let Some((k, rest, coef)) = condition_form(spec, &cond.lhs, &cond.rhs) else {
        return Err(wrong());
    };
    if k != 0 || rest.iter().any(|(_, e)| uses_time(spec, e)) {
        return Err(wrong());
    }
    // u0 = -(sum of the other terms)/coef
    let mut value = Expr::Number(0.0);
    for (a, e) in rest {
        value = Expr::Binary(
            Op::Sub,
            Box::new(value),
            Box::new(Expr::Binary(
                Op::Mul,
                Box::new(Expr::Number(a / coef)),
                Box::new(e),
            )),
        );
    }
    Ok(value)
}

fn uses_time(spec: &Spec, e: &Expr) -> bool {
    let Some(t) = spec.time() else { return false };
    let mut found = false;
    e.visit(&mut |n| found |= matches!(n, Expr::Coordinate(c) if *c == t));
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    /// ||K||^2 from the closed form against the largest eigenvalue of
    /// K^T K computed densely (nalgebra), K assembled from its rows.
    #[test]
    fn norm_of_k_is_exact() {
        for order in [1, 2] {
            for boundary in [
                Boundary::Reflecting,
                Boundary::Dirichlet { lo: 0.0, hi: 0.0 },
            ] {
                for n in [5, 12, 33] {
                    let op = Operator::new(order, boundary, n, 0.0, 2.0);
                    let free = op.free();
                    let rows = op.rows();
                    let k = nalgebra::DMatrix::from_fn(rows.len(), free.len(), |r, c| {
                        rows[r]
                            .1
                            .iter()
                            .find(|(p, _)| *p == free.start + c)
                            .map_or(0.0, |e| e.1)
                    });
                    let ktk = k.transpose() * &k;
                    let largest = ktk
                        .symmetric_eigen()
                        .eigenvalues
                        .iter()
                        .copied()
                        .fold(0.0, f64::max);
                    let exact = op.norm_squared();
                    assert!(
                        (largest - exact).abs() <= 1e-10 * exact,
                        "m = {order}, {boundary:?}, n = {n}: {largest} vs {exact}"
                    );
                }
            }
        }
    }
}
