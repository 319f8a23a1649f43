//! Cost of the thermal predictor per sample: every zone observed, then every
//! zone predicted, as the dashboard and `jetstress run` do once per snapshot.
//! 11 zones (the Orin AGX count), 1 Hz, a noisy rising curve (σ 0.5 °C, not
//! quantised, so the first-passage sum runs), after 10 min of history.
//! Compared with the first passage off, and with the load-aware model fed
//! the load and asked, per zone, for its ETA under a planned load too (what
//! the dashboard does to say "at this load" and "if the stress phase goes
//! on"). Budget: 100 µs per sample for 11 zones. Run: `cargo bench --bench predict`.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use jetstress::predict::{LoadPlan, PredictConfig, ThermalPredictor};

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

criterion_group!(benches, bench_predict, bench_planned);
criterion_main!(benches);
