//! The abstract syntax tree: what the user wrote, with a span on every node.
//!
//! Invariants: names are not resolved here (a `Name` may be a coordinate, a
//! constant, an unknown or a subscript derivative such as `u_xx`); numbers are
//! finite; spans are byte ranges into the source the tree was parsed from.

use crate::diag::Span;

/// A parsed `.pde` file: its statements in source order.
#[derive(Clone, Debug, PartialEq)]
pub struct File {
    pub statements: Vec<Statement>,
}

/// A name as written, with its span.
#[derive(Clone, Debug, PartialEq)]
pub struct Ident {
    pub name: String,
    pub span: Span,
}

/// One statement (one line, possibly continued).
#[derive(Clone, Debug, PartialEq)]
pub struct Statement {
    pub kind: StatementKind,
    pub span: Span,
    /// The span of the leading keyword (`domain`, `bc`, ...).
    pub keyword: Span,
}

/// What a statement declares.
#[derive(Clone, Debug, PartialEq)]
pub enum StatementKind {
    /// `problem "title"`
    Problem { title: String },
    /// `domain x in [0, 1], y in [-1, 1]`
    Domain(Vec<IntervalDecl>),
    /// `domain (x, y) in rect([-1, 1], [-1, 1]) - hole`
    ShapeDomain {
        coordinates: Vec<Ident>,
        shape: ShapeExpr,
    },
    /// `domain x in ball(10)` or `ball(d, radius = r)`: a vector
    /// coordinate with `dims` components in the ball of radius r (default
    /// 1) centred at 0.
    BallDomain {
        name: Ident,
        dims: Expr,
        radius: Option<Expr>,
    },
    /// `shape hole = disk([0, 0], 0.5)`
    Shape { name: Ident, shape: ShapeExpr },
    /// `time t in [0, 2]`
    Time(IntervalDecl),
    /// `const c = 2, k = 3*pi`
    Const(Vec<Binding>),
    /// `let f = sin(pi*x)`
    Let(Vec<Binding>),
    /// `unknown u, v`
    Unknown(Vec<Ident>),
    /// `equation lhs = rhs weight 2`
    Equation {
        relation: Relation,
        weight: Option<Expr>,
    },
    /// `bc lhs = rhs on x = 0, x = 1 weight 10`
    Bc {
        relation: Relation,
        faces: Vec<Face>,
        weight: Option<Expr>,
    },
    /// `bc periodic in x, y weight 10`: u and its derivatives below the
    /// equations' order agree at both ends of each coordinate.
    Periodic {
        coordinates: Vec<Ident>,
        weight: Option<Expr>,
    },
    /// `initial lhs = rhs weight 10`
    Initial {
        relation: Relation,
        weight: Option<Expr>,
    },
    /// `initial u = data("signal.csv")`: measured initial values, one per
    /// grid point (read by `pdec simulate`).
    InitialData {
        unknown: Ident,
        path: String,
        path_span: Span,
    },
    /// `exact u = expr`
    Exact { unknown: Ident, value: Expr },
    /// `reference u = data("file.csv")`: values of `u` at points, from a
    /// file (`function` is `data`; `path` as written, `path_span` its
    /// string literal).
    Reference {
        unknown: Ident,
        function: Ident,
        path: String,
        path_span: Span,
    },
    /// `ansatz rfm(features = 400)`, with the coordinates of an optional
    /// `periodic in x, theta` clause (an exactly periodic ansatz).
    Ansatz(Setting, Vec<Ident>),
    /// `sample interior = grid(64), boundary = random(100)`
    Sample(Vec<SampleSet>),
    /// `diff fd(h = 1e-2)`
    Diff(Setting),
    /// `train adam(lr = 1e-3)`
    Train(Setting),
    /// `scheme fed(grid = 256, cycles = 8)`
    Scheme(Setting),
    /// `formulation flux`
    Formulation(Setting),
}

impl StatementKind {
    /// The statement's keyword, as written in source.
    pub fn keyword(&self) -> &'static str {
        match self {
            StatementKind::Problem { .. } => "problem",
            StatementKind::Domain(_)
            | StatementKind::ShapeDomain { .. }
            | StatementKind::BallDomain { .. } => "domain",
            StatementKind::Shape { .. } => "shape",
            StatementKind::Time(_) => "time",
            StatementKind::Const(_) => "const",
            StatementKind::Let(_) => "let",
            StatementKind::Unknown(_) => "unknown",
            StatementKind::Equation { .. } => "equation",
            StatementKind::Bc { .. } | StatementKind::Periodic { .. } => "bc",
            StatementKind::Initial { .. } => "initial",
            StatementKind::InitialData { .. } => "initial",
            StatementKind::Exact { .. } => "exact",
            StatementKind::Reference { .. } => "reference",
            StatementKind::Ansatz(..) => "ansatz",
            StatementKind::Sample(_) => "sample",
            StatementKind::Diff(_) => "diff",
            StatementKind::Train(_) => "train",
            StatementKind::Scheme(_) => "scheme",
            StatementKind::Formulation(_) => "formulation",
        }
    }
}

