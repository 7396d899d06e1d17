//! Settings (`ansatz`, `diff`, `train`, `sample`) and command-line overrides.
//!
//! Every setting is described once by a [`Schema`]: its parameters, their
//! kinds, ranges and defaults. File arguments and command-line overrides go
//! through the same validation, so `--h -1` and `fd(h = -1)` get the same
//! message (the former without a source location).

use std::collections::BTreeMap;

use super::names::{Context, Resolver};
use super::spec::Schedule;
use crate::diag::{Diagnostic, Span};
use crate::math::Activation;
use crate::syntax::ast::{self, ExprKind};

/// Which statement a setting belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Group {
    Ansatz,
    Diff,
    Train,
    Sampler,
    /// `scheme` (read by `pdec simulate`).
    Scheme,
    Formulation,
}

impl Group {
    /// The statement keyword (`ansatz`, ...), or `sample` for samplers.
    pub fn keyword(self) -> &'static str {
        match self {
            Group::Ansatz => "ansatz",
            Group::Diff => "diff",
            Group::Train => "train",
            Group::Sampler => "sample",
            Group::Scheme => "scheme",
            Group::Formulation => "formulation",
        }
    }
}

/// What values a parameter accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A whole number >= 1 (at most `MAX_COUNT`).
    Count,
    /// A whole number >= 0 (random seed).
    Seed,
    /// A finite number > 0.
    Positive,
    /// A number in (0, 1).
    Fraction,
    /// 2 or 4 (finite-difference accuracy order).
    Order,
    /// An activation name.
    Activation,
    /// Any finite number.
    Finite,
    /// A solver name (`fixed_point`, `cg`, `multigrid`).
    Solver,
    /// `true` or `false` (stored as 1 or 0).
    Switch,
    /// A learning-rate schedule name (`constant`, `linear`, `cosine`).
    Schedule,
    /// A multiplier update of `alm` (`first_order`, `adaptive`).
    Dual,
    /// A Stein estimator name (`plain`, `antithetic`).
    Estimator,
}

/// The largest count any setting accepts; larger values are surely typos.
pub const MAX_COUNT: f64 = 1e8;

/// A parameter value after validation.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Value {
    Number(f64),
    Activation(Activation),
    /// A name from a fixed list (the implicit scheme's solver).
    Name(&'static str),
    Schedule(Schedule),
}

impl Value {
    /// The number (0 for an activation, which no numeric parameter holds).
    pub fn number(self) -> f64 {
        match self {
            Value::Number(v) => v,
            Value::Activation(_) | Value::Name(_) | Value::Schedule(_) => 0.0,
        }
    }

    /// The activation (tanh for a number, which no activation parameter holds).
    pub fn activation(self) -> Activation {
        match self {
            Value::Activation(a) => a,
            Value::Number(_) | Value::Name(_) | Value::Schedule(_) => Activation::Tanh,
        }
    }

    /// The schedule (constant for any other value, which no schedule parameter holds).
    pub fn schedule(self) -> Schedule {
        match self {
            Value::Schedule(s) => s,
            Value::Number(_) | Value::Activation(_) | Value::Name(_) => Schedule::Constant,
        }
    }
}

/// One parameter of a setting.
#[derive(Clone, Copy, Debug)]
pub struct Param {
    pub key: &'static str,
    pub kind: Kind,
    /// `None` for a default the caller supplies (sample counts depend on the dimension).
    pub default: Option<Value>,
    pub doc: &'static str,
}

/// A named setting and its parameters.
#[derive(Clone, Copy, Debug)]
pub struct Schema {
    pub group: Group,
    pub name: &'static str,
    pub params: &'static [Param],
    /// How many leading parameters may be given without `key =`.
    pub positional: usize,
    pub doc: &'static str,
}

const fn p(key: &'static str, kind: Kind, default: f64, doc: &'static str) -> Param {
    Param {
        key,
        kind,
        default: Some(Value::Number(default)),
        doc,
    }
}

const ACTIVATION: Param = Param {
    key: "activation",
    kind: Kind::Activation,
    default: Some(Value::Activation(Activation::Tanh)),
    doc: "activation function",
};

