//! Trace readers on real lines: the excerpts in tests/fixtures/traces (copied
//! verbatim from ../shared/traces) and the full shared traces.

use jetstress::recording::{parse_tegrastats_line as parse_line, CpuCore};
use jetstress::recording::{parse_trace, read_trace, TraceFormat};
use std::path::Path;

const FIX: &str = "tests/fixtures/traces";
const SHARED: &str = "../shared/traces";

fn fixture(name: &str) -> String {
    std::fs::read_to_string(Path::new(FIX).join(name)).unwrap()
}

fn first_line(name: &str) -> String {
    fixture(name).lines().next().unwrap().to_string()
}

#[test]
fn xavier_nx_line_with_date_and_mw_rails() {
    let s = parse_line(&first_line("xavier-nx_burn-in_excerpt.log")).unwrap();
    // 10-01-2025 20:05:55
    let days = 20_362.0; // 2025-10-01 − 1970-01-01 in days
    assert_eq!(
        s.timestamp_s,
        Some(days * 86400.0 + 20.0 * 3600.0 + 5.0 * 60.0 + 55.0)
    );
    assert_eq!(
        (s.ram_used_mb, s.ram_total_mb),
        (Some(2274.0), Some(6834.0))
    );
    assert_eq!(s.swap_cached_mb, Some(2.0));
    assert_eq!(s.cpus.len(), 6);
    assert_eq!(
        s.cpus[0],
        Some(CpuCore {
            load_pct: 99.0,
            freq_mhz: Some(1189.0)
        })
    );
    assert_eq!(s.cpus[4], None);
    assert_eq!(s.engine("GR3D_FREQ").unwrap().load_pct, Some(22.0));
    let names: Vec<&str> = s.temps.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["AUX", "CPU", "thermal", "AO", "GPU", "PMIC"]);
    assert_eq!(s.temps[2].1, Some(37.85));
    assert_eq!(s.rails[0].name, "VDD_IN");
    assert_eq!(s.rails[0].values_mw, vec![5542.0, 5542.0]);
}

#[test]
fn orin_jp6_line_with_gpc_freqs_and_lowercase_zones() {
    let s = parse_line(&first_line("agx-orin-jp6_excerpt.log")).unwrap();
    let gr3d = s.engine("GR3D_FREQ").unwrap();
    assert_eq!(gr3d.freq_mhz, vec![305.0, 305.0]);
    assert!(!s.engine("NVENC").unwrap().on);
    assert_eq!(s.engine("APE").unwrap().freq_mhz, vec![174.0]);
    assert_eq!(s.cpus.len(), 12);
    assert_eq!(
        s.temps.iter().find(|t| t.0 == "tj").unwrap().1,
        Some(47.687)
    );
    assert_eq!(s.rails.len(), 4);
}

#[test]
fn tx2_lines_without_units_and_with_mts() {
    let text = fixture("tx2_excerpt.log");
    let lines: Vec<&str> = text.lines().collect();
    let a = parse_line(lines[0]).unwrap();
    assert_eq!(a.timestamp_s, None);
    assert_eq!(a.swap_used_mb, None);
    assert_eq!(a.rails[0].name, "VDD_IN");
    assert_eq!(a.rails[0].values_mw, vec![3624.0, 3624.0]);
    let b = parse_line(lines[3]).unwrap();
    assert_eq!(b.engine("GR3D_FREQ").unwrap().freq_mhz, vec![1134.0]);
    assert_eq!(b.engine("EMC_FREQ").unwrap().load_pct, Some(7.0));
    // `MTS fg 0% bg 0%` must not be mistaken for engines.
    assert!(b.engine("fg").is_none() && b.engine("MTS").is_none());
    assert_eq!(b.temps[0], ("BCPU".to_string(), Some(38.0)));
}

#[test]
fn nano_line_with_iram_and_pom_rails() {
    let s = parse_line(&first_line("nano_excerpt.log")).unwrap();
    assert_eq!((s.iram_used_kb, s.iram_total_kb), (Some(0.0), Some(252.0)));
    assert_eq!(s.lfb, Some((366.0, 4.0)));
    assert_eq!(s.engine("GR3D_FREQ").unwrap().freq_mhz, vec![76.0]);
    assert_eq!(
        s.rails.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(),
        ["POM_5V_IN", "POM_5V_GPU", "POM_5V_CPU"]
    );
    assert_eq!(
        s.temps.iter().find(|t| t.0 == "thermal").unwrap().1,
        Some(28.0)
    );
}

#[test]
fn offline_zone_in_a_real_orin_r35_form() {
    // The R35 form quoted in shared/reference/jetson-sysfs.md (jtop emulator).
    let s = parse_line(
        "RAM 1000/30536MB CV0@-256C CPU@41.375C Tboard@29C SOC2@39C GPU@-256C tj@41.468C",
    )
    .unwrap();
    assert_eq!(s.temps[0], ("CV0".to_string(), None));
    assert_eq!(s.temps[4], ("GPU".to_string(), None));
    assert_eq!(s.temps[1].1, Some(41.375));
}

