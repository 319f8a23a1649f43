//! Acceptance criteria: what a run must show to PASS. Pure: [`evaluate`] takes
//! the run summary, what was observed on the board during the run
//! ([`Observations`], built by [`Observer`] from snapshots, their thermal
//! predictions and the load windows) and the limits ([`Criteria`], the
//! scenario's `[acceptance]` over the defaults), and returns one [`Verdict`]
//! per criterion. The observer's memory is fixed however long the run: a
//! ring of the last 300 s of ETAs, counters, and one entry per throttle onset.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::load::engine::{LoadWindow, PhaseSummary, RunSummary, StageSummary};
use crate::load::llm_stats::LlmSummary;
use crate::load::scenario::Acceptance;
use crate::load::schedule::PhaseKind;
use crate::load::stats::ToolSummary;
use crate::predict::thermal::ZonePrediction;
use crate::predict::Status;
use crate::snapshot::Snapshot;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Pass,
    Fail,
    NotMeasured,
    NotApplicable,
}

impl Outcome {
    /// The word a verdict line starts with.
    pub fn label(self) -> &'static str {
        match self {
            Outcome::Pass => "PASS",
            Outcome::Fail => "FAIL",
            Outcome::NotMeasured => "NOTMEASURED",
            Outcome::NotApplicable => "NOTAPPLICABLE",
        }
    }
}

/// One criterion's result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Verdict {
    pub name: String,
    pub verdict: Outcome,
    /// What was measured, with its unit (`"812.4 ms"`), or `null`.
    pub measured: Option<String>,
    /// The limit, with its unit (`"< 5000 ms"`).
    pub threshold: String,
    pub detail: String,
}

impl Verdict {
    /// One line for stderr: `PASS  p95_latency  812.4 ms (limit < 5000 ms) · detail`.
    pub fn line(&self) -> String {
        format!(
            "{:<15} {:<18} {} (limit {}) · {}",
            self.verdict.label(),
            self.name,
            self.measured.as_deref().unwrap_or("-"),
            self.threshold,
            self.detail
        )
    }
}

/// A limit as people write it: `0.1`, not `0.09999999999999432` (100 − 99.9).
fn num(v: f64) -> String {
    let t = format!("{v:.6}");
    t.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// The shortest soak whose RSS slope is judged as a leak (10 minutes).
pub const LEAK_MIN_SPAN_S: f64 = 600.0;

/// PASS when no criterion failed (not measured / not applicable do not fail a run).
pub fn overall(verdicts: &[Verdict]) -> bool {
    verdicts.iter().all(|v| v.verdict != Outcome::Fail)
}

/// The limits a run is judged against.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Criteria {
    pub max_p95_ms: f64,
    pub max_p99_ms: Option<f64>,
    pub max_error_pct: f64,
    pub max_dropped_pct: Option<f64>,
    pub max_leak_mb_per_h: f64,
    pub max_temp_c: Option<f64>,
    pub min_prediction_lead_s: f64,
    /// LLM limits: worst stage's p95 TTFT and TPOT, and goodput.
    pub max_ttft_ms: Option<f64>,
    pub max_tpot_ms: Option<f64>,
    pub min_goodput_pct: Option<f64>,
    /// Stress-test limits, each off unless set: the stdio servers' peak RSS
    /// per session, the lowest target uptime, p95 while throttled, the
    /// ETA error at throttle onsets and the alerts' precision.
    pub max_server_rss_mb: Option<f64>,
    pub min_uptime_pct: Option<f64>,
    pub max_p95_ms_throttled: Option<f64>,
    pub max_prediction_error_pct: Option<f64>,
    pub min_alert_precision_pct: Option<f64>,
}

impl Default for Criteria {
    fn default() -> Self {
        Criteria {
            max_p95_ms: 5000.0,
            max_p99_ms: None,
            max_error_pct: 1.0,
            max_dropped_pct: None,
            max_leak_mb_per_h: 10.0,
            max_temp_c: None,
            min_prediction_lead_s: 300.0,
            max_ttft_ms: None,
            max_tpot_ms: None,
            min_goodput_pct: None,
            max_server_rss_mb: None,
            min_uptime_pct: None,
            max_p95_ms_throttled: None,
            max_prediction_error_pct: None,
            min_alert_precision_pct: None,
        }
    }
}

impl Criteria {
    /// The scenario's `[acceptance]` over the defaults.
    pub fn from_acceptance(a: Option<&Acceptance>) -> Criteria {
        let d = Criteria::default();
        let Some(a) = a else { return d };
        Criteria {
            max_p95_ms: a.max_p95_ms.unwrap_or(d.max_p95_ms),
            max_p99_ms: a.max_p99_ms,
            max_error_pct: a
                .max_error_pct
                .or(a.min_success_pct.map(|s| 100.0 - s))
                .unwrap_or(d.max_error_pct),
            max_dropped_pct: a.max_dropped_pct,
            max_leak_mb_per_h: a.max_rss_slope_mb_per_h.unwrap_or(d.max_leak_mb_per_h),
            max_temp_c: a.max_temp_c,
            min_prediction_lead_s: a.min_prediction_lead_s.unwrap_or(d.min_prediction_lead_s),
            max_ttft_ms: a.max_ttft_ms,
            max_tpot_ms: a.max_tpot_ms,
            min_goodput_pct: a.min_goodput_pct,
            max_server_rss_mb: a.max_server_rss_mb,
            min_uptime_pct: a.min_uptime_pct,
            max_p95_ms_throttled: a.max_p95_ms_throttled,
            max_prediction_error_pct: a.max_prediction_error_pct,
            min_alert_precision_pct: a.min_alert_precision_pct,
        }
    }
}

/// A throttle seen during the run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ThrottleObs {
    /// Seconds since the run started.
    pub at_s: f64,
    pub reasons: Vec<String>,
    /// How long before `at_s` a throttle ETA had been predicted without a break;
    /// `None` when none was.
    pub predicted_lead_s: Option<f64>,
    /// Already throttled at the run's first snapshot: nothing could have predicted it.
    pub at_start: bool,
    /// Median error of the ETAs predicted 30–300 s before the onset (one per
    /// second, unthrottled, since the previous onset), each `|eta − true| / true` capped at 100 %, no ETA counting
    /// 100 % (as `predict-eval` scores, with the cap); `None` when no
    /// prediction was made in that span.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eta_error_pct: Option<f64>,
    /// As `predicted_lead_s`, for the forecast under the plan's load ahead
    /// (at this load while no planned phase ran); only where the run knew
    /// its plan: a live run, not a report rebuilt from a recording (which
    /// keeps its planned ETAs only when they change).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub predicted_lead_planned_s: Option<f64>,
    /// As `eta_error_pct`, for the forecast under the plan's load ahead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eta_error_planned_pct: Option<f64>,
}

/// The forecast under the plan's load ahead at one snapshot.
#[derive(Debug, Clone, Copy)]
pub enum Planned<'a> {
    /// Not known: a report rebuilt from a recording, which keeps no plan.
    Unknown,
    /// No planned phase runs: the load ahead is this load.
    Idle,
    /// The planned prediction of the zone nearest its trip.
    Zone(&'a ZonePrediction),
}

/// Load while the board was throttled: the load windows that ended while
/// the latest snapshot showed throttling.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ThrottledLoad {
    /// Such windows with load (a phase running or a request answered).
    pub windows: u64,
    /// The worst p95 latency among those windows that answered a request, ms.
    pub worst_p95_ms: Option<f64>,
}

/// Alerts: episodes of a throttle forecast under [`ALERT_ETA_S`] (status Ok,
/// board not throttled), from the first such forecast to the first without
/// one. An episode is a hit when a throttle onset came before its deadline
/// (the latest time any of its forecasts allowed: the forecast's time plus
/// the upper end of its ETA range, or 1.5 × its ETA without one; an onset
/// first seen at a snapshot counts from the snapshot before), a false alarm
/// when the deadline passed first or the run ended before it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Alerts {
    pub episodes: u64,
    pub hits: u64,
    /// Decided false alarms plus the episodes still undecided (as if the run ended here).
    pub false_alarms: u64,
    /// hits / (hits + false alarms), %; `None` without an alert.
    pub precision_pct: Option<f64>,
    /// Onsets (not those at the start) that made an episode a hit, % of
    /// onsets; `None` without an onset.
    pub recall_pct: Option<f64>,
}

/// What the board showed during the run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Observations {
    pub snapshots: u64,
    pub throttled_snapshots: u64,
    /// Onsets of throttling (a throttled snapshot after an unthrottled one).
    pub throttle_events: Vec<ThrottleObs>,
    pub max_temp_c: Option<f64>,
    /// Zone with the highest temperature seen.
    pub max_temp_zone: Option<String>,
    #[serde(default)]
    pub throttled_load: ThrottledLoad,
    #[serde(default)]
    pub alerts: Alerts,
}

