//! Human-readable forms of a checked problem: expressions with minimal
//! parentheses, the short summary `pdec check` prints, and the full dump of
//! `pdec emit --stage problem`.

use std::fmt::{self, Write};

use super::fmt_num;
use super::spec::*;

/// Prints checked expressions with the problem's names.
pub struct ExprPrinter<'a> {
    spec: &'a Spec,
    /// Vector coordinates (name, first coordinate, size), so that sums
    /// over their components print as `sum(x)`, `lap(u)`, ...
    vectors: Vec<(String, usize, usize)>,
    /// Print named constants by value (`--stage problem`: "constants folded").
    pub fold_constants: bool,
}

// Precedence levels: higher binds tighter.
const ADD: u8 = 1;
const MUL: u8 = 2;
const NEG: u8 = 3;
const POW: u8 = 4;
const ATOM: u8 = 5;

impl<'a> ExprPrinter<'a> {
    /// A printer that shows constants by name.
    pub fn new(spec: &'a Spec) -> Self {
        ExprPrinter {
            spec,
            vectors: vectors(spec),
            fold_constants: false,
        }
    }

    /// A sum over all components of a vector coordinate, written as
    /// `sum(x)`, `norm2(x)`, `lap(u)`, `sum(grad(u))` or `norm2(grad(u))`.
    fn vector_sum(&self, e: &Expr) -> Option<String> {
        let mut terms = Vec::new();
        let mut stack = vec![e];
        while let Some(t) = stack.pop() {
            match t {
                Expr::Binary(Op::Add, a, b) => {
                    stack.push(b);
                    stack.push(a);
                }
                other => terms.push(other),
            }
        }
        let (name, first, _) = self.vectors.iter().find(|v| v.2 == terms.len())?;
        let field = |t: &Expr, k: usize, order: u8| match t {
            Expr::Field {
                unknown,
                derivative,
            } if derivative[first + k] == order
                && derivative.iter().map(|&n| u32::from(n)).sum::<u32>() == u32::from(order) =>
            {
                Some(*unknown)
            }
            _ => None,
        };
        fn square(t: &Expr) -> Option<&Expr> {
            match t {
                Expr::Binary(Op::Pow, a, b) if **b == Expr::Number(2.0) => Some(&**a),
                _ => None,
            }
        }
        let all_same = |f: &dyn Fn(&Expr, usize) -> Option<usize>| -> Option<usize> {
            let u = f(terms[0], 0)?;
            terms
                .iter()
                .enumerate()
                .all(|(k, t)| f(t, k) == Some(u))
                .then_some(u)
        };
        let unknown = |u: usize| &self.spec.unknowns[u].name;
        if terms
            .iter()
            .enumerate()
            .all(|(k, t)| **t == Expr::Coordinate(first + k))
        {
            return Some(format!("sum({name})"));
        }
        if terms
            .iter()
            .enumerate()
            .all(|(k, t)| square(t) == Some(&Expr::Coordinate(first + k)))
        {
            return Some(format!("norm2({name})"));
        }
        if let Some(u) = all_same(&|t, k| field(t, k, 2)) {
            return Some(format!("lap({})", unknown(u)));
        }
        if let Some(u) = all_same(&|t, k| field(t, k, 1)) {
            return Some(format!("sum(grad({}))", unknown(u)));
        }
        if let Some(u) = all_same(&|t, k| square(t).and_then(|a| field(a, k, 1))) {
            return Some(format!("norm2(grad({}))", unknown(u)));
        }
        None
    }

    /// `e` as text that parses back to the same expression.
    pub fn print(&self, e: &Expr) -> String {
        let mut out = String::new();
        self.write(&mut out, e);
        out
    }

    /// The residual `lhs - rhs`, written `lhs` alone when `rhs` is 0.
    pub fn residual(&self, lhs: &Expr, rhs: &Expr) -> String {
        match rhs {
            Expr::Number(v) if *v == 0.0 => self.print(lhs),
            _ => self.print(&Expr::difference(lhs.clone(), rhs.clone())),
        }
    }

