//! Property tests of the front end: whatever the input, `syntax::parse`,
//! `check::check` and `pdec check` never panic, `pdec check` exits with 0 or
//! 2, every diagnostic's labels lie inside the source on character
//! boundaries, and a checked problem satisfies the invariants `Spec`
//! documents.
//!
//! Three generators: raw bytes (and arbitrary Unicode text), "token soups"
//! drawn from the language's vocabulary, and small mutations (delete,
//! duplicate, swap, replace, insert a token) of valid problems.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use pdec::check::{check, Overrides, Spec};
use pdec::diag::{has_errors, Diagnostic};
use proptest::prelude::*;
use proptest::sample::Index;

// ------------------------------------------------------------------ oracles

/// Every label of every diagnostic must be a valid range of `source`.
fn assert_spans_within(source: &str, diagnostics: &[Diagnostic], stage: &str) {
    for d in diagnostics {
        assert!(!d.message.is_empty(), "{stage}: {d} has an empty message");
        for label in &d.labels {
            let span = label.span;
            assert!(
                span.start <= span.end && span.end <= source.len(),
                "{stage}: {d}: span {}..{} outside the source (length {})\nsource: {source:?}",
                span.start,
                span.end,
                source.len()
            );
            assert!(
                source.is_char_boundary(span.start) && source.is_char_boundary(span.end),
                "{stage}: {d}: span {}..{} is not on character boundaries\nsource: {source:?}",
                span.start,
                span.end
            );
        }
    }
}

/// The invariants `check::Spec` promises to later stages.
fn assert_spec_invariants(spec: &Spec, source: &str) {
    assert!(
        !spec.equations.is_empty(),
        "a Spec without equations\nsource: {source:?}"
    );
    assert!(
        !spec.unknowns.is_empty(),
        "a Spec without unknowns\nsource: {source:?}"
    );
    assert!(
        spec.space_dims >= 1,
        "a Spec without a domain\nsource: {source:?}"
    );
    assert!(spec.space_dims <= spec.coordinates.len());
    assert!(spec.coordinates.len() <= spec.space_dims + 1);
    for c in &spec.coordinates {
        assert!(
            c.lo.is_finite() && c.hi.is_finite() && c.lo < c.hi,
            "coordinate {} has the interval [{}, {}]\nsource: {source:?}",
            c.name,
            c.lo,
            c.hi
        );
    }
    for e in &spec.equations {
        assert!(
            e.lhs.has_unknowns() || e.rhs.has_unknowns(),
            "an equation without unknowns was accepted\nsource: {source:?}"
        );
    }
    for c in &spec.conditions {
        assert!(
            c.lhs.has_unknowns() || c.rhs.has_unknowns(),
            "a condition without unknowns was accepted\nsource: {source:?}"
        );
        assert!(
            c.weight.is_finite() && c.weight > 0.0,
            "condition weight {}\nsource: {source:?}",
            c.weight
        );
        for face in &c.faces {
            assert!(face.coordinate < spec.coordinates.len());
        }
    }
    assert_eq!(spec.exact.len(), spec.unknowns.len());
    for (_, value) in &spec.constants {
        assert!(
            value.is_finite(),
            "a non-finite constant was accepted\nsource: {source:?}"
        );
    }
}

/// Parses and checks `source` in memory; renders the diagnostics.
fn front_end(source: &str) {
    let (tree, mut diagnostics) = pdec::syntax::parse(source);
    assert_spans_within(source, &diagnostics, "parse");
    match tree {
        None => assert!(
            has_errors(&diagnostics),
            "parse returned no tree and no error\nsource: {source:?}"
        ),
        Some(tree) => {
            let (spec, more) = check(&tree, &Overrides::default());
            assert_spans_within(source, &more, "check");
            assert_eq!(
                spec.is_some(),
                !has_errors(&more),
                "check must return a Spec exactly when it reports no error\nsource: {source:?}\n{more:?}"
            );
            if let Some(spec) = &spec {
                assert_spec_invariants(spec, source);
            }
            diagnostics.extend(more);
        }
    }
    let rendered = pdec::cli::render(Path::new("fuzz.pde"), source, &diagnostics, false);
    assert_eq!(rendered.is_empty(), diagnostics.is_empty());
}

static NEXT_FILE: AtomicUsize = AtomicUsize::new(0);

fn scratch_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("pdec-fuzz-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temporary directory");
    dir
}

