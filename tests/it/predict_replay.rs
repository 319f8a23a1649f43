//! `predict-eval` end to end: replays of the shared Xavier NX burn-in, AGX Orin
//! CSV and Nano traces and of a synthetic plain-CSV heat-up written to a
//! temporary file. The limits are the figures documented in docs/predictions.md
//! ("Predictions"), rounded up by at most a point: a change that makes them
//! worse fails here.

use jetstress::report::{run_eval, EvalConfig as EvalArgs};
use jetstress::report::{EvalReport, HORIZONS_S};
use std::io::Write;

const XAVIER: &str = "../shared/traces/xavier-nx_burn-in_tegrastats.log";
const ORIN_CSV: &str = "../shared/traces/agx-orin_llm-inference_stats.csv";
const NANO: &str = "../shared/traces/nano_tegrastats.log";

/// README "Predictions": the chosen model's median |ETA error| at the 60 s
/// horizon, all Xavier NX zones pooled, measured at 59 % (58 % before the
/// half-step quantisation margin); fails above 60 %.
const XAVIER_60S_MEDIAN_PCT_DOCUMENTED: f64 = 60.0;

fn horizon(
    report_scores: &[jetstress::report::ModelScore],
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

/// README "Predictions", AGX Orin CSV pooled: with the first passage the
/// chosen model is 46 / 35 / 14 / 50 % at 30 / 60 / 120 / 300 s; the plain line
/// (`--no-first-passage`, the previous release) is 346 / 189 / 41 / 38 %.
/// Fails if any figure gets worse by more than a point, if the chosen model
/// does worse than this release's line, or if the gain over the plain line at
/// 60 and 120 s drops below 2×.
#[test]
fn orin_csv_first_passage_beats_the_plain_line_at_60_and_120s() {
    let (r, table) = eval(&EvalArgs::for_trace(ORIN_CSV));
    assert_eq!(r.zones.len(), 6, "{table}");
    let (plain, plain_table) = eval(&EvalArgs {
        no_first_passage: true,
        ..EvalArgs::for_trace(ORIN_CSV)
    });
    for (h, documented, plain_documented) in [
        (30.0, 46.0, 346.0),
        (60.0, 35.0, 189.0),
        (120.0, 14.0, 41.0),
        (300.0, 50.0, 38.0),
    ] {
        let chosen = horizon(&r.pooled, "chosen", h).1.expect("a number");
        let linear = horizon(&r.pooled, "linear", h).1.expect("a number");
        let plain_chosen = horizon(&plain.pooled, "chosen", h).1.expect("a number");
        assert!(chosen <= documented + 1.0, "h {h}: {chosen:.1} %\n{table}");
        assert!(
            chosen <= linear + 1e-9,
            "h {h}: {chosen} vs {linear}\n{table}"
        );
        assert!(
            plain_chosen <= plain_documented + 1.0,
            "h {h}: plain {plain_chosen:.1} %\n{plain_table}"
        );
        if h == 60.0 || h == 120.0 {
            assert!(
                2.0 * chosen <= plain_chosen,
                "h {h}: {chosen:.1} % vs plain {plain_chosen:.1} %\n{table}"
            );
        }
    }
}

/// README "Predictions", Nano pooled: chosen 27 % at 30 s (58 % before the
/// quantisation margin). Its 60 s cell is still ~90 %.
#[test]
fn nano_30s_stays_within_documented_figure() {
    let (r, table) = eval(&EvalArgs::for_trace(NANO));
    let chosen = horizon(&r.pooled, "chosen", 30.0).1.expect("a number");
    assert!(chosen <= 28.0, "{chosen:.1} %\n{table}");
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
/// 0.25 °C like real sensors: the chosen model is within 10 % and at least 2×
/// better than the straight line at every horizon 30–300 s. It measures
/// 4 / 3 / 1 / 1 % (the line 95 / 67 / 56 / 58 %); before the half-step
/// quantisation margin it was 28 / 14 / 7 / 4 %.
#[test]
fn synthetic_rc_heat_up_meets_the_targets() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rc.csv");
    let mut f = std::fs::File::create(&path).unwrap();
    writeln!(f, "time_s,soc").unwrap();
    // 35 → 85 °C, τ = 400 s, 0.25 °C quantisation like real sensors, 1 Hz, 30 min.
    for k in 0..1800 {
        let t = f64::from(k);
        let temp = 85.0 - 50.0 * (-t / 400.0).exp();
        writeln!(f, "{t},{}", (temp * 4.0).round() / 4.0).unwrap();
    }
    drop(f);
    let mut args = EvalArgs::for_trace(&path);
    args.threshold = Some(80.0);
    args.window = 300.0;
    let (r, table) = eval(&args);
    let z = &r.zones[0];
    for h in HORIZONS_S {
        let (_, chosen) = horizon(&z.scores, "chosen", h);
        let (_, linear) = horizon(&z.scores, "linear", h);
        let chosen = chosen.expect("chosen has an ETA");
        assert!(chosen <= 10.0, "h {h}: chosen {chosen}\n{table}");
        let linear = linear.expect("linear has an ETA");
        assert!(
            chosen * 2.0 <= linear,
            "h {h}: chosen {chosen} linear {linear}\n{table}"
        );
    }
}
