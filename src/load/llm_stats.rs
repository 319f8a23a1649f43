//! Token-stream statistics of one LLM tool over one scope (a stage, a
//! window, a phase): TTFT, inter-token latency, time per output token and
//! E2E in [`Hist`]s (2 significant figures; at most 48 KiB per tool
//! whatever the request count, nothing until its first reply), output and prompt tokens, where each
//! request's count came from, token-count mismatches, goodput against the
//! SLOs, HTTP statuses, peak concurrency; and its summary (`llm` of a tool
//! row). Energy per token comes from the board's power over the same scope
//! ([`Energy`]). Definitions follow vLLM's `bench serve`: TTFT to the first
//! content chunk, ITL between content chunks, TPOT = (E2E − TTFT) /
//! (output tokens − 1), E2E to the last content chunk.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::load::drivers::llm::{LlmSample, TokenSource};
use crate::load::stats::{micros, Hist, Percentiles, HIST_LOW_US};

/// Service-level objectives a request must meet to count as goodput.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Slo {
    pub max_ttft_ms: Option<f64>,
    pub max_tpot_ms: Option<f64>,
}

impl Slo {
    pub fn is_set(&self) -> bool {
        self.max_ttft_ms.is_some() || self.max_tpot_ms.is_some()
    }
}

/// Distinct HTTP statuses kept per scope (more are counted as `other`).
const MAX_STATUSES: usize = 8;

/// One LLM tool's figures over one scope.
#[derive(Debug, Clone)]
pub struct LlmStats {
    ttft: Hist,
    itl: Hist,
    tpot: Hist,
    e2e: Hist,
    /// Requests that finished with a sample.
    requests: u64,
    streamed: u64,
    output_tokens: u64,
    prompt_tokens: u64,
    sources: [u64; 3],
    mismatches: u64,
    good: u64,
    /// Requests were judged against SLOs (goodput means something).
    judged: bool,
    statuses: [(u16, u64); MAX_STATUSES],
    other_statuses: u64,
    peak_in_flight: u64,
}

impl Default for LlmStats {
    fn default() -> Self {
        LlmStats {
            ttft: Hist::new(),
            itl: Hist::new(),
            tpot: Hist::new(),
            e2e: Hist::new(),
            requests: 0,
            streamed: 0,
            output_tokens: 0,
            prompt_tokens: 0,
            sources: [0; 3],
            mismatches: 0,
            good: 0,
            judged: false,
            statuses: [(0, 0); MAX_STATUSES],
            other_statuses: 0,
            peak_in_flight: 0,
        }
    }
}

impl LlmStats {
    /// One finished request; `lag` is scheduled → actual send (zero in
    /// closed phases), added to TTFT and E2E as it is to latency.
    pub fn record(&mut self, s: &LlmSample, lag: Duration, slo: &Slo) {
        self.requests += 1;
        self.streamed += u64::from(s.streamed);
        let ttft = lag + s.first_token;
        let e2e = lag + s.last_token;
        self.ttft.record(micros(ttft));
        self.e2e.record(micros(e2e));
        for g in &s.gaps_us {
            self.itl.record(u64::from(*g).max(HIST_LOW_US));
        }
        let tpot = s.tpot();
        if let Some(t) = tpot {
            self.tpot.record(micros(t));
        }
        self.output_tokens += s.output_tokens;
        self.prompt_tokens += s.prompt_tokens.unwrap_or(0);
        self.sources[s.source.index()] += 1;
        self.mismatches += u64::from(s.mismatch);
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        let ttft_ok = slo.max_ttft_ms.is_none_or(|m| ms(ttft) <= m);
        let tpot_ok = slo
            .max_tpot_ms
            .is_none_or(|m| tpot.is_none_or(|t| ms(t) <= m));
        self.good += u64::from(ttft_ok && tpot_ok);
        self.judged |= slo.is_set();
    }