    /// The name of d^alpha u: `u_xx` or `d(u, x1, x1)`.
    pub fn field_name(&self, unknown: UnknownId, derivative: &[u8]) -> String {
        let name = &self.spec.unknowns[unknown].name;
        if derivative.iter().all(|&d| d == 0) {
            return name.clone();
        }
        let letters: Vec<&str> = derivative
            .iter()
            .enumerate()
            .flat_map(|(c, &n)| {
                std::iter::repeat_n(self.spec.coordinates[c].name.as_str(), n as usize)
            })
            .collect();
        // `qu_x` differentiated in x prints as d(qu_x, x), not qu_x_x;
        // components x[i] of vector coordinates print as d(u, x[i]).
        let subscripts = self.spec.subscript_names()
            || (letters.iter().all(|l| l.chars().count() == 1)
                && self
                    .spec
                    .coordinates
                    .iter()
                    .all(|c| c.name.chars().count() == 1 || c.name.ends_with(']')));
        if subscripts && !name.contains('_') {
            format!("{name}_{}", letters.concat())
        } else {
            format!("d({name}, {})", letters.join(", "))
        }
    }

    fn precedence(&self, e: &Expr) -> u8 {
        if matches!(e, Expr::Binary(Op::Add, ..)) && self.vector_sum(e).is_some() {
            return ATOM;
        }
        if self.fold_constants {
            if let Some(v) = e.eval_constant().filter(|v| v.is_finite()) {
                return if v < 0.0 { NEG } else { ATOM };
            }
        }
        match e {
            Expr::Number(v) if *v < 0.0 => NEG,
            Expr::Binary(Op::Add | Op::Sub, ..) => ADD,
            Expr::Binary(Op::Mul | Op::Div, ..) => MUL,
            Expr::Neg(_) => NEG,
            Expr::Binary(Op::Pow, ..) => POW,
            _ => ATOM,
        }
    }

    fn write_operand(&self, out: &mut String, e: &Expr, parens: bool) {
        if parens {
            out.push('(');
            self.write(out, e);
            out.push(')');
        } else {
            self.write(out, e);
        }
    }

    fn write(&self, out: &mut String, e: &Expr) {
        if self.fold_constants && !matches!(e, Expr::Number(_)) {
            if let Some(v) = e.eval_constant().filter(|v| v.is_finite()) {
                out.push_str(&fmt_num(v));
                return;
            }
        }
        match e {
            Expr::Number(v) => out.push_str(&fmt_num(*v)),
            Expr::Constant(name, v) => {
                if self.fold_constants {
                    out.push_str(&fmt_num(*v));
                } else {
                    out.push_str(name);
                }
            }
            Expr::Coordinate(c) => out.push_str(&self.spec.coordinates[*c].name),
            Expr::Field {
                unknown,
                derivative,
            } => out.push_str(&self.field_name(*unknown, derivative)),
            Expr::Neg(a) => {
                out.push('-');
                self.write_operand(out, a, self.precedence(a) < NEG);
            }
            Expr::Call(f, a) => {
                let _ = write!(out, "{}(", f.name());
                self.write(out, a);
                out.push(')');
            }
            Expr::Derivative(a, c) => {
                out.push_str("d(");
                self.write(out, a);
                let _ = write!(out, ", {})", self.spec.coordinates[*c].name);
            }
            Expr::Binary(Op::Add, ..) if self.vector_sum(e).is_some() => {
                out.push_str(&self.vector_sum(e).expect("checked"));
            }
            Expr::Binary(op, a, b) => {
                let (pa, pb) = (self.precedence(a), self.precedence(b));
                // Parenthesize exactly where the grammar would parse differently
                // (factor = neg* power, so `a*-b` and `2^-x` need none).
                let (symbol, left_parens, right_parens) = match op {
                    // A negative right operand gets parentheses for the reader
                    // (`a - (-b)` rather than `a - -b`).
                    Op::Add => (" + ", false, pb == ADD || pb == NEG),
                    Op::Sub => (" - ", false, pb == ADD || pb == NEG),
                    Op::Mul => ("*", pa == ADD, pb == ADD || pb == MUL || pb == NEG),
                    Op::Div => ("/", pa == ADD, pb == ADD || pb == MUL),
                    Op::Pow => ("^", pa <= POW, pb < NEG),
                };
                self.write_operand(out, a, left_parens);
                out.push_str(symbol);
                self.write_operand(out, b, right_parens);
            }
        }
    }
}

