//! Safety guards: readers of the snapshot stream that send the engine
//! commands — they never reach into generators. Thermal: any online zone
//! within `thermal_margin_c` of its lowest passive/hot trip (or
//! `critical_margin_c` of critical) stops all load. Memory floor:
//! `MemAvailable` below `memory_floor_pct` of total releases memory pressure.
//! Each guard fires once and re-arms when its condition clears; every action
//! is a timestamped [`GuardEvent`].

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tokio::sync::{broadcast, mpsc};
use tokio::task::JoinHandle;

use crate::load::engine::{Command, GuardAction, GuardEvent, GuardKind};
use crate::snapshot::Snapshot;

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GuardConfig {
    #[serde(default = "d_floor")]
    pub memory_floor_pct: f64,
    #[serde(default = "d_margin")]
    pub thermal_margin_c: f64,
    #[serde(default = "d_crit")]
    pub critical_margin_c: f64,
    /// Turn every guard off (not recommended on real boards).
    #[serde(default = "d_true")]
    pub enabled: bool,
}

fn d_floor() -> f64 {
    15.0
}
fn d_margin() -> f64 {
    5.0
}
fn d_crit() -> f64 {
    10.0
}
fn d_true() -> bool {
    true
}

impl Default for GuardConfig {
    fn default() -> Self {
        GuardConfig {
            memory_floor_pct: d_floor(),
            thermal_margin_c: d_margin(),
            critical_margin_c: d_crit(),
            enabled: true,
        }
    }
}

/// Which guards are currently tripped (so each fires once per excursion).
#[derive(Debug, Default, Clone, PartialEq)]
pub struct GuardState {
    pub thermal: bool,
    pub memory: bool,
}

/// Pure check of one snapshot: the guard events to raise now.
pub fn check(snap: &Snapshot, cfg: &GuardConfig, state: &mut GuardState) -> Vec<GuardEvent> {
    let mut out = Vec::new();
    if !cfg.enabled {
        return out;
    }
    let time = snap.time_unix_ms;
    // Thermal.
    let mut hot: Option<(GuardKind, String, String)> = None;
    for z in snap.thermal.iter().filter(|z| z.online) {
        let Some(t) = z.temp_c else { continue };
        if let Some(c) = z.critical_trip_c() {
            if t >= c - cfg.critical_margin_c {
                hot = Some((
                    GuardKind::Critical,
                    z.name.clone(),
                    format!(
                        "{} at {t:.1} °C is within {} °C of critical {c:.1} °C",
                        z.name, cfg.critical_margin_c
                    ),
                ));
                break;
            }
        }
        if let Some(p) = z.throttle_trip_c() {
            if t >= p - cfg.thermal_margin_c && hot.is_none() {
                hot = Some((
                    GuardKind::Thermal,
                    z.name.clone(),
                    format!(
                        "{} at {t:.1} °C is within {} °C of its throttle trip {p:.1} °C",
                        z.name, cfg.thermal_margin_c
                    ),
                ));
            }
        }
    }
    match hot {
        Some((guard, _, message)) if !state.thermal => {
            state.thermal = true;
            out.push(GuardEvent {
                time_unix_ms: time,
                guard,
                action: GuardAction::StopAll,
                message,
            });
        }
        Some(_) => {}
        None => state.thermal = false,
    }
    // Memory floor.
    if let (Some(avail), Some(total)) = (snap.memory.available_mb, snap.memory.total_mb) {
        let floor = total * cfg.memory_floor_pct / 100.0;
        if avail < floor {
            if !state.memory {
                state.memory = true;
                out.push(GuardEvent {
                    time_unix_ms: time,
                    guard: GuardKind::MemoryFloor,
                    action: GuardAction::ReleaseMemory,
                    message: format!(
                        "MemAvailable {avail:.0} MB is below the floor {floor:.0} MB ({}% of {total:.0} MB)",
                        cfg.memory_floor_pct
                    ),
                });
            }
        } else {
            state.memory = false;
        }
    }
    out
}

/// Run the guards on a snapshot stream until it closes or the engine goes away.
pub fn spawn(
    mut snapshots: broadcast::Receiver<Arc<Snapshot>>,
    commands: mpsc::Sender<Command>,
    cfg: GuardConfig,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut state = GuardState::default();
        loop {
            let snap = match snapshots.recv().await {
                Ok(s) => s,
                Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(broadcast::error::RecvError::Closed) => return,
            };
            for ev in check(&snap, &cfg, &mut state) {
                if commands.send(Command::Guard(ev)).await.is_err() {
                    return;
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::{Memory, ThermalZone, Trip};

    fn snap(temp: f64, avail: f64) -> Snapshot {
        let mut s = Snapshot::empty();
        s.thermal.push(ThermalZone {
            id: "thermal_zone0".into(),
            name: "cpu-thermal".into(),
            source: "zone".into(),
            temp_c: Some(temp),
            online: true,
            trips: vec![
                Trip {
                    kind: "passive".into(),
                    temp_c: 90.0,
                },
                Trip {
                    kind: "critical".into(),
                    temp_c: 105.0,
                },
            ],
            ..Default::default()
        });
        s.memory = Memory {
            total_mb: Some(1000.0),
            available_mb: Some(avail),
            ..Default::default()
        };
        s
    }

    #[test]
    fn thermal_fires_once_and_rearms() {
        let cfg = GuardConfig::default();
        let mut st = GuardState::default();
        assert!(check(&snap(80.0, 500.0), &cfg, &mut st).is_empty());
        let ev = check(&snap(85.5, 500.0), &cfg, &mut st);
        assert_eq!(ev.len(), 1);
        assert_eq!(ev[0].guard, "thermal");
        assert_eq!(ev[0].action, "stop_all");
        assert!(check(&snap(86.0, 500.0), &cfg, &mut st).is_empty());
        assert!(check(&snap(70.0, 500.0), &cfg, &mut st).is_empty());
        assert_eq!(check(&snap(88.0, 500.0), &cfg, &mut st).len(), 1);
    }

    #[test]
    fn memory_floor_releases() {
        let cfg = GuardConfig::default();
        let mut st = GuardState::default();
        assert!(check(&snap(40.0, 200.0), &cfg, &mut st).is_empty());
        let ev = check(&snap(40.0, 100.0), &cfg, &mut st);
        assert_eq!(ev[0].guard, "memory_floor");
        assert_eq!(ev[0].action, "release_memory");
        let off = GuardConfig {
            enabled: false,
            ..cfg
        };
        assert!(check(&snap(104.0, 1.0), &off, &mut GuardState::default()).is_empty());
    }
}
