//! Prometheus export scraped over real HTTP and parsed by a real parser
//! (`prometheus-parse`): values match the snapshot they came from; a token, when
//! set, is enforced; the dashboard binary serves it too.

use std::path::Path;
use std::sync::Arc;

use jetstress::export::{serve_metrics as serve, Metrics};
use jetstress::probes::{Prober, Root};
use prometheus_parse::{Scrape, Value};

fn fixture(name: &str) -> Root {
    Root::new(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(name),
    )
}

/// A one-window summary made by the engine's own statistics, as a load
/// window carries it: `count` requests of `p50_ms` each, the first `errors` of
/// them timeouts.
fn window(tool: &str, count: u64, errors: u64, p50_ms: f64) -> jetstress::load::ToolSummary {
    use jetstress::load::{ErrorKind, StatsTable};
    let mut table = StatsTable::new(1);
    let d = std::time::Duration::from_secs_f64(p50_ms / 1000.0);
    for i in 0..count {
        table.tools[0].record(d, d, (i < errors).then_some(ErrorKind::Timeout));
    }
    table
        .summaries_with_buckets(&[tool.to_string()], 1.0)
        .remove(0)
}

fn parse(text: &str) -> Scrape {
    let lines = text.lines().map(|l| Ok(l.to_string()));
    Scrape::parse(lines).expect("valid exposition text")
}

fn gauge(scrape: &Scrape, name: &str, label: (&str, &str)) -> f64 {
    scrape
        .samples
        .iter()
        .find(|s| {
            s.metric == name && (label.0.is_empty() || s.labels.get(label.0) == Some(label.1))
        })
        .map_or_else(
            || panic!("{name}{{{}={}}} missing", label.0, label.1),
            |s| match s.value {
                Value::Gauge(v) | Value::Untyped(v) | Value::Counter(v) => v,
                _ => panic!("{name} is not a gauge"),
            },
        )
}