/// The short summary `pdec check` prints on success.
pub struct Summary<'a>(pub &'a Spec);

impl fmt::Display for Summary<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let spec = self.0;
        let p = ExprPrinter::new(spec);
        if let Some(title) = &spec.title {
            writeln!(f, "problem      {title}")?;
        }
        let vectors = vectors(spec);
        let coordinates: Vec<String> = spec
            .coordinates
            .iter()
            .enumerate()
            .filter_map(|(i, c)| {
                let vector = vectors.iter().find(|v| (v.1..v.1 + v.2).contains(&i));
                match vector {
                    Some((name, first, len)) if i == *first && spec.shape.is_some() => Some(
                        format!("{name} = ({name}[1], ..., {name}[{len}]) in a ball, bounding box [{}, {}]^{len}", fmt_num(c.lo), fmt_num(c.hi)),
                    ),
                    Some((name, first, len)) if i == *first => Some(format!(
                        "{name} in [{}, {}]^{len} ({name}[1], ..., {name}[{len}])",
                        fmt_num(c.lo),
                        fmt_num(c.hi)
                    )),
                    Some(_) => None,
                    None => Some(format!(
                        "{}{} in [{}, {}]",
                        if c.is_time { "time " } else { "" },
                        c.name,
                        fmt_num(c.lo),
                        fmt_num(c.hi)
                    )),
                }
            })
            .collect();
        writeln!(f, "coordinates  {}", coordinates.join(", "))?;
        if let Some(shape) = spec.shape.as_ref().filter(|_| !vectors.is_empty()) {
            writeln!(f, "shape        {}", shape.text)?;
            match shape.exact_measure() {
                Some(m) => writeln!(f, "volume       {}", fmt_num(m))?,
                None => writeln!(f, "volume       unknown")?,
            }
        }
        if let Some(shape) = spec.shape.as_ref().filter(|_| vectors.is_empty()) {
            let names: Vec<&str> = spec.coordinates[..spec.space_dims]
                .iter()
                .map(|c| c.name.as_str())
                .collect();
            writeln!(f, "shape        ({}) in {}", names.join(", "), shape.text)?;
            let what = if shape.dims == 2 { "area" } else { "volume" };
            match shape.exact_measure() {
                Some(m) => writeln!(f, "{what:<12} {}", fmt_num(m))?,
                None => writeln!(
                    f,
                    "{what:<12} {} (Monte Carlo, 10^5 points)",
                    fmt_num(round_to(shape.measure_estimate(100_000, 0), 4))
                )?,
            }
            let coordinate_names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
            let pieces: Vec<String> = shape
                .all_sides()
                .into_iter()
                .filter(|s| shape.side_orientation(*s).is_some())
                .map(|s| shape.side_description(s, &coordinate_names))
                .collect();
            writeln!(f, "pieces       {}", pieces.join(", "))?;
        }
        if !spec.constants.is_empty() {
            let constants: Vec<String> = spec
                .constants
                .iter()
                .map(|(n, v)| format!("{n} = {}", fmt_num(*v)))
                .collect();
            writeln!(f, "constants    {}", constants.join(", "))?;
        }
        let unknowns: Vec<&str> = spec.unknowns.iter().map(|u| u.name.as_str()).collect();
        writeln!(f, "unknowns     {}", unknowns.join(", "))?;
        writeln!(f, "equations    (residual = 0 on interior points)")?;
        for e in &spec.equations {
            write!(f, "  {} = 0", p.residual(&e.lhs, &e.rhs))?;
            if e.weight != 1.0 {
                write!(f, ", weight {}", fmt_num(e.weight))?;
            }
            writeln!(f)?;
        }
        if !spec.conditions.is_empty() || spec.initial_data.is_some() {
            writeln!(f, "conditions")?;
        }
        if let Some(d) = &spec.initial_data {
            let name = &spec.unknowns[d.unknown].name;
            writeln!(
                f,
                "  initial {name} = data({:?}) (read by simulate)",
                d.path
            )?;
        }
        for c in &spec.conditions {
            let kind = match c.kind {
                ConditionKind::Boundary => "bc     ",
                ConditionKind::Initial => "initial",
            };
            let place = match (&spec.shape, &c.place) {
                (_, Some(place)) if !c.sides.is_empty() => place.clone(),
                (Some(_), _) if c.sides.is_empty() => faces(spec, &c.faces),
                (Some(shape), _) => {
                    let names: Vec<String> =
                        spec.coordinates.iter().map(|c| c.name.clone()).collect();
                    let sides: Vec<String> = c
                        .sides
                        .iter()
                        .map(|s| shape.side_description(*s, &names))
                        .collect();
                    sides.join(", ")
                }
                _ => faces(spec, &c.faces),
            };
            if let Some(ci) = c.periodic {
                let coordinate = &spec.coordinates[ci];
                let field = p.print(&c.lhs);
                write!(
                    f,
                    "  {kind} {field} at {name} = {lo} equals {field} at {name} = {hi} (periodic in {name})",
                    name = coordinate.name,
                    lo = fmt_num(coordinate.lo),
                    hi = fmt_num(coordinate.hi),
                )?;
            } else {
                write!(f, "  {kind} {} = 0 on {place}", p.residual(&c.lhs, &c.rhs))?;
            }
            if c.weight != 1.0 {
                write!(f, ", weight {}", fmt_num(c.weight))?;
            }
            writeln!(f)?;
        }
        for (u, exact) in spec.exact.iter().enumerate() {
            if let Some(e) = exact {
                writeln!(f, "exact        {} = {}", spec.unknowns[u].name, p.print(e))?;
            }
        }
        for r in &spec.references {
            let rows = r
                .table
                .as_ref()
                .map_or(String::new(), |t| format!(" ({} points)", t.values.len()));
            writeln!(
                f,
                "reference    {} = data({:?}){rows}",
                spec.unknowns[r.unknown].name, r.path
            )?;
        }
        writeln!(f, "linearity    {}", linearity_name(spec.linearity))?;
        writeln!(f, "ansatz       {}", ansatz_of(spec))?;
        writeln!(f, "diff         {}", diff(&spec.diff))?;
        writeln!(f, "train        {}", trainer(&spec.train))?;
        write!(f, "sample       {}", sampling(spec))?;
        if let Some(s) = &spec.scheme {
            write!(f, "\nscheme       {}", scheme(s))?;
        }
        Ok(())
    }
}

