//! Stage 2, check: from the AST to a checked problem ([`Spec`]).
//!
//! Resolves every name, folds constants, inlines `let`s, validates
//! conditions, faces and settings, applies command-line overrides and fills
//! in defaults. All independent errors are reported in one run; the `Spec`
//! is returned only when there is no error (warnings may accompany it).
//! This stage does no I/O and never panics on any input.

pub mod memory;
mod names;
pub mod print;
mod settings;
mod shapes;
mod spec;

pub use names::BUILTIN_NAMES;
pub use print::{ExprPrinter, ProblemDump, Summary};
pub use settings::{Group, Kind, Overrides, Param, Schema, SCHEMAS};
pub use spec::*;

use std::collections::HashMap;

use crate::diag::{has_errors, Diagnostic, Span};
use crate::math::MathFn;
use crate::syntax::ast::{self, StatementKind};
use names::{ConstDef, Context, LetDef, NameDef, NameKind, Resolver, Scope};
use settings::ResolvedSetting;
use shapes::BoundaryPlaces;

/// The most points any one point set may have (a grid of n^d points is
/// checked against this before anything is allocated).
pub const MAX_POINTS: f64 = 2e7;

/// Checks a parsed file. Returns the problem if there were no errors, and
/// every diagnostic found (errors and warnings).
pub fn check(file: &ast::File, overrides: &Overrides) -> (Option<Spec>, Vec<Diagnostic>) {
    let mut diagnostics = Vec::new();
    let spec = Checker::new(&mut diagnostics).run(file, overrides);
    let spec = if has_errors(&diagnostics) { None } else { spec };
    (spec, diagnostics)
}

/// The most components a vector coordinate may have (the test set of
/// 20,000 points then takes 0.64 GB).
pub const MAX_VECTOR_DIMS: usize = 4096;

/// The value of a number, a `const`'s name or arithmetic on them, read
/// from the AST before constants are checked (for vector sizes). `None`
/// for anything else (coordinates, functions, cycles).
fn early_constant(file: &ast::File, e: &ast::Expr, depth: usize) -> Option<f64> {
    use ast::{BinOp, ExprKind};
    if depth > 32 {
        return None;
    }
    Some(match &e.kind {
        ExprKind::Number(v) => *v,
        ExprKind::Name(name) => {
            let body = file.statements.iter().find_map(|s| match &s.kind {
                StatementKind::Const(bindings) => bindings
                    .iter()
                    .find(|b| &b.name.name == name)
                    .map(|b| &b.value),
                _ => None,
            })?;
            early_constant(file, body, depth + 1)?
        }
        ExprKind::Neg(a) => -early_constant(file, a, depth + 1)?,
        ExprKind::Binary { op, lhs, rhs } => {
            let (a, b) = (
                early_constant(file, lhs, depth + 1)?,
                early_constant(file, rhs, depth + 1)?,
            );
            match op {
                BinOp::Add => a + b,
                BinOp::Sub => a - b,
                BinOp::Mul => a * b,
                BinOp::Div => a / b,
                BinOp::Pow => a.powf(b),
            }
        }
        ExprKind::Call { .. } | ExprKind::Index { .. } => return None,
    })
}

/// The name of the next condition of `kind`: `bc0`, `bc1`, ..., `initial0`, ...
fn condition_name(conditions: &[Condition], kind: ConditionKind) -> String {
    let mut groups: Vec<&str> = conditions
        .iter()
        .filter(|c| c.kind == kind)
        .map(|c| c.group.as_str())
        .collect();
    groups.dedup();
    let count = groups.len();
    match kind {
        ConditionKind::Boundary => format!("bc{count}"),
        ConditionKind::Initial => format!("initial{count}"),
    }
}

/// A statement that may appear at most once, and where it was first seen.
fn unique<'f>(
    file: &'f ast::File,
    keyword: &str,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<&'f ast::Statement> {
    let mut found: Option<&ast::Statement> = None;
    for statement in file
        .statements
        .iter()
        .filter(|s| s.kind.keyword() == keyword)
    {
        match found {
            None => found = Some(statement),
            Some(first) => diagnostics.push(
                Diagnostic::error(
                    "E0402",
                    format!("`{keyword}` is given more than once"),
                    statement.keyword,
                )
                .with_label_message("second one")
                .with_secondary(first.keyword, "first one here")
                .with_note(match keyword {
                    "domain" => "list every spatial coordinate in one `domain` statement",
                    _ => "keep one of them",
                }),
            ),
        }
    }
    found
}

struct Checker<'d> {
    diagnostics: &'d mut Vec<Diagnostic>,
    scope: Scope,
    /// The domain's shape, when it is not a box.
    shape: Option<crate::geometry::Shape>,
}

impl<'d> Checker<'d> {
    fn new(diagnostics: &'d mut Vec<Diagnostic>) -> Self {
        Checker {
            diagnostics,
            scope: Scope {
                coordinates: Vec::new(),
                vectors: Vec::new(),
                space_dims: 0,
                unknown_names: Vec::new(),
                names: HashMap::new(),
                constants: Vec::new(),
                lets: Vec::new(),
                normal: None,
                rejected: Default::default(),
            },
            shape: None,
        }
    }

    /// The size d of a vector coordinate (`[0, 1]^d`, `ball(d)`): an
    /// integer literal or a `const` (read before constants are checked, so
    /// that the coordinates exist when they are), from 1 to
    /// [`MAX_VECTOR_DIMS`].
    fn vector_size(&mut self, file: &ast::File, e: &ast::Expr) -> Option<usize> {
        let value = early_constant(file, e, 0);
        let Some(d) = value.filter(|d| d.fract() == 0.0 && *d >= 1.0) else {
            self.diagnostics.push(
                Diagnostic::error(
                    "E0420",
                    "the size of a vector coordinate must be a positive whole number",
                    e.span,
                )
                .with_label_message(match value {
                    Some(v) => format!("this is {}", fmt_num(v)),
                    None => "not an integer literal or a `const`".into(),
                })
                .with_note("write `domain x in [0, 1]^10`, or `const d = 10` and `[0, 1]^d`"),
            );
            return None;
        };
        if d > MAX_VECTOR_DIMS as f64 {
            self.diagnostics.push(
                Diagnostic::error(
                    "E0420",
                    format!(
                        "a vector coordinate of size {} does not fit in memory; at most {MAX_VECTOR_DIMS} components are supported",
                        fmt_num(d)
                    ),
                    e.span,
                )
                .with_label_message("too many components")
                .with_note(format!(
                    "the test set alone holds 20,000 points of d numbers ({:.1} GB at this size), and every training point carries d + 2 jet components per neuron",
                    20_000.0 * d * 8.0 / 1e9
                )),
            );
            return None;
        }
        Some(d as usize)
    }

