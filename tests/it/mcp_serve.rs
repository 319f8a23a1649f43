//! `jetstress mcp-serve` driven by the rmcp client over its two real
//! transports: stdio (the binary as a child process) and streamable HTTP on a
//! loopback port. Every tool is called on the orin-agx-r36 fixture tree and its
//! structured output is checked, values and schema both. Never any traffic
//! beyond 127.0.0.1.

use std::collections::HashMap;
use std::process::Stdio;
use std::time::Duration;

use rmcp::model::{CallToolRequestParams, CallToolResult, ErrorCode, JsonObject};
use rmcp::service::{RoleClient, RunningService};
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::transport::{StreamableHttpClientTransport, TokioChildProcess};
use rmcp::{ServiceError, ServiceExt};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};

const BIN: &str = env!("CARGO_BIN_EXE_jetstress");
const ORIN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/orin-agx-r36");
const TIMEOUT: Duration = Duration::from_secs(20);

type Client = RunningService<RoleClient, ()>;

fn server_cmd(root: &str) -> Command {
    let mut c = Command::new(BIN);
    c.args(["--root", root, "--interval", "100ms", "mcp-serve"])
        .env_remove("JETSTRESS_MCP_TOKEN")
        .kill_on_drop(true);
    c
}

async fn stdio_client(root: &str) -> Client {
    let (transport, _stderr) = TokioChildProcess::builder(server_cmd(root))
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn jetstress mcp-serve");
    tokio::time::timeout(TIMEOUT, ().serve(transport))
        .await
        .expect("initialize in time")
        .expect("initialize")
}

/// Start `mcp-serve --http 127.0.0.1:0 …` and read the bound address from stderr.
pub(crate) async fn http_server(extra: &[&str], token_env: Option<&str>) -> (Child, String) {
    let mut c = server_cmd(ORIN);
    c.args(["--http", "127.0.0.1:0"]).args(extra);
    if let Some(t) = token_env {
        c.env("JETSTRESS_MCP_TOKEN", t);
    }
    let mut child = c
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let url = tokio::time::timeout(TIMEOUT, async {
        while let Some(l) = lines.next_line().await.expect("read stderr") {
            if let Some(u) = l.split("listening on ").nth(1) {
                return u.trim().to_string();
            }
        }
        panic!("server exited before listening");
    })
    .await
    .expect("server listens in time");
    // Keep draining stderr so the server never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (child, url)
}

async fn http_client(url: &str, token: Option<&str>) -> Client {
    let mut cfg = StreamableHttpClientTransportConfig::with_uri(url.to_string());
    if let Some(t) = token {
        cfg = cfg.auth_header(t.to_string());
    }
    let transport = StreamableHttpClientTransport::from_config(cfg);
    tokio::time::timeout(TIMEOUT, ().serve(transport))
        .await
        .expect("initialize in time")
        .expect("initialize over HTTP")
}

fn args(v: Value) -> JsonObject {
    match v {
        Value::Object(o) => o,
        _ => panic!("arguments must be an object"),
    }
}

async fn call(c: &Client, name: &'static str, a: Value) -> Result<CallToolResult, ServiceError> {
    let p = CallToolRequestParams::new(name).with_arguments(args(a));
    tokio::time::timeout(TIMEOUT, c.call_tool(p))
        .await
        .expect("call answered in time")
}

async fn structured(c: &Client, name: &'static str, a: Value) -> (String, Value) {
    let r = call(c, name, a)
        .await
        .unwrap_or_else(|e| panic!("{name} failed: {e}"));
    assert_ne!(
        r.is_error,
        Some(true),
        "{name} returned an error result: {r:?}"
    );
    let text = r
        .content
        .first()
        .and_then(|c| c.as_text())
        .map(|t| t.text.clone())
        .unwrap_or_default();
    (
        text,
        r.structured_content
            .unwrap_or_else(|| panic!("{name} has no structuredContent")),
    )
}

fn invalid_params(r: Result<CallToolResult, ServiceError>) -> String {
    match r {
        Err(ServiceError::McpError(e)) => {
            assert_eq!(e.code, ErrorCode::INVALID_PARAMS, "{e:?}");
            e.message.to_string()
        }
        other => panic!("expected invalid params, got {other:?}"),
    }
}

