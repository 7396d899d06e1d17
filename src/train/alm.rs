//! The augmented Lagrangian method with Adam inner steps.
//!
//! Problem: minimize J(x) subject to c_i(x) = 0, i = 1..m. With scales
//! s_i > 0 (pdec: s_i = 1/n for the n points of a condition, so that mu
//! does not depend on the number of points) the augmented Lagrangian is
//!
//!   L(x, lambda; mu) = J(x) + sum_i s_i (lambda_i c_i(x) + mu/2 c_i(x)^2)
//!
//! Every epoch takes one Adam step on L in x (beta1 0.9, beta2 0.999,
//! eps 1e-8, the moments kept across multiplier updates). Every `every`
//! epochs the multipliers take the first-order update
//!   lambda_i <- lambda_i + mu c_i(x)
//! and, when the scaled violation ||c||_s = sqrt(sum_i s_i c_i^2) did not
//! fall below a quarter of its value at the previous update, mu grows by
//! `growth` up to `mu_max` (the classic rule, Nocedal & Wright §17.4).
//! At a KKT point grad J + sum_i (s_i lambda_i) grad c_i = 0, so
//! s_i lambda_i are the Lagrange multipliers of the constraints c_i = 0.
//!
//! The run stops early at a KKT point to rounding: max_i |c_i| and
//! max_k |grad_x L| both at most [`KKT_TOLERANCE`]. Without this stop a run
//! that has converged goes on: the violation cannot fall further, so the
//! growth rule raises mu to mu_max, and Adam, whose second moment decays
//! once the gradient vanishes (steps lr g / (sqrt(v) + eps)), leaves the
//! point; with mu large the multiplier update lambda_i += mu c_i then
//! amplifies the wandering. (On the quadratic of the tests: multipliers
//! exact to 1e-12 at epoch 4,000, wrong by 6e-3 at epoch 20,000.)
//!
//! `adaptive` (the multiplier update of Basir's published code, there with
//! L-BFGS steps) replaces the Lagrangian and the update by
//!
//!   L(x, lambda) = J(x) + sum_i s_i lambda_i c_i(x)^2,   lambda_i = 1 at start,
//!   v_i <- 0.9 v_i + 0.1 c_i^4,   lambda_i <- lambda_i + mu c_i^2 / sqrt(v_i + 1e-8)
//!
//! every `every` epochs (a per-point RMSprop step on the dual; the
//! multipliers only grow, most where the condition is violated most);
//! mu is the dual step size and does not grow.
//!
//! The method knows nothing of kernels: it works on any
//! [`ConstrainedObjective`] (tested on quadratics with linear constraints,
//! where the multipliers have a closed form).

/// The settings of one run.
#[derive(Clone, Debug, PartialEq)]
pub struct AlmSettings {
    /// Adam's learning rate.
    pub lr: f64,
    pub epochs: usize,
    /// Initial penalty parameter.
    pub mu: f64,
    pub mu_max: f64,
    /// Epochs between multiplier updates.
    pub every: usize,
    /// Factor on mu when the violation did not fall to a quarter.
    pub growth: f64,
    /// Basir's adaptive update instead of the first-order one.
    pub adaptive: bool,
}

/// An objective with equality constraints.
pub trait ConstrainedObjective {
    type Error;
    /// Evaluates at `x`: returns J(x) and writes c(x) into `constraints`.
    fn evaluate(&mut self, x: &[f64], constraints: &mut [f64]) -> Result<f64, Self::Error>;
    /// Writes grad J + sum_i a_i grad c_i at the point of the last
    /// [`evaluate`](Self::evaluate) into `gradient`.
    fn gradient(&mut self, coefficients: &[f64], gradient: &mut [f64]);
}

/// What one epoch saw (before its Adam step).
pub struct AlmEpoch<'a> {
    pub epoch: usize,
    /// J(x).
    pub objective: f64,
    /// L(x, lambda; mu).
    pub lagrangian: f64,
    pub constraints: &'a [f64],
    pub multipliers: &'a [f64],
    pub mu: f64,
}

/// The KKT tolerance of the early stop (absolute, on the constraints and
/// on the gradient of the augmented Lagrangian).
pub const KKT_TOLERANCE: f64 = 1e-10;

/// The end state of a run.
#[derive(Clone, Debug)]
pub struct AlmOutcome {
    /// The epochs taken (fewer than asked when a KKT point was reached).
    pub epochs: usize,
    /// lambda_i (the Lagrange multipliers are s_i lambda_i).
    pub multipliers: Vec<f64>,
    /// The final penalty parameter.
    pub mu: f64,
}