    /// The shape of `x in ball(d, radius = r)`: one ball centred at 0 over
    /// the vector's components.
    fn ball_shape(&self, vector: usize, radius: f64) -> crate::geometry::Shape {
        use crate::geometry::{Primitive, PrimitiveEntry, Shape, ShapeNode};
        let v = &self.scope.vectors[vector];
        let text = if radius == 1.0 {
            format!("ball({})", v.len)
        } else {
            format!("ball({}, radius = {})", v.len, fmt_num(radius))
        };
        Shape {
            dims: v.len,
            primitives: vec![PrimitiveEntry {
                primitive: Primitive::Ball {
                    center: vec![0.0; v.len],
                    radius,
                },
                names: Vec::new(),
                text: text.clone(),
            }],
            root: ShapeNode::Primitive(0),
            bounds: vec![(-radius, radius); v.len],
            text: format!("{} in {text}", v.name),
        }
    }

    fn resolver(&mut self) -> Resolver<'_> {
        Resolver {
            scope: &mut self.scope,
            diagnostics: self.diagnostics,
        }
    }

    /// Defines a name, reporting clashes with built-ins, earlier names and
    /// the derivative notation. Returns false if the name was rejected.
    fn define(&mut self, ident: &ast::Ident, kind: NameKind) -> bool {
        let name = ident.name.as_str();
        if BUILTIN_NAMES.contains(&name) || MathFn::from_name(name).is_some() {
            self.diagnostics.push(
                Diagnostic::error(
                    "E0203",
                    format!("`{name}` is built in and cannot be redefined"),
                    ident.span,
                )
                .with_label_message("choose another name"),
            );
            self.scope.rejected.insert(name.to_string());
            return false;
        }
        if let Some(previous) = self.scope.names.get(name) {
            self.diagnostics.push(
                Diagnostic::error("E0202", format!("`{name}` is defined twice"), ident.span)
                    .with_label_message("second definition")
                    .with_secondary(previous.span, "first defined here"),
            );
            return false;
        }
        if !matches!(kind, NameKind::Unknown(_)) {
            if let Some((u, letters)) = self.scope.split_subscript(name) {
                let unknown = &self.scope.unknown_names[u];
                self.diagnostics.push(
                    Diagnostic::error(
                        "E0212",
                        format!("`{name}` clashes with the derivative notation of unknown `{unknown}`"),
                        ident.span,
                    )
                    .with_note(format!(
                        "`{unknown}_{letters}` already means a derivative of `{unknown}`; choose another name"
                    )),
                );
                return false;
            }
        }
        self.scope.names.insert(
            name.to_string(),
            NameDef {
                kind,
                span: ident.span,
            },
        );
        true
    }

    fn run(mut self, file: &ast::File, overrides: &Overrides) -> Option<Spec> {
        let title = unique(file, "problem", self.diagnostics).map(|s| match &s.kind {
            StatementKind::Problem { title } => title.clone(),
            _ => String::new(),
        });
        let domain = unique(file, "domain", self.diagnostics);
        let time = unique(file, "time", self.diagnostics);
        if domain.is_none() {
            // Without coordinates every expression would fail to resolve;
            // report the one real mistake.
            self.diagnostics.push(
                Diagnostic::error("E0401", "missing `domain` statement", Span::new(0, 0))
                    .with_note("declare the spatial box, e.g. `domain x in [0, 1]`"),
            );
            return None;
        }

        // 1. Declarations: coordinates, unknowns, then consts and lets.
        // Coordinates of every `domain` statement (a second one was reported
        // above; keeping its coordinates avoids follow-up errors).
        // (coordinate id, interval) for every coordinate declared with an
        // interval; a shaped domain's coordinates get theirs from the shape.
        let mut intervals: Vec<(CoordId, &ast::IntervalDecl)> = Vec::new();
        // (name, declaration) per coordinate; a vector coordinate's
        // components share its name's declaration.
        let mut coordinate_names: Vec<(String, &ast::Ident)> = Vec::new();
        let mut shape_domain: Option<&ast::ShapeExpr> = None;
        // (vector index, radius) of `x in ball(d, radius = r)`.
        let mut ball_domain: Option<(usize, Option<&ast::Expr>)> = None;
        let mut vectors: Vec<(&ast::Ident, usize)> = Vec::new();
        let mut vector_failed = false;
        let add_vector = |this: &mut Self,
                          name: &ast::Ident,
                          dims: &ast::Expr,
                          alone: bool|
         -> Option<usize> {
            let d = this.vector_size(file, dims)?;
            if !alone {
                this.diagnostics.push(
                        Diagnostic::error(
                            "E0421",
                            format!("vector coordinate `{}` must be the domain's only spatial coordinate", name.name),
                            name.span,
                        )
                        .with_note("write `domain x in [0, 1]^d` alone; the time coordinate is declared with `time`"),
                    );
                return None;
            }
            Some(d)
        };
        for statement in &file.statements {
            match &statement.kind {
                StatementKind::Domain(list) => {
                    for decl in list {
                        match &decl.power {
                            Some(power) => {
                                let alone = list.len() == 1;
                                let size = add_vector(&mut self, &decl.name, power, alone);
                                vector_failed |= size.is_none();
                                if let Some(d) = size {
                                    intervals.push((coordinate_names.len(), decl));
                                    vectors.push((&decl.name, coordinate_names.len()));
                                    for i in 1..=d {
                                        coordinate_names
                                            .push((format!("{}[{i}]", decl.name.name), &decl.name));
                                    }
                                }
                            }
                            None => {
                                intervals.push((coordinate_names.len(), decl));
                                coordinate_names.push((decl.name.name.clone(), &decl.name));
                            }
                        }
                    }
                }
                StatementKind::ShapeDomain { coordinates, shape } => {
                    coordinate_names.extend(coordinates.iter().map(|c| (c.name.clone(), c)));
                    shape_domain.get_or_insert(shape);
                }
                StatementKind::BallDomain { name, dims, radius } => {
                    let size = add_vector(&mut self, name, dims, true);
                    vector_failed |= size.is_none();
                    if let Some(d) = size {
                        ball_domain.get_or_insert((vectors.len(), radius.as_ref()));
                        vectors.push((name, coordinate_names.len()));
                        for i in 1..=d {
                            coordinate_names.push((format!("{}[{i}]", name.name), name));
                        }
                    }
                }
                _ => {}
            }
        }
        if vector_failed {
            // A vector coordinate without a size: every expression using
            // its components would fail to resolve; report the one mistake.
            return None;
        }
        let space_dims = coordinate_names.len();
        if let Some(StatementKind::Time(decl)) = time.map(|s| &s.kind) {
            intervals.push((space_dims, decl));
            coordinate_names.push((decl.name.name.clone(), &decl.name));
        }
        for (id, (name, ident)) in coordinate_names.iter().enumerate() {
            self.scope.coordinates.push(Coordinate {
                name: name.clone(),
                lo: 0.0,
                hi: 1.0,
                is_time: id >= space_dims,
                span: ident.span,
            });
            if !name.ends_with(']') {
                self.define(ident, NameKind::Coordinate(id));
            }
        }
        for (v, &(ident, first)) in vectors.iter().enumerate() {
            let len = coordinate_names[first..]
                .iter()
                .take_while(|(_, i)| std::ptr::eq(*i, ident))
                .count();
            if self.define(ident, NameKind::Vector(v)) {
                self.scope.vectors.push(names::VectorDef {
                    name: ident.name.clone(),
                    first,
                    len,
                });
            } else {
                self.scope.vectors.push(names::VectorDef {
                    name: ident.name.clone(),
                    first,
                    len,
                });
            }
        }
        self.scope.space_dims = space_dims;
        if !has_unknown_statement(file) {
            self.diagnostics.push(
                Diagnostic::error("E0409", "missing `unknown` statement", Span::new(0, 0))
                    .with_note("declare the unknown fields, e.g. `unknown u`"),
            );
            return None;
        }
        let mut unknowns = Vec::new();
        for statement in &file.statements {
            if let StatementKind::Unknown(list) = &statement.kind {
                for ident in list {
                    if self.define(ident, NameKind::Unknown(unknowns.len())) {
                        self.scope.unknown_names.push(ident.name.clone());
                        unknowns.push(Unknown {
                            name: ident.name.clone(),
                            span: ident.span,
                        });
                    }
                }
            }
        }
        for statement in &file.statements {
            match &statement.kind {
                StatementKind::Const(bindings) => {
                    for b in bindings {
                        let index = self.scope.constants.len();
                        if self.define(&b.name, NameKind::Constant(index)) {
                            self.scope.constants.push(ConstDef {
                                name: b.name.name.clone(),
                                value: None,
                                span: b.span,
                            });
                        }
                    }
                }
                StatementKind::Let(bindings) => {
                    for b in bindings {
                        let index = self.scope.lets.len();
                        if self.define(&b.name, NameKind::Let(index)) {
                            self.scope.lets.push(LetDef {
                                name: b.name.name.clone(),
                                body: b.value.clone(),
                                span: b.span,
                                resolved: None,
                            });
                        }
                    }
                }
                _ => {}
            }
        }

        // 2. Constants, in source order (a const sees the ones before it).
        for statement in &file.statements {
            if let StatementKind::Const(bindings) = &statement.kind {
                for b in bindings {
                    let Some(index) = self.scope.constants.iter().position(|c| c.span == b.span)
                    else {
                        continue;
                    };
                    let what = format!("const `{}`", b.name.name);
                    let value = self.constant(&b.value, &what);
                    self.scope.constants[index].value = value;
                }
            }
        }

        // 3. Coordinate intervals.
        let mut domain_ok = true;
        for &(id, decl) in &intervals {
            let lo = self.constant(&decl.lo, "a domain bound");
            let hi = self.constant(&decl.hi, "a domain bound");
            match (lo, hi) {
                (Some(lo), Some(hi)) if lo < hi => {
                    self.scope.coordinates[id].lo = lo;
                    self.scope.coordinates[id].hi = hi;
                }
                (Some(lo), Some(hi)) => {
                    domain_ok = false;
                    self.diagnostics.push(
                        Diagnostic::error(
                            "E0403",
                            format!(
                                "empty interval for `{}`: [{lo}, {hi}] needs lo < hi",
                                decl.name.name
                            ),
                            decl.lo.span.to(decl.hi.span),
                        )
                        .with_label_message("lower bound is not below upper bound"),
                    );
                }
                _ => domain_ok = false,
            }
        }

        // 3a. A vector coordinate's components share its interval.
        for v in &self.scope.vectors {
            let (lo, hi) = (
                self.scope.coordinates[v.first].lo,
                self.scope.coordinates[v.first].hi,
            );
            for c in &mut self.scope.coordinates[v.first + 1..v.first + v.len] {
                c.lo = lo;
                c.hi = hi;
            }
        }
        if let Some((v, radius_expr)) = ball_domain {
            let radius = match radius_expr {
                Some(r) => self.constant(r, "a radius"),
                None => Some(1.0),
            };
            match radius {
                Some(r) if r > 0.0 && r.is_finite() => {
                    let shape = self.ball_shape(v, r);
                    for (c, &(lo, hi)) in shape.bounds.iter().enumerate() {
                        self.scope.coordinates[c].lo = lo;
                        self.scope.coordinates[c].hi = hi;
                    }
                    self.shape = Some(shape);
                }
                Some(r) => {
                    domain_ok = false;
                    self.diagnostics.push(Diagnostic::error(
                        "E0403",
                        format!("the radius of a ball must be positive, got {}", fmt_num(r)),
                        radius_expr.map_or(Span::new(0, 0), |r| r.span),
                    ));
                }
                None => domain_ok = false,
            }
        }

        // 3b. The shape of a shaped domain, whose bounding box gives the
        // coordinates' intervals.
        if let Some(shape) = shape_domain {
            match self.domain_shape(file, shape, space_dims, time) {
                Some(shape) => {
                    for (c, &(lo, hi)) in shape.bounds.iter().enumerate() {
                        self.scope.coordinates[c].lo = lo;
                        self.scope.coordinates[c].hi = hi;
                    }
                    self.shape = Some(shape);
                }
                None => domain_ok = false,
            }
        }

        // 4. Lets, in source order.
        for index in 0..self.scope.lets.len() {
            let body = self.scope.lets[index].body.clone();
            let resolved = self.resolver().resolve(&body, Context::Let { index });
            self.scope.lets[index].resolved = resolved;
        }

        // 5. Equations, conditions, exact solutions.
        let mut equations = Vec::new();
        let mut conditions = Vec::new();
        let mut exact: Vec<Option<Expr>> = vec![None; unknowns.len()];
        let mut exact_spans: Vec<Option<Span>> = vec![None; unknowns.len()];
        let mut initial_data: Option<InitialData> = None;
        let mut references: Vec<Reference> = Vec::new();
        for statement in &file.statements {
            match &statement.kind {
                StatementKind::Equation { relation, weight } => {
                    let rel = self.relation(relation, "an equation");
                    let weight = self.weight(weight.as_ref());
                    if let (Some((lhs, rhs)), Some(weight)) = (rel, weight) {
                        equations.push(Equation {
                            lhs,
                            rhs,
                            weight,
                            span: relation.span,
                        });
                    }
                }
                StatementKind::Bc {
                    relation,
                    faces,
                    weight,
                } => {
                    let places = self.faces(faces, domain_ok);
                    let weight = self.weight(weight.as_ref());
                    let group = condition_name(&conditions, ConditionKind::Boundary);
                    let Some(places) = places else {
                        // Still resolve the relation for its own errors.
                        let _ = self.relation(relation, "a boundary condition");
                        continue;
                    };
                    // A condition with `dn` is resolved once per side, each
                    // with that side's exact normal; others once for all.
                    let parts: Vec<BoundaryPlaces> = if shapes::calls(&relation.lhs, "dn")
                        || shapes::calls(&relation.rhs, "dn")
                    {
                        places.split_per_side()
                    } else {
                        vec![places]
                    };
                    let count = parts.len();
                    for (k, part) in parts.into_iter().enumerate() {
                        self.scope.normal = part.normal.clone();
                        let rel = self.relation(relation, "a boundary condition");
                        self.scope.normal = None;
                        if let (Some((lhs, rhs)), Some(weight)) = (rel, weight) {
                            conditions.push(Condition {
                                kind: ConditionKind::Boundary,
                                name: if count == 1 {
                                    group.clone()
                                } else {
                                    format!("{group}_{}", k + 1)
                                },
                                group: group.clone(),
                                place: part.label,
                                lhs,
                                rhs,
                                faces: part.faces,
                                sides: part.sides,
                                periodic: None,
                                weight,
                                span: statement.span,
                            });
                        } else {
                            break;
                        }
                    }
                }
                StatementKind::Periodic {
                    coordinates,
                    weight,
                } => {
                    let weight = self.weight(weight.as_ref());
                    let group = condition_name(&conditions, ConditionKind::Boundary);
                    let mut parts = Vec::new();
                    for c in coordinates {
                        let Some(id) = self.periodic_coordinate(c, domain_ok) else {
                            continue;
                        };
                        // u, u_x, ... up to the equations' order in c minus 1.
                        let order = equations
                            .iter()
                            .map(|e: &Equation| e.residual().max_derivative_order_in(id))
                            .max()
                            .unwrap_or(1)
                            .max(1);
                        for u in 0..unknowns.len() {
                            for j in 0..order {
                                let mut derivative = vec![0u8; self.scope.coordinates.len()];
                                derivative[id] = j as u8;
                                parts.push((
                                    id,
                                    Expr::Field {
                                        unknown: u,
                                        derivative,
                                    },
                                ));
                            }
                        }
                    }
                    let Some(weight) = weight else { continue };
                    let count = parts.len();
                    for (k, (id, field)) in parts.into_iter().enumerate() {
                        conditions.push(Condition {
                            kind: ConditionKind::Boundary,
                            name: if count == 1 {
                                group.clone()
                            } else {
                                format!("{group}_{}", k + 1)
                            },
                            group: group.clone(),
                            place: Some(format!("periodic in {}", self.scope.coordinates[id].name)),
                            lhs: field,
                            rhs: Expr::Number(0.0),
                            faces: vec![Face {
                                coordinate: id,
                                side: Side::Lo,
                            }],
                            sides: Vec::new(),
                            periodic: Some(id),
                            weight,
                            span: statement.span,
                        });
                    }
                }
                StatementKind::Initial { relation, weight } => {
                    let rel = self.relation(relation, "an initial condition");
                    let weight = self.weight(weight.as_ref());
                    if time.is_none() {
                        self.diagnostics.push(
                            Diagnostic::error(
                                "E0407",
                                "`initial` needs a time coordinate",
                                statement.keyword,
                            )
                            .with_note(
                                "declare `time t in [0, T]`, or use `bc` for a stationary problem",
                            ),
                        );
                        continue;
                    }
                    if let (Some((lhs, rhs)), Some(weight)) = (rel, weight) {
                        let name = condition_name(&conditions, ConditionKind::Initial);
                        conditions.push(Condition {
                            kind: ConditionKind::Initial,
                            group: name.clone(),
                            name,
                            place: None,
                            lhs,
                            rhs,
                            faces: vec![Face {
                                coordinate: space_dims,
                                side: Side::Lo,
                            }],
                            sides: Vec::new(),
                            periodic: None,
                            weight,
                            span: statement.span,
                        });
                    }
                }
                StatementKind::InitialData {
                    unknown,
                    path,
                    path_span,
                } => {
                    let target = match self.scope.names.get(&unknown.name) {
                        Some(NameDef {
                            kind: NameKind::Unknown(u),
                            ..
                        }) => Some(*u),
                        _ => {
                            self.diagnostics.push(
                                Diagnostic::error(
                                    "E0210",
                                    format!(
                                        "initial data for `{}`, which is not a declared unknown",
                                        unknown.name
                                    ),
                                    unknown.span,
                                )
                                .with_label_message("not an unknown"),
                            );
                            None
                        }
                    };
                    if time.is_none() {
                        self.diagnostics.push(
                            Diagnostic::error(
                                "E0407",
                                "`initial` needs a time coordinate",
                                statement.keyword,
                            )
                            .with_note("declare `time t in [0, T]`"),
                        );
                    } else if let Some(first) = &initial_data {
                        self.diagnostics.push(
                            Diagnostic::error(
                                "E0402",
                                "second `initial ... = data(...)`",
                                *path_span,
                            )
                            .with_secondary(first.span, "first one here"),
                        );
                    } else if let Some(u) = target {
                        initial_data = Some(InitialData {
                            unknown: u,
                            path: path.clone(),
                            span: *path_span,
                        });
                    }
                }
                StatementKind::Exact { unknown, value } => {
                    let target = match self.scope.names.get(&unknown.name) {
                        Some(NameDef {
                            kind: NameKind::Unknown(u),
                            ..
                        }) => Some(*u),
                        _ => {
                            let declared: Vec<&str> =
                                unknowns.iter().map(|u| u.name.as_str()).collect();
                            self.diagnostics.push(
                                Diagnostic::error(
                                    "E0210",
                                    format!(
                                        "exact solution for `{}`, which is not a declared unknown",
                                        unknown.name
                                    ),
                                    unknown.span,
                                )
                                .with_label_message("not an unknown")
                                .with_note(
                                    if declared.is_empty() {
                                        "no unknowns are declared; add `unknown u`".to_string()
                                    } else {
                                        format!("unknowns are {}", declared.join(", "))
                                    },
                                ),
                            );
                            None
                        }
                    };
                    let value = self.resolver().resolve(value, Context::Exact);
                    if let Some(u) = target {
                        if let Some(first) = exact_spans[u] {
                            self.diagnostics.push(
                                Diagnostic::error(
                                    "E0402",
                                    format!("second exact solution for `{}`", unknown.name),
                                    unknown.span,
                                )
                                .with_secondary(first, "first one here"),
                            );
                        }
                        exact_spans[u] = Some(unknown.span);
                        exact[u] = value;
                    }
                }
                StatementKind::Reference {
                    unknown,
                    function,
                    path,
                    path_span,
                } => {
                    if function.name != "data" {
                        self.diagnostics.push(
                            Diagnostic::error(
                                "E0417",
                                format!("unknown reference source `{}`", function.name),
                                function.span,
                            )
                            .with_label_message("not a source")
                            .with_note("write reference u = data(\"file.csv\")"),
                        );
                        continue;
                    }
                    match self.scope.names.get(&unknown.name) {
                        Some(NameDef {
                            kind: NameKind::Unknown(u),
                            ..
                        }) => {
                            let u = *u;
                            if let Some(first) = references.iter().find(|r| r.unknown == u) {
                                self.diagnostics.push(
                                    Diagnostic::error(
                                        "E0402",
                                        format!("second reference for `{}`", unknown.name),
                                        unknown.span,
                                    )
                                    .with_secondary(first.span, "first one here"),
                                );
                            }
                            references.push(Reference {
                                unknown: u,
                                path: path.clone(),
                                span: *path_span,
                                table: None,
                            });
                        }
                        _ => self.diagnostics.push(
                            Diagnostic::error(
                                "E0210",
                                format!(
                                    "reference for `{}`, which is not a declared unknown",
                                    unknown.name
                                ),
                                unknown.span,
                            )
                            .with_label_message("not an unknown"),
                        ),
                    }
                }
                _ => {}
            }
        }

        // Weights from the command line, once the conditions are all known.
        if !has_errors(self.diagnostics) {
            self.weight_overrides(&mut conditions, &overrides.weights);
        }

        // 6. Structure: unknowns, equations, conditions.
        let file_start = Span::new(0, 0);
        if !file
            .statements
            .iter()
            .any(|s| matches!(s.kind, StatementKind::Equation { .. }))
        {
            self.diagnostics.push(
                Diagnostic::error("E0409", "missing `equation` statement", file_start)
                    .with_note("write the PDE, e.g. `equation -u_xx = 1`"),
            );
        } else if !equations.is_empty() {
            let mut unused_unknown = false;
            for (u, unknown) in unknowns.iter().enumerate() {
                let used = equations
                    .iter()
                    .any(|e| uses_unknown(&e.lhs, u) || uses_unknown(&e.rhs, u));
                if !used {
                    unused_unknown = true;
                    self.diagnostics.push(
                        Diagnostic::error(
                            "E0408",
                            format!("unknown `{}` appears in no equation", unknown.name),
                            unknown.span,
                        )
                        .with_label_message("declared here")
                        .with_note(
                            "every unknown must be determined by an equation; remove it or use it",
                        ),
                    );
                }
            }
            let counted = file
                .statements
                .iter()
                .filter(|s| matches!(s.kind, StatementKind::Equation { .. }))
                .count();
            if counted != unknowns.len() && !unknowns.is_empty() && !unused_unknown {
                let first_unknown = unknowns[0].span;
                self.diagnostics.push(
                    Diagnostic::warning(
                        "W0601",
                        format!(
                            "{counted} equation{} for {} unknown{}",
                            if counted == 1 { "" } else { "s" },
                            unknowns.len(),
                            if unknowns.len() == 1 { "" } else { "s" }
                        ),
                        first_unknown,
                    )
                    .with_label_message("unknowns declared here")
                    .with_note(if counted > unknowns.len() {
                        "the system is overdetermined; training minimizes the sum of all residuals"
                    } else {
                        "the system is underdetermined; its solution is not unique"
                    }),
                );
            }
        }

        // 7. Settings.
        let linearity = equations
            .iter()
            .map(|e| Linearity::of(&e.residual()))
            .chain(conditions.iter().map(|c| Linearity::of(&c.residual())))
            .max()
            .unwrap_or(Linearity::Linear);
        let dims = self.scope.coordinates.len();
        let settings = self.settings(file, overrides, linearity, dims, time.is_some());

        let scheme = self.scheme(file, overrides);
        let formulation_stmt = unique(file, "formulation", self.diagnostics).and_then(setting_of);
        let formulation = self
            .resolver()
            .setting(
                Group::Formulation,
                formulation_stmt,
                "primal",
                overrides,
                &|_| 0.0,
            )
            .map(|s| match s.schema.name {
                "flux" => Formulation::Flux,
                _ => Formulation::Primal,
            });
        let periodic_inputs = self.periodic_inputs(file);
        let (ansatz, diff, train, sampling) = settings?;
        let formulation = formulation?;
        if has_errors(self.diagnostics) {
            return None;
        }
        Some(Spec {
            title,
            coordinates: self.scope.coordinates,
            space_dims,
            shape: self.shape,
            unknowns,
            equations,
            conditions,
            exact,
            references,
            constants: self
                .scope
                .constants
                .iter()
                .map(|c| (c.name.clone(), c.value.unwrap_or(f64::NAN)))
                .collect(),
            ansatz,
            periodic_inputs,
            diff,
            train,
            sampling,
            linearity,
            scheme,
            formulation,
            initial_data,
        })
    }

    /// Resolves the `scheme` statement (read by `pdec simulate`); parameters
    /// not written stay unset, for the simulation to default.
    fn scheme(&mut self, file: &ast::File, overrides: &Overrides) -> Option<SchemeSetting> {
        let stmt = unique(file, "scheme", self.diagnostics).and_then(setting_of)?;
        let unset = |_: &str| f64::NAN;
        let resolved =
            self.resolver()
                .setting(Group::Scheme, Some(stmt), "explicit", overrides, &unset)?;
        let number = |key: &str| {
            resolved.values.get(key).and_then(|v| match v {
                settings::Value::Number(x) if !x.is_nan() => Some(*x),
                _ => None,
            })
        };
        let solver = resolved.values.get("solver").and_then(|v| match v {
            settings::Value::Name(n) => Some(n.to_string()),
            _ => None,
        });
        Some(SchemeSetting {
            name: resolved.schema.name.to_string(),
            grid: number("grid").map(|g| g as usize),
            tau: number("tau"),
            t_end: number("t_end"),
            cycles: number("cycles").map(|c| c as usize),
            solver,
            span: stmt.span,
        })
    }

    /// Resolves and evaluates a constant expression; reports non-finite values.
    fn constant(&mut self, e: &ast::Expr, what: &str) -> Option<f64> {
        let value = self
            .resolver()
            .resolve(e, Context::Constant { what })?
            .eval_constant()?;
        if value.is_finite() {
            Some(value)
        } else {
            self.diagnostics.push(
                Diagnostic::error("E0404", format!("{what} evaluates to {value}"), e.span)
                    .with_label_message("not a finite number"),
            );
            None
        }
    }

    /// Resolves `lhs = rhs` of an equation or condition; it must involve an unknown.
    fn relation(&mut self, relation: &ast::Relation, what: &str) -> Option<(Expr, Expr)> {
        let lhs = self.resolver().resolve(&relation.lhs, Context::Residual);
        let rhs = self.resolver().resolve(&relation.rhs, Context::Residual);
        let (lhs, rhs) = (lhs?, rhs?);
        if !lhs.has_unknowns() && !rhs.has_unknowns() {
            self.diagnostics.push(
                Diagnostic::error(
                    "E0410",
                    format!("{what} without any unknown"),
                    relation.span,
                )
                .with_label_message("involves no unknown")
                .with_note("an equation or condition must constrain at least one unknown"),
            );
            return None;
        }
        Some((lhs, rhs))
    }

    /// Applies `--weight NAME=W` flags in order: NAME is a condition's name
    /// (`bc0`, `initial1`, ...) or `bc` / `initial` for every condition of
    /// that kind.
    fn weight_overrides(&mut self, conditions: &mut [Condition], weights: &[(String, f64)]) {
        for (name, weight) in weights {
            if !(weight.is_finite() && *weight > 0.0) {
                self.diagnostics.push(Diagnostic::error_without_span(
                    "E0504",
                    format!("--weight {name}={weight}: a weight must be positive and finite"),
                ));
                continue;
            }
            let mut matched = false;
            for c in conditions.iter_mut() {
                let kind_name = match c.kind {
                    ConditionKind::Boundary => "bc",
                    ConditionKind::Initial => "initial",
                };
                if c.name == *name || c.group == *name || kind_name == name {
                    c.weight = *weight;
                    matched = true;
                }
            }
            if !matched {
                let names: Vec<&str> = conditions.iter().map(|c| c.name.as_str()).collect();
                let note = if names.is_empty() {
                    "the problem has no conditions".to_string()
                } else {
                    format!(
                        "the conditions are {} (or `bc` / `initial` for all of a kind)",
                        names.join(", ")
                    )
                };
                self.diagnostics.push(
                    Diagnostic::error_without_span(
                        "E0510",
                        format!("--weight {name}={weight}: no condition is named `{name}`"),
                    )
                    .with_note(note),
                );
            }
        }
    }

    fn weight(&mut self, weight: Option<&ast::Expr>) -> Option<f64> {
        let Some(e) = weight else {
            return Some(1.0);
        };
        let w = self.constant(e, "a weight")?;
        if w > 0.0 {
            Some(w)
        } else {
            self.diagnostics.push(
                Diagnostic::error("E0411", format!("weight must be positive, got {w}"), e.span)
                    .with_label_message("not positive"),
            );
            None
        }
    }

    /// The coordinates of `ansatz ... periodic in x, theta` (sorted): each
    /// an interval coordinate of a box, not the time (E0416).
    fn periodic_inputs(&mut self, file: &ast::File) -> Vec<usize> {
        let names = file.statements.iter().find_map(|s| match &s.kind {
            StatementKind::Ansatz(_, names) => Some(names),
            _ => None,
        });
        let mut out = Vec::new();
        for name in names.into_iter().flatten() {
            let problem = match self.scope.names.get(&name.name) {
                Some(NameDef {
                    kind: NameKind::Coordinate(c),
                    ..
                }) => {
                    if self.scope.coordinates[*c].is_time {
                        Some("the time coordinate cannot be periodic".to_string())
                    } else if self.shape.is_some() {
                        Some("an exactly periodic ansatz needs a box domain".to_string())
                    } else if out.contains(c) {
                        Some(format!("`{}` is listed twice", name.name))
                    } else {
                        out.push(*c);
                        None
                    }
                }
                Some(NameDef {
                    kind: NameKind::Vector(_),
                    ..
                }) => Some(format!(
                    "`{}` is a vector coordinate, not an interval `{} in [lo, hi]`",
                    name.name, name.name
                )),
                _ => Some(format!("`{}` is not a coordinate", name.name)),
            };
            if let Some(message) = problem {
                self.diagnostics.push(
                    Diagnostic::error(
                        "E0416",
                        format!("`ansatz ... periodic in {}`: {message}", name.name),
                        name.span,
                    )
                    .with_note(
                        "the periodic ansatz maps a spatial interval coordinate of a box, \
                         x in [lo, hi], to cos and sin of 2 pi (x - lo) / (hi - lo)",
                    ),
                );
            }
        }
        out.sort_unstable();
        out
    }

    /// The coordinate of `bc periodic in NAME`: spatial, of a box domain.
    fn periodic_coordinate(&mut self, name: &ast::Ident, domain_ok: bool) -> Option<CoordId> {
        let id = match self.scope.names.get(&name.name) {
            Some(NameDef {
                kind: NameKind::Coordinate(c),
                ..
            }) => *c,
            _ => {
                self.diagnostics.push(
                    Diagnostic::error(
                        "E0416",
                        format!(
                            "`periodic in {}`: `{}` is not a coordinate",
                            name.name, name.name
                        ),
                        name.span,
                    )
                    .with_label_message("not a coordinate"),
                );
                return None;
            }
        };
        if self.scope.coordinates[id].is_time || self.shape.is_some() {
            self.diagnostics.push(
                Diagnostic::error(
                    "E0416",
                    if self.shape.is_some() {
                        "`bc periodic` needs a box domain".to_string()
                    } else {
                        format!("`periodic in {}`: the time coordinate cannot be periodic", name.name)
                    },
                    name.span,
                )
                .with_note("periodic conditions join the two faces of a spatial interval: domain x in [lo, hi]"),
            );
            return None;
        }
        domain_ok.then_some(id)
    }

    /// Resolves where a `bc` holds: faces of a box, or sides of a shape.
    fn faces(&mut self, faces: &[ast::Face], domain_ok: bool) -> Option<BoundaryPlaces> {
        if self.shape.is_some()
            || !domain_ok && faces.iter().any(|f| matches!(f, ast::Face::Piece(_)))
        {
            return self.shape_sides(faces);
        }
        let mut out = Vec::new();
        let mut ok = true;
        for face in faces {
            match face {
                ast::Face::Boundary(_) => {
                    for c in 0..self.scope.space_dims {
                        out.push(Face {
                            coordinate: c,
                            side: Side::Lo,
                        });
                        out.push(Face {
                            coordinate: c,
                            side: Side::Hi,
                        });
                    }
                }
                ast::Face::Coordinate {
                    coordinate,
                    value,
                    span,
                } => match self.face(coordinate, value, *span, domain_ok) {
                    Some(f) => out.push(f),
                    None => ok = false,
                },
                ast::Face::Piece(name) => {
                    ok = false;
                    self.diagnostics.push(
                        Diagnostic::error(
                            "E0414",
                            format!("`{}` is not a boundary piece: the domain is a box", name.name),
                            name.span,
                        )
                        .with_label_message("not a face")
                        .with_note("a box's faces are written `on x = bound` or `on boundary`; named pieces belong to shaped domains (`domain (x, y) in ...`)"),
                    );
                }
            }
        }
        let mut unique = Vec::new();
        for f in out {
            if !unique.contains(&f) {
                unique.push(f);
            }
        }
        ok.then(|| BoundaryPlaces::faces(unique, self.scope.space_dims))
    }

    fn face(
        &mut self,
        coordinate: &ast::Ident,
        value: &ast::Expr,
        span: Span,
        domain_ok: bool,
    ) -> Option<Face> {
        let name = coordinate.name.as_str();
        let c = match self.scope.names.get(name) {
            Some(NameDef {
                kind: NameKind::Coordinate(c),
                ..
            }) => *c,
            _ => {
                let spatial: Vec<&str> = self.scope.coordinates[..self.scope.space_dims]
                    .iter()
                    .map(|c| c.name.as_str())
                    .collect();
                self.diagnostics.push(
                    Diagnostic::error(
                        "E0405",
                        format!("`{name}` in `on {name} = ...` is not a coordinate"),
                        coordinate.span,
                    )
                    .with_label_message("not a coordinate")
                    .with_note(format!(
                        "faces are written `on x = bound` with a spatial coordinate ({}) or `on boundary`",
                        spatial.join(", ")
                    )),
                );
                return None;
            }
        };
        let v = self.constant(value, "a face position")?;
        let coord = &self.scope.coordinates[c];
        if coord.is_time {
            self.diagnostics.push(
                Diagnostic::error(
                    "E0406",
                    format!("`bc` on the time coordinate `{name}`"),
                    span,
                )
                .with_label_message("boundary conditions hold on spatial faces")
                .with_note(format!(
                    "write conditions at {name} = {} with `initial`",
                    fmt_num(coord.lo)
                )),
            );
            return None;
        }
        if !domain_ok {
            return None;
        }
        let tolerance = 1e-12 * coord.lo.abs().max(coord.hi.abs()).max(1.0);
        let side = if (v - coord.lo).abs() <= tolerance {
            Side::Lo
        } else if (v - coord.hi).abs() <= tolerance {
            Side::Hi
        } else {
            self.diagnostics.push(
                Diagnostic::error(
                    "E0405",
                    format!("{name} = {} is not a face of the domain", fmt_num(v)),
                    span,
                )
                .with_label_message("not a bound of the interval")
                .with_note(format!(
                    "{name} in [{lo}, {hi}] has the faces {name} = {lo} and {name} = {hi}",
                    lo = fmt_num(coord.lo),
                    hi = fmt_num(coord.hi)
                )),
            );
            return None;
        };
        Some(Face {
            coordinate: c,
            side,
        })
    }

    /// Resolves ansatz, diff, train and sample settings and their combinations.
    fn settings(
        &mut self,
        file: &ast::File,
        overrides: &Overrides,
        linearity: Linearity,
        dims: usize,
        has_time: bool,
    ) -> Option<(Ansatz, DiffMode, Trainer, Sampling)> {
        let ansatz_stmt = unique(file, "ansatz", self.diagnostics).and_then(setting_of);
        let diff_stmt = unique(file, "diff", self.diagnostics).and_then(setting_of);
        let train_stmt = unique(file, "train", self.diagnostics).and_then(setting_of);
        let no_dynamic = |_: &str| 0.0;

        let ansatz = self
            .resolver()
            .setting(Group::Ansatz, ansatz_stmt, "rfm", overrides, &no_dynamic)
            .map(|s| ansatz_from(&s));
        let diff_setting =
            self.resolver()
                .setting(Group::Diff, diff_stmt, "ad", overrides, &no_dynamic);
        let diff = diff_setting.as_ref().map(diff_from);
        if let Some(DiffMode::Fd { h, .. }) = diff {
            let narrowest = self
                .scope
                .coordinates
                .iter()
                .map(|c| (c.hi - c.lo, c.name.as_str()))
                .fold((f64::INFINITY, ""), |a, b| if b.0 < a.0 { b } else { a });
            if h >= narrowest.0 {
                let message = format!(
                    "finite-difference step h = {h} is not smaller than the domain ({} has width {})",
                    narrowest.1,
                    fmt_num(narrowest.0)
                );
                self.combination_error(
                    message,
                    diff_setting.as_ref().and_then(|s| s.span),
                    "the stencils sample the network at x +- h; choose h well below the interval widths",
                );
            }
        }
        let default_trainer = match (&ansatz, linearity) {
            (Some(Ansatz::Shallow { .. } | Ansatz::Mlp { .. }), _) => "adam",
            (_, Linearity::Nonlinear) => "gauss_newton",
            _ => "lstsq",
        };
        let train_setting = self.resolver().setting(
            Group::Train,
            train_stmt,
            default_trainer,
            overrides,
            &no_dynamic,
        );
        let train = train_setting.as_ref().map(trainer_from);
        let sampling = self.sampling(file, dims, has_time);

        // Combinations that cannot work.
        if let (Some(ansatz), Some(train)) = (&ansatz, &train) {
            let train_span = train_setting.as_ref().and_then(|s| s.span);
            let flag_note = || {
                if overrides.train.is_some() {
                    " (set by --train)"
                } else {
                    ""
                }
            };
            match (ansatz, train) {
                (Ansatz::Shallow { .. }, Trainer::Lstsq { .. } | Trainer::GaussNewton { .. }) => {
                    self.combination_error(
                        format!(
                            "`train {}`{} fits only output weights; it cannot train a `shallow` network",
                            train.name(),
                            flag_note()
                        ),
                        train_span,
                        "use `train adam` or `train lbfgs` with `ansatz shallow`, or `ansatz rfm`",
                    );
                }
                (Ansatz::Mlp { .. }, Trainer::Lstsq { .. }) => {
                    self.combination_error(
                        format!(
                            "`train lstsq`{} fits only output weights; it cannot train an `mlp` network",
                            flag_note()
                        ),
                        train_span,
                        "use `train adam`, `train lbfgs` or `train gauss_newton` with `ansatz mlp`",
                    );
                }
                (Ansatz::Mlp { width, depth, .. }, Trainer::GaussNewton { .. }) => {
                    // A periodic coordinate enters the first layer twice.
                    let inputs = dims + periodic_input_names(file);
                    let parameters = mlp_parameters(*width, *depth, inputs, file_unknowns(file));
                    if parameters > MLP_GAUSS_NEWTON_MAX_PARAMETERS {
                        self.combination_error(
                            format!(
                                "`train gauss_newton`{} on this `mlp` would factor a Jacobian with {parameters} columns; it trains networks of at most {MLP_GAUSS_NEWTON_MAX_PARAMETERS} parameters",
                                flag_note()
                            ),
                            train_span,
                            "reduce `width` or `depth`, or use `train lbfgs` or `train adam`",
                        );
                    }
                }
                (_, Trainer::Lstsq { .. }) if linearity == Linearity::Nonlinear => {
                    self.combination_error(
                        format!(
                            "`train lstsq`{} needs a linear problem, but this problem is nonlinear in its unknowns",
                            flag_note()
                        ),
                        train_span,
                        "use `train gauss_newton` for a nonlinear problem with `ansatz rfm`",
                    );
                }
                _ => {}
            }
        }
        Some((ansatz?, diff?, train?, sampling?))
    }

    fn combination_error(&mut self, message: String, span: Option<Span>, note: &str) {
        let d = match span {
            Some(span) => Diagnostic::error("E0507", message, span),
            None => Diagnostic::error_without_span("E0507", message),
        };
        self.diagnostics.push(d.with_note(note));
    }

    fn sampling(&mut self, file: &ast::File, dims: usize, has_time: bool) -> Option<Sampling> {
        let mut given: HashMap<&str, &ast::SampleSet> = HashMap::new();
        let mut ok = true;
        for statement in &file.statements {
            let StatementKind::Sample(sets) = &statement.kind else {
                continue;
            };
            for set in sets {
                let name = set.set.name.as_str();
                if !matches!(name, "interior" | "boundary" | "initial") {
                    ok = false;
                    self.diagnostics.push(
                        Diagnostic::error(
                            "E0509",
                            format!("unknown point set `{name}`"),
                            set.set.span,
                        )
                        .with_label_message("not a point set")
                        .with_note("point sets are `interior`, `boundary` and `initial`"),
                    );
                    continue;
                }
                if name == "initial" && !has_time {
                    ok = false;
                    self.diagnostics.push(
                        Diagnostic::error(
                            "E0407",
                            "`sample initial` needs a time coordinate",
                            set.set.span,
                        )
                        .with_note("initial points lie on t = t_min; declare `time t in [0, T]`"),
                    );
                    continue;
                }
                if let Some(first) = given.insert(name, set) {
                    ok = false;
                    self.diagnostics.push(
                        Diagnostic::error(
                            "E0402",
                            format!("point set `{name}` is given more than once"),
                            set.set.span,
                        )
                        .with_secondary(first.set.span, "first one here"),
                    );
                }
            }
        }
        let default_grid = match dims {
            0 | 1 => 128.0,
            2 => 48.0,
            3 => 20.0,
            _ => 8192.0,
        };
        let default_name = if dims <= 3 { "grid" } else { "random" };
        let mut sampler = |set: &str, face_dims: usize| -> Option<(Sampler, usize)> {
            let written = given.get(set).map(|s| &s.setting);
            let resolved = self.resolver().setting(
                Group::Sampler,
                written,
                default_name,
                &Overrides::default(),
                &|_| default_grid,
            )?;
            let sampler = sampler_from(&resolved);
            let resample = match sampler {
                Sampler::Random { .. } => resolved.count("resample"),
                _ => 0,
            };
            let points = match sampler {
                Sampler::Grid { n } => (n as f64).powi(face_dims as i32),
                Sampler::Random { n, .. } | Sampler::Sobol { n, .. } => n as f64,
            };
            if let Sampler::Sobol { n, .. } = sampler {
                if n > SOBOL_MAX_POINTS || dims > SOBOL_MAX_DIMS {
                    let message = format!(
                        "`sobol` supports at most {SOBOL_MAX_POINTS} points in at most {SOBOL_MAX_DIMS} dimensions; the `{set}` set asks for {n} points in {dims}"
                    );
                    let d = match written {
                        Some(s) => Diagnostic::error("E0504", message, s.span),
                        None => Diagnostic::error_without_span("E0504", message),
                    };
                    self.diagnostics
                        .push(d.with_note("use `random(n)` for larger point sets"));
                    return None;
                }
            }
            if points > MAX_POINTS {
                let message = format!(
                    "the `{set}` point set would have {points:e} points (at most {MAX_POINTS:e})"
                );
                let d = match written {
                    Some(s) => Diagnostic::error("E0504", message, s.span),
                    None => Diagnostic::error_without_span("E0504", message),
                };
                self.diagnostics.push(d.with_note(
                    "a grid has n points per coordinate; use fewer, or random(n) / sobol(n)",
                ));
                return None;
            }
            Some((sampler, resample))
        };
        let interior = sampler("interior", dims);
        let boundary = sampler("boundary", dims.saturating_sub(1));
        let initial = sampler("initial", dims.saturating_sub(1));
        let ((interior, r0), (boundary, r1), (initial, r2)) = (interior?, boundary?, initial?);
        Some(Sampling {
            interior,
            boundary,
            initial,
            resample: [r0, r1, r2],
        })
        .filter(|_| ok)
    }
}

