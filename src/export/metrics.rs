//! Prometheus export: `/metrics` in the `OpenMetrics` text format
//! (`prometheus-client`), fed from snapshots and predictions, and — once the
//! load engine reports — per-tool request counters and latency histograms.
//! Loopback by default; a non-loopback address needs a bearer token.
//!
//! Metric names are a public contract (the Grafana dashboard in
//! `contrib/grafana/` is built on them): add, never rename.

use std::net::SocketAddr;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};

use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::{EncodeLabelSet, EncodeMetric, MetricEncoder, NoLabelSet};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::{MetricType, TypedMetric};
use prometheus_client::registry::Registry;

use crate::load::stats::{LatencyBuckets, LATENCY_BUCKETS_S};
use crate::predict::thermal::{Status, ZonePrediction};
use crate::snapshot::{watched_key_words, Snapshot};

type G = Gauge<f64, AtomicU64>;

/// A Prometheus histogram that adds up whole windows of bucket counts: the
/// engine measures into hdrhistograms, and each 1 s window's buckets
/// ([`LATENCY_BUCKETS_S`]) are added here, so a fleet can sum
/// `_bucket` series across boards and take `histogram_quantile` of them.
#[derive(Debug, Default, Clone)]
pub struct WindowHistogram {
    inner: Arc<Mutex<LatencyBuckets>>,
}

impl WindowHistogram {
    pub fn add(&self, b: &LatencyBuckets) {
        let mut me = self
            .inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for (a, n) in me.counts.iter_mut().zip(b.counts) {
            *a += n;
        }
        me.sum_s += b.sum_s;
    }
}

impl TypedMetric for WindowHistogram {
    const TYPE: MetricType = MetricType::Histogram;
}

