//! Both ETAs for the zone nearest its trip, in the one wording the dashboard
//! and `jetstress run` share: the load-aware model at this load, and under
//! the plan's load ahead while a phase runs ("cpu-thermal reaches 99 °C in
//! 6 min ± 1 at this load; in 2 min ± 1 if the stress phase goes on to
//! 30 rps"). Made once per snapshot for one zone (a planned query steps the
//! model's trajectory; all eleven zones every sample would be over the
//! predictor's budget), then read by the pane, the progress line and the
//! recording's prediction line (`eta_planned_s`).

use crate::load::{Offered, PlannedLoad};
use crate::predict::thermal::{Status, ZonePrediction};
use crate::predict::{human_duration, human_eta, name_zone, zone_id_of, Predictors};
use crate::snapshot::Snapshot;

/// The ETA under the plan's load ahead, and the plan it assumed.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedEta {
    /// The load model under the plan (zone as shown).
    pub prediction: ZonePrediction,
    /// The running phase.
    pub phase: String,
    /// Its last stage's rate or users.
    pub last: Offered,
    /// Phases still to come after it.
    pub then: Vec<String>,
}

/// One zone's two ETAs.
#[derive(Debug, Clone, PartialEq)]
pub struct BothEtas {
    /// The zone as shown ([`crate::predict::zone_label`]).
    pub zone: String,
    /// The load model at the current load.
    pub at_this_load: ZonePrediction,
    /// Under the plan's load ahead; `None` while no planned phase runs.
    pub planned: Option<PlannedEta>,
}

impl BothEtas {
    /// Both ETAs for the first of `named` (the predictions as
    /// [`Predictors::named`] sorts them: soonest ETA first, else hottest),
    /// from the one predictor bundle after its latest sample. `None` while
    /// the load model has too few samples for that zone (the pane keeps its
    /// usual line).
    pub fn compute(
        predictors: &Predictors,
        s: &Snapshot,
        named: &[ZonePrediction],
        plan: Option<&PlannedLoad>,
    ) -> Option<BothEtas> {
        let first = named.first()?;
        let id = zone_id_of(s, &first.zone)?;
        let mut at = predictors.at_this_load_for(id)?;
        if at.status == Status::TooFewSamples {
            return None;
        }
        name_zone(s, &mut at);
        let planned = plan
            .filter(|_| at.status != Status::AlreadyOver)
            .and_then(|pl| {
                let mut p = predictors.planned_for(id, &pl.plan)?;
                name_zone(s, &mut p);
                Some(PlannedEta {
                    prediction: p,
                    phase: pl.phase.clone(),
                    last: pl.last,
                    then: pl.then.clone(),
                })
            })
            .filter(|p| p.prediction.status != Status::TooFewSamples);
        Some(BothEtas {
            zone: at.zone.clone(),
            at_this_load: at,
            planned,
        })
    }

    /// Whether either says when the trip comes.
    pub fn has_eta(&self) -> bool {
        self.at_this_load.eta_s.is_some()
            || self
                .planned
                .as_ref()
                .is_some_and(|p| p.prediction.eta_s.is_some())
    }

    /// The line as an operator reads it (the longest of [`Self::forms`]).
    pub fn line(&self) -> String {
        self.forms().swap_remove(0)
    }

