//! Replay: drives the dashboard from a jetstress recording or a tegrastats /
//! CSV trace, as if the samples were arriving live — pause/resume, seek ±30 s,
//! speed ×0.5/×2. Traces become [`Snapshot`]s here, so the dashboard and the
//! predictor never know they are reading the past; a recording's load windows
//! come back between the snapshots they were written between.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::reader::{is_recording, parse_recording, RecordingError};
use super::traces::{parse_trace, TraceSample};
use crate::load::engine::LoadWindow;
use crate::snapshot::{Gpu, Memory, Power, Rail, Snapshot, ThermalZone, Trip};

/// Seek step of the seek keys.
pub const SEEK_S: f64 = 30.0;
/// Fastest and slowest replay speeds.
pub const SPEED_RANGE: (f64, f64) = (0.125, 64.0);

/// A loaded replay: snapshots in time order and where they came from.
#[derive(Debug, Clone)]
pub struct ReplaySource {
    pub label: String,
    pub snapshots: Vec<Arc<Snapshot>>,
    /// A recording's load windows, in order (a trace has none).
    pub windows: Vec<ReplayedWindow>,
    /// Lines that did not parse (line, reason).
    pub skipped: Vec<(usize, String)>,
}

/// A recorded load window and how many snapshots the run had seen before it.
#[derive(Debug, Clone)]
pub struct ReplayedWindow {
    pub after_snapshots: usize,
    pub window: Arc<LoadWindow>,
}

impl ReplaySource {
    pub fn duration_s(&self) -> f64 {
        match (self.snapshots.first(), self.snapshots.last()) {
            (Some(a), Some(b)) => b.elapsed_s - a.elapsed_s,
            _ => 0.0,
        }
    }
}

/// A trace sample as a snapshot (what tegrastats does not say stays `None`).
pub fn trace_sample_to_snapshot(s: &TraceSample) -> Snapshot {
    let mut snap = Snapshot::empty();
    snap.elapsed_s = s.t_s;
    for (name, temp) in &s.zones {
        let trips = s
            .trip(name)
            .map(|t| {
                vec![Trip {
                    kind: "passive".into(),
                    temp_c: t,
                }]
            })
            .unwrap_or_default();
        snap.thermal.push(ThermalZone {
            id: name.clone(),
            name: name.clone(),
            source: "zone".into(),
            temp_c: *temp,
            online: temp.is_some(),
            offline_reason: temp.is_none().then(|| "offline in the trace".to_string()),
            mode: None,
            trips,
        });
    }
    snap.memory = Memory {
        total_mb: s.ram_total_mb,
        used_mb: s.ram_used_mb,
        available_mb: match (s.ram_total_mb, s.ram_used_mb) {
            (Some(t), Some(u)) => Some((t - u).max(0.0)),
            _ => None,
        },
        swap_total_mb: s.swap_total_mb,
        swap_used_mb: s.swap_used_mb,
        nvmap_mb: None,
    };
    if s.gpu_load_pct.is_some() {
        snap.gpus.push(Gpu {
            kind: "tegra".into(),
            name: "GR3D".into(),
            load_pct: s.gpu_load_pct,
            temp_c: s
                .zones
                .iter()
                .find(|(n, _)| n.to_ascii_lowercase().starts_with("gpu"))
                .and_then(|(_, t)| *t),
            ..Default::default()
        });
    }
    let rails: Vec<Rail> = s
        .power_mw
        .iter()
        .map(|(n, mw)| Rail {
            name: n.clone(),
            mv: None,
            ma: None,
            mw: Some(*mw),
        })
        .collect();
    snap.power = Power {
        total_mw: crate::probes::power::total_mw(&rails),
        rails,
    };
    snap
}

/// What the load view reads of a window: the window's own per-tool rows go
/// unless they carry LLM figures (the view's table is the rolling rows), so
/// a long recording's windows take half the memory while it replays.
fn for_the_view(mut w: LoadWindow) -> LoadWindow {
    if w.tools.iter().all(|t| t.llm.is_none()) {
        w.tools = Vec::new();
    }
    w
}