/// The most trained parameters `train gauss_newton` accepts for an `mlp`:
/// each Levenberg-Marquardt step factors an (n + p) x p matrix, O(n p^2).
pub const MLP_GAUSS_NEWTON_MAX_PARAMETERS: usize = 2500;

/// The number of parameters of an mlp: d K + K + (depth - 1)(K^2 + K) + M K + M.
pub fn mlp_parameters(width: usize, depth: usize, dims: usize, unknowns: usize) -> usize {
    let k = width;
    dims * k + k + depth.saturating_sub(1) * (k * k + k) + unknowns * k + unknowns
}

/// The number of names in the `ansatz ... periodic in` clause.
fn periodic_input_names(file: &ast::File) -> usize {
    file.statements
        .iter()
        .find_map(|s| match &s.kind {
            StatementKind::Ansatz(_, names) => Some(names.len()),
            _ => None,
        })
        .unwrap_or(0)
}

fn file_unknowns(file: &ast::File) -> usize {
    file.statements
        .iter()
        .map(|s| match &s.kind {
            StatementKind::Unknown(names) => names.len(),
            _ => 0,
        })
        .sum()
}

fn setting_of(s: &ast::Statement) -> Option<&ast::Setting> {
    match &s.kind {
        StatementKind::Ansatz(x, _)
        | StatementKind::Diff(x)
        | StatementKind::Train(x)
        | StatementKind::Scheme(x)
        | StatementKind::Formulation(x) => Some(x),
        _ => None,
    }
}

