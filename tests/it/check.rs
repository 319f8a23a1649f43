//! `jetstress check` end to end: the built-in server passes with every probe
//! graceful, over stdio and over HTTP (every HTTP protocol probe too); the
//! fault server's flawed tools each come out as the outcome they were
//! written for, and its garbage mode as `protocol` everywhere;
//! server-everything is recorded as it behaves over stdio and over
//! streamable HTTP (a few probes pinned); the output validates against
//! `schemas/jetstress.check-1.schema.json`; an interrupted check kills its
//! children; and no test leaves a process
//! behind (every process a test starts carries a marker in its
//! environment, looked for in `/proc`).

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use jetstress::check::{derive_probes, Expect, Outcome, RawServer, StdioSpec};
use serde_json::Value;

const MARK: &str = "JETSTRESS_TEST_MARK";

fn repo(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(p)
}

fn mark(test: &str) -> String {
    format!("check-{}-{test}", std::process::id())
}

/// Processes whose environment carries `MARK=mark` (zombies have none).
fn marked(mark: &str) -> Vec<u32> {
    let needle = format!("{MARK}={mark}\0").into_bytes();
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else {
            continue;
        };
        if let Ok(env) = std::fs::read(e.path().join("environ")) {
            if env.windows(needle.len()).any(|w| w == needle.as_slice()) {
                out.push(pid);
            }
        }
    }
    out
}

/// Wait (a little) for every marked process to be gone, then insist.
fn assert_no_process_left(mark: &str) {
    let until = Instant::now() + Duration::from_secs(3);
    while !marked(mark).is_empty() && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(marked(mark), Vec::<u32>::new(), "processes left behind");
}

fn bin(mark: &str) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_jetstress"));
    c.current_dir(env!("CARGO_MANIFEST_DIR")).env(MARK, mark);
    c
}

fn schema() -> Value {
    serde_json::from_str(
        &std::fs::read_to_string(repo("schemas/jetstress.check-1.schema.json")).unwrap(),
    )
    .unwrap()
}

fn schema_errors(v: &Value) -> Vec<String> {
    let s = schema();
    let mut errs = Vec::new();
    crate::report::validate(&s, &s, v, "", &mut errs);
    errs
}