const ALL_TOOLS: [&str; 11] = [
    "thermal_status",
    "memory_status",
    "gpu_status",
    "power_status",
    "board_info",
    "system_diagnosis",
    "predict_throttle",
    "predict_memory",
    "debug_status",
    "echo",
    "sleep_ms",
];

#[tokio::test]
async fn stdio_initialize_and_list_tools_with_schemas() {
    let c = stdio_client(ORIN).await;
    let info = c.peer_info().expect("server info after initialize");
    assert_eq!(
        info.server_info.as_ref().map(|i| i.name.as_str()),
        Some("jetstress")
    );
    assert!(info.capabilities.tools.is_some());
    assert!(!info.protocol_version.to_string().is_empty());
    let tools = c.list_all_tools().await.expect("tools/list");
    let names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
    assert_eq!(names, ALL_TOOLS);
    for t in &tools {
        assert_eq!(
            t.input_schema.get("type"),
            Some(&json!("object")),
            "{}",
            t.name
        );
        assert!(t.output_schema.is_some(), "{} has an output schema", t.name);
        assert!(
            t.description.as_deref().is_some_and(|d| d.len() > 10),
            "{}",
            t.name
        );
        assert_eq!(
            t.annotations.as_ref().and_then(|a| a.read_only_hint),
            Some(true)
        );
    }
    let echo = tools.iter().find(|t| t.name == "echo").unwrap();
    assert_eq!(echo.input_schema.get("required"), Some(&json!(["message"])));
    let sleep = tools.iter().find(|t| t.name == "sleep_ms").unwrap();
    let sleep_schema = Value::Object(sleep.input_schema.as_ref().clone());
    assert_eq!(
        sleep_schema.pointer("/properties/ms/maximum"),
        Some(&json!(60000))
    );
    c.cancel().await.expect("clean close");
}

