//! What every tool call reads: the collector's latest snapshot, the bounded
//! trend history fed from the collector stream, and the server's own counters
//! (uptime, calls per tool, own RSS/CPU) for `debug_status`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{broadcast, watch};

use super::diagnosis::History;
use crate::export::metrics::Metrics;
use crate::snapshot::Snapshot;

/// How long a call waits for the collector's first sample before answering
/// "no sample yet".
pub const FIRST_SAMPLE_WAIT: Duration = Duration::from_secs(2);

#[derive(Debug)]
pub struct ServerState {
    latest: watch::Receiver<Option<Arc<Snapshot>>>,
    history: Mutex<History>,
    predictors: Mutex<crate::predict::Predictors>,
    started: Instant,
    /// Calls served, indexed like [`super::tools::TOOLS`].
    calls: Vec<AtomicU64>,
}

impl ServerState {
    pub fn new(latest: watch::Receiver<Option<Arc<Snapshot>>>, tools: usize) -> Self {
        ServerState {
            latest,
            history: Mutex::new(History::default()),
            predictors: Mutex::new(crate::predict::Predictors::default()),
            started: Instant::now(),
            calls: (0..tools).map(|_| AtomicU64::new(0)).collect(),
        }
    }

    /// Keep the trend history and predictors up to date from the collector
    /// stream (until it closes), and `/metrics` when it is served.
    pub fn follow(
        self: &Arc<Self>,
        mut stream: broadcast::Receiver<Arc<Snapshot>>,
        metrics: Option<Arc<Metrics>>,
    ) -> tokio::task::JoinHandle<()> {
        let me = Arc::clone(self);
        tokio::spawn(async move {
            let observe = |s: &Snapshot| {
                me.with_history(|h| h.push(s));
                let preds = me.with_predictors(|p| {
                    p.observe(s);
                    metrics.as_ref().map(|_| p.named(s))
                });
                if let (Some(m), Some(preds)) = (&metrics, preds) {
                    m.update(s);
                    m.update_predictions(&preds);
                }
            };
            // The sample already published before we subscribed seeds the history.
            let seed = me.latest.borrow().clone();
            if let Some(s) = seed {
                observe(&s);
            }
            loop {
                match stream.recv().await {
                    Ok(s) => observe(&s),
                    Err(broadcast::error::RecvError::Lagged(_)) => {}
                    Err(broadcast::error::RecvError::Closed) => break,
                }
            }
        })
    }

    pub fn with_history<R>(&self, f: impl FnOnce(&mut History) -> R) -> R {
        // A poisoned lock only means a panic elsewhere mid-push; the ring is still bounded.
        let mut g = self
            .history
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&mut g)
    }

    pub fn with_predictors<R>(&self, f: impl FnOnce(&mut crate::predict::Predictors) -> R) -> R {
        let mut g = self
            .predictors
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&mut g)
    }

    /// The latest sample, waiting briefly for the first one at startup.
    pub async fn snapshot(&self) -> Option<Arc<Snapshot>> {
        if let Some(s) = self.latest.borrow().clone() {
            return Some(s);
        }
        let mut rx = self.latest.clone();
        let waited = tokio::time::timeout(FIRST_SAMPLE_WAIT, rx.wait_for(Option::is_some)).await;
        match waited {
            Ok(Ok(s)) => s.clone(),
            _ => None,
        }
    }

    pub fn count_call(&self, tool: usize) {
        if let Some(c) = self.calls.get(tool) {
            c.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub fn calls(&self, tool: usize) -> u64 {
        self.calls
            .get(tool)
            .map_or(0, |c| c.load(Ordering::Relaxed))
    }

    pub fn uptime(&self) -> Duration {
        self.started.elapsed()
    }
}

pub use crate::probes::own::own_usage;
