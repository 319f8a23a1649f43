//! Interop: `jetstress mcp-serve` driven by the official TypeScript MCP SDK
//! client (pinned in tests/mcp-servers/package.json, run by
//! tests/mcp-servers/interop-client.mjs) over stdio and loopback HTTP. The SDK
//! validates every structuredContent against the tool's outputSchema, so a
//! schema drift fails here. Needs `node` and `cd tests/mcp-servers && npm ci`
//! (as .ci/run does).

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_jetstress");
const ORIN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/orin-agx-r36");
const SERVERS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/mcp-servers");

fn sdk_ready() {
    assert!(
        Path::new(SERVERS)
            .join("node_modules/@modelcontextprotocol/sdk/package.json")
            .is_file(),
        "the TypeScript SDK is not installed: run `cd tests/mcp-servers && npm ci`"
    );
}

async fn run_client(args: &[&str]) -> Value {
    sdk_ready();
    let out = tokio::time::timeout(
        Duration::from_secs(40),
        Command::new("node")
            .arg("interop-client.mjs")
            .args(args)
            .current_dir(SERVERS)
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("node client finished in time")
    .expect("node is installed");
    assert!(
        out.status.success(),
        "interop client failed: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    let line = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(line.trim()).unwrap_or_else(|e| panic!("bad client output ({e}): {line}"))
}

fn check(out: &Value) {
    let names = json!([
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
        "sleep_ms"
    ]);
    assert_eq!(out["tools"], names);
    assert_eq!(out["withOutputSchema"], names);
    assert_eq!(out["server"]["name"], json!("jetstress"));
    let calls = &out["calls"];
    for (name, c) in calls.as_object().unwrap() {
        assert_eq!(c["isError"], json!(false), "{name}: {c}");
        assert!(c["structured"].is_object(), "{name}: {c}");
    }
    assert_eq!(
        calls["thermal_status"]["structured"]["hottest_temp_c"],
        json!(47.687)
    );
    assert_eq!(calls["board_info"]["structured"]["soc"], json!("tegra234"));
    assert_eq!(
        calls["system_diagnosis"]["structured"]["severity"],
        json!("critical")
    );
    assert_eq!(calls["echo"]["text"], json!("from typescript"));
    assert_eq!(calls["sleep_ms"]["structured"]["slept_ms"], json!(5));
    assert_eq!(out["badArgs"]["code"], json!(-32602), "{}", out["badArgs"]);
}

#[tokio::test]
async fn typescript_sdk_client_over_stdio() {
    let out = run_client(&["stdio", BIN, ORIN]).await;
    check(&out);
}

#[tokio::test]
async fn typescript_sdk_client_over_http_with_token() {
    let token = "interop-token";
    let mut server = Command::new(BIN)
        .args([
            "--root",
            ORIN,
            "--interval",
            "100ms",
            "mcp-serve",
            "--http",
            "127.0.0.1:0",
        ])
        .env("JETSTRESS_MCP_TOKEN", token)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(server.stderr.take().unwrap()).lines();
    let url = tokio::time::timeout(Duration::from_secs(20), async {
        while let Some(l) = lines.next_line().await.unwrap() {
            if let Some(u) = l.split("listening on ").nth(1) {
                return u.trim().to_string();
            }
        }
        panic!("server exited before listening");
    })
    .await
    .unwrap();
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    let out = run_client(&["http", &url, token]).await;
    check(&out);
    assert_eq!(out["protocolVersion"], json!("2025-11-25"));
    assert!(server.try_wait().unwrap().is_none(), "server still serving");
}
