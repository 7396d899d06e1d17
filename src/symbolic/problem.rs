//! The checked problem as expressions in one [`Graph`]: every equation and
//! condition residual `lhs - rhs` as a DAG root over coordinate symbols and
//! field nodes d^alpha u. Derivatives of compound expressions
//! (`d(u^2, x)`) are expanded here by the chain rule.
//!
//! This is the hand-off from `symbolic` to the lowering (which replaces the
//! fields by the ansatz) and to the exact-solution check (which replaces
//! them by derivatives of the exact solution).

use super::{ExprId, Graph, SizeLimitExceeded, SymbolId};
use crate::check::{Expr, Op, Spec};

/// Which statement a residual comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResidualSource {
    /// `spec.equations[i]`
    Equation(usize),
    /// `spec.conditions[i]`
    Condition(usize),
}

/// One residual: trained to zero on its own point set.
#[derive(Clone, Debug)]
pub struct Residual {
    pub source: ResidualSource,
    /// A short stable name: `equation0`, `bc1`, `initial0`, ...
    pub name: String,
    /// `lhs - rhs` (without the weight).
    pub expr: ExprId,
    /// The equation's or condition's weight (default 1).
    pub weight: f64,
}

/// All residuals of a problem in one graph.
#[derive(Clone, Debug)]
pub struct SymbolicProblem {
    pub graph: Graph,
    /// Coordinate symbols, indexed like `spec.coordinates`.
    pub coordinates: Vec<SymbolId>,
    /// Equations first, then conditions, in source order.
    pub residuals: Vec<Residual>,
    /// Exact solutions per unknown, if given.
    pub exact: Vec<Option<ExprId>>,
}

impl SymbolicProblem {
    /// Converts every expression of `spec` into the graph.
    pub fn new(spec: &Spec) -> Result<SymbolicProblem, SizeLimitExceeded> {
        let mut graph = Graph::new();
        let mut coordinates = Vec::new();
        for (j, c) in spec.coordinates.iter().enumerate() {
            // Coordinate names are unique and distinct from parameters here,
            // so interning cannot conflict.
            let symbol = graph
                .coordinate(j, &c.name)
                .unwrap_or_else(|_| unreachable!("coordinate names are unique"));
            coordinates.push(symbol);
        }
        for (u, unknown) in spec.unknowns.iter().enumerate() {
            graph.set_field_name(u as u32, &unknown.name);
        }
        let mut builder = Builder {
            graph: &mut graph,
            coordinates: &coordinates,
            dims: spec.coordinates.len(),
        };
        let mut residuals = Vec::new();
        for (i, e) in spec.equations.iter().enumerate() {
            let expr = builder.residual(&e.lhs, &e.rhs)?;
            residuals.push(Residual {
                source: ResidualSource::Equation(i),
                name: format!("equation{i}"),
                expr,
                weight: e.weight,
            });
        }
        for (i, c) in spec.conditions.iter().enumerate() {
            let expr = builder.residual(&c.lhs, &c.rhs)?;
            residuals.push(Residual {
                source: ResidualSource::Condition(i),
                name: c.name.clone(),
                expr,
                weight: c.weight,
            });
        }
        let exact = spec
            .exact
            .iter()
            .map(|e| e.as_ref().map(|e| builder.expr(e)).transpose())
            .collect::<Result<Vec<_>, _>>()?;
        Ok(SymbolicProblem {
            graph,
            coordinates,
            residuals,
            exact,
        })
    }
}

struct Builder<'a> {
    graph: &'a mut Graph,
    coordinates: &'a [SymbolId],
    dims: usize,
}

impl Builder<'_> {
    fn residual(&mut self, lhs: &Expr, rhs: &Expr) -> Result<ExprId, SizeLimitExceeded> {
        let (l, r) = (self.expr(lhs)?, self.expr(rhs)?);
        Ok(self.graph.sub(l, r))
    }

    fn expr(&mut self, e: &Expr) -> Result<ExprId, SizeLimitExceeded> {
        self.graph.check_size()?;
        Ok(match e {
            Expr::Number(v) | Expr::Constant(_, v) => self.graph.num(*v),
            Expr::Coordinate(c) => self.graph.symbol(self.coordinates[*c]),
            Expr::Field {
                unknown,
                derivative,
            } => {
                debug_assert_eq!(derivative.len(), self.dims);
                self.graph.field(*unknown as u32, derivative)
            }
            Expr::Neg(a) => {
                let a = self.expr(a)?;
                self.graph.neg(a)
            }
            Expr::Binary(op, a, b) => {
                let (a, b) = (self.expr(a)?, self.expr(b)?);
                match op {
                    Op::Add => self.graph.add(a, b),
                    Op::Sub => self.graph.sub(a, b),
                    Op::Mul => self.graph.mul(a, b),
                    Op::Div => self.graph.div(a, b),
                    Op::Pow => self.graph.pow(a, b),
                }
            }
            Expr::Call(f, a) => {
                let a = self.expr(a)?;
                self.graph.call(*f, a)
            }
            Expr::Derivative(a, c) => {
                let a = self.expr(a)?;
                self.graph.diff(a, self.coordinates[*c])?
            }
        })
    }
}

/// The derivative d^alpha of `e` for a multi-index `alpha` over the
/// coordinate symbols (`alpha[j]` derivatives in `coordinates[j]`).
pub fn diff_multi_index(
    graph: &mut Graph,
    e: ExprId,
    coordinates: &[SymbolId],
    alpha: &[u8],
) -> Result<ExprId, SizeLimitExceeded> {
    let wrt: Vec<SymbolId> = alpha
        .iter()
        .enumerate()
        .flat_map(|(j, &n)| std::iter::repeat_n(coordinates[j], n as usize))
        .collect();
    graph.diff_multi(e, &wrt)
}

/// The coordinate values of a point as a symbol lookup for evaluation.
pub fn point_symbols<'p>(
    coordinates: &'p [SymbolId],
    point: &'p [f64],
) -> impl Fn(SymbolId) -> f64 + 'p {
    move |s| {
        coordinates
            .iter()
            .position(|&c| c == s)
            .map_or(f64::NAN, |j| point[j])
    }
}
