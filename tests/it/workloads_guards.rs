//! Guards on a fixture root whose temperatures and meminfo change during the
//! test: the real collector samples the tree, the guards read its stream and
//! stop the engine's load.

use std::path::{Path, PathBuf};
use std::time::Duration;

use jetstress::collector;
use jetstress::load::CpuSpec;
use jetstress::load::PhaseSpec;
use jetstress::load::{spawn_guards, GuardConfig};
use jetstress::load::{Command, Engine, EngineConfig, EngineEvent, MixEntry};
use jetstress::load::{Endpoint, McpTargetSpec};
use jetstress::load::{MemoryPressure, MemorySpec};
use jetstress::probes::{Prober, Root};

fn fixture_copy(board: &str) -> tempfile::TempDir {
    let src = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(board);
    let dir = tempfile::tempdir().unwrap();
    let ok = std::process::Command::new("cp")
        .arg("-a")
        .arg(format!("{}/.", src.display()))
        .arg(dir.path())
        .status()
        .unwrap();
    assert!(ok.success());
    dir
}

/// Rewrite `MemAvailable` (kB) in place, keeping the other lines.
fn set_mem_available(root: &Path, kb: u64) {
    let p = root.join("proc/meminfo");
    let text = std::fs::read_to_string(&p).unwrap();
    let out: String = text
        .lines()
        .map(|l| {
            if l.starts_with("MemAvailable:") {
                format!("MemAvailable:   {kb} kB\n")
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    std::fs::write(&p, out).unwrap();
}

fn mem_total_kb(root: &Path) -> u64 {
    let text = std::fs::read_to_string(root.join("proc/meminfo")).unwrap();
    let l = text.lines().find(|l| l.starts_with("MemTotal:")).unwrap();
    l.split_whitespace().nth(1).unwrap().parse().unwrap()
}

async fn next_guard(
    ev: &mut tokio::sync::broadcast::Receiver<EngineEvent>,
) -> jetstress::load::GuardEvent {
    loop {
        match tokio::time::timeout(Duration::from_secs(5), ev.recv())
            .await
            .expect("a guard event")
        {
            Ok(EngineEvent::Guard(g)) => return g,
            Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
            Err(e) => panic!("{e}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thermal_guard_stops_all_load_and_memory_floor_releases() {
    let root = fixture_copy("orin-agx-r36");
    let col = collector::spawn(
        Prober::new(Root::new(root.path()), vec![]),
        Duration::from_millis(100),
    );
    let logs = tempfile::tempdir().unwrap();
    let fault =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fault-server/fault_server.py");
    let config = EngineConfig {
        mcp_targets: vec![McpTargetSpec {
            name: Some("fault".into()),
            endpoint: Endpoint::Stdio {
                program: "python3".into(),
                args: vec![fault.display().to_string()],
                env: vec![],
            },
            sessions: 1,
        }],
        mix: vec![MixEntry {
            tool: "fault:delay".into(),
            weight: 1.0,
            args: None,
            invalid_pct: None,
        }],
        log_dir: logs.path().into(),
        root: Root::new(root.path()),
        snapshots: Some(col.latest()),
        collector: Some(col.commands()),
        ..Default::default()
    };
    let engine = Engine::spawn(config).await.unwrap();
    let _guards = spawn_guards(
        col.subscribe(),
        engine.commands.clone(),
        GuardConfig::default(),
    );
    let mut ev = engine.events();
    engine
        .send(Command::StartCpu(CpuSpec {
            threads: 1,
            duty_pct: 10.0,
        }))
        .await;
    engine
        .send(Command::StartPhase(PhaseSpec::custom(
            &[(20.0, Duration::from_secs(60))],
            false,
        )))
        .await;
    tokio::time::sleep(Duration::from_millis(400)).await;

    // cpu-thermal: passive trip 99 °C, critical 104.5 °C; 94.2 °C is within the
    // 5 °C throttle margin but not the 10 °C critical one.
    std::fs::write(
        root.path().join("sys/class/thermal/thermal_zone0/temp"),
        "94200\n",
    )
    .unwrap();
    let g = next_guard(&mut ev).await;
    assert_eq!(g.guard, "thermal");
    assert_eq!(g.action, "stop_all");
    assert!(g.message.contains("cpu-thermal"), "{}", g.message);
    assert!(g.time_unix_ms > 0);
    let s = engine.summary().await.unwrap();
    assert!(
        s.phases[0].status.starts_with("guard thermal"),
        "{}",
        s.phases[0].status
    );
    assert!(
        s.generators
            .iter()
            .any(|x| x.generator == "cpu" && x.state == "stopped"),
        "{:?}",
        s.generators
    );
    assert_eq!(s.guard_events.len(), 1);

    // Cool down; the user restarts load, then memory crosses the floor.
    std::fs::write(
        root.path().join("sys/class/thermal/thermal_zone0/temp"),
        "45000\n",
    )
    .unwrap();
    engine
        .send(Command::StartMemory(MemorySpec {
            target_mb: 8.0,
            rate_mb_s: 64.0,
        }))
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let total = mem_total_kb(root.path());
    set_mem_available(root.path(), total / 20);
    let g = next_guard(&mut ev).await;
    assert_eq!(g.guard, "memory_floor");
    assert_eq!(g.action, "release_memory");
    let s = engine.summary().await.unwrap();
    let mem = s
        .generators
        .iter()
        .find(|x| x.generator == "memory")
        .unwrap();
    assert_eq!(mem.state, "stopped");
    assert!(mem.detail.contains("released"), "{mem:?}");
    assert_eq!(s.guard_events.len(), 2);
    engine.shutdown().await;
    col.stop();
}

#[test]
fn memory_pressure_stops_growing_at_the_floor() {
    let root = fixture_copy("orin-agx-r36");
    let total = mem_total_kb(root.path());
    // 14 % available: already under the 15 % floor.
    set_mem_available(root.path(), total * 14 / 100);
    let m = MemoryPressure::start(
        MemorySpec {
            target_mb: 64.0,
            rate_mb_s: 1000.0,
        },
        Root::new(root.path()),
        15.0,
    );
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(m.held_mb(), 0);
    assert!(m.floor_hit.load(std::sync::atomic::Ordering::Relaxed));
    m.stop();
    // Plenty available: grows to the target, releases on stop.
    set_mem_available(root.path(), total * 90 / 100);
    let m = MemoryPressure::start(
        MemorySpec {
            target_mb: 16.0,
            rate_mb_s: 1000.0,
        },
        Root::new(root.path()),
        15.0,
    );
    for _ in 0..100 {
        if m.held_mb() == 16 {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(m.held_mb(), 16);
    m.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn background_loads_start_stop_and_gpu_reports_unavailable_without_cuda() {
    let logs = tempfile::tempdir().unwrap();
    let config = EngineConfig {
        log_dir: logs.path().into(),
        ..Default::default()
    };
    let engine = Engine::spawn(config).await.unwrap();
    engine
        .send(Command::StartCpu(CpuSpec {
            threads: 2,
            duty_pct: 20.0,
        }))
        .await;
    engine
        .send(Command::StartGpu(jetstress::load::GpuSpec {
            size: 256,
            duty_pct: 10.0,
            device: 0,
            per_s: None,
        }))
        .await;
    let s = engine.summary().await.unwrap();
    let cpu = s.generators.iter().find(|g| g.generator == "cpu").unwrap();
    assert_eq!(
        (cpu.state.as_str(), cpu.detail.as_str()),
        ("started", "2 threads at 20%")
    );
    let gpu = s.generators.iter().find(|g| g.generator == "gpu").unwrap();
    if jetstress::load::cuda_present() {
        assert!(
            gpu.state == "started" || gpu.state == "unavailable",
            "{gpu:?}"
        );
    } else {
        assert_eq!(gpu.state, "unavailable");
        assert!(gpu.detail.contains("CUDA"), "{gpu:?}");
    }
    engine.send(Command::StopCpu).await;
    let s = engine.summary().await.unwrap();
    assert_eq!(
        s.generators
            .iter()
            .find(|g| g.generator == "cpu")
            .unwrap()
            .state,
        "stopped"
    );
    engine.shutdown().await;
}