const NORMALIZE: Param = Param {
    key: "normalize",
    kind: Kind::Switch,
    default: Some(Value::Number(1.0)),
    doc: "map each coordinate's interval to [-1, 1] before the first layer (true, the default; false)",
};

const SAMPLE_COUNT: Param = Param {
    key: "n",
    kind: Kind::Count,
    default: None,
    doc: "number of points (per coordinate for grid)",
};

/// The estimators of `diff stein(estimator = ...)`.
pub const ESTIMATORS: [&str; 2] = ["plain", "antithetic"];

/// The solvers of `scheme implicit(solver = ...)`.
pub const SOLVERS: [&str; 3] = ["fixed_point", "cg", "multigrid"];

/// The multiplier updates of `train alm`.
pub const DUALS: [&str; 2] = ["first_order", "adaptive"];

const fn unset(key: &'static str, kind: Kind, doc: &'static str) -> Param {
    Param {
        key,
        kind,
        default: None,
        doc,
    }
}

const SCHEME_GRID: Param = unset("grid", Kind::Count, "grid values (default 256)");
const SCHEME_T_END: Param = unset(
    "t_end",
    Kind::Finite,
    "final time (default: the end of the time interval)",
);

/// Every setting pdec knows, in documentation order.
pub const SCHEMAS: &[Schema] = &[
    Schema {
        group: Group::Ansatz,
        name: "rfm",
        params: &[
            p("features", Kind::Count, 400.0, "number of random features"),
            ACTIVATION,
            p(
                "scale",
                Kind::Positive,
                1.0,
                "w, b ~ uniform(-scale, scale)",
            ),
            p("seed", Kind::Seed, 0.0, "seed of the random features"),
            NORMALIZE,
        ],
        positional: 0,
        doc: "random feature model: only the output weights are trained",
    },
    Schema {
        group: Group::Ansatz,
        name: "shallow",
        params: &[
            p("width", Kind::Count, 100.0, "number of hidden neurons"),
            ACTIVATION,
            p("seed", Kind::Seed, 0.0, "seed of the initialization"),
            NORMALIZE,
        ],
        positional: 0,
        doc: "two-layer network: all weights are trained",
    },
    Schema {
        group: Group::Ansatz,
        name: "mlp",
        params: &[
            p("width", Kind::Count, 32.0, "neurons per hidden layer"),
            p("depth", Kind::Count, 3.0, "number of hidden layers"),
            ACTIVATION,
            p("seed", Kind::Seed, 0.0, "seed of the initialization"),
            NORMALIZE,
        ],
        positional: 0,
        doc: "deep network (shared hidden layers, one output per unknown): all weights are trained",
    },
    Schema {
        group: Group::Diff,
        name: "ad",
        params: &[],
        positional: 0,
        doc: "exact derivatives of the ansatz",
    },
    Schema {
        group: Group::Diff,
        name: "fd",
        params: &[
            p("h", Kind::Positive, 1e-2, "finite-difference step"),
            p(
                "order",
                Kind::Order,
                2.0,
                "accuracy order of the stencils (2 or 4)",
            ),
        ],
        positional: 0,
        doc: "central finite-difference stencils of the ansatz",
    },
    Schema {
        group: Group::Diff,
        name: "stein",
        params: &[
            p(
                "sigma",
                Kind::Positive,
                0.1,
                "width of the Gaussian smoothing",
            ),
            p(
                "samples",
                Kind::Count,
                64.0,
                "forward evaluations per point",
            ),
            p("seed", Kind::Seed, 0.0, "seed of the Gaussian samples"),
            Param {
                key: "estimator",
                kind: Kind::Estimator,
                default: Some(Value::Name("antithetic")),
                doc: "plain, or antithetic pairs with f(x) as control variate",
            },
            p(
                "eval_samples",
                Kind::Count,
                64.0,
                "samples per point when the smoothed model is evaluated for error reports",
            ),
        ],
        positional: 0,
        doc: "Gaussian-smoothing (Stein) estimators of the derivatives",
    },
    Schema {
        group: Group::Train,
        name: "lstsq",
        params: &[p(
            "cutoff",
            Kind::Fraction,
            1e-13,
            "relative singular-value cutoff of the rank-revealing solve",
        )],
        positional: 0,
        doc: "linear least squares (rfm, linear problems)",
    },
    Schema {
        group: Group::Train,
        name: "gauss_newton",
        params: &[
            p("iters", Kind::Count, 20.0, "maximum iterations"),
            p(
                "tol",
                Kind::Fraction,
                1e-12,
                "stop when the loss decreases by less than this, relatively",
            ),
        ],
        positional: 0,
        doc: "Levenberg-Marquardt (rfm, nonlinear problems)",
    },
    Schema {
        group: Group::Train,
        name: "adam",
        params: &[
            p("lr", Kind::Positive, 1e-3, "learning rate"),
            p("epochs", Kind::Count, 5000.0, "number of full-batch steps"),
            Param {
                key: "schedule",
                kind: Kind::Schedule,
                default: Some(Value::Schedule(Schedule::Constant)),
                doc: "learning-rate schedule: constant, linear or cosine",
            },
        ],
        positional: 0,
        doc: "full-batch Adam",
    },
    Schema {
        group: Group::Train,
        name: "lbfgs",
        params: &[
            p("iters", Kind::Count, 500.0, "maximum iterations"),
            p(
                "memory",
                Kind::Count,
                10.0,
                "number of stored correction pairs",
            ),
        ],
        positional: 0,
        doc: "L-BFGS with a Wolfe line search",
    },
    Schema {
        group: Group::Train,
        name: "alm",
        params: &[
            p("lr", Kind::Positive, 1e-3, "learning rate of the Adam steps"),
            p("epochs", Kind::Count, 5000.0, "number of full-batch steps"),
            p(
                "mu",
                Kind::Positive,
                10.0,
                "initial penalty parameter of the augmented Lagrangian",
            ),
            p("mu_max", Kind::Positive, 1e4, "largest penalty parameter"),
            p(
                "every",
                Kind::Count,
                100.0,
                "epochs between two multiplier updates",
            ),
            p(
                "growth",
                Kind::Positive,
                1.0,
                "factor on mu when the violation did not fall to a quarter (1: mu stays fixed)",
            ),
            Param {
                key: "dual",
                kind: Kind::Dual,
                default: Some(Value::Name("first_order")),
                doc: "multiplier update: first_order (lambda += mu c) or adaptive (Basir's per-point RMSprop step on c^2)",
            },
        ],
        positional: 0,
        doc: "augmented Lagrangian: conditions as constraints with one multiplier per point, Adam steps",
    },
    Schema {
        group: Group::Formulation,
        name: "primal",
        params: &[],
        positional: 0,
        doc: "the equations as written",
    },
    Schema {
        group: Group::Formulation,
        name: "flux",
        params: &[],
        positional: 0,
        doc: "rewrite as a first-order system with flux unknowns",
    },
    Schema {
        group: Group::Sampler,
        name: "grid",
        params: &[SAMPLE_COUNT],
        positional: 1,
        doc: "tensor grid, n points per coordinate (interior points exclude the faces)",
    },
    Schema {
        group: Group::Sampler,
        name: "random",
        params: &[
            SAMPLE_COUNT,
            p("seed", Kind::Seed, 0.0, "seed"),
            p(
                "resample",
                Kind::Seed,
                0.0,
                "draw fresh points every k epochs (0: never)",
            ),
        ],
        positional: 1,
        doc: "n uniform random points",
    },
    Schema {
        group: Group::Sampler,
        name: "sobol",
        params: &[SAMPLE_COUNT, p("seed", Kind::Seed, 0.0, "scrambling seed")],
        positional: 1,
        doc: "the first n points of a scrambled Sobol sequence",
    },
    Schema {
        group: Group::Scheme,
        name: "explicit",
        params: &[
            SCHEME_GRID,
            unset(
                "tau",
                Kind::Positive,
                "time step (default: the stability bound tau_max)",
            ),
            SCHEME_T_END,
        ],
        positional: 0,
        doc: "explicit steps u <- u - tau K^T Phi(K u) (pdec simulate)",
    },
    Schema {
        group: Group::Scheme,
        name: "fed",
        params: &[
            SCHEME_GRID,
            unset("cycles", Kind::Count, "number of FED cycles (default 8)"),
            SCHEME_T_END,
        ],
        positional: 0,
        doc: "fast explicit diffusion: cycles of explicit steps with varying sizes (pdec simulate)",
    },
    Schema {
        group: Group::Scheme,
        name: "implicit",
        params: &[
            SCHEME_GRID,
            unset(
                "tau",
                Kind::Positive,
                "time step (default: (t_end - t_start)/100)",
            ),
            SCHEME_T_END,
            unset(
                "solver",
                Kind::Solver,
                "fixed_point, cg or multigrid (default cg)",
            ),
        ],
        positional: 0,
        doc: "semi-implicit steps (I + tau K^T G(u) K) u_new = u (pdec simulate)",
    },
];