/// The full checked problem (`pdec emit --stage problem`): resolved names,
/// constants folded, `let`s inlined, every default filled in.
pub struct ProblemDump<'a>(pub &'a Spec);

impl fmt::Display for ProblemDump<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let spec = self.0;
        let p = ExprPrinter {
            vectors: vectors(spec),
            spec,
            fold_constants: true,
        };
        writeln!(f, "problem {:?}", spec.title.as_deref().unwrap_or(""))?;
        for (i, c) in spec.coordinates.iter().enumerate() {
            writeln!(
                f,
                "coordinate #{i} {} in [{}, {}]{}",
                c.name,
                fmt_num(c.lo),
                fmt_num(c.hi),
                if c.is_time { " (time)" } else { "" }
            )?;
        }
        for (n, v) in &spec.constants {
            writeln!(f, "const {n} = {v:?}")?;
        }
        for (i, u) in spec.unknowns.iter().enumerate() {
            writeln!(f, "unknown #{i} {}", u.name)?;
        }
        for (i, e) in spec.equations.iter().enumerate() {
            writeln!(f, "equation #{i}")?;
            writeln!(f, "  residual {}", p.residual(&e.lhs, &e.rhs))?;
            writeln!(
                f,
                "  order {}, {}",
                e.residual().max_derivative_order(),
                linearity_name(Linearity::of(&e.residual()))
            )?;
        }
        for (i, c) in spec.conditions.iter().enumerate() {
            let kind = match c.kind {
                ConditionKind::Boundary => "bc",
                ConditionKind::Initial => "initial",
            };
            writeln!(f, "condition #{i} ({kind})")?;
            writeln!(f, "  residual {}", p.residual(&c.lhs, &c.rhs))?;
            writeln!(f, "  on {}", faces(spec, &c.faces))?;
            writeln!(f, "  weight {}", fmt_num(c.weight))?;
        }
        if let Some(d) = &spec.initial_data {
            let name = &spec.unknowns[d.unknown].name;
            writeln!(f, "initial data {name} = data({:?})", d.path)?;
        }
        for (u, exact) in spec.exact.iter().enumerate() {
            if let Some(e) = exact {
                writeln!(f, "exact {} = {}", spec.unknowns[u].name, p.print(e))?;
            }
        }
        for r in &spec.references {
            writeln!(
                f,
                "reference {} = data({:?})",
                spec.unknowns[r.unknown].name, r.path
            )?;
        }
        writeln!(f, "linearity {}", linearity_name(spec.linearity))?;
        writeln!(f, "ansatz {}", ansatz_of(spec))?;
        writeln!(f, "diff {}", diff(&spec.diff))?;
        writeln!(f, "train {}", trainer(&spec.train))?;
        writeln!(f, "formulation {}", spec.formulation.name())?;
        write!(f, "sample {}", sampling(spec))?;
        if let Some(s) = &spec.scheme {
            write!(f, "\nscheme {}", scheme(s))?;
        }
        Ok(())
    }
}

