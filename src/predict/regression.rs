//! Sliding-window least squares kept as running sums: O(1) per sample.
//!
//! One window holds points `(t, i, y)`: time, a second regressor (the running
//! integral of `y` for the Newton model, unused by the plain trend) and the
//! value. From the same sums it fits
//! - `y = ȳ + β (t − t̄)` (linear trend, [`LinearFit`]) and
//! - `y = ȳ + a (t − t̄) + b (i − ī)` ([`PlaneFit`]).
//!
//! [`MultiWindow`] does the same for K regressors (the load-aware model's
//! time, ∫T dt and ∫u dt) and fits them with a Gaussian prior on the
//! coefficients (ridge, [`MultiWindow::ridge`]).
//!
//! Sums are taken relative to an origin that is moved to the oldest point and
//! recomputed from the buffer every `len` pushes (amortised O(1)), so they do not
//! drift or lose precision on long runs.

use std::collections::VecDeque;

/// One observation in a regression window.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    /// Time, seconds.
    pub t: f64,
    /// Second regressor (e.g. ∫y dt); 0 when unused.
    pub i: f64,
    /// Observed value.
    pub y: f64,
}

#[derive(Debug, Clone, Copy, Default)]
struct Sums {
    n: f64,
    s1: f64,
    s2: f64,
    sy: f64,
    s11: f64,
    s12: f64,
    s22: f64,
    s1y: f64,
    s2y: f64,
    syy: f64,
}

impl Sums {
    fn apply(&mut self, x1: f64, x2: f64, y: f64, sign: f64) {
        self.n += sign;
        self.s1 += sign * x1;
        self.s2 += sign * x2;
        self.sy += sign * y;
        self.s11 += sign * x1 * x1;
        self.s12 += sign * x1 * x2;
        self.s22 += sign * x2 * x2;
        self.s1y += sign * x1 * y;
        self.s2y += sign * x2 * y;
        self.syy += sign * y * y;
    }
}

/// Straight-line fit `y = y_mean + slope·(t − t_mean)` with its uncertainty.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LinearFit {
    pub n: usize,
    pub t_mean: f64,
    pub y_mean: f64,
    /// Σ(t − t̄)².
    pub stt: f64,
    pub slope: f64,
    /// Standard error of the slope.
    pub se_slope: f64,
    /// Residual standard deviation.
    pub sigma: f64,
}

impl LinearFit {
    /// Fitted value at time `t`.
    pub fn at(&self, t: f64) -> f64 {
        self.y_mean + self.slope * (t - self.t_mean)
    }

    /// Standard deviation of the time at which the line reaches a level, for a
    /// crossing predicted at absolute time `t_hit` (classic inverse prediction:
    /// σ/|β| · sqrt(1/n + (`t_hit` − t̄)²/Stt)).
    pub fn sd_of_crossing_time(&self, t_hit: f64) -> f64 {
        let n = self.n as f64;
        let d = t_hit - self.t_mean;
        (self.sigma / self.slope.abs()) * (1.0 / n + d * d / self.stt).sqrt()
    }
}

/// Two-regressor fit `y = y_mean + a·(t − t_mean) + b·(i − i_mean)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PlaneFit {
    pub n: usize,
    pub t_mean: f64,
    pub i_mean: f64,
    pub y_mean: f64,
    pub a: f64,
    pub b: f64,
    /// Covariance of (a, b): [[var a, cov], [cov, var b]].
    pub cov: [[f64; 2]; 2],
    pub sigma: f64,
}

impl PlaneFit {
    /// Fitted value at a point `(t, i)`.
    pub fn at(&self, t: f64, i: f64) -> f64 {
        self.y_mean + self.a * (t - self.t_mean) + self.b * (i - self.i_mean)
    }
}

/// A time-bounded window of points with running sums.
#[derive(Debug, Clone)]
pub struct Window {
    buf: VecDeque<Point>,
    span_s: f64,
    max_points: usize,
    origin_t: f64,
    origin_i: f64,
    sums: Sums,
    since_rebase: usize,
}

