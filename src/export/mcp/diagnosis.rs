//! `system_diagnosis`: a small bounded history of recent temperatures (per
//! zone) and watched-process RSS, least-squares trends over it, and the pure
//! rules that turn one snapshot plus those trends into findings with a
//! severity. No I/O: the server feeds it every collector sample.

use std::collections::HashMap;
use std::fmt::Write as _;

use schemars::JsonSchema;
use serde::Serialize;

use super::views::{failures, ProbeFailure};
use crate::history::Series;
use crate::snapshot::Snapshot;

/// Points kept per series (at the default 1 s interval: the last two minutes).
pub const RING_POINTS: usize = 120;
/// Series kept at most (zones, processes); later ones are not tracked.
pub const MAX_SERIES: usize = 64;
/// A trend needs at least this many points spanning at least this many seconds.
const MIN_POINTS: usize = 5;
const MIN_SPAN_S: f64 = 10.0;

/// Within this many °C of the throttle trip: warn; within `CRIT_HEADROOM_C`: critical.
pub const WARN_HEADROOM_C: f64 = 10.0;
pub const CRIT_HEADROOM_C: f64 = 3.0;
/// Watched RSS growing faster than this (MB/h) over the window: warn.
pub const RSS_GROWTH_WARN_MB_H: f64 = 10.0;
/// Available RAM below these fractions of total: warn / critical.
pub const MEM_WARN_AVAILABLE: f64 = 0.15;
pub const MEM_CRIT_AVAILABLE: f64 = 0.05;

/// A bounded series of `(seconds, value)`: the history's [`Series`], capped
/// at [`RING_POINTS`] with no age limit, plus the trend the rules read.
#[derive(Debug, Clone)]
pub struct Ring(Series);

impl Default for Ring {
    fn default() -> Self {
        Ring(Series::new(f64::INFINITY, RING_POINTS))
    }
}

impl Ring {
    pub fn push(&mut self, t: f64, v: f64) {
        self.0.push(t, v);
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.0.len()
    }

    /// Least-squares slope in units per second, once there is enough history.
    pub fn slope_per_s(&self) -> Option<f64> {
        if self.0.len() < MIN_POINTS {
            return None;
        }
        let (t0, t1) = (self.0.values().next()?.0, self.0.last()?.0);
        if t1 - t0 < MIN_SPAN_S {
            return None;
        }
        crate::predict::regression::ols_slope(self.0.values().copied())
    }
}

/// Recent temperatures per zone id and RSS per watched pid.
#[derive(Debug, Default)]
pub struct History {
    zones: HashMap<String, Ring>,
    rss: HashMap<u32, Ring>,
}

impl History {
    pub fn push(&mut self, s: &Snapshot) {
        let t = s.elapsed_s;
        for z in s.thermal.iter().filter(|z| z.online) {
            if let Some(temp) = z.temp_c {
                push_series(&mut self.zones, z.id.as_str(), t, temp);
            }
        }
        for w in s.watched.iter().filter(|w| w.alive) {
            if let Some(rss) = w.rss_mb {
                if self.rss.len() < MAX_SERIES || self.rss.contains_key(&w.pid) {
                    self.rss.entry(w.pid).or_default().push(t, rss);
                }
            }
        }
        // Forget processes no longer watched so the map stays bounded.
        self.rss
            .retain(|pid, _| s.watched.iter().any(|w| w.pid == *pid && w.alive));
    }

    /// Temperature trend of a zone in °C per minute.
    pub fn zone_rate_c_per_min(&self, id: &str) -> Option<f64> {
        self.zones.get(id)?.slope_per_s().map(|s| s * 60.0)
    }

    /// RSS trend of a watched pid in MB per hour.
    pub fn rss_rate_mb_per_h(&self, pid: u32) -> Option<f64> {
        self.rss.get(&pid)?.slope_per_s().map(|s| s * 3600.0)
    }
}

