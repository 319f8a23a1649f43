//! LLM metrics against a server with exactly known timing
//! (`tests/llm/sse_server.py`: a role-only chunk at once, the first token
//! after T, one every I): TTFT within 5 % of T, ITL within 3 ms of I, token
//! counts exact; a non-streamed reply's TTFT equals its E2E; truncated
//! streams, non-SSE bodies, HTTP 429/503, a stream that is not JSON and one
//! that stalls are each counted as their error kind, and none of them
//! reaches the histograms. The real llama.cpp server is in `llm_llama.rs`.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use serde_json::Value;

struct TimingServer {
    child: Child,
    port: u16,
}

impl TimingServer {
    fn start(ttft_ms: u64, itl_ms: u64, tokens: u64) -> TimingServer {
        TimingServer::with(ttft_ms, itl_ms, tokens, &[])
    }

    /// With more of the server's flags (`--capacity N`).
    fn with(ttft_ms: u64, itl_ms: u64, tokens: u64, more: &[&str]) -> TimingServer {
        let mut child = Command::new("python3")
            .arg(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/llm/sse_server.py"
            ))
            .args(["--ttft-ms", &ttft_ms.to_string()])
            .args(["--itl-ms", &itl_ms.to_string()])
            .args(["--tokens", &tokens.to_string()])
            .args(more)
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 runs the timing server");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line
            .trim()
            .strip_prefix("listening ")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("timing server said {line:?}"));
        TimingServer { child, port }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }
}