/// Runs `pdec check` on `bytes` written to a temporary file.
fn cli_check(bytes: &[u8]) {
    let n = NEXT_FILE.fetch_add(1, Ordering::Relaxed);
    let path = scratch_dir().join(format!("case{n}.pde"));
    std::fs::write(&path, bytes).expect("write the temporary file");
    let mut out = Vec::new();
    let mut err = Vec::new();
    let code = pdec::cli::run(
        ["pdec", "check", path.to_str().expect("UTF-8 path")],
        &mut out,
        &mut err,
        false,
    );
    std::fs::remove_file(&path).ok();
    let source = String::from_utf8_lossy(bytes);
    let err = String::from_utf8_lossy(&err);
    assert!(
        code == 0 || code == 2,
        "pdec check exited with {code}\nsource: {source:?}\nstderr:\n{err}"
    );
    if code == 2 {
        assert!(
            out.is_empty(),
            "output on stdout although the check failed\nsource: {source:?}"
        );
        assert!(
            err.contains("error"),
            "exit code 2 without an error message\nsource: {source:?}"
        );
    } else {
        assert!(
            !out.is_empty(),
            "no summary for an accepted file\nsource: {source:?}"
        );
    }
}

/// The case count of each property test: `default`, or the value of the
/// environment variable `PDEC_FUZZ_CASES` when it is set (for long runs,
/// e.g. `PDEC_FUZZ_CASES=200000 cargo test --release --test fuzz`; CI keeps
/// the defaults).
fn config(default: u32) -> ProptestConfig {
    let cases = std::env::var("PDEC_FUZZ_CASES")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default);
    ProptestConfig {
        cases,
        // Reproducers are reported (shrunk) in the failure message; nothing
        // is written next to the sources.
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

// ------------------------------------------------------------- generators

/// The language's vocabulary: keywords, names, numbers, operators and punctuation.
const TOKENS: &[&str] = &[
    // statement keywords and the other reserved words
    "problem",
    "domain",
    "time",
    "const",
    "let",
    "unknown",
    "equation",
    "bc",
    "initial",
    "exact",
    "ansatz",
    "sample",
    "diff",
    "train",
    "in",
    "on",
    "boundary",
    "weight",
    // names
    "x",
    "y",
    "t",
    "u",
    "v",
    "f",
    "c",
    "pi",
    "e",
    "sin",
    "exp",
    "d",
    "lap",
    "grad",
    "norm2",
    "sum",
    "u_x",
    "u_xx",
    "u_t",
    "u_tt",
    "v_y",
    "u_q",
    "rfm",
    "shallow",
    "fd",
    "ad",
    "lstsq",
    "adam",
    "grid",
    "random",
    "sobol",
    "tanh",
    "features",
    "h",
    "order",
    "interior",
    "n",
    "seed",
    // numbers
    "0",
    "1",
    "2",
    "2.5",
    "1e-3",
    "1e999",
    ".5",
    "100000",
    // operators and punctuation
    "+",
    "-",
    "*",
    "/",
    "^",
    "=",
    ",",
    "(",
    ")",
    "[",
    "]",
    "\"title\"",
    "@",
    "\u{2202}",
    "x1",
    // layout
    "\n",
    "\n",
    "#comment\n",
];

const STATEMENT_KEYWORDS: &[&str] = &[
    "problem", "domain", "time", "const", "let", "unknown", "equation", "bc", "initial", "exact",
    "ansatz", "sample", "diff", "train",
];

fn token() -> impl Strategy<Value = &'static str> {
    prop::sample::select(TOKENS)
}

/// A line-structured soup: each line starts with a statement keyword.
fn structured_soup() -> impl Strategy<Value = String> {
    prop::collection::vec(
        (
            prop::sample::select(STATEMENT_KEYWORDS),
            prop::collection::vec(
                // Chosen among the tokens without a newline (a filter would
                // reject so many draws that long runs abort).
                prop::sample::select(
                    TOKENS
                        .iter()
                        .copied()
                        .filter(|t| !t.contains('\n'))
                        .collect::<Vec<_>>(),
                ),
                0..12,
            ),
        ),
        0..10,
    )
    .prop_map(|lines| {
        lines
            .into_iter()
            .map(|(keyword, rest)| {
                let mut line = keyword.to_string();
                for t in rest {
                    line.push(' ');
                    line.push_str(t);
                }
                line
            })
            .collect::<Vec<_>>()
            .join("\n")
    })
}