/// An alert is a throttle ETA under this many seconds (as `predict-eval`'s).
pub const ALERT_ETA_S: f64 = crate::report::predict_eval::ALERT_ETA_S;
/// An onset's ETA error is scored over the predictions made this long before it…
pub const ETA_ERROR_FROM_S: f64 = 30.0;
/// …up to this long before it.
pub const ETA_ERROR_TO_S: f64 = 300.0;
/// One ETA per second over [`ETA_ERROR_TO_S`], the newest included.
const ETA_RING: usize = ETA_ERROR_TO_S as usize + 1;
/// Alert episodes awaiting their deadline; past this many, a new one joins
/// the one whose deadline is nearest (and keeps the later deadline).
const PENDING_ALERTS: usize = 32;

/// The board's throttle forecast after one snapshot: the soonest ETA of a
/// zone whose prediction is Ok, with the upper end of its range.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Forecast {
    eta_s: f64,
    hi_s: Option<f64>,
}

impl Forecast {
    fn soonest(preds: &[ZonePrediction]) -> Option<Forecast> {
        preds
            .iter()
            .filter(|p| p.status == Status::Ok)
            .filter_map(|p| {
                p.eta_s.filter(|e| e.is_finite()).map(|eta_s| Forecast {
                    eta_s,
                    hi_s: p.hi_s.filter(|h| h.is_finite()),
                })
            })
            .min_by(|a, b| a.eta_s.total_cmp(&b.eta_s))
    }

    /// When an alert made at `t_s` from this forecast expires.
    fn deadline(self, t_s: f64) -> f64 {
        t_s + self.hi_s.unwrap_or(self.eta_s * 1.5)
    }
}

/// The last [`ETA_RING`] forecasts, at most one a second: `(t, ETA)`.
#[derive(Debug)]
struct EtaRing {
    slots: [(f64, Option<f64>); ETA_RING],
    next: usize,
    len: usize,
}

impl Default for EtaRing {
    fn default() -> Self {
        EtaRing {
            slots: [(0.0, None); ETA_RING],
            next: 0,
            len: 0,
        }
    }
}

impl EtaRing {
    fn clear(&mut self) {
        self.len = 0;
    }

    /// Keep `(t, eta)` unless the newest entry is under a second old.
    fn push(&mut self, t_s: f64, eta_s: Option<f64>) {
        if self.len > 0 {
            let newest = self.slots[(self.next + ETA_RING - 1) % ETA_RING].0;
            if t_s - newest < 1.0 {
                return;
            }
        }
        self.slots[self.next] = (t_s, eta_s);
        self.next = (self.next + 1) % ETA_RING;
        self.len = (self.len + 1).min(ETA_RING);
    }

    /// The median error (nearest rank) of the ETAs made 30–300 s before an
    /// onset at `at_s`; `None` when none was.
    fn error_at(&self, at_s: f64) -> Option<f64> {
        let mut errs = [0.0; ETA_RING];
        let mut n = 0;
        // The newest `len` entries end just before `next`.
        let kept = (0..self.len).map(|k| self.slots[(self.next + ETA_RING - 1 - k) % ETA_RING]);
        for (t, eta) in kept {
            let r = at_s - t;
            if (ETA_ERROR_FROM_S..=ETA_ERROR_TO_S).contains(&r) {
                errs[n] = eta_error_pct(eta, r);
                n += 1;
            }
        }
        let errs = &mut errs[..n];
        errs.sort_by(f64::total_cmp);
        crate::report::predict_eval::percentile(errs, 0.5)
    }
}

/// One ETA's error against the true remaining time `r_s`, % capped at 100;
/// no ETA counts 100.
fn eta_error_pct(eta_s: Option<f64>, r_s: f64) -> f64 {
    eta_s.map_or(100.0, |e| ((e - r_s).abs() / r_s * 100.0).min(100.0))
}

/// Alert episodes as they happen: the open one and those awaiting their
/// deadline, in fixed memory.
#[derive(Debug, Default)]
struct AlertTracker {
    /// The deadline of the episode now standing.
    open: Option<f64>,
    /// `(deadline, episodes)` of closed episodes not yet decided.
    pending: [(f64, u64); PENDING_ALERTS],
    pending_len: usize,
    /// Onsets judged (not at the start), and those an episode foresaw.
    onsets: u64,
    recalled: u64,
    /// The previous snapshot's time: an onset first seen at `t` may have
    /// begun just after it.
    last_t: Option<f64>,
}

impl AlertTracker {
    fn close_open(&mut self) {
        let Some(d) = self.open.take() else { return };
        if self.pending_len < PENDING_ALERTS {
            self.pending[self.pending_len] = (d, 1);
            self.pending_len += 1;
        } else if let Some(near) = self
            .pending
            .iter_mut()
            .min_by(|a, b| (a.0 - d).abs().total_cmp(&(b.0 - d).abs()))
        {
            near.0 = near.0.max(d);
            near.1 += 1;
        }
    }

    /// Drop the undecided episodes `keep` says no to; returns how many episodes went.
    fn retain(&mut self, keep: impl Fn(f64) -> bool) -> u64 {
        let mut gone = 0;
        let mut i = 0;
        while i < self.pending_len {
            if keep(self.pending[i].0) {
                i += 1;
            } else {
                gone += self.pending[i].1;
                self.pending_len -= 1;
                self.pending[i] = self.pending[self.pending_len];
            }
        }
        gone
    }

    /// One snapshot at `t_s`: `onset` when the board just started to throttle
    /// (`at_start` when that is the run's first snapshot), `throttled` now,
    /// and the forecast made after it.
    fn observe(
        &mut self,
        a: &mut Alerts,
        t_s: f64,
        onset: Option<bool>,
        throttled: bool,
        forecast: Option<Forecast>,
    ) {
        // Deadlines that passed: those episodes are false alarms (they
        // already count as such), and so is a standing one whose forecasts
        // all expired before this snapshot. An onset seen now may have
        // begun right after the previous snapshot: deadlines since then count.
        let passed = match onset {
            Some(_) => self.last_t.unwrap_or(t_s),
            None => t_s,
        };
        self.last_t = Some(t_s);
        if self.open.is_some_and(|d| d < passed) {
            self.open = None;
        }
        self.retain(|d| d >= passed);
        if let Some(at_start) = onset {
            let open = u64::from(self.open.take().is_some());
            let hits = open + self.retain(|_| false);
            a.hits += hits;
            a.false_alarms -= hits;
            if !at_start {
                self.onsets += 1;
                self.recalled += u64::from(hits > 0);
            }
        }
        // A forecast made while throttled does not foresee an onset.
        match forecast.filter(|f| f.eta_s < ALERT_ETA_S && !throttled) {
            Some(f) => {
                if self.open.is_none() {
                    a.episodes += 1;
                    a.false_alarms += 1;
                }
                // The episode's deadline is the latest any of its forecasts
                // allowed: near the onset the range shrinks towards now.
                let d = f.deadline(t_s);
                self.open = Some(self.open.map_or(d, |o| o.max(d)));
            }
            None => self.close_open(),
        }
        let judged = a.hits + a.false_alarms;
        a.precision_pct = (judged > 0).then(|| a.hits as f64 * 100.0 / judged as f64);
        a.recall_pct = (self.onsets > 0).then(|| self.recalled as f64 * 100.0 / self.onsets as f64);
    }
}

/// Builds [`Observations`] from the snapshot stream, from the thermal
/// predictions made on it (the session's [`crate::predict::Predictors`])
/// whether a throttle was predicted, how early and how well, and from the
/// load windows the latency while the board was throttled. Snapshots and
/// windows are fed in the order they happened (the live run's, which is
/// also a recording's line order).
#[derive(Debug, Default)]
pub struct Observer {
    obs: Observations,
    warned_since: Option<f64>,
    was_throttled: bool,
    /// Boxed: a few KiB that would otherwise sit inside every future
    /// holding the session's sinks.
    etas: Box<EtaRing>,
    alerts: Box<AlertTracker>,
    /// The same two for the forecast under the plan's load ahead.
    warned_planned_since: Option<f64>,
    etas_planned: Box<EtaRing>,
}

/// Since when a forecast has stood without a break: set when one is shown,
/// kept while the board is throttled, cleared once none is shown unthrottled.
fn hold_since(since: &mut Option<f64>, warned: bool, throttled: bool, t_s: f64) {
    if warned {
        since.get_or_insert(t_s);
    } else if !throttled {
        *since = None;
    }
}

