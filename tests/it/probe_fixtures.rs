//! Probes against fixture sysfs trees for every Jetson generation, an x86
//! laptop and a bare VM (`tests/fixtures/*`, described in its README), plus the
//! captured Orin trees in `../shared/fixtures/` used exactly as captured.

use crate::common;
use common::copy_tree;

use std::path::{Path, PathBuf};

use jetstress::probes::{Prober, Root};
use jetstress::snapshot::{Snapshot, ThermalZone};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn shared(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/fixtures")
        .join(name)
}

/// Two samples, as `jetstress probe` takes them.
fn snapshot(root: PathBuf) -> Snapshot {
    let mut p = Prober::new(Root::new(root), Vec::new());
    let _ = p.sample();
    p.sample()
}

fn zone<'a>(s: &'a Snapshot, name: &str) -> &'a ThermalZone {
    s.thermal
        .iter()
        .find(|z| z.name == name)
        .unwrap_or_else(|| panic!("zone {name} missing"))
}

fn read_num(path: PathBuf) -> f64 {
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .trim()
        .parse()
        .unwrap()
}

#[test]
fn orin_agx_r36_zones_trips_and_offline_cv() {
    let root = fixture("orin-agx-r36");
    let s = snapshot(root.clone());
    assert_eq!(s.schema, "jetstress.snapshot/1");
    let zones: Vec<&ThermalZone> = s.thermal.iter().filter(|z| z.source == "zone").collect();
    let dirs = std::fs::read_dir(root.join("sys/class/thermal"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with("thermal_zone")
        })
        .count();
    assert_eq!(zones.len(), dirs);
    // Natural order: thermal_zone10 comes last.
    assert_eq!(
        zones.last().unwrap().id,
        format!("thermal_zone{}", dirs - 1)
    );
    for cv in ["cv0-thermal", "cv1-thermal", "cv2-thermal"] {
        let z = zone(&s, cv);
        assert!(!z.online);
        assert_eq!(z.temp_c, None, "offline is never a number");
        assert!(z.offline_reason.as_deref().unwrap().contains("-256000"));
    }
    let cpu = zone(&s, "cpu-thermal");
    let raw = read_num(root.join("sys/class/thermal/thermal_zone0/temp"));
    assert_eq!(cpu.temp_c, Some(raw / 1000.0));
    assert_eq!(cpu.throttle_trip_c(), Some(99.0));
    assert_eq!(cpu.critical_trip_c(), Some(104.5));
    assert_eq!(s.hottest_zone().unwrap().name, "tj-thermal");
}

#[test]
fn orin_agx_r36_capped_cluster_is_a_throttle_reason() {
    let root = fixture("orin-agx-r36");
    let s = snapshot(root.clone());
    assert_eq!(s.cpu.cores.len(), 12);
    for c in &s.cpu.cores {
        let dir = root.join(format!("sys/devices/system/cpu/cpu{}/cpufreq", c.id));
        assert_eq!(
            c.cap_mhz,
            Some(read_num(dir.join("scaling_max_freq")) / 1000.0)
        );
        assert_eq!(
            c.max_freq_mhz,
            Some(read_num(dir.join("cpuinfo_max_freq")) / 1000.0)
        );
    }
    assert!(s.throttle.throttled);
    assert!(
        s.throttle
            .reasons
            .iter()
            .any(|r| r.starts_with("CPU cores 4-7 capped")),
        "{:?}",
        s.throttle.reasons
    );
    assert!(s
        .throttle
        .reasons
        .iter()
        .any(|r| r.contains("cpufreq-cpu4")));
    // A spinning fan is cooling, not throttling.
    assert!(!s.throttle.reasons.iter().any(|r| r.contains("pwm-fan")));
    assert!(!s.throttle.reasons.iter().any(|r| r.starts_with("GPU")));
}

