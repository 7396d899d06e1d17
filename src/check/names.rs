//! Name resolution: turns AST expressions into checked [`Expr`]s.
//!
//! Scope rules (docs/language.md): coordinates and unknowns are visible
//! everywhere; a `const` or `let` is visible from its definition onwards;
//! built-ins (`pi`, `e`, the functions, `d`, `lap`) cannot be redefined.
//! Every resolution error is reported once, at the offending name, and the
//! expression resolves to `None` so that no follow-up errors cascade from it.

use std::collections::{HashMap, HashSet};

use super::spec::{CoordId, Coordinate, Expr, Op, UnknownId};
use crate::diag::{edit_distance, Diagnostic, Span};
use crate::math::MathFn;
use crate::syntax::ast::{self, BinOp, ExprKind};

/// The highest derivative order one subscript or `d(...)` may ask for.
pub const MAX_DERIVATIVE_ORDER: usize = 16;

/// Names that cannot be defined by a file.
pub const BUILTIN_NAMES: [&str; 9] = ["pi", "e", "d", "dn", "lap", "grad", "div", "sum", "norm2"];

/// What a user-defined name stands for.
#[derive(Clone, Debug)]
pub enum NameKind {
    Coordinate(CoordId),
    /// Index into [`Scope::vectors`].
    Vector(usize),
    Unknown(UnknownId),
    /// Index into [`Scope::constants`].
    Constant(usize),
    /// Index into [`Scope::lets`].
    Let(usize),
}

/// A user-defined name and where it was defined.
#[derive(Clone, Debug)]
pub struct NameDef {
    pub kind: NameKind,
    pub span: Span,
}

/// A `const`: its value once evaluated (`None` if its definition had errors).
#[derive(Clone, Debug)]
pub struct ConstDef {
    pub name: String,
    pub value: Option<f64>,
    pub span: Span,
}

/// A `let`: its body and, once resolved, its checked expression.
#[derive(Clone, Debug)]
pub struct LetDef {
    pub name: String,
    pub body: ast::Expr,
    pub span: Span,
    pub resolved: Option<Expr>,
}

/// Where an expression occurs; decides which names it may use.
#[derive(Clone, Copy, Debug)]
pub enum Context<'a> {
    /// Must be a number: const bodies, bounds, weights, faces, settings.
    /// `what` names the thing for messages ("const `k`", "a bound").
    Constant { what: &'a str },
    /// The body of let number `index`.
    Let { index: usize },
    /// An exact solution: coordinates yes, unknowns no.
    Exact,
    /// Equations and conditions: anything.
    Residual,
}

/// A vector coordinate `x` (`domain x in [0, 1]^d` or `x in ball(d)`):
/// its components x[1], ..., x[len] are the coordinates
/// `first..first + len`.
#[derive(Clone, Debug)]
pub struct VectorDef {
    pub name: String,
    pub first: CoordId,
    pub len: usize,
}

/// Everything name resolution needs to know.
pub struct Scope {
    pub coordinates: Vec<Coordinate>,
    pub vectors: Vec<VectorDef>,
    pub space_dims: usize,
    pub unknown_names: Vec<String>,
    pub names: HashMap<String, NameDef>,
    pub constants: Vec<ConstDef>,
    pub lets: Vec<LetDef>,
    /// The outward unit normal (one expression per spatial coordinate)
    /// while the relation of a `bc` with `dn` is resolved for one side.
    pub normal: Option<Vec<Expr>>,
    /// Names whose definition was rejected as a built-in (E0203): their
    /// uses report nothing more (one error for one cause).
    pub rejected: HashSet<String>,
}

impl Scope {
    fn coordinate_list(&self) -> String {
        // A vector's components read `x[1], ..., x[d]`.
        let mut names: Vec<&str> = Vec::new();
        for (c, coordinate) in self.coordinates.iter().enumerate() {
            match self
                .vectors
                .iter()
                .find(|v| (v.first..v.first + v.len).contains(&c))
            {
                Some(v) if v.len > 3 && c == v.first + 1 => names.push("..."),
                Some(v) if v.len > 3 && c > v.first + 1 && c + 1 < v.first + v.len => {}
                _ => names.push(coordinate.name.as_str()),
            }
        }
        if names.is_empty() {
            "none (no `domain` was declared)".into()
        } else {
            names.join(", ")
        }
    }

