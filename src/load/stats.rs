//! Latency bookkeeping: bounded histograms ([`Hist`]: 1 µs … 10 min, 2
//! significant figures) of scheduled-send latency and service time, error
//! counts by kind, and the serializable per-tool summaries that
//! `jetstress.run/1` and `LoadWindow` events carry. Memory is fixed per tool,
//! never per request: a live tool row holds two dense 12 KiB arrays, a
//! frozen one (a finished stage, a rolling-ring slot) a sparse copy no
//! larger, and a tool that saw no traffic nothing.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use crate::load::hist::{Hist, HIST_HIGH_US, HIST_LOW_US, HIST_MAX_BYTES};

/// Most heap bytes one tool row ([`ToolStats`]: latency and service) holds
/// in one scope, live or frozen.
pub const TOOL_ROW_MAX_BYTES: usize = 2 * HIST_MAX_BYTES;
use crate::load::llm_stats::{LlmStats, LlmSummary};

/// Why a request did not succeed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The per-request timeout fired (the request was cancelled).
    Timeout,
    /// The connection or child process failed (closed pipe, refused, session down).
    Transport,
    /// The server answered with a JSON-RPC error.
    Rpc,
    /// The tool answered `isError: true` (or an HTTP status ≥ 400).
    Tool,
    /// The request could not start because `max_in_flight` was reached.
    Dropped,
    /// An LLM endpoint answered HTTP status ≥ 400.
    Http,
    /// An LLM stream was malformed, cut before its end, or carried no content.
    Stream,
}