#[test]
fn orin_agx_r36_gpu_power_fan_board() {
    let root = fixture("orin-agx-r36");
    let s = snapshot(root.clone());
    assert_eq!(s.gpus.len(), 1, "the vic devfreq node is not a GPU");
    let g = &s.gpus[0];
    assert_eq!(g.kind, "tegra");
    let load = read_num(root.join("sys/class/devfreq/17000000.gpu/device/load"));
    assert_eq!(g.load_pct, Some(load / 10.0));
    assert_eq!(g.temp_c, zone(&s, "gpu-thermal").temp_c);

    let names: Vec<&str> = s.power.rails.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "VDD_GPU_SOC",
            "VDD_CPU_CV",
            "VIN_SYS_5V0",
            "VDDQ_VDD2_1V8AO"
        ]
    );
    for r in &s.power.rails {
        assert_eq!(r.mw, Some(r.mv.unwrap() * r.ma.unwrap() / 1000.0));
    }
    // No VDD_IN on AGX Orin: the total is the sum.
    let sum: f64 = s.power.rails.iter().map(|r| r.mw.unwrap()).sum();
    assert!((s.power.total_mw.unwrap() - sum).abs() < 1e-9);

    assert_eq!(s.fans.len(), 1);
    let f = &s.fans[0];
    assert_eq!(f.pwm_pct, Some(102.0 * 100.0 / 255.0));
    assert_eq!(f.rpm, Some(2900.0));
    assert_eq!(f.control.as_deref(), Some("auto"));

    let b = &s.board;
    assert_eq!(
        b.model.as_deref(),
        Some("NVIDIA Jetson AGX Orin Developer Kit")
    );
    assert_eq!(b.soc.as_deref(), Some("tegra234"));
    assert_eq!(b.l4t.as_deref(), Some("36.4.3"));
    let m = b.nvpmodel.as_ref().unwrap();
    assert_eq!((m.id, m.name.as_deref()), (Some(0), Some("MAXN")));
    assert_eq!(b.jetson_clocks, Some(false));
    assert_eq!(s.memory.nvmap_mb, Some(1843200.0 / 1024.0));
}

#[test]
fn orin_agx_r36_over_current_counter_rising_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    copy_tree(&fixture("orin-agx-r36"), dir.path());
    let mut p = Prober::new(Root::new(dir.path()), Vec::new());
    let first = p.sample();
    assert!(!first
        .throttle
        .reasons
        .iter()
        .any(|r| r.contains("over-current")));
    let oc = find_file(dir.path(), "oc3_event_cnt").expect("oc3 counter in fixture");
    let before = read_num(oc.clone());
    std::fs::write(&oc, format!("{}\n", before as i64 + 2)).unwrap();
    let s = p.sample();
    assert!(
        s.throttle
            .reasons
            .iter()
            .any(|r| r.contains("oc3") && r.contains("+2")),
        "{:?}",
        s.throttle.reasons
    );
}

#[test]
fn orin_nano_r35_gpu_cap_and_vdd_in_total() {
    let s = snapshot(fixture("orin-nano-r35"));
    assert_eq!(s.board.l4t.as_deref(), Some("35.4.1"));
    let offline: Vec<&str> = s
        .thermal
        .iter()
        .filter(|z| !z.online)
        .map(|z| z.name.as_str())
        .collect();
    assert_eq!(offline, ["CV0-therm", "CV1-therm", "CV2-therm"]);
    let g = &s.gpus[0];
    assert!(g.max_freq_mhz.unwrap() < g.hw_max_freq_mhz.unwrap());
    assert!(
        s.throttle
            .reasons
            .iter()
            .any(|r| r.starts_with("GPU ga10b capped")),
        "{:?}",
        s.throttle.reasons
    );
    let vdd_in = s.power.rails.iter().find(|r| r.name == "VDD_IN").unwrap();
    assert_eq!(s.power.total_mw, vdd_in.mw);
}