impl Observer {
    /// `t_s`: seconds since the run started; `preds`: the thermal predictions
    /// after this snapshot; `planned`: the forecast under the plan's load ahead.
    pub fn observe(
        &mut self,
        t_s: f64,
        s: &Snapshot,
        preds: &[ZonePrediction],
        planned: Planned<'_>,
    ) {
        self.obs.snapshots += 1;
        for z in s.thermal.iter().filter(|z| z.online) {
            if let Some(t) = z.temp_c.filter(|t| t.is_finite()) {
                if self.obs.max_temp_c.is_none_or(|m| t > m) {
                    self.obs.max_temp_c = Some(t);
                    self.obs.max_temp_zone = Some(z.name.clone());
                }
            }
        }
        let warned = preds
            .iter()
            .any(|p| p.status == Status::Ok && p.eta_s.is_some());
        let forecast = Forecast::soonest(preds);
        // The planned ETA: the plan's zone, or this load's while none is planned.
        let planned_eta = match planned {
            Planned::Unknown => None,
            Planned::Idle => Some(forecast.map(|f| f.eta_s)),
            Planned::Zone(p) => Some(p.eta_s.filter(|e| p.status == Status::Ok && e.is_finite())),
        };
        let mut onset = None;
        if s.throttle.throttled {
            self.obs.throttled_snapshots += 1;
            if !self.was_throttled {
                let at_start = self.obs.snapshots == 1;
                onset = Some(at_start);
                self.obs.throttle_events.push(ThrottleObs {
                    at_s: t_s,
                    reasons: s.throttle.reasons.clone(),
                    predicted_lead_s: self.warned_since.map(|w| t_s - w),
                    at_start,
                    eta_error_pct: self.etas.error_at(t_s),
                    predicted_lead_planned_s: self.warned_planned_since.map(|w| t_s - w),
                    // Nothing is pushed while the plan is unknown: then `None`.
                    eta_error_planned_pct: self.etas_planned.error_at(t_s),
                });
            }
        }
        self.was_throttled = s.throttle.throttled;
        let throttled = s.throttle.throttled;
        hold_since(&mut self.warned_since, warned, throttled, t_s);
        let warned_planned = matches!(planned_eta, Some(Some(_)));
        hold_since(
            &mut self.warned_planned_since,
            warned_planned,
            throttled,
            t_s,
        );
        // Predictions made after this snapshot are scored at the next onset:
        // those made before an earlier onset, or while throttled, were not
        // about it.
        if onset.is_some() {
            self.etas.clear();
            self.etas_planned.clear();
        }
        if !preds.is_empty() && !s.throttle.throttled {
            self.etas.push(t_s, forecast.map(|f| f.eta_s));
            if let Some(eta) = planned_eta {
                self.etas_planned.push(t_s, eta);
            }
        }
        self.alerts.observe(
            &mut self.obs.alerts,
            t_s,
            onset,
            s.throttle.throttled,
            forecast,
        );
    }

    /// A load window that just ended: counted against the board's state at
    /// the latest snapshot.
    pub fn observe_window(&mut self, w: &LoadWindow) {
        if !self.was_throttled || (w.phase.is_none() && w.all.count == 0) {
            return;
        }
        let l = &mut self.obs.throttled_load;
        l.windows += 1;
        if w.all.count > 0 {
            let p95 = w.all.latency_ms.p95;
            if l.worst_p95_ms.is_none_or(|m| p95 > m) {
                l.worst_p95_ms = Some(p95);
            }
        }
    }

    pub fn observations(&self) -> &Observations {
        &self.obs
    }
}

/// True for the stage a stress phase broke at: its numbers are the finding,
/// not a failure of the run's own limits.
fn is_breaking_stage(p: &PhaseSummary, i: usize) -> bool {
    p.breaking_point.as_ref().is_some_and(|b| b.found) && i + 1 == p.stages.len()
}

/// Stages the latency and error limits apply to, with their phase. A
/// sweep's stages are not: pushing past what the server sustains is its
/// purpose (the `sweep` criterion judges it).
pub fn judged_stages(s: &RunSummary) -> impl Iterator<Item = (&PhaseSummary, &StageSummary)> {
    s.phases
        .iter()
        .filter(|p| p.kind != PhaseKind::Sweep)
        .flat_map(|p| {
            p.stages
                .iter()
                .enumerate()
                .filter(move |(i, st)| !is_breaking_stage(p, *i) && st.all.count > 0)
                .map(move |(_, st)| (p, st))
        })
}

/// The load a stage offered, as a reader says it: its users in a closed
/// stage, its target rate in an open one.
pub(crate) fn load_level(st: &StageSummary) -> String {
    match st.users {
        Some(u) => format!("{u} users"),
        None => format!("{:.1} rps", st.target_rate),
    }
}

fn verdict(
    name: &str,
    ok: bool,
    measured: Option<String>,
    threshold: String,
    detail: String,
) -> Verdict {
    Verdict {
        name: name.into(),
        verdict: if ok { Outcome::Pass } else { Outcome::Fail },
        measured,
        threshold,
        detail,
    }
}

fn other(name: &str, o: Outcome, threshold: String, detail: &str) -> Verdict {
    Verdict {
        name: name.into(),
        verdict: o,
        measured: None,
        threshold,
        detail: detail.into(),
    }
}

fn worst_stage(
    s: &RunSummary,
    key: impl Fn(&StageSummary) -> f64,
) -> Option<(f64, &PhaseSummary, &StageSummary)> {
    judged_stages(s)
        .map(|(p, st)| (key(st), p, st))
        .max_by(|a, b| a.0.total_cmp(&b.0))
}

fn latency(name: &str, s: &RunSummary, limit: f64, key: impl Fn(&StageSummary) -> f64) -> Verdict {
    let threshold = format!("< {} ms", num(limit));
    match worst_stage(s, key) {
        None => other(
            name,
            Outcome::NotMeasured,
            threshold,
            "no requests completed",
        ),
        Some((v, p, st)) => verdict(
            name,
            v < limit,
            Some(format!("{v:.1} ms")),
            threshold,
            format!("worst stage: {}/{} at {}", p.name, st.name, load_level(st)),
        ),
    }
}

/// Judge a run. The stage a stress phase broke at is left out of the latency
/// and error limits (finding it is the point of the phase).
#[expect(clippy::too_many_lines, reason = "one block per acceptance criterion")]
pub fn evaluate(s: &RunSummary, o: &Observations, c: &Criteria) -> Vec<Verdict> {
    let mut out = vec![latency("p95_latency", s, c.max_p95_ms, |st| {
        st.all.latency_ms.p95
    })];
    if let Some(limit) = c.max_p99_ms {
        out.push(latency("p99_latency", s, limit, |st| st.all.latency_ms.p99));
    }

    let (count, errors, dropped) = judged_stages(s).fold((0, 0, 0), |(c, e, d), (_, st)| {
        (c + st.all.count, e + st.all.errors, d + st.dropped)
    });
    let threshold = format!("< {} %", num(c.max_error_pct));
    out.push(if count == 0 {
        other("error_rate", Outcome::NotMeasured, threshold, "no requests")
    } else {
        let pct = errors as f64 * 100.0 / count as f64;
        verdict(
            "error_rate",
            pct < c.max_error_pct,
            Some(format!("{pct:.2} %")),
            threshold,
            format!("{errors} of {count} requests failed or were dropped"),
        )
    });
    if let Some(limit) = c.max_dropped_pct {
        let threshold = format!("< {} %", num(limit));
        out.push(if count == 0 {
            other("dropped", Outcome::NotMeasured, threshold, "no requests")
        } else {
            let pct = dropped as f64 * 100.0 / count as f64;
            verdict(
                "dropped",
                pct < limit,
                Some(format!("{pct:.2} %")),
                threshold,
                format!("{dropped} of {count} requests dropped (max in flight reached)"),
            )
        });
    }

    let (failures, restarts) = s
        .targets
        .iter()
        .fold((0, 0), |(f, r), t| (f + t.failures, r + t.restarts));
    let hit: Vec<String> = s
        .targets
        .iter()
        .filter(|t| t.failures + t.restarts > 0)
        .map(|t| match &t.connect_error {
            Some(why) => format!("{}: never connected ({why})", t.name),
            None => format!("{}: {} died, {} restarted", t.name, t.failures, t.restarts),
        })
        .collect();
    out.push(verdict(
        "no_target_crash",
        failures + restarts == 0,
        Some(format!("{failures} died, {restarts} restarted")),
        "0 died, 0 restarted".into(),
        if hit.is_empty() {
            format!("{} target(s) stayed up", s.targets.len())
        } else {
            hit.join("; ")
        },
    ));

    if let Some(v) = invalid_inputs(s) {
        out.push(v);
    }
    out.extend(llm_limits(s, c));
    out.extend(sweeps(s));

    let threshold = format!("< {} MB/h", num(c.max_leak_mb_per_h));
    // A slope over a few minutes is a server warming up, not a leak: only
    // soaks of at least LEAK_MIN_SPAN_S are judged.
    let soaks: Vec<(&str, f64, Option<f64>)> = s
        .phases
        .iter()
        .filter_map(|p| {
            p.soak
                .as_ref()
                .map(|k| (p.name.as_str(), p.duration_s, k.rss_slope_mb_per_h))
        })
        .collect();
    let slopes: Vec<(&str, f64)> = soaks
        .iter()
        .filter(|(_, d, _)| *d >= LEAK_MIN_SPAN_S)
        .filter_map(|(n, _, v)| v.map(|v| (*n, v)))
        .collect();
    let longest = soaks.iter().map(|(_, d, _)| *d).fold(0.0, f64::max);
    out.push(match slopes.iter().max_by(|a, b| a.1.total_cmp(&b.1)) {
        Some((phase, v)) => verdict(
            "memory_leak",
            *v < c.max_leak_mb_per_h,
            Some(format!("{v:.1} MB/h")),
            threshold,
            format!("RSS slope of the watched target processes in soak phase {phase}"),
        ),
        None if soaks.is_empty() => other(
            "memory_leak",
            Outcome::NotMeasured,
            threshold,
            "no soak phase ran",
        ),
        None if longest < LEAK_MIN_SPAN_S => other(
            "memory_leak",
            Outcome::NotMeasured,
            threshold,
            &format!(
                "the longest soak ran {longest:.0} s; a slope over less than {:.0} min is start-up growth, not a leak",
                LEAK_MIN_SPAN_S / 60.0
            ),
        ),
        None => other(
            "memory_leak",
            Outcome::NotMeasured,
            threshold,
            "no stdio target's RSS was watched",
        ),
    });

    out.push(if o.snapshots == 0 {
        other(
            "no_throttling",
            Outcome::NotMeasured,
            "0 throttled snapshots".into(),
            "no snapshots",
        )
    } else {
        verdict(
            "no_throttling",
            o.throttled_snapshots == 0,
            Some(format!(
                "{} of {} snapshots throttled",
                o.throttled_snapshots, o.snapshots
            )),
            "0 throttled snapshots".into(),
            match o.throttle_events.first() {
                None => "no throttling seen".into(),
                Some(t) => format!(
                    "{} onset(s), first at {:.0} s ({})",
                    o.throttle_events.len(),
                    t.at_s,
                    t.reasons.join(", ")
                ),
            },
        )
    });
    if let Some(limit) = c.max_temp_c {
        let threshold = format!("< {} °C", num(limit));
        out.push(match o.max_temp_c {
            None => other(
                "max_temperature",
                Outcome::NotMeasured,
                threshold,
                "no temperatures read",
            ),
            Some(t) => verdict(
                "max_temperature",
                t < limit,
                Some(format!("{t:.1} °C")),
                threshold,
                format!(
                    "hottest zone: {}",
                    o.max_temp_zone.as_deref().unwrap_or("?")
                ),
            ),
        });
    }

    let stops: Vec<_> = s
        .guard_events
        .iter()
        .filter(|g| g.action == "stop_all")
        .collect();
    out.push(verdict(
        "no_guard_stop",
        stops.is_empty(),
        Some(format!("{} stop(s)", stops.len())),
        "0 stops".into(),
        match stops.first() {
            None => format!(
                "{} guard action(s), none stopped the load",
                s.guard_events.len()
            ),
            Some(g) => format!("{} guard: {}", g.guard, g.message),
        },
    ));

    let threshold = format!(">= {} s ahead", num(c.min_prediction_lead_s));
    let onsets: Vec<&ThrottleObs> = o.throttle_events.iter().filter(|t| !t.at_start).collect();
    out.push(if o.throttle_events.is_empty() {
        other(
            "throttle_predicted",
            Outcome::NotApplicable,
            threshold,
            "no throttle happened",
        )
    } else if onsets.is_empty() {
        other(
            "throttle_predicted",
            Outcome::NotApplicable,
            threshold,
            "the board was already throttled when the run started",
        )
    } else {
        let worst = onsets
            .iter()
            .map(|t| t.predicted_lead_s.unwrap_or(0.0))
            .fold(f64::INFINITY, f64::min);
        let unpredicted = onsets
            .iter()
            .filter(|t| t.predicted_lead_s.is_none())
            .count();
        verdict(
            "throttle_predicted",
            worst >= c.min_prediction_lead_s,
            Some(format!("{worst:.0} s")),
            threshold,
            format!(
                "{} throttle onset(s) during the run, {unpredicted} without any prior prediction",
                onsets.len()
            ),
        )
    });
    out.extend(stress_limits(s, o, c));
    out
}

