//! The memory a run needs, estimated from the checked problem before
//! anything is allocated, and the error when it exceeds what the machine
//! has available (E0515).
//!
//! With R residual rows (equations x interior points + condition points),
//! P trained parameters, n interior points, d coordinates, K the width,
//! L the depth and C the jet components of an mlp, in f64 (8 bytes):
//! - points: (interior + condition points) x d;
//! - `lstsq`: the assembled matrix R x P, stage 1's work copy R x (P + 1)
//!   when R > P, and the triangle min(R, P) x (P + 1);
//! - `gauss_newton`: two evaluations (residual and Jacobian R x P, current
//!   and trial) and the damped system (R + P) x P with its work copy
//!   (R + P) x (P + 1) and triangle P x (P + 1);
//! - `adam`, `lbfgs`, `alm` on rfm/shallow: the Jacobian R x P;
//! - mlp: the layer jets (pre- and post-activation, forward and adjoint)
//!   4 x (L + 1) x K x n x C, plus the Jacobian for `gauss_newton`; C is
//!   the number of derivative multi-indices the problem reads, closed
//!   under lower orders (2d + 1 for a Laplacian), at most binom(d + q, q);
//! - `pdec spectrum` and `pdec study`: the matrix R x P and the SVD's copy
//!   R x P and min(R, P) x P.
//!
//! - the parameter vectors: theta and the trainer's state (1 for lstsq, 3
//!   for gauss_newton, 4 for adam and alm, 4 + 2 memory for lbfgs) x P.
//!
//! Each condition counts its faces' points (a grid on each face; a random
//! or Sobol sampler's n in all, plus one per face or side for rounding:
//! an upper bound).

use super::{mlp_parameters, Ansatz, ConditionKind, Expr, Overrides, Sampler, Spec, Trainer};
use crate::diag::Diagnostic;
use crate::syntax::ast;

/// One allocation of a run.
#[derive(Clone, Debug, PartialEq)]
pub struct Part {
    pub what: &'static str,
    /// Its shape in the problem's terms (`3840 x 1600`).
    pub shape: String,
    pub bytes: f64,
}

/// What a run needs.
#[derive(Clone, Debug, PartialEq)]
pub struct Estimate {
    pub parts: Vec<Part>,
    pub rows: f64,
    pub parameters: f64,
    pub interior_points: f64,
    pub condition_points: f64,
}

impl Estimate {
    /// The sum of the parts, in bytes.
    pub fn total(&self) -> f64 {
        self.parts.iter().map(|p| p.bytes).sum()
    }
}

const F64: f64 = 8.0;

fn sampler_points(sampler: &Sampler, dims: usize) -> f64 {
    match sampler {
        Sampler::Grid { n } => (*n as f64).powi(dims as i32),
        Sampler::Random { n, .. } | Sampler::Sobol { n, .. } => *n as f64,
    }
}

/// The highest total derivative order in `e` (nested `d(...)` add up).
fn derivative_order(e: &Expr) -> usize {
    match e {
        Expr::Field { derivative, .. } => derivative.iter().map(|&k| k as usize).sum(),
        Expr::Derivative(inner, _) => 1 + derivative_order(inner),
        Expr::Neg(a) | Expr::Call(_, a) => derivative_order(a),
        Expr::Binary(_, a, b) => derivative_order(a).max(derivative_order(b)),
        Expr::Number(_) | Expr::Constant(..) | Expr::Coordinate(_) => 0,
    }
}

/// The multi-indices of the derivatives in `e` (into `out`); false where
/// a nested `d(...)` hides them.
fn multi_indices(e: &Expr, out: &mut std::collections::BTreeSet<Vec<u8>>) -> bool {
    match e {
        Expr::Field { derivative, .. } => {
            out.insert(derivative.clone());
            true
        }
        Expr::Derivative(..) => false,
        Expr::Neg(a) | Expr::Call(_, a) => multi_indices(a, out),
        Expr::Binary(_, a, b) => multi_indices(a, out) & multi_indices(b, out),
        Expr::Number(_) | Expr::Constant(..) | Expr::Coordinate(_) => true,
    }
}

