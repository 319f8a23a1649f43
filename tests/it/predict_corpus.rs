//! `predict-eval --corpus` end to end on the corpus manifests in
//! `tests/fixtures/predict-corpus/` (which point at `../shared` traces):
//! the sustained-load heat-ups and the real throttle onsets.
//!
//! Every figure pinned here is the cross-validated (leave-one-trace-out)
//! figure measured with the command in docs/predictions.md ("Corpus"),
//! plus at most one point.

use jetstress::recording::InputColumn;
use jetstress::report::corpus::TruthSource;
use jetstress::report::{run_corpus, run_eval, CorpusConfig, CorpusReport, EvalConfig, Forecaster};

const HEATUP: &str = "tests/fixtures/predict-corpus/heatup";
const THROTTLE: &str = "tests/fixtures/predict-corpus/throttle";

/// The synthetic RC heat-up of the heat-up corpus: idle (load 10 %) for
/// 60 s at 35 °C, then full load; T∞ = 35 + 50·(u − 0.1)/0.9, τ = 400 s,
/// 1 Hz for 30 min, read through a 0.25 °C rounding sensor with
/// deterministic noise (sd ≈ 0.1 °C).
pub fn synthetic_rc_csv() -> String {
    let mut s = String::from("time_s,soc,load_pct\n");
    let mut temp = 35.0_f64;
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    for k in 0..1800u32 {
        let t = f64::from(k);
        let load = if k < 60 { 10.0 } else { 100.0 };
        if k > 0 {
            let t_inf = 35.0 + 50.0 * (load - 10.0) / 90.0;
            temp = t_inf + (temp - t_inf) * (-1.0_f64 / 400.0).exp();
        }
        // xorshift64*: three uniforms summed, sd 0.1 °C.
        let mut n = 0.0;
        for _ in 0..3 {
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            let v = x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11;
            n += v as f64 / (1u64 << 53) as f64 - 0.5;
        }
        let read = ((temp + 0.2 * n) * 4.0).round() / 4.0;
        s.push_str(&format!("{t:.0},{read:.2},{load:.0}\n"));
    }
    s
}

#[test]
fn synthetic_rc_fixture_is_what_the_generator_writes() {
    let path = format!("{HEATUP}/synthetic_rc.csv");
    let want = synthetic_rc_csv();
    if std::env::var_os("JETSTRESS_REGENERATE").is_some() {
        std::fs::write(&path, &want).unwrap();
    }
    let have = std::fs::read_to_string(&path).unwrap();
    assert!(
        have == want,
        "{path} differs from synthetic_rc_csv(): rerun with JETSTRESS_REGENERATE=1"
    );
}

fn corpus(dir: &str, load: Option<InputColumn>, planned: bool) -> (CorpusReport, String) {
    let mut out = Vec::new();
    let cfg = CorpusConfig {
        load_column: load,
        planned_load: planned,
        ..CorpusConfig::for_dir(dir)
    };
    let r = run_corpus(&cfg, &mut out).unwrap();
    (r, String::from_utf8(out).unwrap())
}

/// (median, mean) of one model on one trace (by file name ending) or pooled.
fn figures(r: &CorpusReport, file: Option<&str>, m: Forecaster) -> (f64, f64) {
    let s = match file {
        Some(f) => r
            .traces
            .iter()
            .find(|t| t.file.ends_with(f))
            .unwrap_or_else(|| panic!("no trace {f}"))
            .score(m)
            .unwrap(),
        None => r.pooled(m).unwrap(),
    };
    (s.median_pct, s.mean_pct)
}

fn at_most(what: &str, got: (f64, f64), pinned: (f64, f64), table: &str) {
    assert!(
        got.0 <= pinned.0 + 1.0 && got.1 <= pinned.1 + 1.0,
        "{what}: {:.1} / {:.1} % against the pinned {:.0} / {:.0} % (+1 point)\n{table}",
        got.0,
        got.1,
        pinned.0,
        pinned.1
    );
}