    fn has_time(&self) -> bool {
        self.coordinates.len() > self.space_dims
    }

    /// The closest defined or built-in name to `name`, for "did you mean".
    fn suggestion(&self, name: &str) -> Option<String> {
        let candidates = self
            .names
            .keys()
            .map(String::as_str)
            .chain(["pi", "e"])
            .chain(MathFn::USER.iter().map(|f| f.name()));
        let mut best: Option<(usize, &str)> = None;
        for c in candidates {
            let d = edit_distance(name, c);
            // One-letter names are too short for a meaningful guess.
            if name.chars().count() < 2 || c.chars().count() < 2 {
                continue;
            }
            let limit = if name.len() <= 3 { 1 } else { 2 };
            if d <= limit && best.is_none_or(|(bd, bc)| (d, c) < (bd, bc)) {
                best = Some((d, c));
            }
        }
        best.map(|(_, c)| c.to_string())
    }

    /// If `name` reads as `<unknown>_<coordinate letters>`, returns the
    /// unknown and the letters.
    pub fn split_subscript<'n>(&self, name: &'n str) -> Option<(UnknownId, &'n str)> {
        name.char_indices()
            .filter(|&(_, c)| c == '_')
            .find_map(|(i, _)| {
                let (base, suffix) = (&name[..i], &name[i + 1..]);
                let unknown = self.unknown_names.iter().position(|u| u == base)?;
                (!suffix.is_empty() && suffix.chars().all(|c| c.is_ascii_alphabetic()))
                    .then_some((unknown, suffix))
            })
    }
}

/// Resolves AST expressions within a [`Scope`], collecting diagnostics.
pub struct Resolver<'s> {
    pub scope: &'s mut Scope,
    pub diagnostics: &'s mut Vec<Diagnostic>,
}