#[tokio::test]
async fn stdio_every_tool_answers_from_the_fixture_and_matches_its_output_schema() {
    let c = stdio_client(ORIN).await;
    let tools = c.list_all_tools().await.unwrap();
    let schemas: HashMap<String, Value> = tools
        .iter()
        .map(|t| {
            (
                t.name.to_string(),
                Value::Object(t.output_schema.as_deref().cloned().unwrap()),
            )
        })
        .collect();
    let mut outputs = HashMap::new();
    for name in ALL_TOOLS {
        let a = match name {
            "echo" => json!({"message": "héllo"}),
            "sleep_ms" => json!({"ms": 20}),
            _ => json!({}),
        };
        let (text, v) = structured(&c, name, a).await;
        assert!(!text.is_empty(), "{name} has a text summary");
        let s = &schemas[name];
        let mut errs = Vec::new();
        crate::report::validate(s, s, &v, name, &mut errs);
        assert!(
            errs.is_empty(),
            "{name} output breaks its schema: {errs:?}\n{v:#}"
        );
        outputs.insert(name, (text, v));
    }

    let (text, t) = &outputs["thermal_status"];
    assert_eq!(t["zones"].as_array().unwrap().len(), 11);
    assert_eq!(t["hottest_temp_c"], json!(47.687));
    assert_eq!(t["offline_zones"].as_array().unwrap().len(), 3);
    assert_eq!(t["throttled"], json!(true));
    assert!(t["throttle_reasons"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r.as_str().unwrap().contains("cpufreq-cpu4")));
    let tj = t["zones"]
        .as_array()
        .unwrap()
        .iter()
        .find(|z| z["name"] == "tj-thermal")
        .unwrap();
    assert_eq!(tj["throttle_trip_c"], json!(99.0));
    assert_eq!(tj["critical_trip_c"], json!(104.5));
    assert!(
        text.contains("tj-thermal 47.7 °C") && text.contains("THROTTLED"),
        "{text}"
    );

    let (_, m) = &outputs["memory_status"];
    assert!(m["total_mb"].as_f64().unwrap() > 60_000.0);
    assert!(m["used_pct"].as_f64().is_some());

    let (_, g) = &outputs["gpu_status"];
    assert_eq!(g["gpus"][0]["kind"], json!("tegra"));
    assert_eq!(g["gpus"][0]["temp_c"], json!(43.906));

    let (_, p) = &outputs["power_status"];
    assert!(!p["rails"].as_array().unwrap().is_empty());
    assert!(p["total_mw"].as_f64().unwrap() > 0.0);

    let (text, b) = &outputs["board_info"];
    assert_eq!(b["model"], json!("NVIDIA Jetson AGX Orin Developer Kit"));
    assert_eq!(b["soc"], json!("tegra234"));
    assert_eq!(b["l4t"], json!("36.4.3"));
    assert_eq!(b["nvpmodel_id"], json!(0));
    assert_eq!(b["jetson_clocks"], json!(false));
    assert_eq!(b["cpu_cores"], json!(12));
    assert!(
        text.contains("tegra234") && text.contains("L4T 36.4.3"),
        "{text}"
    );

    let (text, d) = &outputs["system_diagnosis"];
    assert_eq!(
        d["severity"],
        json!("critical"),
        "the fixture is throttled: {text}"
    );
    let findings = d["findings"].as_array().unwrap();
    assert!(findings
        .iter()
        .any(|f| f["area"] == "throttle" && f["severity"] == "critical"));
    assert!(findings.iter().any(|f| f["area"] == "thermal"
        && f["message"]
            .as_str()
            .unwrap()
            .contains("tj-thermal 51.3 °C below passive trip")));

    // Predictions need a window of samples: a fresh server says so per zone,
    // with each zone's own trip (99 °C on Orin) and never an invented ETA.
    let (_, pt) = &outputs["predict_throttle"];
    let zones = pt["zones"].as_array().unwrap();
    assert!(zones.iter().any(|z| z["zone"] == "cpu-thermal"), "{pt:#}");
    assert!(
        zones
            .iter()
            .all(|z| z["trip_c"] == json!(99.0) && z["eta_s"].is_null()),
        "{pt:#}"
    );
    assert!(
        zones.iter().all(|z| z["status"] == "too_few_samples"),
        "{pt:#}"
    );
    let (_, pm) = &outputs["predict_memory"];
    assert!(pm["eta_s"].is_null());
    assert!(pm["message"].as_str().unwrap().len() > 5);

    let (_, dbg) = &outputs["debug_status"];
    assert_eq!(dbg["server"], json!("jetstress"));
    let calls = dbg["calls"].as_array().unwrap();
    let thermal_calls = calls
        .iter()
        .find(|c| c["tool"] == "thermal_status")
        .unwrap();
    assert_eq!(thermal_calls["calls"], json!(1));
    assert!(dbg["rss_mb"].as_f64().unwrap() > 0.0);

    let (text, e) = &outputs["echo"];
    assert_eq!(text, "héllo");
    assert_eq!(e, &json!({"message": "héllo"}));
    assert_eq!(outputs["sleep_ms"].1, json!({"slept_ms": 20}));
    c.cancel().await.unwrap();
}

#[tokio::test]
async fn stdio_bad_arguments_and_unknown_tools_are_invalid_params_and_the_server_carries_on() {
    let c = stdio_client(ORIN).await;
    let m = invalid_params(call(&c, "sleep_ms", json!({"ms": "soon"})).await);
    assert!(m.contains("sleep_ms"), "{m}");
    invalid_params(call(&c, "sleep_ms", json!({"ms": -5})).await);
    let m = invalid_params(call(&c, "sleep_ms", json!({"ms": 60001})).await);
    assert!(m.contains("at most 60000"), "{m}");
    invalid_params(call(&c, "sleep_ms", json!({})).await);
    invalid_params(call(&c, "echo", json!({"message": 5})).await);
    invalid_params(call(&c, "echo", json!({"message": "x", "extra": true})).await);
    invalid_params(call(&c, "thermal_status", json!({"zone": "cpu"})).await);
    let m = invalid_params(call(&c, "rm_rf", json!({})).await);
    assert!(m.contains("unknown tool 'rm_rf'"), "{m}");
    let (text, _) = structured(&c, "echo", json!({"message": "still here"})).await;
    assert_eq!(text, "still here");
    c.cancel().await.unwrap();
}