/// Looks up a schema by group and name.
pub fn schema(group: Group, name: &str) -> Option<&'static Schema> {
    SCHEMAS.iter().find(|s| s.group == group && s.name == name)
}

fn names_of(group: Group) -> String {
    let names: Vec<String> = SCHEMAS
        .iter()
        .filter(|s| s.group == group)
        .map(|s| format!("`{}`", s.name))
        .collect();
    names.join(", ")
}

/// Command-line overrides of the file's settings (`--diff fd --h 1e-3`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Overrides {
    pub ansatz: Option<String>,
    pub features: Option<f64>,
    pub width: Option<f64>,
    pub depth: Option<f64>,
    pub activation: Option<String>,
    pub seed: Option<f64>,
    pub diff: Option<String>,
    pub h: Option<f64>,
    pub order: Option<f64>,
    /// `--sigma`, `--samples`, `--estimator` (stein).
    pub sigma: Option<f64>,
    pub samples: Option<f64>,
    pub estimator: Option<String>,
    pub train: Option<String>,
    pub epochs: Option<f64>,
    pub lr: Option<f64>,
    pub iters: Option<f64>,
    /// `--formulation primal | flux`.
    pub formulation: Option<String>,
    /// `--mu`, `--mu-max`, `--every` (alm).
    pub mu: Option<f64>,
    pub mu_max: Option<f64>,
    pub every: Option<f64>,
    /// `--weight NAME=W`, in the order given.
    pub weights: Vec<(String, f64)>,
}

