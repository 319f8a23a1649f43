//! `predict-eval` end to end: replays of the shared Xavier NX burn-in trace and of
//! a synthetic plain-CSV heat-up written to a temporary file.

use jetstress::predict::eval::{EvalReport, HORIZONS_S};
use jetstress::predict::{run_eval, EvalArgs};
use std::io::Write;

const XAVIER: &str = "../shared/traces/xavier-nx_burn-in_tegrastats.log";

/// Figure documented in src/predict/README_SECTION.md: the chosen model's
/// median |ETA error| at the 60 s horizon, all Xavier NX zones pooled, measured
/// at 58 %; this test fails if a change makes it worse than 60 %.
const XAVIER_60S_MEDIAN_PCT_DOCUMENTED: f64 = 60.0;

fn horizon(
    report_scores: &[jetstress::predict::eval::ModelScore],
    model: &str,
    h: f64,
) -> (usize, Option<f64>) {
    let s = report_scores.iter().find(|s| s.model == model).unwrap();
    let hs = s.horizons.iter().find(|x| x.horizon_s == h).unwrap();
    (hs.n, hs.median_pct)
}

fn eval(args: &EvalArgs) -> (EvalReport, String) {
    let mut out = Vec::new();
    let r = run_eval(args, &mut out).unwrap();
    (r, String::from_utf8(out).unwrap())
}

#[test]
fn xavier_nx_burn_in_eta_error_at_60s_stays_within_documented_figure() {
    let (r, table) = eval(&EvalArgs::for_trace(XAVIER));
    assert_eq!(r.samples, 103);
    // Five zones heat up; PMIC stays at 50 °C and is not scored.
    assert_eq!(r.zones.len(), 5, "{table}");
    assert!(r.unscored.iter().any(|(z, _)| z == "PMIC"));
    let gpu = r.zones.iter().find(|z| z.zone == "GPU").unwrap();
    // Default threshold: 90 % of the way from the first reading to the peak.
    assert!((gpu.threshold_c - (gpu.start_c + 0.9 * (gpu.peak_c - gpu.start_c))).abs() < 1e-9);
    let (n, median) = horizon(&r.pooled, "chosen", 60.0);
    assert!(n > 0);
    let median = median.expect("60 s median is a number, not a miss");
    assert!(
        median <= XAVIER_60S_MEDIAN_PCT_DOCUMENTED,
        "60 s median {median:.1} %\n{table}"
    );
    assert!(table.contains("GPU") && table.contains("60 s"), "{table}");
}

#[test]
fn emit_writes_one_json_line_per_chosen_prediction() {
    let dir = tempfile::tempdir().unwrap();
    let emit = dir.path().join("pred.jsonl");
    let mut args = EvalArgs::for_trace(XAVIER);
    args.zone = Some("GPU".into());
    args.emit = Some(emit.clone());
    let (r, _) = eval(&args);
    let text = std::fs::read_to_string(&emit).unwrap();
    assert_eq!(text.lines().count(), r.samples);
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(v["zone"], "GPU");
        assert!(v["t_s"].is_number());
        assert!(v["eta_s"].is_number() || v["eta_s"].is_null());
        assert!(v["model"] == "linear" || v["model"] == "newton");
    }
}

#[test]
fn explicit_threshold_and_json_output() {
    let mut args = EvalArgs::for_trace(XAVIER);
    args.zone = Some("GPU".into());
    args.threshold = Some(45.0);
    args.json = true;
    let (r, out) = eval(&args);
    assert_eq!(r.zones[0].threshold_c, 45.0);
    assert_eq!(r.zones[0].threshold_source, "--threshold");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["zones"][0]["zone"], "GPU");
}

/// On a clean first-order heat-up (what the Newton model assumes), quantised to
/// 0.25 °C like real sensors: the chosen model is at least 2× better than the
/// straight line at 60–300 s and within 10 % at 120–300 s. At 60 s it measures
/// 14 % (documented miss: 0.25 °C steps are a large share of the last degrees).
#[test]
fn synthetic_rc_heat_up_meets_the_targets() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rc.csv");
    let mut f = std::fs::File::create(&path).unwrap();
    writeln!(f, "time_s,soc").unwrap();
    // 35 → 85 °C, τ = 400 s, 0.25 °C quantisation like real sensors, 1 Hz, 30 min.
    for k in 0..1800 {
        let t = k as f64;
        let temp = 85.0 - 50.0 * (-t / 400.0).exp();
        writeln!(f, "{t},{}", (temp * 4.0).round() / 4.0).unwrap();
    }
    drop(f);
    let mut args = EvalArgs::for_trace(&path);
    args.threshold = Some(80.0);
    args.window = 300.0;
    let (r, table) = eval(&args);
    let z = &r.zones[0];
    for h in HORIZONS_S
        .iter()
        .copied()
        .filter(|h| (60.0..=300.0).contains(h))
    {
        let (_, chosen) = horizon(&z.scores, "chosen", h);
        let (_, linear) = horizon(&z.scores, "linear", h);
        let chosen = chosen.expect("chosen has an ETA");
        if h >= 120.0 {
            assert!(chosen <= 10.0, "h {h}: chosen {chosen}\n{table}");
        }
        let linear = linear.expect("linear has an ETA");
        assert!(
            chosen * 2.0 <= linear,
            "h {h}: chosen {chosen} linear {linear}\n{table}"
        );
    }
}
