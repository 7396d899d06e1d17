//! A scheme printed as the network it is (`pdec emit --stage network`):
//! the layers of one block (convolution K, activation Phi, transposed
//! convolution K^T, skip connection), the step size of each block and the
//! stability condition each block satisfies.

use std::fmt::Write;

use super::{Boundary, Problem, Scheme, Solver};
use crate::check::fmt_num;

fn stencil_text(weights: &[f64]) -> String {
    let parts: Vec<String> = weights.iter().map(|&w| fmt_num(w)).collect();
    format!("[{}]", parts.join(", "))
}

/// The network view of `p` as text.
pub fn describe(p: &Problem) -> String {
    let op = &p.operator;
    let d = &p.diffusion;
    let mut out = String::new();
    let m = op.order;
    let w = |out: &mut String, key: &str, value: String| {
        let _ = writeln!(out, "{key:<18}{value}");
    };
    w(
        &mut out,
        "scheme",
        format!(
            "{}{}",
            p.scheme.name(),
            if p.scheme == Scheme::Implicit {
                format!(" (solver {})", p.solver.name())
            } else {
                String::new()
            }
        ),
    );
    w(
        &mut out,
        "equation",
        format!(
            "u_t = -(D^{m})^* Phi(D^{m} u), m = {m}, Phi(s) = {}",
            d.flux_text()
        ),
    );
    let boundary = match op.boundary {
        Boundary::Reflecting => "reflecting (mirror images across the walls)".to_string(),
        Boundary::Dirichlet { lo, hi } => {
            format!("dirichlet (u held at {} and {})", fmt_num(lo), fmt_num(hi))
        }
    };
    w(
        &mut out,
        "grid",
        format!(
            "{} values on [{}, {}], h = {}, {} free",
            op.n,
            fmt_num(op.lo),
            fmt_num(op.hi),
            fmt_num(op.h),
            op.free().len()
        ),
    );
    w(&mut out, "boundary", boundary);
    let rows = op.flux_rows().len();
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "block (one explicit step u^(k+1) = u^k - tau_k K^T Phi(K u^k), a ResNet block):"
    );
    w(
        &mut out,
        "  1. conv K",
        format!(
            "weights {} (a {}-point stencil, D^{m} by differences), {} outputs",
            stencil_text(&op.stencil()),
            op.stencil().len(),
            rows
        ),
    );
    let activation = if p.scheme == Scheme::Explicit {
        format!("Phi(s) = {}, elementwise", d.flux_text())
    } else {
        format!(
            "g_j s_j with g_j = Phi(s)/s = {} frozen at the start of the {}",
            d.diffusivity_text(),
            if p.scheme == Scheme::Fed {
                "cycle"
            } else {
                "step"
            }
        )
    };
    w(&mut out, "  2. activation", activation);
    let wall = match (m, op.boundary) {
        (1, _) => "zero flux beyond the first and last rows",
        (_, Boundary::Reflecting) => "mirror images of the first and last rows",
        (_, Boundary::Dirichlet { .. }) => "no rows at the held ends",
    };
    w(
        &mut out,
        "  3. conv^T K^T",
        format!(
            "weights {} (the transposed convolution; {wall})",
            stencil_text(&op.adjoint_stencil())
        ),
    );
    w(
        &mut out,
        "  4. skip",
        "u^(k+1) = u^k - tau_k * (output of 3), on the free values".into(),
    );
    let _ = writeln!(out);
    let slope = &d.slope;
    w(
        &mut out,
        "L",
        format!(
            "sup Phi(s)/s = {} ({})",
            fmt_num(slope.sup),
            if slope.exact {
                "exact: Phi(s)/s is constant".to_string()
            } else {
                format!(
                    "sampled over s = 0 and 1e-12 <= |s| <= 1e12, largest at s = {}",
                    fmt_num(slope.at)
                )
            }
        ),
    );
    w(
        &mut out,
        "||K||^2",
        format!(
            "{} (exact for the stencil and boundary)",
            fmt_num(op.norm_squared())
        ),
    );
    w(
        &mut out,
        "tau_max",
        format!("2 / (L ||K||^2) = {}", fmt_num(p.tau_max)),
    );
    let _ = writeln!(out);
    match p.scheme {
        Scheme::Explicit => {
            let _ = writeln!(
                out,
                "network: {} blocks, each with tau = {} <= tau_max, so each block is \
                 Euclidean-stable: ||u^(k+1)|| <= ||u^k||",
                p.steps,
                fmt_num(p.tau)
            );
        }
        Scheme::Fed => {
            if let Some(plan) = &p.fed {
                let n = plan.steps.len();
                let _ = writeln!(
                    out,
                    "network: {} cycles x {n} blocks = {} blocks (a ResNet with cyclically varying step sizes)",
                    plan.cycles, p.steps
                );
                let _ = writeln!(
                    out,
                    "stability: a cycle's blocks share the frozen activation, so the cycle is the linear map \
                     prod_i (I - tau_i A), A = K^T G K with ||A|| <= L ||K||^2; with \
                     tau_i = tau_bound / (2 cos^2(pi (2i+1)/(4n+2))), tau_bound = {} <= tau_max, \
                     |prod_i (1 - tau_i lambda)| <= 1 on [0, 2/tau_bound]: \
                     ||u|| at a cycle end <= ||u|| at its start (single blocks may exceed tau_max)",
                    fmt_num(plan.tau_bound)
                );
                let _ = writeln!(
                    out,
                    "one cycle advances t by tau_bound n (n+1)/3 = {}",
                    fmt_num(plan.steps.iter().sum::<f64>())
                );
                let _ = writeln!(out, "\nblock  tau_i (Leja order)     tau_i/tau_max");
                for (i, tau) in plan.steps.iter().enumerate() {
                    let _ = writeln!(out, "{i:>5}  {:<22}{:.6}", fmt_num(*tau), tau / p.tau_max);
                }
            }
        }
        Scheme::Implicit => {
            let _ = writeln!(
                out,
                "network: {} steps of (I + tau K^T G(u^k) K) u^(k+1) = u^k, tau = {}; unconditionally \
                 stable: ||u^(k+1)|| <= ||u^k|| for every tau > 0",
                p.steps,
                fmt_num(p.tau)
            );
            let solver = match p.solver {
                Solver::FixedPoint => {
                    "fixed_point: a recurrent network, v^(l+1) = v^l + omega D^-1 (u^k - (I + tau K^T G K) v^l), \
                     the same layer applied until the residual falls below 1e-10 (u^k enters every iteration: \
                     the skip connection)"
                }
                Solver::Cg => "cg: conjugate gradients on the SPD system",
                Solver::Multigrid => {
                    "multigrid: V-cycles, a U-net: Gauss-Seidel smoothing, restriction (the encoder), \
                     a direct coarsest solve, prolongation with skip connections (the decoder)"
                }
            };
            let _ = writeln!(out, "solver: {solver}");
        }
    }
    out
}