/// The multi-indices `used` closed under lower orders (u_xy needs u, u_x,
/// u_y, u_xy): the components of the full jet of the needed derivatives,
/// at least those of the collapsed Laplacian jet (d + 2).
fn closed_count(used: &std::collections::BTreeSet<Vec<u8>>) -> f64 {
    let mut all = std::collections::BTreeSet::new();
    for alpha in used {
        let mut stack = vec![alpha.clone()];
        while let Some(beta) = stack.pop() {
            if !all.insert(beta.clone()) {
                continue;
            }
            for j in 0..beta.len() {
                if beta[j] > 0 {
                    let mut lower = beta.clone();
                    lower[j] -= 1;
                    stack.push(lower);
                }
            }
        }
    }
    all.len().max(1) as f64
}

/// binom(d + q, q): the derivatives of order at most q in d coordinates,
/// an upper bound on the components of a jet.
fn jet_components(dims: usize, order: usize) -> f64 {
    (1..=order).fold(1.0, |c, k| c * (dims + k) as f64 / k as f64)
}

fn part(what: &'static str, shape: String, elements: f64) -> Part {
    Part {
        what,
        shape,
        bytes: elements * F64,
    }
}

/// The memory `spec` needs to be trained (`spectrum`: to have the singular
/// values of its training matrix computed, as `pdec spectrum` and `pdec
/// study` do, on top).
pub fn estimate(spec: &Spec, spectrum: bool) -> Estimate {
    let dims = spec.coordinates.len();
    let space = spec.space_dims;
    let unknowns = spec.unknowns.len() as f64;
    let interior = sampler_points(&spec.sampling.interior, dims);
    let faces = dims.saturating_sub(1);
    let mut condition_points = 0.0;
    for c in &spec.conditions {
        condition_points += match c.kind {
            ConditionKind::Boundary => {
                // Its faces; on a shaped domain at most one set per side.
                let pieces = if c.faces.is_empty() {
                    c.sides.len().max(2 * space.max(1))
                } else {
                    c.faces.len()
                };
                match spec.sampling.boundary {
                    // A grid on every face.
                    Sampler::Grid { .. } => {
                        pieces as f64 * sampler_points(&spec.sampling.boundary, faces)
                    }
                    // n in all, split across the faces or sides (one more
                    // per side for the rounding of a shape's split).
                    Sampler::Random { n, .. } | Sampler::Sobol { n, .. } => (n + pieces) as f64,
                }
            }
            ConditionKind::Initial => sampler_points(&spec.sampling.initial, faces),
        };
    }
    let rows = spec.equations.len() as f64 * interior + condition_points;
    // First-layer inputs: a periodic coordinate enters as cos and sin.
    let inputs = dims + spec.periodic_inputs.len();
    let d = inputs as f64;
    let (parameters, mlp) = match spec.ansatz {
        Ansatz::Rfm { features, .. } => (features as f64 * unknowns, None),
        Ansatz::Shallow { width, .. } => (width as f64 * (d + 1.0 + unknowns) + unknowns, None),
        Ansatz::Mlp { width, depth, .. } => (
            mlp_parameters(width, depth, inputs, spec.unknowns.len()) as f64,
            Some((width as f64, depth as f64)),
        ),
    };
    let (r, p) = (rows, parameters);
    let size = |a: f64, b: f64| format!("{} x {}", count(a), count(b));
    let mut parts = vec![part(
        "sample points",
        size(interior + condition_points, dims as f64),
        (interior + condition_points) * dims as f64,
    )];
    // theta and the trainer's vectors of the same length.
    let vectors = match spec.train {
        Trainer::Lstsq { .. } => 1.0,
        Trainer::GaussNewton { .. } => 3.0,
        Trainer::Adam { .. } | Trainer::Alm { .. } => 4.0,
        Trainer::Lbfgs { memory, .. } => 4.0 + 2.0 * memory as f64,
    };
    parts.push(part(
        "parameter vectors (theta and the trainer's state)",
        format!("{} x {}", count(vectors), count(p)),
        vectors * p,
    ));
    if let Some((k, l)) = mlp {
        let order = spec
            .equations
            .iter()
            .flat_map(|e| [&e.lhs, &e.rhs])
            .chain(spec.conditions.iter().flat_map(|c| [&c.lhs, &c.rhs]))
            .map(derivative_order)
            .max()
            .unwrap_or(0);
        let mut used = std::collections::BTreeSet::new();
        let known = spec
            .equations
            .iter()
            .flat_map(|e| [&e.lhs, &e.rhs])
            .chain(spec.conditions.iter().flat_map(|c| [&c.lhs, &c.rhs]))
            .fold(true, |known, e| multi_indices(e, &mut used) & known);
        let mut c = jet_components(dims, order);
        if known {
            c = c.min(closed_count(&used));
        }
        parts.push(part(
            "mlp layer jets (4 x (depth + 1) x width x points x jet components)",
            format!(
                "4 x {} x {} x {} x {}",
                count(l + 1.0),
                count(k),
                count(interior),
                count(c)
            ),
            4.0 * (l + 1.0) * k * interior * c,
        ));
    }
    match spec.train {
        Trainer::Lstsq { .. } => {
            parts.push(part("least-squares matrix", size(r, p), r * p));
            if r > p {
                parts.push(part(
                    "least-squares work copy",
                    size(r, p + 1.0),
                    r * (p + 1.0),
                ));
            }
            parts.push(part(
                "least-squares triangle",
                size(r.min(p), p + 1.0),
                r.min(p) * (p + 1.0),
            ));
        }
        Trainer::GaussNewton { .. } => {
            parts.push(part(
                "Jacobians (current and trial)",
                format!("2 x {}", size(r, p)),
                2.0 * r * p,
            ));
            parts.push(part(
                "damped least-squares system and its work copy",
                format!("2 x {}", size(r + p, p + 1.0)),
                2.0 * (r + p) * (p + 1.0),
            ));
        }
        Trainer::Adam { .. } | Trainer::Lbfgs { .. } | Trainer::Alm { .. } => {
            if mlp.is_none() {
                parts.push(part("Jacobian", size(r, p), r * p));
            }
        }
    }
    if spectrum {
        parts.push(part(
            "spectrum: matrix and SVD work",
            format!("2 x {} + {}", size(r, p), size(r.min(p), p)),
            2.0 * r * p + r.min(p) * p,
        ));
    }
    Estimate {
        parts,
        rows,
        parameters,
        interior_points: interior,
        condition_points,
    }
}