fn has_unknown_statement(file: &ast::File) -> bool {
    file.statements
        .iter()
        .any(|s| matches!(s.kind, StatementKind::Unknown(_)))
}

fn uses_unknown(e: &Expr, u: UnknownId) -> bool {
    let mut found = false;
    e.visit(&mut |n| {
        if let Expr::Field { unknown, .. } = n {
            found |= *unknown == u;
        }
    });
    found
}

fn ansatz_from(s: &ResolvedSetting) -> Ansatz {
    let activation = s.values["activation"].activation();
    match s.schema.name {
        "shallow" => Ansatz::Shallow {
            width: s.count("width"),
            activation,
            seed: s.seed("seed"),
            normalize: s.number("normalize") != 0.0,
        },
        "mlp" => Ansatz::Mlp {
            width: s.count("width"),
            depth: s.count("depth"),
            activation,
            seed: s.seed("seed"),
            normalize: s.number("normalize") != 0.0,
        },
        _ => Ansatz::Rfm {
            features: s.count("features"),
            activation,
            scale: s.number("scale"),
            seed: s.seed("seed"),
            normalize: s.number("normalize") != 0.0,
        },
    }
}

fn diff_from(s: &ResolvedSetting) -> DiffMode {
    match s.schema.name {
        "fd" => DiffMode::Fd {
            h: s.number("h"),
            order: s.count("order") as u32,
        },
        "stein" => DiffMode::Stein {
            sigma: s.number("sigma"),
            samples: s.count("samples"),
            seed: s.seed("seed"),
            antithetic: s.name_value("estimator") == Some("antithetic"),
            eval_samples: s.count("eval_samples"),
        },
        _ => DiffMode::Ad,
    }
}