impl Overrides {
    /// The setting name a group is overridden to, if any.
    pub fn name(&self, group: Group) -> Option<&str> {
        match group {
            Group::Ansatz => self.ansatz.as_deref(),
            Group::Diff => self.diff.as_deref(),
            Group::Train => self.train.as_deref(),
            Group::Sampler | Group::Scheme => None,
            Group::Formulation => self.formulation.as_deref(),
        }
    }

    /// The parameter overrides of a group: (flag, key, raw value).
    pub fn params(&self, group: Group) -> Vec<(&'static str, &'static str, RawValue)> {
        let num = |flag, key, v: Option<f64>| v.map(|v| (flag, key, RawValue::Number(v)));
        let list = match group {
            Group::Ansatz => vec![
                num("--features", "features", self.features),
                num("--width", "width", self.width),
                num("--depth", "depth", self.depth),
                self.activation
                    .clone()
                    .map(|a| ("--activation", "activation", RawValue::Name(a))),
                num("--seed", "seed", self.seed),
            ],
            Group::Diff => vec![
                num("--h", "h", self.h),
                num("--order", "order", self.order),
                num("--sigma", "sigma", self.sigma),
                num("--samples", "samples", self.samples),
                self.estimator
                    .clone()
                    .map(|e| ("--estimator", "estimator", RawValue::Name(e))),
            ],
            Group::Train => vec![
                num("--epochs", "epochs", self.epochs),
                num("--lr", "lr", self.lr),
                num("--iters", "iters", self.iters),
                num("--mu", "mu", self.mu),
                num("--mu-max", "mu_max", self.mu_max),
                num("--every", "every", self.every),
            ],
            Group::Sampler | Group::Scheme | Group::Formulation => vec![],
        };
        list.into_iter().flatten().collect()
    }
}