impl Window {
    /// A window keeping points newer than `span_s` seconds before the latest one,
    /// and at most `max_points` of them.
    pub fn new(span_s: f64, max_points: usize) -> Self {
        Window {
            buf: VecDeque::new(),
            span_s,
            max_points: max_points.max(3),
            origin_t: 0.0,
            origin_i: 0.0,
            sums: Sums::default(),
            since_rebase: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.buf.len()
    }

    pub fn clear(&mut self) {
        self.buf.clear();
        self.sums = Sums::default();
        self.since_rebase = 0;
    }

    pub fn last(&self) -> Option<&Point> {
        self.buf.back()
    }

    /// Time covered by the window, seconds.
    pub fn span(&self) -> f64 {
        match (self.buf.front(), self.buf.back()) {
            (Some(a), Some(b)) => b.t - a.t,
            _ => 0.0,
        }
    }

    /// Adds a point (times must not decrease) and evicts the ones that fell out.
    pub fn push(&mut self, p: Point) {
        if self.buf.is_empty() {
            self.origin_t = p.t;
            self.origin_i = p.i;
            self.sums = Sums::default();
            self.since_rebase = 0;
        }
        self.sums
            .apply(p.t - self.origin_t, p.i - self.origin_i, p.y, 1.0);
        self.buf.push_back(p);
        let cutoff = p.t - self.span_s;
        while let Some(front) = self.buf.front().copied() {
            if front.t < cutoff || self.buf.len() > self.max_points {
                self.sums.apply(
                    front.t - self.origin_t,
                    front.i - self.origin_i,
                    front.y,
                    -1.0,
                );
                self.buf.pop_front();
            } else {
                break;
            }
        }
        self.since_rebase += 1;
        if self.since_rebase >= self.buf.len().max(64) {
            self.rebase();
        }
    }

    fn rebase(&mut self) {
        self.since_rebase = 0;
        let Some(front) = self.buf.front().copied() else {
            return;
        };
        self.origin_t = front.t;
        self.origin_i = front.i;
        let mut s = Sums::default();
        for p in &self.buf {
            s.apply(p.t - self.origin_t, p.i - self.origin_i, p.y, 1.0);
        }
        self.sums = s;
    }

    /// Ordinary least squares of y on t; `None` with fewer than 3 points or no
    /// spread in time.
    pub fn linear(&self) -> Option<LinearFit> {
        let s = &self.sums;
        if self.buf.len() < 3 {
            return None;
        }
        let n = s.n;
        let stt = s.s11 - s.s1 * s.s1 / n;
        if stt <= 1e-12 {
            return None;
        }
        let sty = s.s1y - s.s1 * s.sy / n;
        let syy = (s.syy - s.sy * s.sy / n).max(0.0);
        let slope = sty / stt;
        let sse = (syy - slope * sty).max(0.0);
        let sigma = (sse / (n - 2.0)).sqrt();
        Some(LinearFit {
            n: self.buf.len(),
            t_mean: self.origin_t + s.s1 / n,
            y_mean: s.sy / n,
            stt,
            slope,
            se_slope: sigma / stt.sqrt(),
            sigma,
        })
    }

    /// Least squares of y on (t, i) with intercept; `None` with fewer than 5
    /// points or when t and i are (numerically) collinear.
    pub fn plane(&self) -> Option<PlaneFit> {
        let s = &self.sums;
        if self.buf.len() < 5 {
            return None;
        }
        let n = s.n;
        let c11 = s.s11 - s.s1 * s.s1 / n;
        let c12 = s.s12 - s.s1 * s.s2 / n;
        let c22 = s.s22 - s.s2 * s.s2 / n;
        let c1y = s.s1y - s.s1 * s.sy / n;
        let c2y = s.s2y - s.s2 * s.sy / n;
        let cyy = (s.syy - s.sy * s.sy / n).max(0.0);
        if c11 <= 1e-12 || c22 <= 1e-12 {
            return None;
        }
        let det = c11 * c22 - c12 * c12;
        if det <= 1e-12 * c11 * c22 {
            return None;
        }
        let a = (c22 * c1y - c12 * c2y) / det;
        let b = (c11 * c2y - c12 * c1y) / det;
        let sse = (cyy - a * c1y - b * c2y).max(0.0);
        let sigma2 = sse / (n - 3.0);
        let k = sigma2 / det;
        Some(PlaneFit {
            n: self.buf.len(),
            t_mean: self.origin_t + s.s1 / n,
            i_mean: self.origin_i + s.s2 / n,
            y_mean: s.sy / n,
            a,
            b,
            cov: [[k * c22, -k * c12], [-k * c12, k * c11]],
            sigma: sigma2.sqrt(),
        })
    }
}

/// K-regressor running sums relative to an origin.
#[derive(Debug, Clone, Copy)]
struct MultiSums<const K: usize> {
    n: f64,
    sx: [f64; K],
    sxx: [[f64; K]; K],
    sxy: [f64; K],
    sy: f64,
    syy: f64,
}

impl<const K: usize> Default for MultiSums<K> {
    fn default() -> Self {
        MultiSums {
            n: 0.0,
            sx: [0.0; K],
            sxx: [[0.0; K]; K],
            sxy: [0.0; K],
            sy: 0.0,
            syy: 0.0,
        }
    }
}

impl<const K: usize> MultiSums<K> {
    fn apply(&mut self, x: &[f64; K], y: f64, sign: f64) {
        self.n += sign;
        self.sy += sign * y;
        self.syy += sign * y * y;
        for j in 0..K {
            self.sx[j] += sign * x[j];
            self.sxy[j] += sign * x[j] * y;
            for k in 0..K {
                self.sxx[j][k] += sign * x[j] * x[k];
            }
        }
    }
}

/// A ridge fit `y = ȳ + Σ βⱼ (xⱼ − x̄ⱼ)` with the posterior covariance of β.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MultiFit<const K: usize> {
    pub n: usize,
    /// Mean of each regressor (absolute, not relative to the origin).
    pub x_mean: [f64; K],
    pub y_mean: f64,
    pub beta: [f64; K],
    pub cov: [[f64; K]; K],
    /// Residual standard deviation.
    pub sigma: f64,
}