/// docs/predictions.md, "Corpus: sustained heat-ups", cross-validated:
/// `predict-eval --corpus tests/fixtures/predict-corpus/heatup --load-column load_pct`.
/// Pooled (every trace weighs the same) jetstress 54 / 52 %, the plain line
/// 55 / 58 %: better than the line, but the median target (≤ 15 %) and the
/// mean target (half the line's) are missed, as the docs say; these pins
/// keep it from getting worse.
#[test]
fn heatup_corpus_cross_validated_figures_hold() {
    let (r, table) = corpus(HEATUP, Some(InputColumn::LoadPct), false);
    assert_eq!(r.traces.len(), 5, "{table}");
    assert!(r.cross_validated && r.settings.len() > 1);
    for (file, pinned) in [
        ("agx-orin_llm-inference_stats.csv", (33.0, 40.0)),
        ("rpi4b_ivasilyev_run2_2000mhz_temp_bench.csv", (100.0, 99.0)),
        ("sbcbench_jetson_agx_orin_4ax9.csv", (42.0, 39.0)),
        ("xavier-nx_burn-in_tegrastats.log", (73.0, 74.0)),
        ("synthetic_rc.csv", (7.0, 11.0)),
    ] {
        at_most(
            file,
            figures(&r, Some(file), Forecaster::Jetstress),
            pinned,
            &table,
        );
    }
    at_most(
        "pooled",
        figures(&r, None, Forecaster::Jetstress),
        (55.0, 53.0),
        &table,
    );
    // The baseline itself, so a change to the scoring shows.
    let line = figures(&r, None, Forecaster::Line);
    assert!(
        (line.0 - 55.4).abs() < 1.0 && (line.1 - 58.4).abs() < 1.0,
        "{line:?}\n{table}"
    );
    // Where physics allows (a clean first-order heat-up) the model beats the
    // line by far; on the Orin CSV it beats it too.
    let (syn, syn_line) = (
        figures(&r, Some("synthetic_rc.csv"), Forecaster::Jetstress),
        figures(&r, Some("synthetic_rc.csv"), Forecaster::Line),
    );
    assert!(
        syn.1 * 2.0 <= syn_line.1,
        "{syn:?} vs {syn_line:?}\n{table}"
    );
    let orin = figures(
        &r,
        Some("agx-orin_llm-inference_stats.csv"),
        Forecaster::Jetstress,
    );
    let orin_line = figures(
        &r,
        Some("agx-orin_llm-inference_stats.csv"),
        Forecaster::Line,
    );
    assert!(
        orin.0 <= orin_line.0 && orin.1 <= orin_line.1,
        "{orin:?} vs {orin_line:?}"
    );
    // The truth of a derived threshold is its first crossing: the oracle
    // (the trace's own next crossing) is exact, or the scoring is wrong.
    assert_eq!(figures(&r, None, Forecaster::Oracle), (0.0, 0.0), "{table}");
    // Coverage of the 90 % ranges, measured 24 % pooled: reported, pinned.
    let cover = r.pooled(Forecaster::Jetstress).unwrap().coverage.unwrap();
    assert!(cover >= 0.23, "coverage {cover}\n{table}");
    assert!(
        table.contains("pooled (every trace weighs the same)"),
        "{table}"
    );
}

/// docs/predictions.md, "Corpus: real throttle onsets", cross-validated:
/// `predict-eval --corpus tests/fixtures/predict-corpus/throttle --load-column
/// load_pct --planned-load`. The planned-load ETA is 77 / 68 % pooled, the
/// line 100 / 93 %: better than the line on every trace's mean, but the
/// targets (median ≤ 50 %, mean ≤ half the line's) are missed.
#[test]
fn throttle_corpus_planned_load_figures_hold() {
    let (r, table) = corpus(THROTTLE, Some(InputColumn::LoadPct), true);
    assert_eq!(r.traces.len(), 4, "{table}");
    assert!(r
        .traces
        .iter()
        .all(|t| t.target.source == TruthSource::Onset));
    for (file, pinned) in [
        ("sbcbench_nanopi_k1plus_h5_4MB5.csv", (30.0, 32.0)),
        ("sbcbench_rock5b_rk3588_4qJG.csv", (48.0, 57.0)),
        ("sbcbench_rpi3b_4hOp.csv", (100.0, 84.0)),
        ("throttlestop_laptop_power.csv", (100.0, 100.0)),
    ] {
        let got = figures(&r, Some(file), Forecaster::Jetstress);
        at_most(file, got, pinned, &table);
        let line = figures(&r, Some(file), Forecaster::Line);
        assert!(
            got.1 <= line.1,
            "{file}: {got:?} vs the line {line:?}\n{table}"
        );
    }
    at_most(
        "pooled",
        figures(&r, None, Forecaster::Jetstress),
        (78.0, 68.0),
        &table,
    );
    let line = figures(&r, None, Forecaster::Line);
    assert!((line.1 - 92.7).abs() < 1.0, "{line:?}\n{table}");
    let cover = r.pooled(Forecaster::Jetstress).unwrap().coverage.unwrap();
    assert!(cover >= 0.85, "coverage {cover}\n{table}");
    // A perfect temperature forecast (the trace's own next crossing of the
    // onset temperature) scores 32 / 37 %: on the ROCK 5B and the Pi 3B the
    // temperature passes the trip minutes before the clock drops.
    let oracle = figures(&r, None, Forecaster::Oracle);
    assert!(
        (oracle.0 - 32.0).abs() < 1.5 && (oracle.1 - 37.0).abs() < 1.5,
        "{oracle:?}"
    );
}