#[test]
fn xavier_nx_r32_iio_power_offline_cores_empty_read_and_pmic() {
    let root = fixture("xavier-nx-r32");
    let s = snapshot(root.clone());
    assert_eq!(s.board.soc.as_deref(), Some("tegra194"));
    let gpu = zone(&s, "GPU-therm");
    assert!(!gpu.online);
    assert_eq!(gpu.offline_reason.as_deref(), Some("empty read"));
    let pmic = zone(&s, "PMIC-Die");
    assert!(!pmic.online, "PMIC-Die is a fixed placeholder, not 50 °C");
    assert_eq!(pmic.temp_c, None);
    let offline: Vec<u32> = s
        .cpu
        .cores
        .iter()
        .filter(|c| !c.online)
        .map(|c| c.id)
        .collect();
    assert_eq!(offline, [4, 5]);
    assert!(s
        .cpu
        .cores
        .iter()
        .filter(|c| !c.online)
        .all(|c| c.freq_mhz.is_none() && c.util_pct.is_none()));
    // iio gives the monitor's own mW; it must agree with the hwmon arithmetic mV·mA/1000.
    let iio = root.join("sys/bus/i2c/drivers/ina3221x/7-0040/iio:device0");
    for (n, r) in s.power.rails.iter().enumerate() {
        let mv = read_num(iio.join(format!("in_voltage{n}_input")));
        let ma = read_num(iio.join(format!("in_current{n}_input")));
        assert_eq!(r.mw, Some(mv * ma / 1000.0), "{}", r.name);
    }
    assert_eq!(
        s.power.total_mw,
        s.power
            .rails
            .iter()
            .find(|r| r.name == "VDD_IN")
            .unwrap()
            .mw
    );
    assert!(!s.throttle.throttled, "{:?}", s.throttle.reasons);
}

#[test]
fn nano_r32_legacy_fan_and_pom_total() {
    let s = snapshot(fixture("nano-r32"));
    assert_eq!(s.board.soc.as_deref(), Some("tegra210"));
    assert!(!zone(&s, "PMIC-Die").online);
    assert_eq!(s.fans.len(), 1);
    assert_eq!(s.fans[0].name, "pwm-fan");
    assert_eq!(s.fans[0].pwm_pct, Some(128.0 * 100.0 / 255.0));
    assert_eq!(s.fans[0].rpm, Some(2100.0));
    let pom = s
        .power
        .rails
        .iter()
        .find(|r| r.name == "POM_5V_IN")
        .unwrap();
    assert_eq!(s.power.total_mw, pom.mw);
    let sum: f64 = s.power.rails.iter().filter_map(|r| r.mw).sum();
    assert!(
        s.power.total_mw.unwrap() < sum,
        "input rail, not the sum of rails"
    );
    assert_eq!(s.gpus[0].name, "gpu");
    assert!(s.gpus[0].load_pct.is_some());
}

#[test]
fn tx2_r32_zone_over_passive_trip_throttles() {
    let s = snapshot(fixture("tx2-r32"));
    assert_eq!(s.board.soc.as_deref(), Some("tegra186"));
    let z = zone(&s, "BCPU-therm");
    assert!(z.temp_c.unwrap() >= z.throttle_trip_c().unwrap());
    assert!(
        s.throttle
            .reasons
            .iter()
            .any(|r| r.starts_with("BCPU-therm at")),
        "{:?}",
        s.throttle.reasons
    );
    assert!(s
        .throttle
        .reasons
        .iter()
        .any(|r| r.contains("thermal-cpufreq-0")));
    // thermal-fan-est sits above *active* trips: fans, not throttling.
    assert!(!s
        .throttle
        .reasons
        .iter()
        .any(|r| r.starts_with("thermal-fan-est")));
    assert_eq!(s.power.rails.len(), 6, "two iio devices, three rails each");
}

