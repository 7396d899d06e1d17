//! Random valid problems, end to end through the symbolic pipeline.
//!
//! A generator builds well-formed `.pde` problems with a known exact
//! solution: a random smooth expression E of the coordinates, a random
//! differential operator L (derivatives up to second order, `lap`, products
//! and functions of the unknowns, `d(a*u_x, x)` with a `let`), the equation
//! `L(u) = f` with f written out as text by this test's own differentiator
//! (textbook rules, no simplification: independent of pdec's), Dirichlet
//! conditions and initial conditions from E. Then `check` must accept the
//! file with no diagnostic at all, and the exact-solution check must find
//! every residual at round-off: pdec's symbolic derivatives of E, its
//! simplification and its evaluation agree with the test's.
//!
//! The case count is `PDEC_PROBLEM_FUZZ_CASES` (default 48; long runs:
//! `PDEC_PROBLEM_FUZZ_CASES=10000 cargo test --release --test
//! fuzz_problems`). Every case is seeded by its number, so a failure names
//! the seed that reproduces it (`PDEC_PROBLEM_FUZZ_FIRST=seed`).

use pdec::check::{check, Overrides};
use pdec::random::SeededRng;

/// A smooth expression of the coordinates (indices into `COORDS`).
#[derive(Clone, Debug)]
enum E {
    Var(usize),
    Num(f64),
    Add(Box<E>, Box<E>),
    Sub(Box<E>, Box<E>),
    Mul(Box<E>, Box<E>),
    /// a / b with b > 0 everywhere by construction.
    Div(Box<E>, Box<E>),
    /// a^n for a small positive integer n.
    Powi(Box<E>, i32),
    Sin(Box<E>),
    Cos(Box<E>),
    Exp(Box<E>),
    Tanh(Box<E>),
    /// sqrt(a) with a > 0 everywhere by construction.
    Sqrt(Box<E>),
    /// log(a) with a > 0 everywhere by construction.
    Log(Box<E>),
    Cosh(Box<E>),
}

use E::*;

const COORDS: [&str; 4] = ["x", "y", "z", "t"];

fn b(e: E) -> Box<E> {
    Box::new(e)
}

fn is_zero(e: &E) -> bool {
    matches!(e, Num(v) if *v == 0.0)
}

fn is_one(e: &E) -> bool {
    matches!(e, Num(v) if *v == 1.0)
}

fn add(a: E, c: E) -> E {
    match (is_zero(&a), is_zero(&c)) {
        (true, _) => c,
        (_, true) => a,
        _ => Add(b(a), b(c)),
    }
}

fn sub(a: E, c: E) -> E {
    if is_zero(&c) {
        a
    } else {
        Sub(b(a), b(c))
    }
}

fn mul(a: E, c: E) -> E {
    if is_zero(&a) || is_zero(&c) {
        Num(0.0)
    } else if is_one(&a) {
        c
    } else if is_one(&c) {
        a
    } else {
        Mul(b(a), b(c))
    }
}

/// d e / d coordinate `v`, by the textbook rules.
fn diff(e: &E, v: usize) -> E {
    match e {
        Var(i) => Num(if *i == v { 1.0 } else { 0.0 }),
        Num(_) => Num(0.0),
        Add(p, q) => add(diff(p, v), diff(q, v)),
        Sub(p, q) => sub(diff(p, v), diff(q, v)),
        Mul(p, q) => add(
            mul(diff(p, v), (**q).clone()),
            mul((**p).clone(), diff(q, v)),
        ),
        // (p/q)' = p'/q - p q'/q^2
        Div(p, q) => {
            let dp = diff(p, v);
            let dq = diff(q, v);
            let first = if is_zero(&dp) {
                Num(0.0)
            } else {
                Div(b(dp), q.clone())
            };
            let second = if is_zero(&dq) {
                Num(0.0)
            } else {
                Div(b(mul((**p).clone(), dq)), b(Powi(q.clone(), 2)))
            };
            sub(first, second)
        }
        Powi(p, n) => {
            let inner = if *n == 2 {
                (**p).clone()
            } else {
                Powi(p.clone(), n - 1)
            };
            mul(mul(Num(*n as f64), inner), diff(p, v))
        }
        Sin(p) => mul(Cos(p.clone()), diff(p, v)),
        Cos(p) => mul(Num(-1.0), mul(Sin(p.clone()), diff(p, v))),
        Exp(p) => mul(Exp(p.clone()), diff(p, v)),
        // tanh' = 1 - tanh^2
        Tanh(p) => mul(Sub(b(Num(1.0)), b(Powi(b(Tanh(p.clone())), 2))), diff(p, v)),
        // sqrt(p)' = p' / (2 sqrt(p))
        Sqrt(p) => {
            let dp = diff(p, v);
            if is_zero(&dp) {
                Num(0.0)
            } else {
                Div(b(dp), b(Mul(b(Num(2.0)), b(Sqrt(p.clone())))))
            }
        }
        Log(p) => {
            let dp = diff(p, v);
            if is_zero(&dp) {
                Num(0.0)
            } else {
                Div(b(dp), p.clone())
            }
        }
        Cosh(p) => mul(sinh(p), diff(p, v)),
    }
}

