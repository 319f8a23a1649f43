//! jetstress against a real llama.cpp `llama-server`: a tiny random-weight
//! llama model (`tests/llm/tiny_model.py`, a few MB, written fresh per run)
//! served on a free port, and the `llm` row of the run's JSON checked
//! against the server's own figures — `usage` in every reply (what jetstress
//! reads) and llama-server's `/metrics` counters (what it does not).
//!
//! Needs the cache `tests/llm/build-llama-server.sh` builds (`.ci/run` runs
//! it and sets `JETSTRESS_LLAMA_DIR`); without it the test fails, saying so.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The llama-cpp-python version whose llama.cpp the cache holds; the same
/// as `tests/llm/build-llama-server.sh`'s default.
const LLAMA_CPP_PYTHON: &str = "0.3.36";
/// Tokens asked per request with `ignore_eos` (the synthetic prompt).
const OUT_TOKENS: u64 = 16;

/// `$JETSTRESS_LLAMA_DIR`, else `${XDG_CACHE_HOME:-$HOME/.cache}/jetstress/llama-server-<ver>`.
fn llama_dir() -> PathBuf {
    let set = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty());
    let dir = set("JETSTRESS_LLAMA_DIR").map_or_else(
        || {
            set("XDG_CACHE_HOME")
                .map(PathBuf::from)
                .or_else(|| set("HOME").map(|h| Path::new(&h).join(".cache")))
                .expect("neither XDG_CACHE_HOME nor HOME is set")
                .join("jetstress")
                .join(format!("llama-server-{LLAMA_CPP_PYTHON}"))
        },
        PathBuf::from,
    );
    for f in [
        "bin/llama-server",
        "py/bin/python",
        "vocab/ggml-vocab-llama-spm.gguf",
    ] {
        assert!(
            dir.join(f).is_file(),
            "no {f} under {}: run tests/llm/build-llama-server.sh (.ci/run does) to build \
             llama.cpp's server into that cache, or point JETSTRESS_LLAMA_DIR at the \
             directory it prints",
            dir.display()
        );
    }
    dir
}

/// A free loopback port (bound, then let go for the server to take).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One plain HTTP/1.0 GET (no chunked replies): status and body.
fn get(port: u16, path: &str) -> std::io::Result<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")?;
    let mut raw = String::new();
    s.read_to_string(&mut raw)?;
    let status = raw
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = raw.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    Ok((status, body.to_string()))
}

