//! Printing: conventional math notation ([`Graph::display`]) and a one node
//! per line listing of the DAG ([`Graph::debug_listing`]).
//!
//! Output is deterministic: it depends only on the graph (operands are
//! printed in their canonical stored order, a sum's constant last), never
//! on hash-map order.
//! Numbers print as the shortest string that round-trips (`2`, `0.5`,
//! `1e-7`), the exact f64 value of pi as `pi`. Parentheses appear only where
//! precedence needs them; a sum prints a term with a negative coefficient as
//! `- term` and starts with a positive term when it has one (`1 - x`,
//! `x - 1`); a product prints factors with negative numeric exponents as a
//! denominator (`2*x/(y*z^2)`). Both printers are iterative (children
//! first, by id), so deep expressions cannot overflow the stack.

use std::collections::HashMap;
use std::fmt::Write as _;

use super::graph::{ExprId, Graph, Node};

/// Binding strength of a printed expression; an operand is parenthesized
/// when it binds more loosely than its position requires.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Prec {
    /// `a + b`, `a - b`
    Sum,
    /// `-a`, negative numbers
    Neg,
    /// `a*b`, `a/b`
    Product,
    /// `a^b`
    Power,
    /// numbers, names, calls
    Atom,
}

/// A printed subexpression and how tightly it binds.
#[derive(Clone, Debug)]
struct Printed {
    text: String,
    prec: Prec,
}

/// `text`, parenthesized if it binds more loosely than `needed`.
fn wrap(printed: &Printed, needed: Prec) -> String {
    if printed.prec < needed {
        format!("({})", printed.text)
    } else {
        printed.text.clone()
    }
}

/// Shortest round-trip decimal form of `v`; scientific notation for very
/// large or small magnitudes; `pi` for the f64 nearest to pi.
fn format_number(v: f64) -> String {
    if v == std::f64::consts::PI {
        return "pi".to_string();
    }
    if v == -std::f64::consts::PI {
        return "-pi".to_string();
    }
    let magnitude = v.abs();
    if v.is_finite() && v != 0.0 && !(1e-5..1e16).contains(&magnitude) {
        format!("{v:e}")
    } else {
        format!("{v}")
    }
}

fn number(v: f64) -> Printed {
    let text = format_number(v);
    let prec = if text.starts_with('-') {
        Prec::Neg
    } else {
        Prec::Atom
    };
    Printed { text, prec }
}

impl Graph {
    /// `e` in conventional notation, e.g. `-2*x*sin(pi*x)`, `1 - tanh(z)^2`,
    /// `u_xx`, `x/(y + 1)`. Shared subexpressions are printed in full at each
    /// use (the text of a large DAG can be much longer than the DAG).
    pub fn display(&self, e: ExprId) -> String {
        let order = self.topological_order(&[e]);
        let mut printed: HashMap<ExprId, Printed> = HashMap::with_capacity(order.len());
        for id in order {
            let text = self.print_node(id, &printed);
            printed.insert(id, text);
        }
        printed.remove(&e).map(|p| p.text).unwrap_or_default()
    }

    /// The DAG below `roots`, one node per line in id order (`%3 = add %1
    /// %2`), then a `roots:` line. For debugging and golden tests.
    pub fn debug_listing(&self, roots: &[ExprId]) -> String {
        let mut out = String::new();
        for id in self.topological_order(roots) {
            let _ = write!(out, "{id} = ");
            let ids = |ops: &[ExprId]| {
                ops.iter()
                    .map(|op| op.to_string())
                    .collect::<Vec<_>>()
                    .join(" ")
            };
            let _ = match self.node(id) {
                Node::Num(bits) => writeln!(out, "num {}", f64::from_bits(*bits)),
                Node::Symbol(s) => writeln!(out, "sym {}", self.symbol_name(*s)),
                Node::Field { field, derivative } => {
                    writeln!(out, "field {} {:?}", self.field_name(*field), derivative)
                }
                Node::Add(ops) => writeln!(out, "add {}", ids(ops)),
                Node::Mul(ops) => writeln!(out, "mul {}", ids(ops)),
                Node::Pow(base, exponent) => writeln!(out, "pow {base} {exponent}"),
                Node::Call(f, arg) => writeln!(out, "call {} {arg}", f.name()),
                Node::Act(a, arg) => writeln!(out, "act {} {arg}", a.name()),
            };
        }
        let _ = writeln!(out, "roots: {}", {
            let roots: Vec<String> = roots.iter().map(|r| r.to_string()).collect();
            roots.join(" ")
        });
        out
    }