impl ErrorKind {
    pub const COUNT: usize = 7;
    pub const ALL: [ErrorKind; ErrorKind::COUNT] = [
        ErrorKind::Timeout,
        ErrorKind::Transport,
        ErrorKind::Rpc,
        ErrorKind::Tool,
        ErrorKind::Dropped,
        ErrorKind::Http,
        ErrorKind::Stream,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Timeout => "timeout",
            ErrorKind::Transport => "transport",
            ErrorKind::Rpc => "rpc",
            ErrorKind::Tool => "tool",
            ErrorKind::Dropped => "dropped",
            ErrorKind::Http => "http",
            ErrorKind::Stream => "stream",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// A duration in µs within the histograms' bounds.
pub(crate) fn micros(d: Duration) -> u64 {
    (d.as_micros().min(u128::from(HIST_HIGH_US)) as u64).max(HIST_LOW_US)
}

/// Running statistics for one tool (or all tools) over one scope.
#[derive(Debug, Clone, Default)]
pub struct ToolStats {
    /// Latency from the scheduled send time (coordinated-omission corrected).
    pub latency: Hist,
    /// Service time: actual send → reply.
    pub service: Hist,
    /// Requests that started (succeeded or failed) — dropped ones are not counted here.
    pub count: u64,
    pub errors: [u64; ErrorKind::COUNT],
}

impl ToolStats {
    /// Record one finished request.
    pub fn record(&mut self, latency: Duration, service: Duration, error: Option<ErrorKind>) {
        self.count += 1;
        self.latency.record(micros(latency));
        self.service.record(micros(service));
        if let Some(k) = error {
            self.errors[k.index()] += 1;
        }
    }

    /// Record a request that could not start.
    pub fn record_dropped(&mut self) {
        self.errors[ErrorKind::Dropped.index()] += 1;
    }

    pub fn dropped(&self) -> u64 {
        self.errors[ErrorKind::Dropped.index()]
    }

    /// Failed requests (all kinds but `dropped`).
    pub fn failed(&self) -> u64 {
        self.errors.iter().sum::<u64>() - self.dropped()
    }

    /// Successful requests.
    pub fn ok(&self) -> u64 {
        self.count.saturating_sub(self.failed())
    }

    pub fn reset(&mut self) {
        self.latency.reset();
        self.service.reset();
        self.count = 0;
        self.errors = [0; ErrorKind::COUNT];
    }

    /// The scope is over: keep the histograms as sparse copies.
    pub fn freeze(&mut self) {
        self.latency.freeze();
        self.service.freeze();
    }

    /// A frozen copy (see [`Hist::frozen_copy`]).
    pub fn frozen_copy(&self) -> ToolStats {
        ToolStats {
            latency: self.latency.frozen_copy(),
            service: self.service.frozen_copy(),
            count: self.count,
            errors: self.errors,
        }
    }

    /// Heap bytes held (the bounded-size promise).
    pub fn heap_bytes(&self) -> usize {
        self.latency.heap_bytes() + self.service.heap_bytes()
    }

    pub fn add(&mut self, other: &ToolStats) {
        self.latency.add(&other.latency);
        self.service.add(&other.service);
        self.count += other.count;
        for (a, b) in self.errors.iter_mut().zip(other.errors) {
            *a += b;
        }
    }

    /// The serializable summary; `secs` is the scope's length for `rps`.
    pub fn summary(&self, tool: &str, secs: f64) -> ToolSummary {
        let mut error_kinds = BTreeMap::new();
        for k in ErrorKind::ALL {
            let n = self.errors[k.index()];
            if n > 0 {
                error_kinds.insert(k.as_str().to_string(), n);
            }
        }
        ToolSummary {
            tool: tool.to_string(),
            count: self.count,
            errors: self.failed() + self.dropped(),
            error_kinds,
            latency_ms: Percentiles::of(&self.latency),
            service_ms: Percentiles::of(&self.service),
            latency_buckets: LatencyBuckets::default(),
            rps: if secs > 0.0 {
                self.count as f64 / secs
            } else {
                0.0
            },
            llm: None,
        }
    }
}

/// Upper bounds, in seconds, of the latency buckets exported to Prometheus
/// (`jetstress_request_duration_seconds`); the last is +Inf.
pub const LATENCY_BUCKETS_S: [f64; 15] = [
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
    f64::INFINITY,
];

/// Requests per latency bucket of [`LATENCY_BUCKETS_S`] (not cumulative)
/// and their latency sum: what a Prometheus histogram adds up across windows
/// and boards. Fixed size, so a window's summary allocates nothing per request.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LatencyBuckets {
    pub counts: [u64; 15],
    pub sum_s: f64,
}

impl LatencyBuckets {
    /// From a histogram of microseconds; one pass over its recorded values.
    pub fn of(h: &Hist) -> Self {
        h.with_dense(|h| {
            let mut b = LatencyBuckets::default();
            for v in h.iter_recorded() {
                let s = h.median_equivalent(v.value_iterated_to()) as f64 / 1e6;
                let i = LATENCY_BUCKETS_S
                    .iter()
                    .position(|&le| s <= le)
                    .unwrap_or(LATENCY_BUCKETS_S.len() - 1);
                b.counts[i] += u64::from(v.count_at_value());
            }
            b.sum_s = h.mean() * h.len() as f64 / 1e6;
            b
        })
        .unwrap_or_default()
    }
}

/// Latency percentiles in milliseconds (all zero when nothing was recorded).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Percentiles {
    /// Fastest request (absent in summaries written before it was kept).
    #[serde(default)]
    pub min: f64,
    pub p50: f64,
    pub p90: f64,
    pub p95: f64,
    pub p99: f64,
    pub max: f64,
    pub mean: f64,
}

impl Percentiles {
    /// Nothing was recorded (every figure 0; a recorded value is ≥ 1 µs).
    pub fn is_empty(&self) -> bool {
        self.max == 0.0
    }

    /// Each figure is the middle of its bucket (within ±0.5 % of the
    /// value at two significant figures), as the mean is.
    pub fn of(h: &Hist) -> Self {
        h.with_dense(|h| {
            let ms = |us: u64| h.median_equivalent(us) as f64 / 1000.0;
            Percentiles {
                min: ms(h.min()),
                p50: ms(h.value_at_quantile(0.50)),
                p90: ms(h.value_at_quantile(0.90)),
                p95: ms(h.value_at_quantile(0.95)),
                p99: ms(h.value_at_quantile(0.99)),
                max: ms(h.max()),
                mean: h.mean() / 1000.0,
            }
        })
        .unwrap_or_default()
    }
}

