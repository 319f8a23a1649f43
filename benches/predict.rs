//! Cost of the thermal predictor per sample: every zone observed, then every
//! zone predicted, as the dashboard and `jetstress run` do once per snapshot.
//! 11 zones (the Orin AGX count), 1 Hz, a noisy rising curve (σ 0.5 °C, not
//! quantised, so the first-passage sum runs), after 10 min of history.
//! Compared with the first passage off, and with the load-aware model fed
//! the load and asked, per zone, for its ETA under a planned load too (what
//! the dashboard does to say "at this load" and "if the stress phase goes
//! on"). Budget: 100 µs per sample for 11 zones. Last, what the dashboard
//! and `jetstress run` do per snapshot now: the bundle observes a snapshot
//! of 11 zones, names the predictions, follows a stress phase
//! ([`PlanTracker`]) and asks the first zone alone for both ETAs
//! ([`Etas`]: the planned one asked afresh, or reused from a second ago),
//! beside the same without both ETAs, each from one state after 10 min
//! (cloned outside the timing); and the parts on their own. Run: `cargo
//! bench --bench predict`.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use std::sync::Arc;
use std::time::Duration;

use jetstress::load::{
    AfterPlan, EngineEvent, LoadWindow, PhaseEvent, PhaseSpec, PlanTracker, StressParams,
    ToolSummary,
};
use jetstress::predict::{LoadPlan, PredictConfig, Predictors, ThermalPredictor};
use jetstress::session::Etas;
use jetstress::snapshot::{CpuCore, Snapshot, ThermalZone, Trip};

const ZONES: usize = 11;

/// Deterministic noise in [-0.87, 0.87] (sd ≈ 0.5), so runs compare.
fn noise(i: u64) -> f64 {
    let x = (i
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407)
        >> 11) as f64
        / (1u64 << 53) as f64;
    (x - 0.5) * 1.73
}

fn temp(z: usize, t: f64) -> f64 {
    40.0 + 40.0 * (1.0 - (-t / (900.0 + 60.0 * z as f64)).exp()) + noise((t as u64) * 31 + z as u64)
}

fn bench_predict(c: &mut Criterion) {
    let ids: Vec<String> = (0..ZONES).map(|z| format!("thermal_zone{z}")).collect();
    for first_passage in [true, false] {
        let mut p = ThermalPredictor::new(PredictConfig {
            first_passage,
            ..PredictConfig::default()
        });
        let mut t = 0.0;
        while t < 600.0 {
            for (z, id) in ids.iter().enumerate() {
                p.observe(t, id, Some(temp(z, t)), Some(99.0));
            }
            t += 1.0;
        }
        let name = if first_passage {
            "predict/11-zones-sample"
        } else {
            "predict/11-zones-sample-no-first-passage"
        };
        c.bench_function(name, |b| {
            b.iter(|| {
                for (z, id) in ids.iter().enumerate() {
                    p.observe(t, id, Some(temp(z, t)), Some(99.0));
                }
                t += 1.0;
                black_box(p.predictions(t))
            });
        });
    }
}

/// The load steps 0.3 → 0.9 every 5 min; the plan holds 0.9 for 2 min, then 0.5.
fn bench_planned(c: &mut Criterion) {
    let ids: Vec<String> = (0..ZONES).map(|z| format!("thermal_zone{z}")).collect();
    let load = |t: f64| {
        if ((t / 300.0) as u64).is_multiple_of(2) {
            0.3
        } else {
            0.9
        }
    };
    let mut p = ThermalPredictor::new(PredictConfig::default());
    let mut t = 0.0;
    while t < 600.0 {
        p.observe_load(Some(load(t)));
        for (z, id) in ids.iter().enumerate() {
            p.observe(t, id, Some(temp(z, t)), Some(99.0));
        }
        t += 1.0;
    }
    let plan = LoadPlan {
        steps: vec![(120.0, 0.9), (f64::INFINITY, 0.5)],
    };
    c.bench_function("predict/11-zones-sample-with-planned-load", |b| {
        b.iter(|| {
            p.observe_load(Some(load(t)));
            for (z, id) in ids.iter().enumerate() {
                p.observe(t, id, Some(temp(z, t)), Some(99.0));
            }
            t += 1.0;
            let chosen = p.predictions(t);
            let planned: Vec<_> = ids
                .iter()
                .map(|id| p.predict_load(id, t, Some(&|s| plan.at(s))))
                .collect();
            black_box((chosen, planned))
        });
    });
}

/// A zone heading over its trip (T∞ 110 °C): ETAs exist and the first
/// passage runs, the costlier case.
fn hot(z: usize, t: f64) -> f64 {
    40.0 + 70.0 * (1.0 - (-t / (900.0 + 60.0 * z as f64)).exp()) + noise((t as u64) * 31 + z as u64)
}

/// A snapshot of 11 zones at `t`, the CPU `load` busy.
fn snapshot(t: f64, load: f64) -> Snapshot {
    let mut s = Snapshot::empty();
    s.elapsed_s = t;
    s.cpu.util_pct = Some(load * 100.0);
    s.cpu.cores = (0..12)
        .map(|id| CpuCore {
            id,
            online: true,
            ..CpuCore::default()
        })
        .collect();
    s.thermal = (0..ZONES)
        .map(|z| ThermalZone {
            id: format!("thermal_zone{z}"),
            name: format!("zone{z}-thermal"),
            source: "zone".into(),
            temp_c: Some(hot(z, t)),
            online: true,
            offline_reason: None,
            mode: None,
            trips: vec![Trip {
                kind: "passive".into(),
                temp_c: 99.0,
            }],
        })
        .collect();
    s
}

