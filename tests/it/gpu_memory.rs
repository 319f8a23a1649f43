//! Watched entries' GPU memory: a Jetson fixture's nvmap iovmm clients file
//! read through `Prober` under `--root` (a temp copy that lists this test
//! process), a cgroup summing its processes, the readable `probe` summary,
//! and this machine, which has neither NVML nor nvmap: the field stays
//! empty and nothing is reported.

use std::path::Path;
use std::process::Command;

use jetstress::probes::{
    parse_iovmm_clients, resolve_container, GpuMemSource, Prober, Root, Watch, IOVMM_CLIENTS,
};

use super::common::{copy_tree, fixture_dir};

/// A client row as the kernel prints it (`%-18s %18s %8u %10lluK`).
fn row(process: &str, pid: u32, kib: u64) -> String {
    format!("{:<18} {:>18} {:>8} {:>10}K\n", "user", process, pid, kib)
}

/// A private copy of `board` whose clients file has `rows` added before its
/// `total` line; the root and the file's path.
fn board_with_clients(board: &str, rows: &str) -> (tempfile::TempDir, Root) {
    let tmp = tempfile::tempdir().unwrap();
    copy_tree(&fixture_dir(board), tmp.path());
    let root = Root::new(tmp.path());
    set_clients(&root, rows);
    (tmp, root)
}

fn set_clients(root: &Root, rows: &str) {
    let path = root.path(IOVMM_CLIENTS);
    let orin = fixture_dir("orin-agx-r36").join(IOVMM_CLIENTS);
    let base = std::fs::read_to_string(orin).unwrap();
    let (head, total) = base.split_at(base.find("total").unwrap());
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, format!("{head}{rows}{total}")).unwrap();
}

#[test]
fn the_orin_fixture_lists_real_looking_clients() {
    let text = std::fs::read_to_string(fixture_dir("orin-agx-r36").join(IOVMM_CLIENTS)).unwrap();
    let c = parse_iovmm_clients(&text).unwrap();
    let server: u64 = c
        .clients
        .iter()
        .filter(|r| r.pid == 3561)
        .map(|r| r.bytes)
        .sum();
    assert_eq!(
        server,
        (917_504 + 65_536) * 1024,
        "two clients, one process"
    );
    let sum: u64 = c.clients.iter().map(|r| r.bytes).sum();
    let total = c.total_bytes.unwrap();
    // Shared buffers are divided among clients; the total counts them once,
    // and it is part of meminfo's NvMapMemUsed (1843200 kB).
    assert!(sum <= total && total <= 1_843_200 * 1024, "{sum} {total}");
}

#[test]
fn a_watched_pid_in_the_nvmap_clients_gets_its_gpu_memory() {
    let me = std::process::id();
    // Two clients of this process (CUDA opens nvmap more than once).
    let (_tmp, root) = board_with_clients(
        "orin-agx-r36",
        &(row("it-7f3a", me, 98_304) + &row("it-7f3a", me, 32_768)),
    );
    let mut p = Prober::new(root.clone(), vec![Watch::Pid(me)]);
    let s = p.sample();
    assert_eq!(s.watched.len(), 1, "{:?}", s.watched);
    let w = &s.watched[0];
    assert_eq!(w.pid, me);
    assert!(w.rss_mb.is_some(), "RSS from the host's /proc: {w:?}");
    assert_eq!(w.gpu_mem_mb, Some((98_304.0 + 32_768.0) / 1024.0));
    assert_eq!(p.gpu_mem_source(), GpuMemSource::Nvmap);
    assert!(s.probe_errors.is_empty(), "{:?}", s.probe_errors);

    // It grows by 64 MiB: the next sample reads the file again.
    set_clients(&root, &row("it-7f3a", me, 98_304 + 65_536));
    let s = p.sample();
    assert_eq!(s.watched[0].gpu_mem_mb, Some(160.0));

    // Its last client goes: not a GPU client any more.
    set_clients(&root, "");
    let s = p.sample();
    assert_eq!(s.watched[0].gpu_mem_mb, None);
    assert_eq!(p.gpu_mem_source(), GpuMemSource::Nvmap);

    // A broken file: the field is empty and the reason is told once.
    std::fs::write(
        root.path(IOVMM_CLIENTS),
        format!("CLIENT PROCESS PID SIZE\n{}user x {me}\n", row("it", me, 4)),
    )
    .unwrap();
    let s = p.sample();
    assert_eq!(s.watched[0].gpu_mem_mb, None);
    let e: Vec<_> = s.probe_errors.iter().filter(|e| e.probe == "gpu").collect();
    assert_eq!(e.len(), 1, "{:?}", s.probe_errors);
    assert!(
        e[0].message.contains(&format!("line 3 `user x {me}`")),
        "{}",
        e[0].message
    );
    let s = p.sample();
    assert!(s.probe_errors.is_empty(), "once: {:?}", s.probe_errors);
    assert_eq!(s.watched.len(), 1, "the snapshot is whole");
}