#[test]
fn x86_laptop_hwmon_temps_no_gpu_no_jetson() {
    let s = snapshot(fixture("x86-laptop"));
    assert_eq!(s.board.model.as_deref(), Some("Dell Inc. XPS 13 9310"));
    assert_eq!(s.board.l4t, None);
    assert_eq!(s.board.nvpmodel, None);
    assert_eq!(s.board.jetson_clocks, None);
    let int3400 = zone(&s, "INT3400 Thermal");
    assert!(!int3400.online);
    assert!(int3400.offline_reason.is_some());
    let pkg = zone(&s, "coretemp:Package id 0");
    assert_eq!(pkg.source, "hwmon");
    assert_eq!(pkg.temp_c, Some(52.0));
    assert_eq!(pkg.critical_trip_c(), Some(100.0));
    assert!(s.thermal.iter().any(|z| z.name == "nvme:Composite"));
    // acpitz is a thermal zone already: its hwmon mirror is not listed twice.
    assert_eq!(
        s.thermal
            .iter()
            .filter(|z| z.name.contains("acpitz"))
            .count(),
        1
    );
    assert!(s.gpus.is_empty());
    assert!(s.power.rails.is_empty() && s.power.total_mw.is_none());
    assert_eq!(s.cpu.cores.len(), 8);
    assert!(s.cpu.cores.iter().all(|c| c.online));
    assert_eq!(s.memory.nvmap_mb, None);
    assert!(s.memory.swap_used_mb.unwrap() > 0.0);
    assert!(!s.throttle.throttled, "{:?}", s.throttle.reasons);
}

#[test]
fn bare_vm_has_empty_lists_not_errors() {
    let s = snapshot(fixture("bare-vm"));
    assert!(s.thermal.is_empty() && s.cooling.is_empty() && s.gpus.is_empty() && s.fans.is_empty());
    assert!(s.power.rails.is_empty());
    assert_eq!(s.cpu.cores.len(), 2);
    assert!(s.memory.total_mb.is_some());
    assert_eq!(s.memory.swap_total_mb, Some(0.0));
    assert!(s.probe_errors.is_empty(), "{:?}", s.probe_errors);
    assert!(!s.throttle.throttled);
}

#[test]
fn captured_orin_agx_r35_tree_as_found() {
    let root = shared("orin_agx_r35_partial");
    let s = snapshot(root.clone());
    let cv: Vec<&ThermalZone> = s
        .thermal
        .iter()
        .filter(|z| z.name.starts_with("CV"))
        .collect();
    assert_eq!(cv.len(), 3);
    assert!(cv.iter().all(|z| !z.online && z.temp_c.is_none()));
    let gpu = zone(&s, "GPU-therm");
    assert_eq!(gpu.temp_c, Some(35.125));
    // Two INA3221 devices, in7 "sum of shunt voltages" skipped.
    assert!(s.power.rails.iter().all(|r| !r.name.contains("sum")));
    let hw = root.join("sys/bus/i2c/drivers/ina3221/1-0040/hwmon/hwmon3");
    let first = &s.power.rails[0];
    assert_eq!(
        first.name,
        std::fs::read_to_string(hw.join("in1_label"))
            .unwrap()
            .trim()
    );
    assert_eq!(
        first.mw,
        Some(read_num(hw.join("in1_input")) * read_num(hw.join("curr1_input")) / 1000.0)
    );
    // A partial tree: no CPU files, no board files, and no crash.
    assert!(s.gpus.is_empty());
}

#[test]
fn captured_orin_nano_duplicate_zone_names_are_kept_apart() {
    let s = snapshot(shared("orin_nano_r35_partial"));
    let dup: Vec<&ThermalZone> = s.thermal.iter().filter(|z| z.name == "CV0-therm").collect();
    assert_eq!(dup.len(), 3);
    let mut ids: Vec<&str> = dup.iter().map(|z| z.id.as_str()).collect();
    ids.dedup();
    assert_eq!(ids.len(), 3, "each duplicate keeps its own id");
    assert_eq!(
        s.power.total_mw,
        s.power
            .rails
            .iter()
            .find(|r| r.name == "VDD_IN")
            .unwrap()
            .mw
    );
}

