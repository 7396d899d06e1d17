//! Shaped domains: `shape` statements, `domain (x, y) in SHAPE`, and the
//! boundary pieces `bc ... on NAME` selects (sides of primitives, each with
//! its exact outward normal for `dn`).

use std::collections::HashMap;

use super::spec::{Expr, Face, Op, Side};
use super::{fmt_num, Checker};
use crate::diag::{Diagnostic, Span};
use crate::geometry::{self, AffineNormal, Primitive, PrimitiveEntry, Shape, ShapeNode};
use crate::syntax::ast::{self, ShapeArg, ShapeExpr, ShapeExprKind, ShapeOp, StatementKind};

/// Whether `e` calls the function `name` anywhere.
pub fn calls(e: &ast::Expr, name: &str) -> bool {
    match &e.kind {
        ast::ExprKind::Number(_) | ast::ExprKind::Name(_) => false,
        ast::ExprKind::Call { function, args } => {
            function.name == name || args.iter().any(|a| calls(a, name))
        }
        ast::ExprKind::Index { index, .. } => calls(index, name),
        ast::ExprKind::Neg(a) => calls(a, name),
        ast::ExprKind::Binary { lhs, rhs, .. } => calls(lhs, name) || calls(rhs, name),
    }
}

/// Where one `bc` holds: box faces or shape sides, each with its outward
/// normal and a label; `normal` is set on the parts of a split condition.
#[derive(Clone, Debug)]
pub struct BoundaryPlaces {
    pub faces: Vec<Face>,
    pub sides: Vec<geometry::Side>,
    /// Outward normal of each face, then of each side.
    normals: Vec<AffineNormal>,
    labels: Vec<String>,
    /// The normal of the one place of a split part, as expressions.
    pub normal: Option<Vec<Expr>>,
    /// The label of the one place of a split part.
    pub label: Option<String>,
}

impl BoundaryPlaces {
    /// Faces of a box (normal ±e_c).
    pub fn faces(faces: Vec<Face>, space_dims: usize) -> BoundaryPlaces {
        let normals = faces
            .iter()
            .map(|f| {
                let mut constant = vec![0.0; space_dims];
                constant[f.coordinate] = if f.side == Side::Lo { -1.0 } else { 1.0 };
                AffineNormal {
                    constant,
                    linear: Vec::new(),
                }
            })
            .collect();
        let labels = faces
            .iter()
            .map(|f| format!("face {}", f.coordinate))
            .collect();
        BoundaryPlaces {
            faces,
            sides: Vec::new(),
            normals,
            labels,
            normal: None,
            label: None,
        }
    }

    /// One part per face or side, each with its normal as expressions
    /// n_j = c_j + sum_k a_jk x_k.
    pub fn split_per_side(self) -> Vec<BoundaryPlaces> {
        let faces = self.faces.len();
        (0..faces + self.sides.len())
            .map(|i| BoundaryPlaces {
                faces: if i < faces {
                    vec![self.faces[i]]
                } else {
                    Vec::new()
                },
                sides: if i < faces {
                    Vec::new()
                } else {
                    vec![self.sides[i - faces]]
                },
                normals: vec![self.normals[i].clone()],
                labels: vec![self.labels[i].clone()],
                normal: Some(normal_exprs(&self.normals[i])),
                label: Some(self.labels[i].clone()),
            })
            .collect()
    }
}

