//! Fast explicit diffusion: the step sizes of one cycle and their order.

/// The n step sizes of a FED cycle for the explicit bound `tau_max`:
/// `tau_i = tau_max / (2 cos^2(pi (2i + 1) / (4n + 2)))`, i = 0..n-1, whose
/// sum is `tau_max n (n + 1) / 3`. In increasing order.
pub fn steps(n: usize, tau_max: f64) -> Vec<f64> {
    (0..n)
        .map(|i| {
            let c = (std::f64::consts::PI * (2 * i + 1) as f64 / (4 * n + 2) as f64).cos();
            tau_max / (2.0 * c * c)
        })
        .collect()
}

/// The number of steps n a cycle of length `length` needs with the explicit
/// bound `tau_max`: the smallest n with `tau_max n (n + 1) / 3 >= length`.
pub fn steps_for(length: f64, tau_max: f64) -> usize {
    let target = 3.0 * length / tau_max;
    // n (n + 1) >= target
    let mut n = (((1.0 + 4.0 * target).sqrt() - 1.0) / 2.0).ceil().max(1.0) as usize;
    while n > 1 && ((n - 1) * n) as f64 >= target {
        n -= 1;
    }
    while ((n * (n + 1)) as f64) < target {
        n += 1;
    }
    n
}

/// Orders the steps by a Leja ordering of the roots `1/tau_i` of the
/// cycle's stability polynomial `prod_i (1 - tau_i lambda)`: first the
/// largest root, then each time the root farthest (in the product of
/// distances) from those already taken. The partial products stay
/// bounded, so rounding errors are not amplified inside a cycle (in
/// increasing order they are, by up to ~1e20 for 77 steps).
pub fn leja_order(taus: &[f64]) -> Vec<f64> {
    let roots: Vec<f64> = taus.iter().map(|t| 1.0 / t).collect();
    let n = roots.len();
    let mut taken = vec![false; n];
    let mut order = Vec::with_capacity(n);
    // log of the product of distances to the taken roots
    let mut score = vec![0.0f64; n];
    let first = (0..n)
        .max_by(|&a, &b| roots[a].abs().total_cmp(&roots[b].abs()))
        .unwrap_or(0);
    let mut next = first;
    for _ in 0..n {
        taken[next] = true;
        order.push(taus[next]);
        for j in 0..n {
            if !taken[j] {
                score[j] += (roots[j] - roots[next]).abs().ln();
            }
        }
        if let Some(j) = (0..n)
            .filter(|&j| !taken[j])
            .max_by(|&a, &b| score[a].total_cmp(&score[b]))
        {
            next = j;
        }
    }
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cycle_advances_by_tau_max_n_n_plus_1_over_3() {
        for n in [1, 2, 5, 77] {
            let sum: f64 = steps(n, 0.3).iter().sum();
            let expected = 0.3 * (n * (n + 1)) as f64 / 3.0;
            assert!((sum - expected).abs() < 1e-10 * expected, "n = {n}");
        }
        assert_eq!(steps_for(1.0, 3.0 / 12.0), 3); // 12 = 3*4
        assert_eq!(steps_for(1.0 + 1e-9, 3.0 / 12.0), 4);
    }

    #[test]
    fn leja_order_is_a_permutation() {
        let taus = steps(30, 1.0);
        let mut ordered = leja_order(&taus);
        ordered.sort_by(f64::total_cmp);
        assert_eq!(ordered, taus);
    }
}