#[test]
fn temperatures_follow_the_files_between_samples() {
    let dir = tempfile::tempdir().unwrap();
    copy_tree(&fixture("orin-agx-r36"), dir.path());
    let mut p = Prober::new(Root::new(dir.path()), Vec::new());
    let a = p.sample();
    let temp = dir.path().join("sys/class/thermal/thermal_zone1/temp");
    std::fs::write(&temp, "99500\n").unwrap();
    let b = p.sample();
    assert_ne!(zone(&a, "gpu-thermal").temp_c, Some(99.5));
    assert_eq!(zone(&b, "gpu-thermal").temp_c, Some(99.5));
    assert!(b
        .throttle
        .reasons
        .iter()
        .any(|r| r.starts_with("gpu-thermal at 99.5")));
    // A zone that goes offline mid-run is offline, then back.
    std::fs::write(&temp, "").unwrap();
    assert!(!zone(&p.sample(), "gpu-thermal").online);
    std::fs::write(&temp, "50000\n").unwrap();
    assert_eq!(zone(&p.sample(), "gpu-thermal").temp_c, Some(50.0));
}

#[test]
fn this_machine_gives_a_sane_snapshot() {
    let mut p = Prober::new(Root::new("/"), Vec::new());
    let _ = p.sample();
    std::thread::sleep(jetstress::probes::PROBE_GAP);
    let s = p.sample();
    assert!(!s.cpu.cores.is_empty());
    assert!(s.cpu.util_pct.is_some(), "two samples define a rate");
    assert!(s.memory.total_mb.unwrap() > 0.0);
    assert!(s.probe_errors.is_empty(), "{:?}", s.probe_errors);
    for z in &s.thermal {
        assert_eq!(z.online, z.temp_c.is_some());
    }
}

fn find_file(dir: &Path, name: &str) -> Option<PathBuf> {
    for e in std::fs::read_dir(dir).ok()? {
        let e = e.ok()?;
        let p = e.path();
        if e.file_type().ok()?.is_dir() {
            if let Some(f) = find_file(&p, name) {
                return Some(f);
            }
        } else if e.file_name() == name {
            return Some(p);
        }
    }
    None
}

/// A watched PID is a process on this machine: on a fixture root without it
/// (a demo of a board on a laptop, with real load targets), it is read from
/// the host's /proc; a root that has the PID (a capture) wins.
#[test]
fn watched_pids_missing_from_a_fixture_are_read_on_the_host() {
    let me = std::process::id();
    let mut p = Prober::new(
        Root::new(fixture("xavier-nx-r32")),
        vec![jetstress::probes::Watch::Pid(me)],
    );
    let s = p.sample();
    let w = &s.watched[0];
    assert_eq!(w.pid, me);
    assert!(w.alive, "{w:?}");
    assert!(w.rss_mb.is_some_and(|r| r > 1.0), "{w:?}");

    let dir = tempfile::tempdir().unwrap();
    copy_tree(&fixture("xavier-nx-r32"), dir.path());
    let pid_dir = dir.path().join(format!("proc/{me}"));
    std::fs::create_dir_all(&pid_dir).unwrap();
    std::fs::write(pid_dir.join("comm"), "captured\n").unwrap();
    std::fs::write(
        pid_dir.join("status"),
        "Name:\tcaptured\nVmRSS:\t  102400 kB\n",
    )
    .unwrap();
    let mut p = Prober::new(
        Root::new(dir.path()),
        vec![jetstress::probes::Watch::Pid(me)],
    );
    let w = p.sample().watched.remove(0);
    assert_eq!(w.name, "captured");
    assert_eq!(w.rss_mb, Some(100.0));
}
