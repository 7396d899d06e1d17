//! `diff stein` at lowering time: the estimators a deep network's output
//! jets are replaced with (the estimation itself runs in `train::stein`).

use std::fmt::Write as _;

use super::mlp::{JetComponent, MlpPlan, SteinPlan};
use super::LowerError;

/// Checks that every residual's jet is of order at most 2 and writes the
/// estimator to the `sym` text.
pub fn plan(plan: &MlpPlan, stein: SteinPlan, sym: &mut String) -> Result<SteinPlan, LowerError> {
    for r in &plan.residuals {
        for c in &plan.rules[r.rule].components {
            if let JetComponent::Partial(alpha) = c {
                if alpha.iter().map(|&n| u32::from(n)).sum::<u32>() > 2 {
                    return Err(LowerError::Unsupported(format!(
                        "`diff stein` for the derivative of order {} in {} (Stein estimators go up to second derivatives)",
                        alpha.iter().map(|&n| u32::from(n)).sum::<u32>(),
                        r.name
                    )));
                }
            }
        }
    }
    let s = stein.sigma;
    let _ = writeln!(
        sym,
        "stein estimators (delta ~ N(0, {s}^2 I) per point, redrawn every epoch; {} ):",
        if stein.antithetic {
            format!("{} antithetic pairs and f(x)", stein.samples)
        } else {
            format!("{} samples", stein.samples)
        }
    );
    if stein.antithetic {
        let _ = writeln!(sym, "  u       = mean (f(x+delta) + f(x-delta))/2");
        let _ = writeln!(
            sym,
            "  d_j u   = mean delta_j (f(x+delta) - f(x-delta)) / (2 sigma^2)"
        );
        let _ = writeln!(sym, "  d_jk u  = mean (delta_j delta_k - sigma^2 [j=k]) (f(x+delta) + f(x-delta) - 2 f(x)) / (2 sigma^4)");
        let _ = writeln!(sym, "  lap u   = mean (|delta|^2 - d sigma^2) (f(x+delta) + f(x-delta) - 2 f(x)) / (2 sigma^4)");
    } else {
        let _ = writeln!(sym, "  u       = mean f(x+delta)");
        let _ = writeln!(sym, "  d_j u   = mean delta_j f(x+delta) / sigma^2");
        let _ = writeln!(
            sym,
            "  d_jk u  = mean (delta_j delta_k - sigma^2 [j=k]) f(x+delta) / sigma^4"
        );
        let _ = writeln!(
            sym,
            "  lap u   = mean (|delta|^2 - d sigma^2) f(x+delta) / sigma^4"
        );
    }
    Ok(stein)
}