/// Valid problems the mutations start from (checked by `bases_are_valid`).
const BASES: &[&str] = &[
    "domain x in [0, 1]
unknown u
equation -u_xx = pi^2*sin(pi*x)
bc u = 0 on boundary
exact u = sin(pi*x)
",
    "problem \"heat\"
domain x in [0, 1]
time t in [0, 1]
const nu = 0.1
unknown u
equation u_t - nu*u_xx = 0
bc u = 0 on x = 0, x = 1 weight 10
initial u = sin(pi*x)
exact u = exp(-nu*pi^2*t)*sin(pi*x)
ansatz rfm(features = 200, activation = tanh, scale = 3)
sample interior = grid(16), boundary = grid(16), initial = random(32, seed = 1)
train lstsq
",
    "domain x in [-1, 1]
const nu = 0.25
let g = tanh(1/(2*nu))
unknown u
equation u*u_x - nu*d(u, x, x) = 0
bc u = g on x = -1
bc u = -g on x = 1
exact u = -tanh(x/(2*nu))
ansatz rfm(features = 100, scale = 3)
train gauss_newton(iters = 5)
",
    "domain x in [0, 1], y in [0, 1]
unknown u
let f = 2*pi^2*sin(pi*x)*sin(pi*y)
equation -lap(u) = f
bc u = 0 on boundary
exact u = sin(pi*x)*sin(pi*y)
ansatz shallow(width = 20, activation = sin)
diff fd(h = 1e-3, order = 4)
sample interior = sobol(64), boundary = grid(8)
train adam(lr = 1e-2, epochs = 10)
",
    "domain x in [0, 1]
time t in [0, 1]
const c = 2
unknown u, v
equation u_t - v_x = 0
equation v_t - c^2*u_x = 0
bc u = 0 on boundary
initial u = sin(pi*x)
initial v = 0
",
];

/// Splits a source into tokens, each keeping the whitespace (and comment)
/// that follows it, so that joining the tokens gives the source back.
fn tokenize(source: &str) -> Vec<String> {
    let chars: Vec<char> = source.chars().collect();
    let mut tokens: Vec<String> = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let start = i;
        let c = chars[i];
        if c.is_ascii_alphabetic() || c == '_' {
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
        } else if c.is_ascii_digit() || c == '.' {
            while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                i += 1;
            }
            if i < chars.len() && (chars[i] == 'e' || chars[i] == 'E') {
                i += 1;
                if i < chars.len() && (chars[i] == '+' || chars[i] == '-') {
                    i += 1;
                }
                while i < chars.len() && chars[i].is_ascii_digit() {
                    i += 1;
                }
            }
        } else if c == '"' {
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                i += 1;
            }
            i = (i + 1).min(chars.len());
        } else {
            i += 1;
        }
        while i < chars.len() && chars[i].is_whitespace() {
            i += 1;
        }
        let token: String = chars[start..i].iter().collect();
        match tokens.last_mut() {
            // leading whitespace belongs to no token; keep it in front of the first
            Some(last) if start == 0 => last.push_str(&token),
            _ => tokens.push(token),
        }
    }
    tokens
}

/// Names a mutation may put where a name was (so the result still parses
/// more often than not and reaches the checker).
const NAMES: &[&str] = &[
    "x",
    "y",
    "t",
    "u",
    "v",
    "f",
    "g",
    "c",
    "nu",
    "q",
    "pi",
    "e",
    "sin",
    "exp",
    "tanh",
    "d",
    "lap",
    "grad",
    "norm2",
    "u_x",
    "u_xx",
    "u_t",
    "u_tt",
    "v_x",
    "u_y",
    "u_q",
    "x1",
    "interior",
    "initial",
    "boundary",
    "features",
    "width",
    "h",
    "order",
    "seed",
    "n",
    "rfm",
    "shallow",
    "fd",
    "ad",
    "stein",
    "lstsq",
    "adam",
    "gauss_newton",
    "grid",
    "random",
    "sobol",
    "relu",
];

/// Numbers a mutation may put where a number was.
const NUMBERS: &[&str] = &[
    "0", "1", "2", "3", "4", "0.5", "2.5", ".5", "1e-3", "1e-300", "1e308", "1e999", "100000",
    "1e8", "65537",
];

