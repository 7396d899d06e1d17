//! A readable dump of the AST (`pdec emit --stage ast`): one node per line,
//! indented, with `line:col` positions and expressions as S-expressions.

use std::fmt::Write;

use super::ast::*;
use crate::diag::Span;

/// Renders `file` as indented text; `source` is only used for line:col.
pub fn dump(file: &File, source: &str) -> String {
    let mut out = String::new();
    let at = |span: Span| {
        let (l, c) = span.line_col(source);
        format!("@{l}:{c}")
    };
    for statement in &file.statements {
        let _ = writeln!(out, "{} {}", statement.kind.keyword(), at(statement.span));
        match &statement.kind {
            StatementKind::Problem { title } => {
                let _ = writeln!(out, "  title {title:?}");
            }
            StatementKind::Domain(intervals) => {
                for i in intervals {
                    line(&mut out, &interval(i), at(i.span));
                }
            }
            StatementKind::ShapeDomain { coordinates, shape } => {
                let names: Vec<&str> = coordinates.iter().map(|c| c.name.as_str()).collect();
                let text = format!("({}) in {}", names.join(", "), shape_text(shape));
                line(&mut out, &text, at(shape.span));
            }
            StatementKind::BallDomain { name, dims, radius } => {
                let mut text = format!("{} in (ball {}", name.name, sexpr(dims));
                if let Some(r) = radius {
                    let _ = write!(text, " (radius {})", sexpr(r));
                }
                text.push(')');
                line(&mut out, &text, at(statement.span));
            }
            StatementKind::Shape { name, shape } => {
                let text = format!("{} = {}", name.name, shape_text(shape));
                line(&mut out, &text, at(shape.span));
            }
            StatementKind::Time(i) => line(&mut out, &interval(i), at(i.span)),
            StatementKind::Const(bindings) | StatementKind::Let(bindings) => {
                for b in bindings {
                    let text = format!("{} = {}", b.name.name, sexpr(&b.value));
                    line(&mut out, &text, at(b.span));
                }
            }
            StatementKind::Unknown(names) => {
                for n in names {
                    line(&mut out, &n.name, at(n.span));
                }
            }
            StatementKind::Equation {
                relation: r,
                weight,
            } => {
                relation(&mut out, r, &at);
                if let Some(w) = weight {
                    line(&mut out, &format!("weight {}", sexpr(w)), at(w.span));
                }
            }
            StatementKind::Bc {
                relation: r,
                faces,
                weight,
            } => {
                relation(&mut out, r, &at);
                for face in faces {
                    match face {
                        Face::Boundary(span) => line(&mut out, "on boundary", at(*span)),
                        Face::Piece(name) => {
                            line(&mut out, &format!("on {}", name.name), at(name.span))
                        }
                        Face::Coordinate {
                            coordinate,
                            value,
                            span,
                        } => {
                            let text = format!("on {} = {}", coordinate.name, sexpr(value));
                            line(&mut out, &text, at(*span));
                        }
                    }
                }
                if let Some(w) = weight {
                    line(&mut out, &format!("weight {}", sexpr(w)), at(w.span));
                }
            }
            StatementKind::Periodic {
                coordinates,
                weight,
            } => {
                for c in coordinates {
                    line(&mut out, &format!("periodic in {}", c.name), at(c.span));
                }
                if let Some(w) = weight {
                    line(&mut out, &format!("weight {}", sexpr(w)), at(w.span));
                }
            }
            StatementKind::Initial {
                relation: r,
                weight,
            } => {
                relation(&mut out, r, &at);
                if let Some(w) = weight {
                    line(&mut out, &format!("weight {}", sexpr(w)), at(w.span));
                }
            }
            StatementKind::InitialData {
                unknown,
                path,
                path_span,
            } => {
                let text = format!("{} = data({path:?})", unknown.name);
                line(&mut out, &text, at(unknown.span.to(*path_span)));
            }
            StatementKind::Exact { unknown, value } => {
                let text = format!("{} = {}", unknown.name, sexpr(value));
                line(&mut out, &text, at(unknown.span.to(value.span)));
            }
            StatementKind::Reference {
                unknown,
                function,
                path,
                path_span,
            } => {
                let text = format!("{} = {}({path:?})", unknown.name, function.name);
                line(&mut out, &text, at(unknown.span.to(*path_span)));
            }
            StatementKind::Ansatz(s, periodic) if !periodic.is_empty() => {
                let names: Vec<&str> = periodic.iter().map(|c| c.name.as_str()).collect();
                let text = format!("{} periodic in {}", setting(s), names.join(", "));
                line(&mut out, &text, at(s.span));
            }
            StatementKind::Ansatz(s, _)
            | StatementKind::Diff(s)
            | StatementKind::Train(s)
            | StatementKind::Scheme(s)
            | StatementKind::Formulation(s) => {
                line(&mut out, &setting(s), at(s.span));
            }
            StatementKind::Sample(sets) => {
                for set in sets {
                    let text = format!("{} = {}", set.set.name, setting(&set.setting));
                    line(&mut out, &text, at(set.span));
                }
            }
        }
    }
    out
}