#[test]
fn fixture_files_read_with_the_right_format() {
    for (name, format, lines) in [
        ("xavier-nx_burn-in_excerpt.log", TraceFormat::Tegrastats, 12),
        ("agx-orin-jp6_excerpt.log", TraceFormat::Tegrastats, 6),
        ("tx2_excerpt.log", TraceFormat::Tegrastats, 5),
        ("nano_excerpt.log", TraceFormat::Tegrastats, 5),
        (
            "agx-orin_llm-inference_excerpt.csv",
            TraceFormat::OrinCsv,
            5,
        ),
    ] {
        let tr = read_trace(&Path::new(FIX).join(name)).unwrap();
        assert_eq!(tr.format, format, "{name}");
        assert_eq!(tr.samples.len(), lines, "{name}");
        assert!(tr.skipped.is_empty(), "{name}: {:?}", tr.skipped);
        assert_eq!(tr.samples[0].t_s, 0.0);
        assert!(
            tr.samples.windows(2).all(|w| w[1].t_s > w[0].t_s),
            "{name}: time must advance"
        );
    }
}

#[test]
fn untimed_tegrastats_assume_one_second() {
    let tr = read_trace(&Path::new(FIX).join("nano_excerpt.log")).unwrap();
    let t: Vec<f64> = tr.samples.iter().map(|s| s.t_s).collect();
    assert_eq!(t, [0.0, 1.0, 2.0, 3.0, 4.0]);
    assert!(tr.notes.iter().any(|n| n.contains("1 s")), "{:?}", tr.notes);
}

#[test]
fn same_second_stamps_are_spread() {
    // The JP6 log samples every ~0.5 s with whole-second stamps: 05:10:54 twice.
    let tr = read_trace(&Path::new(FIX).join("agx-orin-jp6_excerpt.log")).unwrap();
    assert_eq!(tr.samples[1].t_s, 0.5);
}

#[test]
fn orin_csv_zones_trips_offline_and_memory() {
    let tr = read_trace(&Path::new(FIX).join("agx-orin_llm-inference_excerpt.csv")).unwrap();
    let s = &tr.samples[0];
    assert_eq!(s.temp("cpu-thermal"), Some(65.6));
    assert_eq!(s.trip("cpu-thermal"), Some(112.0));
    assert!(s
        .zones
        .iter()
        .any(|(z, t)| z == "cv0-thermal" && t.is_none()));
    assert_eq!(s.trip("tj-thermal"), None, "`-` is no trip");
    assert_eq!(
        (s.ram_used_mb, s.ram_total_mb),
        (Some(38136.0), Some(54793.0))
    );
    assert_eq!(s.gpu_load_pct, Some(98.0));
    assert_eq!(tr.samples[1].t_s, 1.0);
}

#[test]
fn plain_csv_and_bad_rows() {
    let text = "time_s,gpu,cpu\n0,40.0,41.0\n1,40.5,\nnot,a,row\n2,41.0,42.0\n";
    let tr = parse_trace("plain.csv", text).unwrap();
    assert_eq!(tr.format, TraceFormat::PlainCsv);
    assert_eq!(tr.samples.len(), 3);
    assert_eq!(tr.samples[1].temp("cpu"), None);
    assert_eq!(tr.skipped.len(), 1);
    assert_eq!(tr.skipped[0].0, 4);
    assert!(tr.skipped[0].1.contains("time_s"));
}

#[test]
fn corrupted_tegrastats_lines_are_counted_not_fatal() {
    let good = first_line("xavier-nx_burn-in_excerpt.log");
    // A bad number, a blank line (ignored) and a line cut off mid-field.
    let text = format!("{good}\nRAM 12/xxMB CPU@40C\n\n10-01-2025 20:05:56 RAM 2274/68\n");
    let tr = parse_trace("mixed.log", &text).unwrap();
    assert_eq!(tr.samples.len(), 1);
    let lines: Vec<usize> = tr.skipped.iter().map(|s| s.0).collect();
    assert_eq!(lines, [2, 4]);
}

#[test]
fn missing_file_error_names_it() {
    let e = read_trace(Path::new("tests/fixtures/traces/nope.log")).unwrap_err();
    assert!(e.to_string().contains("nope.log"));
}

/// Every shared trace parses completely (CI has ../shared beside the clone).
#[test]
fn shared_traces_parse_completely() {
    for (name, format) in [
        ("xavier-nx_burn-in_tegrastats.log", TraceFormat::Tegrastats),
        (
            "agx-orin-jp6_excerpt_tegrastats.log",
            TraceFormat::Tegrastats,
        ),
        ("tx2_tegrastats.log", TraceFormat::Tegrastats),
        ("nano_tegrastats.log", TraceFormat::Tegrastats),
        ("agx-orin_llm-inference_stats.csv", TraceFormat::OrinCsv),
    ] {
        let path = Path::new(SHARED).join(name);
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let data_lines = text.lines().filter(|l| !l.trim().is_empty()).count()
            - usize::from(format == TraceFormat::OrinCsv);
        let tr = read_trace(&path).unwrap();
        assert_eq!(tr.format, format, "{name}");
        assert!(
            tr.skipped.is_empty(),
            "{name}: {:?}",
            &tr.skipped[..tr.skipped.len().min(3)]
        );
        assert_eq!(tr.samples.len(), data_lines, "{name}");
        assert!(tr.samples.iter().all(|s| !s.zones.is_empty()), "{name}");
    }
}

#[test]
fn xavier_trace_spans_its_timestamps() {
    let path = Path::new(SHARED).join("xavier-nx_burn-in_tegrastats.log");
    let tr = read_trace(&path).unwrap();
    // 20:05:55 → 20:07:40
    assert_eq!(tr.samples.last().unwrap().t_s, 105.0);
}