/// sinh(p) = (exp(p) - exp(-p)) / 2, written with the functions above.
fn sinh(p: &E) -> E {
    Mul(
        b(Num(0.5)),
        b(Sub(
            b(Exp(b(p.clone()))),
            b(Exp(b(Mul(b(Num(-1.0)), b(p.clone()))))),
        )),
    )
}

fn number(v: f64) -> String {
    if v < 0.0 {
        format!("({v})")
    } else {
        format!("{v}")
    }
}

/// The expression as .pde text, fully parenthesized.
fn text(e: &E) -> String {
    match e {
        Var(i) => COORDS[*i].to_string(),
        Num(v) => number(*v),
        Add(p, q) => format!("({} + {})", text(p), text(q)),
        Sub(p, q) => format!("({} - {})", text(p), text(q)),
        Mul(p, q) => format!("({}*{})", text(p), text(q)),
        Div(p, q) => format!("({}/{})", text(p), text(q)),
        Powi(p, n) => format!("({}^{n})", text(p)),
        Sin(p) => format!("sin({})", text(p)),
        Cos(p) => format!("cos({})", text(p)),
        Exp(p) => format!("exp({})", text(p)),
        Tanh(p) => format!("tanh({})", text(p)),
        Sqrt(p) => format!("sqrt({})", text(p)),
        Log(p) => format!("log({})", text(p)),
        Cosh(p) => format!("cosh({})", text(p)),
    }
}

/// A random number among the quarters in [-2, 2] (exact in binary and in
/// decimal), never 0 when `nonzero`.
fn quarter(rng: &mut SeededRng, nonzero: bool) -> f64 {
    loop {
        let v = (rng.next_u64() % 17) as f64 / 4.0 - 2.0;
        if !(nonzero && v == 0.0) {
            return v;
        }
    }
}

fn pick(rng: &mut SeededRng, n: usize) -> usize {
    (rng.next_u64() % n as u64) as usize
}

/// A random smooth expression of the first `vars` coordinates, of at most
/// `depth` levels. Values stay moderate on [0, 1]^vars: denominators,
/// square roots and logarithms take 1 + (...)^2 or 2 + sin(...).
fn expression(rng: &mut SeededRng, vars: usize, depth: usize) -> E {
    if depth == 0 || pick(rng, 5) == 0 {
        return if pick(rng, 3) == 0 {
            Num(quarter(rng, true))
        } else {
            Var(pick(rng, vars))
        };
    }
    let sub = |rng: &mut SeededRng| expression(rng, vars, depth - 1);
    let positive = |e: E| Add(b(Num(1.0)), b(Powi(b(e), 2)));
    match pick(rng, 13) {
        0 => Add(b(sub(rng)), b(sub(rng))),
        1 => Sub(b(sub(rng)), b(sub(rng))),
        2 | 3 => Mul(b(sub(rng)), b(sub(rng))),
        4 => {
            let num = sub(rng);
            let den = sub(rng);
            Div(b(num), b(positive(den)))
        }
        5 => Powi(b(sub(rng)), 2 + pick(rng, 2) as i32),
        6 => Sin(b(Mul(b(Num(quarter(rng, true))), b(sub(rng))))),
        7 => Cos(b(sub(rng))),
        8 => Exp(b(Mul(b(Num(0.5)), b(Sin(b(sub(rng))))))),
        9 => Tanh(b(sub(rng))),
        10 => Sqrt(b(positive(sub(rng)))),
        11 => Log(b(Add(b(Num(2.0)), b(Sin(b(sub(rng))))))),
        _ => Cosh(b(Mul(b(Num(0.5)), b(Sin(b(sub(rng))))))),
    }
}