impl<const K: usize> MultiFit<K> {
    /// Fitted value at a point.
    pub fn at(&self, x: &[f64; K]) -> f64 {
        self.y_mean
            + (0..K)
                .map(|j| self.beta[j] * (x[j] - self.x_mean[j]))
                .sum::<f64>()
    }
}

/// A time-bounded window of K-regressor points (`x[0]` is the time) with
/// running sums: O(K²) per push, amortised.
#[derive(Debug, Clone)]
pub struct MultiWindow<const K: usize> {
    buf: VecDeque<([f64; K], f64)>,
    span_s: f64,
    max_points: usize,
    origin: [f64; K],
    sums: MultiSums<K>,
    since_rebase: usize,
}

impl<const K: usize> MultiWindow<K> {
    pub fn new(span_s: f64, max_points: usize) -> Self {
        MultiWindow {
            buf: VecDeque::new(),
            span_s,
            max_points: max_points.max(K + 2),
            origin: [0.0; K],
            sums: MultiSums::default(),
            since_rebase: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.buf.len()
    }

    pub fn clear(&mut self) {
        self.buf.clear();
        self.sums = MultiSums::default();
        self.since_rebase = 0;
    }

    /// Time covered, seconds.
    pub fn span(&self) -> f64 {
        match (self.buf.front(), self.buf.back()) {
            (Some(a), Some(b)) => b.0[0] - a.0[0],
            _ => 0.0,
        }
    }

    fn rel(&self, x: &[f64; K]) -> [f64; K] {
        std::array::from_fn(|j| x[j] - self.origin[j])
    }

    /// Adds a point (times must not decrease), evicting those that fell out.
    pub fn push(&mut self, x: [f64; K], y: f64) {
        if self.buf.is_empty() {
            self.origin = x;
            self.sums = MultiSums::default();
            self.since_rebase = 0;
        }
        let r = self.rel(&x);
        self.sums.apply(&r, y, 1.0);
        self.buf.push_back((x, y));
        let cutoff = x[0] - self.span_s;
        while let Some(&(fx, fy)) = self.buf.front() {
            if fx[0] < cutoff || self.buf.len() > self.max_points {
                let r = self.rel(&fx);
                self.sums.apply(&r, fy, -1.0);
                self.buf.pop_front();
            } else {
                break;
            }
        }
        self.since_rebase += 1;
        if self.since_rebase >= self.buf.len().max(64) {
            self.since_rebase = 0;
            if let Some(&(fx, _)) = self.buf.front() {
                self.origin = fx;
                let mut s = MultiSums::default();
                for (x, y) in &self.buf {
                    s.apply(&self.rel(x), *y, 1.0);
                }
                self.sums = s;
            }
        }
    }

    /// Least squares with a Gaussian prior on each coefficient: `prior[j] =
    /// Some((mean, sd))`, `None` = flat. The prior's weight against the data
    /// is σ²/sd², σ² the residual variance (at least `sigma_floor`²),
    /// estimated from a first solve and refitted once. `None` with fewer than
    /// K + 2 points or a singular system.
    #[expect(
        clippy::needless_range_loop,
        reason = "matrix indices, as in the normal equations"
    )]
    pub fn ridge(&self, prior: &[Option<(f64, f64)>; K], sigma_floor: f64) -> Option<MultiFit<K>> {
        let s = &self.sums;
        if self.buf.len() < K + 2 {
            return None;
        }
        let n = s.n;
        let mut c = [[0.0; K]; K];
        let mut r = [0.0; K];
        for j in 0..K {
            r[j] = s.sxy[j] - s.sx[j] * s.sy / n;
            for k in 0..K {
                c[j][k] = s.sxx[j][k] - s.sx[j] * s.sx[k] / n;
            }
        }
        let cyy = (s.syy - s.sy * s.sy / n).max(0.0);
        let floor2 = sigma_floor.max(1e-9).powi(2);
        let solve = |sigma2: f64| -> Option<([f64; K], [[f64; K]; K], f64)> {
            let mut a = c;
            let mut rhs = r;
            for j in 0..K {
                if let Some((m, sd)) = prior[j] {
                    let lam = sigma2 / (sd * sd).max(1e-300);
                    a[j][j] += lam;
                    rhs[j] += lam * m;
                }
            }
            let inv = invert(&a)?;
            let beta: [f64; K] = std::array::from_fn(|j| (0..K).map(|k| inv[j][k] * rhs[k]).sum());
            // SSE of the centred model: Syy − 2βᵀr + βᵀCβ.
            let mut sse = cyy;
            for j in 0..K {
                sse -= 2.0 * beta[j] * r[j];
                for k in 0..K {
                    sse += beta[j] * c[j][k] * beta[k];
                }
            }
            Some((beta, inv, sse.max(0.0)))
        };
        let dof = (n - K as f64 - 1.0).max(1.0);
        let (_, _, sse0) = solve(floor2)?;
        let sigma2 = (sse0 / dof).max(floor2);
        let (beta, inv, sse) = solve(sigma2)?;
        let sigma2 = (sse / dof).max(floor2);
        let cov = std::array::from_fn(|j| std::array::from_fn(|k| sigma2 * inv[j][k]));
        Some(MultiFit {
            n: self.buf.len(),
            x_mean: std::array::from_fn(|j| self.origin[j] + s.sx[j] / n),
            y_mean: s.sy / n,
            beta,
            cov,
            sigma: sigma2.sqrt(),
        })
    }
}

