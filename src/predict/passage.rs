//! When a noisy sensor first reads over a level (first passage).
//!
//! A trip fires on the first raw reading at or over it, not when the mean curve
//! gets there. With readings `μ(u) + ε`, ε white Gaussian with sd σ, one sample
//! at time `u` is over the level with probability `p(u) = Q((level − μ(u))/σ)`.
//! The chance that none of the samples up to `t` is over is
//! `exp(−H(t))`, `H(t) = Σ −ln(1 − p(uₖ))` over the future samples. The median
//! first-passage time solves `H(t) = ln 2`; the 5 % and 95 % quantiles solve
//! `H = −ln 0.95` and `H = −ln 0.05`.
//!
//! `H` is integrated on a bounded grid (midpoint rule): one sample interval per
//! step for the first 100 steps, then steps growing with `u` (1 % of it): at
//! most about 650 steps for a 6-h horizon at 1 s. Steps where the mean is
//! more than 8 σ below the level add no hazard and skip the erfc.

/// Past the first steps, each grid step is this fraction of the time ahead.
const GROWTH: f64 = 0.01;

/// First-passage quantiles, seconds from the latest sample: 5 %, median, 95 %.
/// `None` where the level is not reached within the horizon.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Passage {
    pub q05: Option<f64>,
    pub median: Option<f64>,
    pub q95: Option<f64>,
}

/// Upper tail of the standard normal, `Q(x) = P(Z > x)` (erfc, Numerical
/// Recipes' Chebyshev fit: relative error below 1.2e-7 everywhere).
pub fn normal_tail(x: f64) -> f64 {
    let z = x.abs() / std::f64::consts::SQRT_2;
    let t = 1.0 / (1.0 + 0.5 * z);
    let erfc = t
        * (-z * z - 1.265_512_23
            + t * (1.000_023_68
                + t * (0.374_091_96
                    + t * (0.096_784_18
                        + t * (-0.186_288_06
                            + t * (0.278_868_07
                                + t * (-1.135_203_98
                                    + t * (1.488_515_87
                                        + t * (-0.822_152_23 + t * 0.170_872_77)))))))))
            .exp();
    if x >= 0.0 {
        0.5 * erfc
    } else {
        1.0 - 0.5 * erfc
    }
}

/// First-passage quantiles of readings `mean(u) + N(0, σ²)` taken every `dt_s`
/// seconds (`u` = seconds after the latest sample) over `level`, searched up to
/// `horizon_s`. `sigma` must be positive and finite, `dt_s` positive.
pub fn first_passage(
    mean: impl Fn(f64) -> f64,
    sigma: f64,
    level: f64,
    dt_s: f64,
    horizon_s: f64,
) -> Passage {
    const TARGETS: [f64; 3] = [
        0.051_293_294_387_550_53, // −ln 0.95
        std::f64::consts::LN_2,
        2.995_732_273_553_991, // −ln 0.05
    ];
    let mut found = [None; 3];
    let mut next = 0;
    let mut h = 0.0;
    let mut u = 0.0;
    while u < horizon_s && next < TARGETS.len() {
        let step = dt_s.max(u * GROWTH);
        let u2 = u + step;
        let x = (level - mean(u + 0.5 * step)) / sigma;
        // Past 8 σ below the level a sample's chance is under 1e-15: no hazard
        // worth an erfc (most steps of a zone far below its trip).
        let dh = if x > 8.0 {
            0.0
        } else {
            let p = normal_tail(x).min(1.0 - 1e-12);
            // Hazard of the samples in this step, spread evenly over it.
            -(-p).ln_1p() * step / dt_s
        };
        while next < TARGETS.len() && h + dh >= TARGETS[next] {
            found[next] = Some(u + step * (TARGETS[next] - h) / dh);
            next += 1;
        }
        h += dh;
        u = u2;
    }
    let within = |v: Option<f64>| v.filter(|&t| t <= horizon_s);
    Passage {
        q05: within(found[0]),
        median: within(found[1]),
        q95: within(found[2]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_tail_matches_known_values() {
        for (x, q) in [
            (0.0, 0.5),
            (1.0, 0.158_655_253_9),
            (1.644_853_627, 0.05),
            (-1.0, 0.841_344_746_1),
            (3.0, 0.001_349_898_0),
        ] {
            let got = normal_tail(x);
            assert!(
                (got - q).abs() < 2e-7 * q.max(1e-3),
                "Q({x}) = {got}, want {q}"
            );
        }
    }

    /// A flat mean 2σ below the level: each 1-s sample is over with the same p,
    /// so the waiting time is geometric, median ln 2 / −ln(1 − p) samples.
    #[test]
    fn flat_mean_gives_the_geometric_waiting_time() {
        let p = normal_tail(2.0); // mean 2σ below the level
        let pass = first_passage(|_| 0.0, 1.0, 2.0, 1.0, 1e6);
        let want = std::f64::consts::LN_2 / -(-p).ln_1p();
        let got = pass.median.unwrap();
        // A flat mean makes the hazard exactly linear in u, whatever the grid.
        assert!((got - want).abs() < 1e-6 * want, "{got} vs {want}");
        let q95 = 2.995_732_273_553_991 / -(-p).ln_1p();
        assert!((pass.q95.unwrap() - q95).abs() < 1e-6 * q95);
        assert!(pass.q05.unwrap() < got && got < pass.q95.unwrap());
    }

    /// Tiny noise: the first passage is when the mean itself gets there.
    #[test]
    fn vanishing_noise_gives_the_mean_crossing() {
        let pass = first_passage(|u| 40.0 + 0.1 * u, 1e-4, 70.0, 1.0, 6.0 * 3600.0);
        let m = pass.median.unwrap();
        // Within one grid step (1 % of u) of the exact 300 s.
        assert!((m - 300.0).abs() < 3.0, "{m}");
        assert!(pass.q95.unwrap() - pass.q05.unwrap() < 3.0);
    }

    /// Noise makes a rising mean cross earlier, never later.
    #[test]
    fn noise_brings_the_crossing_forward() {
        let quiet = first_passage(|u| 40.0 + 0.01 * u, 1e-3, 45.0, 1.0, 1e5);
        let noisy = first_passage(|u| 40.0 + 0.01 * u, 0.5, 45.0, 1.0, 1e5);
        assert!(noisy.median.unwrap() < quiet.median.unwrap() - 60.0);
    }

    #[test]
    fn level_far_above_a_flat_mean_is_not_reached_within_the_horizon() {
        let pass = first_passage(|_| 50.0, 0.2, 99.0, 1.0, 6.0 * 3600.0);
        assert_eq!(pass.median, None);
        assert_eq!(pass.q05, None);
    }
}