/// One row of the per-tool tables (`jetstress.run/1`, `LoadWindow`).
/// LLM tools carry `llm` beside the request figures (which time E2E).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ToolSummary {
    /// `target:tool` for MCP, the endpoint name for HTTP.
    pub tool: String,
    /// Requests that started.
    pub count: u64,
    /// Failed plus dropped requests.
    pub errors: u64,
    /// Non-zero counts by kind: `timeout`, `transport`, `rpc`, `tool`, `dropped`, `http`, `stream`.
    pub error_kinds: BTreeMap<String, u64>,
    /// Latency from the scheduled send time.
    pub latency_ms: Percentiles,
    /// Service time (actual send → reply), uncorrected.
    pub service_ms: Percentiles,
    /// Latency buckets for Prometheus, filled in only for the tools of a load
    /// window ([`StatsTable::summaries_with_buckets`]); in memory only (not in the JSON).
    #[serde(skip)]
    pub latency_buckets: LatencyBuckets,
    pub rps: f64,
    /// LLM tools: TTFT, ITL, TPOT, tokens, goodput, tokens per joule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub llm: Option<LlmSummary>,
}

/// Per-tool statistics for one scope (a stage, a window, a minute), indexed
/// by the op index of the mix, plus an all-tools aggregate.
#[derive(Debug, Clone)]
pub struct StatsTable {
    pub tools: Vec<ToolStats>,
    pub all: ToolStats,
    /// Per op, made on the first LLM reply (other ops never hold one).
    pub llm: Vec<Option<Box<LlmStats>>>,
}

impl StatsTable {
    pub fn new(n_tools: usize) -> Self {
        StatsTable {
            tools: (0..n_tools).map(|_| ToolStats::default()).collect(),
            all: ToolStats::default(),
            llm: (0..n_tools).map(|_| None).collect(),
        }
    }

    /// Op `op`'s LLM statistics, made on first use.
    pub fn llm_mut(&mut self, op: usize) -> Option<&mut LlmStats> {
        self.llm
            .get_mut(op)
            .map(|l| &mut **l.get_or_insert_with(Box::default))
    }

    pub fn record(
        &mut self,
        op: usize,
        latency: Duration,
        service: Duration,
        error: Option<ErrorKind>,
    ) {
        if let Some(t) = self.tools.get_mut(op) {
            t.record(latency, service, error);
        }
        self.all.record(latency, service, error);
    }

    pub fn record_dropped(&mut self, op: usize) {
        if let Some(t) = self.tools.get_mut(op) {
            t.record_dropped();
        }
        self.all.record_dropped();
    }

    pub fn reset(&mut self) {
        self.tools.iter_mut().for_each(ToolStats::reset);
        self.all.reset();
        self.llm.iter_mut().flatten().for_each(|l| l.reset());
    }

    /// The scope is over: keep every histogram as a sparse copy (a late
    /// reply thaws the one it lands in).
    pub fn freeze(&mut self) {
        self.tools.iter_mut().for_each(ToolStats::freeze);
        self.all.freeze();
        self.llm.iter_mut().flatten().for_each(|l| l.freeze());
    }

    /// Heap bytes held by the histograms (the bounded-size promise).
    pub fn heap_bytes(&self) -> usize {
        self.tools.iter().map(ToolStats::heap_bytes).sum::<usize>()
            + self.all.heap_bytes()
            + self
                .llm
                .iter()
                .flatten()
                .map(|l| l.heap_bytes())
                .sum::<usize>()
    }

    /// Fold another table of the same tools into this one (stages → whole phase).
    pub fn add(&mut self, other: &StatsTable) {
        for (a, b) in self.tools.iter_mut().zip(&other.tools) {
            a.add(b);
        }
        self.all.add(&other.all);
        for (op, b) in other.llm.iter().enumerate() {
            let Some(b) = b else { continue };
            if let Some(a) = self.llm_mut(op) {
                a.add(b);
            }
        }
    }

