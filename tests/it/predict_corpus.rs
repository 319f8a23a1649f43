//! `predict-eval --corpus` end to end on the corpus manifests in
//! `tests/fixtures/predict-corpus/` (which point at `../shared` traces):
//! the sustained-load heat-ups and the real throttle onsets.
//!
//! Every figure pinned here is the cross-validated (leave-one-trace-out)
//! figure measured with the command in docs/predictions.md ("Corpus"),
//! plus at most one point.

use jetstress::recording::InputColumn;
use jetstress::report::{run_corpus, CorpusConfig, CorpusReport, Forecaster};

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

#[test]
fn print_heatup() {
    let (_, t) = corpus(HEATUP, Some(InputColumn::LoadPct), false);
    println!("{t}");
    let (_, t) = corpus(THROTTLE, Some(InputColumn::LoadPct), true);
    println!("{t}");
    let _ = Forecaster::Line;
}
