//! Both ETAs for the zone nearest its trip, in the one wording the dashboard
//! and `jetstress run` share: the load-aware model at this load, and under
//! the plan's load ahead while a phase runs ("cpu-thermal reaches 99 °C in
//! 6 min ± 1 at this load; in 2 min ± 1 if the stress phase goes on to
//! 30 rps"). Made for one zone (a planned query steps the model's
//! trajectory; all eleven zones every sample would be over the predictor's
//! budget), at this load after every snapshot and under the plan every
//! [`PLANNED_EVERY_S`] (aged in between), then read by the pane, the
//! progress line and the recording's prediction line (`eta_planned_s`).

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

/// How long a planned ETA is reused, aged by the time since, before the
/// load model is asked again (seconds of the snapshots' clock): a planned
/// query steps the model's trajectory and its first passage, some 30 µs
/// for a zone near its trip, against 5 µs at this load. A new zone, phase
/// or stage asks at once.
pub const PLANNED_EVERY_S: f64 = 5.0;

/// The last planned ETA asked: when, and for which zone, phase and stage.
#[derive(Debug, Clone)]
struct Asked {
    t_s: f64,
    zone: String,
    phase: String,
    stage: usize,
    planned: Option<PlannedEta>,
}

/// The front end's two ETAs, made after each snapshot ([`Etas::update`]):
/// at this load every time, under the plan's load ahead every
/// [`PLANNED_EVERY_S`]. Holds one zone's answers, whatever the run's length.
#[derive(Debug, Clone, Default)]
pub struct Etas {
    current: Option<BothEtas>,
    asked: Option<Asked>,
}

impl Etas {
    /// Both ETAs after the latest snapshot, if any.
    pub fn current(&self) -> Option<&BothEtas> {
        self.current.as_ref()
    }

    /// Forget them (a replay seek).
    pub fn clear(&mut self) {
        *self = Etas::default();
    }

    /// Both ETAs for the first of `named` (the predictions as
    /// [`Predictors::named`] sorts them: soonest ETA first, else hottest),
    /// from the one predictor bundle after its latest sample; `plan` while a
    /// planned phase runs. None while the load model has too few samples for
    /// that zone (the pane keeps its usual line).
    pub fn update(
        &mut self,
        predictors: &Predictors,
        s: &Snapshot,
        named: &[ZonePrediction],
        plan: Option<&PlannedLoad>,
    ) {
        let t = predictors.now_s();
        let Some((id, at)) = at_this_load(predictors, s, named) else {
            self.current = None;
            return;
        };
        let planned = match plan.filter(|_| at.status != Status::AlreadyOver) {
            None => {
                self.asked = None;
                None
            }
            Some(pl) => {
                let fresh = self.asked.as_ref().is_some_and(|a| {
                    a.zone == at.zone
                        && a.phase == pl.phase
                        && a.stage == pl.stage
                        && (0.0..PLANNED_EVERY_S).contains(&(t - a.t_s))
                });
                let a = match &mut self.asked {
                    Some(a) if fresh => a,
                    slot => slot.insert(Asked {
                        t_s: t,
                        zone: at.zone.clone(),
                        phase: pl.phase.clone(),
                        stage: pl.stage,
                        planned: planned_under(predictors, s, id, pl),
                    }),
                };
                let age = t - a.t_s;
                a.planned.as_ref().map(|p| p.aged(age))
            }
        };
        self.current = Some(BothEtas {
            zone: at.zone.clone(),
            at_this_load: at,
            planned,
        });
    }
}

/// The first zone's id and its load-model ETA at this load (zone as shown).
fn at_this_load<'a>(
    predictors: &Predictors,
    s: &'a Snapshot,
    named: &[ZonePrediction],
) -> Option<(&'a str, ZonePrediction)> {
    let id = zone_id_of(s, &named.first()?.zone)?;
    let mut at = predictors.at_this_load_for(id)?;
    if at.status == Status::TooFewSamples {
        return None;
    }
    name_zone(s, &mut at);
    Some((id, at))
}

/// A zone's ETA under the plan's load ahead (zone as shown).
fn planned_under(
    predictors: &Predictors,
    s: &Snapshot,
    id: &str,
    pl: &PlannedLoad,
) -> Option<PlannedEta> {
    let mut p = predictors.planned_for(id, &pl.plan)?;
    if p.status == Status::TooFewSamples {
        return None;
    }
    name_zone(s, &mut p);
    Some(PlannedEta {
        prediction: p,
        phase: pl.phase.clone(),
        last: pl.last,
        then: pl.then.clone(),
    })
}