    /// The line from longest to shortest: with ranges and the phases to
    /// come; without ranges; zone, trip and the two ETAs only.
    pub fn forms(&self) -> Vec<String> {
        let a = &self.at_this_load;
        let z = &self.zone;
        let at = |ranged: bool| match (a.status, a.eta_s) {
            (Status::AlreadyOver, _) => {
                format!(
                    "{z} is at {:.1} °C, over its {:.0} °C trip",
                    a.temp_c, a.trip_c
                )
            }
            (Status::Ok, Some(e)) => format!(
                "{z} reaches {:.0} °C in {} at this load",
                a.trip_c,
                when(e, a.lo_s, a.hi_s, ranged)
            ),
            (Status::LevellingOff, _) => match a.t_inf_c {
                Some(t) => format!("{z} levels off at {t:.1} °C at this load"),
                None => format!("{z} levels off at this load"),
            },
            _ => format!("{z}: {:.0} °C trip not in sight at this load", a.trip_c),
        };
        let planned = |ranged: bool, then: bool| {
            let p = self.planned.as_ref()?;
            let q = &p.prediction;
            let cond = format!("if the {} phase goes on to {}", p.phase, p.last);
            let head = match (q.status, q.eta_s) {
                (Status::Ok, Some(e)) => format!("in {} {cond}", when(e, q.lo_s, q.hi_s, ranged)),
                (Status::AlreadyOver, _) => return None,
                (Status::LevellingOff, _) => match q.t_inf_c {
                    Some(t) => format!("levelling off at {t:.1} °C {cond}"),
                    None => format!("levelling off {cond}"),
                },
                _ => format!("not in sight {cond}"),
            };
            Some(if then && !p.then.is_empty() {
                format!("{head} (then {})", p.then.join(", "))
            } else {
                head
            })
        };
        let join = |a: String, p: Option<String>| match p {
            Some(p) => format!("{a}; {p}"),
            None => a,
        };
        let mut forms = vec![
            join(at(true), planned(true, true)),
            join(at(true), planned(true, false)),
            join(at(false), planned(false, false)),
        ];
        // Shorter: the two numbers, in fewer words.
        let short_at = a.eta_s.map_or_else(|| "no trip".into(), human_duration);
        let short_planned = self.planned.as_ref().map(|p| {
            p.prediction
                .eta_s
                .map_or_else(|| "none".into(), human_duration)
        });
        match short_planned {
            Some(p) => forms.extend([
                format!(
                    "{z} {:.0} °C: {short_at} at this load, {p} planned",
                    a.trip_c
                ),
                format!("{z}: trip in {short_at}, {p} planned"),
                format!("{z}: {short_at}, planned {p}"),
            ]),
            None => forms.push(format!("{z} {:.0} °C: {short_at} at this load", a.trip_c)),
        }
        forms.dedup();
        forms
    }
}

/// "6 min ± 1" with its range, or "6 min".
fn when(eta: f64, lo: Option<f64>, hi: Option<f64>, ranged: bool) -> String {
    if ranged {
        human_eta(eta, lo, hi)
    } else {
        human_duration(eta)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::predict::Model;

    fn pred(status: Status, eta: Option<f64>) -> ZonePrediction {
        ZonePrediction {
            zone: "cpu-thermal".into(),
            eta_s: eta,
            lo_s: eta.map(|e| e * 0.8),
            hi_s: eta.map(|e| e * 1.2),
            model: Model::Load,
            t_inf_c: Some(91.5),
            status,
            trip_c: 99.0,
            temp_c: 80.0,
            slope_c_per_min: 0.5,
            message: String::new(),
        }
    }

    /// The wording names both loads; the planned part names the phase, its
    /// last stage's rate and the phases after it; without a phase only the
    /// first part stays.
    #[test]
    fn both_parts_read_from_the_predictions() {
        let at = pred(Status::Ok, Some(360.0));
        let planned = pred(Status::Ok, Some(120.0));
        let mut both = BothEtas {
            zone: at.zone.clone(),
            at_this_load: at.clone(),
            planned: Some(PlannedEta {
                prediction: planned.clone(),
                phase: "stress".into(),
                last: Offered::Rate(30.0),
                then: vec!["soak".into()],
            }),
        };
        let want = format!(
            "cpu-thermal reaches 99 °C in {} at this load; in {} if the stress phase goes on to 30 rps (then soak)",
            human_eta(360.0, at.lo_s, at.hi_s),
            human_eta(120.0, planned.lo_s, planned.hi_s),
        );
        assert_eq!(both.line(), want);
        assert!(both.has_eta());
        let forms = both.forms();
        assert!(
            forms.windows(2).all(|w| w[0].len() > w[1].len()),
            "{forms:?}"
        );
        both.planned.as_mut().unwrap().prediction = pred(Status::LevellingOff, None);
        both.at_this_load = pred(Status::LevellingOff, None);
        assert!(!both.has_eta());
        assert!(
            both.line().ends_with(
                "levelling off at 91.5 °C if the stress phase goes on to 30 rps (then soak)"
            ),
            "{}",
            both.line()
        );
        both.planned = None;
        assert_eq!(
            both.line(),
            "cpu-thermal levels off at 91.5 °C at this load"
        );
    }
}