fn line(out: &mut String, text: &str, at: String) {
    let _ = writeln!(out, "  {text} {at}");
}

fn relation(out: &mut String, r: &Relation, at: &dyn Fn(Span) -> String) {
    line(out, &format!("lhs {}", sexpr(&r.lhs)), at(r.lhs.span));
    line(out, &format!("rhs {}", sexpr(&r.rhs)), at(r.rhs.span));
}

fn interval(i: &IntervalDecl) -> String {
    let mut text = format!("{} in [{}, {}]", i.name.name, sexpr(&i.lo), sexpr(&i.hi));
    if let Some(n) = &i.power {
        let _ = write!(text, "^{}", sexpr(n));
    }
    text
}

/// A shape expression as an S-expression: `(- (rect [-1 1] [-1 1]) hole)`.
fn shape_text(s: &ShapeExpr) -> String {
    match &s.kind {
        ShapeExprKind::Name(n) => n.name.clone(),
        ShapeExprKind::Primitive { function, args } => {
            let mut text = format!("({}", function.name);
            for a in args {
                text.push(' ');
                match a {
                    ShapeArg::Scalar(e) => text.push_str(&sexpr(e)),
                    ShapeArg::Vector(items, _) => {
                        let items: Vec<String> = items.iter().map(sexpr).collect();
                        let _ = write!(text, "[{}]", items.join(" "));
                    }
                }
            }
            text.push(')');
            text
        }
        ShapeExprKind::Binary { op, lhs, rhs } => {
            format!("({} {} {})", op.symbol(), shape_text(lhs), shape_text(rhs))
        }
    }
}

fn setting(s: &Setting) -> String {
    let mut text = s.name.name.clone();
    if !s.args.is_empty() {
        let args: Vec<String> = s
            .args
            .iter()
            .map(|a| match &a.key {
                Some(k) => format!("{} = {}", k.name, sexpr(&a.value)),
                None => sexpr(&a.value),
            })
            .collect();
        let _ = write!(text, "({})", args.join(", "));
    }
    text
}

/// An expression as an S-expression: `(* 2 (sin x))`.
pub fn sexpr(e: &Expr) -> String {
    match &e.kind {
        ExprKind::Number(v) => format!("{v}"),
        ExprKind::Name(n) => n.clone(),
        ExprKind::Call { function, args } => {
            let mut s = format!("({}", function.name);
            for a in args {
                s.push(' ');
                s.push_str(&sexpr(a));
            }
            s.push(')');
            s
        }
        ExprKind::Index { base, index } => format!("(index {} {})", base.name, sexpr(index)),
        ExprKind::Neg(a) => format!("(neg {})", sexpr(a)),
        ExprKind::Binary { op, lhs, rhs } => {
            format!("({} {} {})", op.symbol(), sexpr(lhs), sexpr(rhs))
        }
    }
}
