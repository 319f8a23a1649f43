//! Plain CSV traces: header `time_s,<zone>,<zone>…`, one row per sample, °C.
//! Empty cells, `-`, `nan` and values ≤ −255 are offline readings.

use super::{LineError, Trace, TraceFormat, TraceSample};

/// `(time_s, [(zone, °C or offline)])` for one row.
pub type Row = (f64, Vec<(String, Option<f64>)>);

/// One data row; pure, for tests.
pub fn parse_row(zones: &[String], line: &str) -> Result<Row, LineError> {
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
    for (z, c) in zones.iter().zip(&cells[1..]) {
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
    Ok((t, temps))
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
            Ok((t, temps)) => {
                let base = *t0.get_or_insert(t);
                trace.samples.push(TraceSample {
                    t_s: t - base,
                    zones: temps,
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
        let (t, temps) = parse_row(&z, "1.5,40.25,").unwrap();
        assert_eq!(t, 1.5);
        assert_eq!(temps[0].1, Some(40.25));
        assert_eq!(temps[1].1, None);
        assert_eq!(parse_row(&z, "2,-256,41").unwrap().1[0].1, None);
        let parse_row = |z: &[String], l: &str| parse_row(z, l).map_err(|e| e.to_string());
        assert!(parse_row(&z, "x,1,2").unwrap_err().contains("time_s"));
        assert!(parse_row(&z, "1,2").unwrap_err().contains("columns"));
        assert!(parse_row(&z, "1,hot,2").unwrap_err().contains("gpu"));
    }
}
