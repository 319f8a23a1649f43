//! Watched entries: a process's CPU % from `/proc/PID/stat`, and cgroup v2
//! directories (`--watch-cgroup`, `--watch-container`) read from the
//! `cgroup-v2` fixture, from a copy of it that the test changes, and from
//! this test process's own cgroup on this machine.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use jetstress::probes::{
    parse_proc_cgroup, resolve_cgroup, resolve_container, CgroupError, Prober, Root, Watch,
};
use jetstress::snapshot::{WatchedProcess, CGROUP_KEY_BASE};
use jetstress::ui::{App, ColorMode, KeyMap, Theme};

use super::common::{copy_tree, fixture_dir};

const LLAMA_ID: &str = "4f3c2a1b9e0d7c6b5a49382716051f2e3d4c5b6a798877665544332211009988";
const TRITON_ID: &str = "9a8b7c6d5e4f30211203f4e5d6c7b8a9f0e1d2c3b4a5968778695a4b3c2d1e0f";

fn cgroup_root() -> Root {
    Root::new(fixture_dir("cgroup-v2"))
}

fn scope(id: &str) -> PathBuf {
    PathBuf::from(format!("system.slice/docker-{id}.scope"))
}

/// `memory.current` of a fixture cgroup in MiB, read from the file.
fn memory_mb(cg_dir: &Path) -> f64 {
    let b: u64 = std::fs::read_to_string(cg_dir.join("memory.current"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    b as f64 / (1024.0 * 1024.0)
}

fn sample_one(p: &mut Prober) -> WatchedProcess {
    let s = p.sample();
    assert_eq!(s.watched.len(), 1, "{:?}", s.watched);
    s.watched[0].clone()
}

#[test]
fn containers_resolve_by_docker_name_or_id_prefix() {
    let root = cgroup_root();
    assert_eq!(
        resolve_container(&root, "llama-server").unwrap(),
        scope(LLAMA_ID)
    );
    assert_eq!(
        resolve_container(&root, &TRITON_ID[..8]).unwrap(),
        scope(TRITON_ID)
    );
    assert_eq!(
        resolve_container(&root, TRITON_ID).unwrap(),
        scope(TRITON_ID)
    );
    // `docker` is in three directory names and is no container's id.
    let e = resolve_container(&root, "docker").unwrap_err();
    let CgroupError::Ambiguous { matches, .. } = &e else {
        panic!("{e:?}")
    };
    assert_eq!(matches.len(), 3, "{matches:?}");

    // Not found: the error says where and what it looked for.
    let e = resolve_container(&root, "whisper").unwrap_err();
    let msg = e.to_string();
    let CgroupError::NoContainer { scanned, mount, .. } = &e else {
        panic!("{e:?}")
    };
    assert!(*scanned > 0);
    assert_eq!(mount, &root.path("sys/fs/cgroup"));
    assert!(msg.contains("whisper"), "{msg}");
    assert!(
        msg.contains(&root.path("sys/fs/cgroup").display().to_string()),
        "{msg}"
    );
    assert!(msg.contains("var/lib/docker/containers"), "{msg}");

    // A board tree has no cgroup hierarchy at all.
    let e = resolve_container(&Root::new(fixture_dir("orin-agx-r36")), "x").unwrap_err();
    assert!(matches!(e, CgroupError::NoHierarchy { .. }), "{e:?}");
}

#[test]
fn cgroup_paths_are_checked_at_start() {
    let root = cgroup_root();
    let want = PathBuf::from("system.slice/containerd.service");
    for given in [
        "system.slice/containerd.service",
        "/system.slice/containerd.service",
        "/sys/fs/cgroup/system.slice/containerd.service",
    ] {
        assert_eq!(resolve_cgroup(&root, Path::new(given)).unwrap(), want);
    }
    let e = resolve_cgroup(&root, Path::new("system.slice/nope.service")).unwrap_err();
    assert!(matches!(e, CgroupError::NoSuchCgroup { .. }), "{e:?}");
    assert!(e.to_string().contains("nope.service"), "{e}");
}

#[test]
fn a_cgroup_is_one_entry_with_memory_and_cpu() {
    let tmp = tempfile::tempdir().unwrap();
    copy_tree(&fixture_dir("cgroup-v2"), tmp.path());
    let root = Root::new(tmp.path());
    let rel = resolve_container(&root, "llama-server").unwrap();
    let dir = root.path("sys/fs/cgroup").join(&rel);
    let mut p = Prober::new(root.clone(), vec![Watch::Cgroup(rel.clone())]);

    let t0 = Instant::now();
    let w = sample_one(&mut p);
    let t1 = Instant::now();
    assert_eq!(w.name, format!("docker-{}", &LLAMA_ID[..12]));
    assert!(w.pid >= CGROUP_KEY_BASE);
    assert_eq!(w.cgroup.as_deref(), Some(rel.to_str().unwrap()));
    assert!(w.alive);
    assert_eq!(w.rss_mb, Some(memory_mb(&dir)));
    assert_eq!(w.cpu_pct, None, "no rate from one reading");
    assert_eq!(w.label(), format!("{} (cgroup)", w.name));

    // The container burns 0.3 s of CPU and grows by 64 MiB.
    let stat = std::fs::read_to_string(dir.join("cpu.stat")).unwrap();
    let usage: u64 = stat.lines().next().unwrap()[11..].parse().unwrap();
    let burned_us = 300_000;
    std::fs::write(
        dir.join("cpu.stat"),
        stat.replacen(
            &format!("usage_usec {usage}"),
            &format!("usage_usec {}", usage + burned_us),
            1,
        ),
    )
    .unwrap();
    let mem: u64 = std::fs::read_to_string(dir.join("memory.current"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    std::fs::write(
        dir.join("memory.current"),
        format!("{}\n", mem + (64 << 20)),
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let t2 = Instant::now();
    let w2 = sample_one(&mut p);
    let t3 = Instant::now();
    assert_eq!(w2.pid, w.pid, "the same key every sample");
    assert_eq!(w2.rss_mb, Some(memory_mb(&dir)));
    // The probe's wall time lies between t2 - t1 and t3 - t0.
    let cpu_s = burned_us as f64 / 1e6;
    let lo = cpu_s / (t3 - t0).as_secs_f64() * 100.0;
    let hi = cpu_s / (t2 - t1).as_secs_f64() * 100.0;
    let got = w2.cpu_pct.expect("a rate from two readings");
    assert!(lo <= got && got <= hi, "{lo} <= {got} <= {hi}");

    // The container stops: its cgroup goes, the entry stays, marked gone.
    std::fs::remove_dir_all(&dir).unwrap();
    let w3 = sample_one(&mut p);
    assert!(!w3.alive);
    assert_eq!((w3.rss_mb, w3.cpu_pct), (None, None));
}

#[test]
fn a_busy_process_shows_its_cpu() {
    let mut child = Command::new("sh")
        .args(["-c", "while :; do :; done"])
        .spawn()
        .unwrap();
    let pid = child.id();
    let mut p = Prober::new(Root::new("/"), vec![Watch::Pid(pid)]);
    let first = p.sample();
    std::thread::sleep(Duration::from_millis(600));
    let second = p.sample();
    let _ = child.kill();
    let _ = child.wait();
    let w0 = first.watched.iter().find(|w| w.pid == pid).unwrap();
    let w = second.watched.iter().find(|w| w.pid == pid).unwrap();
    assert_eq!(w0.cpu_pct, None);
    assert_eq!(w.cgroup, None);
    let got = w.cpu_pct.expect("a rate");
    // One thread: more than nothing, at most one core (plus a tick of slack).
    assert!(got > 0.0 && got <= 110.0, "{got}");
}

/// This test process's own cgroup, read on this machine.
#[test]
fn this_process_cgroup_on_the_host() {
    let host = Root::new("/");
    let text = std::fs::read_to_string("/proc/self/cgroup").unwrap();
    let Some(path) = parse_proc_cgroup(&text) else {
        // A cgroup v1-only host: nothing to watch, and it says so.
        let e = resolve_cgroup(&host, Path::new("/")).unwrap_err();
        assert!(matches!(e, CgroupError::NoHierarchy { .. }), "{e:?}");
        return;
    };
    let rel = resolve_cgroup(&host, Path::new(path)).unwrap();
    let mount = jetstress::probes::cgroup_mount(&host).unwrap();
    let mut p = Prober::new(host, vec![Watch::Cgroup(rel.clone())]);
    let w = sample_one(&mut p);
    assert!(w.alive);
    // Burn CPU in this process, which the cgroup accounts for.
    let until = Instant::now() + Duration::from_millis(300);
    let mut x = 0u64;
    while Instant::now() < until {
        x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(7));
    }
    let w = sample_one(&mut p);
    assert!(w.cpu_pct.is_some_and(|c| c > 0.0), "{w:?}");
    // memory.current exists wherever the memory controller is on v2 (not
    // at the root, and not on a hybrid host whose memory is cgroup v1).
    assert_eq!(
        w.rss_mb.is_some(),
        mount.join(&rel).join("memory.current").is_file(),
        "{w:?}"
    );
}

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_jetstress"));
    c.current_dir(env!("CARGO_MANIFEST_DIR"));
    c
}

#[test]
fn probe_watches_a_container_and_refuses_an_unknown_one() {
    let root = fixture_dir("cgroup-v2");
    let out = crate::common::run_ok(bin().arg("--root").arg(&root).args([
        "probe",
        "--json",
        "--watch-container",
        "triton",
    ]));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let w = &v["watched"][0];
    assert_eq!(w["cgroup"], scope(TRITON_ID).to_str().unwrap());
    assert_eq!(
        w["rss_mb"].as_f64(),
        Some(memory_mb(
            &root.join("sys/fs/cgroup").join(scope(TRITON_ID))
        ))
    );
    // Two readings of an unchanging fixture: no CPU used.
    assert_eq!(w["cpu_pct"].as_f64(), Some(0.0));

    let out = bin()
        .arg("--root")
        .arg(&root)
        .args(["probe", "--watch-container", "whisper"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--watch-container whisper"), "{err}");
    assert!(err.contains("sys/fs/cgroup"), "{err}");
}

#[test]
fn the_memory_pane_shows_cpu_beside_memory() {
    let themes = Theme::load_all(None, ColorMode::TrueColor).unwrap();
    let mut app = App::new(themes, 0, KeyMap::defaults(), 1.0);
    let mut p = Prober::new(super::ui_render::fixture("orin-agx-r36"), Vec::new());
    let entries = [
        WatchedProcess {
            pid: 4242,
            name: "node".into(),
            rss_mb: Some(51.2),
            alive: true,
            cpu_pct: Some(37.4),
            cgroup: None,
            gpu_mem_mb: None,
        },
        WatchedProcess {
            pid: CGROUP_KEY_BASE | 7,
            name: "docker-4f3c2a1b9e0d".into(),
            rss_mb: Some(700.0),
            alive: true,
            cpu_pct: Some(180.2),
            cgroup: Some(scope(LLAMA_ID).display().to_string()),
            gpu_mem_mb: None,
        },
    ];
    for _ in 0..3 {
        let mut s = p.sample();
        s.watched = entries.to_vec();
        app.on_snapshot(Arc::new(s));
    }
    let t = super::ui_render::text(&super::ui_render::render(&app, 200, 50));
    for w in &entries {
        let line = t
            .lines()
            .find(|l| l.contains(&w.name))
            .unwrap_or_else(|| panic!("{} not on screen:\n{t}", w.name));
        assert!(
            line.contains(&format!("cpu {:.0} %", w.cpu_pct.unwrap())),
            "{line}"
        );
    }
    assert!(t.contains("node (4242)"), "{t}");
    assert!(t.contains("docker-4f3c2a1b9e0d (cgroup)"), "{t}");
}