impl PlannedEta {
    /// The same answer `dt` seconds later: the ETA and its range that much
    /// nearer.
    fn aged(&self, dt: f64) -> PlannedEta {
        let less = |v: Option<f64>| v.map(|x| (x - dt).max(0.0));
        let mut p = self.clone();
        let q = &mut p.prediction;
        (q.eta_s, q.lo_s, q.hi_s) = (less(q.eta_s), less(q.lo_s), less(q.hi_s));
        p
    }
}

impl BothEtas {
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

    /// A zone heating towards 100 °C (τ 200 s) at u = 0.5, one
    /// sample a second; the plan ahead holds u = 0.9.
    fn heated(secs: u32) -> (Predictors, Snapshot) {
        let mut p = Predictors::default();
        let mut s = Snapshot::empty();
        s.thermal.push(crate::snapshot::ThermalZone {
            id: "thermal_zone0".into(),
            name: "cpu-thermal".into(),
            source: "zone".into(),
            temp_c: None,
            online: true,
            offline_reason: None,
            mode: None,
            trips: vec![crate::snapshot::Trip {
                kind: "passive".into(),
                temp_c: 99.0,
            }],
        });
        s.cpu.util_pct = Some(50.0);
        let mut temp: f64 = 45.0;
        for i in 0..=secs {
            temp += (100.0 - temp) * (1.0 - (-1.0_f64 / 200.0).exp());
            s.elapsed_s = f64::from(i);
            s.thermal[0].temp_c = Some(temp);
            p.observe(&s);
        }
        (p, s)
    }

    fn plan(stage: usize) -> PlannedLoad {
        PlannedLoad {
            plan: crate::predict::LoadPlan::constant(0.9),
            phase: "stress".into(),
            stage,
            last: Offered::Rate(30.0),
            then: Vec::new(),
            shares: crate::load::LoadShares {
                idle: 0.1,
                burn: 0.0,
                current: 0.8,
                per_rps: Some(0.8 / 30.0),
                per_user: None,
                rps_per_user: None,
                rate_factor: 1.0,
                users_factor: 1.0,
                after: crate::load::AfterPlan::Idle,
            },
        }
    }

    /// The planned ETA is asked, then aged for [`PLANNED_EVERY_S`], then
    /// asked again; a new stage asks at once; at this load is asked every
    /// time; without a plan only that part stays.
    #[test]
    fn the_planned_eta_is_asked_every_few_seconds_and_aged_between() {
        let mut etas = Etas::default();
        let (p, s) = heated(300);
        let named = p.named(&s);
        etas.update(&p, &s, &named, Some(&plan(0)));
        let first = etas.current().unwrap().clone();
        let asked = first.planned.as_ref().unwrap().prediction.eta_s.unwrap();
        let fresh = |p: &Predictors| p.planned_for("thermal_zone0", &plan(0).plan);
        assert_eq!(asked, fresh(&p).unwrap().eta_s.unwrap());
        let at = p.at_this_load_for("thermal_zone0").unwrap();
        assert!(asked < at.eta_s.unwrap(), "0.9 heats faster than 0.5");
        // One second later: the same answer a second nearer.
        let (p, s) = heated(301);
        let named = p.named(&s);
        etas.update(&p, &s, &named, Some(&plan(0)));
        let b = etas.current().unwrap();
        let aged = b.planned.as_ref().unwrap().prediction.eta_s.unwrap();
        assert!((aged - (asked - 1.0)).abs() < 1e-9, "{aged} vs {asked}");
        assert_eq!(
            b.at_this_load.eta_s,
            p.at_this_load_for("thermal_zone0").unwrap().eta_s,
            "at this load: every sample"
        );
        // A new stage: asked at once.
        etas.update(&p, &s, &named, Some(&plan(1)));
        let new = etas.current().unwrap().planned.as_ref().unwrap();
        assert_eq!(new.prediction.eta_s, fresh(&p).unwrap().eta_s);
        // PLANNED_EVERY_S later on the same stage: asked again.
        let (p, s) = heated(301 + PLANNED_EVERY_S as u32);
        let named = p.named(&s);
        etas.update(&p, &s, &named, Some(&plan(1)));
        let again = etas.current().unwrap().planned.as_ref().unwrap();
        assert_eq!(again.prediction.eta_s, fresh(&p).unwrap().eta_s);
        // No phase: at this load only.
        etas.update(&p, &s, &named, None);
        assert!(etas.current().unwrap().planned.is_none());
    }
}
