//! L-BFGS with a line search that satisfies the strong Wolfe conditions.
//!
//! The direction is the two-loop recursion over the last `memory` pairs
//! s_k = x_{k+1} - x_k, y_k = g_{k+1} - g_k with initial scaling
//! H_0 = (s.y / y.y) I (Nocedal & Wright, Numerical Optimization, Alg. 7.4).
//! The step length alpha satisfies, with phi(alpha) = f(x + alpha p),
//!   phi(alpha) <= phi(0) + c1 alpha phi'(0)      (sufficient decrease)
//!   |phi'(alpha)| <= c2 |phi'(0)|                 (curvature)
//! found by bracketing and zoom with safeguarded cubic interpolation
//! (Alg. 3.5 and 3.6). A trial point whose loss is not finite counts as a
//! too-long step, so a network that overflows far out along p does not end
//! the run: the search shrinks the step instead.
//!
//! The optimizer is independent of pdec's kernels: it sees an objective
//! x -> (f(x), grad f(x)).

use std::collections::VecDeque;

/// Settings of one minimization.
#[derive(Clone, Copy, Debug)]
pub struct LbfgsSettings {
    /// Maximum number of iterations (accepted steps).
    pub iters: usize,
    /// Number of (s, y) pairs kept.
    pub memory: usize,
    /// Sufficient-decrease constant c1.
    pub c1: f64,
    /// Curvature constant c2 (c1 < c2 < 1; 0.9 is the usual quasi-Newton choice).
    pub c2: f64,
    /// Stop when max_j |g_j| falls to this value.
    pub gradient_tolerance: f64,
    /// Objective evaluations allowed per line search.
    pub max_evaluations: usize,
}

impl LbfgsSettings {
    /// The usual constants (c1 = 1e-4, c2 = 0.9) with `iters` and `memory`.
    pub fn new(iters: usize, memory: usize) -> LbfgsSettings {
        LbfgsSettings {
            iters,
            memory,
            c1: 1e-4,
            c2: 0.9,
            gradient_tolerance: 0.0,
            max_evaluations: 40,
        }
    }
}

/// Why the minimization ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LbfgsStop {
    /// All iterations were used.
    Iterations,
    /// The gradient reached the tolerance (or is exactly zero).
    Converged,
    /// No step along the current direction, nor along steepest descent,
    /// decreased the loss: the loss is at the resolution of f64 arithmetic.
    NoProgress,
}

/// The outcome of a minimization.
#[derive(Clone, Debug)]
pub struct LbfgsOutcome {
    /// Loss after each accepted iteration.
    pub history: Vec<f64>,
    pub stop: LbfgsStop,
    /// Objective evaluations, the initial one included.
    pub evaluations: usize,
}

/// Why the minimization failed.
#[derive(Clone, Debug, PartialEq)]
pub enum LbfgsError<E> {
    /// The objective itself failed.
    Objective(E),
    /// The loss or gradient at the starting point is not finite.
    NotFinite,
}

/// One evaluated point along the search line.
#[derive(Clone, Copy, Debug)]
struct LinePoint {
    alpha: f64,
    value: f64,
    slope: f64,
}