/// `fed(grid = 256, cycles = 8)`: the parameters written in the file.
pub fn scheme(s: &SchemeSetting) -> String {
    let mut args = Vec::new();
    if let Some(g) = s.grid {
        args.push(format!("grid = {g}"));
    }
    if let Some(t) = s.tau {
        args.push(format!("tau = {}", fmt_num(t)));
    }
    if let Some(t) = s.t_end {
        args.push(format!("t_end = {}", fmt_num(t)));
    }
    if let Some(c) = s.cycles {
        args.push(format!("cycles = {c}"));
    }
    if let Some(solver) = &s.solver {
        args.push(format!("solver = {solver}"));
    }
    format!("{}({})", s.name, args.join(", "))
}

fn linearity_name(l: Linearity) -> &'static str {
    match l {
        Linearity::Constant => "constant",
        Linearity::Linear => "linear",
        Linearity::Nonlinear => "nonlinear",
    }
}

/// `v` rounded to `digits` significant digits.
fn round_to(v: f64, digits: i32) -> f64 {
    if v == 0.0 || !v.is_finite() {
        return v;
    }
    let scale = 10f64.powi(digits - 1 - v.abs().log10().floor() as i32);
    (v * scale).round() / scale
}

/// The vector coordinates of `spec`: runs of coordinates named
/// `x[1]`, ..., `x[d]`, as (name, first coordinate, d).
pub fn vectors(spec: &Spec) -> Vec<(String, usize, usize)> {
    let mut out: Vec<(String, usize, usize)> = Vec::new();
    for (c, coordinate) in spec.coordinates.iter().enumerate() {
        let Some((base, index)) = coordinate
            .name
            .strip_suffix(']')
            .and_then(|n| n.split_once('['))
        else {
            continue;
        };
        match out.last_mut() {
            Some((name, first, len)) if name == base && *first + *len == c => *len += 1,
            _ if index == "1" => out.push((base.to_string(), c, 1)),
            _ => {}
        }
    }
    out
}

fn faces(spec: &Spec, faces: &[Face]) -> String {
    if faces.len() > 6 && faces.len() == 2 * spec.space_dims {
        return format!("boundary (all {} faces)", faces.len());
    }
    let parts: Vec<String> = faces
        .iter()
        .map(|face| {
            let c = &spec.coordinates[face.coordinate];
            let v = match face.side {
                Side::Lo => c.lo,
                Side::Hi => c.hi,
            };
            format!("{} = {}", c.name, fmt_num(v))
        })
        .collect();
    parts.join(", ")
}

/// The ansatz with its `periodic in x, theta` clause, if any.
pub fn ansatz_of(spec: &Spec) -> String {
    let mut out = ansatz(&spec.ansatz);
    if !spec.periodic_inputs.is_empty() {
        let names: Vec<&str> = (spec.periodic_inputs.iter())
            .map(|&c| spec.coordinates[c].name.as_str())
            .collect();
        out.push_str(" periodic in ");
        out.push_str(&names.join(", "));
    }
    out
}