    /// A request answered with this HTTP status (≥ 400).
    pub fn record_status(&mut self, status: u16) {
        self.record_status_n(status, 1);
    }

    fn record_status_n(&mut self, status: u16, n: u64) {
        if let Some(s) = self
            .statuses
            .iter_mut()
            .find(|(c, k)| *c == status || *k == 0)
        {
            s.0 = status;
            s.1 += n;
        } else {
            self.other_statuses += n;
        }
    }

    /// Requests of this tool in flight at a send.
    pub fn saw_in_flight(&mut self, n: u64) {
        self.peak_in_flight = self.peak_in_flight.max(n);
    }

    pub fn add(&mut self, o: &LlmStats) {
        self.ttft.add(&o.ttft);
        self.itl.add(&o.itl);
        self.tpot.add(&o.tpot);
        self.e2e.add(&o.e2e);
        self.requests += o.requests;
        self.streamed += o.streamed;
        self.output_tokens += o.output_tokens;
        self.prompt_tokens += o.prompt_tokens;
        for (a, b) in self.sources.iter_mut().zip(o.sources) {
            *a += b;
        }
        self.mismatches += o.mismatches;
        self.good += o.good;
        self.judged |= o.judged;
        for (c, n) in o.statuses.iter().filter(|(_, n)| *n > 0) {
            self.record_status_n(*c, *n);
        }
        self.other_statuses += o.other_statuses;
        self.peak_in_flight = self.peak_in_flight.max(o.peak_in_flight);
    }

    /// Requests meeting the SLOs, % (`None`: none judged or answered).
    pub fn goodput_pct(&self) -> Option<f64> {
        (self.judged && self.requests > 0).then(|| self.good as f64 * 100.0 / self.requests as f64)
    }

    /// The scope is over: keep the histograms as sparse copies.
    pub fn freeze(&mut self) {
        for h in [&mut self.ttft, &mut self.itl, &mut self.tpot, &mut self.e2e] {
            h.freeze();
        }
    }

    /// Heap bytes held by the histograms.
    pub fn heap_bytes(&self) -> usize {
        [&self.ttft, &self.itl, &self.tpot, &self.e2e]
            .iter()
            .map(|h| h.heap_bytes())
            .sum()
    }

    /// Empty again, keeping the histograms' memory.
    pub fn reset(&mut self) {
        for h in [&mut self.ttft, &mut self.itl, &mut self.tpot, &mut self.e2e] {
            h.reset();
        }
        self.requests = 0;
        self.streamed = 0;
        self.output_tokens = 0;
        self.prompt_tokens = 0;
        self.sources = [0; 3];
        self.mismatches = 0;
        self.good = 0;
        self.judged = false;
        self.statuses = [(0, 0); MAX_STATUSES];
        self.other_statuses = 0;
        self.peak_in_flight = 0;
    }

    /// The summary over `secs` seconds.
    pub fn summary(&self, secs: f64) -> LlmSummary {
        let mut http_statuses: BTreeMap<String, u64> = self
            .statuses
            .iter()
            .filter(|(_, n)| *n > 0)
            .map(|(c, n)| (c.to_string(), *n))
            .collect();
        if self.other_statuses > 0 {
            http_statuses.insert("other".into(), self.other_statuses);
        }
        let token_sources: BTreeMap<String, u64> = TokenSource::ALL
            .iter()
            .filter(|s| self.sources[s.index()] > 0)
            .map(|s| (s.as_str().to_string(), self.sources[s.index()]))
            .collect();
        let token_source = match token_sources.len() {
            0 => None,
            1 => token_sources.keys().next().cloned(),
            _ => Some("mixed".into()),
        };
        LlmSummary {
            ttft_ms: Percentiles::of(&self.ttft),
            itl_ms: Percentiles::of(&self.itl),
            tpot_ms: Percentiles::of(&self.tpot),
            e2e_ms: Percentiles::of(&self.e2e),
            requests: self.requests,
            streamed: self.streamed == self.requests,
            output_tokens: self.output_tokens,
            prompt_tokens: self.prompt_tokens,
            output_tokens_per_s: if secs > 0.0 {
                self.output_tokens as f64 / secs
            } else {
                0.0
            },
            goodput_pct: self.goodput_pct(),
            tokens_per_joule: None,
            joules_per_token: None,
            gpu_tokens_per_joule: None,
            token_source,
            token_sources,
            token_mismatches: self.mismatches,
            http_statuses,
            peak_in_flight: self.peak_in_flight,
        }
    }
}