impl Resolver<'_> {
    fn error(&mut self, diagnostic: Diagnostic) -> Option<Expr> {
        self.diagnostics.push(diagnostic);
        None
    }

    fn fail<T>(&mut self, diagnostic: Diagnostic) -> Option<T> {
        self.diagnostics.push(diagnostic);
        None
    }

    /// Resolves `e` in context `ctx`; `None` if an error was reported.
    pub fn resolve(&mut self, e: &ast::Expr, ctx: Context<'_>) -> Option<Expr> {
        match &e.kind {
            ExprKind::Number(v) => Some(Expr::Number(*v)),
            ExprKind::Name(name) => self.name(name, e.span, ctx),
            ExprKind::Neg(a) => {
                let a = self.resolve(a, ctx)?;
                Some(match a {
                    Expr::Number(v) => Expr::Number(-v),
                    a => Expr::Neg(Box::new(a)),
                })
            }
            ExprKind::Binary { op, lhs, rhs } => {
                let (a, b) = (self.resolve(lhs, ctx), self.resolve(rhs, ctx));
                let op = match op {
                    BinOp::Add => Op::Add,
                    BinOp::Sub => Op::Sub,
                    BinOp::Mul => Op::Mul,
                    BinOp::Div => Op::Div,
                    BinOp::Pow => Op::Pow,
                };
                Some(Expr::Binary(op, Box::new(a?), Box::new(b?)))
            }
            ExprKind::Call { function, args } => self.call(function, args, e.span, ctx),
            ExprKind::Index { base, index } => {
                let c = self.component(base, index, e.span)?;
                match ctx {
                    Context::Constant { what } => self.error(
                        Diagnostic::error(
                            "E0204",
                            format!(
                                "{what} must be a constant, but it uses coordinate `{}[..]`",
                                base.name
                            ),
                            e.span,
                        )
                        .with_label_message("a coordinate"),
                    ),
                    _ => Some(Expr::Coordinate(c)),
                }
            }
        }
    }

    /// The vector coordinate `name`, or an error at `span`.
    fn vector(&mut self, name: &str, span: Span) -> Option<VectorDef> {
        match self.scope.names.get(name).map(|d| d.kind.clone()) {
            Some(NameKind::Vector(v)) => Some(self.scope.vectors[v].clone()),
            _ => {
                self.diagnostics.push(
                    Diagnostic::error(
                        "E0320",
                        format!("`{name}` is not a vector coordinate"),
                        span,
                    )
                    .with_label_message("not a vector")
                    .with_note("vector coordinates are declared `domain x in [0, 1]^d` or `domain x in ball(d)`"),
                );
                None
            }
        }
    }

    /// The coordinate of the component `base[index]` (counted from 1).
    fn component(&mut self, base: &ast::Ident, index: &ast::Expr, span: Span) -> Option<CoordId> {
        let v = self.vector(&base.name, base.span)?;
        let i = self.resolve(index, Context::Constant { what: "an index" })?;
        let value = i.eval_constant()?;
        if value.fract() != 0.0 || value < 1.0 || value > v.len as f64 {
            return self.fail(
                Diagnostic::error(
                    "E0320",
                    format!(
                        "index {} of `{}` is out of range: components are {}[1] to {}[{}]",
                        super::fmt_num(value),
                        base.name,
                        base.name,
                        base.name,
                        v.len
                    ),
                    span,
                )
                .with_label_message("no such component")
                .with_note("components count from 1, as in mathematics"),
            );
        }
        Some(v.first + value as usize - 1)
    }

    /// `sum(x)`, `norm2(x)`, `sum(grad(e))`, `norm2(grad(e))`: the
    /// components of the vector argument, as expressions.
    fn vector_components(&mut self, arg: &ast::Expr, ctx: Context<'_>) -> Option<Vec<Expr>> {
        match &arg.kind {
            ExprKind::Name(name) => {
                let v = self.vector(name, arg.span)?;
                if let Context::Constant { what } = ctx {
                    return self.fail(Diagnostic::error(
                        "E0204",
                        format!("{what} must be a constant, but it uses coordinate `{name}`"),
                        arg.span,
                    ));
                }
                Some((v.first..v.first + v.len).map(Expr::Coordinate).collect())
            }
            ExprKind::Call { function, args } if function.name == "grad" => {
                if args.len() != 1 {
                    return self.fail(arity_error("grad", 1, args.len(), arg.span));
                }
                if self.scope.space_dims == 0 {
                    return self.fail(Diagnostic::error(
                        "E0305",
                        "`grad` needs at least one spatial coordinate (declare `domain`)",
                        arg.span,
                    ));
                }
                let a = self.resolve(&args[0], ctx)?;
                if let Context::Constant { what } = ctx {
                    return self.fail(Diagnostic::error(
                        "E0204",
                        format!("{what} must be a constant, but it takes a derivative"),
                        arg.span,
                    ));
                }
                Some(
                    (0..self.scope.space_dims)
                        .map(|c| differentiate(&a, &[c]))
                        .collect(),
                )
            }
            _ => self.fail(
                Diagnostic::error(
                    "E0320",
                    "expected a vector: a vector coordinate or grad(...)",
                    arg.span,
                )
                .with_label_message("not a vector")
                .with_note("write sum(x), norm2(x), sum(grad(u)) or norm2(grad(u))"),
            ),
        }
    }

    fn name(&mut self, name: &str, span: Span, ctx: Context<'_>) -> Option<Expr> {
        if let Some(def) = self.scope.names.get(name).cloned() {
            return self.defined_name(name, def, span, ctx);
        }
        if self.scope.rejected.contains(name) {
            return None;
        }
        match name {
            "pi" => return Some(Expr::Constant("pi".into(), std::f64::consts::PI)),
            "e" => return Some(Expr::Constant("e".into(), std::f64::consts::E)),
            _ => {}
        }
        if MathFn::from_name(name).is_some() || BUILTIN_NAMES.contains(&name) {
            return self.error(
                Diagnostic::error(
                    "E0209",
                    format!("`{name}` is a function, not a value"),
                    span,
                )
                .with_label_message("call it with an argument")
                .with_note(format!("write `{name}(...)`")),
            );
        }
        if let Some((unknown, letters)) = self.scope.split_subscript(name) {
            return self.subscript_derivative(name, unknown, letters, span, ctx);
        }
        // `u_x1x1` with multi-letter coordinates: the subscript form cannot
        // say which coordinates are meant.
        let multi_letter = self
            .scope
            .coordinates
            .iter()
            .any(|c| c.name.chars().count() > 1 && !c.name.ends_with(']'));
        if let Some((unknown, _)) = name.split_once('_').filter(|_| multi_letter) {
            if self.scope.unknown_names.iter().any(|u| u == unknown) {
                return self.error(
                    Diagnostic::error(
                        "E0303",
                        format!(
                            "subscript derivative `{name}` needs single-letter coordinate names"
                        ),
                        span,
                    )
                    .with_note(format!(
                        "coordinates are {}; write d({unknown}, ...) instead",
                        self.scope.coordinate_list()
                    )),
                );
            }
        }
        let mut d = Diagnostic::error("E0201", format!("undefined name `{name}`"), span)
            .with_label_message("not defined");
        if let Some(s) = self.scope.suggestion(name) {
            d = d.with_note(format!("did you mean `{s}`?"));
        }
        if !self.scope.has_time() && (name == "t" || name == "time") {
            d = d.with_note("for a time-dependent problem declare `time t in [0, T]`");
        }
        self.error(d)
    }

    fn defined_name(
        &mut self,
        name: &str,
        def: NameDef,
        span: Span,
        ctx: Context<'_>,
    ) -> Option<Expr> {
        match def.kind {
            NameKind::Coordinate(c) => match ctx {
                Context::Constant { what } => self.error(
                    Diagnostic::error(
                        "E0204",
                        format!("{what} must be a constant, but it uses coordinate `{name}`"),
                        span,
                    )
                    .with_label_message("a coordinate")
                    .with_note("use `let` for expressions that vary in space or time"),
                ),
                _ => Some(Expr::Coordinate(c)),
            },
            NameKind::Vector(v) => {
                let len = self.scope.vectors[v].len;
                self.error(
                    Diagnostic::error(
                        "E0320",
                        format!("`{name}` is a vector coordinate with {len} components, not a number"),
                        span,
                    )
                    .with_label_message("a vector")
                    .with_note(format!(
                        "use a component {name}[i] (i from 1 to {len}), sum({name}) or norm2({name})"
                    )),
                )
            }
            NameKind::Unknown(u) => match ctx {
                Context::Constant { what } => self.error(
                    Diagnostic::error(
                        "E0204",
                        format!("{what} must be a constant, but it uses unknown `{name}`"),
                        span,
                    )
                    .with_label_message("an unknown"),
                ),
                Context::Exact => self.error(
                    Diagnostic::error(
                        "E0211",
                        format!("an exact solution cannot depend on unknown `{name}`"),
                        span,
                    )
                    .with_label_message("an unknown")
                    .with_note("write the exact solution as a function of the coordinates"),
                ),
                _ => Some(Expr::Field {
                    unknown: u,
                    derivative: vec![0; self.scope.coordinates.len()],
                }),
            },
            NameKind::Constant(i) => {
                let c = &self.scope.constants[i];
                if c.span.start <= span.start && span.end <= c.span.end {
                    let defined = c.span;
                    return self.error(
                        Diagnostic::error(
                            "E0206",
                            format!("const `{name}` refers to itself"),
                            span,
                        )
                        .with_label_message("used in its own definition")
                        .with_secondary(defined, "defined here"),
                    );
                }
                if c.span.start > span.start {
                    let defined = c.span;
                    return self.error(used_before_definition(name, span, defined));
                }
                Some(Expr::Constant(name.to_string(), c.value?))
            }
            NameKind::Let(i) => self.let_use(name, i, span, ctx),
        }
    }

    fn let_use(&mut self, name: &str, index: usize, span: Span, ctx: Context<'_>) -> Option<Expr> {
        let defined = self.scope.lets[index].span;
        if let Context::Constant { what } = ctx {
            return self.error(
                Diagnostic::error(
                    "E0204",
                    format!("{what} must be a constant, but it uses `let {name}`"),
                    span,
                )
                .with_secondary(defined, "defined with `let` here")
                .with_note("use `const` for named numbers"),
            );
        }
        if let Context::Let { index: current } = ctx {
            if current == index {
                return self.error(
                    Diagnostic::error("E0206", format!("`let {name}` refers to itself"), span)
                        .with_label_message("used in its own definition"),
                );
            }
            if index > current {
                if let Some(path) = self.let_cycle(index, current) {
                    let names: Vec<&str> = path
                        .iter()
                        .map(|&i| self.scope.lets[i].name.as_str())
                        .collect();
                    let current_name = self.scope.lets[current].name.clone();
                    return self.error(
                        Diagnostic::error(
                            "E0206",
                            format!(
                                "cyclic definition: {current_name} -> {} -> {current_name}",
                                names.join(" -> ")
                            ),
                            span,
                        )
                        .with_secondary(defined, format!("`{name}` is defined here")),
                    );
                }
            }
        }
        if defined.start > span.start {
            return self.error(used_before_definition(name, span, defined));
        }
        let body = self.scope.lets[index].resolved.clone()?;
        if matches!(ctx, Context::Exact) && body.has_unknowns() {
            return self.error(
                Diagnostic::error(
                    "E0211",
                    format!("an exact solution cannot depend on unknowns (through `let {name}`)"),
                    span,
                )
                .with_secondary(defined, "this `let` uses an unknown"),
            );
        }
        Some(body)
    }

    /// A path of lets from `from` back to `target` through later lets'
    /// bodies, if there is one (a cycle through definitions in the wrong order).
    fn let_cycle(&self, from: usize, target: usize) -> Option<Vec<usize>> {
        let mut stack = vec![(from, vec![from])];
        let mut seen = vec![false; self.scope.lets.len()];
        while let Some((at, path)) = stack.pop() {
            if std::mem::replace(&mut seen[at], true) {
                continue;
            }
            let mut refs = Vec::new();
            names_in(&self.scope.lets[at].body, &mut refs);
            for r in refs {
                if let Some(NameDef {
                    kind: NameKind::Let(next),
                    ..
                }) = self.scope.names.get(&r)
                {
                    if *next == target {
                        return Some(path);
                    }
                    let mut p = path.clone();
                    p.push(*next);
                    stack.push((*next, p));
                }
            }
        }
        None
    }

    fn subscript_derivative(
        &mut self,
        name: &str,
        unknown: UnknownId,
        letters: &str,
        span: Span,
        ctx: Context<'_>,
    ) -> Option<Expr> {
        let scope = &self.scope;
        if !scope
            .coordinates
            .iter()
            .all(|c| c.name.chars().count() == 1 || c.name.ends_with(']'))
        {
            return self.error(
                Diagnostic::error(
                    "E0303",
                    format!("subscript derivative `{name}` needs single-letter coordinate names"),
                    span,
                )
                .with_note(format!(
                    "coordinates are {}; write d({}, ...) instead",
                    scope.coordinate_list(),
                    scope.unknown_names[unknown]
                )),
            );
        }
        if letters.len() > MAX_DERIVATIVE_ORDER {
            return self.error(Diagnostic::error(
                "E0304",
                format!(
                    "derivative of order {} in `{name}`; at most {MAX_DERIVATIVE_ORDER} is supported",
                    letters.len()
                ),
                span,
            ));
        }
        let mut derivative = vec![0u8; scope.coordinates.len()];
        for (offset, letter) in letters.char_indices() {
            let position = scope
                .coordinates
                .iter()
                .position(|c| c.name.len() == 1 && c.name.starts_with(letter));
            let Some(c) = position else {
                let at = span.start + name.len() - letters.len() + offset;
                let mut d = Diagnostic::error(
                    "E0302",
                    format!(
                        "unknown coordinate `{letter}` in derivative `{name}`; coordinates are {}",
                        scope.coordinate_list()
                    ),
                    Span::new(at, at + 1),
                )
                .with_label_message("not a coordinate");
                if let Some(v) = scope
                    .vectors
                    .iter()
                    .find(|v| v.name.starts_with(letter) && v.name.len() == 1)
                {
                    d = d.with_note(format!(
                        "`{}` is a vector coordinate: write d({}, {}[i]), lap({}) or grad({}) inside sum or norm2",
                        v.name, scope.unknown_names[unknown], v.name, scope.unknown_names[unknown], scope.unknown_names[unknown]
                    ));
                }
                if !scope.has_time() && letter == 't' {
                    d = d.with_note(
                        "time derivatives need a time coordinate: declare `time t in [0, T]`",
                    );
                }
                return self.error(d);
            };
            derivative[c] = derivative[c].saturating_add(1);
        }
        match ctx {
            Context::Constant { what } => self.error(
                Diagnostic::error(
                    "E0204",
                    format!("{what} must be a constant, but it uses the derivative `{name}`"),
                    span,
                )
                .with_label_message("a derivative of an unknown"),
            ),
            Context::Exact => self.error(
                Diagnostic::error(
                    "E0211",
                    format!("an exact solution cannot depend on the unknown derivative `{name}`"),
                    span,
                )
                .with_label_message("a derivative of an unknown"),
            ),
            _ => Some(Expr::Field {
                unknown,
                derivative,
            }),
        }
    }

    fn call(
        &mut self,
        function: &ast::Ident,
        args: &[ast::Expr],
        span: Span,
        ctx: Context<'_>,
    ) -> Option<Expr> {
        let name = function.name.as_str();
        if let Some(def) = self.scope.names.get(name) {
            let what = match def.kind {
                NameKind::Coordinate(_) => "a coordinate",
                NameKind::Vector(_) => "a vector coordinate",
                NameKind::Unknown(_) => "an unknown",
                NameKind::Constant(_) => "a constant",
                NameKind::Let(_) => "a `let` expression",
            };
            let mut d = Diagnostic::error(
                "E0207",
                format!("`{name}` is {what}, not a function"),
                function.span,
            )
            .with_secondary(def.span, "defined here");
            if matches!(def.kind, NameKind::Unknown(_) | NameKind::Let(_)) {
                d = d.with_note(format!(
                    "write `{name}` without arguments: it is a function of all coordinates"
                ));
            }
            return self.error(d);
        }
        if let Some(f) = MathFn::from_name(name) {
            if args.len() != f.arity() {
                return self.error(arity_error(name, f.arity(), args.len(), span));
            }
            let a = self.resolve(&args[0], ctx)?;
            return Some(Expr::Call(f, Box::new(a)));
        }
        match name {
            "d" => self.derivative_call(args, span, ctx),
            "dn" => {
                if args.len() != 1 {
                    return self.error(arity_error("dn", 1, args.len(), span));
                }
                let a = self.resolve(&args[0], ctx)?;
                let (Context::Residual, Some(normal)) = (ctx, self.scope.normal.clone()) else {
                    return self.error(
                        Diagnostic::error(
                            "E0309",
                            "`dn` is the outward normal derivative, defined only in a `bc`",
                            span,
                        )
                        .with_label_message("not on a boundary")
                        .with_note("write `bc dn(u) = g on PIECE`; in equations, `let`s and exact solutions use d(u, x)"),
                    );
                };
                // dn(a) = sum_j n_j d(a)/dx_j, n exact for the side.
                let mut sum: Option<Expr> = None;
                for (j, n) in normal.into_iter().enumerate() {
                    if n == Expr::Number(0.0) {
                        continue;
                    }
                    let term =
                        Expr::Binary(Op::Mul, Box::new(n), Box::new(differentiate(&a, &[j])));
                    sum = Some(match sum {
                        None => term,
                        Some(s) => Expr::Binary(Op::Add, Box::new(s), Box::new(term)),
                    });
                }
                Some(sum.unwrap_or(Expr::Number(0.0)))
            }
            "lap" => {
                if args.len() != 1 {
                    return self.error(arity_error("lap", 1, args.len(), span));
                }
                if self.scope.space_dims == 0 {
                    return self.error(Diagnostic::error(
                        "E0305",
                        "`lap` needs at least one spatial coordinate (declare `domain`)",
                        span,
                    ));
                }
                let a = self.resolve(&args[0], ctx)?;
                if let Context::Constant { what } = ctx {
                    return self.error(Diagnostic::error(
                        "E0204",
                        format!("{what} must be a constant, but it takes a derivative"),
                        span,
                    ));
                }
                let terms = (0..self.scope.space_dims).map(|c| differentiate(&a, &[c, c]));
                Some(balanced_sum(terms.collect()))
            }
            "sum" | "norm2" => {
                if args.len() != 1 {
                    return self.error(arity_error(name, 1, args.len(), span));
                }
                let components = self.vector_components(&args[0], ctx)?;
                let terms = if name == "sum" {
                    components
                } else {
                    components
                        .into_iter()
                        .map(|c| Expr::Binary(Op::Pow, Box::new(c), Box::new(Expr::Number(2.0))))
                        .collect()
                };
                Some(balanced_sum(terms))
            }
            "grad" => self.error(
                Diagnostic::error(
                    "E0307",
                    "`grad` is only supported inside `sum` and `norm2`",
                    span,
                )
                .with_note(
                    "write sum(grad(u)) or norm2(grad(u)), or single derivatives d(u, x[i])",
                ),
            ),
            "div" => self.error(
                Diagnostic::error("E0307", format!("`{name}` is not supported yet"), span)
                    .with_note(
                        "write the derivatives out with `d(expr, x)` or `u_x`, or use `lap`",
                    ),
            ),
            "pi" | "e" => self.error(Diagnostic::error(
                "E0207",
                format!("`{name}` is a constant, not a function"),
                function.span,
            )),
            _ => {
                let mut d =
                    Diagnostic::error("E0207", format!("unknown function `{name}`"), function.span)
                        .with_label_message("not a function");
                if let Some(s) = self.scope.suggestion(name) {
                    d = d.with_note(format!("did you mean `{s}`?"));
                }
                let names: Vec<&str> = MathFn::USER.iter().map(|f| f.name()).collect();
                self.error(d.with_note(format!(
                    "functions are {}, and the derivatives d(expr, x) and lap(expr)",
                    names.join(", ")
                )))
            }
        }
    }

    /// `d(expr, x)`, `d(expr, x, y)`.
    fn derivative_call(
        &mut self,
        args: &[ast::Expr],
        span: Span,
        ctx: Context<'_>,
    ) -> Option<Expr> {
        if args.len() < 2 {
            return self.error(
                Diagnostic::error(
                    "E0306",
                    format!(
                        "`d` takes an expression and at least one coordinate, got {} argument{}",
                        args.len(),
                        if args.len() == 1 { "" } else { "s" }
                    ),
                    span,
                )
                .with_note("write d(u, x) or d(u, x, y)"),
            );
        }
        if args.len() - 1 > MAX_DERIVATIVE_ORDER {
            return self.error(Diagnostic::error(
                "E0304",
                format!(
                    "derivative of order {}; at most {MAX_DERIVATIVE_ORDER} is supported",
                    args.len() - 1
                ),
                span,
            ));
        }
        let body = self.resolve(&args[0], ctx);
        let mut wrt = Vec::new();
        let mut ok = true;
        for arg in &args[1..] {
            match self.derivative_variable(arg) {
                Some(c) => wrt.push(c),
                None => ok = false,
            }
        }
        let body = body?;
        if !ok {
            return None;
        }
        if let Context::Constant { what } = ctx {
            return self.error(Diagnostic::error(
                "E0204",
                format!("{what} must be a constant, but it takes a derivative"),
                span,
            ));
        }
        Some(differentiate(&body, &wrt))
    }

    /// The coordinate a derivative is taken with respect to.
    fn derivative_variable(&mut self, arg: &ast::Expr) -> Option<CoordId> {
        let coordinates = self.scope.coordinate_list();
        if let ExprKind::Index { base, index } = &arg.kind {
            return self.component(base, index, arg.span);
        }
        let ExprKind::Name(name) = &arg.kind else {
            self.diagnostics.push(
                Diagnostic::error(
                    "E0301",
                    "a derivative must be taken with respect to a coordinate name",
                    arg.span,
                )
                .with_label_message("not a coordinate")
                .with_note(format!("coordinates are {coordinates}")),
            );
            return None;
        };
        let def = self.scope.names.get(name.as_str()).cloned();
        let what = match def.as_ref().map(|d| &d.kind) {
            Some(NameKind::Coordinate(c)) => return Some(*c),
            Some(NameKind::Vector(_)) => "a vector coordinate (write one component, x[i])",
            Some(NameKind::Unknown(_)) => "an unknown",
            Some(NameKind::Constant(_)) => "a constant",
            Some(NameKind::Let(_)) => "a `let` expression",
            None if name == "pi" || name == "e" => "a constant",
            None => "not defined",
        };
        let message = if what == "not defined" {
            format!("derivative with respect to `{name}`, which is not a coordinate")
        } else {
            format!("derivative with respect to `{name}`, which is {what}, not a coordinate")
        };
        let mut d = Diagnostic::error("E0301", message, arg.span)
            .with_label_message("not a coordinate")
            .with_note(format!("coordinates are {coordinates}"));
        if let Some(def) = def {
            d = d.with_secondary(def.span, "defined here");
        }
        if !self.scope.has_time() && name == "t" {
            d = d.with_note("time derivatives need a time coordinate: declare `time t in [0, T]`");
        }
        self.diagnostics.push(d);
        None
    }
}