impl EncodeMetric for WindowHistogram {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        let b = self
            .inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        let buckets: [(f64, u64); LATENCY_BUCKETS_S.len()] =
            std::array::from_fn(|i| (LATENCY_BUCKETS_S[i], b.counts[i]));
        encoder.encode_histogram::<NoLabelSet>(b.sum_s, b.counts.iter().sum(), &buckets, None)
    }

    fn metric_type(&self) -> MetricType {
        Self::TYPE
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ZoneLabels {
    pub zone: String,
    pub id: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TripLabels {
    pub zone: String,
    pub id: String,
    pub kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct NameLabel {
    pub name: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ToolLabels {
    pub tool: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct QuantileLabels {
    pub tool: String,
    pub quantile: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ErrorLabels {
    pub tool: String,
    pub kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabels {
    pub outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PhaseLabels {
    pub phase: String,
}

pub struct Metrics {
    registry: Registry,
    zone_temp: Family<ZoneLabels, G>,
    zone_online: Family<ZoneLabels, G>,
    zone_trip: Family<TripLabels, G>,
    throttled: G,
    mem_total: G,
    mem_available: G,
    mem_used: G,
    swap_used: G,
    nvmap: G,
    watched_rss: Family<NameLabel, G>,
    watched_cpu: Family<NameLabel, G>,
    watched_gpu: Family<NameLabel, G>,
    cpu_util: G,
    gpu_load: Family<NameLabel, G>,
    gpu_freq: Family<NameLabel, G>,
    rail_watts: Family<NameLabel, G>,
    power_total: G,
    fan_pwm: Family<NameLabel, G>,
    fan_rpm: Family<NameLabel, G>,
    eta: Family<ZoneLabels, G>,
    /// The load model's ETA under the plan's load ahead: one series, the
    /// zone nearest its trip, while a planned phase runs; none otherwise.
    eta_planned: Family<ZoneLabels, G>,
    requests: Family<ToolLabels, Counter>,
    errors: Family<ErrorLabels, Counter>,
    latency: Family<QuantileLabels, G>,
    duration: Family<ToolLabels, WindowHistogram>,
    phase: Family<PhaseLabels, G>,
    target_rps: G,
    users_active: G,
    users_target: G,
    invalid: Family<OutcomeLabels, Counter>,
    llm_tokens: Family<ToolLabels, Counter>,
    llm_ttft: Family<QuantileLabels, G>,
    llm_itl: Family<QuantileLabels, G>,
    /// Zones/rails seen before: a vanished label is set to NaN, not left stale.
    seen_zones: Mutex<Vec<ZoneLabels>>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    #[expect(clippy::too_many_lines, reason = "one registration per metric family")]
    pub fn new() -> Metrics {
        let mut r = Registry::with_prefix("jetstress");
        let m = Metrics {
            zone_temp: Family::default(),
            zone_online: Family::default(),
            zone_trip: Family::default(),
            throttled: G::default(),
            mem_total: G::default(),
            mem_available: G::default(),
            mem_used: G::default(),
            swap_used: G::default(),
            nvmap: G::default(),
            watched_rss: Family::default(),
            watched_cpu: Family::default(),
            watched_gpu: Family::default(),
            cpu_util: G::default(),
            gpu_load: Family::default(),
            gpu_freq: Family::default(),
            rail_watts: Family::default(),
            power_total: G::default(),
            fan_pwm: Family::default(),
            fan_rpm: Family::default(),
            eta: Family::default(),
            eta_planned: Family::default(),
            requests: Family::default(),
            errors: Family::default(),
            latency: Family::default(),
            duration: Family::default(),
            phase: Family::default(),
            target_rps: G::default(),
            users_active: G::default(),
            users_target: G::default(),
            invalid: Family::default(),
            llm_tokens: Family::default(),
            llm_ttft: Family::default(),
            llm_itl: Family::default(),
            seen_zones: Mutex::new(Vec::new()),
            registry: Registry::default(),
        };
        r.register(
            "zone_temperature_celsius",
            "Thermal zone temperature (NaN when offline)",
            m.zone_temp.clone(),
        );
        r.register(
            "zone_online",
            "1 when the zone reads, 0 when offline",
            m.zone_online.clone(),
        );
        r.register(
            "zone_trip_celsius",
            "Trip point of a zone",
            m.zone_trip.clone(),
        );
        r.register(
            "throttled",
            "1 while any throttle reason holds",
            m.throttled.clone(),
        );
        r.register("memory_total_bytes", "MemTotal", m.mem_total.clone());
        r.register(
            "memory_available_bytes",
            "MemAvailable",
            m.mem_available.clone(),
        );
        r.register(
            "memory_used_bytes",
            "MemTotal - MemAvailable",
            m.mem_used.clone(),
        );
        r.register("swap_used_bytes", "Swap in use", m.swap_used.clone());
        r.register("nvmap_bytes", "Jetson NvMapMemUsed", m.nvmap.clone());
        r.register(
            "watched_rss_bytes",
            "Resident set size of a watched process (memory.current of a watched cgroup)",
            m.watched_rss.clone(),
        );
        r.register(
            "watched_cpu_ratio",
            "CPU time per second of a watched process or cgroup (1 = one core busy)",
            m.watched_cpu.clone(),
        );
        r.register(
            "watched_gpu_memory_bytes",
            "GPU memory of a watched process or cgroup (NVML per process, nvmap iovmm clients on a Jetson); only where the platform gives it",
            m.watched_gpu.clone(),
        );
        r.register(
            "cpu_utilisation_ratio",
            "All online cores, 0..1",
            m.cpu_util.clone(),
        );
        r.register("gpu_load_ratio", "GPU load, 0..1", m.gpu_load.clone());
        r.register("gpu_frequency_hertz", "GPU clock", m.gpu_freq.clone());
        r.register(
            "power_rail_watts",
            "Power of one rail",
            m.rail_watts.clone(),
        );
        r.register(
            "power_total_watts",
            "Board input power (VDD_IN) or the sum of rails",
            m.power_total.clone(),
        );
        r.register("fan_pwm_ratio", "Fan PWM duty, 0..1", m.fan_pwm.clone());
        r.register("fan_rpm", "Fan speed", m.fan_rpm.clone());
        r.register(
            "throttle_eta_seconds",
            "Predicted seconds until the zone's throttle trip (NaN: none expected)",
            m.eta.clone(),
        );
        r.register(
            "throttle_eta_planned_seconds",
            "Predicted seconds until the zone's throttle trip if the running phase goes on as planned (NaN: none expected; absent while no phase runs)",
            m.eta_planned.clone(),
        );
        r.register(
            "requests",
            "Load requests sent, per tool",
            m.requests.clone(),
        );
        r.register(
            "request_errors",
            "Failed load requests by tool and kind",
            m.errors.clone(),
        );
        r.register(
            "request_latency_seconds",
            "Latency from the scheduled send time",
            m.latency.clone(),
        );
        r.register(
            "request_duration_seconds",
            "Latency from the scheduled send time, as a cumulative histogram (sum it across boards)",
            m.duration.clone(),
        );
        r.register(
            "phase_active",
            "1 for the running load phase",
            m.phase.clone(),
        );
        r.register(
            "target_rps",
            "Target arrival rate of the running phase",
            m.target_rps.clone(),
        );
        r.register(
            "users_active",
            "Virtual users alive in the running users (closed-model) phase",
            m.users_active.clone(),
        );
        r.register(
            "users_target",
            "Virtual users the running users phase is moving to",
            m.users_target.clone(),
        );
        r.register(
            "invalid_requests",
            "Invalid-input calls (invalid_pct) answered, by outcome: graceful, accepted, hang, crash",
            m.invalid.clone(),
        );
        r.register(
            "llm_output_tokens",
            "Output tokens streamed by LLM endpoints, per tool",
            m.llm_tokens.clone(),
        );
        r.register(
            "llm_ttft_seconds",
            "Time to first token over the last load window (send to the first content chunk)",
            m.llm_ttft.clone(),
        );
        r.register(
            "llm_itl_seconds",
            "Inter-token latency over the last load window (between content chunks)",
            m.llm_itl.clone(),
        );
        Metrics { registry: r, ..m }
    }

    /// Refresh every board gauge from a snapshot.
    pub fn update(&self, s: &Snapshot) {
        let mut seen = self.seen_zones.lock().expect("metrics lock");
        for z in &s.thermal {
            let l = ZoneLabels {
                zone: z.name.clone(),
                id: z.id.clone(),
            };
            self.zone_temp
                .get_or_create(&l)
                .set(z.temp_c.unwrap_or(f64::NAN));
            self.zone_online
                .get_or_create(&l)
                .set(if z.online { 1.0 } else { 0.0 });
            for t in &z.trips {
                let tl = TripLabels {
                    zone: z.name.clone(),
                    id: z.id.clone(),
                    kind: t.kind.clone(),
                };
                self.zone_trip.get_or_create(&tl).set(t.temp_c);
            }
            if !seen.contains(&l) {
                seen.push(l);
            }
        }
        for l in seen.iter() {
            if !s.thermal.iter().any(|z| z.id == l.id) {
                self.zone_temp.get_or_create(l).set(f64::NAN);
                self.zone_online.get_or_create(l).set(0.0);
            }
        }
        drop(seen);
        self.throttled
            .set(if s.throttle.throttled { 1.0 } else { 0.0 });
        let mb = |v: Option<f64>| v.map_or(f64::NAN, |x| x * 1024.0 * 1024.0);
        self.mem_total.set(mb(s.memory.total_mb));
        self.mem_available.set(mb(s.memory.available_mb));
        self.mem_used.set(mb(s.memory.used_mb));
        self.swap_used.set(mb(s.memory.swap_used_mb));
        self.nvmap.set(mb(s.memory.nvmap_mb));
        for w in &s.watched {
            let l = NameLabel {
                name: format!("{}:{}", w.name, watched_key_words(w.pid)),
            };
            self.watched_rss.get_or_create(&l).set(mb(w.rss_mb));
            self.watched_cpu
                .get_or_create(&l)
                .set(w.cpu_pct.map_or(f64::NAN, |c| c / 100.0));
            // Only entries that ever had GPU memory get a series (no NaN
            // series per process on a box without a GPU); one that loses it
            // reads NaN, not its last value.
            match w.gpu_mem_mb {
                Some(g) => {
                    self.watched_gpu.get_or_create(&l).set(mb(Some(g)));
                }
                None => {
                    if let Some(g) = self.watched_gpu.get(&l) {
                        g.set(f64::NAN);
                    }
                }
            }
        }
        self.cpu_util
            .set(s.cpu.util_pct.map_or(f64::NAN, |u| u / 100.0));
        for g in &s.gpus {
            let l = NameLabel {
                name: g.name.clone(),
            };
            self.gpu_load
                .get_or_create(&l)
                .set(g.load_pct.map_or(f64::NAN, |v| v / 100.0));
            self.gpu_freq
                .get_or_create(&l)
                .set(g.freq_mhz.map_or(f64::NAN, |v| v * 1e6));
        }
        for r in &s.power.rails {
            self.rail_watts
                .get_or_create(&NameLabel {
                    name: r.name.clone(),
                })
                .set(r.mw.map_or(f64::NAN, |v| v / 1000.0));
        }
        self.power_total
            .set(s.power.total_mw.map_or(f64::NAN, |v| v / 1000.0));
        for f in &s.fans {
            let l = NameLabel {
                name: f.name.clone(),
            };
            self.fan_pwm
                .get_or_create(&l)
                .set(f.pwm_pct.map_or(f64::NAN, |v| v / 100.0));
            self.fan_rpm
                .get_or_create(&l)
                .set(f.rpm.unwrap_or(f64::NAN));
        }
    }

    /// Throttle ETAs (`zone` is the shown name; `id` the prediction's zone key).
    pub fn update_predictions(&self, preds: &[ZonePrediction]) {
        for p in preds {
            let l = ZoneLabels {
                zone: p.zone.clone(),
                id: p.zone.clone(),
            };
            self.eta.get_or_create(&l).set(p.eta_s.unwrap_or(f64::NAN));
        }
    }

    /// The planned ETA after this snapshot (`None`: no planned phase runs).
    pub fn update_planned(&self, planned: Option<&ZonePrediction>) {
        self.eta_planned.clear();
        if let Some(p) = planned {
            let l = ZoneLabels {
                zone: p.zone.clone(),
                id: p.zone.clone(),
            };
            let eta = p.eta_s.filter(|_| p.status == Status::Ok);
            self.eta_planned
                .get_or_create(&l)
                .set(eta.unwrap_or(f64::NAN));
        }
    }

    /// One load window of one tool from the engine: counters grow by the
    /// window's counts; latency quantiles are the window's.
    pub fn add_window(&self, t: &crate::load::stats::ToolSummary) {
        let l = ToolLabels {
            tool: t.tool.clone(),
        };
        self.requests.get_or_create(&l).inc_by(t.count);
        for (kind, n) in &t.error_kinds {
            self.errors
                .get_or_create(&ErrorLabels {
                    tool: t.tool.clone(),
                    kind: kind.clone(),
                })
                .inc_by(*n);
        }
        if let Some(llm) = t.llm.as_ref().filter(|x| x.requests > 0) {
            self.llm_tokens.get_or_create(&l).inc_by(llm.output_tokens);
            for (family, p) in [(&self.llm_ttft, &llm.ttft_ms), (&self.llm_itl, &llm.itl_ms)] {
                for (q, v) in [("0.5", p.p50), ("0.95", p.p95), ("0.99", p.p99)] {
                    family
                        .get_or_create(&QuantileLabels {
                            tool: t.tool.clone(),
                            quantile: q.to_string(),
                        })
                        .set(v / 1000.0);
                }
            }
        }
        if t.count > 0 {
            self.duration.get_or_create(&l).add(&t.latency_buckets);
            for (q, v) in [
                ("0.5", t.latency_ms.p50),
                ("0.95", t.latency_ms.p95),
                ("0.99", t.latency_ms.p99),
                ("1", t.latency_ms.max),
            ] {
                self.latency
                    .get_or_create(&QuantileLabels {
                        tool: t.tool.clone(),
                        quantile: q.to_string(),
                    })
                    .set(v / 1000.0);
            }
        }
    }

    /// The running phase (`None` = idle) and its target rate.
    pub fn set_phase(&self, phase: Option<&str>, target_rps: Option<f64>) {
        self.phase.clear();
        if let Some(p) = phase {
            self.phase
                .get_or_create(&PhaseLabels {
                    phase: p.to_string(),
                })
                .set(1.0);
        }
        self.target_rps.set(target_rps.unwrap_or(0.0));
    }

    /// A window's invalid-input calls, by outcome.
    pub fn add_invalid(&self, c: &crate::load::InvalidCounts) {
        for o in crate::load::InvalidOutcome::ALL {
            self.invalid
                .get_or_create(&OutcomeLabels {
                    outcome: o.as_str().to_string(),
                })
                .inc_by(c.get(o));
        }
    }

    /// A users phase's population (`None`: no users phase runs; both 0).
    pub fn set_users(&self, active: Option<(u32, u32)>) {
        let (a, t) = active.unwrap_or((0, 0));
        self.users_active.set(f64::from(a));
        self.users_target.set(f64::from(t));
    }

    /// The exposition text.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        encode(&mut out, &self.registry).expect("writing to a String cannot fail");
        out
    }
}

/// Serve `/metrics` on `addr`; returns the bound address (port 0 picks one).
pub async fn serve(
    addr: SocketAddr,
    token: Option<String>,
    metrics: Arc<Metrics>,
) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    use axum::http::{header, HeaderMap, StatusCode};
    use axum::response::IntoResponse;
    use axum::routing::get;

    let listener = tokio::net::TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    let app = axum::Router::new().route(
        "/metrics",
        get(move |headers: HeaderMap| {
            let metrics = metrics.clone();
            let token = token.clone();
            async move {
                if let Some(t) = token.as_deref().filter(|t| !t.is_empty()) {
                    let given = headers
                        .get(header::AUTHORIZATION)
                        .and_then(|v| v.to_str().ok());
                    if !crate::export::auth::bearer_matches(given, t) {
                        return (StatusCode::UNAUTHORIZED, "missing or wrong bearer token\n")
                            .into_response();
                    }
                }
                (
                    [(
                        header::CONTENT_TYPE,
                        "application/openmetrics-text; version=1.0.0; charset=utf-8",
                    )],
                    metrics.encode(),
                )
                    .into_response()
            }
        }),
    );
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok((bound, task))
}
