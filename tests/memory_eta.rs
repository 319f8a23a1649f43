//! The memory forecast end to end, on this machine (a test binary of its
//! own: cargo runs test binaries one after another, so no other test's
//! servers come and go in this machine's memory meanwhile): the real memory
//! generator ramps toward a floor set close to today's available memory, the
//! real probes read `/proc/meminfo`, and the one predictor bundle forecasts
//! when the floor is reached. The generator stops at that floor itself, so
//! the true time is known; once 60 s of ramp are seen, the forecasts must be
//! within 10 % of it. And a generator that stops short says so, and why.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use jetstress::load::{MemoryPressure, MemorySpec, ShortCause};
use jetstress::predict::{PredictConfig, Predictors};
use jetstress::probes::{Prober, Root};

/// How far below today's available memory the floor is, MB, and the ramp.
const GAP_MB: f64 = 2000.0;
const RATE_MB_S: f64 = 24.0;

#[test]
fn the_memory_eta_finds_the_floor_the_generator_stops_at() {
    let mut prober = Prober::new(Root::new("/"), vec![]);
    let first = prober.sample();
    let (Some(avail), Some(total)) = (first.memory.available_mb, first.memory.total_mb) else {
        panic!("no MemAvailable on this machine");
    };
    assert!(
        avail > GAP_MB * 2.0,
        "too little memory here: {avail:.0} MB available"
    );
    let floor_pct = (avail - GAP_MB) / total * 100.0;
    let mut predictors = Predictors::new(PredictConfig {
        memory_floor_pct: Some(floor_pct),
        ..PredictConfig::default()
    });
    // Far more than the gap: it is the floor that stops the generator.
    let gen = MemoryPressure::start(
        MemorySpec {
            target_mb: GAP_MB * 3.0,
            rate_mb_s: RATE_MB_S,
        },
        Root::new("/"),
        floor_pct,
    );
    let began = Instant::now();
    // (seconds of ramp, forecast time to the floor)
    let mut forecasts: Vec<(f64, f64)> = Vec::new();
    // Memory other processes took (+) or gave back (−) meanwhile: the drop
    // of MemAvailable beyond what the generator holds. The most seen, MB.
    let mut foreign_mb: f64 = 0.0;
    let reached = loop {
        let t = began.elapsed().as_secs_f64();
        assert!(
            t < GAP_MB / RATE_MB_S * 3.0,
            "the floor was never reached ({} MB held)",
            gen.held_mb()
        );
        if gen.floor_hit.load(Ordering::Relaxed) {
            break t;
        }
        let s = prober.sample();
        if let Some(a) = s.memory.available_mb {
            let other = (avail - a) - gen.held_mb() as f64;
            if other.abs() > foreign_mb.abs() {
                foreign_mb = other;
            }
        }
        predictors.observe(&s);
        if let Some(p) = predictors.memory_prediction() {
            if std::env::var_os("JETSTRESS_DEBUG_ETA").is_some() {
                eprintln!(
                    "{t:.1} {:?} avail {:.0} floor {:.0} slope {:.1}/min {:?}",
                    p.eta_s, p.available_mb, p.floor_mb, p.slope_mb_per_min, p.status
                );
            }
            if let Some(eta) = p.eta_s {
                forecasts.push((t, eta));
            }
        }
        std::thread::sleep(Duration::from_millis(500));
    };
    let short = gen.take_shortfall();
    gen.stop();
    // It stopped short of its target, and says it was the floor.
    let why = short.expect("the generator said nothing of stopping short");
    assert!(
        matches!(why.cause, ShortCause::Floor { floor_pct: f, .. } if (f - floor_pct).abs() < 1e-9),
        "{why}"
    );
    assert!(why.held_mb < why.target_mb, "{why}");
    assert!(
        why.to_string().contains("available floor stops it"),
        "{why}"
    );
    // What else moved memory is part of the truth the forecast could not
    // know; past 5 % of the gap the floor's time is not the generator's,
    // and the run says so instead of scoring it (CI runs this binary alone).
    if foreign_mb.abs() > GAP_MB * 0.05 {
        eprintln!(
            "not scored: other processes moved {foreign_mb:+.0} MB of memory during the ramp (run this test on a quiet machine)"
        );
        return;
    }
    // Scored like predict-eval: |ETA − true| / true, from 60 s of ramp on,
    // while at least 10 s remain. The time other processes' memory moved the
    // floor by (at most |foreign| / rate seconds, which no forecast of this
    // ramp can know) is taken off each error first: 76 MB moved is 3 s of
    // ramp, 30 % of the last 10 s.
    let foreign_s = foreign_mb.abs() / RATE_MB_S;
    let errors: Vec<f64> = forecasts
        .iter()
        .filter(|(t, _)| *t >= 60.0 && reached - t >= 10.0)
        .map(|(t, eta)| {
            let r = reached - t;
            ((eta - r).abs() - foreign_s).max(0.0) / r * 100.0
        })
        .collect();
    assert!(errors.len() >= 20, "{} forecasts scored", errors.len());
    let mut sorted = errors.clone();
    sorted.sort_by(f64::total_cmp);
    let median = sorted[sorted.len() / 2];
    eprintln!(
        "floor reached after {reached:.1} s (others moved {foreign_mb:+.0} MB, {foreign_s:.1} s of ramp, taken off); {} forecasts from 60 s: median error {median:.1} %, worst {:.1} %",
        errors.len(),
        sorted[sorted.len() - 1]
    );
    assert!(
        median <= 10.0,
        "median error {median:.1} % (errors {errors:?})"
    );
}