/// A running llama-server, killed (and reaped) when dropped, a failing
/// test's unwinding included.
struct LlamaServer {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl Drop for LlamaServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl LlamaServer {
    /// Serve `model` (4 slots, 2 threads, its log in `dir`) once `/health` says so.
    fn start(dir: &Path, llama: &Path, model: &Path) -> Self {
        let port = free_port();
        let log = dir.join("llama-server.log");
        let out = std::fs::File::create(&log).unwrap();
        let child = Command::new(llama.join("bin/llama-server"))
            .arg("-m")
            .arg(model)
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args([
                "-c",
                "512",
                "-np",
                "4",
                "-t",
                "2",
                "--no-webui",
                "--metrics",
            ])
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .expect("start llama-server");
        let mut server = LlamaServer { child, port, log };
        let started = Instant::now();
        loop {
            if let Ok((200, _)) = get(port, "/health") {
                eprintln!("llama-server ready in {:.2?}", started.elapsed());
                return server;
            }
            if let Ok(Some(st)) = server.child.try_wait() {
                panic!(
                    "llama-server exited ({st}) before it was healthy:\n{}",
                    server.log_tail()
                );
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "llama-server not healthy after 60 s:\n{}",
                server.log_tail()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/v1/chat/completions", self.port)
    }

    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }

    /// The server's own counters (`llamacpp:*` from `/metrics`) once no
    /// request is in progress.
    fn counters(&self) -> Counters {
        let started = Instant::now();
        loop {
            let (status, body) = get(self.port, "/metrics").expect("GET /metrics");
            assert_eq!(status, 200, "/metrics: {body}");
            let value = |name: &str| {
                body.lines()
                    .filter(|l| !l.starts_with('#'))
                    .find_map(|l| {
                        let (k, v) = l.split_once(' ')?;
                        (k == name).then(|| v.trim().parse::<f64>().ok()).flatten()
                    })
                    .unwrap_or_else(|| panic!("{name} missing from /metrics:\n{body}"))
            };
            if value("llamacpp:requests_processing") == 0.0
                || started.elapsed() > Duration::from_secs(10)
            {
                return Counters {
                    predicted: value("llamacpp:tokens_predicted_total") as u64,
                    prompt: (value("llamacpp:prompt_tokens_total")
                        + value("llamacpp:prompt_tokens_cached_total"))
                        as u64,
                    busy_s: value("llamacpp:prompt_seconds_total")
                        + value("llamacpp:tokens_predicted_seconds_total"),
                };
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// llama-server's running totals.
#[derive(Debug, Clone, Copy)]
struct Counters {
    /// Tokens generated.
    predicted: u64,
    /// Prompt tokens, evaluated or reused from the cache.
    prompt: u64,
    /// Seconds spent on prompts and on generation.
    busy_s: f64,
}

impl std::ops::Sub for Counters {
    type Output = Counters;
    fn sub(self, o: Counters) -> Counters {
        Counters {
            predicted: self.predicted - o.predicted,
            prompt: self.prompt - o.prompt,
            busy_s: self.busy_s - o.busy_s,
        }
    }
}

/// Run jetstress with `args` (its JSON and logs in `dir`, under `tag`),
/// expect exit status `code`, and return the one tool row `tool`.
fn jetstress(dir: &Path, tag: &str, args: &[&str], code: i32, tool: &str) -> Value {
    let json = dir.join(format!("{tag}.json"));
    let logs = dir.join(format!("{tag}-logs"));
    let out = Command::new(env!("CARGO_BIN_EXE_jetstress"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .arg("run")
        .args(args)
        .arg("--json")
        .arg(&json)
        .arg("--log-dir")
        .arg(&logs)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "{tag}: {err}");
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(v["schema"], "jetstress.run/1");
    let tools = v["phases"][0]["stages"][0]["tools"].as_array().unwrap();
    assert_eq!(tools.len(), 1, "{tag}: {tools:?}");
    assert_eq!(tools[0]["tool"], tool, "{tag}");
    tools[0].clone()
}

/// A scenario with one `[[llm]]` table (`extra` lines added to it) and one soak phase.
fn scenario(dir: &Path, tag: &str, url: &str, extra: &str, secs: u32) -> PathBuf {
    let f = dir.join(format!("{tag}.toml"));
    std::fs::write(
        &f,
        format!(
            "name = \"{tag}\"\n\n[[llm]]\nname = \"chat\"\nurl = \"{url}\"\nmodel = \"tiny\"\n{extra}\n\n\
             [[phases]]\nkind = \"soak\"\nrate = 2\nduration = \"{secs}s\"\n"
        ),
    )
    .unwrap();
    f
}

fn ms(h: &Value, k: &str) -> f64 {
    h[k].as_f64()
        .unwrap_or_else(|| panic!("{k} is not a number in {h}"))
}

fn uint(v: &Value, k: &str) -> u64 {
    v[k].as_u64()
        .unwrap_or_else(|| panic!("{k} is not a count in {v}"))
}

#[test]
fn llama_server_token_streams_are_timed_and_counted_as_the_server_counts_them() {
    let llama = llama_dir();
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("tiny.gguf");
    let made = Command::new(llama.join("py/bin/python"))
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/llm/tiny_model.py"))
        .arg(&model)
        .output()
        .unwrap();
    assert!(
        made.status.success(),
        "tiny_model.py: {}",
        String::from_utf8_lossy(&made.stderr)
    );
    let server = LlamaServer::start(dir.path(), &llama, &model);
    let url = server.url();

    // Streamed, synthetic: `ignore_eos` with `max_tokens = 16`, so every
    // reply is exactly 16 tokens (the tiny model would emit EOS after about
    // ten otherwise), one content chunk each.
    let before = server.counters();
    let sc = scenario(
        dir.path(),
        "stream",
        &url,
        &format!("synthetic = {{ input_words = 20, output_tokens = {OUT_TOKENS} }}"),
        4,
    );
    let row = jetstress(
        dir.path(),
        "stream",
        &["--scenario", sc.to_str().unwrap()],
        0,
        "chat",
    );
    let served = server.counters() - before;
    let l = &row["llm"];
    let n = uint(l, "requests");
    assert!(n >= 4, "{row}");
    assert_eq!((uint(&row, "count"), uint(&row, "errors")), (n, 0), "{row}");
    assert_eq!(row["error_kinds"], serde_json::json!({}), "{row}");
    assert_eq!(l["streamed"], true);
    assert_eq!(uint(l, "output_tokens"), n * OUT_TOKENS, "{l}");
    assert_eq!(
        uint(l, "output_tokens"),
        served.predicted,
        "server {served:?}: {l}"
    );
    assert_eq!(
        uint(l, "prompt_tokens"),
        served.prompt,
        "server {served:?}: {l}"
    );
    assert!(uint(l, "prompt_tokens") >= n * 20, "{l}");
    assert_eq!(l["token_source"], "usage", "{l}");
    assert_eq!(l["token_sources"], serde_json::json!({ "usage": n }), "{l}");
    assert_eq!(uint(l, "token_mismatches"), 0, "{l}");
    let (ttft, e2e, itl, tpot) = (&l["ttft_ms"], &l["e2e_ms"], &l["itl_ms"], &l["tpot_ms"]);
    for k in ["min", "p50", "p90", "p95", "p99", "max", "mean"] {
        assert!(ms(ttft, k) > 0.0, "ttft {k}: {l}");
        assert!(ms(ttft, k) <= ms(e2e, k), "ttft {k} > e2e {k}: {l}");
        assert!(ms(e2e, k) < 10_000.0, "e2e {k}: {l}");
    }
    assert!(ms(itl, "p50") > 0.0, "{l}");
    assert!(ms(tpot, "p50") > 0.0, "{l}");
    // What the client waited for covers what the server spent (10 % slack
    // for histogram rounding); it cannot be less.
    let waited_s = ms(e2e, "mean") * n as f64 / 1000.0;
    assert!(
        waited_s >= 0.9 * served.busy_s,
        "E2E sum {waited_s:.4} s < server busy {:.4} s: {l}",
        served.busy_s
    );
    assert!(l["output_tokens_per_s"].as_f64().unwrap() > 0.0, "{l}");

    // One JSON reply, not streamed: no first token to see, so TTFT equals E2E.
    let before = server.counters();
    let sc = scenario(
        dir.path(),
        "no-stream",
        &url,
        &format!(
            "stream = false\nsynthetic = {{ input_words = 20, output_tokens = {OUT_TOKENS} }}"
        ),
        3,
    );
    let row = jetstress(
        dir.path(),
        "no-stream",
        &["--scenario", sc.to_str().unwrap()],
        0,
        "chat",
    );
    let served = server.counters() - before;
    let l = &row["llm"];
    let n = uint(l, "requests");
    assert!(n >= 3, "{row}");
    assert_eq!(uint(&row, "errors"), 0, "{row}");
    assert_eq!(l["streamed"], false, "{l}");
    assert_eq!(l["ttft_ms"], l["e2e_ms"], "{l}");
    assert_eq!(uint(l, "output_tokens"), n * OUT_TOKENS, "{l}");
    assert_eq!(
        uint(l, "output_tokens"),
        served.predicted,
        "server {served:?}: {l}"
    );
    assert_eq!(l["token_source"], "usage", "{l}");
    assert_eq!(uint(l, "token_mismatches"), 0, "{l}");

    // The command-line flags, no `ignore_eos`: the tiny model ends about
    // three replies in four at EOS before 16 tokens (never before its first
    // word), and the tokens still add up to the server's. (Not checked
    // here: `token_mismatches`. llama.cpp counts the EOS it stopped at in
    // `completion_tokens` but sends no chunk for it, so a short reply's
    // chunk count is one below its usage.)
    let before = server.counters();
    let row = jetstress(
        dir.path(),
        "flags",
        &[
            "--llm-url",
            &url,
            "--llm-model",
            "tiny",
            "--max-tokens",
            "16",
            "--prompt",
            "hi",
            "--phase",
            "soak",
            "--rate",
            "2",
            "--duration",
            "3s",
        ],
        0,
        "llm",
    );
    let served = server.counters() - before;
    let l = &row["llm"];
    let n = uint(l, "requests");
    assert!(n >= 3, "{row}");
    assert_eq!(uint(&row, "errors"), 0, "{row}");
    assert_eq!(
        uint(l, "output_tokens"),
        served.predicted,
        "server {served:?}: {l}"
    );
    // At least two tokens a reply (a word, then EOS at the earliest); all
    // n at 16 would mean `ignore_eos` proved nothing above (odds ~0.24^n).
    assert!((2 * n..n * 16).contains(&uint(l, "output_tokens")), "{l}");
    assert_eq!(
        uint(l, "prompt_tokens"),
        served.prompt,
        "server {served:?}: {l}"
    );
    assert_eq!(l["token_source"], "usage", "{l}");

    // A prompt longer than a slot's context (-c 512 over 4 slots): llama-server
    // answers 400 `exceed_context_size_error` before generating anything.
    let before = server.counters();
    let sc = scenario(
        dir.path(),
        "too-long",
        &url,
        "synthetic = { input_words = 2000, output_tokens = 16 }",
        3,
    );
    // Every request failing fails the run's error-rate limit: exit 1.
    let row = jetstress(
        dir.path(),
        "too-long",
        &["--scenario", sc.to_str().unwrap()],
        1,
        "chat",
    );
    let served = server.counters() - before;
    let count = uint(&row, "count");
    assert!(count >= 3, "{row}");
    assert_eq!(uint(&row, "errors"), count, "{row}");
    assert_eq!(
        row["error_kinds"],
        serde_json::json!({ "http": count }),
        "{row}"
    );
    let l = &row["llm"];
    assert_eq!(
        l["http_statuses"],
        serde_json::json!({ "400": count }),
        "{l}"
    );
    assert_eq!(
        (uint(l, "requests"), uint(l, "output_tokens")),
        (0, 0),
        "{l}"
    );
    assert_eq!(served.predicted, 0, "{served:?}");
    drop(server);
}
