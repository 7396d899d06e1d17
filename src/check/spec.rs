//! The checked problem ([`Spec`]): the hand-off type from `check` to every
//! later stage (symbolic lowering in ad/fd/stein modes, flux rewriting,
//! finite-difference schemes, trainers, the spectrum analyzer).
//!
//! Invariants: every name is resolved (coordinates and unknowns are indices),
//! constants are folded to numbers, `let`s are inlined, every setting has its
//! default filled in and is within range, and every equation and condition
//! involves at least one unknown. Coordinates are numbered space first
//! (`x = 0, y = 1, ...`), then time (if any) last.

use crate::diag::Span;
use crate::math::{Activation, MathFn};

/// Index of a coordinate in [`Spec::coordinates`].
pub type CoordId = usize;
/// Index of an unknown field in [`Spec::unknowns`].
pub type UnknownId = usize;

/// A checked PDE problem, ready for lowering.
#[derive(Clone, Debug, PartialEq)]
pub struct Spec {
    pub title: Option<String>,
    /// Spatial coordinates first, then the time coordinate if declared.
    pub coordinates: Vec<Coordinate>,
    /// Number of spatial coordinates (the first `space_dims` coordinates).
    pub space_dims: usize,
    /// The spatial domain's shape when it is not the box of the
    /// coordinates' intervals (which are then its bounding box).
    pub shape: Option<crate::geometry::Shape>,
    pub unknowns: Vec<Unknown>,
    pub equations: Vec<Equation>,
    /// Boundary and initial conditions, in source order.
    pub conditions: Vec<Condition>,
    /// Exact solution per unknown (indexed like `unknowns`), if given.
    pub exact: Vec<Option<Expr>>,
    /// `reference u = data("file")` statements, in source order (the
    /// tables are read after checking, see `crate::reference`).
    pub references: Vec<Reference>,
    /// Named constants with their folded values, for reports.
    pub constants: Vec<(String, f64)>,
    pub ansatz: Ansatz,
    /// `ansatz ... periodic in x`: the coordinates (indices, sorted) that
    /// enter the first layer as cos and sin of 2 pi (x - lo) / (hi - lo).
    pub periodic_inputs: Vec<usize>,
    pub diff: DiffMode,
    pub train: Trainer,
    pub sampling: Sampling,
    /// Whether every equation and condition is affine in the unknowns.
    pub linearity: Linearity,
    /// `formulation primal | flux`: whether the problem is (to be) rewritten
    /// as a first-order system (`flux::rewrite`).
    pub formulation: Formulation,
    /// The `scheme` statement, if any (read by `pdec simulate` only).
    pub scheme: Option<SchemeSetting>,
    /// `initial u = data("signal.csv")`, if any (read by `pdec simulate`
    /// only; the other commands refuse it).
    pub initial_data: Option<InitialData>,
}

/// `initial u = data("signal.csv")`: measured initial values, one per grid
/// point, in a file relative to the `.pde` file.
#[derive(Clone, Debug, PartialEq)]
pub struct InitialData {
    pub unknown: UnknownId,
    pub path: String,
    /// The quoted path in the source.
    pub span: Span,
}

/// `reference u = data("file.csv")`: values of unknown `unknown` at
/// points, read from a file relative to the problem file's directory.
#[derive(Clone, Debug, PartialEq)]
pub struct Reference {
    pub unknown: usize,
    /// The path as written.
    pub path: String,
    /// The string literal, for located errors.
    pub span: crate::diag::Span,
    /// The table, once read (`crate::reference::load`).
    pub table: Option<crate::reference::Table>,
}

/// `scheme explicit(grid = 256, tau = 1e-5, t_end = 0.1)`: what `pdec
/// simulate` runs. Parameters not written are `None` (the simulation
/// chooses: grid 256, tau = the stability bound, t_end = the end of the
/// time interval, 8 FED cycles, the cg solver).
#[derive(Clone, Debug, PartialEq)]
pub struct SchemeSetting {
    /// `explicit`, `fed` or `implicit`.
    pub name: String,
    pub grid: Option<usize>,
    pub tau: Option<f64>,
    pub t_end: Option<f64>,
    pub cycles: Option<usize>,
    /// `fixed_point`, `cg` or `multigrid`.
    pub solver: Option<String>,
    pub span: Span,
}

