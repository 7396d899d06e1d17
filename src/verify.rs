//! The exact-solution check of `pdec check`: substitutes each unknown's
//! exact solution (and its derivatives, symbolically) into every equation
//! and condition, and evaluates the residual on a few hundred points.
//! A residual far above round-off usually means a typo in a forcing term or
//! a boundary value, the most common mistake in a problem file.

use crate::check::Spec;
use crate::diag::{Diagnostic, Span};
use crate::sample::{box_points, dense_sampler, interior_points};
use crate::symbolic::problem::{diff_multi_index, point_symbols, ResidualSource, SymbolicProblem};
use crate::symbolic::{Evaluator, ExprId, Graph, Node, SizeLimitExceeded};

/// Residuals are accepted up to this multiple of the size of their terms.
pub const RELATIVE_TOLERANCE: f64 = 1e-8;
/// Points per equation (Sobol points in the box).
const EQUATION_POINTS: usize = 256;
/// Points per face of a condition.
const FACE_POINTS: usize = 64;

/// The outcome for one residual.
#[derive(Clone, Debug)]
pub struct ResidualCheck {
    pub name: String,
    /// The span of the equation or condition in the source.
    pub span: Span,
    /// Largest |residual| over the points, and where.
    pub max_abs: f64,
    pub at: Vec<f64>,
    /// Largest |term| of the residual over the points (its natural size).
    pub scale: f64,
    /// Points evaluated (points where the exact solution is not finite are skipped).
    pub points: usize,
    /// The boundary piece checked, on a shaped domain (`hole`, `outer (x = 1)`).
    pub place: Option<String>,
}

impl ResidualCheck {
    /// True if the residual vanishes to round-off.
    pub fn passes(&self) -> bool {
        self.points > 0 && self.max_abs <= RELATIVE_TOLERANCE * self.scale.max(1.0)
    }
}

/// Checks every residual whose unknowns all have exact solutions.
pub fn check_exact(spec: &Spec) -> Result<Vec<ResidualCheck>, SizeLimitExceeded> {
    if spec.exact.iter().all(Option::is_none) {
        return Ok(Vec::new());
    }
    let mut problem = SymbolicProblem::new(spec)?;
    let bounds: Vec<(f64, f64)> = spec.coordinates.iter().map(|c| (c.lo, c.hi)).collect();
    let coordinate_names: Vec<String> = spec.coordinates.iter().map(|c| c.name.clone()).collect();
    let mut results = Vec::new();
    for residual in problem.residuals.clone() {
        let Some(substituted) = substitute_exact(&mut problem, residual.expr)? else {
            continue;
        };
        // On a shaped domain, each side of a condition is checked on its
        // own, so that a warning names the piece.
        if let (ResidualSource::Condition(i), Some(shape)) = (residual.source, &spec.shape) {
            let condition = &spec.conditions[i];
            if condition.sides.is_empty() {
                // An initial condition on a shaped domain: its interior at t0.
                let points = crate::sample::condition_points(
                    spec,
                    &dense_sampler(spec.dims(), EQUATION_POINTS, 0),
                    &[],
                    &condition.faces,
                );
                results.push(evaluate(
                    &problem,
                    residual.name.clone(),
                    condition.span,
                    substituted,
                    &points,
                    None,
                ));
                continue;
            }
            for &side in &condition.sides {
                let points = crate::sample::condition_points(
                    spec,
                    &dense_sampler(spec.dims(), FACE_POINTS, 0),
                    &[side],
                    &[],
                );
                let mut check = evaluate(
                    &problem,
                    residual.name.clone(),
                    condition.span,
                    substituted,
                    &points,
                    None,
                );
                check.place = Some(shape.side_description(side, &coordinate_names));
                results.push(check);
            }
            continue;
        }
        let (span, points) = match residual.source {
            ResidualSource::Equation(i) => (
                spec.equations[i].span,
                interior_points(spec, &dense_sampler(spec.dims(), EQUATION_POINTS, 0), 0),
            ),
            ResidualSource::Condition(i) => {
                let condition = &spec.conditions[i];
                let mut set = crate::sample::PointSet::new(bounds.len());
                for (f, face) in condition.faces.iter().enumerate() {
                    let face_set = box_points(
                        &dense_sampler(spec.dims(), FACE_POINTS, 0),
                        &bounds,
                        Some(*face),
                        f as u64 + 1,
                    );
                    set.coords.extend(face_set.coords);
                }
                (condition.span, set)
            }
        };
        // A periodic condition compares the field at x and at x + L e_c.
        let period = match residual.source {
            ResidualSource::Condition(i) => spec.conditions[i].periodic.map(|c| {
                let coordinate = &spec.coordinates[c];
                (c, coordinate.hi - coordinate.lo)
            }),
            ResidualSource::Equation(_) => None,
        };
        let mut check = evaluate(
            &problem,
            residual.name.clone(),
            span,
            substituted,
            &points,
            period,
        );
        if let ResidualSource::Condition(i) = residual.source {
            check.place = spec.conditions[i].place.clone();
        }
        results.push(check);
    }
    Ok(results)
}