/// Board energy over a scope, from the snapshots' power.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Energy {
    /// Board input (or summed rails), J.
    pub joules: f64,
    /// The GPU rail, J (boards that name one).
    pub gpu_joules: Option<f64>,
    /// Seconds with a power reading.
    pub seconds: f64,
}

impl Energy {
    /// `secs` seconds at `total_w` (and `gpu_w`).
    pub fn add(&mut self, secs: f64, total_w: Option<f64>, gpu_w: Option<f64>) {
        if let Some(w) = total_w.filter(|w| w.is_finite() && *w >= 0.0) {
            self.joules += w * secs;
            self.seconds += secs;
            if let Some(g) = gpu_w.filter(|w| w.is_finite() && *w >= 0.0) {
                *self.gpu_joules.get_or_insert(0.0) += g * secs;
            }
        }
    }

    pub fn merge(&mut self, o: &Energy) {
        self.joules += o.joules;
        self.seconds += o.seconds;
        if let Some(g) = o.gpu_joules {
            *self.gpu_joules.get_or_insert(0.0) += g;
        }
    }

    /// Fill in tokens per joule (all LLM tools of the scope share the board).
    pub fn apply(&self, s: &mut LlmSummary) {
        if self.joules > 0.0 && s.output_tokens > 0 {
            s.tokens_per_joule = Some(s.output_tokens as f64 / self.joules);
            s.joules_per_token = Some(self.joules / s.output_tokens as f64);
            s.gpu_tokens_per_joule = self
                .gpu_joules
                .filter(|g| *g > 0.0)
                .map(|g| s.output_tokens as f64 / g);
        }
    }
}