/// `x in [lo, hi]`, or the vector form `x in [lo, hi]^n` (a cube).
#[derive(Clone, Debug, PartialEq)]
pub struct IntervalDecl {
    pub name: Ident,
    pub lo: Expr,
    pub hi: Expr,
    /// `^n`: a vector coordinate with n components (an integer literal or
    /// a `const`'s name).
    pub power: Option<Expr>,
    pub span: Span,
}

/// `name = value` in `const` and `let`.
#[derive(Clone, Debug, PartialEq)]
pub struct Binding {
    pub name: Ident,
    pub value: Expr,
    pub span: Span,
}

/// `lhs = rhs`.
#[derive(Clone, Debug, PartialEq)]
pub struct Relation {
    pub lhs: Expr,
    pub rhs: Expr,
    pub span: Span,
}

/// Where a boundary condition holds.
#[derive(Clone, Debug, PartialEq)]
pub enum Face {
    /// `on boundary`: every face of the spatial box.
    Boundary(Span),
    /// `on x = 0`: the face where coordinate `coordinate` equals `value`.
    Coordinate {
        coordinate: Ident,
        value: Expr,
        span: Span,
    },
    /// `on hole`: the boundary pieces of a named shape.
    Piece(Ident),
}

/// A shape expression: a primitive, a named shape, or two shapes combined.
#[derive(Clone, Debug, PartialEq)]
pub struct ShapeExpr {
    pub kind: ShapeExprKind,
    pub span: Span,
}

/// The shape expression forms.
#[derive(Clone, Debug, PartialEq)]
pub enum ShapeExprKind {
    /// `disk([0, 0], 0.5)`, `rect([0, 1], [0, 2])`, `polygon([0, 0], [1, 0], [0, 1])`
    Primitive {
        function: Ident,
        args: Vec<ShapeArg>,
    },
    /// A shape defined by a `shape` statement.
    Name(Ident),
    /// `a + b` (union), `a - b` (difference), `a & b` (intersection).
    Binary {
        op: ShapeOp,
        lhs: Box<ShapeExpr>,
        rhs: Box<ShapeExpr>,
    },
}

/// How two shapes combine.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ShapeOp {
    Union,
    Difference,
    Intersection,
}

impl ShapeOp {
    /// The operator as written.
    pub fn symbol(self) -> &'static str {
        match self {
            ShapeOp::Union => "+",
            ShapeOp::Difference => "-",
            ShapeOp::Intersection => "&",
        }
    }
}

/// An argument of a shape primitive: a vector `[a, b]` or a number.
#[derive(Clone, Debug, PartialEq)]
pub enum ShapeArg {
    Vector(Vec<Expr>, Span),
    Scalar(Expr),
}

impl ShapeArg {
    /// The argument's span.
    pub fn span(&self) -> Span {
        match self {
            ShapeArg::Vector(_, span) => *span,
            ShapeArg::Scalar(e) => e.span,
        }
    }
}

/// `interior = grid(64)` in a `sample` statement.
#[derive(Clone, Debug, PartialEq)]
pub struct SampleSet {
    pub set: Ident,
    pub setting: Setting,
    pub span: Span,
}

/// A named setting with optional arguments: `fd(h = 1e-2, order = 2)`, `lstsq`.
#[derive(Clone, Debug, PartialEq)]
pub struct Setting {
    pub name: Ident,
    pub args: Vec<SettingArg>,
    pub span: Span,
}

/// `key = value` or a positional `value` inside a setting.
#[derive(Clone, Debug, PartialEq)]
pub struct SettingArg {
    pub key: Option<Ident>,
    pub value: Expr,
    pub span: Span,
}

/// An expression node.
#[derive(Clone, Debug, PartialEq)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

/// The expression forms.
#[derive(Clone, Debug, PartialEq)]
pub enum ExprKind {
    /// A finite number literal.
    Number(f64),
    /// A name: coordinate, constant, let, unknown, built-in constant or `u_xx`.
    Name(String),
    /// `f(a, b)`: built-in function, `d(expr, x)`, `lap(expr)`, ...
    Call { function: Ident, args: Vec<Expr> },
    /// `x[3]`: component of a vector coordinate (counted from 1).
    Index { base: Ident, index: Box<Expr> },
    /// `-a`
    Neg(Box<Expr>),
    /// `a op b`
    Binary {
        op: BinOp,
        lhs: Box<Expr>,
        rhs: Box<Expr>,
    },
}

/// Binary operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Pow,
}

impl BinOp {
    /// The operator as written.
    pub fn symbol(self) -> &'static str {
        match self {
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::Pow => "^",
        }
    }
}
