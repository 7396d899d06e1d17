//! Central finite-difference stencils, with weights computed by Fornberg's
//! algorithm (B. Fornberg, "Generation of finite difference formulas on
//! arbitrarily spaced grids", Math. Comp. 51, 1988) rather than tabulated.

/// A one-dimensional stencil for the m-th derivative with step h:
/// `f^(m)(x) ~ sum_j weights[j] * f(x + offsets[j] * h) / h^m`.
#[derive(Clone, Debug, PartialEq)]
pub struct Stencil {
    /// Derivative order m.
    pub derivative: u32,
    /// Accuracy order (the error is O(h^accuracy)).
    pub accuracy: u32,
    /// Integer node offsets, ascending.
    pub offsets: Vec<i32>,
    /// Weights for unit step (divide by h^m); zero weights are kept so that
    /// printed stencils show the full node set.
    pub weights: Vec<f64>,
}

impl Stencil {
    /// The central stencil for derivative `m` with accuracy order `p` (even):
    /// nodes -r..=r with r = floor((m + 1) / 2) - 1 + p / 2.
    pub fn central(m: u32, p: u32) -> Stencil {
        let r = (m as i32 + 1) / 2 - 1 + p as i32 / 2;
        let offsets: Vec<i32> = (-r..=r).collect();
        let nodes: Vec<f64> = offsets.iter().map(|&o| f64::from(o)).collect();
        let weights = fornberg(0.0, &nodes, m as usize);
        // Round-off in the recursion leaves ~1e-16 residue where the exact
        // weight is 0 (e.g. the centre of a first-derivative stencil).
        let weights = weights
            .into_iter()
            .map(|w| if w.abs() < 1e-13 { 0.0 } else { w })
            .collect();
        Stencil {
            derivative: m,
            accuracy: p,
            offsets,
            weights,
        }
    }
}

/// Weights c_j such that f^(m)(z) ~ sum_j c_j f(x_j), for the nodes `x`
/// (Fornberg 1988, the single-derivative form of the recursion).
pub fn fornberg(z: f64, x: &[f64], m: usize) -> Vec<f64> {
    let n = x.len();
    // c[j][k]: weight of node j for derivative k
    let mut c = vec![vec![0.0f64; m + 1]; n];
    if n == 0 {
        return Vec::new();
    }
    let mut c1 = 1.0;
    let mut c4 = x[0] - z;
    c[0][0] = 1.0;
    for i in 1..n {
        let mn = i.min(m);
        let mut c2 = 1.0;
        let c5 = c4;
        c4 = x[i] - z;
        for j in 0..i {
            let c3 = x[i] - x[j];
            c2 *= c3;
            if j == i - 1 {
                for k in (1..=mn).rev() {
                    c[i][k] = c1 * (k as f64 * c[i - 1][k - 1] - c5 * c[i - 1][k]) / c2;
                }
                c[i][0] = -c1 * c5 * c[i - 1][0] / c2;
            }
            for k in (1..=mn).rev() {
                c[j][k] = (c4 * c[j][k] - k as f64 * c[j][k - 1]) / c3;
            }
            c[j][0] = c4 * c[j][0] / c3;
        }
        c1 = c2;
    }
    c.into_iter().map(|row| row[m]).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: &[f64], b: &[f64]) -> bool {
        a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-12)
    }

    #[test]
    fn textbook_stencils() {
        assert!(close(&Stencil::central(1, 2).weights, &[-0.5, 0.0, 0.5]));
        assert!(close(&Stencil::central(2, 2).weights, &[1.0, -2.0, 1.0]));
        assert!(close(
            &Stencil::central(1, 4).weights,
            &[1.0 / 12.0, -2.0 / 3.0, 0.0, 2.0 / 3.0, -1.0 / 12.0]
        ));
        assert!(close(
            &Stencil::central(2, 4).weights,
            &[-1.0 / 12.0, 4.0 / 3.0, -5.0 / 2.0, 4.0 / 3.0, -1.0 / 12.0]
        ));
        assert!(close(
            &Stencil::central(4, 2).weights,
            &[1.0, -4.0, 6.0, -4.0, 1.0]
        ));
        assert!(close(
            &Stencil::central(3, 2).weights,
            &[-0.5, 1.0, 0.0, -1.0, 0.5]
        ));
    }

    #[test]
    fn stencils_converge_at_their_order() {
        // f = sin: derivatives cycle through cos, -sin, -cos, sin.
        let exact = |m: u32, x: f64| match m % 4 {
            0 => x.sin(),
            1 => x.cos(),
            2 => -x.sin(),
            _ => -x.cos(),
        };
        for m in 1..=4 {
            for p in [2, 4] {
                let s = Stencil::central(m, p);
                let x0 = 0.7;
                let err = |h: f64| {
                    let approx: f64 = s
                        .offsets
                        .iter()
                        .zip(&s.weights)
                        .map(|(&o, &w)| w * (x0 + f64::from(o) * h).sin())
                        .sum::<f64>()
                        / h.powi(m as i32);
                    (approx - exact(m, x0)).abs()
                };
                let (h1, h2) = (0.1, 0.05);
                let observed = (err(h1) / err(h2)).log2();
                assert!(
                    (observed - f64::from(p)).abs() < 0.3,
                    "m={m} p={p}: observed order {observed}"
                );
            }
        }
    }
}