/// One random problem: its .pde text (the seed is in the title).
fn problem(seed: u64) -> String {
    let mut rng = SeededRng::new(seed, 0x5eed);
    let space = 1 + pick(&mut rng, 3);
    let timed = pick(&mut rng, 3) == 0;
    let vars = space + usize::from(timed);
    // The coordinate index of each variable: x, y, z, then t.
    let coord = |j: usize| if j < space { j } else { 3 };
    let depth = if space == 3 { 2 } else { 3 };
    let exact = {
        let e = expression(&mut rng, vars, depth);
        // map variable j to its coordinate index
        fn remap(e: &E, coord: &dyn Fn(usize) -> usize) -> E {
            let r = |p: &E| b(remap(p, coord));
            match e {
                Var(j) => Var(coord(*j)),
                Num(v) => Num(*v),
                Add(p, q) => Add(r(p), r(q)),
                Sub(p, q) => Sub(r(p), r(q)),
                Mul(p, q) => Mul(r(p), r(q)),
                Div(p, q) => Div(r(p), r(q)),
                Powi(p, n) => Powi(r(p), *n),
                Sin(p) => Sin(r(p)),
                Cos(p) => Cos(r(p)),
                Exp(p) => Exp(r(p)),
                Tanh(p) => Tanh(r(p)),
                Sqrt(p) => Sqrt(r(p)),
                Log(p) => Log(r(p)),
                Cosh(p) => Cosh(r(p)),
            }
        }
        // A product of one smooth mode per variable, so that every
        // coordinate (and every derivative) matters.
        let mut mode = Num(quarter(&mut rng, true));
        for j in 0..vars {
            let k = quarter(&mut rng, true);
            mode = Mul(
                b(mode),
                b(Sin(b(Add(b(Mul(b(Num(k)), b(Var(j)))), b(Num(0.5)))))),
            );
        }
        remap(&Add(b(e), b(mode)), &coord)
    };
    let a = {
        let e = expression(&mut rng, space, 1);
        Add(b(Num(2.0)), b(Sin(b(e))))
    };
    // Terms of the operator: (lhs text in u, rhs text in E).
    let mut lhs: Vec<String> = Vec::new();
    let mut rhs: Vec<String> = Vec::new();
    let mut second_in_time = false;
    let terms = 1 + pick(&mut rng, 4);
    let letter = |i: usize| COORDS[i];
    for _ in 0..terms {
        let c = quarter(&mut rng, true);
        let (l, r) = match pick(&mut rng, 9) {
            0 => ("u".to_string(), exact.clone()),
            1 | 2 => {
                let i = coord(pick(&mut rng, vars));
                (format!("u_{}", letter(i)), diff(&exact, i))
            }
            3 | 4 => {
                let i = coord(pick(&mut rng, vars));
                let j = coord(pick(&mut rng, vars));
                if i == 3 && j == 3 {
                    second_in_time = true;
                }
                (
                    format!("u_{}{}", letter(i), letter(j)),
                    diff(&diff(&exact, i), j),
                )
            }
            5 => {
                let lap = (0..space)
                    .map(|i| diff(&diff(&exact, i), i))
                    .reduce(add)
                    .unwrap();
                ("lap(u)".to_string(), lap)
            }
            6 => {
                let i = pick(&mut rng, space);
                (
                    format!("u*u_{}", letter(i)),
                    Mul(b(exact.clone()), b(diff(&exact, i))),
                )
            }
            7 => ("sin(u)".to_string(), Sin(b(exact.clone()))),
            _ => {
                // d(a*u_x, x) with `let a`
                let i = pick(&mut rng, space);
                let flux = Mul(b(a.clone()), b(diff(&exact, i)));
                (format!("d(a*u_{0}, {0})", letter(i)), diff(&flux, i))
            }
        };
        lhs.push(format!("{}*{l}", number(c)));
        rhs.push(format!("{}*{}", number(c), text(&r)));
    }
    let names: Vec<&str> = (0..space).map(letter).collect();
    let mut source = format!("problem \"random problem {seed}\"\n");
    let intervals: Vec<String> = names.iter().map(|n| format!("{n} in [0, 1]")).collect();
    source += &format!("domain {}\n", intervals.join(", "));
    if timed {
        source += "time t in [0, 1]\n";
    }
    source += "unknown u\n";
    source += &format!("let a = {}\n", text(&a));
    source += &format!("equation {} = {}\n", lhs.join(" + "), rhs.join(" + "));
    source += &format!("bc u = {} on boundary\n", text(&exact));
    if timed {
        source += &format!("initial u = {}\n", text(&exact));
        if second_in_time {
            source += &format!("initial u_t = {}\n", text(&diff(&exact, 3)));
        }
    }
    source += &format!("exact u = {}\n", text(&exact));
    source
}

