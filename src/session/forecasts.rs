//! The forecasts a front end makes after each snapshot, in one order: the
//! predictor bundle observes it, the plan tracker takes its load, the zones'
//! predictions are named and sorted ([`Predictors::named`]), the first zone's
//! two ETAs are updated ([`Etas`]) and the memory ETA is taken. The
//! dashboard's `App` and `jetstress run` each hold one and hand it to
//! [`super::Sinks::on_snapshot`], so the pane, the progress line, the
//! recording, `/metrics` and the report read the same answers.

use super::etas::{BothEtas, Etas};
use crate::load::engine::EngineEvent;
use crate::load::{AfterPlan, PlanTracker};
use crate::predict::thermal::ZonePrediction;
use crate::predict::{MemoryPrediction, PredictConfig, Predictors};
use crate::snapshot::Snapshot;

/// One run's predictors and what they said after the latest snapshot.
/// Fixed size per zone and watched process, whatever the run's length.
#[derive(Debug, Clone)]
pub struct Forecasts {
    predictors: Predictors,
    plan: PlanTracker,
    /// What the plan tracker assumes once the plan's phases end.
    after: AfterPlan,
    named: Vec<ZonePrediction>,
    memory: Option<MemoryPrediction>,
    etas: Etas,
}

impl Forecasts {
    /// Predictors tuned by `cfg`; `after`: whether a CPU burn outlives the
    /// plan's phases (the dashboard's key-started burn does, `run`'s stops
    /// with its phases).
    pub fn new(cfg: PredictConfig, after: AfterPlan) -> Forecasts {
        Forecasts {
            predictors: Predictors::new(cfg),
            plan: PlanTracker::new(after),
            after,
            named: Vec::new(),
            memory: None,
            etas: Etas::default(),
        }
    }

    /// A new snapshot through every forecast, in the order each needs the last.
    pub fn observe(&mut self, s: &Snapshot) {
        self.predictors.observe(s);
        self.plan.on_snapshot(s);
        self.named = self.predictors.named(s);
        let planned = self.plan.planned(self.predictors.config().max_eta_s);
        self.etas
            .update(&self.predictors, s, &self.named, planned.as_ref());
        self.memory = self.predictors.memory_prediction();
    }

    /// An engine event for the plan's position (phase, stage, measured load).
    pub fn on_event(&mut self, ev: &EngineEvent) {
        self.plan.on_event(ev);
    }

    /// The plan's load ahead, to add the phases and burn a front end starts.
    pub fn plan_mut(&mut self) -> &mut PlanTracker {
        &mut self.plan
    }

    /// Every zone's prediction after the latest snapshot, soonest ETA first.
    pub fn named(&self) -> &[ZonePrediction] {
        &self.named
    }

    /// Show these zone predictions until the next snapshot (a front end's
    /// rendering checked against chosen answers).
    pub fn set_named(&mut self, named: Vec<ZonePrediction>) {
        self.named = named;
    }

    /// The first zone's ETAs at this load and under the plan's load ahead.
    pub fn etas(&self) -> Option<&BothEtas> {
        self.etas.current()
    }

    /// The time to the memory floor after the latest snapshot.
    pub fn memory(&self) -> Option<&MemoryPrediction> {
        self.memory.as_ref()
    }

    /// The predictor bundle (leaks, the zones' models, its settings).
    pub fn predictors(&self) -> &Predictors {
        &self.predictors
    }

    /// New predictor settings: the predictions start over, the plan stays.
    pub fn set_config(&mut self, cfg: PredictConfig) {
        self.predictors = Predictors::new(cfg);
        self.forget_answers();
    }

    /// Forget everything seen (a replay seek): predictions and the plan.
    pub fn reset(&mut self) {
        self.predictors.reset();
        self.plan = PlanTracker::new(self.after);
        self.forget_answers();
    }

    fn forget_answers(&mut self) {
        self.named.clear();
        self.memory = None;
        self.etas.clear();
    }
}

impl Default for Forecasts {
    /// The default predictor settings; a burn outlives the plan's phases.
    fn default() -> Forecasts {
        Forecasts::new(PredictConfig::default(), AfterPlan::BurnGoesOn)
    }
}