/// The memory available to this process, in bytes, and where the figure
/// comes from: MemAvailable of /proc/meminfo, lowered to the cgroup's
/// memory.max - memory.current when that is smaller; where neither can be
/// read (not Linux), [`FALLBACK_BYTES`].
pub fn available() -> (f64, &'static str) {
    let meminfo = std::fs::read_to_string("/proc/meminfo").ok().and_then(|t| {
        t.lines()
            .find(|l| l.starts_with("MemAvailable:"))
            .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
            .map(|kb| kb * 1024.0)
    });
    let read =
        |path: &str| -> Option<f64> { std::fs::read_to_string(path).ok()?.trim().parse().ok() };
    let cgroup = match (
        read("/sys/fs/cgroup/memory.max"),
        read("/sys/fs/cgroup/memory.current"),
    ) {
        (Some(max), Some(current)) => Some((max - current).max(0.0)),
        _ => None,
    };
    match (meminfo, cgroup) {
        (Some(m), Some(c)) if c < m => (c, "the cgroup's memory.max"),
        (Some(m), _) => (m, "MemAvailable in /proc/meminfo"),
        (None, Some(c)) => (c, "the cgroup's memory.max"),
        (None, None) => (FALLBACK_BYTES, "assumed: /proc/meminfo is not readable"),
    }
}