/// Inverse of a symmetric positive (semi)definite matrix by Gauss–Jordan on
/// the Jacobi-scaled system (unit diagonal), so regressors of very different
/// size (seconds and °C·s) do not lose precision. `None` when singular.
fn invert<const K: usize>(a: &[[f64; K]; K]) -> Option<[[f64; K]; K]> {
    let d: [f64; K] = std::array::from_fn(|j| {
        let v = a[j][j];
        if v > 0.0 {
            1.0 / v.sqrt()
        } else {
            0.0
        }
    });
    if d.contains(&0.0) {
        return None;
    }
    let mut m: [[f64; K]; K] =
        std::array::from_fn(|j| std::array::from_fn(|k| a[j][k] * d[j] * d[k]));
    let mut inv: [[f64; K]; K] =
        std::array::from_fn(|j| std::array::from_fn(|k| f64::from(u8::from(j == k))));
    for col in 0..K {
        let piv = (col..K).max_by(|&x, &y| m[x][col].abs().total_cmp(&m[y][col].abs()))?;
        if m[piv][col].abs() < 1e-12 {
            return None;
        }
        m.swap(col, piv);
        inv.swap(col, piv);
        let p = m[col][col];
        for k in 0..K {
            m[col][k] /= p;
            inv[col][k] /= p;
        }
        for row in 0..K {
            if row != col {
                let f = m[row][col];
                if f != 0.0 {
                    for k in 0..K {
                        m[row][k] -= f * m[col][k];
                        inv[row][k] -= f * inv[col][k];
                    }
                }
            }
        }
    }
    Some(std::array::from_fn(|j| {
        std::array::from_fn(|k| inv[j][k] * d[j] * d[k])
    }))
}