/// A value before validation: a number or a bare name.
#[derive(Clone, Debug, PartialEq)]
pub enum RawValue {
    Number(f64),
    Name(String),
}

/// A validated setting: its schema and a value for every parameter.
#[derive(Clone, Debug)]
pub struct ResolvedSetting {
    pub schema: &'static Schema,
    pub values: BTreeMap<&'static str, Value>,
    /// Where it was written, if in the file.
    pub span: Option<Span>,
}

impl ResolvedSetting {
    /// The value of parameter `key` as a name from a fixed list.
    pub fn name_value(&self, key: &str) -> Option<&'static str> {
        match self.values.get(key) {
            Some(Value::Name(n)) => Some(n),
            _ => None,
        }
    }

    /// The value of parameter `key` as a number.
    pub fn number(&self, key: &str) -> f64 {
        self.values.get(key).map_or(0.0, |v| v.number())
    }

    /// The value of parameter `key` as a whole number.
    pub fn count(&self, key: &str) -> usize {
        self.number(key) as usize
    }

    /// The value of parameter `key` as a seed.
    pub fn seed(&self, key: &str) -> u64 {
        self.number(key) as u64
    }
}

/// Where a value came from, for messages.
enum Origin<'a> {
    File(Span),
    Flag(&'a str),
}