impl Spec {
    /// The time coordinate, if the problem is time-dependent.
    pub fn time(&self) -> Option<CoordId> {
        (self.coordinates.len() > self.space_dims).then_some(self.space_dims)
    }

    /// Total dimension of the sampled box (space plus time).
    pub fn dims(&self) -> usize {
        self.coordinates.len()
    }

    /// True when every coordinate name is a single letter, so that
    /// subscript derivatives such as `u_xy` are unambiguous.
    pub fn subscript_names(&self) -> bool {
        self.coordinates.iter().all(|c| c.name.chars().count() == 1)
    }
}

/// A coordinate with its interval `[lo, hi]`, lo < hi.
#[derive(Clone, Debug, PartialEq)]
pub struct Coordinate {
    pub name: String,
    pub lo: f64,
    pub hi: f64,
    pub is_time: bool,
    pub span: Span,
}

/// An unknown field `u`.
#[derive(Clone, Debug, PartialEq)]
pub struct Unknown {
    pub name: String,
    pub span: Span,
}

/// `lhs = rhs`, trained as the residual `lhs - rhs = 0` on interior points.
#[derive(Clone, Debug, PartialEq)]
pub struct Equation {
    pub lhs: Expr,
    pub rhs: Expr,
    /// Multiplies the equation's residual rows (default 1).
    pub weight: f64,
    pub span: Span,
}

impl Equation {
    /// The residual `lhs - rhs`.
    pub fn residual(&self) -> Expr {
        Expr::difference(self.lhs.clone(), self.rhs.clone())
    }
}

/// One side of a coordinate interval.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Side {
    Lo,
    Hi,
}

/// A face of the space-time box: where coordinate `coordinate` is at its
/// `side` bound.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Face {
    pub coordinate: CoordId,
    pub side: Side,
}

/// Boundary or initial.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConditionKind {
    /// `bc ... on ...`: holds on spatial faces.
    Boundary,
    /// `initial ...`: holds on the face t = t_min.
    Initial,
}

/// A condition `lhs = rhs` on one or more faces, with a training weight.
#[derive(Clone, Debug, PartialEq)]
pub struct Condition {
    pub kind: ConditionKind,
    /// `bc0`, `bc1`, ... or `initial0`, ... in the order of the file: how
    /// reports, kernels and `--weight` name the condition. A `bc` with
    /// `dn` on several sides is one condition per side, `bc0_1`, `bc0_2`,
    /// ... (each with its own normal).
    pub name: String,
    /// The statement's name (`bc0`) shared by the conditions it made.
    pub group: String,
    /// Which part of the boundary, for messages (`hole`, `x = 1`), when
    /// the condition is one side of a split `bc`.
    pub place: Option<String>,
    pub lhs: Expr,
    pub rhs: Expr,
    /// The faces where it holds (for `initial`: the face t = t_min); empty
    /// on a shaped domain.
    pub faces: Vec<Face>,
    /// The sides of the shape's primitives where it holds (shaped domains).
    pub sides: Vec<crate::geometry::Side>,
    /// `bc periodic in x`: the residual is lhs(x) - lhs(x + L e_c) on the
    /// face x_c = lo (L the interval's length; `rhs` is 0).
    pub periodic: Option<CoordId>,
    /// Multiplies the condition's residual rows (default 1).
    pub weight: f64,
    pub span: Span,
}

impl Condition {
    /// The residual `lhs - rhs`.
    pub fn residual(&self) -> Expr {
        Expr::difference(self.lhs.clone(), self.rhs.clone())
    }
}

/// Arithmetic operators of checked expressions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Op {
    Add,
    Sub,
    Mul,
    Div,
    Pow,
}

/// A resolved expression of coordinates and unknown fields.
#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    Number(f64),
    /// A named constant (`pi`, `e`, or a `const`) with its folded value;
    /// kept by name so that printed equations read as written.
    Constant(String, f64),
    Coordinate(CoordId),
    /// d^alpha u: `derivative[j]` = number of derivatives in coordinate j
    /// (length = number of coordinates; all zeros = the value of `u`).
    Field {
        unknown: UnknownId,
        derivative: Vec<u8>,
    },
    Neg(Box<Expr>),
    Binary(Op, Box<Expr>, Box<Expr>),
    Call(MathFn, Box<Expr>),
    /// d(expr)/d(coordinate) of a compound expression; the symbolic stage
    /// applies the chain rule (derivatives of a bare field are folded into
    /// [`Expr::Field`] by the checker).
    Derivative(Box<Expr>, CoordId),
}