#[tokio::test]
async fn stdio_an_abandoned_call_does_not_stop_the_server() {
    let c = stdio_client(ORIN).await;
    // Dropping the call future sends notifications/cancelled for it.
    let abandoned = tokio::time::timeout(
        Duration::from_millis(100),
        call(&c, "sleep_ms", json!({"ms": 30000})),
    )
    .await;
    assert!(abandoned.is_err(), "the long sleep was still running");
    let (text, _) = structured(&c, "echo", json!({"message": "after"})).await;
    assert_eq!(text, "after");
    let (_, dbg) = structured(&c, "debug_status", json!({})).await;
    let calls = dbg["calls"].as_array().unwrap();
    assert!(calls
        .iter()
        .any(|x| x["tool"] == "sleep_ms" && x["calls"] == json!(1)));
    c.cancel().await.unwrap();
}

#[tokio::test]
async fn stdio_client_vanishing_mid_call_ends_the_server_cleanly() {
    let mut child = server_cmd(ORIN)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap()).lines();
    let init = json!({"jsonrpc":"2.0","id":1,"method":"initialize","params":{
        "protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"raw","version":"0"}}});
    stdin
        .write_all(format!("{init}\n").as_bytes())
        .await
        .unwrap();
    let first = tokio::time::timeout(TIMEOUT, out.next_line())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let first: Value = serde_json::from_str(&first).expect("stdout carries only JSON-RPC");
    assert_eq!(first["result"]["protocolVersion"], json!("2025-11-25"));
    let rest = json!({"jsonrpc":"2.0","method":"notifications/initialized"});
    let sleep = json!({"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"sleep_ms","arguments":{"ms":30000}}});
    stdin
        .write_all(format!("{rest}\n{sleep}\n").as_bytes())
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    drop(stdin);
    drop(out);
    // End of input stops the in-flight sleep at once (rmcp alone would wait up to 5 s).
    let status = tokio::time::timeout(Duration::from_secs(3), child.wait())
        .await
        .expect("server exits when its client goes, without waiting out the 30 s sleep")
        .unwrap();
    assert!(status.success(), "{status:?}");
}

#[tokio::test]
async fn stdio_serves_a_bare_vm_without_jetson_parts() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/bare-vm");
    let c = stdio_client(root).await;
    let (text, g) = structured(&c, "gpu_status", json!({})).await;
    assert_eq!(g["gpus"], json!([]));
    assert_eq!(text, "no GPU found");
    let (_, p) = structured(&c, "power_status", json!({})).await;
    assert_eq!(p["total_mw"], Value::Null);
    let (_, b) = structured(&c, "board_info", json!({})).await;
    assert_eq!(b["l4t"], Value::Null);
    let (_, d) = structured(&c, "system_diagnosis", json!({})).await;
    assert!(d["severity"].is_string());
    c.cancel().await.unwrap();
}

#[tokio::test]
async fn http_lists_and_calls_tools() {
    let (_server, url) = http_server(&[], None).await;
    assert!(
        url.starts_with("http://127.0.0.1:") && url.ends_with("/mcp"),
        "{url}"
    );
    let c = http_client(&url, None).await;
    let names: Vec<String> = c
        .list_all_tools()
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.name.to_string())
        .collect();
    assert_eq!(names, ALL_TOOLS);
    let (_, t) = structured(&c, "thermal_status", json!({})).await;
    assert_eq!(t["hottest_temp_c"], json!(47.687));
    let (text, _) = structured(&c, "echo", json!({"message": "over http"})).await;
    assert_eq!(text, "over http");
    invalid_params(call(&c, "sleep_ms", json!({"ms": true})).await);
    invalid_params(call(&c, "nope", json!({})).await);
    c.cancel().await.unwrap();
}

fn initialize_body() -> String {
    json!({"jsonrpc":"2.0","id":1,"method":"initialize","params":{
        "protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"raw","version":"0"}}})
    .to_string()
}

fn post(http: &reqwest::Client, url: &str, body: String) -> reqwest::RequestBuilder {
    http.post(url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .body(body)
}

#[tokio::test]
async fn http_token_is_required_on_every_request() {
    let token = "t0ken-for-tests";
    let (_server, url) = http_server(&[], Some(token)).await;
    let http = reqwest::Client::new();
    let none = post(&http, &url, initialize_body()).send().await.unwrap();
    assert_eq!(none.status(), 401);
    assert_eq!(none.headers().get("www-authenticate").unwrap(), "Bearer");
    let wrong = post(&http, &url, initialize_body())
        .bearer_auth("nope")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let right = post(&http, &url, initialize_body())
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(right.status(), 200);

    let c = http_client(&url, Some(token)).await;
    let (text, _) = structured(&c, "echo", json!({"message": "authorised"})).await;
    assert_eq!(text, "authorised");
    c.cancel().await.unwrap();
    let refused = StreamableHttpClientTransport::from_config(
        StreamableHttpClientTransportConfig::with_uri(url.clone()),
    );
    assert!(
        ().serve(refused).await.is_err(),
        "a client without the token cannot initialize"
    );
}

/// POST a JSON body of about `len` bytes over a raw socket and return the
/// status line's code. The server may answer before it has read the whole body
/// and close, so the write side's errors are ignored.
async fn oversize_status(url: &str, len: usize) -> u16 {
    let authority = url
        .trim_start_matches("http://")
        .trim_end_matches("/mcp")
        .to_string();
    let stream = tokio::net::TcpStream::connect(&authority).await.unwrap();
    let (mut rd, mut wr) = stream.into_split();
    let body = format!(
        r#"{{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{{"name":"echo","arguments":{{"message":"{}"}}}}}}"#,
        "x".repeat(len)
    );
    let head = format!(
        "POST /mcp HTTP/1.1\r\nHost: {authority}\r\nContent-Type: application/json\r\n\
         Accept: application/json, text/event-stream\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    let writer = tokio::spawn(async move {
        let _ = wr.write_all(head.as_bytes()).await;
        let _ = wr.write_all(body.as_bytes()).await;
        wr
    });
    let mut buf = vec![0u8; 64];
    let n = tokio::time::timeout(TIMEOUT, tokio::io::AsyncReadExt::read(&mut rd, &mut buf))
        .await
        .expect("an answer in time")
        .expect("read the status line");
    writer.abort();
    let line = String::from_utf8_lossy(&buf[..n]).to_string();
    line.split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no status in {line:?}"))
}

#[tokio::test]
async fn http_rejects_oversize_bodies_and_foreign_origins() {
    let (_server, url) = http_server(&[], None).await;
    let http = reqwest::Client::new();
    assert_eq!(oversize_status(&url, 2 * 1024 * 1024).await, 413);
    let r = post(&http, &url, initialize_body())
        .header("origin", "http://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = post(&http, &url, initialize_body())
        .header("origin", "http://localhost:3000")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // Still serving after both refusals.
    let c = http_client(&url, None).await;
    let (text, _) = structured(&c, "echo", json!({"message": "ok"})).await;
    assert_eq!(text, "ok");
    c.cancel().await.unwrap();
}

#[tokio::test]
async fn http_client_disconnecting_mid_call_leaves_the_server_serving() {
    let (mut server, url) = http_server(&[], None).await;
    let gone = http_client(&url, None).await;
    let pending = tokio::spawn(async move {
        let _ = call(&gone, "sleep_ms", json!({"ms": 30000})).await;
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    pending.abort();
    let _ = pending.await;
    let c = http_client(&url, None).await;
    let (text, _) = structured(&c, "echo", json!({"message": "next client"})).await;
    assert_eq!(text, "next client");
    let (_, dbg) = structured(&c, "debug_status", json!({})).await;
    assert!(dbg["calls"]
        .as_array()
        .unwrap()
        .iter()
        .any(|x| x["tool"] == "sleep_ms" && x["calls"] == json!(1)));
    c.cancel().await.unwrap();
    assert!(server.try_wait().unwrap().is_none(), "server still running");
}

#[tokio::test]
async fn non_loopback_bind_without_token_is_refused_with_exit_2() {
    let out = Command::new(BIN)
        .args(["--root", ORIN, "mcp-serve", "--http", "0.0.0.0:7400"])
        .env_remove("JETSTRESS_MCP_TOKEN")
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with("error: refusing to serve MCP on non-loopback address 0.0.0.0:7400"),
        "{err}"
    );
    assert!(out.stdout.is_empty());
    let empty = Command::new(BIN)
        .args(["--root", ORIN, "mcp-serve", "--http", "0.0.0.0:7400"])
        .env("JETSTRESS_MCP_TOKEN", "  ")
        .output()
        .await
        .unwrap();
    assert_eq!(empty.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&empty.stderr).contains("token is empty"));
}

#[tokio::test]
async fn stdio_keeps_serving_when_a_probe_fails_and_names_the_failure() {
    // An empty root: no proc/meminfo, no sysfs. The memory probe fails every tick.
    let dir = tempfile::tempdir().unwrap();
    let c = stdio_client(dir.path().to_str().unwrap()).await;
    let (text, m) = structured(&c, "memory_status", json!({})).await;
    let errors = m["probe_errors"].as_array().unwrap();
    assert!(errors.iter().any(|e| e["probe"] == "memory"), "{m}");
    assert!(text.contains("probe memory failed"), "{text}");
    assert_eq!(m["total_mb"], Value::Null);
    let (_, d) = structured(&c, "system_diagnosis", json!({})).await;
    let findings = d["findings"].as_array().unwrap();
    assert!(findings
        .iter()
        .any(|f| f["area"] == "probe" && f["subject"] == "memory" && f["severity"] == "warn"));
    let (_, t) = structured(&c, "thermal_status", json!({})).await;
    assert_eq!(t["zones"], json!([]));
    let (text, _) = structured(&c, "echo", json!({"message": "alive"})).await;
    assert_eq!(text, "alive");
    c.cancel().await.unwrap();
}

/// One raw JSON-RPC exchange per line over the server's stdio.
async fn raw_initialize(version: &str) -> (Child, Value) {
    let mut child = server_cmd(ORIN)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let init = json!({"jsonrpc":"2.0","id":1,"method":"initialize","params":{
        "protocolVersion": version,"capabilities":{},"clientInfo":{"name":"raw","version":"0"}}});
    let list = json!({"jsonrpc":"2.0","id":2,"method":"tools/list"});
    let echo = json!({"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"echo","arguments":{"message":"v"}}});
    let initialized = json!({"jsonrpc":"2.0","method":"notifications/initialized"});
    stdin
        .write_all(format!("{init}\n{initialized}\n{list}\n{echo}\n").as_bytes())
        .await
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut answers = HashMap::new();
    while answers.len() < 3 {
        let line = tokio::time::timeout(TIMEOUT, out.next_line())
            .await
            .unwrap()
            .unwrap()
            .expect("an answer");
        let v: Value = serde_json::from_str(&line).expect("stdout carries only JSON-RPC");
        answers.insert(v["id"].as_u64().unwrap(), v);
    }
    drop(stdin);
    let summary = json!({
        "version": answers[&1]["result"]["protocolVersion"],
        "tools": answers[&2]["result"]["tools"].as_array().map(Vec::len),
        "echo": answers[&3]["result"]["structuredContent"]["message"],
    });
    (child, summary)
}

#[tokio::test]
async fn stdio_negotiates_older_and_unknown_protocol_versions() {
    for (asked, expect) in [
        ("2025-11-25", "2025-11-25"),
        ("2025-06-18", "2025-06-18"),
        ("2024-11-05", "2024-11-05"),
    ] {
        let (mut child, s) = raw_initialize(asked).await;
        assert_eq!(s["version"], json!(expect), "asked {asked}: {s}");
        assert_eq!(s["tools"], json!(ALL_TOOLS.len()), "{s}");
        assert_eq!(s["echo"], json!("v"), "{s}");
        let status = tokio::time::timeout(TIMEOUT, child.wait())
            .await
            .unwrap()
            .unwrap();
        assert!(status.success());
    }
    // A version the server does not know: it answers with one it supports.
    let (mut child, s) = raw_initialize("1999-01-01").await;
    let v = s["version"].as_str().unwrap().to_string();
    assert!(v.as_str() >= "2024-11-05", "{s}");
    assert_eq!(s["echo"], json!("v"));
    let _ = tokio::time::timeout(TIMEOUT, child.wait()).await;
}
