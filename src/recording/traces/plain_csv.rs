//! Plain CSV traces: header `time_s,<column>,…`, one row per sample. Columns
//! named after an [`InputColumn`] (`load_pct`, `gpu_load_pct`, `power_w`,
//! `clock_mhz`, `throttled`) are inputs and labels; every other column is a
//! zone in °C. Empty cells, `-`, `nan` and values ≤ −255 are offline readings
//! (an empty input cell is a missing value).

use super::{InputColumn, Inputs, LineError, Trace, TraceFormat, TraceSample};

/// One parsed row: time, `(zone, °C or offline)`, inputs.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub t_s: f64,
    pub zones: Vec<(String, Option<f64>)>,
    pub inputs: Inputs,
    pub gpu_load_pct: Option<f64>,
}

/// An input cell: a number, or missing when empty/`-`/`nan`.
fn input_cell(col: InputColumn, c: &str) -> Result<Option<f64>, LineError> {
    if c.is_empty() || c == "-" || c.eq_ignore_ascii_case("nan") {
        return Ok(None);
    }
    let v: f64 = c
        .parse()
        .ok()
        .filter(|v: &f64| v.is_finite())
        .ok_or_else(|| LineError::BadInput {
            column: col.as_str(),
            cell: c.to_string(),
        })?;
    if col == InputColumn::Throttled && v != 0.0 && v != 1.0 {
        return Err(LineError::BadInput {
            column: col.as_str(),
            cell: c.to_string(),
        });
    }
    Ok(Some(v))
}

/// One data row under the header's column names (after `time_s`); pure.
pub fn parse_row(columns: &[String], line: &str) -> Result<Row, LineError> {
    let zones = columns;
    let cells: Vec<&str> = line.split(',').map(str::trim).collect();
    if cells.len() != zones.len() + 1 {
        return Err(LineError::ColumnCount {
            expected: zones.len() + 1,
            found: cells.len(),
        });
    }
    let t: f64 = cells[0]
        .parse()
        .ok()
        .filter(|v: &f64| v.is_finite())
        .ok_or_else(|| LineError::BadTime {
            column: "time_s",
            cell: cells[0].to_string(),
        })?;
    let mut temps = Vec::with_capacity(zones.len());
    let mut inputs = Inputs::default();
    let mut gpu_load_pct = None;
    for (z, c) in zones.iter().zip(&cells[1..]) {
        if let Some(col) = InputColumn::from_name(z) {
            let v = input_cell(col, c)?;
            match col {
                InputColumn::LoadPct => inputs.load_pct = v,
                InputColumn::PowerW => inputs.power_w = v,
                InputColumn::ClockMhz => inputs.clock_mhz = v,
                InputColumn::Throttled => inputs.throttled = v.map(|v| v != 0.0),
                InputColumn::GpuLoadPct => gpu_load_pct = v,
            }
            continue;
        }
        let v = if c.is_empty() || *c == "-" || c.eq_ignore_ascii_case("nan") {
            None
        } else {
            let v: f64 = c
                .parse()
                .ok()
                .filter(|v: &f64| v.is_finite())
                .ok_or_else(|| LineError::BadTemperature {
                    zone: z.clone(),
                    cell: c.to_string(),
                })?;
            (v > -255.0).then_some(v)
        };
        temps.push((z.clone(), v));
    }
    Ok(Row {
        t_s: t,
        zones: temps,
        inputs,
        gpu_load_pct,
    })
}

/// Parses a whole plain CSV trace (the caller sniffed the `time_s,` header).
pub fn parse(source: &str, text: &str) -> Trace {
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty());
    let mut trace = Trace {
        format: TraceFormat::PlainCsv,
        source: source.to_string(),
        samples: Vec::new(),
        skipped: Vec::new(),
        notes: Vec::new(),
    };
    let Some((_, header)) = lines.next() else {
        return trace;
    };
    let zones: Vec<String> = header
        .trim_start_matches('\u{feff}')
        .split(',')
        .skip(1)
        .map(|z| z.trim().to_string())
        .collect();
    let mut t0 = None;
    for (n, line) in lines {
        match parse_row(&zones, line) {
            Ok(row) => {
                let base = *t0.get_or_insert(row.t_s);
                trace.samples.push(TraceSample {
                    t_s: row.t_s - base,
                    zones: row.zones,
                    gpu_load_pct: row.gpu_load_pct,
                    inputs: row.inputs,
                    ..TraceSample::default()
                });
            }
            Err(e) => trace.skipped.push((n + 1, e.to_string())),
        }
    }
    trace
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_and_errors() {
        let z = vec!["gpu".to_string(), "cpu".to_string()];
        let row = parse_row(&z, "1.5,40.25,").unwrap();
        assert_eq!(row.t_s, 1.5);
        assert_eq!(row.zones[0].1, Some(40.25));
        assert_eq!(row.zones[1].1, None);
        assert_eq!(parse_row(&z, "2,-256,41").unwrap().zones[0].1, None);
        let parse_row = |z: &[String], l: &str| parse_row(z, l).map_err(|e| e.to_string());
        assert!(parse_row(&z, "x,1,2").unwrap_err().contains("time_s"));
        assert!(parse_row(&z, "1,2").unwrap_err().contains("columns"));
        assert!(parse_row(&z, "1,hot,2").unwrap_err().contains("gpu"));
    }

    /// The shared throttle traces' layout: only `cpu` is a zone.
    #[test]
    fn load_power_clock_and_throttled_are_inputs_not_zones() {
        let text = "time_s,cpu,load_pct,power_w,clock_mhz,gpu_load_pct,throttled\n\
                    0,50.5,97,6.5,2000,10,0\n1,51,,7,1900,,1\n";
        let tr = parse("t.csv", text);
        assert!(tr.skipped.is_empty(), "{:?}", tr.skipped);
        assert_eq!(tr.zone_names(), vec!["cpu".to_string()]);
        let (a, b) = (&tr.samples[0], &tr.samples[1]);
        assert_eq!(a.inputs.load_pct, Some(97.0));
        assert_eq!(a.inputs.power_w, Some(6.5));
        assert_eq!(a.inputs.clock_mhz, Some(2000.0));
        assert_eq!(a.inputs.throttled, Some(false));
        assert_eq!(a.gpu_load_pct, Some(10.0));
        assert_eq!(b.inputs.load_pct, None);
        assert_eq!(b.gpu_load_pct, None);
        assert_eq!(b.inputs.throttled, Some(true));
        let bad = parse("t.csv", "time_s,cpu,throttled\n0,50,2\n0,50,x\n");
        assert_eq!(bad.skipped.len(), 2);
        assert_eq!(bad.skipped[0], (2, "bad throttled \"2\"".to_string()));
    }
}
