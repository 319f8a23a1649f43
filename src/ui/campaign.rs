//! A campaign seen from the dashboard: what its bar shows ([`CampaignStatus`]:
//! step k of N, the step's time, the campaign's time left, the next step, and
//! at the end its verdict) and the feed a campaign driver sends the dashboard
//! ([`CampaignFeed`]: status updates, the driver's lines for the event log,
//! and the quit key back to the driver). The dashboard draws the board as
//! usual; the load is the campaign's, so the load keys are off.

use std::time::{Duration, Instant};

use tokio::sync::{mpsc, watch};

use crate::config::clock;

/// The campaign's bar, as the driver last described it.
#[derive(Debug, Clone, PartialEq)]
pub struct CampaignStatus {
    /// `campaign assignment (×0.001)`.
    pub title: String,
    /// 1-based step, of `steps`.
    pub step: usize,
    pub steps: usize,
    /// `scenario 3/5 memory`, `recovery after thermal`.
    pub name: String,
    /// When the step started, and how long it is planned to take.
    pub started: Instant,
    pub planned: Duration,
    /// Planned time of the steps after this one.
    pub after: Duration,
    /// The next step's name (`the analysis` for the last).
    pub next: String,
    /// Set when the campaign ended: `PASS · Production readiness: READY`.
    pub finished: Option<String>,
}

impl CampaignStatus {
    /// Share of this step done at `now`, 0–1.
    pub fn done(&self, now: Instant) -> f64 {
        if self.finished.is_some() {
            return 1.0;
        }
        let p = self.planned.as_secs_f64();
        if p <= 0.0 {
            return 0.0;
        }
        (now.saturating_duration_since(self.started).as_secs_f64() / p).min(1.0)
    }

    /// The bar's text at `now`.
    pub fn line(&self, now: Instant) -> String {
        if let Some(f) = &self.finished {
            return format!("{} · done · {f} · q quits", self.title);
        }
        let spent = now.saturating_duration_since(self.started);
        let left = self.planned.saturating_sub(spent) + self.after;
        format!(
            "{} · step {}/{} {} · {} of {} · campaign left {} · next: {} · q stops (resumable)",
            self.title,
            self.step,
            self.steps,
            self.name,
            clock(spent.min(self.planned)),
            clock(self.planned),
            clock(left),
            self.next
        )
    }
}

/// What a campaign driver hands the dashboard.
pub struct CampaignFeed {
    pub status: watch::Receiver<Option<CampaignStatus>>,
    /// The driver's own lines (step starts, verdicts, progress), for the event log.
    pub lines: mpsc::Receiver<String>,
    /// Set to `true` when the operator quits: the driver stops the campaign.
    pub quit: watch::Sender<bool>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bar_counts_down_the_step_and_the_campaign() {
        let t0 = Instant::now();
        let mut st = CampaignStatus {
            title: "campaign assignment".into(),
            step: 3,
            steps: 10,
            name: "scenario 2/5 thermal".into(),
            started: t0,
            planned: Duration::from_secs(240),
            after: Duration::from_secs(600),
            next: "recovery after thermal".into(),
            finished: None,
        };
        let at = t0 + Duration::from_secs(60);
        assert_eq!(
            st.line(at),
            "campaign assignment · step 3/10 scenario 2/5 thermal · 1:00 of 4:00 · campaign left 13:00 · next: recovery after thermal · q stops (resumable)"
        );
        assert!((st.done(at) - 0.25).abs() < 1e-9);
        // Past its plan a step shows full, and the campaign's rest.
        let late = t0 + Duration::from_secs(300);
        assert!(st.line(late).contains("4:00 of 4:00 · campaign left 10:00"));
        st.finished = Some("PASS · Production readiness: READY".into());
        assert_eq!(
            st.line(late),
            "campaign assignment · done · PASS · Production readiness: READY · q quits"
        );
        assert!((st.done(late) - 1.0).abs() < f64::EPSILON);
    }
}