/// The memory assumed available where the system does not say (8 GiB).
pub const FALLBACK_BYTES: f64 = 8.0 * 1024.0 * 1024.0 * 1024.0;

/// `1.2 GB`, `850 MB`, `3.1 TB` (decimal units).
pub fn bytes(b: f64) -> String {
    let units = ["B", "kB", "MB", "GB", "TB", "PB", "EB"];
    let mut v = b;
    let mut u = 0;
    while v >= 1000.0 && u + 1 < units.len() {
        v /= 1000.0;
        u += 1;
    }
    if u == 0 {
        format!("{v:.0} {}", units[u])
    } else {
        format!("{v:.1} {}", units[u])
    }
}

fn count(v: f64) -> String {
    if v < 1e15 {
        format!("{v:.0}")
    } else {
        format!("{v:e}")
    }
}

/// E0515 when `spec` needs more than `available` bytes: the sizes, and
/// what to reduce. Located at the `ansatz` statement (or the `sample`
/// statement when the points dominate) unless the size came from a flag.
pub fn check_fits(
    spec: &Spec,
    file: &ast::File,
    overrides: &Overrides,
    spectrum: bool,
    available: (f64, &str),
) -> Option<Diagnostic> {
    let estimate = estimate(spec, spectrum);
    let need = estimate.total();
    if need <= available.0 {
        return None;
    }
    let (size_name, size) = match spec.ansatz {
        Ansatz::Rfm { features, .. } => ("features", features.to_string()),
        Ansatz::Shallow { width, .. } => ("width", width.to_string()),
        Ansatz::Mlp { width, depth, .. } => ("width` and `depth", format!("{width} and {depth}")),
    };
    let size_flag = match spec.ansatz {
        Ansatz::Rfm { .. } => overrides.features.is_some(),
        Ansatz::Shallow { .. } => overrides.width.is_some(),
        Ansatz::Mlp { .. } => overrides.width.is_some() || overrides.depth.is_some(),
    } || overrides.ansatz.is_some();
    // The points dominate when each row is cheaper than the parameters.
    let points_dominate =
        estimate.interior_points + estimate.condition_points > estimate.parameters;
    let statement = |keyword: &str| {
        file.statements
            .iter()
            .find(|s| s.kind.keyword() == keyword)
            .map(|s| s.span)
    };
    let span = if points_dominate {
        statement("sample")
    } else if size_flag {
        None
    } else {
        statement("ansatz")
    };
    let message = format!(
        "this run needs about {} of memory, but {} is available",
        bytes(need),
        bytes(available.0)
    );
    let mut d = match span {
        Some(span) => Diagnostic::error("E0515", message, span),
        None => Diagnostic::error_without_span("E0515", message),
    };
    let mut parts = estimate.parts.clone();
    parts.sort_by(|a, b| b.bytes.total_cmp(&a.bytes));
    for p in parts.iter().take(3) {
        d = d.with_note(format!("{}: {} ({})", p.what, p.shape, bytes(p.bytes)));
    }
    d = d.with_note(format!(
        "{} residual rows ({} interior points, at most {} condition points) x {} trained parameters; reduce `{size_name}` ({size}{}) or the point counts",
        count(estimate.rows),
        count(estimate.interior_points),
        count(estimate.condition_points),
        count(estimate.parameters),
        if size_flag { ", from the command line" } else { "" },
    ));
    Some(d.with_note(format!("available memory: {}", available.1)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jet_components_count_the_derivatives_up_to_the_order() {
        // 2-D, second order: 1, x, y, xx, xy, yy.
        assert_eq!(jet_components(2, 2), 6.0);
        assert_eq!(jet_components(3, 0), 1.0);
        // 1-D, fourth order: 5.
        assert_eq!(jet_components(1, 4), 5.0);
    }

    #[test]
    fn bytes_use_decimal_units() {
        assert_eq!(bytes(512.0), "512 B");
        assert_eq!(bytes(1.5e9), "1.5 GB");
        assert_eq!(bytes(3.07e12), "3.1 TB");
    }
}