/// The `llm` part of a tool row (`jetstress.run/1`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LlmSummary {
    /// Scheduled (open phases) or actual (users phases) send → first content chunk. Absent when nothing was recorded (no stream, all failed).
    #[serde(default, skip_serializing_if = "Percentiles::is_empty")]
    pub ttft_ms: Percentiles,
    /// Between consecutive content chunks. Absent when nothing was recorded (no stream, all failed).
    #[serde(default, skip_serializing_if = "Percentiles::is_empty")]
    pub itl_ms: Percentiles,
    /// (E2E − TTFT) / (output tokens − 1). Absent when nothing was recorded (no stream, all failed).
    #[serde(default, skip_serializing_if = "Percentiles::is_empty")]
    pub tpot_ms: Percentiles,
    /// Send → last content chunk. Absent when nothing was recorded (no stream, all failed).
    #[serde(default, skip_serializing_if = "Percentiles::is_empty")]
    pub e2e_ms: Percentiles,
    /// Requests that finished with a readable reply.
    pub requests: u64,
    /// Every reply was a token stream (`false`: TTFT equals E2E).
    pub streamed: bool,
    pub output_tokens: u64,
    pub prompt_tokens: u64,
    pub output_tokens_per_s: f64,
    /// Requests meeting `max_ttft_ms` and `max_tpot_ms`, % (absent without SLOs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub goodput_pct: Option<f64>,
    /// Output tokens per joule of board input power (absent without power rails).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokens_per_joule: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub joules_per_token: Option<f64>,
    /// Output tokens per joule of the GPU rail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpu_tokens_per_joule: Option<f64>,
    /// `usage`, `server`, `chunks`, or `mixed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_source: Option<String>,
    pub token_sources: BTreeMap<String, u64>,
    /// Requests whose token counts (usage, server counters, chunks) differ by > 5 %.
    pub token_mismatches: u64,
    /// Failed requests by HTTP status.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub http_statuses: BTreeMap<String, u64>,
    /// Most requests of this tool in flight at once.
    pub peak_in_flight: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(first_ms: u64, gaps_ms: &[u64], tokens: u64) -> LlmSample {
        let last = first_ms + gaps_ms.iter().sum::<u64>();
        LlmSample {
            first_token: Duration::from_millis(first_ms),
            last_token: Duration::from_millis(last),
            gaps_us: gaps_ms.iter().map(|g| (*g * 1000) as u32).collect(),
            output_tokens: tokens,
            prompt_tokens: Some(10),
            source: TokenSource::Usage,
            mismatch: false,
            streamed: true,
        }
    }

    #[test]
    fn definitions_and_goodput() {
        let slo = Slo {
            max_ttft_ms: Some(150.0),
            max_tpot_ms: Some(30.0),
        };
        let mut s = LlmStats::default();
        // TTFT 100 ms, 4 gaps of 20 ms: TPOT (180 − 100) / 4 = 20 ms: good.
        s.record(&sample(100, &[20, 20, 20, 20], 5), Duration::ZERO, &slo);
        // Scheduled 100 ms late: TTFT 200 ms breaks the SLO.
        s.record(
            &sample(100, &[20, 20, 20, 20], 5),
            Duration::from_millis(100),
            &slo,
        );
        s.record_status(503);
        s.record_status(503);
        s.record_status(429);
        s.saw_in_flight(3);
        let m = s.summary(2.0);
        assert_eq!(m.requests, 2);
        assert_eq!(m.output_tokens, 10);
        assert!((m.output_tokens_per_s - 5.0).abs() < 1e-9);
        assert!((m.ttft_ms.min - 100.0).abs() < 1.0 && (m.ttft_ms.max - 200.0).abs() < 2.0);
        assert!((m.itl_ms.p50 - 20.0).abs() < 0.5, "{:?}", m.itl_ms);
        assert!((m.tpot_ms.p50 - 20.0).abs() < 0.5, "{:?}", m.tpot_ms);
        assert!((m.e2e_ms.max - 280.0).abs() < 3.0, "{:?}", m.e2e_ms);
        assert_eq!(m.goodput_pct, Some(50.0));
        assert_eq!(m.http_statuses["503"], 2);
        assert_eq!(m.http_statuses["429"], 1);
        assert_eq!(m.token_source.as_deref(), Some("usage"));
        assert_eq!(m.peak_in_flight, 3);
        assert!(LlmStats::default().summary(1.0).goodput_pct.is_none());

        let mut e = Energy::default();
        e.add(1.0, Some(10.0), Some(4.0));
        e.add(1.0, None, None);
        let mut m = m;
        e.apply(&mut m);
        assert_eq!(m.tokens_per_joule, Some(1.0));
        assert_eq!(m.gpu_tokens_per_joule, Some(2.5));
        assert_eq!(e.seconds, 1.0);
    }

    #[test]
    fn merging_and_reset_keep_the_counts() {
        let slo = Slo::default();
        let mut a = LlmStats::default();
        a.record(&sample(50, &[10], 2), Duration::ZERO, &slo);
        a.record_status(500);
        let mut b = LlmStats::default();
        b.record(&sample(60, &[10, 10], 3), Duration::ZERO, &slo);
        b.record_status(500);
        b.add(&a);
        let m = b.summary(1.0);
        assert_eq!((m.requests, m.output_tokens), (2, 5));
        assert_eq!(m.http_statuses["500"], 2);
        b.reset();
        let m = b.summary(1.0);
        assert_eq!((m.requests, m.output_tokens, m.itl_ms.max), (0, 0, 0.0));
        assert!(m.http_statuses.is_empty());
    }
}