/// An engine load window of `rate` requests in one second.
fn window(phase: &str, stage: &str, rate: f64) -> EngineEvent {
    EngineEvent::LoadWindow(Box::new(LoadWindow {
        elapsed_s: 0.0,
        window_s: 1.0,
        phase: Some(phase.to_string()),
        stage: Some(stage.to_string()),
        target_rate: rate,
        in_flight: 0,
        all: ToolSummary {
            count: rate as u64,
            ..ToolSummary::default()
        },
        tools: Vec::new(),
        rolling_s: 0.0,
        rolling_all: ToolSummary::default(),
        rolling_tools: Vec::new(),
        users: None,
        invalid: None,
    }))
}

/// A stress ladder running at its third stage after 10 min: per snapshot
/// the bundle's observe and named predictions, the tracker, and both ETAs
/// of the first zone; then both ETAs alone (the addition).
fn bench_both(c: &mut Criterion) {
    let stress = PhaseSpec::stress(&StressParams {
        start_rate: 10.0,
        step_rate: 10.0,
        step_every: Duration::from_secs(240),
        max_rate: 100.0,
        ..StressParams::default()
    });
    let load = |t: f64| 0.2 + 0.007 * (10.0 + 10.0 * (t / 240.0).floor()).min(100.0);
    let mut p = Predictors::default();
    let mut tr = PlanTracker::new(AfterPlan::Idle);
    let mut t = 0.0;
    let s = snapshot(t, 0.2);
    p.observe(&s);
    tr.on_snapshot(&s);
    tr.plan_phases([stress.clone()]);
    tr.on_event(&EngineEvent::Phase(PhaseEvent::Started {
        phase: stress.name.clone(),
        id: 1,
        think: None,
    }));
    let mut stage = usize::MAX;
    // One snapshot: engine events, observe, named; with `both`, the plan
    // and the first zone's two ETAs too.
    let mut step = |p: &mut Predictors, tr: &mut PlanTracker, etas: Option<&mut Etas>, t: f64| {
        let i = ((t / 240.0) as usize).min(stress.stages.len() - 1);
        let st = &stress.stages[i];
        if i != stage {
            stage = i;
            tr.on_event(&EngineEvent::Phase(PhaseEvent::StageChanged {
                phase: stress.name.clone(),
                id: 1,
                stage: i,
                name: st.name.clone(),
                target_rate: st.rate,
                users: None,
            }));
        }
        tr.on_event(&window(&stress.name, &st.name, st.rate));
        let s = Arc::new(snapshot(t, load(t)));
        p.observe(&s);
        tr.on_snapshot(&s);
        let named = p.named(&s);
        if let Some(e) = etas {
            let plan = tr.planned(p.config().max_eta_s);
            e.update(p, &s, &named, plan.as_ref());
        }
        named
    };
    while t < 600.0 {
        t += 1.0;
        step(&mut p, &mut tr, None, t);
    }
    let mut etas = Etas::default();
    step(&mut p, &mut tr, Some(&mut etas), t);
    let both = etas.current().expect("both ETAs");
    assert!(
        both.at_this_load.eta_s.is_some()
            && both
                .planned
                .as_ref()
                .is_some_and(|q| q.prediction.eta_s.is_some()),
        "the bench asks a zone on its way to the trip: {both:?}"
    );
    // Every iteration starts from the same state, cloned outside the timing:
    // without both ETAs; with them asked afresh (a new zone, phase or stage,
    // or every PLANNED_EVERY_S); with the planned one asked a second ago
    // (aged, the other samples).
    t += 1.0;
    for (name, ask) in [
        ("predict/11-zones-sample-named", None),
        (
            "predict/11-zones-sample-named-both-etas-asked",
            Some(Etas::default()),
        ),
        (
            "predict/11-zones-sample-named-both-etas-reused",
            Some(etas.clone()),
        ),
    ] {
        c.bench_function(name, |b| {
            b.iter_batched(
                || (p.clone(), tr.clone(), ask.clone()),
                |(mut p, mut tr, mut e)| black_box(step(&mut p, &mut tr, e.as_mut(), t)),
                BatchSize::SmallInput,
            );
        });
    }
    // Its parts, on that state: the plan, and one zone each way.
    let plan = tr.planned(p.config().max_eta_s).expect("a plan");
    let id = "thermal_zone0";
    c.bench_function("predict/plan-ahead", |b| {
        b.iter(|| black_box(tr.planned(p.config().max_eta_s)));
    });
    c.bench_function("predict/one-zone-at-this-load", |b| {
        b.iter(|| black_box(p.at_this_load_for(id)));
    });
    c.bench_function("predict/one-zone-planned", |b| {
        b.iter(|| black_box(p.planned_for(id, &plan.plan)));
    });
}

criterion_group!(benches, bench_predict, bench_planned, bench_both);
criterion_main!(benches);
