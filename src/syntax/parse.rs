//! From source text to [`File`]: runs the pest grammar (`grammar/pde.pest`)
//! and converts its parse tree into the AST.
//!
//! pest's errors are converted here, at the edge of the stage, into
//! [`Diagnostic`]s whose expected-token sets are written in words. Each
//! conversion function names the grammar rule it reads.

use pest::iterators::Pair;
use pest::Parser;
use pest_derive::Parser;

use super::ast::*;
use crate::diag::{edit_distance, Diagnostic, Span};

#[derive(Parser)]
#[grammar = "../grammar/pde.pest"]
struct PdeParser;

/// Parses a whole file. On a syntax error the file is `None` and the
/// diagnostic says what was expected where; otherwise further diagnostics
/// (such as two statements on one line) may accompany the tree.
pub fn parse(source: &str) -> (Option<File>, Vec<Diagnostic>) {
    if let Some(d) = too_deep(source) {
        return (None, vec![d]);
    }
    pest::set_error_detail(true);
    let pairs = match PdeParser::parse(Rule::file, source) {
        Ok(pairs) => pairs,
        Err(error) => return (None, vec![syntax_error(source, &error)]),
    };
    let mut builder = AstBuilder {
        diagnostics: Vec::new(),
    };
    let mut statements = Vec::new();
    for pair in pairs.flatten().filter(|p| p.as_rule() == Rule::file) {
        for statement in pair.into_inner() {
            if statement.as_rule() != Rule::EOI {
                statements.push(builder.statement(statement));
            }
        }
    }
    one_statement_per_line(source, &statements, &mut builder.diagnostics);
    (Some(File { statements }), builder.diagnostics)
}

/// The deepest bracket nesting the language accepts: far beyond what a
/// person writes, and small enough that every stage's recursion is safe.
pub const MAX_NESTING: usize = 200;