#[test]
fn json_report_and_errors_that_name_the_file() {
    let dir = rc_corpus();
    let d = dir.path();
    let mut out = Vec::new();
    let cfg = CorpusConfig {
        json: true,
        cross_validate: false,
        ..CorpusConfig::for_dir(d)
    };
    let r = run_corpus(&cfg, &mut out).unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["traces"][0]["file"], "rc.csv");
    assert_eq!(v["traces"][0]["target"]["source"], "derived");
    assert_eq!(v["pooled"][0][0], "jetstress");
    assert!(v["pooled"][0][1]["median_pct"].is_number());
    assert_eq!(r.traces[0].score(Forecaster::Jetstress).unwrap().n, 271);
    // A zone the trace lacks, and a trace that is not there.
    std::fs::write(d.join("manifest.json"), r#"{"rc.csv": {"zone": "gpu"}}"#).unwrap();
    let e = run_corpus(&cfg, &mut Vec::new()).unwrap_err().to_string();
    assert!(e.contains("rc.csv") && e.contains("\"gpu\""), "{e}");
    std::fs::write(d.join("manifest.json"), r#"{"gone.csv": {"zone": "soc"}}"#).unwrap();
    let e = run_corpus(&cfg, &mut Vec::new()).unwrap_err().to_string();
    assert!(e.contains("gone.csv"), "{e}");
    let e = run_corpus(
        &CorpusConfig {
            planned_load: true,
            ..cfg.clone()
        },
        &mut Vec::new(),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("--load-column"), "{e}");
}

/// Item 4: on a shared throttle trace only `cpu` is a zone (predict-eval
/// used to score `load_pct` as a zone in °C), and with a load column the
/// `--emit` lines carry the planned-load ETA and its range.
#[test]
fn load_columns_are_inputs_and_emit_lines_carry_the_planned_eta() {
    let dir = tempfile::tempdir().unwrap();
    let emit = dir.path().join("p.jsonl");
    let mut args =
        EvalConfig::for_trace("../shared/traces/throttle/sbcbench_rock5b_rk3588_4qJG.csv");
    args.threshold = Some(73.9);
    args.load_column = Some(InputColumn::LoadPct);
    args.emit = Some(emit.clone());
    let r = run_eval(&args, &mut Vec::new()).unwrap();
    assert_eq!(r.zones.len(), 1);
    assert_eq!(r.zones[0].zone, "cpu");
    assert!(r.unscored.is_empty(), "{:?}", r.unscored);
    let text = std::fs::read_to_string(&emit).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), r.samples);
    assert!(lines
        .iter()
        .all(|v| v.get("eta_planned_s").is_some() && v.get("hi_planned_s").is_some()));
    // Before the all-core stretch (t < 513 s) at 12 % load, the planned load
    // (100 % from 523 s on) gives a trip the current load does not.
    let at = |t: f64| lines.iter().find(|v| v["t_s"] == t).unwrap();
    assert!(at(491.0)["eta_planned_s"].is_number(), "{}", at(491.0));
}

/// The command line: `--corpus` scores a folder, `--planned-load` needs
/// `--load-column`, a label is refused as a load, and a TRACE or `--corpus`
/// is required.
#[test]
fn command_line_corpus_flags() {
    let dir = rc_corpus();
    let d = dir.path();
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_jetstress"))
            .arg("predict-eval")
            .args(args)
            .output()
            .unwrap()
    };
    let dir_s = d.to_str().unwrap();
    let ok = run(&[
        "--corpus",
        dir_s,
        "--load-column",
        "load_pct",
        "--planned-load",
        "--no-cv",
    ]);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let table = String::from_utf8(ok.stdout).unwrap();
    assert!(table.contains("rc.csv (soc, Derived"), "{table}");
    assert!(table.contains("under the planned load"), "{table}");
    let no_load = run(&["--corpus", dir_s, "--planned-load"]);
    assert!(!no_load.status.success());
    assert!(String::from_utf8_lossy(&no_load.stderr).contains("--load-column"));
    let label = run(&["--corpus", dir_s, "--load-column", "clock_mhz"]);
    assert!(!label.status.success());
    assert!(String::from_utf8_lossy(&label.stderr).contains("a label, not a load"));
    let neither = run(&[]);
    assert!(!neither.status.success());
}

/// A folder with the synthetic RC heat-up and its one-line manifest.
fn rc_corpus() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("rc.csv"), synthetic_rc_csv()).unwrap();
    std::fs::write(
        dir.path().join("manifest.json"),
        r#"{"rc.csv": {"zone": "soc", "t_heat_start_s": 60}}"#,
    )
    .unwrap();
    dir
}