fn trainer_from(s: &ResolvedSetting) -> Trainer {
    match s.schema.name {
        "gauss_newton" => Trainer::GaussNewton {
            iters: s.count("iters"),
            tol: s.number("tol"),
        },
        "adam" => Trainer::Adam {
            lr: s.number("lr"),
            epochs: s.count("epochs"),
            schedule: s.values["schedule"].schedule(),
        },
        "lbfgs" => Trainer::Lbfgs {
            iters: s.count("iters"),
            memory: s.count("memory"),
        },
        "alm" => Trainer::Alm {
            lr: s.number("lr"),
            epochs: s.count("epochs"),
            mu: s.number("mu"),
            mu_max: s.number("mu_max"),
            every: s.count("every"),
            growth: s.number("growth"),
            dual: match s.values.get("dual") {
                Some(settings::Value::Name("adaptive")) => Dual::Adaptive,
                _ => Dual::FirstOrder,
            },
        },
        _ => Trainer::Lstsq {
            cutoff: s.number("cutoff"),
        },
    }
}

fn sampler_from(s: &ResolvedSetting) -> Sampler {
    let n = s.count("n");
    match s.schema.name {
        "random" => Sampler::Random {
            n,
            seed: s.seed("seed"),
        },
        "sobol" => Sampler::Sobol {
            n,
            seed: s.seed("seed"),
        },
        _ => Sampler::Grid { n },
    }
}

/// A number as users write it: `2`, `0.5`, `1e-6`.
pub fn fmt_num(v: f64) -> String {
    if v == 0.0 {
        return "0".into();
    }
    let a = v.abs();
    if (1e-4..1e15).contains(&a) {
        format!("{v}")
    } else {
        format!("{v:e}")
    }
}