#[tokio::test]
async fn scraped_values_match_the_snapshot() {
    let mut p = Prober::new(fixture("orin-agx-r36"), Vec::new());
    let snap = p.sample();
    let m = Arc::new(Metrics::new());
    m.update(&snap);
    m.add_window(&window("built-in:echo", 2, 1, 4.0));
    m.set_phase(Some("spike"), Some(15.0));
    m.set_users(Some((7, 12)));
    let mut inv = jetstress::load::InvalidCounts::default();
    for o in [
        jetstress::load::InvalidOutcome::Graceful,
        jetstress::load::InvalidOutcome::Graceful,
        jetstress::load::InvalidOutcome::Crash,
    ] {
        inv.add(o);
    }
    m.add_invalid(&inv);
    m.add_invalid(&inv);
    // An LLM tool's window: 2 streams of 16 tokens, first token at 200 ms.
    let mut table = jetstress::load::StatsTable::new(1);
    let sample = jetstress::load::LlmSample {
        first_token: std::time::Duration::from_millis(200),
        last_token: std::time::Duration::from_millis(500),
        gaps_us: vec![20_000; 15],
        output_tokens: 16,
        prompt_tokens: Some(9),
        source: jetstress::load::TokenSource::Usage,
        mismatch: false,
        streamed: true,
    };
    for _ in 0..2 {
        let d = std::time::Duration::from_millis(500);
        table.tools[0].record(d, d, None);
        table.llm_mut(0).unwrap().record(
            &sample,
            std::time::Duration::ZERO,
            &jetstress::load::Slo::default(),
        );
    }
    m.add_window(&table.summaries_with_buckets(&["chat".to_string()], 1.0)[0]);
    let (addr, task) = serve("127.0.0.1:0".parse().unwrap(), None, m.clone())
        .await
        .unwrap();
    let body = reqwest::get(format!("http://{addr}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let s = parse(&body);
    let cpu = snap
        .thermal
        .iter()
        .find(|z| z.name == "cpu-thermal")
        .unwrap();
    assert_eq!(
        gauge(
            &s,
            "jetstress_zone_temperature_celsius",
            ("zone", "cpu-thermal")
        ),
        cpu.temp_c.unwrap()
    );
    assert_eq!(
        gauge(&s, "jetstress_zone_online", ("zone", "cv0-thermal")),
        0.0
    );
    assert!(gauge(
        &s,
        "jetstress_zone_temperature_celsius",
        ("zone", "cv0-thermal")
    )
    .is_nan());
    assert_eq!(gauge(&s, "jetstress_throttled", ("", "")), 1.0);
    let total_w = snap.power.total_mw.unwrap() / 1000.0;
    assert!((gauge(&s, "jetstress_power_total_watts", ("", "")) - total_w).abs() < 1e-9);
    assert_eq!(gauge(&s, "jetstress_fan_rpm", ("name", "pwmfan")), 2900.0);
    assert_eq!(gauge(&s, "jetstress_phase_active", ("phase", "spike")), 1.0);
    assert_eq!(gauge(&s, "jetstress_users_active", ("", "")), 7.0);
    assert_eq!(gauge(&s, "jetstress_users_target", ("", "")), 12.0);
    assert_eq!(
        gauge(&s, "jetstress_llm_output_tokens_total", ("tool", "chat")),
        32.0
    );
    let ttft = s
        .samples
        .iter()
        .find(|x| {
            x.metric == "jetstress_llm_ttft_seconds"
                && x.labels.get("quantile") == Some("0.5")
                && x.labels.get("tool") == Some("chat")
        })
        .expect("llm ttft p50");
    match ttft.value {
        Value::Gauge(v) => assert!((v - 0.2).abs() < 0.002, "{v}"),
        ref other => panic!("{other:?}"),
    }
    // Counters grow by each window's invalid calls.
    assert_eq!(
        gauge(
            &s,
            "jetstress_invalid_requests_total",
            ("outcome", "graceful")
        ),
        4.0
    );
    assert_eq!(
        gauge(&s, "jetstress_invalid_requests_total", ("outcome", "crash")),
        2.0
    );
    assert_eq!(
        gauge(&s, "jetstress_invalid_requests_total", ("outcome", "hang")),
        0.0
    );
    let count = s
        .samples
        .iter()
        .find(|x| {
            x.metric.starts_with("jetstress_requests")
                && x.labels.get("tool") == Some("built-in:echo")
        })
        .expect("request counter");
    assert!(
        matches!(count.value, Value::Counter(2.0) | Value::Untyped(2.0)),
        "{:?}",
        count.value
    );
    assert!(
        s.samples
            .iter()
            .any(|x| x.metric.starts_with("jetstress_request_latency_seconds")),
        "latency quantiles present"
    );
    // The cumulative histogram: both 4 ms requests in every bucket from 5 ms up.
    let hist = s
        .samples
        .iter()
        .find(|x| {
            x.metric == "jetstress_request_duration_seconds"
                && x.labels.get("tool") == Some("built-in:echo")
        })
        .expect("duration histogram");
    let Value::Histogram(buckets) = &hist.value else {
        panic!("not a histogram: {:?}", hist.value)
    };
    let le = |b: f64| {
        buckets
            .iter()
            .find(|h| h.less_than == b)
            .unwrap_or_else(|| panic!("bucket {b} in {buckets:?}"))
            .count
    };
    assert_eq!(le(0.0025), 0.0, "{buckets:?}");
    assert_eq!(le(0.005), 2.0, "{buckets:?}");
    assert_eq!(le(f64::INFINITY), 2.0, "{buckets:?}");
    task.abort();
}

#[tokio::test]
async fn a_token_is_enforced() {
    let m = Arc::new(Metrics::new());
    let (addr, task) = serve("127.0.0.1:0".parse().unwrap(), Some("s3cret".into()), m)
        .await
        .unwrap();
    let url = format!("http://{addr}/metrics");
    let c = reqwest::Client::new();
    assert_eq!(c.get(&url).send().await.unwrap().status(), 401);
    assert_eq!(
        c.get(&url)
            .bearer_auth("wrong")
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    let ok = c.get(&url).bearer_auth("s3cret").send().await.unwrap();
    assert_eq!(ok.status(), 200);
    parse(&ok.text().await.unwrap());
    task.abort();
}

#[test]
fn the_dashboard_refuses_a_lan_address_without_a_token() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_jetstress"))
        .args(["--metrics", "0.0.0.0:9464"])
        .env_remove("JETSTRESS_METRICS_TOKEN")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8(out.stderr)
        .unwrap()
        .contains("--metrics-token"));
}

#[test]
fn the_grafana_dashboard_only_uses_metrics_we_export() {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("contrib/grafana/jetstress-fleet.json"),
    )
    .unwrap();
    let dash: serde_json::Value = serde_json::from_str(&text).unwrap();
    // Every family populated once, as a running dashboard with load would.
    let m = Metrics::new();
    let own = jetstress::probes::Watch::Pid(std::process::id());
    m.update(&Prober::new(fixture("orin-agx-r36"), vec![own.clone()]).sample());
    m.update(&Prober::new(Root::new("/"), vec![own]).sample());
    m.add_window(&window("t:x", 3, 1, 10.0));
    m.set_phase(Some("soak"), Some(5.0));
    m.update_predictions(&[jetstress::predict::ZonePrediction {
        zone: "cpu-thermal".into(),
        eta_s: Some(300.0),
        lo_s: None,
        hi_s: None,
        model: jetstress::predict::Model::Linear,
        t_inf_c: None,
        status: jetstress::predict::Status::Ok,
        trip_c: 99.0,
        temp_c: 90.0,
        slope_c_per_min: 1.8,
        message: String::new(),
    }]);
    let exported = m.encode();
    let mut checked = 0;
    for panel in dash["panels"].as_array().unwrap() {
        for t in panel["targets"].as_array().unwrap() {
            let expr = t["expr"].as_str().unwrap();
            for word in expr.split(|c: char| !(c.is_alphanumeric() || c == '_')) {
                if let Some(name) = word.strip_prefix("jetstress_") {
                    let base = name.trim_end_matches("_bucket").trim_end_matches("_total");
                    assert!(
                        exported.contains(&format!("# TYPE jetstress_{base} ")),
                        "{word} is not exported"
                    );
                    checked += 1;
                }
            }
        }
    }
    assert!(checked >= 10);
}

