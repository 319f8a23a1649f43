//! Invalid inputs inside load (`invalid_pct`): against the fault server's
//! `strict` tool (validates: every invalid call graceful) and `lax` tool
//! (never validates: every invalid call accepted), per mix row; against the
//! built-in server in a users phase (every one graceful, Little's law still
//! holds). The valid calls' tables stay clean in both, and bad values of
//! `invalid_pct` are refused naming the file and line or the flag.

use std::process::Command;

use serde_json::Value;

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_jetstress"));
    c.current_dir(env!("CARGO_MANIFEST_DIR"));
    c
}

fn run_scenario(toml: &str) -> (Option<i32>, String, Value) {
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("invalid.toml");
    let json = dir.path().join("run.json");
    std::fs::write(&scenario, toml).unwrap();
    let out = bin()
        .args(["run", "--scenario"])
        .arg(&scenario)
        .arg("--json")
        .arg(&json)
        .arg("--log-dir")
        .arg(dir.path())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    let v = std::fs::read_to_string(&json)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or(Value::Null);
    (out.status.code(), err, v)
}

fn tool<'a>(rows: &'a Value, name: &str) -> &'a Value {
    rows.as_array()
        .unwrap()
        .iter()
        .find(|t| t["tool"] == name)
        .unwrap_or_else(|| panic!("no row for {name} in {rows}"))
}

fn n(v: &Value) -> u64 {
    v.as_u64().unwrap_or_else(|| panic!("not a count: {v}"))
}

#[test]
fn strict_answers_every_invalid_call_gracefully_and_lax_accepts_them() {
    let (code, err, v) = run_scenario(
        r#"
name = "invalid"
seed = 7
[[targets]]
name = "f"
cmd = ["python3", "tests/fault-server/fault_server.py", "--flawed"]
[[mix]]
tool = "f:strict"
args = { n = 5 }
invalid_pct = 50
[[mix]]
tool = "f:lax"
args = { n = 5 }
invalid_pct = 50
[[phases]]
kind = "custom"
stages = [{ rate = 100, duration = "3s" }]
"#,
    );
    // Accepted invalid calls are a finding, not a failure of the run.
    assert_eq!(code, Some(0), "{err}");
    let p = &v["phases"][0];
    let inv = &p["invalid"];
    let strict = tool(&inv["tools"], "f:strict");
    let lax = tool(&inv["tools"], "f:lax");
    assert!(n(&strict["sent"]) > 20, "{inv}");
    assert_eq!(strict["graceful"], strict["sent"], "{strict}");
    assert!(n(&lax["sent"]) > 20, "{inv}");
    assert_eq!(lax["accepted"], lax["sent"], "{lax}");
    assert_eq!(n(&inv["hang"]) + n(&inv["crash"]), 0, "{inv}");
    assert_eq!(
        n(&inv["sent"]),
        n(&strict["sent"]) + n(&lax["sent"]),
        "{inv}"
    );
    // The valid calls are counted without them, and none failed.
    let st = &p["stages"][0];
    let valid = n(&st["all"]["count"]);
    assert_eq!(n(&st["all"]["errors"]), 0, "{st}");
    assert_eq!(valid + n(&inv["sent"]), n(&st["scheduled"]), "{st}");
    // About half of each tool's calls were invalid (binomial, n ≈ 150 per tool).
    for name in ["f:strict", "f:lax"] {
        let valid = n(&tool(&st["tools"], name)["count"]) as f64;
        let bad = n(&tool(&inv["tools"], name)["sent"]) as f64;
        let share = bad / (bad + valid);
        assert!((0.35..0.65).contains(&share), "{name}: {share}");
    }
    assert!(inv["probes"].as_u64().unwrap() > 0);
    assert!(inv["error_reply_ms"]["p95"].as_f64().unwrap() > 0.0);
    let c = v["criteria"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "invalid_inputs")
        .expect("invalid_inputs criterion");
    assert_eq!(c["verdict"], "pass", "{c}");
    assert!(err.contains("invalid inputs:"), "{err}");
}

#[test]
fn users_phase_against_the_builtin_server_keeps_valid_calls_clean() {
    let out_dir = tempfile::tempdir().unwrap();
    let json = out_dir.path().join("run.json");
    let out = bin()
        .args([
            "run",
            "--phase",
            "users",
            "--users",
            "4",
            "--think",
            "100ms",
            "--duration",
            "5s",
            "--invalid-pct",
            "25",
            "--seed",
            "3",
            "--json",
        ])
        .arg(&json)
        .arg("--log-dir")
        .arg(out_dir.path())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let p = &v["phases"][0];
    let inv = &p["invalid"];
    assert!(n(&inv["sent"]) > 20, "{inv}");
    assert_eq!(inv["graceful"], inv["sent"], "{inv}");
    let st = &p["stages"][0];
    assert_eq!(n(&st["all"]["errors"]), 0, "{st}");
    // Users spend their time on invalid calls too: Little's law counts them.
    assert_eq!(st["little"]["holds"], true, "{}", st["little"]);
}

#[test]
fn bad_invalid_pct_is_refused_naming_where() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("bad.toml");
    std::fs::write(
        &f,
        "name = \"x\"\n[[mix]]\ntool = \"echo\"\ninvalid_pct = 150\n[[phases]]\nkind = \"soak\"\n",
    )
    .unwrap();
    let out = bin().args(["run", "--scenario"]).arg(&f).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(
        e.contains("bad.toml:2") && e.contains("mix[0].invalid_pct"),
        "{e}"
    );

    std::fs::write(
        &f,
        "name = \"x\"\n[[http]]\nname = \"web\"\nurl = \"http://127.0.0.1:9/\"\n[[mix]]\ntool = \"web\"\ninvalid_pct = 10\n[[phases]]\nkind = \"soak\"\nduration = \"1s\"\n",
    )
    .unwrap();
    let out = bin().args(["run", "--scenario"]).arg(&f).output().unwrap();
    assert_ne!(out.status.code(), Some(0));
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(e.contains("invalid_pct applies to MCP tools"), "{e}");

    let out = bin()
        .args(["run", "--phase", "soak", "--invalid-pct", "200"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--invalid-pct"));
}