/// Minimizes `objective` from `x` (in place). `objective(x, g)` returns
/// f(x) and writes grad f(x) into `g`; `on_iteration(k, f)` is called after
/// every accepted step.
pub fn minimize<E>(
    x: &mut [f64],
    settings: &LbfgsSettings,
    mut objective: impl FnMut(&[f64], &mut [f64]) -> Result<f64, E>,
    mut on_iteration: impl FnMut(usize, f64),
) -> Result<LbfgsOutcome, LbfgsError<E>> {
    let n = x.len();
    let mut gradient = vec![0.0; n];
    let mut value = objective(x, &mut gradient).map_err(LbfgsError::Objective)?;
    let mut evaluations = 1;
    if !value.is_finite() || gradient.iter().any(|g| !g.is_finite()) {
        return Err(LbfgsError::NotFinite);
    }
    let mut pairs: VecDeque<(Vec<f64>, Vec<f64>, f64)> = VecDeque::with_capacity(settings.memory);
    let mut direction = vec![0.0; n];
    let mut alphas = vec![0.0; settings.memory];
    let mut trial = vec![0.0; n];
    let mut trial_gradient = vec![0.0; n];
    let mut history = Vec::with_capacity(settings.iters);
    let mut stop = LbfgsStop::Iterations;
    let mut iteration = 0;
    while iteration < settings.iters {
        if max_abs(&gradient) <= settings.gradient_tolerance {
            stop = LbfgsStop::Converged;
            break;
        }
        two_loop(&gradient, &pairs, &mut alphas, &mut direction);
        let mut slope = dot(&gradient, &direction);
        if slope.is_nan() || slope >= 0.0 || pairs.is_empty() {
            // Not a descent direction (round-off in H), or the first step:
            // steepest descent, scaled so that the first trial moves x by at
            // most about one unit.
            pairs.clear();
            for (d, g) in direction.iter_mut().zip(&gradient) {
                *d = -g;
            }
            slope = -dot(&gradient, &gradient);
        }
        let first_alpha = if pairs.is_empty() {
            (1.0 / norm(&gradient)).min(1.0)
        } else {
            1.0
        };
        let start = LinePoint {
            alpha: 0.0,
            value,
            slope,
        };
        let mut along = |alpha: f64, g: &mut [f64], t: &mut [f64]| -> Result<LinePoint, E> {
            for ((t, x), d) in t.iter_mut().zip(x.iter()).zip(&direction) {
                *t = x + alpha * d;
            }
            let value = objective(t, g)?;
            evaluations += 1;
            let slope = if value.is_finite() {
                dot(g, &direction)
            } else {
                f64::NAN
            };
            Ok(LinePoint {
                alpha,
                value,
                slope,
            })
        };
        let found = strong_wolfe(
            start,
            first_alpha,
            settings,
            &mut along,
            &mut trial,
            &mut trial_gradient,
        )
        .map_err(LbfgsError::Objective)?;
        let Some(point) = found else {
            if pairs.is_empty() {
                stop = LbfgsStop::NoProgress;
                break;
            }
            // Retry this iteration from steepest descent.
            pairs.clear();
            continue;
        };
        // `trial` and `trial_gradient` hold the accepted point.
        let s: Vec<f64> = trial.iter().zip(x.iter()).map(|(t, x)| t - x).collect();
        let y: Vec<f64> = trial_gradient
            .iter()
            .zip(&gradient)
            .map(|(a, b)| a - b)
            .collect();
        let sy = dot(&s, &y);
        x.copy_from_slice(&trial);
        gradient.copy_from_slice(&trial_gradient);
        value = point.value;
        iteration += 1;
        history.push(value);
        on_iteration(iteration, value);
        // The strong Wolfe conditions give s.y > 0; keep the pair only if
        // round-off has not spoiled that.
        if sy > f64::EPSILON * norm(&s) * norm(&y) && settings.memory > 0 {
            if pairs.len() == settings.memory {
                pairs.pop_front();
            }
            pairs.push_back((s, y, 1.0 / sy));
        }
    }
    Ok(LbfgsOutcome {
        history,
        stop,
        evaluations,
    })
}

/// direction = -H g by the two-loop recursion.
fn two_loop(
    gradient: &[f64],
    pairs: &VecDeque<(Vec<f64>, Vec<f64>, f64)>,
    alphas: &mut [f64],
    direction: &mut [f64],
) {
    direction.copy_from_slice(gradient);
    for (i, (s, y, rho)) in pairs.iter().enumerate().rev() {
        let a = rho * dot(s, direction);
        alphas[i] = a;
        axpy(-a, y, direction);
    }
    if let Some((s, y, _)) = pairs.back() {
        let gamma = dot(s, y) / dot(y, y);
        direction.iter_mut().for_each(|d| *d *= gamma);
    }
    for (i, (s, y, rho)) in pairs.iter().enumerate() {
        let b = rho * dot(y, direction);
        axpy(alphas[i] - b, s, direction);
    }
    direction.iter_mut().for_each(|d| *d = -*d);
}