/// n_j = c_j + sum_k a_jk x_k as checked expressions (zero terms left out).
fn normal_exprs(n: &AffineNormal) -> Vec<Expr> {
    n.constant
        .iter()
        .enumerate()
        .map(|(j, &c)| (c, n.linear.get(j).map_or(&[][..], Vec::as_slice)))
        .map(|(c, row)| {
            let mut terms: Vec<Expr> = row
                .iter()
                .enumerate()
                .filter(|(_, a)| **a != 0.0)
                .map(|(k, &a)| {
                    if a == 1.0 {
                        Expr::Coordinate(k)
                    } else {
                        Expr::Binary(
                            Op::Mul,
                            Box::new(Expr::Number(a)),
                            Box::new(Expr::Coordinate(k)),
                        )
                    }
                })
                .collect();
            if c != 0.0 || terms.is_empty() {
                terms.push(Expr::Number(c));
            }
            terms
                .into_iter()
                .reduce(|a, b| Expr::Binary(Op::Add, Box::new(a), Box::new(b)))
                .expect("at least one term")
        })
        .collect()
}

impl Checker<'_> {
    /// Builds the shape of `domain (x, y) in SHAPE`, with the primitives
    /// of every `shape` statement it names.
    pub(super) fn domain_shape(
        &mut self,
        file: &ast::File,
        shape: &ShapeExpr,
        space_dims: usize,
        time: Option<&ast::Statement>,
    ) -> Option<Shape> {
        if let Some(t) = time {
            self.diagnostics.push(
                Diagnostic::error(
                    "E0415",
                    "a shaped domain with `time` is not supported yet",
                    t.keyword,
                )
                .with_note("shaped domains are stationary in this release; time-dependent problems use a box: domain x in [lo, hi], y in [lo, hi]"),
            );
            return None;
        }
        if !(2..=3).contains(&space_dims) {
            self.diagnostics.push(
                Diagnostic::error(
                    "E0413",
                    format!("a shaped domain needs 2 or 3 coordinates, got {space_dims}"),
                    shape.span,
                )
                .with_note("in 1-D the domain is an interval: domain x in [lo, hi]"),
            );
            return None;
        }
        let mut definitions: HashMap<String, &ShapeExpr> = HashMap::new();
        for statement in &file.statements {
            if let StatementKind::Shape { name, shape } = &statement.kind {
                if definitions.insert(name.name.clone(), shape).is_some()
                    || self.scope.names.contains_key(&name.name)
                {
                    self.diagnostics.push(Diagnostic::error(
                        "E0202",
                        format!("`{}` is defined twice", name.name),
                        name.span,
                    ));
                    return None;
                }
            }
        }
        let mut builder = ShapeBuilder {
            definitions: &definitions,
            dims: space_dims,
            primitives: Vec::new(),
            names: Vec::new(),
        };
        let mut errors = Vec::new();
        let root = builder.node(self, shape, &mut errors);
        let ok = errors.is_empty();
        self.diagnostics.extend(errors);
        let root = root.filter(|_| ok)?;
        let primitives = builder.primitives;
        let mut bounds = primitives[0].primitive.bounds();
        for p in &primitives[1..] {
            for (b, (lo, hi)) in bounds.iter_mut().zip(p.primitive.bounds()) {
                b.0 = b.0.min(lo);
                b.1 = b.1.max(hi);
            }
        }
        let text = shape_source(shape);
        let span = shape.span;
        let shape = Shape {
            dims: space_dims,
            primitives,
            root,
            bounds,
            text,
        };
        if shape.measure_estimate(4096, 0) == 0.0 && shape.exact_measure().is_none_or(|m| m <= 0.0)
        {
            self.diagnostics.push(
                Diagnostic::error("E0413", "the domain's shape is empty", span).with_note(
                    "check the set operations: a difference or intersection removed everything",
                ),
            );
            return None;
        }
        Some(shape)
    }

    /// The sides of a shaped domain that `on ...` selects: `boundary` is
    /// every side with a part on the boundary, NAME the sides of the
    /// primitives of `shape NAME`.
    pub(super) fn shape_sides(&mut self, faces: &[ast::Face]) -> Option<BoundaryPlaces> {
        let shape = self.shape.clone()?;
        let coordinate_names: Vec<String> = self.scope.coordinates[..self.scope.space_dims]
            .iter()
            .map(|c| c.name.clone())
            .collect();
        let mut sides = Vec::new();
        let mut ok = true;
        for face in faces {
            let (candidates, span, what) = match face {
                ast::Face::Boundary(span) => (shape.all_sides(), *span, "boundary".to_string()),
                ast::Face::Piece(name) => {
                    let named = shape.sides_named(&name.name);
                    if named.is_empty() {
                        let mut names: Vec<&str> = shape
                            .primitives
                            .iter()
                            .flat_map(|p| p.names.iter().map(String::as_str))
                            .collect();
                        names.sort();
                        names.dedup();
                        ok = false;
                        self.diagnostics.push(
                            Diagnostic::error(
                                "E0414",
                                format!("`{}` is not a piece of the domain's boundary", name.name),
                                name.span,
                            )
                            .with_label_message("no shape of the domain has this name")
                            .with_note(if names.is_empty() {
                                "name a part with `shape NAME = ...` and use it in the domain, or write `on boundary`".to_string()
                            } else {
                                format!("the domain's named shapes are {}", names.join(", "))
                            }),
                        );
                        continue;
                    }
                    (named, name.span, name.name.clone())
                }
                ast::Face::Coordinate { span, .. } => {
                    ok = false;
                    self.diagnostics.push(
                        Diagnostic::error(
                            "E0414",
                            "a shaped domain's boundary is named by its shapes, not by `x = bound`",
                            *span,
                        )
                        .with_label_message("not a piece of this domain")
                        .with_note("write `on boundary` or `on NAME` with `shape NAME = ...`"),
                    );
                    continue;
                }
            };
            let before = sides.len();
            for side in candidates {
                if let Some(sign) = shape.side_orientation(side) {
                    if !sides.iter().any(|(s, _, _)| *s == side) {
                        let primitive = &shape.primitives[side.primitive];
                        let normal = primitive.primitive.side_normal(side.side);
                        let normal = if sign > 0.0 { normal } else { normal.flipped() };
                        let label =
                            match primitive.primitive.side_label(side.side, &coordinate_names) {
                                Some(l) => format!("{what} ({l})"),
                                None => what.clone(),
                            };
                        sides.push((side, normal, label));
                    }
                }
            }
            if sides.len() == before && ok {
                ok = false;
                self.diagnostics.push(
                    Diagnostic::error(
                        "E0414",
                        format!("`{what}` has no part on the domain's boundary"),
                        span,
                    )
                    .with_note(
                        "the shape lies inside the domain or was removed by the set operations",
                    ),
                );
            }
        }
        if !ok {
            return None;
        }
        let (sides, rest): (Vec<geometry::Side>, Vec<(AffineNormal, String)>) =
            sides.into_iter().map(|(s, n, l)| (s, (n, l))).unzip();
        let (normals, labels) = rest.into_iter().unzip();
        Some(BoundaryPlaces {
            faces: Vec::new(),
            sides,
            normals,
            labels,
            normal: None,
            label: None,
        })
    }
}