impl Drop for TimingServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Run, and check the report (`--report`) against its schema and for the LLM table.
fn run(args: &[&str]) -> (Option<i32>, String, Value) {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("run.json");
    let report = dir.path().join("report");
    let out = Command::new(env!("CARGO_BIN_EXE_jetstress"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .arg("run")
        .args(args)
        .arg("--json")
        .arg(&json)
        .arg("--report")
        .arg(&report)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    if out.status.code() != Some(2) {
        let r = std::fs::read_to_string(report.join("report.json"))
            .unwrap_or_else(|e| panic!("no report.json ({e}): {err}"));
        let r: Value = serde_json::from_str(&r).unwrap();
        let errs = crate::report::errors(&r);
        assert!(errs.is_empty(), "report.json: {errs:#?}");
        let md = std::fs::read_to_string(report.join("report.md")).unwrap();
        assert!(md.contains("| tool | requests | TTFT p50 |"), "{md}");
    }
    let v = std::fs::read_to_string(&json)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or(Value::Null);
    (out.status.code(), err, v)
}

/// A sweep phase (its table's fields after `kind`) against `s`, `tokens`
/// per request, judged by a 100 ms TTFT limit.
fn run_sweep(s: &TimingServer, tokens: u32, phase: &str) -> (Option<i32>, String, Value) {
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("sweep.toml");
    std::fs::write(
        &scenario,
        format!(
            "name = \"sweep\"\n[[llm]]\nname = \"llm\"\nurl = \"{}\"\nmax_tokens = {tokens}\n\
             [[phases]]\nkind = \"sweep\"\n{phase}[acceptance]\nmax_ttft_ms = 100\n",
            s.url("/v1/chat/completions")
        ),
    )
    .unwrap();
    run(&["--scenario", scenario.to_str().unwrap()])
}

fn llm_row(v: &Value) -> &Value {
    v["phases"][0]["stages"][0]["tools"]
        .as_array()
        .and_then(|t| t.iter().find(|t| t["tool"] == "llm"))
        .unwrap_or_else(|| panic!("no llm row in {v}"))
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

#[test]
fn ttft_itl_and_tokens_match_the_servers_known_timing() {
    let (ttft, itl, tokens) = (200.0, 20.0, 16u64);
    let s = TimingServer::start(ttft as u64, itl as u64, tokens);
    let (code, err, v) = run(&[
        "--llm-url",
        &s.url("/v1/chat/completions"),
        "--phase",
        "soak",
        "--rate",
        "4",
        "--duration",
        "3s",
    ]);
    assert_eq!(code, Some(0), "{err}");
    let row = llm_row(&v);
    let l = &row["llm"];
    let n = l["requests"].as_u64().unwrap();
    assert!(n >= 10, "{l}");
    assert_eq!(row["errors"], 0, "{row}");
    // The role-only first chunk is not a token: TTFT is the first content.
    let p50 = f(&l["ttft_ms"]["p50"]);
    assert!((p50 - ttft).abs() <= ttft * 0.05, "ttft p50 {p50}");
    let itl_p50 = f(&l["itl_ms"]["p50"]);
    assert!((itl_p50 - itl).abs() <= 3.0, "itl p50 {itl_p50}");
    let tpot = f(&l["tpot_ms"]["p50"]);
    assert!((tpot - itl).abs() <= 3.0, "tpot p50 {tpot}");
    let e2e = f(&l["e2e_ms"]["p50"]);
    let want = ttft + (tokens - 1) as f64 * itl;
    assert!((e2e - want).abs() <= want * 0.05, "e2e p50 {e2e} vs {want}");
    assert_eq!(l["output_tokens"].as_u64(), Some(n * tokens), "{l}");
    assert_eq!(l["token_source"], "usage");
    assert_eq!(l["token_mismatches"], 0);
    assert_eq!(l["streamed"], true);
    let tps = f(&l["output_tokens_per_s"]);
    assert!(tps > 0.0, "{l}");
    // No power rails here: no tokens per joule, said by its absence.
    assert!(l.get("tokens_per_joule").is_none(), "{l}");
}

#[test]
fn a_reply_that_is_not_streamed_has_ttft_equal_to_e2e() {
    let s = TimingServer::start(100, 10, 8);
    let (code, err, v) = run(&[
        "--llm-url",
        &s.url("/v1/chat/completions"),
        "--no-stream",
        "--phase",
        "soak",
        "--rate",
        "4",
        "--duration",
        "2s",
    ]);
    assert_eq!(code, Some(0), "{err}");
    let l = &llm_row(&v)["llm"];
    assert_eq!(l["streamed"], false);
    assert_eq!(l["ttft_ms"]["p50"], l["e2e_ms"]["p50"], "{l}");
    let e2e = f(&l["e2e_ms"]["p50"]);
    assert!((e2e - 170.0).abs() <= 170.0 * 0.05, "{e2e}");
    assert_eq!(
        l["output_tokens"].as_u64(),
        Some(l["requests"].as_u64().unwrap() * 8)
    );
}

#[test]
fn bad_streams_and_refusals_are_counted_by_kind_and_kept_out_of_the_histograms() {
    let s = TimingServer::start(20, 5, 8);
    for (path, kind, status) in [
        ("/truncated/v1/chat/completions", "stream", None),
        ("/nonsse/v1/chat/completions", "stream", None),
        ("/midline/v1/chat/completions", "stream", None),
        ("/status/429/v1/chat/completions", "http", Some("429")),
        ("/status/503/v1/chat/completions", "http", Some("503")),
        ("/stall/v1/chat/completions", "timeout", None),
    ] {
        let (code, err, v) = run(&[
            "--llm-url",
            &s.url(path),
            "--phase",
            "soak",
            "--rate",
            "4",
            "--duration",
            "1s",
            "--timeout",
            "500ms",
        ]);
        // Every request failed: the error-rate criterion fails the run.
        assert_eq!(code, Some(1), "{path}: {err}");
        let row = llm_row(&v);
        let count = row["count"].as_u64().unwrap();
        assert!(count >= 3, "{path}: {row}");
        assert_eq!(
            row["error_kinds"][kind].as_u64(),
            Some(count),
            "{path}: {row}"
        );
        let l = &row["llm"];
        // Nothing of a failed request reaches the token histograms.
        assert_eq!(l["requests"], 0, "{path}: {l}");
        assert_eq!(l["output_tokens"], 0, "{path}: {l}");
        match status {
            Some(st) => assert_eq!(l["http_statuses"][st].as_u64(), Some(count), "{l}"),
            None => assert!(l.get("http_statuses").is_none(), "{path}: {l}"),
        }
    }
}

#[test]
fn bad_llm_flags_and_tables_are_refused_naming_them() {
    let out = Command::new(env!("CARGO_BIN_EXE_jetstress"))
        .args(["run", "--phase", "soak", "--llm-url", "localhost:8080"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--llm-url 'localhost:8080'"));
    let out = Command::new(env!("CARGO_BIN_EXE_jetstress"))
        .args(["run", "--phase", "soak", "--llm-api", "grpc"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not an LLM API"));

    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("bad.toml");
    // `jetstress run --scenario bad.toml` with this text: exit code and stderr.
    let scenario = |text: &str| {
        std::fs::write(&f, text).unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_jetstress"))
            .args(["run", "--scenario"])
            .arg(&f)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let llm = "name = \"x\"\n\n[[llm]]\nname = \"chat\"\nurl = \"http://127.0.0.1:1/v1/chat/completions\"\n";
    let (code, e) = scenario(&format!(
        "{llm}prompt = \"hi\"\nsynthetic = {{ input_words = 5, output_tokens = 4 }}\n[[phases]]\nkind = \"soak\"\n"
    ));
    assert_eq!(code, Some(2));
    assert!(
        e.contains("bad.toml:3") && e.contains("llm[0].prompt"),
        "{e}"
    );

    // A prompts file with a bad line names the file and line.
    std::fs::write(
        dir.path().join("prompts.jsonl"),
        "{\"prompt\":\"a\"}\nnot json\n",
    )
    .unwrap();
    let (code, e) = scenario(&format!(
        "{llm}prompts = \"prompts.jsonl\"\n[[phases]]\nkind = \"soak\"\nduration = \"1s\"\n"
    ));
    assert_ne!(code, Some(0));
    assert!(e.contains("prompts.jsonl:2:"), "{e}");
}

#[test]
fn a_sweep_measures_one_at_a_time_and_full_concurrency_then_holds_rates_between() {
    // Each request takes 50 + 9 × 10 = 140 ms: one at a time ≈ 7.1 req/s,
    // 8 at once ≈ 57 req/s (the timing server has no capacity limit).
    let s = TimingServer::start(50, 10, 10);
    let (code, err, v) = run_sweep(&s, 10, "rates = 2\nhold = \"2s\"\nmax_concurrency = 8\n");
    assert_eq!(code, Some(0), "{err}");
    let phases = v["phases"].as_array().unwrap();
    assert_eq!(phases.len(), 2, "{v}");
    assert_eq!(phases[0]["model"], "closed");
    assert_eq!(phases[1]["name"], "sweep rates");
    let k = &phases[1]["sweep"];
    let sync = f(&k["synchronous_rps"]);
    let thr = f(&k["throughput_rps"]);
    let per = 1000.0 / (50.0 + 9.0 * 10.0);
    assert!(
        (sync - per).abs() <= per * 0.15,
        "synchronous {sync} vs {per}"
    );
    assert!(
        (thr - 8.0 * per).abs() <= 8.0 * per * 0.2,
        "throughput {thr}"
    );
    let points = k["points"].as_array().unwrap();
    assert_eq!(points.len(), 2, "{k}");
    // Evenly between the two measured rates, each held and delivered.
    for (i, p) in points.iter().enumerate() {
        let want = sync + (thr - sync) * (i + 1) as f64 / 3.0;
        assert!((f(&p["rate_rps"]) - want).abs() < 1e-6, "{p}");
        assert!((f(&p["achieved_rps"]) - want).abs() <= want * 0.15, "{p}");
        assert_eq!(p["good_by"], "goodput");
        assert_eq!(p["good"], true, "{p}");
        assert!(f(&p["output_tokens_per_s"]) > 0.0);
    }
    assert_eq!(f(&k["best_rate_rps"]), f(&points[1]["rate_rps"]));
    let c = v["criteria"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "sweep")
        .expect("sweep criterion");
    assert_eq!(c["verdict"], "pass", "{c}");
    assert!(err.contains("best good rate"), "{err}");
}

#[test]
fn tokens_per_joule_come_from_the_boards_power_over_the_stage() {
    // The AGX Orin fixture tree: VDD_GPU_SOC 3032.704 mW, board total
    // (the rails summed) 8960.256 mW, constant.
    let (total_w, gpu_w) = (8.960_256, 3.032_704);
    let s = TimingServer::start(20, 5, 8);
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("run.json");
    let out = Command::new(env!("CARGO_BIN_EXE_jetstress"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["--root", "tests/fixtures/orin-agx-r36", "run", "--llm-url"])
        .arg(s.url("/v1/chat/completions"))
        .args([
            "--phase",
            "soak",
            "--rate",
            "4",
            "--duration",
            "3s",
            "--json",
        ])
        .arg(&json)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let l = &llm_row(&v)["llm"];
    let tokens = f(&l["output_tokens"]);
    assert!(tokens > 0.0, "{l} {err}");
    let tpj = f(&l["tokens_per_joule"]);
    let jpt = f(&l["joules_per_token"]);
    assert!((tpj * jpt - 1.0).abs() < 1e-9, "{l}");
    // The joules are the board's power over the seconds of the stage that
    // had a reading: about its 3 s (whole 1 s windows, so within one).
    let secs = tokens * jpt / total_w;
    assert!((1.5..=4.5).contains(&secs), "{secs} s of power: {l}");
    // The GPU rail's share over the same seconds.
    let ratio = f(&l["gpu_tokens_per_joule"]) / tpj;
    assert!((ratio - total_w / gpu_w).abs() < 0.01, "{ratio}");
}

#[test]
fn a_users_sweep_doubles_until_the_slo_fails_then_bisects() {
    // At most 3 requests served at once (each 50 + 4 × 10 = 90 ms): up to 3
    // users every first token comes at 50 ms; from 6 users on each waits a
    // whole request or more for its turn, past the 100 ms TTFT limit.
    let capacity = 3;
    let s = TimingServer::with(50, 10, 5, &["--capacity", &capacity.to_string()]);
    let (code, err, v) = run_sweep(
        &s,
        5,
        "mode = \"users\"\nhold = \"2s\"\nmax_concurrency = 16\n",
    );
    assert_eq!(code, Some(0), "{err}");
    let phases = v["phases"].as_array().unwrap();
    assert_eq!(phases.len(), 1, "a users sweep is one closed phase: {v}");
    let k = &phases[0]["sweep"];
    let steps: Vec<(u64, bool)> = k["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["users"].as_u64().unwrap(), p["good"].as_bool().unwrap()))
        .collect();
    // Within the capacity every stage is good; at twice it none is.
    for &(u, good) in &steps {
        if u <= capacity {
            assert!(good, "{u} users: {k}");
        }
        if u >= 2 * capacity {
            assert!(!good, "{u} users: {k}");
        }
    }
    // Doubling from 1 until the first bad stage, then the midpoint of the
    // highest good and the lowest bad count, until the two are adjacent.
    let first_bad = steps.iter().position(|s| !s.1).expect("a bad stage");
    for (i, s) in steps[..=first_bad].iter().enumerate() {
        assert_eq!(s.0, 1 << i, "{steps:?}");
    }
    for i in first_bad + 1..steps.len() {
        let good = steps[..i]
            .iter()
            .filter(|s| s.1)
            .map(|s| s.0)
            .max()
            .unwrap();
        let bad = steps[..i]
            .iter()
            .filter(|s| !s.1)
            .map(|s| s.0)
            .min()
            .unwrap();
        assert_eq!(steps[i].0, good + (bad - good) / 2, "{steps:?}");
    }
    let good = steps.iter().filter(|s| s.1).map(|s| s.0).max().unwrap();
    let bad = steps.iter().filter(|s| !s.1).map(|s| s.0).min().unwrap();
    assert_eq!(bad, good + 1, "{steps:?}");
    assert_eq!(k["best_users"].as_u64(), Some(good), "{k}");
    assert!((capacity..2 * capacity).contains(&good), "{steps:?}");
}