#[test]
fn the_planned_eta_is_one_series_while_a_phase_runs() {
    let m = Metrics::new();
    let zone = |name: &str, eta_s: Option<f64>, status| jetstress::predict::ZonePrediction {
        zone: name.into(),
        eta_s,
        lo_s: None,
        hi_s: None,
        model: jetstress::predict::Model::Linear,
        t_inf_c: None,
        status,
        trip_c: 99.0,
        temp_c: 90.0,
        slope_c_per_min: 1.8,
        message: String::new(),
    };
    let series = |text: &str| -> Vec<String> {
        text.lines()
            .filter(|l| l.starts_with("jetstress_throttle_eta_planned_seconds{"))
            .map(str::to_string)
            .collect()
    };
    use jetstress::predict::Status;
    m.update_planned(Some(&zone("cpu-thermal", Some(120.0), Status::Ok)));
    assert_eq!(
        series(&m.encode()),
        ["jetstress_throttle_eta_planned_seconds{zone=\"cpu-thermal\",id=\"cpu-thermal\"} 120.0"]
    );
    // The plan's zone changes: the old series goes.
    m.update_planned(Some(&zone("gpu-thermal", None, Status::Ok)));
    let now = series(&m.encode());
    assert_eq!(now.len(), 1, "{now:?}");
    assert!(
        now[0].contains("gpu-thermal") && now[0].ends_with(" NaN"),
        "{now:?}"
    );
    // No phase runs: no series.
    m.update_planned(None);
    assert!(series(&m.encode()).is_empty());
}