fn used_before_definition(name: &str, span: Span, defined: Span) -> Diagnostic {
    Diagnostic::error(
        "E0205",
        format!("`{name}` is used before its definition"),
        span,
    )
    .with_label_message("used here")
    .with_secondary(defined, "defined later here")
    .with_note("move the definition above its first use")
}

fn arity_error(name: &str, expected: usize, got: usize, span: Span) -> Diagnostic {
    let plural = |n: usize| if n == 1 { "" } else { "s" };
    Diagnostic::error(
        "E0208",
        format!(
            "`{name}` takes {expected} argument{}, got {got}",
            plural(expected)
        ),
        span,
    )
}

/// The sum of `terms` as a balanced tree (depth log2 n, so that sums over
/// a thousand coordinates stay shallow for the recursive passes).
pub fn balanced_sum(mut terms: Vec<Expr>) -> Expr {
    if terms.is_empty() {
        return Expr::Number(0.0);
    }
    while terms.len() > 1 {
        let mut next = Vec::with_capacity(terms.len().div_ceil(2));
        let mut it = terms.into_iter();
        while let Some(a) = it.next() {
            next.push(match it.next() {
                Some(b) => Expr::Binary(Op::Add, Box::new(a), Box::new(b)),
                None => a,
            });
        }
        terms = next;
    }
    terms.pop().expect("one term")
}