impl Expr {
    /// `a - b`
    pub fn difference(a: Expr, b: Expr) -> Expr {
        Expr::Binary(Op::Sub, Box::new(a), Box::new(b))
    }

    /// Calls `f` on every node, parents before children.
    pub fn visit(&self, f: &mut dyn FnMut(&Expr)) {
        f(self);
        match self {
            Expr::Number(_) | Expr::Constant(..) | Expr::Coordinate(_) | Expr::Field { .. } => {}
            Expr::Neg(a) | Expr::Call(_, a) | Expr::Derivative(a, _) => a.visit(f),
            Expr::Binary(_, a, b) => {
                a.visit(f);
                b.visit(f);
            }
        }
    }

    /// The value of an expression without coordinates or unknowns (`None`
    /// if it has any). May be non-finite (`1/0`): callers check.
    pub fn eval_constant(&self) -> Option<f64> {
        Some(match self {
            Expr::Number(v) | Expr::Constant(_, v) => *v,
            Expr::Coordinate(_) | Expr::Field { .. } | Expr::Derivative(..) => return None,
            Expr::Neg(a) => -a.eval_constant()?,
            Expr::Call(f, a) => f.eval(a.eval_constant()?),
            Expr::Binary(op, a, b) => {
                let (a, b) = (a.eval_constant()?, b.eval_constant()?);
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

    /// True if the expression involves any unknown field.
    pub fn has_unknowns(&self) -> bool {
        let mut found = false;
        self.visit(&mut |e| found |= matches!(e, Expr::Field { .. }));
        found
    }

    /// The highest total derivative order of any field in the expression
    /// (counting the derivatives of compound expressions too).
    pub fn max_derivative_order(&self) -> usize {
        match self {
            Expr::Number(_) | Expr::Constant(..) | Expr::Coordinate(_) => 0,
            Expr::Field { derivative, .. } => derivative.iter().map(|&d| d as usize).sum(),
            Expr::Neg(a) | Expr::Call(_, a) => a.max_derivative_order(),
            Expr::Derivative(a, _) => 1 + a.max_derivative_order(),
            Expr::Binary(_, a, b) => a.max_derivative_order().max(b.max_derivative_order()),
        }
    }

    /// The highest number of derivatives in coordinate `c` on any field.
    pub fn max_derivative_order_in(&self, c: CoordId) -> usize {
        match self {
            Expr::Number(_) | Expr::Constant(..) | Expr::Coordinate(_) => 0,
            Expr::Field { derivative, .. } => derivative.get(c).map_or(0, |&d| d as usize),
            Expr::Neg(a) | Expr::Call(_, a) => a.max_derivative_order_in(c),
            Expr::Derivative(a, wrt) => usize::from(*wrt == c) + a.max_derivative_order_in(c),
            Expr::Binary(_, a, b) => a
                .max_derivative_order_in(c)
                .max(b.max_derivative_order_in(c)),
        }
    }
}

/// How an expression depends on the unknowns.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Linearity {
    /// No unknowns at all.
    Constant,
    /// Affine in the unknowns and their derivatives (`a(x) u_xx + b(x)`).
    Linear,
    /// Anything else (`u u_x`, `sin(u)`, `u^3`).
    Nonlinear,
}

impl Linearity {
    /// Classifies `e` without differentiating it: derivatives preserve
    /// linearity, products of two non-constant factors and functions of the
    /// unknowns do not.
    pub fn of(e: &Expr) -> Linearity {
        use Linearity::*;
        match e {
            Expr::Number(_) | Expr::Constant(..) | Expr::Coordinate(_) => Constant,
            Expr::Field { .. } => Linear,
            Expr::Neg(a) | Expr::Derivative(a, _) => Linearity::of(a),
            Expr::Call(_, a) => match Linearity::of(a) {
                Constant => Constant,
                _ => Nonlinear,
            },
            Expr::Binary(op, a, b) => {
                let (la, lb) = (Linearity::of(a), Linearity::of(b));
                match op {
                    Op::Add | Op::Sub => la.max(lb),
                    Op::Mul => match (la, lb) {
                        (Constant, x) | (x, Constant) => x,
                        _ => Nonlinear,
                    },
                    Op::Div => match lb {
                        Constant => la,
                        _ => Nonlinear,
                    },
                    Op::Pow => match (la, lb, b.as_ref()) {
                        (Constant, Constant, _) => Constant,
                        (x, _, Expr::Number(n)) if *n == 1.0 => x,
                        (x, _, Expr::Constant(_, n)) if *n == 1.0 => x,
                        _ => Nonlinear,
                    },
                }
            }
        }
    }
}

// ---------------------------------------------------------------- settings

/// The neural-network ansatz for every unknown (unknowns share hidden features
/// and have their own output weights).
#[derive(Clone, Debug, PartialEq)]
pub enum Ansatz {
    /// Random feature model: u(x) = sum_k a_k act(w_k . x + b_k), with w and b
    /// drawn once from uniform(-scale, scale) by `seed` and frozen; only a is
    /// trained.
    Rfm {
        features: usize,
        activation: Activation,
        scale: f64,
        seed: u64,
        /// Inputs mapped to [-1, 1] per coordinate ([`Ansatz::normalize`]).
        normalize: bool,
    },
    /// Two-layer network u(x) = sum_k a_k act(w_k . x + b_k), all of w, b, a trained.
    Shallow {
        width: usize,
        activation: Activation,
        seed: u64,
        normalize: bool,
    },
    /// Deep network: `depth` hidden layers of `width` neurons,
    /// z_l = act(W_l z_{l-1} + b_l) with z_0 = x, and a linear output layer
    /// u = W_out z_depth + b_out with one output per unknown. The unknowns
    /// share the hidden layers. Glorot-normal weights
    /// (W ~ N(0, 2 / (fan_in + fan_out))) drawn by `seed`, zero biases.
    Mlp {
        width: usize,
        depth: usize,
        activation: Activation,
        seed: u64,
        normalize: bool,
    },
}

impl Ansatz {
    /// Whether the first layer sees each coordinate mapped from its
    /// interval [lo, hi] to [-1, 1], xi = (2 x - lo - hi) / (hi - lo), so
    /// that act(w . xi(x) + b) (`normalize = true`; `false` feeds x as is).
    pub fn normalize(&self) -> bool {
        match self {
            Ansatz::Rfm { normalize, .. }
            | Ansatz::Shallow { normalize, .. }
            | Ansatz::Mlp { normalize, .. } => *normalize,
        }
    }

    /// `rfm`, `shallow` or `mlp`.
    pub fn name(&self) -> &'static str {
        match self {
            Ansatz::Rfm { .. } => "rfm",
            Ansatz::Shallow { .. } => "shallow",
            Ansatz::Mlp { .. } => "mlp",
        }
    }
}

/// How derivatives of the ansatz are computed.
#[derive(Clone, Debug, PartialEq)]
pub enum DiffMode {
    /// Exact symbolic derivatives ("automatic differentiation").
    Ad,
    /// Central finite-difference stencils of the network with step `h`,
    /// of accuracy order 2 or 4.
    Fd { h: f64, order: u32 },
    /// Gaussian-smoothing (Stein) estimators with width `sigma` and
    /// `samples` forward evaluations per point.
    /// `antithetic`: pairs x ± delta with f(x) as control variate;
    /// `eval_samples`: samples per point for error reports.
    Stein {
        sigma: f64,
        samples: usize,
        seed: u64,
        antithetic: bool,
        eval_samples: usize,
    },
}

impl DiffMode {
    /// `ad`, `fd` or `stein`.
    pub fn name(&self) -> &'static str {
        match self {
            DiffMode::Ad => "ad",
            DiffMode::Fd { .. } => "fd",
            DiffMode::Stein { .. } => "stein",
        }
    }
}

/// The training method.
#[derive(Clone, Debug, PartialEq)]
pub enum Trainer {
    /// Rank-revealing linear least squares; singular values below
    /// `cutoff * s_max` are treated as zero.
    Lstsq { cutoff: f64 },
    /// Levenberg-Marquardt on the residual vector.
    GaussNewton { iters: usize, tol: f64 },
    /// Full-batch Adam with a learning-rate schedule.
    Adam {
        lr: f64,
        epochs: usize,
        schedule: Schedule,
    },
    /// L-BFGS with a Wolfe line search.
    Lbfgs { iters: usize, memory: usize },
    /// Augmented Lagrangian: Adam on
    /// `J + sum_i s_i (lambda_i c_i + mu/2 c_i^2)` (J the equations' mean
    /// squares, c_i the condition residual at point i, s_i = 1/n of its
    /// condition), `lambda_i += mu c_i` every `every` epochs; mu grows by
    /// `growth` (up to `mu_max`) when the violation did not fall below a
    /// quarter of its value at the previous update.
    Alm {
        lr: f64,
        epochs: usize,
        mu: f64,
        mu_max: f64,
        every: usize,
        growth: f64,
        /// The multiplier update.
        dual: Dual,
    },
}

/// The multiplier update of `train alm`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dual {
    /// L = J + sum_i s_i (lambda_i c_i + mu/2 c_i^2), lambda_i starts at 0,
    /// lambda_i += mu c_i.
    FirstOrder,
    /// Basir's code: L = J + sum_i s_i lambda_i c_i^2, lambda_i starts at
    /// 1, v_i <- 0.9 v_i + 0.1 c_i^4, lambda_i += mu c_i^2 / sqrt(v_i + 1e-8).
    Adaptive,
}