#[derive(Clone, Debug)]
enum Mutation {
    Delete(Index),
    Duplicate(Index),
    Swap(Index, Index),
    Replace(Index, &'static str),
    Insert(Index, &'static str),
    /// Replaces the i-th name with another name.
    ReplaceName(Index, &'static str),
    /// Replaces the i-th number with another number.
    ReplaceNumber(Index, &'static str),
    DeleteLine(Index),
    DuplicateLine(Index),
    SwapLines(Index, Index),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        1 => any::<Index>().prop_map(Mutation::Delete),
        1 => any::<Index>().prop_map(Mutation::Duplicate),
        1 => (any::<Index>(), any::<Index>()).prop_map(|(a, b)| Mutation::Swap(a, b)),
        1 => (any::<Index>(), token()).prop_map(|(a, t)| Mutation::Replace(a, t)),
        1 => (any::<Index>(), token()).prop_map(|(a, t)| Mutation::Insert(a, t)),
        3 => (any::<Index>(), prop::sample::select(NAMES)).prop_map(|(a, t)| Mutation::ReplaceName(a, t)),
        3 => (any::<Index>(), prop::sample::select(NUMBERS)).prop_map(|(a, t)| Mutation::ReplaceNumber(a, t)),
        1 => any::<Index>().prop_map(Mutation::DeleteLine),
        1 => any::<Index>().prop_map(Mutation::DuplicateLine),
        1 => (any::<Index>(), any::<Index>()).prop_map(|(a, b)| Mutation::SwapLines(a, b)),
    ]
}

/// Replaces the `which`-th token whose first character satisfies `class`.
fn replace_in_class(tokens: &mut [String], which: &Index, by: &str, class: fn(char) -> bool) {
    let positions: Vec<usize> = (0..tokens.len())
        .filter(|&i| tokens[i].chars().next().is_some_and(class))
        .collect();
    if positions.is_empty() {
        return;
    }
    let i = positions[which.index(positions.len())];
    let trailing = tokens[i].len() - tokens[i].trim_end().len();
    let tail = tokens[i][tokens[i].len() - trailing..].to_string();
    tokens[i] = format!("{by}{tail}");
}

fn mutate(base: &str, mutations: &[Mutation]) -> String {
    let mut source = base.to_string();
    for m in mutations {
        let mut lines: Vec<String> = source.split_inclusive('\n').map(str::to_string).collect();
        let mut tokens = tokenize(&source);
        if tokens.is_empty() || lines.is_empty() {
            break;
        }
        let (n, l) = (tokens.len(), lines.len());
        let mut by_line = false;
        match m {
            Mutation::Delete(i) => {
                tokens.remove(i.index(n));
            }
            Mutation::Duplicate(i) => {
                let i = i.index(n);
                let t = tokens[i].clone();
                tokens.insert(i, t);
            }
            Mutation::Swap(a, b) => tokens.swap(a.index(n), b.index(n)),
            Mutation::Replace(i, t) => tokens[i.index(n)] = format!("{t} "),
            Mutation::Insert(i, t) => tokens.insert(i.index(n + 1), format!("{t} ")),
            Mutation::ReplaceName(i, t) => {
                replace_in_class(&mut tokens, i, t, |c| c.is_ascii_alphabetic())
            }
            Mutation::ReplaceNumber(i, t) => {
                replace_in_class(&mut tokens, i, t, |c| c.is_ascii_digit() || c == '.')
            }
            Mutation::DeleteLine(i) => {
                by_line = true;
                lines.remove(i.index(l));
            }
            Mutation::DuplicateLine(i) => {
                by_line = true;
                let i = i.index(l);
                let line = lines[i].clone();
                lines.insert(i, line);
            }
            Mutation::SwapLines(a, b) => {
                by_line = true;
                lines.swap(a.index(l), b.index(l));
            }
        }
        source = if by_line {
            lines.concat()
        } else {
            tokens.concat()
        };
    }
    source
}

// ------------------------------------------------------------------ tests

#[test]
fn tokenize_round_trips_and_bases_are_valid() {
    for base in BASES {
        assert_eq!(tokenize(base).concat(), *base);
        let (tree, diagnostics) = pdec::syntax::parse(base);
        assert!(diagnostics.is_empty(), "{diagnostics:?}");
        let (spec, diagnostics) = check(&tree.expect("parses"), &Overrides::default());
        assert!(
            spec.is_some() && !has_errors(&diagnostics),
            "base must check cleanly:\n{base}\n{diagnostics:?}"
        );
    }
}

proptest! {
    #![proptest_config(config(4000))]

    /// Arbitrary bytes, read lossily as UTF-8; some also go through
    /// `pdec check` unchanged (so invalid UTF-8 reaches the reader).
    #[test]
    fn random_bytes_never_panic(
        bytes in prop::collection::vec(any::<u8>(), 0..160),
        via_cli in prop::bool::weighted(0.1),
    ) {
        let source = String::from_utf8_lossy(&bytes);
        front_end(&source);
        if via_cli {
            cli_check(&bytes);
        }
    }

    /// Arbitrary Unicode text mixed with the language's punctuation.
    #[test]
    fn random_text_never_panics(
        text in "[ -~\t\n\r\u{e9}\u{2202}\u{3c0}\u{1f600}\u{a0}\u{2028}\u{0}]{0,120}",
        via_cli in prop::bool::weighted(0.1),
    ) {
        front_end(&text);
        if via_cli {
            cli_check(text.as_bytes());
        }
    }

    /// Sequences of the language's tokens joined with spaces.
    #[test]
    fn token_soup_never_panics(
        tokens in prop::collection::vec(token(), 0..60),
        via_cli in prop::bool::weighted(0.15),
    ) {
        let source = tokens.join(" ");
        front_end(&source);
        if via_cli {
            cli_check(source.as_bytes());
        }
    }

    /// Lines that start with a statement keyword followed by random tokens.
    #[test]
    fn structured_soup_never_panics(
        source in structured_soup(),
        via_cli in prop::bool::weighted(0.15),
    ) {
        front_end(&source);
        if via_cli {
            cli_check(source.as_bytes());
        }
    }

}

proptest! {
    #![proptest_config(config(12000))]

    /// Valid problems with a few tokens deleted, duplicated, swapped,
    /// replaced or inserted.
    #[test]
    fn mutated_problems_never_panic(
        base in prop::sample::select(BASES),
        mutations in prop::collection::vec(mutation(), 1..4),
        via_cli in prop::bool::weighted(0.15),
    ) {
        let source = mutate(base, &mutations);
        front_end(&source);
        if via_cli {
            cli_check(source.as_bytes());
        }
    }
}

// ------------------------------------------------------------ regressions

/// Inputs the generators above once found, shrunk to their essence.
#[test]
fn regressions() {
    let cases = [
        // A const that refers to itself: it must be an error, not a NaN
        // constant that silently removes the equation using it.
        "domain x in [0, 1]\nconst c = c\nunknown u\nequation -u_xx = c*pi^2*sin(pi*x)\nbc u = 0 on boundary\n",
    ];
    for source in cases {
        front_end(source);
        cli_check(source.as_bytes());
    }
}

// --------------------------------------------------- deep and long inputs

/// Runs the real binary in a child process, so that a stack overflow
/// (which aborts the process) is reported as a test failure instead of
/// killing the test harness.
fn binary_exit_code(name: &str, source: &str, args: &[&str]) -> (Option<i32>, String) {
    let path = scratch_dir().join(name);
    std::fs::write(&path, source).expect("write the temporary file");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_pdec"))
        .args(args)
        .arg(&path)
        .output()
        .expect("run pdec");
    std::fs::remove_file(&path).ok();
    let stderr = String::from_utf8_lossy(&output.stderr);
    let head: String = stderr.lines().take(3).collect::<Vec<_>>().join("\n");
    (output.status.code(), head)
}

/// Deeply nested and very long expressions must be rejected with a
/// diagnostic (exit 2) or accepted (exit 0), never overflow the stack.
#[test]
fn deep_and_long_expressions_do_not_overflow_the_stack() {
    let problem = |rhs: &str| {
        format!("domain x in [0, 1]\nunknown u\nequation -u_xx = {rhs}\nbc u = 0 on boundary\n")
    };
    let (deep, long) = (3_500, 20_000);
    let cases = [
        (
            "nested_parens",
            problem(&format!("{}x{}", "(".repeat(deep), ")".repeat(deep))),
        ),
        (
            "nested_calls",
            problem(&format!("{}x{}", "sin(".repeat(deep), ")".repeat(deep))),
        ),
        ("power_chain", problem(&format!("x{}", "^x".repeat(deep)))),
        ("unary_minus", problem(&format!("{}x", "-".repeat(long)))),
        ("long_sum", problem(&format!("x{}", "+x".repeat(long)))),
        ("long_product", problem(&format!("x{}", "*x".repeat(long)))),
    ];
    let mut failures = Vec::new();
    for (name, source) in &cases {
        let (code, stderr) = binary_exit_code(&format!("{name}.pde"), source, &["check"]);
        if !matches!(code, Some(0) | Some(2)) {
            failures.push(format!("{name}: pdec check exited with {code:?}\n{stderr}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