    /// The tools that saw any traffic, with their names.
    fn active<'a>(
        &'a self,
        names: &'a [String],
    ) -> impl Iterator<Item = (usize, &'a ToolStats, &'a String)> {
        self.tools
            .iter()
            .zip(names)
            .enumerate()
            .filter(|(_, (t, _))| t.count > 0 || t.dropped() > 0)
            .map(|(i, (t, n))| (i, t, n))
    }

    /// Op `op`'s row: its request figures and, for an LLM tool, its token figures.
    fn row(&self, op: usize, t: &ToolStats, name: &str, secs: f64) -> ToolSummary {
        ToolSummary {
            llm: self
                .llm
                .get(op)
                .and_then(Option::as_ref)
                .map(|l| l.summary(secs)),
            ..t.summary(name, secs)
        }
    }

    /// Summaries of the tools that saw any traffic.
    pub fn summaries(&self, names: &[String], secs: f64) -> Vec<ToolSummary> {
        self.active(names)
            .map(|(i, t, n)| self.row(i, t, n, secs))
            .collect()
    }

    /// [`StatsTable::summaries`] with each tool's latency buckets filled in,
    /// for `/metrics`: only the 1 s load windows need them, and the bucketing
    /// pass over a histogram is not free.
    pub fn summaries_with_buckets(&self, names: &[String], secs: f64) -> Vec<ToolSummary> {
        self.active(names)
            .map(|(i, t, n)| ToolSummary {
                latency_buckets: LatencyBuckets::of(&t.latency),
                ..self.row(i, t, n, secs)
            })
            .collect()
    }
}

/// The last `slots` windows per tool (and all tools), merged on demand:
/// the rolling window (10 × 1 s by default). Fixed memory per tool.
#[derive(Debug, Clone)]
pub struct Rolling {
    /// `ring[i][0]` is all tools, `ring[i][1 + op]` one tool; frozen copies.
    ring: std::collections::VecDeque<Vec<ToolStats>>,
    slots: usize,
    secs: std::collections::VecDeque<f64>,
}

impl Rolling {
    pub fn new(slots: usize) -> Self {
        Rolling {
            ring: Default::default(),
            slots: slots.max(1),
            secs: Default::default(),
        }
    }

    /// Push one finished window of `secs` seconds.
    pub fn push(&mut self, t: &StatsTable, secs: f64) {
        if self.ring.len() >= self.slots {
            self.secs.pop_front();
            self.ring.pop_front();
        }
        let row = std::iter::once(&t.all)
            .chain(t.tools.iter())
            .map(ToolStats::frozen_copy)
            .collect();
        self.ring.push_back(row);
        self.secs.push_back(secs);
    }

    /// Heap bytes held by the ring's histograms (the bounded-size promise).
    pub fn heap_bytes(&self) -> usize {
        self.ring.iter().flatten().map(ToolStats::heap_bytes).sum()
    }

    /// Seconds covered by the ring.
    pub fn span(&self) -> f64 {
        self.secs.iter().sum()
    }

    /// Merged summary of slot index `i` (0: all tools, 1 + op: one tool).
    fn merged(&self, i: usize, name: &str) -> ToolSummary {
        let mut m = ToolStats::default();
        for s in self.ring.iter().filter_map(|row| row.get(i)) {
            m.add(s);
        }
        let (lat, svc, count, errors) = (m.latency, m.service, m.count, m.errors);
        let mut error_kinds = BTreeMap::new();
        for k in ErrorKind::ALL {
            if errors[k.index()] > 0 {
                error_kinds.insert(k.as_str().to_string(), errors[k.index()]);
            }
        }
        let span = self.span();
        ToolSummary {
            tool: name.to_string(),
            count,
            errors: errors.iter().sum(),
            error_kinds,
            latency_ms: Percentiles::of(&lat),
            service_ms: Percentiles::of(&svc),
            latency_buckets: LatencyBuckets::default(),
            rps: if span > 0.0 { count as f64 / span } else { 0.0 },
            llm: None,
        }
    }

    /// All tools over the ring.
    pub fn all(&self) -> ToolSummary {
        self.merged(0, "all")
    }