#[test]
fn a_watched_cgroup_sums_the_gpu_memory_of_its_processes() {
    // The llama-server container's cgroup.procs holds 2314, 2377 and 2378.
    let (_tmp, root) = board_with_clients(
        "cgroup-v2",
        &(row("llama-server", 2314, 1_048_576)
            + &row("llama-server", 2377, 262_144)
            + &row("python3", 4100, 512)),
    );
    let llama = resolve_container(&root, "llama-server").unwrap();
    let triton = resolve_container(&root, "triton").unwrap();
    let procs =
        std::fs::read_to_string(root.path("sys/fs/cgroup").join(&llama).join("cgroup.procs"))
            .unwrap();
    assert!(procs.contains("2314") && procs.contains("2377"), "{procs}");
    let mut p = Prober::new(root, vec![Watch::Cgroup(llama), Watch::Cgroup(triton)]);
    let s = p.sample();
    assert_eq!(s.watched.len(), 2, "{:?}", s.watched);
    assert_eq!(s.watched[0].gpu_mem_mb, Some(1024.0 + 256.0));
    assert_eq!(
        s.watched[1].gpu_mem_mb, None,
        "no process of it is a client"
    );
}

#[test]
fn probe_text_shows_gpu_memory() {
    let mut child = Command::new("sleep").arg("30").spawn().unwrap();
    let pid = child.id();
    let (tmp, _root) = board_with_clients("orin-agx-r36", &row("sleep", pid, 1_258_291));
    let run = |json: bool| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_jetstress"));
        c.arg("--root").arg(tmp.path()).arg("probe");
        if json {
            c.arg("--json");
        }
        let out = c.args(["--watch-pid", &pid.to_string()]).output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let text = run(false);
    let json: serde_json::Value = serde_json::from_str(&run(true)).unwrap();
    child.kill().unwrap();
    let _ = child.wait();
    let line = text
        .lines()
        .find(|l| l.contains(&format!("(pid {pid})")))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(line.contains("GPU 1.2 GB"), "{line}");
    let mb = json["watched"][0]["gpu_mem_mb"].as_f64().unwrap();
    assert!((mb - 1_258_291.0 / 1024.0).abs() < 1e-9, "{mb}");
}

/// This machine: NVML is tried on the real root, and either is missing (no
/// library, no device) or does not list this process; nvmap needs a Jetson.
#[test]
fn without_a_gpu_source_gpu_memory_is_none_and_quiet() {
    let me = std::process::id();
    let mut p = Prober::new(Root::new("/"), vec![Watch::Pid(me)]);
    for _ in 0..3 {
        let s = p.sample();
        let w = s.watched.iter().find(|w| w.pid == me).unwrap();
        assert!(w.rss_mb.is_some());
        assert_eq!(w.gpu_mem_mb, None, "this process holds no GPU memory");
        assert!(
            s.probe_errors.iter().all(|e| e.probe != "gpu"),
            "{:?}",
            s.probe_errors
        );
        let json = serde_json::to_value(w).unwrap();
        assert!(json.get("gpu_mem_mb").is_none(), "left out when unknown");
    }
    if p.nvml_status != "NVML ready" && !Path::new("/").join(IOVMM_CLIENTS).exists() {
        assert_eq!(p.gpu_mem_source(), GpuMemSource::Unavailable);
        assert!(
            p.nvml_status.starts_with("no NVML GPU"),
            "{}",
            p.nvml_status
        );
    }
}

/// The dashboard: the memory pane's legend gives a watched entry's GPU
/// memory, and the predictions pane says it is the GPU memory that leaks
/// (1 MB every 10 s = 360 MB/h, from 180 s of samples) while RSS holds.
#[test]
fn the_dashboard_shows_gpu_memory_and_which_memory_leaks() {
    use jetstress::snapshot::WatchedProcess;
    use jetstress::ui::{App, ColorMode, KeyMap, Theme};
    use std::sync::Arc;

    let themes = Theme::load_all(None, ColorMode::TrueColor).unwrap();
    let mut app = App::new(themes, 0, KeyMap::defaults(), 1.0);
    let mut p = Prober::new(super::ui_render::fixture("orin-agx-r36"), Vec::new());
    let base = p.sample();
    for i in 0..=180 {
        let mut s = base.clone();
        s.elapsed_s = f64::from(i);
        s.watched = vec![WatchedProcess {
            pid: 4242,
            name: "llama-server".into(),
            rss_mb: Some(812.4),
            alive: true,
            cpu_pct: Some(95.0),
            cgroup: None,
            gpu_mem_mb: Some(1228.8 + f64::from(i) / 10.0),
        }];
        app.on_snapshot(Arc::new(s));
    }
    let t = super::ui_render::text(&super::ui_render::render(&app, 200, 50));
    let legend = t
        .lines()
        .find(|l| l.contains("rss llama-server (4242)"))
        .unwrap_or_else(|| panic!("no legend line:\n{t}"));
    assert!(legend.contains("gpu 1.2 GB"), "{legend}");
    let gpu = t
        .lines()
        .find(|l| l.contains("llama-server (4242) gpu: +360.0 MB/h"))
        .unwrap_or_else(|| panic!("no GPU leak line:\n{t}"));
    assert!(gpu.contains("LEAKING"), "{gpu}");
    let rss = t
        .lines()
        .find(|l| l.contains("llama-server (4242) rss: +0.0 MB/h"))
        .unwrap_or_else(|| panic!("no RSS leak line:\n{t}"));
    assert!(!rss.contains("LEAKING"), "{rss}");
}
