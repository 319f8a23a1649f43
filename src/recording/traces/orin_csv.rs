//! The AGX Orin stats CSV (jtop-style, one row per second, ~124–150 columns):
//! `System-Time` (`HH:MM:SS`), `<zone>-CURR_TEMP` with `<zone>-SW_THROTTLING_TEMP`
//! trips, `MEM-USED_SIZE`/`MEM-TOTAL_SIZE` (MB), `IGPU0-CURR_LOAD`, `<rail>-IN_POWER`.
//! Columns are found by header name, so extra or reordered columns are fine.
//! `-256000`/`-256` temperatures and `-` cells are offline.

use super::{spread_same_second, LineError, Trace, TraceFormat, TraceSample};

/// Column positions found in the header.
#[derive(Debug, Clone, Default)]
pub struct Columns {
    pub time: usize,
    /// `(zone, temp column, trip column)`.
    pub zones: Vec<(String, usize, Option<usize>)>,
    pub mem_used: Option<usize>,
    pub mem_total: Option<usize>,
    pub swap_used: Option<usize>,
    pub swap_total: Option<usize>,
    pub gpu_load: Option<usize>,
    pub rails: Vec<(String, usize)>,
    /// `CPUn-CURR_LOAD` (%) columns.
    pub cpu_loads: Vec<usize>,
}

/// Reads the header line.
pub fn parse_header(line: &str) -> Result<Columns, LineError> {
    let names: Vec<&str> = line
        .trim_start_matches('\u{feff}')
        .split(',')
        .map(str::trim)
        .collect();
    let find = |n: &str| names.iter().position(|c| *c == n);
    let time = find("System-Time").ok_or(LineError::MissingColumn("System-Time"))?;
    let mut cols = Columns {
        time,
        mem_used: find("MEM-USED_SIZE"),
        mem_total: find("MEM-TOTAL_SIZE"),
        swap_used: find("SWAP-USED_SIZE"),
        swap_total: find("SWAP-TOTAL_SIZE"),
        gpu_load: find("IGPU0-CURR_LOAD"),
        ..Columns::default()
    };
    for (i, n) in names.iter().enumerate() {
        if let Some(zone) = n.strip_suffix("-CURR_TEMP") {
            let trip = find(&format!("{zone}-SW_THROTTLING_TEMP"));
            cols.zones.push((zone.to_string(), i, trip));
        } else if let Some(rail) = n.strip_suffix("-IN_POWER") {
            cols.rails.push((rail.to_string(), i));
        } else if let Some(cpu) = n.strip_prefix("CPU") {
            if cpu.ends_with("-CURR_LOAD") {
                cols.cpu_loads.push(i);
            }
        }
    }
    if cols.zones.is_empty() {
        return Err(LineError::MissingColumn("<zone>-CURR_TEMP"));
    }
    Ok(cols)
}

/// `HH:MM:SS[.fff]` → seconds of the day.
pub fn time_of_day(s: &str) -> Option<f64> {
    let p: Vec<&str> = s.split(':').collect();
    if p.len() != 3 {
        return None;
    }
    let h: u32 = p[0].parse().ok()?;
    let m: u32 = p[1].parse().ok()?;
    let sec: f64 = p[2].parse().ok()?;
    (h < 24 && m < 60 && (0.0..61.0).contains(&sec)).then(|| f64::from(h * 3600 + m * 60) + sec)
}

fn value(cell: Option<&&str>) -> Option<f64> {
    cell.and_then(|c| c.parse::<f64>().ok())
        .filter(|v| v.is_finite())
}

/// °C from `zone`'s temperature cell: offline sentinels → `None`, millidegrees scaled.
fn temperature(zone: &str, cell: Option<&&str>) -> Result<Option<f64>, LineError> {
    let Some(c) = cell else {
        return Err(LineError::ZoneMissing {
            zone: zone.to_string(),
        });
    };
    if c.is_empty() || *c == "-" {
        return Ok(None);
    }
    let v: f64 = c
        .parse()
        .ok()
        .filter(|v: &f64| v.is_finite())
        .ok_or_else(|| LineError::ZoneBadTemperature {
            zone: zone.to_string(),
            cell: c.to_string(),
        })?;
    Ok(if v <= -255.0 {
        None
    } else if v.abs() >= 1000.0 {
        Some(v / 1000.0)
    } else {
        Some(v)
    })
}

