//! The one latency histogram of the load statistics: 1 µs … 10 min at two
//! significant figures with `u32` counters, made on the first value and
//! freezable into a sparse copy once its scope is over.
//!
//! Sizes, by construction: an unused histogram holds nothing; a live one is
//! one dense array of [`DENSE_COUNTS`] `u32` counters (12 KiB) whatever the
//! request count; a frozen one keeps one `(value, count)` pair per distinct
//! value it saw, and stays dense when that would be larger, so it never
//! exceeds the dense size. Freezing and merging are exact: a value is
//! re-recorded at its bucket's highest equivalent, which lands in the same
//! bucket. Counters saturate (a bucket holds 4 billion requests: three days
//! at 15 000 req/s).

use hdrhistogram::Histogram;

/// Lowest recordable value: 1 µs.
pub const HIST_LOW_US: u64 = 1;
/// Highest recordable value: 10 min in µs (larger values are clamped).
pub const HIST_HIGH_US: u64 = 600_000_000;
/// Significant figures kept by every histogram: values resolve to 1 %.
pub const HIST_SIGFIG: u8 = 2;
/// Counters of a dense histogram at these bounds.
pub const DENSE_COUNTS: usize = 3072;
/// Bytes of a dense histogram's counters.
pub const DENSE_BYTES: usize = DENSE_COUNTS * size_of::<u32>();

type Dense = Histogram<u32>;

/// Most heap bytes one histogram holds: a dense array and its header.
pub const HIST_MAX_BYTES: usize = DENSE_BYTES + size_of::<Dense>();

fn dense() -> Dense {
    Histogram::new_with_bounds(HIST_LOW_US, HIST_HIGH_US, HIST_SIGFIG)
        .expect("static histogram bounds are valid")
}

/// The recorded values of `d` as `(highest equivalent, count)` pairs.
fn sparse(d: &Dense) -> Box<[(u32, u32)]> {
    d.iter_recorded()
        .map(|v| {
            let value = u32::try_from(v.value_iterated_to()).unwrap_or(u32::MAX);
            (value, v.count_at_value())
        })
        .collect()
}

/// The frozen form of a dense histogram: nothing when it is empty, the
/// sparse pairs when they are smaller; `None`: it stays dense.
fn frozen(d: &Dense) -> Option<Repr> {
    let distinct = d.iter_recorded().count();
    if distinct == 0 {
        Some(Repr::Empty)
    } else if distinct * size_of::<(u32, u32)>() < DENSE_BYTES {
        Some(Repr::Sparse(sparse(d)))
    } else {
        None
    }
}

#[derive(Debug, Clone, Default)]
enum Repr {
    #[default]
    Empty,
    Dense(Box<Dense>),
    /// `(highest equivalent value, count)` in ascending value order.
    Sparse(Box<[(u32, u32)]>),
}

/// A latency histogram in µs (see the module header for its sizes).
#[derive(Debug, Clone, Default)]
pub struct Hist {
    repr: Repr,
}

impl Hist {
    pub const fn new() -> Self {
        Hist { repr: Repr::Empty }
    }

    /// The dense form, made (or thawed from the sparse one) for writing.
    fn dense_mut(&mut self) -> &mut Dense {
        match &mut self.repr {
            Repr::Dense(_) => {}
            Repr::Empty => self.repr = Repr::Dense(Box::new(dense())),
            Repr::Sparse(pairs) => {
                let mut d = Box::new(dense());
                for &(v, n) in &**pairs {
                    d.saturating_record_n(u64::from(v), n);
                }
                self.repr = Repr::Dense(d);
            }
        }
        match &mut self.repr {
            Repr::Dense(d) => d,
            _ => unreachable!("made dense above"),
        }
    }

    /// Record one value in µs (clamped into the bounds).
    pub fn record(&mut self, us: u64) {
        self.dense_mut()
            .saturating_record(us.clamp(HIST_LOW_US, HIST_HIGH_US));
    }

    /// Add every value of `other`.
    pub fn add(&mut self, other: &Hist) {
        match &other.repr {
            Repr::Empty => {}
            Repr::Dense(o) if o.is_empty() => {}
            Repr::Dense(o) => {
                let _ = self.dense_mut().add(&**o);
            }
            Repr::Sparse(pairs) => {
                let d = self.dense_mut();
                for &(v, n) in &**pairs {
                    d.saturating_record_n(u64::from(v), n);
                }
            }
        }
    }