/// Load a recording or any trace format `predict-eval` reads.
pub fn load(path: &Path) -> Result<ReplaySource, RecordingError> {
    let bytes =
        std::fs::read(path).map_err(|e| RecordingError(format!("{}: {e}", path.display())))?;
    let text = String::from_utf8_lossy(&bytes);
    let label = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let name = path.display().to_string();
    if is_recording(&text) {
        let rec = parse_recording(&name, &text)?;
        if rec.snapshots.is_empty() {
            return Err(RecordingError(format!(
                "{name}: the recording holds no snapshots"
            )));
        }
        let t0 = rec.snapshots[0].elapsed_s;
        let snapshots = rec
            .snapshots
            .into_iter()
            .map(|mut s| {
                s.elapsed_s -= t0;
                Arc::new(s)
            })
            .collect();
        let windows = rec
            .windows
            .into_iter()
            .map(|w| ReplayedWindow {
                after_snapshots: w.after_snapshots,
                window: Arc::new(for_the_view(w.window)),
            })
            .collect();
        return Ok(ReplaySource {
            label,
            snapshots,
            windows,
            skipped: rec.skipped,
        });
    }
    let trace = parse_trace(&name, &text).map_err(|e| RecordingError(e.to_string()))?;
    Ok(ReplaySource {
        label,
        snapshots: trace
            .samples
            .iter()
            .map(|s| Arc::new(trace_sample_to_snapshot(s)))
            .collect(),
        windows: Vec::new(),
        skipped: trace.skipped,
    })
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ReplayCommand {
    TogglePause,
    Seek(f64),
    Speed(f64),
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReplayStatus {
    pub position_s: f64,
    pub duration_s: f64,
    pub speed: f64,
    pub paused: bool,
    pub finished: bool,
}

#[derive(Debug, Clone)]
pub enum ReplayMsg {
    /// Forget history: what follows restarts the charts (after a seek).
    Reset,
    Snapshot(Arc<Snapshot>),
    /// A recorded load window, after the snapshots it followed.
    Window(Arc<LoadWindow>),
    Status(ReplayStatus),
}

pub struct ReplayHandle {
    pub commands: mpsc::Sender<ReplayCommand>,
    task: JoinHandle<()>,
}

impl ReplayHandle {
    pub fn stop(&self) {
        self.task.abort();
    }
}

/// Index of the first snapshot at or after `t`.
pub fn index_at(snaps: &[Arc<Snapshot>], t: f64) -> usize {
    snaps.partition_point(|s| s.elapsed_s < t)
}

/// Start playing `src` at `speed`; messages go to `out`. History of up to
/// `history_s` before a seek target is re-sent at once so charts are full.
pub fn spawn(
    src: ReplaySource,
    speed: f64,
    history_s: f64,
    out: mpsc::Sender<ReplayMsg>,
) -> ReplayHandle {
    let (tx, mut rx) = mpsc::channel(16);
    let task = tokio::spawn(async move {
        let duration = src.duration_s();
        let snaps = src.snapshots;
        let windows = src.windows;
        // The next window to send: the first one written after more
        // snapshots than have been sent.
        let mut wi = 0usize;
        let mut speed = speed.clamp(SPEED_RANGE.0, SPEED_RANGE.1);
        let mut paused = false;
        let mut i = 0usize;
        let status = |i: usize, speed: f64, paused: bool| {
            let pos = snaps
                .get(i.min(snaps.len().saturating_sub(1)))
                .map_or(0.0, |s| s.elapsed_s);
            ReplayMsg::Status(ReplayStatus {
                position_s: pos,
                duration_s: duration,
                speed,
                paused,
                finished: i >= snaps.len(),
            })
        };
        loop {
            if out.send(status(i, speed, paused)).await.is_err() {
                return;
            }
            let wait = if paused || i >= snaps.len() {
                None
            } else if i == 0 {
                Some(Duration::ZERO)
            } else {
                let dt = (snaps[i].elapsed_s - snaps[i - 1].elapsed_s).max(0.0) / speed;
                Some(Duration::from_secs_f64(dt.min(60.0)))
            };
            tokio::select! {
                () = async { match wait { Some(d) => tokio::time::sleep(d).await, None => std::future::pending().await } } => {
                    if out.send(ReplayMsg::Snapshot(snaps[i].clone())).await.is_err() {
                        return;
                    }
                    i += 1;
                    while let Some(w) = windows.get(wi).filter(|w| w.after_snapshots <= i) {
                        if out.send(ReplayMsg::Window(w.window.clone())).await.is_err() {
                            return;
                        }
                        wi += 1;
                    }
                }
                cmd = rx.recv() => match cmd {
                    None => return,
                    Some(ReplayCommand::TogglePause) => paused = !paused,
                    Some(ReplayCommand::Speed(f)) => speed = (speed * f).clamp(SPEED_RANGE.0, SPEED_RANGE.1),
                    Some(ReplayCommand::Seek(delta)) => {
                        let now = snaps.get(i.saturating_sub(1)).map_or(0.0, |s| s.elapsed_s);
                        let target = index_at(&snaps, now + delta);
                        let from = index_at(&snaps, snaps.get(target.min(snaps.len().saturating_sub(1))).map_or(0.0, |s| s.elapsed_s) - history_s);
                        if out.send(ReplayMsg::Reset).await.is_err() {
                            return;
                        }
                        for s in &snaps[from..target.min(snaps.len())] {
                            if out.send(ReplayMsg::Snapshot(s.clone())).await.is_err() {
                                return;
                            }
                        }
                        i = target;
                        // The latency table as it stood there: the last
                        // window before the target, then on from it.
                        wi = windows.partition_point(|w| w.after_snapshots <= i);
                        if let Some(w) = wi.checked_sub(1).and_then(|k| windows.get(k)) {
                            if out.send(ReplayMsg::Window(w.window.clone())).await.is_err() {
                                return;
                            }
                        }
                    }
                },
            }
        }
    });
    ReplayHandle { commands: tx, task }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shared(name: &str) -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../shared/traces")
            .join(name)
    }

    #[test]
    fn every_shared_trace_loads_as_snapshots() {
        for name in [
            "xavier-nx_burn-in_tegrastats.log",
            "agx-orin-jp6_excerpt_tegrastats.log",
            "tx2_tegrastats.log",
            "nano_tegrastats.log",
            "agx-orin_llm-inference_stats.csv",
        ] {
            let src = load(&shared(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(src.snapshots.len() > 50, "{name}");
            assert!(src.duration_s() > 0.0, "{name}");
            assert!(
                src.snapshots
                    .windows(2)
                    .all(|w| w[0].elapsed_s <= w[1].elapsed_s),
                "{name} in time order"
            );
            let first = &src.snapshots[0];
            assert!(first.thermal.iter().any(|z| z.online), "{name}");
            assert!(first.memory.total_mb.is_some(), "{name}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn plays_in_time_pauses_seeks_and_speeds_up() {
        let src = load(&shared("xavier-nx_burn-in_tegrastats.log")).unwrap();
        let n = src.snapshots.len();
        let (tx, mut rx) = mpsc::channel(4096);
        let h = spawn(src, 1.0, 10.0, tx);
        let mut got = 0;
        let mut last_t = -1.0;
        // Virtual time: the whole trace plays to the end.
        loop {
            match rx.recv().await.unwrap() {
                ReplayMsg::Snapshot(s) => {
                    assert!(s.elapsed_s >= last_t);
                    last_t = s.elapsed_s;
                    got += 1;
                }
                ReplayMsg::Status(st) if st.finished => break,
                ReplayMsg::Status(_) | ReplayMsg::Reset | ReplayMsg::Window(_) => {}
            }
        }
        assert_eq!(got, n);
        // Seek back 30 s: a reset, then history up to the target.
        h.commands.send(ReplayCommand::Seek(-30.0)).await.unwrap();
        let mut saw_reset = false;
        let mut replayed = 0;
        while let Ok(Some(m)) = tokio::time::timeout(Duration::from_secs(100), rx.recv()).await {
            match m {
                ReplayMsg::Reset => saw_reset = true,
                ReplayMsg::Snapshot(_) => replayed += 1,
                ReplayMsg::Status(st) if st.finished => break,
                ReplayMsg::Status(_) | ReplayMsg::Window(_) => {}
            }
        }
        assert!(saw_reset);
        assert!(
            replayed > 20,
            "history and the last 30 s replay ({replayed})"
        );
        h.commands.send(ReplayCommand::Speed(2.0)).await.unwrap();
        h.commands.send(ReplayCommand::TogglePause).await.unwrap();
        let mut paused = None;
        while let Ok(Some(m)) = tokio::time::timeout(Duration::from_secs(100), rx.recv()).await {
            if let ReplayMsg::Status(st) = m {
                paused = Some((st.paused, st.speed));
            }
        }
        assert_eq!(paused, Some((true, 2.0)));
        h.stop();
    }

    /// A recording's windows come after the snapshots that preceded them
    /// in the run; a seek sends the last window before the new position
    /// first, then the rest in order.
    #[tokio::test(start_paused = true)]
    async fn windows_come_back_between_the_snapshots_they_followed() {
        let snapshots: Vec<Arc<Snapshot>> = (0..10)
            .map(|i| {
                let mut s = Snapshot::empty();
                s.elapsed_s = f64::from(i);
                Arc::new(s)
            })
            .collect();
        let window = |after: usize| ReplayedWindow {
            after_snapshots: after,
            window: Arc::new(LoadWindow {
                elapsed_s: after as f64,
                ..LoadWindow::default()
            }),
        };
        let src = ReplaySource {
            label: "made".into(),
            snapshots,
            windows: vec![window(2), window(5), window(8)],
            skipped: Vec::new(),
        };
        let (tx, mut rx) = mpsc::channel(4096);
        let h = spawn(src, 1.0, 0.0, tx);
        let mut order = Vec::new();
        let mut next = async |order: &mut Vec<String>| loop {
            match rx.recv().await.unwrap() {
                ReplayMsg::Snapshot(s) => order.push(format!("s{}", s.elapsed_s)),
                ReplayMsg::Window(w) => order.push(format!("w{}", w.elapsed_s)),
                ReplayMsg::Reset => order.push("reset".into()),
                ReplayMsg::Status(st) if st.finished => return,
                ReplayMsg::Status(_) => {}
            }
        };
        next(&mut order).await;
        assert_eq!(order.join(" "), "s0 s1 w2 s2 s3 s4 w5 s5 s6 s7 w8 s8 s9");
        order.clear();
        // From the end (t = 9) back 3 s to t = 6: six snapshots seen there.
        h.commands.send(ReplayCommand::Seek(-3.0)).await.unwrap();
        next(&mut order).await;
        assert_eq!(order.join(" "), "reset w5 s6 s7 w8 s8 s9");
    }
}
