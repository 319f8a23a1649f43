//! `jetstress campaign`: the stress-testing assignment as one resumable
//! command. The campaign file ([`file`]) lists a baseline, scenarios and the
//! recovery between them; the state file ([`state`]) says which steps are
//! done and what each found ([`outcome`]); the analysis ([`analysis`]) turns
//! the steps and their reports into `campaign.json` (`jetstress.campaign/1`)
//! and `campaign.md` ([`markdown`]). Pure, but for reading and writing those
//! files: the steps themselves are run by the binary's `campaign` command on
//! a session, as `jetstress run` runs one scenario.

pub(crate) mod analysis;
pub(crate) mod file;
pub(crate) mod markdown;
pub(crate) mod outcome;
pub(crate) mod state;

pub use analysis::{
    analyse, CampaignReport, Finding, ScenarioEntryReport, Severity, CAMPAIGN_SCHEMA,
};
pub use file::{
    load, parse, Baseline, Campaign, CampaignFileError, Recovery, ScenarioEntry, DEFAULT_BASELINE,
    DEFAULT_RECOVERY, DEFAULT_WITHIN_C,
};
pub use outcome::{
    BaselineOutcome, DeathRecord, RecoveryEnd, RecoveryOutcome, ScenarioOutcome, ScenarioResult,
    StepOutcome, ToolTiming, WatchedLeak, ZoneCooling, ZoneTemp,
};
pub use state::{
    plan_steps, CampaignState, Interruption, StateError, Step, StepKind, StepStatus, STATE_FILE,
    STATE_SCHEMA,
};

/// Whether a recovery may end: every zone that has a baseline is back within
/// `within_c` of it. `false` when no zone could be compared (nothing
/// confirms the board cooled).
pub fn cooled(now: &[(String, f64)], baseline: &[ZoneTemp], within_c: f64) -> bool {
    let mut compared = 0;
    for (zone, t) in now {
        if let Some(b) = baseline.iter().find(|b| &b.zone == zone) {
            compared += 1;
            if *t > b.mean_c + within_c {
                return false;
            }
        }
    }
    compared > 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_recovery_ends_when_every_known_zone_is_back_near_its_baseline() {
        let base = vec![
            ZoneTemp {
                zone: "cpu".into(),
                mean_c: 40.0,
                max_c: 41.0,
            },
            ZoneTemp {
                zone: "gpu".into(),
                mean_c: 38.0,
                max_c: 38.5,
            },
        ];
        let at = |c: f64, g: f64| vec![("cpu".to_string(), c), ("gpu".to_string(), g)];
        assert!(cooled(&at(41.9, 38.0), &base, 2.0));
        assert!(!cooled(&at(42.1, 38.0), &base, 2.0));
        assert!(!cooled(&at(40.0, 45.0), &base, 2.0));
        // A zone without a baseline is not waited for; none to compare: not cooled.
        assert!(cooled(
            &[("cpu".into(), 41.0), ("new".into(), 90.0)],
            &base,
            2.0
        ));
        assert!(!cooled(&[("new".into(), 30.0)], &base, 2.0));
        assert!(!cooled(&[], &base, 2.0));
    }
}