/// Why a run stopped.
#[derive(Clone, Debug)]
pub enum AlmError<E> {
    Objective(E),
    /// J, a constraint (its index) or the parameters became non-finite.
    NotFinite {
        epoch: usize,
        constraint: Option<usize>,
    },
}

/// Runs the method from `x` (updated in place) for `constraints` equality
/// constraints with scales `scales` (one per constraint).
pub fn minimize<O: ConstrainedObjective>(
    x: &mut [f64],
    scales: &[f64],
    settings: &AlmSettings,
    objective: &mut O,
    mut on_epoch: impl FnMut(&AlmEpoch<'_>),
) -> Result<AlmOutcome, AlmError<O::Error>> {
    let n = x.len();
    let m = scales.len();
    let (beta1, beta2, eps) = (0.9, 0.999, 1e-8);
    let mut first = vec![0.0; n];
    let mut second = vec![0.0; n];
    let mut gradient = vec![0.0; n];
    let mut c = vec![0.0; m];
    let mut coefficients = vec![0.0; m];
    let mut lambda = vec![if settings.adaptive { 1.0 } else { 0.0 }; m];
    let mut dual_second = vec![0.0; m];
    let mut mu = settings.mu;
    let mut previous_violation: Option<f64> = None;
    let every = settings.every.max(1);
    for epoch in 1..=settings.epochs {
        let j = objective.evaluate(x, &mut c).map_err(AlmError::Objective)?;
        if let Some(i) = c.iter().position(|v| !v.is_finite()) {
            return Err(AlmError::NotFinite {
                epoch,
                constraint: Some(i),
            });
        }
        if !j.is_finite() {
            return Err(AlmError::NotFinite {
                epoch,
                constraint: None,
            });
        }
        let mut lagrangian = j;
        for i in 0..m {
            if settings.adaptive {
                coefficients[i] = 2.0 * scales[i] * lambda[i] * c[i];
                lagrangian += scales[i] * lambda[i] * c[i] * c[i];
            } else {
                coefficients[i] = scales[i] * (lambda[i] + mu * c[i]);
                lagrangian += scales[i] * (lambda[i] * c[i] + 0.5 * mu * c[i] * c[i]);
            }
        }
        on_epoch(&AlmEpoch {
            epoch,
            objective: j,
            lagrangian,
            constraints: &c,
            multipliers: &lambda,
            mu,
        });
        objective.gradient(&coefficients, &mut gradient);
        let at_kkt_point = !settings.adaptive
            && c.iter().all(|v| v.abs() <= KKT_TOLERANCE)
            && gradient.iter().all(|g| g.abs() <= KKT_TOLERANCE);
        if at_kkt_point {
            return Ok(AlmOutcome {
                epochs: epoch,
                multipliers: lambda,
                mu,
            });
        }
        let (c1, c2) = (1.0 - beta1_pow(beta1, epoch), 1.0 - beta1_pow(beta2, epoch));
        for k in 0..n {
            first[k] = beta1 * first[k] + (1.0 - beta1) * gradient[k];
            second[k] = beta2 * second[k] + (1.0 - beta2) * gradient[k] * gradient[k];
            x[k] -= settings.lr * (first[k] / c1) / ((second[k] / c2).sqrt() + eps);
        }
        if x.iter().any(|v| !v.is_finite()) {
            return Err(AlmError::NotFinite {
                epoch,
                constraint: None,
            });
        }
        if settings.adaptive && epoch % every == 0 && epoch < settings.epochs {
            for i in 0..m {
                let square = c[i] * c[i];
                dual_second[i] = 0.9 * dual_second[i] + 0.1 * square * square;
                lambda[i] += mu * square / (dual_second[i] + 1e-8).sqrt();
            }
        } else if epoch % every == 0 && epoch < settings.epochs {
            for i in 0..m {
                lambda[i] += mu * c[i];
            }
            let violation = c
                .iter()
                .zip(scales)
                .map(|(c, s)| s * c * c)
                .sum::<f64>()
                .sqrt();
            if let Some(previous) = previous_violation {
                if violation > 0.25 * previous {
                    mu = (mu * settings.growth).min(settings.mu_max);
                }
            }
            previous_violation = Some(violation);
        }
    }
    Ok(AlmOutcome {
        epochs: settings.epochs,
        multipliers: lambda,
        mu,
    })
}

fn beta1_pow(beta: f64, epoch: usize) -> f64 {
    beta.powi(epoch.min(i32::MAX as usize) as i32)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// J = 1/2 |x - a|^2 subject to B x = d.
    struct Quadratic {
        a: Vec<f64>,
        b: Vec<Vec<f64>>,
        d: Vec<f64>,
        x: Vec<f64>,
    }

    impl ConstrainedObjective for Quadratic {
        type Error = ();
        fn evaluate(&mut self, x: &[f64], constraints: &mut [f64]) -> Result<f64, ()> {
            self.x = x.to_vec();
            for (i, row) in self.b.iter().enumerate() {
                constraints[i] = row.iter().zip(x).map(|(b, x)| b * x).sum::<f64>() - self.d[i];
            }
            Ok(0.5
                * x.iter()
                    .zip(&self.a)
                    .map(|(x, a)| (x - a) * (x - a))
                    .sum::<f64>())
        }
        fn gradient(&mut self, coefficients: &[f64], gradient: &mut [f64]) {
            for k in 0..gradient.len() {
                gradient[k] = self.x[k] - self.a[k]
                    + self
                        .b
                        .iter()
                        .zip(coefficients)
                        .map(|(row, a)| a * row[k])
                        .sum::<f64>();
            }
        }
    }

    #[test]
    fn multipliers_converge_to_the_lagrange_multipliers_of_a_quadratic() {
        // KKT: x - a + B^T l = 0, B x = d  =>  l = (B B^T)^{-1} (B a - d).
        let a = vec![1.0, -2.0, 0.5, 3.0];
        let b = vec![vec![1.0, 1.0, 0.0, 1.0], vec![0.0, 2.0, -1.0, 1.0]];
        let d = vec![1.0, -0.5];
        let bbt = [
            [3.0, 3.0], // rows dotted
            [3.0, 6.0],
        ];
        let ba: Vec<f64> = b
            .iter()
            .map(|row| row.iter().zip(&a).map(|(r, a)| r * a).sum())
            .collect();
        let rhs = [ba[0] - d[0], ba[1] - d[1]];
        let det = bbt[0][0] * bbt[1][1] - bbt[0][1] * bbt[1][0];
        let exact = [
            (bbt[1][1] * rhs[0] - bbt[0][1] * rhs[1]) / det,
            (-bbt[1][0] * rhs[0] + bbt[0][0] * rhs[1]) / det,
        ];
        let x_exact: Vec<f64> = (0..4)
            .map(|k| a[k] - b[0][k] * exact[0] - b[1][k] * exact[1])
            .collect();
        // Scales 1 and 1/2: the method's lambda_i are l_i / s_i.
        let scales = [1.0, 0.5];
        let mut problem = Quadratic {
            a: a.clone(),
            b,
            d,
            x: Vec::new(),
        };
        let mut x = vec![0.0; 4];
        let settings = AlmSettings {
            lr: 1e-2,
            epochs: 20_000,
            mu: 1.0,
            mu_max: 100.0,
            every: 200,
            growth: 2.0,
            adaptive: false,
        };
        let outcome = minimize(&mut x, &scales, &settings, &mut problem, |_| {}).unwrap();
        assert!(
            outcome.epochs < settings.epochs,
            "no KKT point in {} epochs",
            outcome.epochs
        );
        for i in 0..2 {
            let l = scales[i] * outcome.multipliers[i];
            assert!(
                (l - exact[i]).abs() < 1e-8 * exact[i].abs().max(1.0),
                "multiplier {i}: {l} vs {}",
                exact[i]
            );
        }
        for k in 0..4 {
            assert!(
                (x[k] - x_exact[k]).abs() < 1e-8,
                "x{k}: {} vs {}",
                x[k],
                x_exact[k]
            );
        }
    }

    #[test]
    fn a_non_finite_constraint_is_reported_with_its_index() {
        struct Bad;
        impl ConstrainedObjective for Bad {
            type Error = ();
            fn evaluate(&mut self, x: &[f64], c: &mut [f64]) -> Result<f64, ()> {
                c[0] = x[0];
                c[1] = f64::NAN;
                Ok(0.0)
            }
            fn gradient(&mut self, _: &[f64], g: &mut [f64]) {
                g.fill(0.0);
            }
        }
        let settings = AlmSettings {
            lr: 1e-3,
            epochs: 10,
            mu: 1.0,
            mu_max: 1.0,
            every: 1,
            growth: 1.0,
            adaptive: false,
        };
        let err = minimize(&mut [1.0], &[1.0, 1.0], &settings, &mut Bad, |_| {}).unwrap_err();
        assert!(matches!(
            err,
            AlmError::NotFinite {
                epoch: 1,
                constraint: Some(1)
            }
        ));
    }
}