/// Finds a step satisfying the strong Wolfe conditions (Alg. 3.5), leaving
/// the accepted point and its gradient in `x` and `g`. Returns `None` if
/// the evaluation budget ends first without any decrease of the loss; if
/// some trial decreased the loss, the best such trial is accepted.
fn strong_wolfe<E>(
    start: LinePoint,
    first_alpha: f64,
    settings: &LbfgsSettings,
    along: &mut impl FnMut(f64, &mut [f64], &mut [f64]) -> Result<LinePoint, E>,
    x: &mut [f64],
    g: &mut [f64],
) -> Result<Option<LinePoint>, E> {
    let (c1, c2) = (settings.c1, settings.c2);
    let sufficient = |p: &LinePoint| p.value <= start.value + c1 * p.alpha * start.slope;
    let curvature = |p: &LinePoint| p.slope.abs() <= -c2 * start.slope;
    let mut best: Option<LinePoint> = None;
    let remember = |p: &LinePoint, best: &mut Option<LinePoint>| {
        if p.value.is_finite()
            && p.value < start.value
            && best.is_none_or(|b: LinePoint| p.value < b.value)
        {
            *best = Some(*p);
        }
    };
    let mut previous = start;
    let mut alpha = first_alpha;
    let mut evaluations = 0;
    let (mut lo, mut hi);
    loop {
        let p = along(alpha, g, x)?;
        evaluations += 1;
        remember(&p, &mut best);
        if !p.value.is_finite() || !sufficient(&p) || (evaluations > 1 && p.value >= previous.value)
        {
            (lo, hi) = (previous, p);
            break;
        }
        if curvature(&p) {
            return Ok(Some(p));
        }
        if p.slope >= 0.0 {
            (lo, hi) = (p, previous);
            break;
        }
        if evaluations >= settings.max_evaluations {
            return finish(best, along, g, x);
        }
        previous = p;
        alpha *= 2.0;
    }
    // Zoom (Alg. 3.6): lo satisfies sufficient decrease and has the lowest
    // value so far; the interval [lo, hi] contains Wolfe points.
    while evaluations < settings.max_evaluations {
        let alpha = interpolate(&lo, &hi);
        let p = along(alpha, g, x)?;
        evaluations += 1;
        remember(&p, &mut best);
        if !p.value.is_finite() || !sufficient(&p) || p.value >= lo.value {
            hi = p;
        } else {
            if curvature(&p) {
                return Ok(Some(p));
            }
            if p.slope * (hi.alpha - lo.alpha) >= 0.0 {
                hi = lo;
            }
            lo = p;
        }
        if (hi.alpha - lo.alpha).abs() <= f64::EPSILON * lo.alpha.abs().max(f64::MIN_POSITIVE) {
            break;
        }
    }
    finish(best, along, g, x)
}

/// The end of a line search that ran out of evaluations: re-evaluates the
/// best decreasing trial (so that `x`, `g` hold it) or reports failure.
fn finish<E>(
    best: Option<LinePoint>,
    along: &mut impl FnMut(f64, &mut [f64], &mut [f64]) -> Result<LinePoint, E>,
    g: &mut [f64],
    x: &mut [f64],
) -> Result<Option<LinePoint>, E> {
    match best {
        Some(b) => along(b.alpha, g, x).map(Some),
        None => Ok(None),
    }
}