    /// Each tool with traffic over the ring.
    pub fn tools(&self, names: &[String]) -> Vec<ToolSummary> {
        names
            .iter()
            .enumerate()
            .map(|(op, n)| self.merged(op + 1, n))
            .filter(|s| s.count > 0 || s.errors > 0)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latency_buckets_count_each_request_once_with_its_sum() {
        let mut st = ToolStats::default();
        for ms in [0.5, 3.0, 3.0, 40.0, 45_000.0] {
            let d = Duration::from_secs_f64(ms / 1000.0);
            st.record(d, d, None);
        }
        let b = LatencyBuckets::of(&st.latency);
        let at = |le: f64| b.counts[LATENCY_BUCKETS_S.iter().position(|&x| x == le).unwrap()];
        assert_eq!(at(0.001), 1);
        assert_eq!(at(0.005), 2);
        assert_eq!(at(0.05), 1);
        assert_eq!(at(f64::INFINITY), 1, "45 s is past the last finite bound");
        assert_eq!(b.counts.iter().sum::<u64>(), 5);
        assert!((b.sum_s - 45.0465).abs() < 0.05, "{}", b.sum_s);
    }

    #[test]
    fn percentiles_and_error_kinds() {
        let mut s = ToolStats::default();
        for ms in 1..=100u64 {
            s.record(Duration::from_millis(ms), Duration::from_millis(1), None);
        }
        s.record(
            Duration::from_secs(1),
            Duration::from_secs(1),
            Some(ErrorKind::Timeout),
        );
        s.record_dropped();
        let sum = s.summary("t:x", 10.0);
        assert_eq!(sum.count, 101);
        assert_eq!(sum.errors, 2);
        assert_eq!(sum.error_kinds.get("timeout"), Some(&1));
        assert_eq!(sum.error_kinds.get("dropped"), Some(&1));
        // Two significant figures: each figure within 0.5 % of the value.
        assert!(
            (sum.latency_ms.p50 - 51.0).abs() < 51.0 * 0.005,
            "{:?}",
            sum.latency_ms
        );
        assert!((sum.latency_ms.max - 1000.0).abs() < 5.0);
        assert!((sum.rps - 10.1).abs() < 1e-9);
        assert_eq!(s.ok(), 100);
    }

    #[test]
    fn rolling_keeps_the_last_slots_only() {
        let names = vec!["a".to_string()];
        let mut r = Rolling::new(3);
        for i in 1..=5u64 {
            let mut t = StatsTable::new(1);
            for _ in 0..10 {
                t.record(
                    0,
                    Duration::from_millis(i * 10),
                    Duration::from_millis(1),
                    None,
                );
            }
            r.push(&t, 1.0);
        }
        // Windows 3, 4, 5 remain: 30, 40, 50 ms.
        let all = r.all();
        assert_eq!(all.count, 30);
        assert!((all.rps - 10.0).abs() < 1e-9);
        assert!(
            (all.latency_ms.p50 - 40.0).abs() < 40.0 * 0.005,
            "{:?}",
            all.latency_ms
        );
        assert!((all.latency_ms.max - 50.0).abs() < 50.0 * 0.005);
        assert_eq!(r.tools(&names)[0].count, 30);
    }

    /// A live tool row is two dense arrays, a frozen one no more; an unused
    /// one nothing; a rolling ring holds `slots` rows at most, however many
    /// requests and windows went through.
    #[test]
    fn tables_and_rings_have_the_documented_size() {
        let row_max = TOOL_ROW_MAX_BYTES;
        let (ops, slots) = (11, 10);
        let mut t = StatsTable::new(ops);
        assert_eq!(t.heap_bytes(), 0, "nothing before the first request");
        let mut r = Rolling::new(slots);
        for w in 0..50u64 {
            for i in 0..20_000u64 {
                let d = Duration::from_micros(1 + (i * 7919 + w * 104_729) % 3_000_000);
                t.record((i % 10) as usize, d, d / 2, None);
            }
            assert!(t.heap_bytes() <= (ops + 1) * row_max);
            r.push(&t, 1.0);
            assert!(r.heap_bytes() <= slots * (ops + 1) * row_max);
            t.reset();
        }
        // Ten of the eleven tools saw traffic; the eleventh holds nothing.
        assert_eq!(t.tools[10].heap_bytes(), 0);
        for i in 0..100u64 {
            t.record(
                0,
                Duration::from_millis(10 + i % 5),
                Duration::from_millis(1),
                None,
            );
        }
        let live = t.heap_bytes();
        t.freeze();
        assert!(t.heap_bytes() < live / 20, "{} vs {live}", t.heap_bytes());
        assert_eq!(
            t.summaries(&(0..ops).map(|i| i.to_string()).collect::<Vec<_>>(), 1.0)[0].count,
            100
        );
    }

    #[test]
    fn huge_values_are_clamped_not_lost() {
        let mut s = ToolStats::default();
        s.record(Duration::from_secs(3600), Duration::ZERO, None);
        assert_eq!(s.count, 1);
        assert!(
            s.latency.with_dense(hdrhistogram::Histogram::max).unwrap()
                >= HIST_HIGH_US - HIST_HIGH_US / 100
        );
    }
}