    /// Forget every value; a dense histogram keeps its array for reuse
    /// (a window's histogram is reset every second).
    pub fn reset(&mut self) {
        match &mut self.repr {
            Repr::Dense(d) => d.reset(),
            _ => self.repr = Repr::Empty,
        }
    }

    /// The scope is over: keep a sparse copy when it is smaller than the
    /// dense array (an empty one keeps nothing). Recording again thaws it.
    pub fn freeze(&mut self) {
        if let Repr::Dense(d) = &self.repr {
            if let Some(frozen) = frozen(d) {
                self.repr = frozen;
            }
        }
    }

    /// A frozen copy, made without thawing anything (the rolling ring keeps
    /// one per window).
    pub fn frozen_copy(&self) -> Hist {
        let repr = match &self.repr {
            Repr::Dense(d) => frozen(d).unwrap_or_else(|| Repr::Dense(d.clone())),
            other => other.clone(),
        };
        Hist { repr }
    }

    /// Values recorded.
    pub fn len(&self) -> u64 {
        match &self.repr {
            Repr::Empty => 0,
            Repr::Dense(d) => d.len(),
            Repr::Sparse(p) => p.iter().map(|&(_, n)| u64::from(n)).sum(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Run `f` on a dense view: the histogram itself, or a temporary thawed
    /// copy of a sparse one; `None` when nothing was recorded.
    pub fn with_dense<R>(&self, f: impl FnOnce(&Histogram<u32>) -> R) -> Option<R> {
        match &self.repr {
            Repr::Empty => None,
            Repr::Dense(d) if d.is_empty() => None,
            Repr::Dense(d) => Some(f(d)),
            Repr::Sparse(_) => {
                let mut t = self.clone();
                Some(f(t.dense_mut()))
            }
        }
    }

    /// Heap bytes this histogram holds (the bounded-size promise).
    pub fn heap_bytes(&self) -> usize {
        match &self.repr {
            Repr::Empty => 0,
            Repr::Dense(_) => HIST_MAX_BYTES,
            Repr::Sparse(p) => size_of_val(&**p),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dense_size_is_the_documented_one() {
        let d = dense();
        assert_eq!(d.distinct_values(), DENSE_COUNTS);
        let mut h = Hist::new();
        assert_eq!(h.heap_bytes(), 0, "unused histograms hold nothing");
        h.record(5);
        assert!(h.heap_bytes() >= DENSE_BYTES);
    }

    #[test]
    fn freezing_is_exact_and_smaller() {
        let mut h = Hist::new();
        for us in [3u64, 90, 1_234, 1_250, 77_000, 77_100, 5_000_000] {
            for _ in 0..=(us % 7) {
                h.record(us);
            }
        }
        let before = h.with_dense(|d| {
            (
                d.len(),
                d.min(),
                d.max(),
                d.mean(),
                d.value_at_quantile(0.9),
            )
        });
        h.freeze();
        assert!(h.heap_bytes() < 100, "{}", h.heap_bytes());
        let after = h.with_dense(|d| {
            (
                d.len(),
                d.min(),
                d.max(),
                d.mean(),
                d.value_at_quantile(0.9),
            )
        });
        assert_eq!(before, after);
        // Recording again thaws it and goes on counting.
        h.record(3);
        assert_eq!(h.len(), before.unwrap().0 + 1);
    }

    #[test]
    fn a_frozen_histogram_never_exceeds_the_dense_size() {
        let mut h = Hist::new();
        for us in 1..HIST_HIGH_US / 1000 {
            h.record(us * 997 % HIST_HIGH_US);
        }
        h.freeze();
        assert!(h.heap_bytes() <= HIST_MAX_BYTES);
    }

    #[test]
    fn merging_sparse_and_dense_adds_counts() {
        let (mut a, mut b) = (Hist::new(), Hist::new());
        a.record(1_000);
        b.record(2_000);
        b.record(2_000);
        b.freeze();
        a.add(&b);
        assert_eq!(a.len(), 3);
        assert!(a.with_dense(Histogram::max).unwrap() >= 2_000);
        a.reset();
        assert!(a.is_empty());
        assert!(a.with_dense(Histogram::len).is_none());
    }
}