impl Dual {
    /// The name as written in files.
    pub fn name(self) -> &'static str {
        match self {
            Dual::FirstOrder => "first_order",
            Dual::Adaptive => "adaptive",
        }
    }
}

impl Trainer {
    /// The setting name as written in files.
    pub fn name(&self) -> &'static str {
        match self {
            Trainer::Lstsq { .. } => "lstsq",
            Trainer::GaussNewton { .. } => "gauss_newton",
            Trainer::Adam { .. } => "adam",
            Trainer::Lbfgs { .. } => "lbfgs",
            Trainer::Alm { .. } => "alm",
        }
    }
}

/// How the equations are posed to the trainer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Formulation {
    /// As written.
    Primal,
    /// Rewritten as a first-order system with flux unknowns.
    Flux,
}

impl Formulation {
    /// `primal` or `flux`.
    pub fn name(self) -> &'static str {
        match self {
            Formulation::Primal => "primal",
            Formulation::Flux => "flux",
        }
    }
}

/// How Adam's learning rate changes over the epochs (epoch e of E, from 1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Schedule {
    /// lr_e = lr
    Constant,
    /// lr_e = lr (1 - (e - 1) / E)
    Linear,
    /// lr_e = lr (1 + cos(pi (e - 1) / E)) / 2
    Cosine,
}