/// Run `jetstress check ARGS --json FILE`: the process output, the
/// validated JSON and how long it took.
fn check(mark: &str, args: &[&str]) -> (Output, Value, Duration) {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("check.json");
    let began = Instant::now();
    let out = bin(mark)
        .arg("check")
        .args(args)
        .arg("--json")
        .arg(&json)
        .output()
        .unwrap();
    let took = began.elapsed();
    let text = std::fs::read_to_string(&json).unwrap_or_else(|e| {
        panic!(
            "no JSON ({e}); stderr:\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let v: Value = serde_json::from_str(&text).unwrap();
    let errs = schema_errors(&v);
    assert!(errs.is_empty(), "schema errors: {errs:#?}\n{v:#}");
    (out, v, took)
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn tool<'a>(v: &'a Value, name: &str) -> &'a Value {
    v["tools"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["tool"] == name)
        .unwrap_or_else(|| panic!("no tool {name} in {v:#}"))
}

fn count(t: &Value, o: Outcome) -> u64 {
    t["outcomes"][o.as_str()].as_u64().unwrap()
}

fn finding<'a>(t: &'a Value, probe: &str) -> &'a Value {
    t["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["probe"] == probe)
        .unwrap_or_else(|| panic!("no finding {probe} in {t:#}"))
}

fn protocol(v: &Value, probe: &str) -> Outcome {
    let p = v["protocol"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["probe"] == probe)
        .unwrap_or_else(|| panic!("no protocol probe {probe} in {v:#}"));
    serde_json::from_value(p["outcome"].clone()).unwrap()
}

/// The tools a stdio server lists, through the check's own raw client.
async fn list_tools(program: &str, args: &[&str], mark: &str) -> Vec<Value> {
    let logs = tempfile::tempdir().unwrap();
    let spec = StdioSpec {
        program: program.into(),
        args: args.iter().map(ToString::to_string).collect(),
        env: vec![(MARK.into(), mark.into())],
    };
    let mut s = RawServer::spawn(&spec, logs.path(), "list").unwrap();
    s.initialize(Duration::from_secs(10)).await.unwrap();
    let tools = s.list_tools(Duration::from_secs(10)).await.unwrap();
    s.kill().await;
    tools
}

fn probes_of(tool: &Value) -> Vec<jetstress::check::Probe> {
    derive_probes(tool["inputSchema"].as_object().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_built_in_server_passes_with_every_probe_graceful() {
    let m = mark("builtin");
    let listed = list_tools(env!("CARGO_BIN_EXE_jetstress"), &["mcp-serve"], &m).await;
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().to_path_buf();
    let (out, v, took) = tokio::task::spawn_blocking({
        let m = m.clone();
        move || {
            check(
                &m,
                &["--instances", "10", "--report", report.to_str().unwrap()],
            )
        }
    })
    .await
    .unwrap();
    let err = stderr(&out);
    eprintln!("a full check of the built-in server took {took:?}");
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert_eq!(v["result"], "PASS");
    assert_eq!(v["target"], "built-in");
    let tools = v["tools"].as_array().unwrap();
    assert_eq!(tools.len(), listed.len(), "{v:#}");
    assert_eq!(tools.len(), 11);
    for t in &listed {
        let got = tool(&v, t["name"].as_str().unwrap());
        let probes = probes_of(t).len() as u64;
        assert_eq!(got["probes"].as_u64().unwrap(), probes, "{got:#}");
        assert_eq!(count(got, Outcome::Graceful), probes, "{got:#}");
        assert_eq!(got["findings"], serde_json::json!([]), "{got:#}");
    }
    for p in v["protocol"].as_array().unwrap() {
        assert_eq!(p["outcome"], "graceful", "{p}");
    }
    let stdio_probes = jetstress::check::ProtocolProbe::ALL
        .iter()
        .filter(|p| p.over_stdio())
        .count();
    assert_eq!(v["protocol"].as_array().unwrap().len(), stdio_probes);
    let lc = &v["lifecycle"];
    assert_eq!(lc["instances"], 10);
    assert_eq!(lc["shutdown"]["stdin"], 10, "{lc}");
    assert_eq!(lc["orphans"], 0);
    assert!(lc["initialize_ms"]["max"].as_f64().unwrap() > 0.0);
    assert!(lc["rss_mb"]["max"].as_f64().unwrap() > 1.0);
    assert!(lc["fds"]["max"].as_u64().unwrap() >= 3);
    // The report directory has the same JSON and check.md.
    let md = std::fs::read_to_string(dir.path().join("check.md")).unwrap();
    assert!(md.contains("**Result: PASS**"), "{md}");
    let sleep = tool(&v, "sleep_ms")["probes"].as_u64().unwrap();
    assert!(
        md.contains(&format!(
            "| `sleep_ms` | {sleep} | {sleep} | 0 | 0 | 0 | 0 |"
        )),
        "{md}"
    );
    let again: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("check.json")).unwrap())
            .unwrap();
    assert_eq!(again, v);
    assert!(err.contains("result: PASS"), "{err}");
    assert_no_process_left(&m);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_flawed_tool_comes_out_as_written() {
    let m = mark("flawed");
    let server = repo("tests/fault-server/fault_server.py");
    let server = server.to_str().unwrap();
    let listed = list_tools("python3", &[server, "--flawed"], &m).await;
    let cmd = format!("python3 {server} --flawed");
    let (out, v, _) = tokio::task::spawn_blocking({
        let m = m.clone();
        move || {
            check(
                &m,
                &[
                    "--target-cmd",
                    &cmd,
                    "--timeout",
                    "300ms",
                    "--instances",
                    "2",
                ],
            )
        }
    })
    .await
    .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(v["result"], "FAIL");
    assert_eq!(v["tools"].as_array().unwrap().len(), listed.len());
    for t in &listed {
        let name = t["name"].as_str().unwrap();
        let probes = probes_of(t);
        let got = tool(&v, name);
        assert_eq!(
            got["probes"].as_u64().unwrap(),
            probes.len() as u64,
            "{name}"
        );
        let n = probes.len() as u64;
        let forbidden = probes.iter().filter(|p| p.expect == Expect::Reject).count() as u64;
        let (want, how_many) = match name {
            "strict" => (Outcome::Graceful, n),
            // Everything the schema forbids is taken; the control and the
            // edge cases it allows are fine.
            "lax" => (Outcome::Accepted, forbidden),
            "hang" => (Outcome::Hang, n),
            "crash" => (Outcome::Crash, n),
            "noise" | "wrongid" | "malformed" => (Outcome::Protocol, n),
            other => panic!("unexpected tool {other}"),
        };
        assert_eq!(count(got, want), how_many, "{name}: {got:#}");
        if name == "lax" {
            assert_eq!(count(got, Outcome::Graceful), n - forbidden, "{got:#}");
            // Each finding quotes the exact arguments sent.
            for p in probes.iter().filter(|p| p.expect == Expect::Reject) {
                let f = finding(got, &p.name);
                let sent = format!("sent {} →", jetstress::check::show_arguments(&p.arguments));
                assert!(f["detail"].as_str().unwrap().starts_with(&sent), "{f}");
            }
        }
    }
    // The crash kept the server's last words.
    let crash = finding(tool(&v, "crash"), "control");
    assert!(
        crash["detail"]
            .as_str()
            .unwrap()
            .contains("the crash tool was called, exiting"),
        "{crash}"
    );
    let wrong = finding(tool(&v, "wrongid"), "control");
    assert!(
        wrong["detail"]
            .as_str()
            .unwrap()
            .contains("which was never sent"),
        "{wrong}"
    );
    // The server core is sound: every protocol probe is graceful.
    for p in v["protocol"].as_array().unwrap() {
        assert_eq!(p["outcome"], "graceful", "{p}");
    }
    assert_eq!(v["lifecycle"]["instances"], 2);
    assert_eq!(v["lifecycle"]["orphans"], 0);
    // The table lists the findings with their arguments.
    assert!(
        err.contains("lax below_min:n [accepted]: sent {\"n\":0}"),
        "{err}"
    );
    assert_no_process_left(&m);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn noise_on_stdout_is_a_protocol_outcome_everywhere() {
    let m = mark("garbage");
    let server = repo("tests/fault-server/fault_server.py");
    let server = server.to_str().unwrap();
    let listed = list_tools("python3", &[server, "--garbage"], &m).await;
    let cmd = format!("python3 {server} --garbage");
    let (out, v, _) = tokio::task::spawn_blocking({
        let m = m.clone();
        move || {
            check(
                &m,
                &[
                    "--target-cmd",
                    &cmd,
                    "--timeout",
                    "300ms",
                    "--instances",
                    "0",
                ],
            )
        }
    })
    .await
    .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    for t in &listed {
        let got = tool(&v, t["name"].as_str().unwrap());
        let n = probes_of(t).len() as u64;
        assert_eq!(count(got, Outcome::Protocol), n, "{got:#}");
    }
    for p in v["protocol"].as_array().unwrap() {
        assert_eq!(p["outcome"], "protocol", "{p}");
    }
    assert!(v["lifecycle"].is_null());
    assert_no_process_left(&m);
}

#[test]
fn server_everything_is_recorded_as_it_behaves() {
    let m = mark("everything");
    let js = repo(
        "tests/mcp-servers/node_modules/@modelcontextprotocol/server-everything/dist/index.js",
    );
    assert!(
        js.exists(),
        "{} is missing: run `cd tests/mcp-servers && npm ci`",
        js.display()
    );
    let cmd = format!("node {} stdio", js.display());
    let (out, v, took) = check(
        &m,
        &["--target-cmd", &cmd, "--timeout", "2s", "--instances", "2"],
    );
    let err = stderr(&out);
    eprintln!("server-everything: {took:?}");
    // jetstress itself ends normally, with a verdict.
    assert!(matches!(out.status.code(), Some(0 | 1)), "{err}");
    assert!(err.contains("result: "), "{err}");
    // zod validates its inputs: a missing or mistyped argument is refused.
    let echo = tool(&v, "echo");
    assert_eq!(
        count(echo, Outcome::Graceful),
        echo["probes"].as_u64().unwrap(),
        "{echo:#}"
    );
    let sum = tool(&v, "get-sum");
    assert_eq!(count(sum, Outcome::Accepted), 0, "{sum:#}");
    // The long-running operation's default run (10 s) outlasts a 2 s timeout.
    let long = tool(&v, "trigger-long-running-operation");
    assert_eq!(finding(long, "control")["outcome"], "hang", "{long:#}");
    assert_eq!(protocol(&v, "unknown_method"), Outcome::Graceful);
    assert_eq!(protocol(&v, "invalid_json"), Outcome::Graceful);
    // The TypeScript SDK closes its stdio transport on a line over its
    // 10 MiB buffer, and the server then exits.
    assert_eq!(protocol(&v, "huge_line"), Outcome::Crash);
    assert_eq!(v["result"], "FAIL");
    assert_no_process_left(&m);
}

/// Start a check that will sit in a hanging call, wait for its server, send
/// `sig`, and see it exit 130 with nothing left.
fn interrupted_by(sig: libc::c_int, name: &str) {
    let m = mark(name);
    let server = repo("tests/fault-server/fault_server.py");
    let cmd = format!("python3 {} --flawed", server.display());
    let mut child = bin(&m)
        .args(["check", "--target-cmd", &cmd, "--timeout", "60s"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    // The server is up once a marked process other than jetstress exists.
    let until = Instant::now() + Duration::from_secs(20);
    loop {
        let others: Vec<u32> = marked(&m).into_iter().filter(|p| *p != pid).collect();
        if !others.is_empty() {
            break;
        }
        assert!(Instant::now() < until, "the check's server never started");
        std::thread::sleep(Duration::from_millis(50));
    }
    // Into the `hang` tool's control call (strict and lax go by in well under a second).
    std::thread::sleep(Duration::from_millis(1500));
    unsafe {
        libc::kill(pid as libc::pid_t, sig);
    }
    let until = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < until, "the check did not stop");
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut err = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut err).unwrap();
    assert_eq!(status.code(), Some(130), "{err}");
    assert!(err.contains("interrupted"), "{err}");
    assert_no_process_left(&m);
}

#[test]
fn an_interrupted_check_kills_its_children() {
    interrupted_by(libc::SIGINT, "sigint");
    interrupted_by(libc::SIGTERM, "sigterm");
}

#[test]
fn the_schema_rejects_broken_documents() {
    let mut v = serde_json::json!({
        "schema": "jetstress.check/1", "target": "x", "result": "PASS",
        "tools": [{"tool": "a", "probes": 1,
                   "outcomes": {"graceful": 1, "accepted": 0, "hang": 0, "crash": 0, "protocol": 0},
                   "findings": [{"probe": "missing:n", "outcome": "accepted", "detail": "sent {}"}]}],
        "protocol": [{"probe": "batch", "outcome": "graceful"}],
        "lifecycle": {"instances": 1, "initialize_ms": {"p50": 1.0, "p95": 1.0, "max": 1.0},
                      "rss_mb": {"mean": 1.0, "max": 1.0}, "fds": {"max": 4},
                      "shutdown": {"stdin": 1, "sigterm": 0, "sigkill": 0}, "orphans": 0}
    });
    assert!(schema_errors(&v).is_empty(), "{:?}", schema_errors(&v));
    v["lifecycle"] = Value::Null;
    assert!(schema_errors(&v).is_empty());
    v["result"] = "MAYBE".into();
    v["tools"][0]["findings"][0]["outcome"] = "fine".into();
    v["tools"][0]["outcomes"]["extra"] = 1.into();
    v["protocol"][0]["probe"] = "no_such_probe".into();
    v.as_object_mut().unwrap().remove("target");
    let e = schema_errors(&v);
    assert_eq!(e.len(), 5, "{e:#?}");
    assert!(e.iter().any(|m| m.starts_with("/result")));
    assert!(e
        .iter()
        .any(|m| m.starts_with("/tools/0/findings/0/outcome")));
    assert!(e.iter().any(|m| m.starts_with("/tools/0/outcomes/extra")));
    assert!(e.iter().any(|m| m.starts_with("/protocol/0/probe")));
    assert!(e.iter().any(|m| m.contains("missing \"target\"")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_built_in_server_over_http_passes_too() {
    let m = mark("http");
    let listed = list_tools(env!("CARGO_BIN_EXE_jetstress"), &["mcp-serve"], &m).await;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut server = tokio::process::Command::new(env!("CARGO_BIN_EXE_jetstress"))
        .args(["mcp-serve", "--http", &format!("127.0.0.1:{port}")])
        .env(MARK, &m)
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let until = Instant::now() + Duration::from_secs(10);
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        assert!(Instant::now() < until, "mcp-serve --http never listened");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let url = format!("http://127.0.0.1:{port}/mcp");
    let (out, v, _) = tokio::task::spawn_blocking({
        let m = m.clone();
        move || check(&m, &["--target-url", &url])
    })
    .await
    .unwrap();
    let err = stderr(&out);
    // rmcp 3.11's streamable-HTTP session routes each reply by its MCP
    // request id, so a second request with the same id in flight takes the
    // first's route and the first is never answered — when the two
    // overlap, which depends on timing. The check says so ("hang"); that
    // is the one finding the built-in server may have over HTTP.
    let dup = v["protocol"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["probe"] == "duplicate_id")
        .map(|p| p["outcome"].as_str().unwrap().to_string());
    let raced = dup.as_deref() == Some("hang");
    assert_eq!(out.status.code(), Some(i32::from(raced)), "{err}");
    if raced {
        let fails: Vec<&str> = err.lines().filter(|l| l.starts_with("FAIL")).collect();
        assert_eq!(fails, ["FAIL protocol duplicate_id: hang"], "{err}");
    }
    assert!(v["lifecycle"].is_null());
    for t in &listed {
        let got = tool(&v, t["name"].as_str().unwrap());
        // Every probe is sent: arguments that are not an object go through
        // the raw client.
        let all = probes_of(t).len() as u64;
        assert_eq!(got["probes"].as_u64().unwrap(), all, "{got:#}");
        assert_eq!(count(got, Outcome::Graceful), all, "{got:#}");
    }
    assert!(!err.contains("not sent"), "{err}");
    let names: Vec<&str> = v["protocol"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["probe"].as_str().unwrap())
        .collect();
    assert_eq!(names, HTTP_PROBES, "{v:#}");
    for p in v["protocol"].as_array().unwrap() {
        if !(raced && p["probe"] == "duplicate_id") {
            assert_eq!(p["outcome"], "graceful", "{p}");
        }
    }
    // What rmcp answers, as the spec asks.
    for line in [
        "unknown_session      graceful  HTTP 404",
        "no_accept            graceful  HTTP 406",
        "delete_session       graceful  DELETE: HTTP 202; then on the session: HTTP 404",
        "no_id                graceful  HTTP 202 with no body",
        "before_initialize    graceful  HTTP 400",
    ] {
        assert!(err.contains(line), "{line}\n{err}");
    }
    server.kill().await.unwrap();
    assert_no_process_left(&m);
}

/// The protocol probes an HTTP target gets, in order.
const HTTP_PROBES: [&str; 13] = [
    "unknown_tool",
    "unknown_method",
    "invalid_json",
    "no_id",
    "no_method",
    "bad_jsonrpc_version",
    "batch",
    "before_initialize",
    "duplicate_id",
    "concurrent_32",
    "unknown_session",
    "no_accept",
    "delete_session",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_everything_over_http_is_recorded_as_it_behaves() {
    let m = mark("everything-http");
    let js = repo(
        "tests/mcp-servers/node_modules/@modelcontextprotocol/server-everything/dist/index.js",
    );
    assert!(
        js.exists(),
        "{} is missing: run `cd tests/mcp-servers && npm ci`",
        js.display()
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut server = tokio::process::Command::new("node")
        .arg(&js)
        .arg("streamableHttp")
        .env("PORT", port.to_string())
        .env(MARK, &m)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let until = Instant::now() + Duration::from_secs(20);
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        assert!(Instant::now() < until, "server-everything never listened");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let url = format!("http://127.0.0.1:{port}/mcp");
    let (out, v, took) = tokio::task::spawn_blocking({
        let m = m.clone();
        move || check(&m, &["--target-url", &url, "--timeout", "2s"])
    })
    .await
    .unwrap();
    let err = stderr(&out);
    eprintln!("server-everything over HTTP: {took:?}\n{err}");
    assert!(matches!(out.status.code(), Some(0 | 1)), "{err}");
    // zod refuses arguments that are not an object too (-32603, in band).
    let echo = tool(&v, "echo");
    assert_eq!(
        count(echo, Outcome::Graceful),
        echo["probes"].as_u64().unwrap(),
        "{echo:#}"
    );
    let names: Vec<&str> = v["protocol"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["probe"].as_str().unwrap())
        .collect();
    assert_eq!(names, HTTP_PROBES, "{v:#}");
    // The TypeScript SDK refuses an unknown session with a 400 (not the
    // spec's 404), a missing Accept with a 406, and invalid JSON with a
    // 400 and -32700: all refusals.
    assert_eq!(protocol(&v, "unknown_session"), Outcome::Graceful);
    assert!(err.contains("(the spec asks for 404)"), "{err}");
    assert_eq!(protocol(&v, "no_accept"), Outcome::Graceful);
    assert_eq!(protocol(&v, "invalid_json"), Outcome::Graceful);
    server.kill().await.unwrap();
    assert_no_process_left(&m);
}

/// A lenient streamable-HTTP MCP server, for the outcomes the good ones
/// never give: it ignores sessions (any id, none, or one it was told to
/// DELETE works), answers a request without a method, fails invalid JSON
/// with a 500, and answers an unknown method with an SSE event that is
/// not JSON.
async fn sloppy_server() -> String {
    use axum::http::{header, StatusCode};
    use axum::response::IntoResponse;
    use axum::routing::post;
    use serde_json::json;

    async fn mcp(body: axum::body::Bytes) -> axum::response::Response {
        let Ok(msg) = serde_json::from_slice::<Value>(&body) else {
            return (StatusCode::INTERNAL_SERVER_ERROR, "boom").into_response();
        };
        let answer = |m: &Value| -> Option<Value> {
            let id = m.get("id")?.clone();
            let result = match m["method"].as_str() {
                Some("initialize") => json!({"protocolVersion": "2025-06-18",
                    "capabilities": {"tools": {}}, "serverInfo": {"name": "sloppy", "version": "0"}}),
                Some("tools/list") => json!({"tools": [{"name": "echo", "inputSchema": {
                    "type": "object", "properties": {"text": {"type": "string"}},
                    "required": ["text"], "additionalProperties": false}}]}),
                Some("tools/call") => {
                    let args = &m["params"]["arguments"];
                    let ok = args.as_object().is_some_and(|o| {
                        o.len() == 1 && o.get("text").is_some_and(Value::is_string)
                    });
                    json!({"content": [{"type": "text", "text": "ok"}], "isError": !ok})
                }
                _ => json!({}),
            };
            Some(json!({"jsonrpc": "2.0", "id": id, "result": result}))
        };
        let json_reply = |v: Value| {
            let mut r = axum::Json(v).into_response();
            r.headers_mut()
                .insert("mcp-session-id", "sloppy-1".parse().unwrap());
            r
        };
        match &msg {
            Value::Array(items) => {
                json_reply(Value::Array(items.iter().filter_map(answer).collect()))
            }
            m if m["method"] == "jetstress/no_such_method" => (
                [(header::CONTENT_TYPE, "text/event-stream")],
                "data: not json at all\n\n",
            )
                .into_response(),
            m => match answer(m) {
                Some(v) => json_reply(v),
                None => StatusCode::ACCEPTED.into_response(),
            },
        }
    }
    let app = axum::Router::new().route(
        "/mcp",
        post(mcp)
            .delete(|| async { StatusCode::OK })
            .get(|| async { StatusCode::METHOD_NOT_ALLOWED }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}/mcp")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lenient_http_server_fails_the_http_probes() {
    let m = mark("sloppy");
    let url = sloppy_server().await;
    let (out, v, _) = tokio::task::spawn_blocking({
        let m = m.clone();
        move || check(&m, &["--target-url", &url, "--timeout", "2s"])
    })
    .await
    .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(v["result"], "FAIL");
    // Its tool validates, arguments that are not an object included.
    let echo = tool(&v, "echo");
    assert_eq!(
        count(echo, Outcome::Graceful),
        echo["probes"].as_u64().unwrap(),
        "{echo:#}"
    );
    let expect = [
        ("unknown_tool", Outcome::Graceful),
        ("unknown_method", Outcome::Protocol),
        ("invalid_json", Outcome::Protocol),
        ("no_id", Outcome::Graceful),
        ("no_method", Outcome::Accepted),
        ("bad_jsonrpc_version", Outcome::Graceful),
        ("batch", Outcome::Graceful),
        ("before_initialize", Outcome::Graceful),
        ("duplicate_id", Outcome::Graceful),
        ("concurrent_32", Outcome::Graceful),
        ("unknown_session", Outcome::Accepted),
        ("no_accept", Outcome::Graceful),
        ("delete_session", Outcome::Accepted),
    ];
    for (probe, outcome) in expect {
        assert_eq!(protocol(&v, probe), outcome, "{probe}\n{err}");
    }
    for line in [
        "not JSON in the SSE stream: not json at all",
        "HTTP 500: boom",
        "for a session id it never issued",
        "though it had ended",
        "answered without Accept (lenient)",
        "answered without a session",
    ] {
        assert!(err.contains(line), "{line}\n{err}");
    }
    assert_no_process_left(&m);
}