    /// Prints node `id`, whose operands are already in `printed`.
    fn print_node(&self, id: ExprId, printed: &HashMap<ExprId, Printed>) -> Printed {
        let get = |child: ExprId| {
            printed.get(&child).cloned().unwrap_or(Printed {
                text: "?".to_string(),
                prec: Prec::Atom,
            })
        };
        let atom = |text: String| Printed {
            text,
            prec: Prec::Atom,
        };
        match self.node(id) {
            Node::Num(bits) => number(f64::from_bits(*bits)),
            Node::Symbol(s) => atom(self.symbol_name(*s).to_string()),
            Node::Field { field, derivative } => atom(self.field_text(*field, derivative)),
            Node::Call(f, arg) => atom(format!("{}({})", f.name(), get(*arg).text)),
            Node::Act(a, arg) => atom(format!("{}({})", a.name(), get(*arg).text)),
            &Node::Pow(base, exponent) => match self.finite_number(exponent) {
                Some(e) if e < 0.0 => Printed {
                    text: format!("1/{}", self.denominator_text(&[(base, -e)], &get)),
                    prec: Prec::Product,
                },
                _ => Printed {
                    text: format!(
                        "{}^{}",
                        wrap(&get(base), Prec::Atom),
                        wrap(&get(exponent), Prec::Atom)
                    ),
                    prec: Prec::Power,
                },
            },
            Node::Mul(ops) => self.product_text(ops, false, &get),
            Node::Add(ops) => {
                // (negative?, text of the term without its sign)
                let mut terms: Vec<(bool, String)> = ops
                    .iter()
                    .map(|&op| match self.node(op) {
                        Node::Num(bits) => {
                            let v = f64::from_bits(*bits);
                            (v < 0.0, format_number(v.abs()))
                        }
                        Node::Mul(factors)
                            if factors
                                .first()
                                .and_then(|&c| self.finite_number(c))
                                .is_some_and(|c| c < 0.0) =>
                        {
                            (true, self.product_text(factors, true, &get).text)
                        }
                        _ => (false, wrap(&get(op), Prec::Neg)),
                    })
                    .collect();
                // The constant is stored first; print it last (`x + 1`).
                if ops.first().is_some_and(|&c| self.number(c).is_some()) {
                    terms.rotate_left(1);
                }
                if let Some(first_positive) = terms.iter().position(|t| !t.0) {
                    let term = terms.remove(first_positive);
                    terms.insert(0, term);
                }
                let mut text = String::new();
                for (i, (negative, term)) in terms.iter().enumerate() {
                    let sign = match (i, negative) {
                        (0, false) => "",
                        (0, true) => "-",
                        (_, false) => " + ",
                        (_, true) => " - ",
                    };
                    text.push_str(sign);
                    text.push_str(term);
                }
                Printed {
                    text,
                    prec: Prec::Sum,
                }
            }
        }
    }

    /// A product: sign, coefficient and numerator factors joined by `*`,
    /// then `/denominator` for factors with negative numeric exponents.
    /// With `flip_sign` the numeric coefficient is negated (used to print a
    /// sum's negative terms as `- term`).
    fn product_text(
        &self,
        factors: &[ExprId],
        flip_sign: bool,
        get: &dyn Fn(ExprId) -> Printed,
    ) -> Printed {
        let mut rest = factors;
        let mut coefficient = 1.0;
        if let Some((&first, tail)) = factors.split_first() {
            if let Some(c) = self.finite_number(first) {
                coefficient = c;
                rest = tail;
            }
        }
        if flip_sign {
            coefficient = -coefficient;
        }
        let negative = coefficient < 0.0;
        let mut numerator = Vec::new();
        if coefficient.abs() != 1.0 {
            numerator.push(format_number(coefficient.abs()));
        }
        let mut denominator = Vec::new();
        for &factor in rest {
            match self.node(factor) {
                &Node::Pow(base, exponent)
                    if self.finite_number(exponent).is_some_and(|e| e < 0.0) =>
                {
                    let e = self.finite_number(exponent).unwrap_or(-1.0);
                    denominator.push((base, -e));
                }
                _ => numerator.push(wrap(&get(factor), Prec::Product)),
            }
        }
        let mut text = String::new();
        if negative {
            text.push('-');
        }
        if numerator.is_empty() {
            text.push('1');
        } else {
            text.push_str(&numerator.join("*"));
        }
        if !denominator.is_empty() {
            text.push('/');
            text.push_str(&self.denominator_text(&denominator, get));
        }
        Printed {
            text,
            prec: if negative { Prec::Neg } else { Prec::Product },
        }
    }

    /// The denominator of a quotient from (base, positive exponent) pairs:
    /// `x`, `x^2`, `(x + 1)`, or `(x*y^2)` for several factors.
    fn denominator_text(&self, parts: &[(ExprId, f64)], get: &dyn Fn(ExprId) -> Printed) -> String {
        let factors: Vec<Printed> = parts
            .iter()
            .map(|&(base, exponent)| {
                if exponent == 1.0 {
                    get(base)
                } else {
                    Printed {
                        text: format!(
                            "{}^{}",
                            wrap(&get(base), Prec::Atom),
                            wrap(&number(exponent), Prec::Atom)
                        ),
                        prec: Prec::Power,
                    }
                }
            })
            .collect();
        match factors.as_slice() {
            [single] => wrap(single, Prec::Power),
            _ => {
                let joined: Vec<String> = factors.iter().map(|f| wrap(f, Prec::Product)).collect();
                format!("({})", joined.join("*"))
            }
        }
    }

    /// `u`, `u_xx` when every declared coordinate name is one character,
    /// otherwise `d(u, x1, x1)`.
    fn field_text(&self, field: u32, derivative: &[u8]) -> String {
        let name = self.field_name(field);
        if derivative.iter().all(|&k| k == 0) {
            return name;
        }
        let coordinates: Vec<String> = derivative
            .iter()
            .enumerate()
            .flat_map(|(j, &k)| {
                let coordinate = self
                    .coordinate_symbol(j)
                    .map_or_else(|| format!("x{j}"), |s| self.symbol_name(s).to_string());
                std::iter::repeat_n(coordinate, usize::from(k))
            })
            .collect();
        let all_single = self.coordinate_names_are_letters()
            && coordinates.iter().all(|c| c.chars().count() == 1);
        if all_single {
            format!("{name}_{}", coordinates.concat())
        } else {
            format!("d({name}, {})", coordinates.join(", "))
        }
    }
}