/// `rfm(features = 400, activation = tanh, scale = 1, seed = 0)`; the
/// input normalization is shown only when it is off (`normalize = false`,
/// on is the default).
pub fn ansatz(a: &Ansatz) -> String {
    let normalize = if a.normalize() {
        ""
    } else {
        ", normalize = false"
    };
    match a {
        Ansatz::Rfm {
            features,
            activation,
            scale,
            seed,
            ..
        } => format!(
            "rfm(features = {features}, activation = {activation}, scale = {}, seed = {seed}{normalize})",
            fmt_num(*scale)
        ),
        Ansatz::Shallow {
            width,
            activation,
            seed,
            ..
        } => format!(
            "shallow(width = {width}, activation = {activation}, seed = {seed}{normalize})"
        ),
        Ansatz::Mlp {
            width,
            depth,
            activation,
            seed,
            ..
        } => format!(
            "mlp(width = {width}, depth = {depth}, activation = {activation}, seed = {seed}{normalize})"
        ),
    }
}

/// `ad`, `fd(h = 0.01, order = 2)`, `stein(...)`
pub fn diff(d: &DiffMode) -> String {
    match d {
        DiffMode::Ad => "ad".into(),
        DiffMode::Fd { h, order } => format!("fd(h = {}, order = {order})", fmt_num(*h)),
        DiffMode::Stein {
            sigma,
            samples,
            seed,
            antithetic,
            eval_samples,
        } => format!(
            "stein(sigma = {}, samples = {samples}, estimator = {}, seed = {seed}, eval_samples = {eval_samples})",
            fmt_num(*sigma),
            if *antithetic { "antithetic" } else { "plain" }
        ),
    }
}

/// `lstsq(cutoff = 1e-13)`, `adam(lr = 0.001, epochs = 5000)`, ...
pub fn trainer(t: &Trainer) -> String {
    match t {
        Trainer::Lstsq { cutoff } => format!("lstsq(cutoff = {})", fmt_num(*cutoff)),
        Trainer::GaussNewton { iters, tol } => {
            format!("gauss_newton(iters = {iters}, tol = {})", fmt_num(*tol))
        }
        Trainer::Adam {
            lr,
            epochs,
            schedule: Schedule::Constant,
        } => format!("adam(lr = {}, epochs = {epochs})", fmt_num(*lr)),
        Trainer::Adam {
            lr,
            epochs,
            schedule,
        } => format!(
            "adam(lr = {}, epochs = {epochs}, schedule = {})",
            fmt_num(*lr),
            schedule.name()
        ),
        Trainer::Lbfgs { iters, memory } => format!("lbfgs(iters = {iters}, memory = {memory})"),
        Trainer::Alm {
            lr,
            epochs,
            mu,
            mu_max,
            every,
            growth,
            dual,
        } => format!(
            "alm(lr = {}, epochs = {epochs}, mu = {}, mu_max = {}, every = {every}, growth = {}, dual = {})",
            fmt_num(*lr),
            fmt_num(*mu),
            fmt_num(*mu_max),
            fmt_num(*growth),
            dual.name()
        ),
    }
}

fn sampler(s: &Sampler) -> String {
    match s {
        Sampler::Grid { n } => format!("grid({n})"),
        Sampler::Random { n, seed } => format!("random({n}, seed = {seed})"),
        Sampler::Sobol { n, seed } => format!("sobol({n}, seed = {seed})"),
    }
}

fn sampling(spec: &Spec) -> String {
    let s = &spec.sampling;
    let with_resample = |sampler_text: String, k: usize| {
        if k == 0 {
            sampler_text
        } else {
            format!("{}, resample = {k})", sampler_text.trim_end_matches(')'))
        }
    };
    let mut text = format!(
        "interior = {}, boundary = {}",
        with_resample(sampler(&s.interior), s.resample[0]),
        with_resample(sampler(&s.boundary), s.resample[1])
    );
    if spec.time().is_some() {
        let _ = write!(
            text,
            ", initial = {}",
            with_resample(sampler(&s.initial), s.resample[2])
        );
    }
    text
}