impl Resolver<'_> {
    /// Validates a setting written in the file (or the group's default
    /// `default_name` when `setting` is `None`), applies the overrides, and
    /// fills in defaults. `dynamic_default` supplies parameters whose default
    /// depends on the problem (sample counts). `None` if an error was reported.
    pub fn setting(
        &mut self,
        group: Group,
        setting: Option<&ast::Setting>,
        default_name: &str,
        overrides: &Overrides,
        dynamic_default: &dyn Fn(&str) -> f64,
    ) -> Option<ResolvedSetting> {
        let file_name = setting.map(|s| s.name.name.as_str());
        let name = overrides.name(group).or(file_name).unwrap_or(default_name);
        let from_flag = overrides.name(group).is_some();
        let Some(schema) = schema(group, name) else {
            let message = format!(
                "unknown {} `{name}`; expected one of {}",
                describe_group(group),
                names_of(group)
            );
            let d = match (from_flag, setting) {
                (false, Some(s)) => Diagnostic::error("E0501", message, s.name.span)
                    .with_label_message(format!("not a known {}", describe_group(group))),
                _ => Diagnostic::error_without_span(
                    "E0501",
                    format!("--{}: {message}", group.keyword()),
                ),
            };
            self.diagnostics.push(d);
            return None;
        };
        let mut values: BTreeMap<&'static str, Value> = BTreeMap::new();
        let mut ok = true;
        // Arguments written in the file apply only if the file names the same setting.
        if let Some(s) = setting.filter(|s| s.name.name == schema.name) {
            let mut positional = 0;
            for arg in &s.args {
                let param = match &arg.key {
                    Some(key) => schema.params.iter().find(|p| p.key == key.name),
                    None => {
                        positional += 1;
                        (positional <= schema.positional).then(|| &schema.params[positional - 1])
                    }
                };
                let Some(param) = param else {
                    ok = false;
                    self.diagnostics
                        .push(unexpected_argument(schema, arg, positional));
                    continue;
                };
                if values.contains_key(param.key) {
                    ok = false;
                    self.diagnostics.push(
                        Diagnostic::error(
                            "E0505",
                            format!("`{}` is given twice", param.key),
                            arg.span,
                        )
                        .with_label_message("second value"),
                    );
                    continue;
                }
                let raw = match &arg.value.kind {
                    ExprKind::Name(n)
                        if matches!(
                            param.kind,
                            Kind::Activation
                                | Kind::Solver
                                | Kind::Schedule
                                | Kind::Dual
                                | Kind::Switch
                                | Kind::Estimator
                        ) =>
                    {
                        Some(RawValue::Name(n.clone()))
                    }
                    _ => {
                        let what = format!("`{}`", param.key);
                        self.resolve(&arg.value, Context::Constant { what: &what })
                            .and_then(|e| e.eval_constant())
                            .map(RawValue::Number)
                    }
                };
                match raw
                    .and_then(|raw| self.validate(schema, param, raw, Origin::File(arg.value.span)))
                {
                    Some(v) => {
                        values.insert(param.key, v);
                    }
                    None => ok = false,
                }
            }
        } else if let (Some(s), true) = (setting, from_flag) {
            // The flag replaced a differently named setting: its arguments are dropped.
            let _ = s;
        }
        for (flag, key, raw) in overrides.params(group) {
            let Some(param) = schema.params.iter().find(|p| p.key == key) else {
                ok = false;
                let owners: Vec<&str> = SCHEMAS
                    .iter()
                    .filter(|s| s.group == group && s.params.iter().any(|p| p.key == key))
                    .map(|s| s.name)
                    .collect();
                self.diagnostics.push(
                    Diagnostic::error_without_span(
                        "E0508",
                        format!(
                            "{flag} does not apply to `{} {}`",
                            group.keyword(),
                            schema.name
                        ),
                    )
                    .with_note(format!(
                        "{flag} sets a parameter of {}; choose one with --{} {}",
                        owners.join(" or "),
                        group.keyword(),
                        owners.first().copied().unwrap_or("")
                    )),
                );
                continue;
            };
            match self.validate(schema, param, raw, Origin::Flag(flag)) {
                Some(v) => {
                    values.insert(param.key, v);
                }
                None => ok = false,
            }
        }
        for param in schema.params {
            values
                .entry(param.key)
                .or_insert_with(|| match param.default {
                    Some(v) => v,
                    None => Value::Number(dynamic_default(param.key)),
                });
        }
        ok.then_some(ResolvedSetting {
            schema,
            values,
            span: setting.map(|s| s.span),
        })
    }

    fn validate(
        &mut self,
        schema: &Schema,
        param: &Param,
        raw: RawValue,
        origin: Origin<'_>,
    ) -> Option<Value> {
        let problem: String = match (param.kind, &raw) {
            (Kind::Activation, RawValue::Name(n)) => match Activation::from_name(n) {
                Some(a) => return Some(Value::Activation(a)),
                None => {
                    let names: Vec<&str> = Activation::ALL.iter().map(|a| a.name()).collect();
                    format!(
                        "unknown activation `{n}`; expected one of {}",
                        names.join(", ")
                    )
                }
            },
            (Kind::Schedule, RawValue::Name(n)) => match Schedule::from_name(n) {
                Some(s) => return Some(Value::Schedule(s)),
                None => {
                    let names: Vec<&str> = Schedule::ALL.iter().map(|s| s.name()).collect();
                    format!(
                        "unknown schedule `{n}`; expected one of {}",
                        names.join(", ")
                    )
                }
            },
            (Kind::Schedule, RawValue::Number(v)) => {
                format!("`schedule` takes a name such as `cosine`, not the number {v}")
            }
            (Kind::Activation, RawValue::Number(v)) => {
                format!("`activation` takes a name such as `tanh`, not the number {v}")
            }
            (Kind::Solver, RawValue::Name(n)) => match SOLVERS.iter().find(|s| *s == n) {
                Some(s) => return Some(Value::Name(s)),
                None => format!(
                    "unknown solver `{n}`; expected one of {}",
                    SOLVERS.join(", ")
                ),
            },
            (Kind::Switch, RawValue::Name(n)) => match n.as_str() {
                "true" => return Some(Value::Number(1.0)),
                "false" => return Some(Value::Number(0.0)),
                _ => format!("`{}` is `true` or `false`, got `{n}`", param.key),
            },
            (Kind::Switch, RawValue::Number(v)) => {
                format!("`{}` is `true` or `false`, not the number {v}", param.key)
            }
            (Kind::Estimator, RawValue::Name(n)) => match ESTIMATORS.iter().find(|s| *s == n) {
                Some(s) => return Some(Value::Name(s)),
                None => format!(
                    "unknown estimator `{n}`; expected one of {}",
                    ESTIMATORS.join(", ")
                ),
            },
            (Kind::Estimator, RawValue::Number(v)) => {
                format!("`estimator` takes a name such as `antithetic`, not the number {v}")
            }
            (Kind::Solver, RawValue::Number(v)) => {
                format!("`solver` takes a name such as `cg`, not the number {v}")
            }
            (Kind::Dual, RawValue::Name(n)) => match DUALS.iter().find(|s| *s == n) {
                Some(s) => return Some(Value::Name(s)),
                None => format!(
                    "unknown multiplier update `{n}`; expected one of {}",
                    DUALS.join(", ")
                ),
            },
            (Kind::Dual, RawValue::Number(v)) => {
                format!("`dual` takes a name such as `adaptive`, not the number {v}")
            }
            (_, RawValue::Name(n)) => format!("`{}` takes a number, not the name `{n}`", param.key),
            (_, &RawValue::Number(v)) if !v.is_finite() => {
                format!("`{}` must be a finite number, got {v}", param.key)
            }
            (kind, &RawValue::Number(v)) => match kind {
                Kind::Count if v.fract() != 0.0 || v < 1.0 => {
                    format!("`{}` must be a whole number >= 1, got {v}", param.key)
                }
                Kind::Count if v > MAX_COUNT => {
                    format!("`{}` = {v} is too large (at most {MAX_COUNT:e})", param.key)
                }
                Kind::Seed if v.fract() != 0.0 || !(0.0..=9.007e15).contains(&v) => {
                    format!("`{}` must be a whole number >= 0, got {v}", param.key)
                }
                Kind::Positive if v <= 0.0 => format!("`{}` must be positive, got {v}", param.key),
                Kind::Fraction if v <= 0.0 || v >= 1.0 => {
                    format!(
                        "`{}` must be between 0 and 1 (exclusive), got {v}",
                        param.key
                    )
                }
                Kind::Order if v != 2.0 && v != 4.0 => {
                    format!("`{}` must be 2 or 4, got {v}", param.key)
                }
                _ => return Some(Value::Number(v)),
            },
        };
        let message = format!(
            "{problem} (in `{} {}`)",
            schema.group.keyword(),
            schema.name
        );
        let d = match origin {
            Origin::File(span) => {
                Diagnostic::error("E0504", message, span).with_label_message(param.doc)
            }
            Origin::Flag(flag) => {
                Diagnostic::error_without_span("E0504", format!("{flag}: {message}"))
            }
        };
        self.diagnostics.push(d);
        None
    }
}

fn describe_group(group: Group) -> &'static str {
    match group {
        Group::Ansatz => "ansatz",
        Group::Diff => "diff mode",
        Group::Train => "trainer",
        Group::Sampler => "sampler",
        Group::Scheme => "scheme",
        Group::Formulation => "formulation",
    }
}

fn unexpected_argument(schema: &Schema, arg: &ast::SettingArg, positional: usize) -> Diagnostic {
    let keys: Vec<String> = schema
        .params
        .iter()
        .map(|p| format!("`{}`", p.key))
        .collect();
    let expected = if keys.is_empty() {
        format!("`{}` takes no arguments", schema.name)
    } else {
        format!("`{}` takes {}", schema.name, keys.join(", "))
    };
    match &arg.key {
        Some(key) => Diagnostic::error(
            "E0502",
            format!("unknown argument `{}` for `{}`", key.name, schema.name),
            key.span,
        )
        .with_label_message("not a parameter of this setting")
        .with_note(expected),
        None => Diagnostic::error(
            "E0506",
            format!(
                "unexpected positional argument {positional} for `{}`",
                schema.name
            ),
            arg.span,
        )
        .with_label_message("write it as `key = value`")
        .with_note(expected),
    }
}