/// Checks one generated problem: no diagnostic, and every residual of the
/// exact-solution check at round-off.
fn check_problem(seed: u64) {
    let source = problem(seed);
    let (tree, diagnostics) = pdec::syntax::parse(&source);
    assert!(
        diagnostics.is_empty(),
        "seed {seed}: parse diagnostics {diagnostics:?}\n{source}"
    );
    let tree = tree.expect("a tree when there is no diagnostic");
    let (spec, diagnostics) = check(&tree, &Overrides::default());
    assert!(
        diagnostics.is_empty(),
        "seed {seed}: check diagnostics {diagnostics:?}\n{source}"
    );
    let spec = spec.expect("a problem when there is no diagnostic");
    let checks = pdec::verify::check_exact(&spec)
        .unwrap_or_else(|e| panic!("seed {seed}: exact check failed: {e}\n{source}"));
    assert!(!checks.is_empty(), "seed {seed}: nothing checked\n{source}");
    let warnings = pdec::verify::diagnostics(&spec, &checks);
    assert!(
        warnings.is_empty(),
        "seed {seed}: the exact solution does not satisfy the problem: {warnings:?}\n{source}"
    );
}

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

#[test]
fn random_valid_problems_check_and_satisfy_their_exact_solutions() {
    let first = env_number("PDEC_PROBLEM_FUZZ_FIRST", 0);
    let cases = env_number("PDEC_PROBLEM_FUZZ_CASES", 48);
    for seed in first..first + cases {
        check_problem(seed);
    }
}

/// The generator's own differentiator, against central differences: the
/// oracle above is only as good as it.
#[test]
fn the_test_differentiator_matches_central_differences() {
    fn eval(e: &E, p: &[f64; 4]) -> f64 {
        match e {
            Var(i) => p[*i],
            Num(v) => *v,
            Add(a, c) => eval(a, p) + eval(c, p),
            Sub(a, c) => eval(a, p) - eval(c, p),
            Mul(a, c) => eval(a, p) * eval(c, p),
            Div(a, c) => eval(a, p) / eval(c, p),
            Powi(a, n) => eval(a, p).powi(*n),
            Sin(a) => eval(a, p).sin(),
            Cos(a) => eval(a, p).cos(),
            Exp(a) => eval(a, p).exp(),
            Tanh(a) => eval(a, p).tanh(),
            Sqrt(a) => eval(a, p).sqrt(),
            Log(a) => eval(a, p).ln(),
            Cosh(a) => eval(a, p).cosh(),
        }
    }
    let mut rng = SeededRng::new(7, 1);
    for _ in 0..300 {
        let e = expression(&mut rng, 3, 3);
        let p = [rng.uniform(), rng.uniform(), rng.uniform(), rng.uniform()];
        for v in 0..3 {
            let d = eval(&diff(&e, v), &p);
            let h = 1e-5;
            let (mut lo, mut hi) = (p, p);
            lo[v] -= h;
            hi[v] += h;
            let fd = (eval(&e, &hi) - eval(&e, &lo)) / (2.0 * h);
            assert!(
                (d - fd).abs() <= 1e-6 * (1.0 + fd.abs()),
                "d/d{} of {}: {d} vs {fd}",
                COORDS[v],
                text(&e)
            );
        }
    }
}