/// The stress-test limits that are set: the stdio servers' RSS, the
/// targets' uptime, p95 while throttled, the ETA error at throttle onsets
/// and the alerts' precision.
#[expect(clippy::too_many_lines, reason = "one block per limit")]
fn stress_limits(s: &RunSummary, o: &Observations, c: &Criteria) -> Vec<Verdict> {
    let mut out = Vec::new();
    if let Some(limit) = c.max_server_rss_mb {
        let threshold = format!("< {} MB", num(limit));
        let peak = s
            .targets
            .iter()
            .filter(|t| t.kind == "stdio")
            .filter_map(|t| t.rss_mb_per_session.map(|m| (m, t)))
            .max_by(|a, b| a.0.max.total_cmp(&b.0.max));
        out.push(match peak {
            None => other(
                "server_rss",
                Outcome::NotMeasured,
                threshold,
                "no stdio target's server RSS was read during load",
            ),
            Some((m, t)) => verdict(
                "server_rss",
                m.max < limit,
                Some(format!("{:.1} MB", m.max)),
                threshold,
                format!(
                    "{}: peak RSS of one session's server process over the load windows (mean {:.1} MB, {} session(s))",
                    t.name, m.mean, t.sessions
                ),
            ),
        });
    }
    if let Some(min) = c.min_uptime_pct {
        let threshold = format!(">= {min} %");
        let lowest = s
            .targets
            .iter()
            .filter_map(|t| t.uptime_pct.map(|u| (u, t)))
            .min_by(|a, b| a.0.total_cmp(&b.0));
        out.push(match lowest {
            None => other(
                "uptime",
                Outcome::NotMeasured,
                threshold,
                "no MCP target's uptime was measured",
            ),
            Some((u, t)) => verdict(
                "uptime",
                u >= min,
                Some(format!("{u:.2} %")),
                threshold,
                match &t.connect_error {
                    Some(_) => format!("{}: never connected", t.name),
                    None => format!(
                        "{}: sessions down {:.1} s in all ({} died, {} restarted) over {} session(s)",
                        t.name, t.down_s, t.failures, t.restarts, t.sessions
                    ),
                },
            ),
        });
    }
    if let Some(limit) = c.max_p95_ms_throttled {
        let threshold = format!("< {} ms", num(limit));
        let l = &o.throttled_load;
        out.push(match (l.windows, l.worst_p95_ms) {
            (0, _) => other(
                "p95_throttled",
                Outcome::NotApplicable,
                threshold,
                "the board was not throttled while load ran",
            ),
            (n, None) => other(
                "p95_throttled",
                Outcome::NotMeasured,
                threshold,
                &format!(
                    "no request was answered in the {n} load window(s) that ended while throttled"
                ),
            ),
            (n, Some(p95)) => verdict(
                "p95_throttled",
                p95 < limit,
                Some(format!("{p95:.1} ms")),
                threshold,
                format!(
                    "worst p95 of the {n} load window(s) that ended while the board was throttled"
                ),
            ),
        });
    }
    if let Some(limit) = c.max_prediction_error_pct {
        let threshold = format!("< {} %", num(limit));
        let onsets: Vec<&ThrottleObs> = o.throttle_events.iter().filter(|t| !t.at_start).collect();
        let scored: Vec<f64> = onsets.iter().filter_map(|t| t.eta_error_pct).collect();
        out.push(if onsets.is_empty() {
            other(
                "prediction_error",
                Outcome::NotApplicable,
                threshold,
                "no throttle onset during the run",
            )
        } else if scored.is_empty() {
            other(
                "prediction_error",
                Outcome::NotMeasured,
                threshold,
                &format!(
                    "no prediction was made {ETA_ERROR_FROM_S:.0}–{ETA_ERROR_TO_S:.0} s before any of the {} onset(s)",
                    onsets.len()
                ),
            )
        } else {
            let mean = scored.iter().sum::<f64>() / scored.len() as f64;
            verdict(
                "prediction_error",
                mean < limit,
                Some(format!("{mean:.1} %")),
                threshold,
                format!(
                    "mean over {} of {} onset(s) of the median |ETA − true| / true of the predictions {ETA_ERROR_FROM_S:.0}–{ETA_ERROR_TO_S:.0} s before (capped at 100 %, no ETA 100 %)",
                    scored.len(),
                    onsets.len()
                ),
            )
        });
    }
    if let Some(min) = c.min_alert_precision_pct {
        let threshold = format!(">= {min} %");
        let a = &o.alerts;
        out.push(match a.precision_pct {
            None => other(
                "alert_precision",
                Outcome::NotApplicable,
                threshold,
                &format!("no alert (a throttle forecast under {ALERT_ETA_S:.0} s) during the run"),
            ),
            Some(p) => verdict(
                "alert_precision",
                p >= min,
                Some(format!("{p:.1} %")),
                threshold,
                format!(
                    "{} alert(s): {} followed by a throttle onset in time, {} false alarm(s); recall {}",
                    a.episodes,
                    a.hits,
                    a.false_alarms,
                    a.recall_pct
                        .map_or_else(|| "- (no onset)".into(), |r| format!("{r:.0} % of onsets"))
                ),
            ),
        });
    }
    out
}

