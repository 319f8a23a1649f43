//! The sampling task: owns a [`Prober`], samples it every interval and publishes
//! each owned [`Snapshot`] to every reader — a broadcast stream for readers that
//! want every sample (store, recorder, predictor) and a `watch` slot for readers
//! that want only the latest (MCP tools, /metrics). A failing or panicking probe
//! is reported in the snapshot and retried next tick; it never stops the task.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{broadcast, mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;

use crate::probes::{Prober, Watch};
use crate::snapshot::{ProbeError, Snapshot};

/// Shortest allowed sampling interval.
pub const MIN_INTERVAL: Duration = Duration::from_millis(100);
/// Default sampling interval.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(1);

/// Requests to a running collector.
#[derive(Debug)]
pub enum CollectorCommand {
    /// Also watch this process's RSS from now on.
    Watch(Watch),
}

/// Handle to a running collector; dropping it leaves the task running until
/// [`CollectorHandle::stop`] or runtime shutdown.
#[derive(Debug)]
pub struct CollectorHandle {
    stream: broadcast::Sender<Arc<Snapshot>>,
    latest: watch::Receiver<Option<Arc<Snapshot>>>,
    commands: mpsc::Sender<CollectorCommand>,
    task: JoinHandle<()>,
}

impl CollectorHandle {
    /// Every snapshot from now on (a slow reader sees `Lagged`, never blocks the collector).
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Snapshot>> {
        self.stream.subscribe()
    }

    /// The latest snapshot slot.
    pub fn latest(&self) -> watch::Receiver<Option<Arc<Snapshot>>> {
        self.latest.clone()
    }

    pub fn commands(&self) -> mpsc::Sender<CollectorCommand> {
        self.commands.clone()
    }

    pub fn stop(&self) {
        self.task.abort();
    }
}

/// Clamp a requested interval to the allowed minimum.
pub fn clamp_interval(d: Duration) -> Duration {
    d.max(MIN_INTERVAL)
}

/// Take one sample, turning a panic inside a probe into a reported error.
pub fn sample_guarded(prober: &mut Prober) -> Snapshot {
    match catch_unwind(AssertUnwindSafe(|| prober.sample())) {
        Ok(s) => s,
        Err(p) => {
            let msg = p
                .downcast_ref::<&str>()
                .map(ToString::to_string)
                .or_else(|| p.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".to_string());
            let mut s = Snapshot::empty();
            s.probe_errors.push(ProbeError {
                probe: "collector".into(),
                message: format!("probe panicked: {msg}"),
            });
            s
        }
    }
}

/// Start sampling on the current tokio runtime.
pub fn spawn(mut prober: Prober, interval: Duration) -> CollectorHandle {
    let interval = clamp_interval(interval);
    let (stream, _) = broadcast::channel(64);
    let (latest_tx, latest) = watch::channel(None);
    let (commands, mut rx) = mpsc::channel(16);
    let tx = stream.clone();
    let task = tokio::spawn(async move {
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(MissedTickBehavior::Skip);
        let mut open = true;
        loop {
            tokio::select! {
                _ = tick.tick() => {
                    let snap = Arc::new(sample_guarded(&mut prober));
                    let _ = tx.send(snap.clone());
                    latest_tx.send_replace(Some(snap));
                }
                cmd = rx.recv(), if open => match cmd {
                    Some(CollectorCommand::Watch(w)) => prober.watch(w),
                    // Every handle is gone: keep sampling for remaining subscribers.
                    None => open = false,
                },
            }
        }
    });
    CollectorHandle {
        stream,
        latest,
        commands,
        task,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probes::Root;

    fn fixture() -> Root {
        Root::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/orin-agx-r36"
        ))
    }

    #[test]
    fn interval_has_a_floor() {
        assert_eq!(clamp_interval(Duration::from_millis(5)), MIN_INTERVAL);
        assert_eq!(
            clamp_interval(Duration::from_secs(2)),
            Duration::from_secs(2)
        );
    }

    #[tokio::test]
    async fn publishes_owned_snapshots_to_stream_and_latest() {
        let handle = spawn(
            Prober::new(fixture(), Vec::new()),
            Duration::from_millis(100),
        );
        let mut rx = handle.subscribe();
        let a = rx.recv().await.unwrap();
        let b = rx.recv().await.unwrap();
        assert!(b.elapsed_s > a.elapsed_s);
        assert_eq!(a.thermal.len(), b.thermal.len());
        let latest = handle.latest().borrow().clone().expect("latest set");
        assert!(latest.elapsed_s >= b.elapsed_s);
        handle.stop();
    }

    #[tokio::test]
    async fn a_failing_probe_is_reported_and_retried_not_fatal() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("proc")).unwrap();
        std::fs::write(
            dir.path().join("proc/meminfo"),
            "MemTotal: 1024 kB\nMemAvailable: 512 kB\n",
        )
        .unwrap();
        let handle = spawn(
            Prober::new(Root::new(dir.path()), Vec::new()),
            Duration::from_millis(100),
        );
        let mut rx = handle.subscribe();
        let first = rx.recv().await.unwrap();
        assert!(
            first.probe_errors.iter().any(|e| e.probe == "cpu"),
            "{:?}",
            first.probe_errors
        );
        std::fs::write(dir.path().join("proc/meminfo"), "").unwrap();
        let second = rx.recv().await.unwrap();
        assert!(second.probe_errors.iter().any(|e| e.probe == "memory"));
        std::fs::write(
            dir.path().join("proc/meminfo"),
            "MemTotal: 2048 kB\nMemAvailable: 1024 kB\n",
        )
        .unwrap();
        let third = rx.recv().await.unwrap();
        assert_eq!(third.memory.total_mb, Some(2.0));
        handle.stop();
    }
}