/// The source form of a shape expression, normalized (`rect([-1, 1], [-1, 1]) - hole`).
fn shape_source(s: &ShapeExpr) -> String {
    match &s.kind {
        ShapeExprKind::Name(n) => n.name.clone(),
        ShapeExprKind::Primitive { function, args } => {
            let args: Vec<String> = args
                .iter()
                .map(|a| match a {
                    ShapeArg::Scalar(e) => infix(e),
                    ShapeArg::Vector(items, _) => {
                        let items: Vec<String> = items.iter().map(infix).collect();
                        format!("[{}]", items.join(", "))
                    }
                })
                .collect();
            format!("{}({})", function.name, args.join(", "))
        }
        ShapeExprKind::Binary { op, lhs, rhs } => {
            let right = match rhs.kind {
                ShapeExprKind::Binary { .. } => format!("({})", shape_source(rhs)),
                _ => shape_source(rhs),
            };
            format!("{} {} {}", shape_source(lhs), op.symbol(), right)
        }
    }
}

/// An argument as written, fully parenthesized where it nests (`2*r`,
/// `-(1)`): enough for summaries.
fn infix(e: &ast::Expr) -> String {
    match &e.kind {
        ast::ExprKind::Number(v) => fmt_num(*v),
        ast::ExprKind::Name(n) => n.clone(),
        ast::ExprKind::Call { function, args } => {
            let args: Vec<String> = args.iter().map(infix).collect();
            format!("{}({})", function.name, args.join(", "))
        }
        ast::ExprKind::Index { base, index } => format!("{}[{}]", base.name, infix(index)),
        ast::ExprKind::Neg(a) => match a.kind {
            ast::ExprKind::Binary { .. } => format!("-({})", infix(a)),
            _ => format!("-{}", infix(a)),
        },
        ast::ExprKind::Binary { op, lhs, rhs } => {
            let wrap = |x: &ast::Expr| match x.kind {
                ast::ExprKind::Binary { .. } => format!("({})", infix(x)),
                _ => infix(x),
            };
            format!("{}{}{}", wrap(lhs), op.symbol(), wrap(rhs))
        }
    }
}