/// The residual with every field replaced by the corresponding derivative
/// of its exact solution, or `None` if some unknown has none.
fn substitute_exact(
    problem: &mut SymbolicProblem,
    residual: ExprId,
) -> Result<Option<ExprId>, SizeLimitExceeded> {
    let exact = problem.exact.clone();
    let coordinates = problem.coordinates.clone();
    let mut missing = false;
    let out = problem
        .graph
        .substitute_fields(
            &[residual],
            &mut |graph: &mut Graph, field, derivative| -> Result<ExprId, SizeLimitExceeded> {
                let Some(Some(solution)) = exact.get(field as usize) else {
                    missing = true;
                    return Ok(graph.num(0.0));
                };
                diff_multi_index(graph, *solution, &coordinates, derivative)
            },
        )?;
    Ok((!missing).then(|| out[0]))
}

fn evaluate(
    problem: &SymbolicProblem,
    name: String,
    span: Span,
    residual: ExprId,
    points: &crate::sample::PointSet,
    period: Option<(usize, f64)>,
) -> ResidualCheck {
    // The terms of a sum give the residual's natural size.
    let terms: Vec<ExprId> = match problem.graph.node(residual) {
        Node::Add(ops) => ops.to_vec(),
        _ => vec![residual],
    };
    let mut roots = vec![residual];
    roots.extend(&terms);
    let mut evaluator = Evaluator::new(&problem.graph, &roots);
    let no_fields = |_: u32, _: &[u8]| f64::NAN;
    let mut check = ResidualCheck {
        name,
        span,
        max_abs: 0.0,
        at: Vec::new(),
        scale: 0.0,
        points: 0,
        place: None,
    };
    for i in 0..points.len() {
        let point = points.point(i);
        let symbols = point_symbols(&problem.coordinates, point);
        let mut values = evaluator.eval(&symbols, &no_fields).to_vec();
        if let Some((c, length)) = period {
            let mut shifted = point.to_vec();
            shifted[c] += length;
            let symbols = point_symbols(&problem.coordinates, &shifted);
            let there = evaluator.eval(&symbols, &no_fields).to_vec();
            values[0] -= there[0];
            // The terms' size: the larger of the two ends.
            for (v, t) in values[1..].iter_mut().zip(&there[1..]) {
                *v = v.abs().max(t.abs());
            }
        }
        if values.iter().any(|v| !v.is_finite()) {
            continue;
        }
        check.points += 1;
        let r = values[0].abs();
        if r > check.max_abs || check.at.is_empty() {
            check.max_abs = r;
            check.at = point.to_vec();
        }
        for v in &values[1..] {
            check.scale = check.scale.max(v.abs());
        }
    }
    check
}

/// Warnings for the residuals that do not vanish.
pub fn diagnostics(spec: &Spec, checks: &[ResidualCheck]) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for c in checks.iter().filter(|c| !c.passes()) {
        let what = match &c.place {
            Some(place) => format!("{} on {place}", describe(&c.name)),
            None => describe(&c.name),
        };
        let d = if c.points == 0 {
            Diagnostic::warning(
                "W0603",
                format!("the exact solution could not be evaluated on {what}"),
                c.span,
            )
            .with_note("it is not finite at any of the check points")
        } else {
            let at: Vec<String> = spec
                .coordinates
                .iter()
                .zip(&c.at)
                .map(|(coord, v)| format!("{}={}", coord.name, short(*v)))
                .collect();
            Diagnostic::warning(
                "W0602",
                format!(
                    "exact solution does not satisfy {what}: max |residual| = {} at {}",
                    short(c.max_abs),
                    at.join(", ")
                ),
                c.span,
            )
            .with_label_message("residual far above round-off here")
            .with_note(format!(
                "the terms are of size {}; a residual below {:e} of that counts as zero",
                short(c.scale.max(1.0)),
                RELATIVE_TOLERANCE
            ))
            .with_note("check the forcing term, the boundary values and the exact solution")
        };
        out.push(d);
    }
    out
}

/// `equation 1`, `bc 2`, `initial 1` from a residual name (1-based for people).
fn describe(name: &str) -> String {
    let split = name
        .find(|c: char| c.is_ascii_digit())
        .unwrap_or(name.len());
    let (kind, index) = name.split_at(split);
    // `bc0_2`: the second side of a split `bc0`.
    let index: usize = index.split('_').next().unwrap_or("").parse().unwrap_or(0);
    let kind = match kind {
        "bc" => "boundary condition",
        "initial" => "initial condition",
        other => other,
    };
    format!("{kind} {}", index + 1)
}

/// A number with 3 significant digits.
fn short(v: f64) -> String {
    if v == 0.0 {
        "0".into()
    } else if (1e-3..1e4).contains(&v.abs()) {
        let s = format!("{v:.3}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        format!("{v:.2e}")
    }
}

/// One line for the `pdec check` summary, e.g. "3 residuals vanish on 384
/// points (max |r| = 4.4e-16)"; `None` when there is no exact solution.
pub fn summary_line(checks: &[ResidualCheck]) -> Option<String> {
    if checks.is_empty() {
        return None;
    }
    let points: usize = checks.iter().map(|c| c.points).sum();
    let max = checks.iter().map(|c| c.max_abs).fold(0.0, f64::max);
    let failing = checks.iter().filter(|c| !c.passes()).count();
    let plural = |n: usize| if n == 1 { "" } else { "s" };
    Some(if failing == 0 {
        format!(
            "{} residual{} vanish on {points} points (max |r| = {})",
            checks.len(),
            plural(checks.len()),
            short(max)
        )
    } else {
        format!(
            "{failing} of {} residual{} do not vanish (see the warnings)",
            checks.len(),
            plural(checks.len())
        )
    })
}