#[tokio::test]
async fn a_headless_run_serves_request_counters_while_it_runs() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/xavier-nx-r32");
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_jetstress"))
        .arg("--root")
        .arg(&root)
        .args([
            "run",
            "--phase",
            "soak",
            "--rate",
            "20",
            "--duration",
            "8s",
            "--sessions",
            "2",
        ])
        .args(["--metrics", &format!("127.0.0.1:{port}")])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let url = format!("http://127.0.0.1:{port}/metrics");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let mut seen = None;
    while std::time::Instant::now() < deadline {
        if let Ok(r) = reqwest::get(&url).await {
            let body = r.text().await.unwrap_or_default();
            let s = parse(&body);
            let count: f64 = s
                .samples
                .iter()
                .filter(|x| {
                    x.metric.starts_with("jetstress_requests")
                        && x.labels
                            .get("tool")
                            .is_some_and(|t| t.starts_with("built-in:"))
                })
                .map(|x| match x.value {
                    Value::Counter(v) | Value::Untyped(v) => v,
                    _ => 0.0,
                })
                .sum();
            if count > 0.0 {
                assert_eq!(gauge(&s, "jetstress_phase_active", ("phase", "soak")), 1.0);
                seen = Some(count);
                break;
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert!(
        seen.is_some(),
        "request counters appeared on /metrics during the run"
    );
    let status = child.wait().await.unwrap();
    assert_eq!(status.code(), Some(0), "a clean short soak passes");
}

#[test]
fn watched_entries_export_rss_cpu_and_gpu_memory() {
    let mut snap = Prober::new(fixture("orin-agx-r36"), Vec::new()).sample();
    snap.watched = vec![
        jetstress::snapshot::WatchedProcess {
            pid: 4242,
            name: "node".into(),
            rss_mb: Some(51.0),
            alive: true,
            cpu_pct: Some(37.5),
            cgroup: None,
            gpu_mem_mb: Some(1228.8),
        },
        jetstress::snapshot::WatchedProcess {
            pid: jetstress::snapshot::CGROUP_KEY_BASE | 9,
            name: "docker-4f3c2a1b9e0d".into(),
            rss_mb: Some(700.0),
            alive: true,
            cpu_pct: None,
            cgroup: Some("system.slice/docker-4f3c.scope".into()),
            gpu_mem_mb: None,
        },
    ];
    let m = Metrics::new();
    m.update(&snap);
    let s = parse(&m.encode());
    let node = ("name", "node:4242");
    let cg = ("name", "docker-4f3c2a1b9e0d:cgroup");
    let w = &snap.watched;
    assert_eq!(
        gauge(&s, "jetstress_watched_rss_bytes", node),
        w[0].rss_mb.unwrap() * 1024.0 * 1024.0
    );
    assert_eq!(
        gauge(&s, "jetstress_watched_cpu_ratio", node),
        w[0].cpu_pct.unwrap() / 100.0
    );
    assert_eq!(
        gauge(&s, "jetstress_watched_rss_bytes", cg),
        w[1].rss_mb.unwrap() * 1024.0 * 1024.0
    );
    // No rate yet: NaN, not a made-up zero.
    assert!(gauge(&s, "jetstress_watched_cpu_ratio", cg).is_nan());
    // GPU memory where known; no series for an entry that never had any.
    assert_eq!(
        gauge(&s, "jetstress_watched_gpu_memory_bytes", node),
        w[0].gpu_mem_mb.unwrap() * 1024.0 * 1024.0
    );
    assert!(
        !s.samples
            .iter()
            .any(|x| x.metric == "jetstress_watched_gpu_memory_bytes"
                && x.labels.get("name") == Some(cg.1)),
        "a cgroup without GPU memory has no series"
    );
    // The process frees its GPU memory: NaN, not the last value.
    snap.watched[0].gpu_mem_mb = None;
    m.update(&snap);
    let s = parse(&m.encode());
    assert!(gauge(&s, "jetstress_watched_gpu_memory_bytes", node).is_nan());
}