/// Least-squares slope of y over x for a batch of points (not windowed):
/// `None` with fewer than 2 points or no spread in x.
pub fn ols_slope<I>(points: I) -> Option<f64>
where
    I: IntoIterator<Item = (f64, f64)>,
    I::IntoIter: Clone,
{
    let it = points.into_iter();
    let (n, sx, sy) = it.clone().fold((0usize, 0.0, 0.0), |(n, sx, sy), (x, y)| {
        (n + 1, sx + x, sy + y)
    });
    if n < 2 {
        return None;
    }
    let (mx, my) = (sx / n as f64, sy / n as f64);
    let (sxy, sxx) = it.fold((0.0, 0.0), |(sxy, sxx), (x, y)| {
        (sxy + (x - mx) * (y - my), sxx + (x - mx) * (x - mx))
    });
    (sxx > 0.0).then(|| sxy / sxx)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_slope_is_exact_on_a_line_and_says_none_without_spread() {
        let line = [(0.0, 1.0), (1.0, 3.0), (2.0, 5.0), (4.0, 9.0)];
        assert!((ols_slope(line).unwrap() - 2.0).abs() < 1e-12);
        assert_eq!(ols_slope([(1.0, 2.0)]), None);
        assert_eq!(ols_slope([(1.0, 2.0), (1.0, 5.0)]), None);
    }

    fn brute_linear(pts: &[(f64, f64)]) -> (f64, f64) {
        let n = pts.len() as f64;
        let mt = pts.iter().map(|p| p.0).sum::<f64>() / n;
        let my = pts.iter().map(|p| p.1).sum::<f64>() / n;
        let stt: f64 = pts.iter().map(|p| (p.0 - mt).powi(2)).sum();
        let sty: f64 = pts.iter().map(|p| (p.0 - mt) * (p.1 - my)).sum();
        (sty / stt, my)
    }

    #[test]
    fn running_sums_match_brute_force_after_eviction_and_rebase() {
        let mut w = Window::new(30.0, 10_000);
        let mut all = Vec::new();
        // Large absolute times to exercise the origin shift.
        for k in 0..500 {
            let t = 1.0e6 + f64::from(k) * 0.7;
            let y = 40.0 + 0.05 * f64::from(k) + (f64::from(k * 37 % 11) - 5.0) * 0.1;
            w.push(Point { t, i: 0.0, y });
            all.push((t, y));
        }
        let t_last = all.last().unwrap().0;
        let kept: Vec<_> = all
            .iter()
            .copied()
            .filter(|p| p.0 >= t_last - 30.0)
            .collect();
        assert_eq!(w.len(), kept.len());
        let fit = w.linear().unwrap();
        let (slope, my) = brute_linear(&kept);
        assert!(
            (fit.slope - slope).abs() < 1e-9,
            "{} vs {}",
            fit.slope,
            slope
        );
        assert!((fit.y_mean - my).abs() < 1e-9);
    }

    #[test]
    fn exact_line_has_zero_error() {
        let mut w = Window::new(1000.0, 1000);
        for k in 0..20 {
            let t = f64::from(k);
            w.push(Point {
                t,
                i: 0.0,
                y: 3.0 + 0.5 * t,
            });
        }
        let f = w.linear().unwrap();
        assert!((f.slope - 0.5).abs() < 1e-12);
        assert!(f.se_slope < 1e-6);
        assert!((f.at(100.0) - 53.0).abs() < 1e-9);
    }

    #[test]
    fn plane_recovers_known_coefficients() {
        let mut w = Window::new(1000.0, 1000);
        for k in 0..50 {
            let t = f64::from(k);
            let i = (t * 0.3).sin() * 10.0 + t * t * 0.01;
            w.push(Point {
                t,
                i,
                y: 1.0 + 2.0 * t - 0.25 * i,
            });
        }
        let f = w.plane().unwrap();
        assert!((f.a - 2.0).abs() < 1e-8, "a = {}", f.a);
        assert!((f.b + 0.25).abs() < 1e-8, "b = {}", f.b);
    }

    /// Known answer: with flat priors the ridge fit is plain least squares
    /// (y = 1 + 2x₀ − 0.5x₁ + 3x₂ exactly); a tight prior on a coefficient
    /// that the data cannot see (x₂ ≡ x₀) holds it at the prior mean.
    #[test]
    fn ridge_is_least_squares_without_priors_and_the_prior_without_data() {
        let mut w = MultiWindow::<3>::new(1000.0, 1000);
        for k in 0..60 {
            let t = f64::from(k);
            let x = [
                t,
                (t * 0.2).sin() * 5.0,
                (t * 0.07).cos() * 3.0 + t * t * 0.01,
            ];
            w.push(x, 1.0 + 2.0 * x[0] - 0.5 * x[1] + 3.0 * x[2]);
        }
        let f = w.ridge(&[None, None, None], 1e-6).unwrap();
        for (got, want) in f.beta.iter().zip([2.0, -0.5, 3.0]) {
            assert!((got - want).abs() < 1e-6, "{:?}", f.beta);
        }
        assert!((f.at(&[10.0, 0.0, 0.0]) - 21.0).abs() < 1e-6);
        let mut c = MultiWindow::<3>::new(1000.0, 1000);
        for k in 0..60 {
            let t = f64::from(k);
            let x1 = (t * 0.2).sin();
            c.push([t, x1, t], 4.0 + 1.0 * t + 2.0 * x1);
        }
        assert!(c.ridge(&[None, None, None], 1e-6).is_none());
        let f = c.ridge(&[None, None, Some((0.25, 1e-6))], 1e-3).unwrap();
        assert!((f.beta[2] - 0.25).abs() < 1e-6, "{:?}", f.beta);
        assert!((f.beta[0] - 0.75).abs() < 1e-6, "{:?}", f.beta);
        assert!((f.beta[1] - 2.0).abs() < 1e-6, "{:?}", f.beta);
    }

    #[test]
    fn too_few_points_give_no_fit() {
        let mut w = Window::new(10.0, 100);
        w.push(Point {
            t: 0.0,
            i: 0.0,
            y: 1.0,
        });
        w.push(Point {
            t: 1.0,
            i: 0.0,
            y: 2.0,
        });
        assert!(w.linear().is_none());
        assert!(w.plane().is_none());
    }
}