/// Rejects bracket nesting deeper than [`MAX_NESTING`] before parsing.
fn too_deep(source: &str) -> Option<Diagnostic> {
    let mut depth = 0usize;
    let mut in_comment = false;
    let mut in_string = false;
    for (i, c) in source.char_indices() {
        match c {
            '\n' => {
                in_comment = false;
                in_string = false;
            }
            _ if in_comment => {}
            '"' => in_string = !in_string,
            _ if in_string => {}
            '#' => in_comment = true,
            '(' | '[' => {
                depth += 1;
                if depth > MAX_NESTING {
                    return Some(
                        Diagnostic::error(
                            "E0104",
                            format!("brackets nested more than {MAX_NESTING} levels deep"),
                            Span::new(i, i + 1),
                        )
                        .with_label_message("too deep here")
                        .with_note("split the expression with `let` definitions"),
                    );
                }
            }
            ')' | ']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    None
}

/// Every statement must start on a line of its own (the grammar lets
/// newlines appear between any two tokens; this is where the line structure
/// the language promises is enforced).
fn one_statement_per_line(source: &str, statements: &[Statement], out: &mut Vec<Diagnostic>) {
    for pair in statements.windows(2) {
        let (previous, next) = (&pair[0], &pair[1]);
        let between = &source[previous.span.end..next.span.start];
        if !between.contains('\n') {
            out.push(
                Diagnostic::error(
                    "E0102",
                    format!(
                        "`{}` starts on the same line as the previous statement",
                        next.kind.keyword()
                    ),
                    next.keyword,
                )
                .with_label_message("start a new line here")
                .with_secondary(previous.span, "previous statement")
                .with_note("write one statement per line"),
            );
        }
    }
}

/// The text between the quotes of a `string` pair (empty if it has none).
fn string_body(string: Pair<'_, Rule>) -> String {
    string
        .into_inner()
        .next()
        .map(|b| b.as_str().to_string())
        .unwrap_or_default()
}

/// The span of a pair without the whitespace and comments pest may have
/// consumed after its last token.
fn span_of(pair: &Pair<'_, Rule>) -> Span {
    let s = pair.as_span();
    Span::new(s.start(), s.start() + trimmed_len(s.as_str()))
}

/// The length of `text` without trailing whitespace and `#` comments.
fn trimmed_len(text: &str) -> usize {
    let mut end = text.len();
    loop {
        let trimmed = text[..end].trim_end();
        end = trimmed.len();
        let line_start = trimmed.rfind('\n').map_or(0, |i| i + 1);
        match comment_start(&trimmed[line_start..]) {
            Some(offset) => end = line_start + offset,
            None => return end,
        }
    }
}

/// Where a `#` comment starts in one line (outside a quoted string).
fn comment_start(line: &str) -> Option<usize> {
    let mut in_string = false;
    for (i, c) in line.char_indices() {
        match c {
            '"' => in_string = !in_string,
            '#' if !in_string => return Some(i),
            _ => {}
        }
    }
    None
}

/// Converts pest pairs into AST nodes. The grammar guarantees the shape of
/// each pair, so the only failure left is a number that does not fit in f64
/// (reported as a diagnostic, with 0 standing in so conversion can continue).
struct AstBuilder {
    diagnostics: Vec<Diagnostic>,
}

impl AstBuilder {
    /// statement = problem_stmt | domain_stmt | ... (one arm per statement rule)
    fn statement(&mut self, pair: Pair<'_, Rule>) -> Statement {
        let span = span_of(&pair);
        let rule = pair.as_rule();
        let mut inner = pair.into_inner();
        let keyword = inner.next().map(|k| span_of(&k)).unwrap_or(span);
        let rest: Vec<Pair<'_, Rule>> = inner.collect();
        let kind = match rule {
            // problem_stmt = { kw_problem ~ string }
            Rule::problem_stmt => StatementKind::Problem {
                title: rest.first().cloned().map(string_body).unwrap_or_default(),
            },
            // domain_stmt = { kw_domain ~ (shape_domain | interval_decl ~ ("," ~ interval_decl)*) }
            Rule::domain_stmt => {
                if rest.first().map(|p| p.as_rule()) == Some(Rule::shape_domain) {
                    // shape_domain = { "(" ~ ident ~ ("," ~ ident)* ~ ")" ~ kw_in ~ shape_expr }
                    let mut coordinates = Vec::new();
                    let mut shape = None;
                    for p in rest.into_iter().next().expect("grammar").into_inner() {
                        match p.as_rule() {
                            Rule::ident => coordinates.push(ident(&p)),
                            Rule::shape_expr => shape = Some(self.shape_expr(p)),
                            _ => {} // kw_in
                        }
                    }
                    StatementKind::ShapeDomain {
                        coordinates,
                        shape: shape.expect("grammar: a shaped domain has a shape"),
                    }
                } else if rest.first().map(|p| p.as_rule()) == Some(Rule::ball_domain) {
                    // ball_domain = { ident ~ kw_in ~ "ball" ~ "(" ~ expr ~ ("," ~ "radius" ~ "=" ~ expr)? ~ ")" }
                    let mut it = rest
                        .into_iter()
                        .next()
                        .expect("grammar")
                        .into_inner()
                        .filter(|p| p.as_rule() != Rule::kw_in);
                    let name = ident(&it.next().expect("grammar"));
                    let dims = self.expr(it.next().expect("grammar"));
                    let radius = it.next().map(|p| self.expr(p));
                    StatementKind::BallDomain { name, dims, radius }
                } else {
                    StatementKind::Domain(rest.into_iter().map(|p| self.interval(p)).collect())
                }
            }
            // shape_stmt = { kw_shape ~ ident ~ "=" ~ shape_expr }
            Rule::shape_stmt => {
                let mut it = rest.into_iter();
                let name = ident(&it.next().expect("grammar"));
                let shape = self.shape_expr(it.next().expect("grammar"));
                StatementKind::Shape { name, shape }
            }
            // time_stmt = { kw_time ~ interval_decl }
            Rule::time_stmt => {
                StatementKind::Time(self.interval(rest.into_iter().next().expect("grammar")))
            }
            // const_stmt = { kw_const ~ binding ~ ("," ~ binding)* }
            Rule::const_stmt => {
                StatementKind::Const(rest.into_iter().map(|p| self.binding(p)).collect())
            }
            // let_stmt = { kw_let ~ binding ~ ("," ~ binding)* }
            Rule::let_stmt => {
                StatementKind::Let(rest.into_iter().map(|p| self.binding(p)).collect())
            }
            // unknown_stmt = { kw_unknown ~ ident ~ ("," ~ ident)* }
            Rule::unknown_stmt => StatementKind::Unknown(rest.iter().map(ident).collect()),
            // equation_stmt = { kw_equation ~ relation ~ weight? }
            Rule::equation_stmt => {
                let mut it = rest.into_iter();
                let relation = self.relation(it.next().expect("grammar"));
                let weight = it.next().map(|p| self.weight(p));
                StatementKind::Equation { relation, weight }
            }
            // bc_stmt = { kw_bc ~ (periodic_bc | relation ~ kw_on ~ face ~ ("," ~ face)*) ~ weight? }
            Rule::bc_stmt if rest.first().map(|p| p.as_rule()) == Some(Rule::periodic_bc) => {
                let mut it = rest.into_iter();
                // periodic_bc = { kw_periodic ~ kw_in ~ ident ~ ("," ~ ident)* }
                let coordinates = it
                    .next()
                    .expect("grammar")
                    .into_inner()
                    .filter(|p| p.as_rule() == Rule::ident)
                    .map(|p| ident(&p))
                    .collect();
                let weight = it.next().map(|p| self.weight(p));
                StatementKind::Periodic {
                    coordinates,
                    weight,
                }
            }
            Rule::bc_stmt => {
                let mut relation = None;
                let mut faces = Vec::new();
                let mut weight = None;
                for p in rest {
                    match p.as_rule() {
                        Rule::relation => relation = Some(self.relation(p)),
                        Rule::face => faces.push(self.face(p)),
                        Rule::weight => weight = Some(self.weight(p)),
                        _ => {} // kw_on
                    }
                }
                StatementKind::Bc {
                    relation: relation.expect("grammar: bc has a relation"),
                    faces,
                    weight,
                }
            }
            // initial_stmt = { kw_initial ~ (initial_data | relation ~ weight?) }
            // initial_data = { ident ~ "=" ~ "data" ~ "(" ~ string ~ ")" }
            Rule::initial_stmt if rest.first().map(|p| p.as_rule()) == Some(Rule::initial_data) => {
                let mut it = rest[0].clone().into_inner();
                let unknown = ident(&it.next().expect("grammar: initial_data has a name"));
                let string = it.next().expect("grammar: initial_data has a path");
                let path_span = span_of(&string);
                let path = string_body(string);
                StatementKind::InitialData {
                    unknown,
                    path,
                    path_span,
                }
            }
            Rule::initial_stmt => {
                let mut it = rest.into_iter();
                let relation = self.relation(it.next().expect("grammar"));
                let weight = it.next().map(|p| self.weight(p));
                StatementKind::Initial { relation, weight }
            }
            // exact_stmt = { kw_exact ~ ident ~ "=" ~ expr }
            Rule::exact_stmt => {
                let mut it = rest.into_iter();
                let unknown = ident(&it.next().expect("grammar"));
                let value = self.expr(it.next().expect("grammar"));
                StatementKind::Exact { unknown, value }
            }
            // reference_stmt = { kw_reference ~ ident ~ "=" ~ ident ~ "(" ~ string ~ ")" }
            Rule::reference_stmt => {
                let mut it = rest.into_iter();
                let unknown = ident(&it.next().expect("grammar"));
                let function = ident(&it.next().expect("grammar"));
                let string = it.next().expect("grammar");
                let path_span = span_of(&string);
                let path = string_body(string);
                StatementKind::Reference {
                    unknown,
                    function,
                    path,
                    path_span,
                }
            }
            // ansatz_stmt = { kw_ansatz ~ setting ~ periodic_inputs? }
            Rule::ansatz_stmt => {
                let mut it = rest.into_iter();
                let setting = self.setting(it.next().expect("grammar"));
                // periodic_inputs = { kw_periodic ~ kw_in ~ ident ~ ("," ~ ident)* }
                let periodic = it
                    .next()
                    .map(|p| {
                        p.into_inner()
                            .filter(|p| p.as_rule() == Rule::ident)
                            .map(|p| ident(&p))
                            .collect()
                    })
                    .unwrap_or_default();
                StatementKind::Ansatz(setting, periodic)
            }
            // sample_stmt = { kw_sample ~ sample_set ~ ("," ~ sample_set)* }
            Rule::sample_stmt => StatementKind::Sample(
                rest.into_iter()
                    .map(|p| {
                        let span = span_of(&p);
                        let mut it = p.into_inner();
                        let set = ident(&it.next().expect("grammar"));
                        let setting = self.setting(it.next().expect("grammar"));
                        SampleSet { set, setting, span }
                    })
                    .collect(),
            ),
            // diff_stmt = { kw_diff ~ setting }
            Rule::diff_stmt => {
                StatementKind::Diff(self.setting(rest.into_iter().next().expect("grammar")))
            }
            // train_stmt = { kw_train ~ setting }
            Rule::train_stmt => {
                StatementKind::Train(self.setting(rest.into_iter().next().expect("grammar")))
            }
            // scheme_stmt = { kw_scheme ~ setting }
            Rule::scheme_stmt => {
                StatementKind::Scheme(self.setting(rest.into_iter().next().expect("grammar")))
            }
            // formulation_stmt = { kw_formulation ~ setting }
            Rule::formulation_stmt => {
                StatementKind::Formulation(self.setting(rest.into_iter().next().expect("grammar")))
            }
            other => unreachable!("grammar: {other:?} is not a statement"),
        };
        Statement {
            kind,
            span,
            keyword,
        }
    }

    /// interval_decl = { ident ~ kw_in ~ "[" ~ expr ~ "," ~ expr ~ "]" ~ ("^" ~ (integer | name))? }
    fn interval(&mut self, pair: Pair<'_, Rule>) -> IntervalDecl {
        let span = span_of(&pair);
        let mut it = pair.into_inner().filter(|p| p.as_rule() != Rule::kw_in);
        let name = ident(&it.next().expect("grammar"));
        let lo = self.expr(it.next().expect("grammar"));
        let hi = self.expr(it.next().expect("grammar"));
        let power = it.next().map(|p| {
            let span = span_of(&p);
            let kind = match p.as_rule() {
                // An integer too large for f64 is certainly unsupported.
                Rule::integer => ExprKind::Number(p.as_str().parse::<f64>().unwrap_or(f64::MAX)),
                _ => ExprKind::Name(p.as_str().to_string()),
            };
            Expr { kind, span }
        });
        IntervalDecl {
            name,
            lo,
            hi,
            power,
            span,
        }
    }

    /// binding = { ident ~ "=" ~ expr }
    fn binding(&mut self, pair: Pair<'_, Rule>) -> Binding {
        let span = span_of(&pair);
        let mut it = pair.into_inner();
        let name = ident(&it.next().expect("grammar"));
        let value = self.expr(it.next().expect("grammar"));
        Binding { name, value, span }
    }

    /// relation = { expr ~ "=" ~ expr }
    fn relation(&mut self, pair: Pair<'_, Rule>) -> Relation {
        let span = span_of(&pair);
        let mut it = pair.into_inner();
        let lhs = self.expr(it.next().expect("grammar"));
        let rhs = self.expr(it.next().expect("grammar"));
        Relation { lhs, rhs, span }
    }

    /// shape_expr = { shape_term ~ (shape_op ~ shape_term)* }, left to right.
    fn shape_expr(&mut self, pair: Pair<'_, Rule>) -> ShapeExpr {
        let mut it = pair.into_inner();
        let mut lhs = self.shape_term(it.next().expect("grammar"));
        while let Some(op) = it.next() {
            let op = match op.as_str() {
                "+" => ShapeOp::Union,
                "-" => ShapeOp::Difference,
                _ => ShapeOp::Intersection,
            };
            let rhs = self.shape_term(it.next().expect("grammar"));
            let span = lhs.span.to(rhs.span);
            lhs = ShapeExpr {
                kind: ShapeExprKind::Binary {
                    op,
                    lhs: Box::new(lhs),
                    rhs: Box::new(rhs),
                },
                span,
            };
        }
        lhs
    }

    /// shape_term = _{ shape_call | shape_name | "(" ~ shape_expr ~ ")" }
    fn shape_term(&mut self, pair: Pair<'_, Rule>) -> ShapeExpr {
        let span = span_of(&pair);
        match pair.as_rule() {
            Rule::shape_expr => self.shape_expr(pair),
            // shape_name = { ident }
            Rule::shape_name => ShapeExpr {
                kind: ShapeExprKind::Name(ident(&pair)),
                span,
            },
            // shape_call = { ident ~ "(" ~ (shape_arg ~ ("," ~ shape_arg)*)? ~ ")" }
            _ => {
                let mut it = pair.into_inner();
                let function = ident(&it.next().expect("grammar"));
                let args = it
                    .map(|a| match a.as_rule() {
                        // vector = { "[" ~ expr ~ ("," ~ expr)* ~ "]" }
                        Rule::vector => {
                            let vspan = span_of(&a);
                            ShapeArg::Vector(a.into_inner().map(|e| self.expr(e)).collect(), vspan)
                        }
                        _ => ShapeArg::Scalar(self.expr(a)),
                    })
                    .collect();
                ShapeExpr {
                    kind: ShapeExprKind::Primitive { function, args },
                    span,
                }
            }
        }
    }

    /// face = { boundary_face | coord_face | piece_face }
    fn face(&mut self, pair: Pair<'_, Rule>) -> Face {
        let inner = pair.into_inner().next().expect("grammar");
        let span = span_of(&inner);
        match inner.as_rule() {
            Rule::boundary_face => Face::Boundary(span),
            // piece_face = { ident }
            Rule::piece_face => Face::Piece(ident(&inner.into_inner().next().expect("grammar"))),
            _ => {
                // coord_face = { ident ~ "=" ~ expr }
                let mut it = inner.into_inner();
                let coordinate = ident(&it.next().expect("grammar"));
                let value = self.expr(it.next().expect("grammar"));
                Face::Coordinate {
                    coordinate,
                    value,
                    span,
                }
            }
        }
    }

    /// weight = { kw_weight ~ expr }
    fn weight(&mut self, pair: Pair<'_, Rule>) -> Expr {
        let expr = pair
            .into_inner()
            .find(|p| p.as_rule() == Rule::expr)
            .expect("grammar");
        self.expr(expr)
    }

    /// setting = { ident ~ ("(" ~ (setting_arg ~ ("," ~ setting_arg)* ~ ","?)? ~ ")")? }
    fn setting(&mut self, pair: Pair<'_, Rule>) -> Setting {
        let span = span_of(&pair);
        let mut it = pair.into_inner();
        let name = ident(&it.next().expect("grammar"));
        let args = it
            .map(|arg| {
                // setting_arg = { (ident ~ "=")? ~ expr }
                let span = span_of(&arg);
                let parts: Vec<_> = arg.into_inner().collect();
                let (key, value) = match parts.len() {
                    2 => (Some(ident(&parts[0])), parts[1].clone()),
                    _ => (None, parts[0].clone()),
                };
                SettingArg {
                    key,
                    value: self.expr(value),
                    span,
                }
            })
            .collect();
        Setting { name, args, span }
    }

    /// expr = { product ~ (add_op ~ product)* }, likewise product with mul_op.
    fn expr(&mut self, pair: Pair<'_, Rule>) -> Expr {
        let span = span_of(&pair);
        match pair.as_rule() {
            Rule::expr | Rule::product => {
                let mut it = pair.into_inner();
                let mut acc = self.expr(it.next().expect("grammar"));
                while let (Some(op), Some(rhs)) = (it.next(), it.next()) {
                    let op = match op.as_str() {
                        "+" => BinOp::Add,
                        "-" => BinOp::Sub,
                        "*" => BinOp::Mul,
                        _ => BinOp::Div,
                    };
                    let rhs = self.expr(rhs);
                    let span = acc.span.to(rhs.span);
                    acc = Expr {
                        kind: ExprKind::Binary {
                            op,
                            lhs: Box::new(acc),
                            rhs: Box::new(rhs),
                        },
                        span,
                    };
                }
                acc
            }
            // factor = { neg* ~ power }
            Rule::factor => {
                let parts: Vec<_> = pair.into_inner().collect();
                let (negs, power) = parts.split_at(parts.len() - 1);
                let mut acc = self.expr(power[0].clone());
                for neg in negs.iter().rev() {
                    let span = span_of(neg).to(acc.span);
                    acc = Expr {
                        kind: ExprKind::Neg(Box::new(acc)),
                        span,
                    };
                }
                acc
            }
            // power = { primary ~ (pow_op ~ factor)? }
            Rule::power => {
                let mut it = pair.into_inner();
                let base = self.expr(it.next().expect("grammar"));
                match (it.next(), it.next()) {
                    (Some(_), Some(exponent)) => {
                        let exponent = self.expr(exponent);
                        Expr {
                            kind: ExprKind::Binary {
                                op: BinOp::Pow,
                                lhs: Box::new(base),
                                rhs: Box::new(exponent),
                            },
                            span,
                        }
                    }
                    _ => base,
                }
            }
            // number = @{ digits ("." digits)? (exponent)? }
            Rule::number => {
                let value = pair.as_str().parse::<f64>().unwrap_or(f64::INFINITY);
                if !value.is_finite() {
                    self.diagnostics.push(
                        Diagnostic::error(
                            "E0103",
                            format!("number `{}` is too large for a 64-bit float", pair.as_str()),
                            span,
                        )
                        .with_note("the largest finite value is about 1.8e308"),
                    );
                }
                Expr {
                    kind: ExprKind::Number(if value.is_finite() { value } else { 0.0 }),
                    span,
                }
            }
            // call = { ident ~ "(" ~ (expr ~ ("," ~ expr)*)? ~ ")" }
            Rule::call => {
                let mut it = pair.into_inner();
                let function = ident(&it.next().expect("grammar"));
                let args = it.map(|p| self.expr(p)).collect();
                Expr {
                    kind: ExprKind::Call { function, args },
                    span,
                }
            }
            // index = { ident ~ "[" ~ expr ~ "]" }
            Rule::index => {
                let mut it = pair.into_inner();
                let base = ident(&it.next().expect("grammar"));
                let index = Box::new(self.expr(it.next().expect("grammar")));
                Expr {
                    kind: ExprKind::Index { base, index },
                    span,
                }
            }
            // name = { ident }
            Rule::name => Expr {
                kind: ExprKind::Name(pair.as_str().to_string()),
                span,
            },
            other => unreachable!("grammar: {other:?} is not an expression"),
        }
    }
}

/// ident = @{ !keyword ~ ASCII_ALPHA ~ (ASCII_ALPHANUMERIC | "_")* }
fn ident(pair: &Pair<'_, Rule>) -> Ident {
    Ident {
        name: pair.as_str().to_string(),
        span: span_of(pair),
    }
}

// ------------------------------------------------------------ syntax errors

const STATEMENT_KEYWORDS: [Rule; 18] = [
    Rule::kw_problem,
    Rule::kw_domain,
    Rule::kw_shape,
    Rule::kw_time,
    Rule::kw_const,
    Rule::kw_let,
    Rule::kw_unknown,
    Rule::kw_equation,
    Rule::kw_bc,
    Rule::kw_initial,
    Rule::kw_exact,
    Rule::kw_reference,
    Rule::kw_ansatz,
    Rule::kw_sample,
    Rule::kw_diff,
    Rule::kw_train,
    Rule::kw_scheme,
    Rule::kw_formulation,
];

/// Words for what a grammar rule stands for in an "expected ..." list.
fn describe_rule(rule: Rule) -> Option<&'static str> {
    Some(match rule {
        Rule::expr
        | Rule::product
        | Rule::factor
        | Rule::power
        | Rule::number
        | Rule::call
        | Rule::index
        | Rule::name
        | Rule::neg => "an expression",
        Rule::add_op | Rule::mul_op | Rule::pow_op => "an operator",
        Rule::ident => "a name",
        Rule::integer => "a whole number",
        Rule::string | Rule::string_body => "a quoted string",
        Rule::EOI => "the end of the file",
        Rule::face
        | Rule::coord_face
        | Rule::boundary_face
        | Rule::piece_face
        | Rule::kw_boundary => "a face (`x = 0`, `boundary` or a shape's name)",
        Rule::shape_expr
        | Rule::shape_call
        | Rule::shape_name
        | Rule::shape_domain
        | Rule::ball_domain => "a shape (`disk([0, 0], 1)`, a shape's name, ...)",
        Rule::shape_op => "a shape operator (`+`, `-`, `&`)",
        Rule::vector => "a vector (`[a, b]`)",
        Rule::setting => "a setting",
        Rule::periodic_inputs => "periodic inputs (`periodic in x`)",
        Rule::setting_arg => "an argument (`key = value`)",
        Rule::sample_set | Rule::set_name => "a point set (`interior = grid(64)`)",
        Rule::interval_decl => "a coordinate interval (`x in [0, 1]`)",
        Rule::binding => "a definition (`name = value`)",
        Rule::relation => "a relation (`lhs = rhs`)",
        Rule::initial_data => "measured values (`u = data(\"signal.csv\")`)",
        Rule::kw_in => "`in`",
        Rule::kw_on => "`on`",
        Rule::kw_weight => "`weight`",
        _ => return None,
    })
}

/// The token found at byte `pos`, in words, and its span.
fn found_at(source: &str, pos: usize) -> (String, Span) {
    let rest = &source[pos.min(source.len())..];
    let Some(first) = rest.chars().next() else {
        return ("the end of the file".into(), Span::new(pos, pos));
    };
    if first.is_ascii_alphanumeric() || first == '_' || first == '.' {
        let len = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.'))
            .unwrap_or(rest.len());
        let word = &rest[..len];
        let what = if first.is_ascii_digit() || first == '.' {
            format!("number `{word}`")
        } else if is_keyword(word) {
            format!("keyword `{word}`")
        } else {
            format!("`{word}`")
        };
        (what, Span::new(pos, pos + len))
    } else {
        let len = first.len_utf8();
        (format!("`{first}`"), Span::new(pos, pos + len))
    }
}

/// The byte offset of the last bracket in `text` that is not closed
/// (comments are skipped).
fn unclosed_bracket(text: &str) -> Option<usize> {
    let mut stack = Vec::new();
    let mut in_comment = false;
    for (i, c) in text.char_indices() {
        match c {
            '\n' => in_comment = false,
            _ if in_comment => {}
            '#' => in_comment = true,
            '(' | '[' => stack.push(i),
            ')' | ']' => {
                stack.pop();
            }
            _ => {}
        }
    }
    stack.pop()
}

const STATEMENT_WORDS: [&str; 18] = [
    "problem",
    "domain",
    "shape",
    "time",
    "const",
    "let",
    "unknown",
    "equation",
    "bc",
    "initial",
    "exact",
    "reference",
    "ansatz",
    "sample",
    "diff",
    "train",
    "scheme",
    "formulation",
];

fn is_keyword(word: &str) -> bool {
    matches!(
        word,
        "problem"
            | "domain"
            | "shape"
            | "time"
            | "const"
            | "let"
            | "unknown"
            | "equation"
            | "bc"
            | "initial"
            | "exact"
            | "reference"
            | "ansatz"
            | "sample"
            | "diff"
            | "train"
            | "scheme"
            | "formulation"
            | "in"
            | "on"
            | "boundary"
            | "weight"
    )
}

/// Rewrites a pest error into a diagnostic with the expected tokens in words.
fn syntax_error(source: &str, error: &pest::error::Error<Rule>) -> Diagnostic {
    use pest::error::{ErrorVariant, InputLocation};
    let mut pos = match error.location {
        InputLocation::Pos(p) => p,
        InputLocation::Span((s, _)) => s,
    };
    // pest may report the start of the rule that failed; the attempts know
    // how far the parse really got.
    let attempts = error.parse_attempts();
    // (Not when a keyword stands at the reported position: the attempts
    // then include the lookahead that rejected it as a name.)
    let keyword_here = found_at(source, pos).0.starts_with("keyword");
    let further = attempts
        .as_ref()
        .filter(|a| a.max_position > pos && !keyword_here)
        .map(|a| a.max_position);
    if let Some(p) = further {
        pos = p;
    }
    let mut expected: Vec<String> = Vec::new();
    fn push(expected: &mut Vec<String>, s: String) {
        if !expected.contains(&s) {
            expected.push(s);
        }
    }
    if let (ErrorVariant::ParsingError { positives, .. }, None) = (&error.variant, further) {
        let statement_expected = positives.iter().any(|r| STATEMENT_KEYWORDS.contains(r));
        if statement_expected {
            push(
                &mut expected,
                "a statement (`domain`, `unknown`, `equation`, `bc`, ...)".into(),
            );
        }
        for rule in positives {
            if STATEMENT_KEYWORDS.contains(rule) {
                continue;
            }
            if let Some(words) = describe_rule(*rule) {
                push(&mut expected, words.to_string());
            }
        }
    }
    // Punctuation the grammar wanted (pest lists only rules in `positives`).
    // Operators are already covered by "an operator"; an opening bracket
    // right after an operand only means "this name could have been a call".
    let after_operand = expected.iter().any(|e| e == "an operator");
    if let Some(attempts) = &attempts {
        if attempts.max_position == pos {
            for token in attempts.expected_tokens() {
                let token = token.to_string();
                let wanted = match token.as_str() {
                    "=" | "," | ")" | "]" => true,
                    "(" | "[" => !after_operand,
                    _ => false,
                };
                if wanted {
                    push(&mut expected, format!("`{token}`"));
                }
            }
        }
    }
    // Further than pest's reported position, the punctuation that was
    // wanted says it best; the waiting rules only if there was none.
    if let (Some(attempts), Some(_), true) = (&attempts, further, expected.is_empty()) {
        for stack in attempts.call_stacks() {
            if let Some(words) = stack.deepest.get_rule().and_then(|r| describe_rule(*r)) {
                push(&mut expected, words.to_string());
            }
        }
    }
    if expected.iter().any(|e| e.starts_with("a statement")) {
        expected.retain(|e| e != "the end of the file");
    }
    let (found, mut span) = found_at(source, pos);
    // At the end of the file, point at the last token instead of past it.
    if span.start >= source.len() {
        let end = trimmed_len(source);
        let last = source[..end].chars().next_back().map_or(0, char::len_utf8);
        span = Span::new(end - last, end);
    }
    let expected_text = match expected.len() {
        0 => "something else".to_string(),
        1 => expected[0].clone(),
        n => format!("{} or {}", expected[..n - 1].join(", "), expected[n - 1]),
    };
    let mut diagnostic = Diagnostic::error(
        "E0101",
        format!("syntax error: expected {expected_text}, found {found}"),
        span,
    )
    .with_label_message(format!("expected {expected_text}"));
    // A statement keyword where an expression was expected usually means the
    // previous line stopped too early.
    if found.starts_with("keyword") && expected.iter().any(|e| e == "an expression") {
        diagnostic = diagnostic.with_note("the statement before it looks incomplete");
    }
    // An unclosed bracket: show where it was opened.
    let statement_over = found.starts_with("keyword") || span.end >= source.len();
    if statement_over && expected.iter().any(|e| e == "`)`" || e == "`]`") {
        if let Some(open) = unclosed_bracket(&source[..pos.min(source.len())]) {
            diagnostic =
                diagnostic.with_secondary(Span::new(open, open + 1), "this bracket is not closed");
        }
    }
    // A misspelled statement keyword.
    let word = &source[span.start..span.end];
    if expected.iter().any(|e| e.starts_with("a statement")) {
        if let Some(keyword) = STATEMENT_WORDS
            .iter()
            .find(|k| word.len() > 1 && edit_distance(word, k) <= 2)
        {
            diagnostic = diagnostic.with_note(format!("did you mean `{keyword}`?"));
        }
    }
    diagnostic
}