/// Each sweep found a good rate (goodput or success at least its
/// `min_good_pct`); a measuring part with no rates phase after it (stopped,
/// or no request succeeded) found none.
fn sweeps(s: &RunSummary) -> Vec<Verdict> {
    let unfinished = s
        .phases
        .iter()
        .filter(|p| p.kind == PhaseKind::Sweep && p.sweep.is_none())
        .filter(|p| {
            let rates = format!("{} rates", p.name);
            !s.phases.iter().any(|q| q.name == rates && q.sweep.is_some())
        })
        .map(|p| {
            verdict(
                "sweep",
                false,
                None,
                "a good rate".into(),
                format!(
                    "{}: {} before any rate was tried (no successful request one at a time or at full concurrency, or stopped)",
                    p.name, p.status
                ),
            )
        });
    s.phases
        .iter()
        .filter_map(|p| p.sweep.as_ref().map(|k| (p, k)))
        .map(|(p, k)| {
            let threshold = format!("a rate with >= {} % good", k.min_good_pct);
            match k.best_rate_rps {
                Some(best) => verdict(
                    "sweep",
                    true,
                    Some(format!("{best:.2} rps")),
                    threshold,
                    match k.best_users {
                        Some(u) => format!(
                            "{}: best good {u} users at {best:.2} rps (one user {:.2} rps, most {:.2} rps)",
                            p.name, k.synchronous_rps, k.throughput_rps
                        ),
                        None => format!(
                            "{}: best good rate {best:.2} rps (one at a time {:.2} rps, at full concurrency {:.2} rps)",
                            p.name, k.synchronous_rps, k.throughput_rps
                        ),
                    },
                ),
                None => verdict(
                    "sweep",
                    false,
                    None,
                    threshold,
                    format!("{}: no rate of {} was good", p.name, k.points.len()),
                ),
            }
        })
        .chain(unfinished)
        .collect()
}

/// `worst: chat in stress/stage 3 at 4.0 rps`.
fn worst_llm(t: &ToolSummary, p: &PhaseSummary, st: &StageSummary) -> String {
    format!(
        "worst: {} in {}/{} at {}",
        t.tool,
        p.name,
        st.name,
        load_level(st)
    )
}

/// The LLM limits that are set: the worst judged stage's p95 TTFT and
/// TPOT, and its goodput (requests meeting both).
fn llm_limits(s: &RunSummary, c: &Criteria) -> Vec<Verdict> {
    let rows = || {
        judged_stages(s).flat_map(|(p, st)| {
            st.tools
                .iter()
                .filter_map(move |t| t.llm.as_ref().map(|l| (p, st, t, l)))
                .filter(|(_, _, _, l)| l.requests > 0)
        })
    };
    let mut out = Vec::new();
    let mut limit = |name: &str, max: Option<f64>, key: &dyn Fn(&LlmSummary) -> f64| {
        let Some(max) = max else { return };
        let threshold = format!("< {max} ms");
        let worst = rows()
            .map(|(p, st, t, l)| (key(l), p, st, t))
            .max_by(|a, b| a.0.total_cmp(&b.0));
        out.push(match worst {
            None => other(
                name,
                Outcome::NotMeasured,
                threshold,
                "no LLM request answered",
            ),
            Some((v, p, st, t)) => verdict(
                name,
                v < max,
                Some(format!("{v:.1} ms")),
                threshold,
                worst_llm(t, p, st),
            ),
        });
    };
    limit("ttft_p95", c.max_ttft_ms, &|l| l.ttft_ms.p95);
    limit("tpot_p95", c.max_tpot_ms, &|l| l.tpot_ms.p95);
    if let Some(min) = c.min_goodput_pct {
        let threshold = format!(">= {min} %");
        let worst = rows()
            .filter_map(|(p, st, t, l)| l.goodput_pct.map(|g| (g, p, st, t)))
            .min_by(|a, b| a.0.total_cmp(&b.0));
        out.push(match worst {
            None => other(
                "goodput",
                Outcome::NotMeasured,
                threshold,
                "no LLM request answered, or no max_ttft_ms / max_tpot_ms to judge them by",
            ),
            Some((g, p, st, t)) => verdict(
                "goodput",
                g >= min,
                Some(format!("{g:.1} %")),
                threshold,
                worst_llm(t, p, st),
            ),
        });
    }
    out
}