impl Schedule {
    /// Every schedule, in documentation order.
    pub const ALL: [Schedule; 3] = [Schedule::Constant, Schedule::Linear, Schedule::Cosine];

    /// The name as written in files.
    pub fn name(self) -> &'static str {
        match self {
            Schedule::Constant => "constant",
            Schedule::Linear => "linear",
            Schedule::Cosine => "cosine",
        }
    }

    /// The schedule called `name`.
    pub fn from_name(name: &str) -> Option<Schedule> {
        Schedule::ALL.into_iter().find(|s| s.name() == name)
    }

    /// The learning rate of epoch `epoch` (1-based) of `epochs`.
    pub fn rate(self, lr: f64, epoch: usize, epochs: usize) -> f64 {
        let progress = (epoch.saturating_sub(1)) as f64 / epochs.max(1) as f64;
        match self {
            Schedule::Constant => lr,
            Schedule::Linear => lr * (1.0 - progress),
            Schedule::Cosine => lr * 0.5 * (1.0 + (std::f64::consts::PI * progress).cos()),
        }
    }
}

/// The most points `sobol(n)` can produce (a limit of the sequence tables).
pub const SOBOL_MAX_POINTS: usize = 1 << 16;
/// The most dimensions `sobol(n)` supports.
pub const SOBOL_MAX_DIMS: usize = 256;

/// How a point set is drawn.
#[derive(Clone, Debug, PartialEq)]
pub enum Sampler {
    /// A tensor grid with `n` points per coordinate.
    Grid { n: usize },
    /// `n` uniform random points drawn with `seed`.
    Random { n: usize, seed: u64 },
    /// The first `n` points of a scrambled Sobol sequence with `seed`.
    Sobol { n: usize, seed: u64 },
}

/// The point sets equations and conditions are trained on.
#[derive(Clone, Debug, PartialEq)]
pub struct Sampling {
    pub interior: Sampler,
    pub boundary: Sampler,
    /// Points on t = t_min (time-dependent problems only).
    pub initial: Sampler,
    /// `random(n, resample = k)`: the interior, boundary and initial sets
    /// are redrawn every k epochs (0: fixed points).
    pub resample: [usize; 3],
}