/// The minimizer of the cubic through two line points (values and slopes),
/// kept within the middle 80% of the interval; bisection when the cubic
/// has no usable minimizer or a point is not finite.
fn interpolate(a: &LinePoint, b: &LinePoint) -> f64 {
    let (left, right) = (a.alpha.min(b.alpha), a.alpha.max(b.alpha));
    let middle = 0.5 * (left + right);
    let margin = 0.1 * (right - left);
    if !(a.value.is_finite() && b.value.is_finite() && a.slope.is_finite() && b.slope.is_finite()) {
        return middle;
    }
    let d1 = a.slope + b.slope - 3.0 * (a.value - b.value) / (a.alpha - b.alpha);
    let square = d1 * d1 - a.slope * b.slope;
    if square < 0.0 {
        return middle;
    }
    let d2 = (b.alpha - a.alpha).signum() * square.sqrt();
    let denominator = b.slope - a.slope + 2.0 * d2;
    if denominator == 0.0 {
        return middle;
    }
    let t = b.alpha - (b.alpha - a.alpha) * (b.slope + d2 - d1) / denominator;
    if t.is_finite() {
        t.clamp(left + margin, right - margin)
    } else {
        middle
    }
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(a, b)| a * b).sum()
}

fn norm(a: &[f64]) -> f64 {
    dot(a, a).sqrt()
}

fn max_abs(a: &[f64]) -> f64 {
    a.iter().fold(0.0, |m, v| m.max(v.abs()))
}

