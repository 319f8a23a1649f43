//! `jetstress probe`: two samples 250 ms apart (so rates are defined), printed
//! as a readable summary or one `jetstress.snapshot/1` JSON object.

use std::fmt::Write as _;
use std::io::Write;
use std::process::ExitCode;

use jetstress::probes::{read_twice, Root};
use jetstress::snapshot::{mb_words, Snapshot};

use crate::cli::{GlobalArgs, ProbeArgs};

pub fn run(global: &GlobalArgs, args: &ProbeArgs) -> anyhow::Result<ExitCode> {
    let snap = read_twice(
        Root::new(&global.root),
        super::watches(&args.watch, &global.root)?,
    );
    let mut out = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer_pretty(&mut out, &snap)?;
        writeln!(out)?;
    } else {
        out.write_all(render_text(&snap).as_bytes())?;
    }
    Ok(ExitCode::SUCCESS)
}

fn opt(v: Option<f64>, digits: usize, unit: &str) -> String {
    match v {
        Some(x) => format!("{x:.digits$}{unit}"),
        None => "—".to_string(),
    }
}

/// The human summary (pure, so tests can check it).
#[expect(
    clippy::too_many_lines,
    reason = "one section per probe, in screen order"
)]
pub fn render_text(s: &Snapshot) -> String {
    let mut o = String::new();
    let b = &s.board;
    let _ = writeln!(
        o,
        "Board     {}",
        b.model.as_deref().unwrap_or("unknown model")
    );
    let mut facts = Vec::new();
    if let Some(soc) = &b.soc {
        facts.push(format!("SoC {soc}"));
    }
    if let Some(l4t) = &b.l4t {
        facts.push(format!("L4T {l4t}"));
    }
    if let Some(m) = &b.nvpmodel {
        let id = m.id.map_or_else(|| "?".into(), |i| i.to_string());
        facts.push(
            format!("nvpmodel {id} {}", m.name.as_deref().unwrap_or(""))
                .trim_end()
                .to_string(),
        );
    }
    if let Some(jc) = b.jetson_clocks {
        facts.push(format!("jetson_clocks {}", if jc { "on" } else { "off" }));
    }
    if !facts.is_empty() {
        let _ = writeln!(o, "          {}", facts.join(" · "));
    }

    let _ = writeln!(
        o,
        "\nThermal   {}",
        if s.thermal.is_empty() {
            "no sensors"
        } else {
            ""
        }
    );
    for z in &s.thermal {
        let trip = z
            .throttle_trip_c()
            .map(|t| format!("  throttle at {t:.1} °C"))
            .unwrap_or_default();
        let crit = z
            .critical_trip_c()
            .map(|t| format!(", critical {t:.1} °C"))
            .unwrap_or_default();
        match z.temp_c {
            Some(t) => {
                let _ = writeln!(o, "  {:<24} {t:>6.1} °C{trip}{crit}", z.name);
            }
            None => {
                let _ = writeln!(
                    o,
                    "  {:<24}  offline: {}",
                    z.name,
                    z.offline_reason.as_deref().unwrap_or("unknown")
                );
            }
        }
    }
    let engaged: Vec<String> = s
        .cooling
        .iter()
        .filter(|c| c.cur_state.unwrap_or(0) > 0)
        .map(|c| {
            format!(
                "{} {}/{}",
                c.kind,
                c.cur_state.unwrap_or(0),
                opt(c.max_state.map(|v| v as f64), 0, "")
            )
        })
        .collect();
    if !s.cooling.is_empty() {
        let _ = writeln!(
            o,
            "  cooling: {} devices{}",
            s.cooling.len(),
            if engaged.is_empty() {
                String::new()
            } else {
                format!(", engaged: {}", engaged.join(", "))
            }
        );
    }

    let online = s.cpu.cores.iter().filter(|c| c.online).count();
    let _ = writeln!(
        o,
        "\nCPU       {} busy, {online}/{} cores online",
        opt(s.cpu.util_pct, 1, " %"),
        s.cpu.cores.len()
    );
    for c in &s.cpu.cores {
        if !c.online {
            let _ = writeln!(o, "  cpu{:<3} offline", c.id);
            continue;
        }
        let cap = match (c.cap_mhz, c.max_freq_mhz) {
            (Some(cap), Some(max)) if cap + 0.5 < max => {
                format!("  capped at {cap:.0} of {max:.0} MHz")
            }
            _ => String::new(),
        };
        let _ = writeln!(
            o,
            "  cpu{:<3} {:>7}  {:>9}{cap}",
            c.id,
            opt(c.util_pct, 1, " %"),
            opt(c.freq_mhz, 0, " MHz")
        );
    }

    let m = &s.memory;
    let _ = writeln!(
        o,
        "\nMemory    used {} of {} MB, available {} MB, swap {} of {} MB{}",
        opt(m.used_mb, 0, ""),
        opt(m.total_mb, 0, ""),
        opt(m.available_mb, 0, ""),
        opt(m.swap_used_mb, 0, ""),
        opt(m.swap_total_mb, 0, ""),
        m.nvmap_mb
            .map(|n| format!(", NvMap {n:.0} MB"))
            .unwrap_or_default()
    );
    for w in &s.watched {
        let _ = writeln!(
            o,
            "  watched {}: {} {} MB, CPU {}{}{}",
            w.label(),
            if w.cgroup.is_some() { "memory" } else { "RSS" },
            opt(w.rss_mb, 1, ""),
            opt(w.cpu_pct, 1, " %"),
            w.gpu_mem_mb
                .map(|g| format!(", GPU {}", mb_words(g)))
                .unwrap_or_default(),
            if w.alive { "" } else { " (gone)" }
        );
    }

    let _ = writeln!(
        o,
        "\nGPU       {}",
        if s.gpus.is_empty() { "none found" } else { "" }
    );
    for g in &s.gpus {
        let _ = writeln!(
            o,
            "  {} ({}): load {}, {} (cap {}), {}",
            g.name,
            g.kind,
            opt(g.load_pct, 1, " %"),
            opt(g.freq_mhz, 0, " MHz"),
            opt(g.max_freq_mhz, 0, " MHz"),
            opt(g.temp_c, 1, " °C")
        );
    }

    if !s.power.rails.is_empty() {
        let _ = writeln!(
            o,
            "\nPower     total {}",
            opt(s.power.total_mw.map(|w| w / 1000.0), 2, " W")
        );
        for r in &s.power.rails {
            let _ = writeln!(
                o,
                "  {:<18} {:>9}  ({} mV × {} mA)",
                r.name,
                opt(r.mw, 0, " mW"),
                opt(r.mv, 0, ""),
                opt(r.ma, 0, "")
            );
        }
    }
    for f in &s.fans {
        let _ = writeln!(
            o,
            "\nFan       {}: {} PWM, {} rpm{}",
            f.name,
            opt(f.pwm_pct, 0, " %"),
            opt(f.rpm, 0, ""),
            f.control
                .as_ref()
                .map(|c| format!(", {c}"))
                .unwrap_or_default()
        );
    }
    let _ = writeln!(
        o,
        "\nThrottle  {}",
        if s.throttle.throttled { "YES" } else { "no" }
    );
    for r in &s.throttle.reasons {
        let _ = writeln!(o, "  {r}");
    }
    for e in &s.probe_errors {
        let _ = writeln!(o, "\nprobe {} failed: {}", e.probe, e.message);
    }
    o
}