fn push_series(map: &mut HashMap<String, Ring>, id: &str, t: f64, v: f64) {
    if let Some(r) = map.get_mut(id) {
        r.push(t, v);
    } else if map.len() < MAX_SERIES {
        let mut r = Ring::default();
        r.push(t, v);
        map.insert(id.to_string(), r);
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Ok,
    Warn,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Ok => "ok",
            Severity::Warn => "warn",
            Severity::Critical => "critical",
        }
    }
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Finding {
    pub severity: Severity,
    /// `thermal`, `throttle`, `memory`, `process` or `probe`.
    pub area: String,
    /// What the finding is about: a zone id, a pid, a probe name.
    pub subject: String,
    pub message: String,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Diagnosis {
    pub sample_time_unix_ms: u64,
    /// The worst severity among the findings (`ok` when there are none).
    pub severity: Severity,
    pub summary: String,
    pub findings: Vec<Finding>,
    pub probe_errors: Vec<ProbeFailure>,
}

fn finding(severity: Severity, area: &str, subject: &str, message: String) -> Finding {
    Finding {
        severity,
        area: area.into(),
        subject: subject.into(),
        message,
    }
}

fn rate_phrase(rate: Option<f64>, unit: &str) -> String {
    match rate {
        Some(r) if r >= 0.05 => format!(" and rising {r:.1} {unit}"),
        Some(r) if r <= -0.05 => format!(" and falling {:.1} {unit}", -r),
        Some(_) => " and steady".to_string(),
        None => String::new(),
    }
}

/// Judge one snapshot with its recent history.
#[expect(
    clippy::too_many_lines,
    reason = "the diagnosis rules, one after another"
)]
pub fn diagnose(s: &Snapshot, h: &History) -> Diagnosis {
    let mut f = Vec::new();

    // Thermal headroom, hottest first so the worst zone leads.
    let mut zones: Vec<_> = s
        .thermal
        .iter()
        .filter(|z| z.online && z.temp_c.is_some())
        .collect();
    zones.sort_by(|a, b| {
        b.temp_c
            .partial_cmp(&a.temp_c)
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    let mut reported_ok = false;
    for z in &zones {
        let (Some(temp), Some(trip)) = (z.temp_c, z.throttle_trip_c()) else {
            continue;
        };
        let headroom = trip - temp;
        let kind = z
            .trips
            .iter()
            .find(|t| t.temp_c == trip)
            .map_or("passive", |t| t.kind.as_str());
        let rate = h.zone_rate_c_per_min(&z.id);
        let sev = if headroom <= CRIT_HEADROOM_C {
            Severity::Critical
        } else if headroom <= WARN_HEADROOM_C {
            Severity::Warn
        } else {
            Severity::Ok
        };
        let msg = if headroom > 0.0 {
            format!(
                "{} {headroom:.1} °C below {kind} trip{}",
                z.name,
                rate_phrase(rate, "°C/min")
            )
        } else {
            format!(
                "{} {:.1} °C above {kind} trip ({temp:.1} °C){}",
                z.name,
                -headroom,
                rate_phrase(rate, "°C/min")
            )
        };
        if sev > Severity::Ok || !reported_ok {
            f.push(finding(sev, "thermal", &z.id, msg));
            reported_ok = true;
        }
    }
    let offline: Vec<&str> = s
        .thermal
        .iter()
        .filter(|z| !z.online)
        .map(|z| z.id.as_str())
        .collect();
    if !offline.is_empty() {
        f.push(finding(
            Severity::Ok,
            "thermal",
            "offline",
            format!("{} zone(s) offline: {}", offline.len(), offline.join(", ")),
        ));
    }
    if s.throttle.throttled {
        let reasons = if s.throttle.reasons.is_empty() {
            "unknown reason".to_string()
        } else {
            s.throttle.reasons.join("; ")
        };
        f.push(finding(
            Severity::Critical,
            "throttle",
            "board",
            format!("throttled: {reasons}"),
        ));
    }

    // Memory pressure.
    if let (Some(avail), Some(total)) = (s.memory.available_mb, s.memory.total_mb) {
        if total > 0.0 {
            let frac = avail / total;
            let sev = if frac < MEM_CRIT_AVAILABLE {
                Severity::Critical
            } else if frac < MEM_WARN_AVAILABLE {
                Severity::Warn
            } else {
                Severity::Ok
            };
            f.push(finding(
                sev,
                "memory",
                "ram",
                format!(
                    "{avail:.0} MB of {total:.0} MB available ({:.1} %)",
                    frac * 100.0
                ),
            ));
        }
    }

    // Watched processes.
    for w in &s.watched {
        if !w.alive {
            f.push(finding(
                Severity::Warn,
                "process",
                &w.pid.to_string(),
                format!("watched {} has exited", w.label()),
            ));
            continue;
        }
        if let Some(rate) = h.rss_rate_mb_per_h(w.pid) {
            let sev = if rate > RSS_GROWTH_WARN_MB_H {
                Severity::Warn
            } else {
                Severity::Ok
            };
            let verb = if rate >= 0.0 { "growing" } else { "shrinking" };
            f.push(finding(
                sev,
                "process",
                &w.pid.to_string(),
                format!("watched {} RSS {verb} {:.1} MB/h", w.label(), rate.abs()),
            ));
        }
    }

    for e in &s.probe_errors {
        f.push(finding(
            Severity::Warn,
            "probe",
            &e.probe,
            format!("probe {} failed: {}", e.probe, e.message),
        ));
    }

    let severity = f.iter().map(|x| x.severity).max().unwrap_or(Severity::Ok);
    let worst: Vec<&str> = f
        .iter()
        .filter(|x| x.severity == severity && severity > Severity::Ok)
        .map(|x| x.message.as_str())
        .collect();
    let mut summary = format!("{}: ", severity.as_str());
    if worst.is_empty() {
        let _ = write!(summary, "no warnings ({} findings)", f.len());
    } else {
        summary.push_str(&worst.join("; "));
    }
    Diagnosis {
        sample_time_unix_ms: s.time_unix_ms,
        severity,
        summary,
        findings: f,
        probe_errors: failures(&s.probe_errors, &[]),
    }
}

pub fn diagnosis_text(d: &Diagnosis) -> String {
    let mut o = d.summary.clone();
    for x in &d.findings {
        let _ = write!(o, "\n[{}] {}", x.severity.as_str(), x.message);
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::{ThermalZone, Trip, WatchedProcess};

    fn snap(t: f64, temp: f64, rss: f64) -> Snapshot {
        let mut s = Snapshot::empty();
        s.elapsed_s = t;
        s.thermal.push(ThermalZone {
            id: "thermal_zone0".into(),
            name: "cpu-thermal".into(),
            source: "zone".into(),
            temp_c: Some(temp),
            online: true,
            trips: vec![Trip {
                kind: "passive".into(),
                temp_c: 99.0,
            }],
            ..Default::default()
        });
        s.watched.push(WatchedProcess {
            pid: 42,
            name: "srv".into(),
            rss_mb: Some(rss),
            alive: true,
            ..Default::default()
        });
        s
    }

    #[test]
    fn slope_needs_history_then_is_exact_on_a_line() {
        let mut r = Ring::default();
        r.push(0.0, 1.0);
        r.push(1.0, 2.0);
        assert_eq!(r.slope_per_s(), None);
        for i in 2..30 {
            r.push(f64::from(i), 1.0 + f64::from(i));
        }
        assert!((r.slope_per_s().unwrap() - 1.0).abs() < 1e-9);
        for i in 0..500 {
            r.push(f64::from(i), 0.0);
        }
        assert_eq!(r.len(), RING_POINTS, "ring stays bounded");
    }

    #[test]
    fn warns_near_trip_with_rising_rate_and_rss_growth() {
        let mut h = History::default();
        let mut last = Snapshot::empty();
        for i in 0..60 {
            // 0.4 °C/min, 12 MB/h.
            let t = f64::from(i);
            last = snap(t, 90.0 + 0.4 * t / 60.0, 100.0 + 12.0 * t / 3600.0);
            h.push(&last);
        }
        let d = diagnose(&last, &h);
        assert_eq!(d.severity, Severity::Warn);
        let thermal = &d.findings[0];
        assert_eq!(thermal.severity, Severity::Warn);
        assert!(
            thermal
                .message
                .contains("below passive trip and rising 0.4 °C/min"),
            "{}",
            thermal.message
        );
        let rss = d.findings.iter().find(|f| f.area == "process").unwrap();
        assert!(rss.message.contains("growing 12.0 MB/h"), "{}", rss.message);
        assert_eq!(rss.severity, Severity::Warn);
    }

    #[test]
    fn critical_when_close_or_throttled_ok_when_cool() {
        let h = History::default();
        let hot = snap(0.0, 97.0, 10.0);
        assert_eq!(diagnose(&hot, &h).severity, Severity::Critical);
        let cool = snap(0.0, 40.0, 10.0);
        let d = diagnose(&cool, &h);
        assert_eq!(d.severity, Severity::Ok);
        assert!(d.summary.starts_with("ok: no warnings"), "{}", d.summary);
        let mut thr = cool.clone();
        thr.throttle.throttled = true;
        thr.throttle.reasons.push("thermal".into());
        assert_eq!(diagnose(&thr, &h).severity, Severity::Critical);
    }

    #[test]
    fn history_forgets_exited_processes() {
        let mut h = History::default();
        h.push(&snap(0.0, 40.0, 10.0));
        assert!(h.rss.contains_key(&42));
        let mut s = snap(1.0, 40.0, 10.0);
        s.watched.clear();
        h.push(&s);
        assert!(h.rss.is_empty());
    }
}