/// Invalid inputs (`invalid_pct`) must be answered: none hung or crashed
/// the server. A normal result to one is reported (the server does not
/// validate) but fails nothing: `jetstress check` is the judge of that.
/// `None` when no phase sent any.
fn invalid_inputs(s: &RunSummary) -> Option<Verdict> {
    let mut all = crate::load::InvalidCounts::default();
    let mut any = false;
    for inv in s.phases.iter().filter_map(|p| p.invalid.as_ref()) {
        any = true;
        all.merge(&inv.counts);
    }
    if !any {
        return None;
    }
    Some(verdict(
        "invalid_inputs",
        all.hang + all.crash == 0,
        Some(format!("{} hang, {} crash", all.hang, all.crash)),
        "0 hang, 0 crash".into(),
        format!(
            "{} invalid calls: {} graceful, {} accepted (not validated)",
            all.sent, all.graceful, all.accepted
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::engine::{
        BreakingPoint, GuardAction, GuardEvent, GuardKind, LoadModel, SoakReport, SoakVerdict,
        TargetSummary,
    };
    use crate::load::stats::{Percentiles, ToolSummary};

    fn tool(name: &str, count: u64, errors: u64, p95: f64) -> ToolSummary {
        ToolSummary {
            tool: name.into(),
            count,
            errors,
            error_kinds: Default::default(),
            latency_ms: Percentiles {
                min: p95 / 10.0,
                p50: p95 / 2.0,
                p90: p95 * 0.9,
                p95,
                p99: p95 * 1.2,
                max: p95 * 1.5,
                mean: p95 / 2.0,
            },
            service_ms: Percentiles::default(),
            rps: 10.0,
            ..Default::default()
        }
    }

    fn stage(name: &str, rate: f64, count: u64, errors: u64, p95: f64) -> StageSummary {
        StageSummary {
            name: name.into(),
            target_rate: rate,
            achieved_rate: rate,
            duration_s: 10.0,
            scheduled: count,
            dropped: 0,
            all: tool("all", count, errors, p95),
            tools: vec![tool("t:a", count, errors, p95)],
            ..Default::default()
        }
    }

    fn phase(kind: &str, stages: Vec<StageSummary>) -> PhaseSummary {
        PhaseSummary {
            name: kind.into(),
            kind: kind.parse().unwrap(),
            started_s: 0.0,
            duration_s: 10.0,
            status: "completed".into(),
            model: LoadModel::default(),
            arrivals: None,
            users: None,
            scalability: None,
            stages,
            whole: Vec::new(),
            breaking_point: None,
            spike: None,
            soak: None,
            invalid: None,
            sweep: None,
        }
    }

    pub(crate) fn passing_summary() -> RunSummary {
        let mut soak = phase("soak", vec![stage("hold", 5.0, 3000, 2, 40.0)]);
        // An hour: long enough for its RSS slope to be judged.
        soak.duration_s = 3600.0;
        soak.soak = Some(SoakReport {
            rows: vec![],
            latency_slope_ms_per_h: Some(0.5),
            rss_slope_mb_per_h: Some(1.2),
            verdict: SoakVerdict::Stable,
        });
        RunSummary {
            schema: "jetstress.run/1".into(),
            started_unix_ms: 0,
            elapsed_s: 600.0,
            in_flight: 0,
            phases: vec![
                phase("spike", vec![stage("baseline", 2.0, 60, 0, 20.0)]),
                soak,
            ],
            targets: vec![TargetSummary {
                name: "t".into(),
                kind: "stdio".into(),
                sessions: 2,
                tools: vec!["a".into()],
                failures: 0,
                restarts: 0,
                ..Default::default()
            }],
            generators: vec![],
            guard_events: vec![],
            console: Default::default(),
        }
    }

    fn calm() -> Observations {
        Observations {
            snapshots: 600,
            max_temp_c: Some(55.0),
            ..Default::default()
        }
    }

    fn get<'a>(v: &'a [Verdict], name: &str) -> &'a Verdict {
        v.iter().find(|x| x.name == name).unwrap()
    }

    #[test]
    fn a_clean_run_passes_with_the_defaults() {
        let v = evaluate(&passing_summary(), &calm(), &Criteria::default());
        assert!(overall(&v), "{v:#?}");
        assert_eq!(get(&v, "p95_latency").measured.as_deref(), Some("40.0 ms"));
        assert_eq!(get(&v, "memory_leak").verdict, Outcome::Pass);
        assert_eq!(
            get(&v, "throttle_predicted").verdict,
            Outcome::NotApplicable
        );
        assert_eq!(get(&v, "error_rate").measured.as_deref(), Some("0.07 %"));
    }

    #[test]
    fn each_limit_fails_on_its_own() {
        let c = Criteria::default();
        let mut s = passing_summary();
        s.phases[0].stages[0].all.latency_ms.p95 = 6000.0;
        let v = evaluate(&s, &calm(), &c);
        assert_eq!(get(&v, "p95_latency").verdict, Outcome::Fail);
        assert!(get(&v, "p95_latency").detail.contains("spike/baseline"));
        assert!(!overall(&v));

        let mut s = passing_summary();
        s.phases[1].stages[0].all.errors = 300;
        assert_eq!(
            get(&evaluate(&s, &calm(), &c), "error_rate").verdict,
            Outcome::Fail
        );

        let mut s = passing_summary();
        s.targets[0].restarts = 1;
        assert_eq!(
            get(&evaluate(&s, &calm(), &c), "no_target_crash").verdict,
            Outcome::Fail
        );

        let mut s = passing_summary();
        s.phases[1].soak.as_mut().unwrap().rss_slope_mb_per_h = Some(25.0);
        assert_eq!(
            get(&evaluate(&s, &calm(), &c), "memory_leak").verdict,
            Outcome::Fail
        );
        assert_eq!(num(100.0 - 99.9), "0.1");
        assert_eq!(num(5000.0), "5000");
        // The same slope over a 90-s soak is not judged: it is start-up growth.
        s.phases[1].duration_s = 90.0;
        let v = evaluate(&s, &calm(), &c);
        let leak = get(&v, "memory_leak");
        assert_eq!(leak.verdict, Outcome::NotMeasured);
        assert!(leak.detail.contains("ran 90 s"), "{}", leak.detail);

        let mut s = passing_summary();
        s.guard_events.push(GuardEvent {
            time_unix_ms: 1,
            guard: GuardKind::Thermal,
            action: GuardAction::StopAll,
            message: "cpu within 5 °C of trip".into(),
        });
        assert_eq!(
            get(&evaluate(&s, &calm(), &c), "no_guard_stop").verdict,
            Outcome::Fail
        );
    }

    #[test]
    fn llm_limits_judge_the_worst_stage_and_only_when_set() {
        use crate::load::stats::{Percentiles, ToolSummary};
        let mut s = passing_summary();
        let llm = |ttft_p95: f64, goodput: f64| LlmSummary {
            ttft_ms: Percentiles {
                p95: ttft_p95,
                ..Default::default()
            },
            tpot_ms: Percentiles {
                p95: 20.0,
                ..Default::default()
            },
            requests: 10,
            goodput_pct: Some(goodput),
            ..Default::default()
        };
        s.phases[0].stages[0].tools = vec![ToolSummary {
            tool: "chat".into(),
            count: 10,
            llm: Some(llm(300.0, 80.0)),
            ..Default::default()
        }];
        s.phases[1].stages[0].tools = vec![ToolSummary {
            tool: "chat".into(),
            count: 10,
            llm: Some(llm(100.0, 100.0)),
            ..Default::default()
        }];
        let v = evaluate(&s, &calm(), &Criteria::default());
        assert!(v
            .iter()
            .all(|v| !["ttft_p95", "tpot_p95", "goodput"].contains(&v.name.as_str())));
        let c = Criteria {
            max_ttft_ms: Some(250.0),
            max_tpot_ms: Some(50.0),
            min_goodput_pct: Some(90.0),
            ..Criteria::default()
        };
        let v = evaluate(&s, &calm(), &c);
        let ttft = get(&v, "ttft_p95");
        assert_eq!(ttft.verdict, Outcome::Fail);
        assert_eq!(ttft.measured.as_deref(), Some("300.0 ms"));
        assert!(ttft.detail.contains("spike/baseline"), "{}", ttft.detail);
        assert_eq!(get(&v, "tpot_p95").verdict, Outcome::Pass);
        let g = get(&v, "goodput");
        assert_eq!(
            (g.verdict, g.measured.as_deref()),
            (Outcome::Fail, Some("80.0 %"))
        );
    }

    #[test]
    fn invalid_inputs_fail_on_a_hang_or_crash_not_on_acceptance() {
        use crate::load::{InvalidCounts, InvalidSummary};
        let c = Criteria::default();
        let s = passing_summary();
        assert!(evaluate(&s, &calm(), &c)
            .iter()
            .all(|v| v.name != "invalid_inputs"));
        let with = |counts: InvalidCounts| {
            let mut s = passing_summary();
            s.phases[0].invalid = Some(InvalidSummary {
                probes: 4,
                counts,
                error_reply_ms: Default::default(),
                tools: Vec::new(),
            });
            evaluate(&s, &calm(), &c)
        };
        let v = with(InvalidCounts {
            sent: 10,
            graceful: 7,
            accepted: 3,
            ..Default::default()
        });
        let inv = get(&v, "invalid_inputs");
        assert_eq!(inv.verdict, Outcome::Pass);
        assert!(inv.detail.contains("3 accepted"), "{}", inv.detail);
        for (hang, crash) in [(1, 0), (0, 1)] {
            let v = with(InvalidCounts {
                sent: 10,
                graceful: 10 - hang - crash,
                hang,
                crash,
                ..Default::default()
            });
            assert_eq!(get(&v, "invalid_inputs").verdict, Outcome::Fail);
            assert!(!overall(&v));
        }
    }

    #[test]
    fn throttles_fail_and_are_judged_on_their_prediction_lead() {
        let mut o = calm();
        o.throttled_snapshots = 3;
        o.throttle_events.push(ThrottleObs {
            at_s: 400.0,
            reasons: vec!["sw-throttle".into()],
            predicted_lead_s: Some(360.0),
            at_start: false,
            eta_error_pct: None,
            ..Default::default()
        });
        let v = evaluate(&passing_summary(), &o, &Criteria::default());
        assert_eq!(get(&v, "no_throttling").verdict, Outcome::Fail);
        assert_eq!(get(&v, "throttle_predicted").verdict, Outcome::Pass);
        o.throttle_events[0].predicted_lead_s = Some(60.0);
        let v = evaluate(&passing_summary(), &o, &Criteria::default());
        assert_eq!(get(&v, "throttle_predicted").verdict, Outcome::Fail);
        o.throttle_events[0].predicted_lead_s = None;
        let v = evaluate(&passing_summary(), &o, &Criteria::default());
        assert!(get(&v, "throttle_predicted").detail.contains("1 without"));
        o.throttle_events[0].at_start = true;
        let v = evaluate(&passing_summary(), &o, &Criteria::default());
        assert_eq!(
            get(&v, "throttle_predicted").verdict,
            Outcome::NotApplicable
        );
        assert_eq!(get(&v, "no_throttling").verdict, Outcome::Fail);
    }

    #[test]
    fn no_soak_is_not_measured_and_a_stress_break_is_left_out() {
        let mut s = passing_summary();
        s.phases.truncate(1);
        let mut stress = phase(
            "stress",
            vec![
                stage("1", 1.0, 60, 0, 10.0),
                stage("4", 4.0, 240, 200, 12000.0),
            ],
        );
        stress.breaking_point = Some(BreakingPoint {
            found: true,
            last_good_rps: Some(1.0),
            first_bad_rps: Some(4.0),
            reason: "success 17 % < 95 %".into(),
        });
        s.phases.push(stress);
        let v = evaluate(&s, &calm(), &Criteria::default());
        assert_eq!(get(&v, "memory_leak").verdict, Outcome::NotMeasured);
        assert!(overall(&v), "{v:#?}");
    }

    #[test]
    fn a_users_phase_is_judged_by_its_stages_like_any_other() {
        let mut s = passing_summary();
        let mut users = phase(
            "users",
            vec![
                stage("10 users", 0.0, 400, 0, 30.0),
                stage("50 users", 0.0, 900, 30, 7000.0),
            ],
        );
        users.model = LoadModel::Closed;
        users.stages[0].users = Some(10);
        users.stages[1].users = Some(50);
        s.phases.push(users);
        let v = evaluate(&s, &calm(), &Criteria::default());
        let p95 = get(&v, "p95_latency");
        assert_eq!(p95.verdict, Outcome::Fail);
        assert_eq!(p95.measured.as_deref(), Some("7000.0 ms"));
        assert!(
            p95.detail.ends_with("users/50 users at 50 users"),
            "{p95:?}"
        );
        // Its requests and errors count with the open phases' ones.
        let (count, errors) = passing_summary()
            .phases
            .iter()
            .flat_map(|p| &p.stages)
            .fold((1300, 30), |(c, e), st| {
                (c + st.all.count, e + st.all.errors)
            });
        let rate = get(&v, "error_rate");
        assert!(
            rate.detail
                .starts_with(&format!("{errors} of {count} requests")),
            "{rate:?}"
        );
    }

    #[test]
    fn acceptance_overrides_the_defaults() {
        let a = Acceptance {
            max_p95_ms: Some(10.0),
            min_success_pct: Some(99.9),
            max_temp_c: Some(50.0),
            ..Default::default()
        };
        let c = Criteria::from_acceptance(Some(&a));
        assert!((c.max_error_pct - 0.1).abs() < 1e-9);
        let v = evaluate(&passing_summary(), &calm(), &c);
        assert_eq!(get(&v, "p95_latency").verdict, Outcome::Fail);
        assert_eq!(get(&v, "max_temperature").verdict, Outcome::Fail);
        assert_eq!(get(&v, "error_rate").verdict, Outcome::Pass);
    }

    fn pred(eta_s: Option<f64>, hi_s: Option<f64>) -> ZonePrediction {
        ZonePrediction {
            zone: "gpu-thermal".into(),
            eta_s,
            lo_s: None,
            hi_s,
            model: crate::predict::thermal::Model::Linear,
            t_inf_c: None,
            status: if eta_s.is_some() {
                Status::Ok
            } else {
                Status::Flat
            },
            trip_c: 99.0,
            temp_c: 80.0,
            slope_c_per_min: 1.0,
            message: String::new(),
        }
    }

    fn board(throttled: bool) -> Snapshot {
        let mut s = Snapshot::default();
        s.throttle.throttled = throttled;
        if throttled {
            s.throttle.reasons = vec!["sw-throttle".into()];
        }
        s
    }

    fn window(phase: Option<&str>, count: u64, p95: f64) -> LoadWindow {
        LoadWindow {
            elapsed_s: 0.0,
            window_s: 1.0,
            phase: phase.map(Into::into),
            stage: None,
            target_rate: 10.0,
            in_flight: 0,
            all: tool("all", count, 0, p95),
            tools: Vec::new(),
            rolling_s: 1.0,
            rolling_all: ToolSummary::default(),
            rolling_tools: Vec::new(),
            users: None,
            invalid: None,
        }
    }

    #[test]
    fn server_rss_takes_the_largest_stdio_peak_and_only_when_set() {
        use crate::load::engine::MeanMax;
        let mut s = passing_summary();
        let second = |name: &str, kind: &str, max: f64| TargetSummary {
            name: name.into(),
            kind: kind.into(),
            sessions: 1,
            rss_mb_per_session: Some(MeanMax {
                mean: max * 0.9,
                max,
            }),
            ..Default::default()
        };
        s.targets[0].rss_mb_per_session = Some(MeanMax {
            mean: 40.0,
            max: 45.0,
        });
        s.targets.push(second("big", "stdio", 180.0));
        // An HTTP target's figure is not a server process this console watches.
        s.targets.push(second("remote", "http", 900.0));
        assert!(evaluate(&s, &calm(), &Criteria::default())
            .iter()
            .all(|v| v.name != "server_rss"));
        let c = |limit: f64| Criteria {
            max_server_rss_mb: Some(limit),
            ..Criteria::default()
        };
        let v = evaluate(&s, &calm(), &c(200.0));
        let r = get(&v, "server_rss");
        assert_eq!(
            (r.verdict, r.measured.as_deref(), r.threshold.as_str()),
            (Outcome::Pass, Some("180.0 MB"), "< 200 MB")
        );
        assert!(r.detail.starts_with("big: peak RSS"), "{}", r.detail);
        assert_eq!(
            get(&evaluate(&s, &calm(), &c(100.0)), "server_rss").verdict,
            Outcome::Fail
        );
        let v = evaluate(&passing_summary(), &calm(), &c(100.0));
        assert_eq!(get(&v, "server_rss").verdict, Outcome::NotMeasured);
    }

    #[test]
    fn uptime_takes_the_lowest_target() {
        let mut s = passing_summary();
        let c = Criteria {
            min_uptime_pct: Some(99.0),
            ..Criteria::default()
        };
        assert_eq!(
            get(&evaluate(&s, &calm(), &c), "uptime").verdict,
            Outcome::NotMeasured
        );
        s.targets[0].uptime_pct = Some(99.5);
        s.targets.push(TargetSummary {
            name: "crashy".into(),
            kind: "stdio".into(),
            sessions: 2,
            failures: 3,
            restarts: 3,
            down_s: 12.0,
            // 12 s down of 2 sessions × 600 s.
            uptime_pct: Some(100.0 * (1.0 - 12.0 / (2.0 * 600.0))),
            ..Default::default()
        });
        let v = evaluate(&s, &calm(), &c);
        let u = get(&v, "uptime");
        assert_eq!(
            (u.verdict, u.measured.as_deref()),
            (Outcome::Pass, Some("99.00 %"))
        );
        assert!(
            u.detail.starts_with("crashy: sessions down 12.0 s"),
            "{}",
            u.detail
        );
        s.targets[1].uptime_pct = Some(98.0);
        assert_eq!(
            get(&evaluate(&s, &calm(), &c), "uptime").verdict,
            Outcome::Fail
        );
    }

    #[test]
    fn p95_while_throttled_counts_only_windows_that_ended_throttled() {
        let mut ob = Observer::default();
        let fed = [
            (false, Some("soak"), 50, 900.0),
            (true, Some("soak"), 50, 300.0),
            (true, Some("soak"), 50, 200.0),
            // Idle: no phase, nothing answered.
            (true, None, 0, 0.0),
            // A stalled phase: counted, but has no p95.
            (true, Some("soak"), 0, 0.0),
            (false, Some("soak"), 50, 1200.0),
        ];
        for (i, (throttled, phase, count, p95)) in fed.iter().enumerate() {
            ob.observe(i as f64, &board(*throttled), &[], Planned::Unknown);
            ob.observe_window(&window(*phase, *count, *p95));
        }
        let during: Vec<_> = fed
            .iter()
            .filter(|(t, phase, count, _)| *t && (phase.is_some() || *count > 0))
            .collect();
        let worst = during
            .iter()
            .filter(|f| f.2 > 0)
            .map(|f| f.3)
            .fold(f64::NEG_INFINITY, f64::max);
        let l = &ob.observations().throttled_load;
        assert_eq!(l.windows, during.len() as u64);
        assert_eq!(l.worst_p95_ms, Some(worst));

        let c = |limit: f64| Criteria {
            max_p95_ms_throttled: Some(limit),
            ..Criteria::default()
        };
        let v = evaluate(&passing_summary(), ob.observations(), &c(worst + 1.0));
        let p = get(&v, "p95_throttled");
        assert_eq!(
            (p.verdict, p.measured.clone()),
            (Outcome::Pass, Some(format!("{worst:.1} ms")))
        );
        let v = evaluate(&passing_summary(), ob.observations(), &c(worst));
        assert_eq!(get(&v, "p95_throttled").verdict, Outcome::Fail);
        let v = evaluate(&passing_summary(), &calm(), &c(worst));
        assert_eq!(get(&v, "p95_throttled").verdict, Outcome::NotApplicable);
        let mut stalled = calm();
        stalled.throttled_load.windows = 2;
        let v = evaluate(&passing_summary(), &stalled, &c(worst));
        assert_eq!(get(&v, "p95_throttled").verdict, Outcome::NotMeasured);
    }

    #[test]
    fn onsets_are_scored_under_the_planned_load_too() {
        // A load step at 100 s heats the board to its trip at 300 s. At this
        // load the model sees the idle board and says 1000 s (capped at
        // 100 % error); the planned forecast knows the step and is 10 % long.
        let onset = 300.0;
        let (mut live, mut rebuilt, mut idle) = (
            Observer::default(),
            Observer::default(),
            Observer::default(),
        );
        for k in 0..300 {
            let t = f64::from(k);
            let here = [pred(Some(1000.0), None)];
            let plan = pred(Some((onset - t) * 1.1), None);
            live.observe(t, &board(false), &here, Planned::Zone(&plan));
            rebuilt.observe(t, &board(false), &here, Planned::Unknown);
            idle.observe(t, &board(false), &here, Planned::Idle);
        }
        for ob in [&mut live, &mut rebuilt, &mut idle] {
            ob.observe(onset, &board(true), &[], Planned::Unknown);
        }
        let l = &live.observations().throttle_events[0];
        assert_eq!(l.eta_error_pct, Some(100.0));
        assert!(
            (l.eta_error_planned_pct.unwrap() - 10.0).abs() < 1e-9,
            "{l:?}"
        );
        assert_eq!(l.predicted_lead_planned_s, Some(onset));
        // A rebuilt report has no plan: nothing is scored under it.
        let r = &rebuilt.observations().throttle_events[0];
        assert_eq!(
            (r.eta_error_planned_pct, r.predicted_lead_planned_s),
            (None, None)
        );
        // With nothing planned, the planned forecast is this load's.
        let i = &idle.observations().throttle_events[0];
        assert_eq!(i.eta_error_planned_pct, i.eta_error_pct);
        assert_eq!(i.predicted_lead_planned_s, i.predicted_lead_s);
    }

    #[test]
    fn onsets_score_the_etas_predicted_30_to_300_s_before() {
        // Snapshots every 0.5 s, the ring keeps one a second; the board
        // throttles at 400 s. Predictions made before 200 s are 20 % long,
        // from 200 s on 5 % short, and in the last 30 s wildly off (not scored).
        let onset = 400.0;
        let eta = |t: f64| {
            let r = onset - t;
            if t < 200.0 {
                r * 1.2
            } else if r >= ETA_ERROR_FROM_S {
                r * 0.95
            } else {
                r * 10.0
            }
        };
        let mut ob = Observer::default();
        for k in 0..800 {
            let t = f64::from(k) * 0.5;
            ob.observe(
                t,
                &board(false),
                &[pred(Some(eta(t)), None)],
                Planned::Unknown,
            );
        }
        ob.observe(onset, &board(true), &[], Planned::Unknown);
        // Scored: one a second from 100 s to 370 s; 100 at 20 %, 171 at 5 %:
        // the median is 5 %.
        let (at_20, at_5) = ((100..200).count(), (200..=370).count());
        assert!(2 * at_5 > at_20 + at_5);
        let e = ob.observations().throttle_events[0].eta_error_pct.unwrap();
        assert!((e - 5.0).abs() < 1e-9, "{e}");
        // Throttled until 410 s, then exact ETAs until a second onset at
        // 500 s: the predictions made for the first onset, or while
        // throttled, are not scored against the second.
        let second = 500.0;
        for k in 801..1000 {
            let t = f64::from(k) * 0.5;
            let throttled = t < 410.0;
            let p = if throttled {
                pred(None, None)
            } else {
                pred(Some(second - t), None)
            };
            ob.observe(t, &board(throttled), &[p], Planned::Unknown);
        }
        ob.observe(second, &board(true), &[], Planned::Unknown);
        let events = &ob.observations().throttle_events;
        assert_eq!(events.len(), 2);
        assert_eq!(events[1].eta_error_pct, Some(0.0));

        // ETAs three times too long count 100 %, as does no ETA at all.
        let mut ob = Observer::default();
        for k in 0..400 {
            let t = f64::from(k);
            let p = if k % 2 == 0 {
                pred(Some((onset - t) * 3.0), None)
            } else {
                pred(None, None)
            };
            ob.observe(t, &board(false), &[p], Planned::Unknown);
        }
        ob.observe(onset, &board(true), &[], Planned::Unknown);
        assert_eq!(
            ob.observations().throttle_events[0].eta_error_pct,
            Some(100.0)
        );

        // An onset 20 s into the run had no prediction in the span.
        let mut ob = Observer::default();
        for k in 0..20 {
            ob.observe(
                f64::from(k),
                &board(false),
                &[pred(Some(100.0), None)],
                Planned::Unknown,
            );
        }
        ob.observe(20.0, &board(true), &[], Planned::Unknown);
        assert_eq!(ob.observations().throttle_events[0].eta_error_pct, None);
    }

    #[test]
    fn prediction_error_is_the_mean_over_scored_onsets() {
        let onset = |at_s: f64, err: Option<f64>, at_start: bool| ThrottleObs {
            at_s,
            reasons: vec!["sw-throttle".into()],
            predicted_lead_s: None,
            at_start,
            eta_error_pct: err,
            ..Default::default()
        };
        let c = Criteria {
            max_prediction_error_pct: Some(25.0),
            ..Criteria::default()
        };
        let mut o = calm();
        let v = evaluate(&passing_summary(), &o, &c);
        assert_eq!(get(&v, "prediction_error").verdict, Outcome::NotApplicable);
        o.throttle_events.push(onset(0.0, None, true));
        o.throttle_events.push(onset(100.0, None, false));
        let v = evaluate(&passing_summary(), &o, &c);
        assert_eq!(get(&v, "prediction_error").verdict, Outcome::NotMeasured);
        let errs = [10.0, 30.0];
        for (i, e) in errs.iter().enumerate() {
            o.throttle_events
                .push(onset(200.0 + i as f64 * 100.0, Some(*e), false));
        }
        let mean = errs.iter().sum::<f64>() / errs.len() as f64;
        let v = evaluate(&passing_summary(), &o, &c);
        let p = get(&v, "prediction_error");
        assert_eq!(
            (p.verdict, p.measured.clone()),
            (Outcome::Pass, Some(format!("{mean:.1} %")))
        );
        assert!(
            p.detail.starts_with("mean over 2 of 3 onset(s)"),
            "{}",
            p.detail
        );
        o.throttle_events[3].eta_error_pct = Some(60.0);
        let v = evaluate(&passing_summary(), &o, &c);
        assert_eq!(get(&v, "prediction_error").verdict, Outcome::Fail);
    }

    #[test]
    fn alert_episodes_are_hits_when_an_onset_beats_their_deadline() {
        // (from, to, eta, hi): forecasts shown at every second in [from, to).
        // 1: 10–20 s, ETA 200 s, range to 250 s: deadline 19 + 250 = 269 s;
        //    the onset at 100 s makes it a hit.
        // 2: 120–125 s, ETA 20 s, no range: deadline 124 + 30 = 154 s; the
        //    next onset (200 s) is too late: a false alarm.
        // 3: 280–300 s, ETA 400 s: not an alert (over 5 min).
        // 4: 290 s to the end, ETA 50 s: still standing when the run ends: a
        //    false alarm.
        let episodes = [
            (10, 20, 200.0, Some(250.0)),
            (120, 125, 20.0, None),
            (280, 300, 400.0, None),
            (290, 300, 50.0, None),
        ];
        let throttled = |t: u32| (100..110).contains(&t) || (200..210).contains(&t);
        let mut ob = Observer::default();
        for t in 0..300 {
            let preds: Vec<ZonePrediction> = episodes
                .iter()
                .filter(|(from, to, ..)| (*from..*to).contains(&t))
                .map(|(_, _, eta, hi)| pred(Some(*eta), *hi))
                .collect();
            ob.observe(f64::from(t), &board(throttled(t)), &preds, Planned::Unknown);
            if t == 150 {
                // Episode 2 is undecided yet: it counts as a false alarm until it is a hit.
                assert_eq!(ob.observations().alerts.false_alarms, 1);
            }
        }
        let a = &ob.observations().alerts;
        assert_eq!((a.episodes, a.hits, a.false_alarms), (3, 1, 2));
        assert_eq!(a.precision_pct, Some(100.0 / 3.0));
        assert_eq!(a.recall_pct, Some(50.0), "one of two onsets foreseen");

        let c = |min: f64| Criteria {
            min_alert_precision_pct: Some(min),
            ..Criteria::default()
        };
        let v = evaluate(&passing_summary(), ob.observations(), &c(30.0));
        let p = get(&v, "alert_precision");
        assert_eq!(
            (p.verdict, p.measured.as_deref()),
            (Outcome::Pass, Some("33.3 %"))
        );
        assert!(p.detail.contains("recall 50 % of onsets"), "{}", p.detail);
        let v = evaluate(&passing_summary(), ob.observations(), &c(50.0));
        assert_eq!(get(&v, "alert_precision").verdict, Outcome::Fail);
        let v = evaluate(&passing_summary(), &calm(), &c(50.0));
        assert_eq!(get(&v, "alert_precision").verdict, Outcome::NotApplicable);
    }

    #[test]
    fn an_onset_seen_after_a_deadline_counts_from_the_snapshot_before() {
        // Snapshots 2 s apart. At 10 s: ETA 0.5 s, range to 1 s, so the
        // deadline is 11 s. The snapshot at 12 s is the first to show the
        // throttle, which may have begun right after 10 s: a hit.
        let run = |throttled_at: u32| {
            let mut ob = Observer::default();
            ob.observe(8.0, &board(false), &[], Planned::Unknown);
            ob.observe(
                10.0,
                &board(false),
                &[pred(Some(0.5), Some(1.0))],
                Planned::Unknown,
            );
            for t in (12..=16).step_by(2) {
                ob.observe(
                    f64::from(t),
                    &board(t >= throttled_at),
                    &[],
                    Planned::Unknown,
                );
            }
            ob.observations().alerts.clone()
        };
        let a = run(12);
        assert_eq!((a.episodes, a.hits, a.false_alarms), (1, 1, 0));
        assert_eq!(a.recall_pct, Some(100.0));
        // Seen unthrottled at 12 s, past the deadline: a false alarm, and
        // the onset at 14 s was not foreseen.
        let a = run(14);
        assert_eq!((a.episodes, a.hits, a.false_alarms), (1, 0, 1));
        assert_eq!(a.recall_pct, Some(0.0));
    }

    #[test]
    fn an_episode_keeps_the_latest_deadline_any_of_its_forecasts_allowed() {
        // At 0 s: ETA 100 s, range to 150 s (deadline 150 s). From 1 s on the
        // forecast narrows to ETA 1 s, no range (deadline t + 1.5 s). The
        // onset at 120 s is past every later forecast's deadline but within
        // the first one's.
        let mut ob = Observer::default();
        ob.observe(
            0.0,
            &board(false),
            &[pred(Some(100.0), Some(150.0))],
            Planned::Unknown,
        );
        for t in 1..120 {
            ob.observe(
                f64::from(t),
                &board(false),
                &[pred(Some(1.0), None)],
                Planned::Unknown,
            );
        }
        ob.observe(120.0, &board(true), &[], Planned::Unknown);
        let a = &ob.observations().alerts;
        assert_eq!((a.episodes, a.hits, a.false_alarms), (1, 1, 0));
    }

    #[test]
    fn an_alert_whose_deadline_passes_while_shown_is_decided_and_a_new_one_starts() {
        // A forecast of 0.5 s (range to 0.6 s) shown at 0 s and 1 s: the
        // first expired at 0.6 s, before the second.
        let mut ob = Observer::default();
        for t in 0..2 {
            ob.observe(
                f64::from(t),
                &board(false),
                &[pred(Some(0.5), Some(0.6))],
                Planned::Unknown,
            );
        }
        let a = &ob.observations().alerts;
        assert_eq!((a.episodes, a.hits, a.false_alarms), (2, 0, 2));
        assert_eq!(a.recall_pct, None);
    }

    #[test]
    fn observer_counts_throttle_onsets_once() {
        let mut ob = Observer::default();
        let mut s = Snapshot::default();
        ob.observe(0.0, &s, &[], Planned::Unknown);
        s.throttle.throttled = true;
        s.throttle.reasons = vec!["sw-throttle".into()];
        ob.observe(1.0, &s, &[], Planned::Unknown);
        ob.observe(2.0, &s, &[], Planned::Unknown);
        s.throttle.throttled = false;
        ob.observe(3.0, &s, &[], Planned::Unknown);
        let o = ob.observations();
        assert_eq!(o.snapshots, 4);
        assert_eq!(o.throttled_snapshots, 2);
        assert_eq!(o.throttle_events.len(), 1);
        assert_eq!(o.throttle_events[0].at_s, 1.0);
        assert_eq!(o.throttle_events[0].predicted_lead_s, None);
        assert!(!o.throttle_events[0].at_start);
    }
}