fn axpy(alpha: f64, x: &[f64], y: &mut [f64]) {
    for (y, x) in y.iter_mut().zip(x) {
        *y += alpha * x;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::convert::Infallible;

    fn rosenbrock(x: &[f64], g: &mut [f64]) -> Result<f64, Infallible> {
        let n = x.len();
        let mut f = 0.0;
        g.iter_mut().for_each(|g| *g = 0.0);
        for i in 0..n - 1 {
            let (a, b) = (x[i], x[i + 1]);
            f += 100.0 * (b - a * a).powi(2) + (1.0 - a).powi(2);
            g[i] += -400.0 * a * (b - a * a) - 2.0 * (1.0 - a);
            g[i + 1] += 200.0 * (b - a * a);
        }
        Ok(f)
    }

    #[test]
    fn rosenbrock_reaches_the_minimum() {
        let mut x = vec![-1.2, 1.0, -1.2, 1.0, -1.2, 1.0];
        let settings = LbfgsSettings::new(500, 10);
        let out = minimize(&mut x, &settings, rosenbrock, |_, _| {}).unwrap();
        for v in &x {
            assert!((v - 1.0).abs() < 1e-7, "{x:?} {:?}", out.stop);
        }
        assert!(out.history.len() < 200, "{} iterations", out.history.len());
    }

    #[test]
    fn loss_never_increases() {
        let mut x = vec![-1.2, 1.0];
        let settings = LbfgsSettings::new(100, 5);
        let out = minimize(&mut x, &settings, rosenbrock, |_, _| {}).unwrap();
        for w in out.history.windows(2) {
            assert!(w[1] <= w[0], "{:?}", out.history);
        }
    }

    /// On a convex quadratic 0.5 x^T D x (condition number 64), L-BFGS
    /// reaches a gradient of 1e-12 in well under 100 iterations; steepest
    /// descent would need about 64 ln(1e12) = 1800.
    #[test]
    fn quadratic_converges() {
        let d: Vec<f64> = (1..=8).map(|i| i as f64 * i as f64).collect();
        let mut x = vec![1.0; 8];
        let mut settings = LbfgsSettings::new(200, 8);
        settings.gradient_tolerance = 1e-12;
        let out = minimize(
            &mut x,
            &settings,
            |x: &[f64], g: &mut [f64]| -> Result<f64, Infallible> {
                let mut f = 0.0;
                for i in 0..x.len() {
                    g[i] = d[i] * x[i];
                    f += 0.5 * d[i] * x[i] * x[i];
                }
                Ok(f)
            },
            |_, _| {},
        )
        .unwrap();
        assert_eq!(out.stop, LbfgsStop::Converged);
        assert!(x.iter().all(|v| v.abs() < 1e-12), "{x:?}");
        assert!(out.history.len() < 80, "{} iterations", out.history.len());
    }

    /// Every accepted step satisfies both strong Wolfe conditions: checked
    /// by recomputing phi and phi' independently at the accepted step.
    #[test]
    fn accepted_steps_satisfy_strong_wolfe() {
        let x0 = [-1.2, 1.0];
        let mut g0 = [0.0; 2];
        let f0 = rosenbrock(&x0, &mut g0).unwrap();
        let direction = [-g0[0], -g0[1]];
        let slope0 = g0[0] * direction[0] + g0[1] * direction[1];
        let settings = LbfgsSettings::new(1, 1);
        let mut along = |alpha: f64, g: &mut [f64], t: &mut [f64]| {
            t[0] = x0[0] + alpha * direction[0];
            t[1] = x0[1] + alpha * direction[1];
            let value = rosenbrock(t, g)?;
            Ok::<_, Infallible>(LinePoint {
                alpha,
                value,
                slope: g[0] * direction[0] + g[1] * direction[1],
            })
        };
        let start = LinePoint {
            alpha: 0.0,
            value: f0,
            slope: slope0,
        };
        for first in [1e-4, 1e-3, 1.0, 10.0] {
            let (mut x, mut g) = ([0.0; 2], [0.0; 2]);
            let p = strong_wolfe(start, first, &settings, &mut along, &mut x, &mut g)
                .unwrap()
                .expect("a Wolfe point");
            let (mut g2, t) = (
                [0.0; 2],
                [
                    x0[0] + p.alpha * direction[0],
                    x0[1] + p.alpha * direction[1],
                ],
            );
            let value = rosenbrock(&t, &mut g2).unwrap();
            let slope = g2[0] * direction[0] + g2[1] * direction[1];
            assert!(value <= f0 + 1e-4 * p.alpha * slope0, "alpha {}", p.alpha);
            assert!(slope.abs() <= 0.9 * slope0.abs(), "alpha {}", p.alpha);
            assert_eq!(x, t);
            assert_eq!(g, g2);
        }
    }

    /// A loss that is infinite beyond |x| > 2 is searched through without
    /// error: the line search shrinks the step.
    #[test]
    fn infinite_trials_shrink_the_step() {
        let mut x = vec![1.5];
        let settings = LbfgsSettings::new(50, 3);
        let out = minimize(
            &mut x,
            &settings,
            |x: &[f64], g: &mut [f64]| -> Result<f64, Infallible> {
                if x[0].abs() > 2.0 {
                    g[0] = f64::NAN;
                    return Ok(f64::INFINITY);
                }
                g[0] = 4.0 * (x[0] + 1.0).powi(3) + 0.5 * (x[0] + 1.0);
                Ok((x[0] + 1.0).powi(4) + 0.25 * (x[0] + 1.0).powi(2))
            },
            |_, _| {},
        )
        .unwrap();
        assert!((x[0] + 1.0).abs() < 1e-6, "{x:?} {:?}", out.stop);
    }

    #[test]
    fn non_finite_start_is_an_error() {
        let mut x = vec![0.0];
        let out = minimize(
            &mut x,
            &LbfgsSettings::new(10, 3),
            |_: &[f64], g: &mut [f64]| -> Result<f64, Infallible> {
                g[0] = 1.0;
                Ok(f64::NAN)
            },
            |_, _| {},
        );
        assert_eq!(out.unwrap_err(), LbfgsError::NotFinite);
    }

    #[test]
    fn objective_errors_pass_through() {
        let mut x = vec![0.0];
        let mut calls = 0;
        let out = minimize(
            &mut x,
            &LbfgsSettings::new(10, 3),
            |x: &[f64], g: &mut [f64]| {
                calls += 1;
                if calls > 2 {
                    return Err("kernel failed");
                }
                g[0] = 2.0 * (x[0] - 3.0);
                Ok((x[0] - 3.0).powi(2))
            },
            |_, _| {},
        );
        assert_eq!(out.unwrap_err(), LbfgsError::Objective("kernel failed"));
    }
}