/// Collects the primitives of a shape expression (following names).
struct ShapeBuilder<'a> {
    definitions: &'a HashMap<String, &'a ShapeExpr>,
    dims: usize,
    primitives: Vec<PrimitiveEntry>,
    /// The `shape` names being expanded, innermost last.
    names: Vec<String>,
}

impl ShapeBuilder<'_> {
    fn node(
        &mut self,
        checker: &mut Checker<'_>,
        e: &ShapeExpr,
        errors: &mut Vec<Diagnostic>,
    ) -> Option<ShapeNode> {
        match &e.kind {
            ShapeExprKind::Name(name) => {
                let Some(definition) = self.definitions.get(&name.name).copied() else {
                    let mut d = Diagnostic::error(
                        "E0201",
                        format!("undefined shape `{}`", name.name),
                        name.span,
                    )
                    .with_label_message("not defined");
                    d = d.with_note(
                        "define it first: `shape NAME = disk([0, 0], 1)` (or rect, box, ball, polygon)",
                    );
                    errors.push(d);
                    return None;
                };
                if self.names.contains(&name.name) {
                    errors.push(Diagnostic::error(
                        "E0206",
                        format!("cyclic shape definition: `{}` contains itself", name.name),
                        name.span,
                    ));
                    return None;
                }
                self.names.push(name.name.clone());
                let node = self.node(checker, definition, errors);
                self.names.pop();
                node
            }
            ShapeExprKind::Binary { op, lhs, rhs } => {
                let a = self.node(checker, lhs, errors);
                let b = self.node(checker, rhs, errors);
                let (a, b) = (Box::new(a?), Box::new(b?));
                Some(match op {
                    ShapeOp::Union => ShapeNode::Union(a, b),
                    ShapeOp::Difference => ShapeNode::Difference(a, b),
                    ShapeOp::Intersection => ShapeNode::Intersection(a, b),
                })
            }
            ShapeExprKind::Primitive { function, args } => {
                let primitive = self.primitive(checker, function, args, e.span, errors)?;
                let mut names = self.names.clone();
                names.reverse();
                self.primitives.push(PrimitiveEntry {
                    primitive,
                    names,
                    text: shape_source(e),
                });
                Some(ShapeNode::Primitive(self.primitives.len() - 1))
            }
        }
    }

    fn primitive(
        &mut self,
        checker: &mut Checker<'_>,
        function: &ast::Ident,
        args: &[ShapeArg],
        span: Span,
        errors: &mut Vec<Diagnostic>,
    ) -> Option<Primitive> {
        let d = self.dims;
        let name = function.name.as_str();
        let usage = match name {
            "rect" | "box" => "rect([x0, x1], [y0, y1]) (box with a third interval in 3-D)",
            "disk" | "ball" => "disk([cx, cy], r) in 2-D, ball([cx, cy, cz], r) in 3-D",
            "polygon" => "polygon([x1, y1], [x2, y2], [x3, y3], ...)",
            _ => {
                errors.push(
                    Diagnostic::error("E0412", format!("unknown shape `{name}`"), function.span)
                        .with_label_message("not a shape")
                        .with_note("shapes are rect, box, disk, ball, polygon, and names of `shape` statements"),
                );
                return None;
            }
        };
        let mut bad = |message: String, at: Span| {
            errors
                .push(Diagnostic::error("E0413", message, at).with_note(format!("write {usage}")));
            None
        };
        // Every argument's numbers, as constants.
        let mut vectors: Vec<(Vec<f64>, Span)> = Vec::new();
        let mut scalars: Vec<(f64, Span)> = Vec::new();
        for a in args {
            match a {
                ShapeArg::Vector(items, at) => {
                    let values: Option<Vec<f64>> = items
                        .iter()
                        .map(|e| checker.constant(e, "a shape argument"))
                        .collect();
                    vectors.push((values?, *at));
                }
                ShapeArg::Scalar(e) => {
                    scalars.push((checker.constant(e, "a shape argument")?, e.span))
                }
            }
        }
        match name {
            "rect" | "box" => {
                if !scalars.is_empty() || vectors.len() != d {
                    return bad(
                        format!("`{name}` takes one interval [lo, hi] per coordinate ({d} here)"),
                        span,
                    );
                }
                let mut lo = Vec::new();
                let mut hi = Vec::new();
                for (v, at) in &vectors {
                    if v.len() != 2 || v[0] >= v[1] {
                        return bad(
                            format!("an interval of `{name}` is [lo, hi] with lo < hi"),
                            *at,
                        );
                    }
                    lo.push(v[0]);
                    hi.push(v[1]);
                }
                Some(Primitive::Rect { lo, hi })
            }
            "disk" | "ball" => {
                if name == "disk" && d != 2 {
                    return bad(
                        format!("`disk` is 2-D; this domain has {d} coordinates (use `ball`)"),
                        function.span,
                    );
                }
                if vectors.len() != 1 || scalars.len() != 1 || vectors[0].0.len() != d {
                    return bad(
                        format!("`{name}` takes a center with {d} coordinates and a radius"),
                        span,
                    );
                }
                let (radius, at) = scalars[0];
                if radius <= 0.0 {
                    return bad(
                        format!("the radius must be positive, got {}", fmt_num(radius)),
                        at,
                    );
                }
                Some(Primitive::Ball {
                    center: vectors[0].0.clone(),
                    radius,
                })
            }
            _ => {
                if d != 2 {
                    return bad(
                        format!("`polygon` is 2-D; this domain has {d} coordinates"),
                        function.span,
                    );
                }
                if !scalars.is_empty()
                    || vectors.len() < 3
                    || vectors.iter().any(|(v, _)| v.len() != 2)
                {
                    return bad("`polygon` takes at least 3 vertices [x, y]".into(), span);
                }
                let mut vertices: Vec<[f64; 2]> =
                    vectors.iter().map(|(v, _)| [v[0], v[1]]).collect();
                let area = geometry::polygon_signed_area(&vertices);
                if area.abs() <= 1e-14 {
                    return bad("the polygon has zero area".into(), span);
                }
                if let Some((i, j)) = geometry::polygon_crossing(&vertices) {
                    return bad(
                        format!(
                            "the polygon's edges {} and {} cross (the vertices must go around a simple polygon)",
                            i + 1,
                            j + 1
                        ),
                        span,
                    );
                }
                if area < 0.0 {
                    vertices.reverse();
                }
                Some(Primitive::Polygon { vertices })
            }
        }
    }
}