/// d/d(wrt...) of a checked expression: folded into the field's multi-index
/// when `e` is a bare field, otherwise a [`Expr::Derivative`] node for the
/// symbolic stage. Sums and negations are distributed so that `lap(u)` reads
/// `u_xx + u_yy`.
pub fn differentiate(e: &Expr, wrt: &[CoordId]) -> Expr {
    let Some((&first, rest)) = wrt.split_first() else {
        return e.clone();
    };
    let once = match e {
        Expr::Number(_) | Expr::Constant(..) => Expr::Number(0.0),
        Expr::Field {
            unknown,
            derivative,
        } => {
            let mut derivative = derivative.clone();
            derivative[first] = derivative[first].saturating_add(1);
            Expr::Field {
                unknown: *unknown,
                derivative,
            }
        }
        Expr::Neg(a) => Expr::Neg(Box::new(differentiate(a, &[first]))),
        Expr::Binary(op @ (Op::Add | Op::Sub), a, b) => Expr::Binary(
            *op,
            Box::new(differentiate(a, &[first])),
            Box::new(differentiate(b, &[first])),
        ),
        other => Expr::Derivative(Box::new(other.clone()), first),
    };
    differentiate(&once, rest)
}

/// All plain names mentioned in an AST expression.
pub fn names_in(e: &ast::Expr, out: &mut Vec<String>) {
    match &e.kind {
        ExprKind::Number(_) => {}
        ExprKind::Name(n) => out.push(n.clone()),
        ExprKind::Call { args, .. } => args.iter().for_each(|a| names_in(a, out)),
        ExprKind::Index { index, .. } => names_in(index, out),
        ExprKind::Neg(a) => names_in(a, out),
        ExprKind::Binary { lhs, rhs, .. } => {
            names_in(lhs, out);
            names_in(rhs, out);
        }
    }
}