/// One data row → `(seconds of day, sample without t_s)`.
pub fn parse_row(cols: &Columns, line: &str) -> Result<(f64, TraceSample), LineError> {
    let cells: Vec<&str> = line.split(',').map(str::trim).collect();
    let t_cell = cells.get(cols.time).ok_or(LineError::TooShort)?;
    let t = time_of_day(t_cell).ok_or_else(|| LineError::BadTime {
        column: "System-Time",
        cell: t_cell.to_string(),
    })?;
    let mut s = TraceSample::default();
    for (zone, ti, trip) in &cols.zones {
        let temp = temperature(zone, cells.get(*ti))?;
        s.zones.push((zone.clone(), temp));
        if let Some(trip) = trip.and_then(|i| value(cells.get(i))) {
            s.trips.push((zone.clone(), trip));
        }
    }
    let get = |i: Option<usize>| i.and_then(|i| value(cells.get(i)));
    s.ram_used_mb = get(cols.mem_used);
    s.ram_total_mb = get(cols.mem_total);
    s.swap_used_mb = get(cols.swap_used);
    s.swap_total_mb = get(cols.swap_total);
    s.gpu_load_pct = get(cols.gpu_load);
    s.power_mw = cols
        .rails
        .iter()
        .filter_map(|(r, i)| value(cells.get(*i)).map(|v| (r.clone(), v)))
        .collect();
    let loads: Vec<f64> = cols
        .cpu_loads
        .iter()
        .filter_map(|&i| get(Some(i)))
        .collect();
    s.inputs.load_pct = (!loads.is_empty()).then(|| loads.iter().sum::<f64>() / loads.len() as f64);
    // CPUn-CURR_FREQ is the governor's choice, not a throttle label: no clock_mhz.
    s.inputs.power_w = super::board_power_w(&s.power_mw);
    Ok((t, s))
}

/// Parses the whole CSV (the caller sniffed the header).
pub fn parse(source: &str, text: &str) -> Trace {
    let mut trace = Trace {
        format: TraceFormat::OrinCsv,
        source: source.to_string(),
        samples: Vec::new(),
        skipped: Vec::new(),
        notes: vec!["MEM-*_SIZE columns read as MB".to_string()],
    };
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty());
    let Some((hn, header)) = lines.next() else {
        return trace;
    };
    let cols = match parse_header(header) {
        Ok(c) => c,
        Err(e) => {
            trace.skipped.push((hn + 1, e.to_string()));
            return trace;
        }
    };
    let mut times = Vec::new();
    let mut day = 0.0;
    let mut prev: Option<f64> = None;
    for (n, line) in lines {
        match parse_row(&cols, line) {
            Ok((tod, s)) => {
                // Past midnight: the clock wraps.
                if prev.is_some_and(|p| tod + day < p - 12.0 * 3600.0) {
                    day += 86400.0;
                }
                let t = tod + day;
                prev = Some(t);
                times.push(t);
                trace.samples.push(s);
            }
            Err(e) => trace.skipped.push((n + 1, e.to_string())),
        }
    }
    spread_same_second(&mut times);
    let t0 = times.first().copied().unwrap_or(0.0);
    for (s, t) in trace.samples.iter_mut().zip(times) {
        s.t_s = t - t0;
    }
    trace
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_and_row() {
        let cols = parse_header("System-Time,gpu-thermal-CURR_TEMP,gpu-thermal-SW_THROTTLING_TEMP,cv0-thermal-CURR_TEMP,MEM-USED_SIZE,MEM-TOTAL_SIZE").unwrap();
        assert_eq!(cols.zones.len(), 2);
        let (t, s) = parse_row(&cols, "01:00:02,61.5,112.0,-256000,100,200").unwrap();
        assert_eq!(t, 3602.0);
        assert_eq!(s.temp("gpu-thermal"), Some(61.5));
        assert_eq!(s.trip("gpu-thermal"), Some(112.0));
        assert_eq!(s.zones[1].1, None);
        assert_eq!(s.ram_total_mb, Some(200.0));
        assert!(parse_row(&cols, "xx,1,2,3,4,5")
            .unwrap_err()
            .to_string()
            .contains("System-Time"));
        assert!(parse_row(&cols, "01:00:02,hot,2,3,4,5")
            .unwrap_err()
            .to_string()
            .contains("gpu-thermal"));
        assert!(parse_header("a,b").is_err());
    }

    #[test]
    fn midnight_wraps() {
        let text = "System-Time,cpu-CURR_TEMP\n23:59:59,50\n00:00:00,51\n";
        let tr = parse("x", text);
        assert_eq!(tr.samples[1].t_s, 1.0);
    }
}
