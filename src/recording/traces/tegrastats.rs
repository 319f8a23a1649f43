//! tegrastats lines: pure parsing of one line into a [`TegraSample`].
//!
//! Handles every generation seen in the wild: optional `MM-DD-YYYY HH:MM:SS`
//! prefix; `RAM u/tMB (lfb NxSMB)`, `SWAP u/tMB (cached NMB)`, `IRAM u/tkB(lfb NkB)`;
//! `CPU [x%@MHz,off,…]`; engines `NAME x%`, `x%@MHz`, `x%@[a,b]`, `off`, `NAME MHz`;
//! temperatures `name@T C`, `JetPack` 7 `name@T1C/T2C`, and `name@-256C` (offline);
//! rails `NAME cur/avg` with or without `mW`, `JetPack` 7 `cur/avg/max`.
//! Unknown tokens are ignored (forward compatible); a known key with a malformed
//! value is an error naming the token.

use serde::Serialize;

/// tegrastats' default `--interval` is 1000 ms; used when lines carry no time.
pub const DEFAULT_INTERVAL_S: f64 = 1.0;

/// One tegrastats line that could not be parsed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct ParseError(pub String);

fn err<T>(msg: impl Into<String>) -> Result<T, ParseError> {
    Err(ParseError(msg.into()))
}

/// A CPU core: `None` in [`TegraSample::cpus`] means the core is off.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct CpuCore {
    pub load_pct: f64,
    pub freq_mhz: Option<f64>,
}

/// An engine such as `GR3D_FREQ 40%@[305,305]`, `EMC_FREQ 0%@2133`, `APE 174`, `NVENC off`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Engine {
    pub name: String,
    /// `false` for `off`.
    pub on: bool,
    pub load_pct: Option<f64>,
    /// One value, or one per GPC for `x%@[a,b]`.
    pub freq_mhz: Vec<f64>,
}

/// A power rail: values in mW (current, average, and on `JetPack` 7 a third one).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rail {
    pub name: String,
    pub values_mw: Vec<f64>,
}

/// Everything one tegrastats line says.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct TegraSample {
    /// Seconds since 1970-01-01 of the `MM-DD-YYYY HH:MM:SS` prefix (clock time,
    /// no zone), when present.
    pub timestamp_s: Option<f64>,
    pub ram_used_mb: Option<f64>,
    pub ram_total_mb: Option<f64>,
    pub swap_used_mb: Option<f64>,
    pub swap_total_mb: Option<f64>,
    pub swap_cached_mb: Option<f64>,
    pub iram_used_kb: Option<f64>,
    pub iram_total_kb: Option<f64>,
    /// Largest free block: (count, block size MB).
    pub lfb: Option<(f64, f64)>,
    pub cpus: Vec<Option<CpuCore>>,
    pub engines: Vec<Engine>,
    /// `(name, °C)`; `None` = offline (`@-256C`).
    pub temps: Vec<(String, Option<f64>)>,
    pub rails: Vec<Rail>,
}

impl TegraSample {
    pub fn engine(&self, name: &str) -> Option<&Engine> {
        self.engines.iter().find(|e| e.name == name)
    }
}

fn num(s: &str, what: &str) -> Result<f64, ParseError> {
    match s.trim().parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        _ => err(format!("bad number {s:?} in {what}")),
    }
}

/// `u/tMB` or `u/tkB` → (u, t).
fn used_total(tok: &str, unit: &str, what: &str) -> Result<(f64, f64), ParseError> {
    let body = tok
        .strip_suffix(unit)
        .ok_or_else(|| ParseError(format!("{what}: expected u/t{unit}, got {tok:?}")))?;
    let (u, t) = body
        .split_once('/')
        .ok_or_else(|| ParseError(format!("{what}: expected u/t{unit}, got {tok:?}")))?;
    Ok((num(u, what)?, num(t, what)?))
}

/// `MM-DD-YYYY` + `HH:MM:SS` → seconds since the epoch (proleptic Gregorian, no zone).
fn date_time(date: &str, time: &str) -> Option<f64> {
    let d: Vec<&str> = date.split('-').collect();
    let t: Vec<&str> = time.split(':').collect();
    if d.len() != 3 || t.len() != 3 || d[2].len() != 4 {
        return None;
    }
    let (mo, da, yr) = (
        d[0].parse::<u32>().ok()?,
        d[1].parse::<u32>().ok()?,
        d[2].parse::<i64>().ok()?,
    );
    let (h, mi) = (t[0].parse::<u32>().ok()?, t[1].parse::<u32>().ok()?);
    let s = t[2].parse::<f64>().ok()?;
    if !(1..=12).contains(&mo)
        || !(1..=31).contains(&da)
        || h > 23
        || mi > 59
        || !(0.0..61.0).contains(&s)
    {
        return None;
    }
    Some(days_from_civil(yr, mo, da) as f64 * 86400.0 + f64::from(h * 3600 + mi * 60) + s)
}

/// Days since 1970-01-01 (Howard Hinnant's algorithm).
pub(crate) fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

/// `name@T C` (also `T1C/T2C`): `Some((name, temp))` when the token is a temperature.
fn temperature(tok: &str) -> Option<Result<(String, Option<f64>), ParseError>> {
    let (name, val) = tok.rsplit_once('@')?;
    if name.is_empty() || val.starts_with('[') || !val.ends_with('C') {
        return None;
    }
    let first = val.split('/').next().unwrap_or(val);
    let v = first.strip_suffix('C')?;
    Some(match v.parse::<f64>() {
        Ok(t) if t <= -255.0 => Ok((name.to_string(), None)),
        Ok(t) if t.is_finite() => Ok((name.to_string(), Some(t))),
        _ => Err(ParseError(format!("bad temperature {tok:?}"))),
    })
}

/// `a/b[/c]` with optional `mW` on each part → rail values.
fn rail_values(tok: &str) -> Option<Vec<f64>> {
    if !tok.contains('/') {
        return None;
    }
    tok.split('/')
        .map(|p| {
            let p = p.strip_suffix("mW").unwrap_or(p);
            p.parse::<f64>().ok().filter(|v| v.is_finite())
        })
        .collect()
}

/// `x%`, `x%@MHz`, `x%@[a,b]`, `off`, `MHz` → engine fields.
fn engine_value(tok: &str) -> Option<(bool, Option<f64>, Vec<f64>)> {
    if tok == "off" {
        return Some((false, None, Vec::new()));
    }
    if let Some((load, freq)) = tok.split_once("%@") {
        let load = load.parse::<f64>().ok()?;
        let freqs = if let Some(inner) = freq.strip_prefix('[').and_then(|f| f.strip_suffix(']')) {
            inner
                .split(',')
                .map(|f| f.trim().parse::<f64>().ok())
                .collect::<Option<Vec<f64>>>()?
        } else {
            vec![freq.parse::<f64>().ok()?]
        };
        return Some((true, Some(load), freqs));
    }
    if let Some(load) = tok.strip_suffix('%') {
        return Some((true, Some(load.parse::<f64>().ok()?), Vec::new()));
    }
    tok.parse::<f64>().ok().map(|f| (true, None, vec![f]))
}

fn is_name(tok: &str) -> bool {
    tok.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && tok
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.')
}

/// Parses one tegrastats line. Errors when a known field is malformed or when the
/// line has neither memory nor temperatures (it is not a tegrastats line).
pub fn parse_line(line: &str) -> Result<TegraSample, ParseError> {
    let toks: Vec<&str> = line.split_whitespace().collect();
    let mut s = TegraSample::default();
    let mut i = 0;
    if toks.len() >= 2 && toks[0].len() == 10 && toks[0].as_bytes()[2] == b'-' {
        match date_time(toks[0], toks[1]) {
            Some(ts) => s.timestamp_s = Some(ts),
            None => return err(format!("bad date prefix {:?} {:?}", toks[0], toks[1])),
        }
        i = 2;
    }
    while i < toks.len() {
        let tok = toks[i];
        let next = toks.get(i + 1).copied();
        match (tok, next) {
            ("RAM", Some(v)) => {
                let (u, t) = used_total(v, "MB", "RAM")?;
                s.ram_used_mb = Some(u);
                s.ram_total_mb = Some(t);
                i += 2;
                if toks.get(i) == Some(&"(lfb") {
                    if let Some(lfb) = toks.get(i + 1) {
                        s.lfb = parse_lfb(lfb);
                    }
                    i += 2;
                }
            }
            ("SWAP", Some(v)) => {
                let (u, t) = used_total(v, "MB", "SWAP")?;
                s.swap_used_mb = Some(u);
                s.swap_total_mb = Some(t);
                i += 2;
                if toks.get(i) == Some(&"(cached") {
                    if let Some(c) = toks.get(i + 1) {
                        s.swap_cached_mb = c
                            .trim_end_matches(')')
                            .strip_suffix("MB")
                            .and_then(|c| c.parse().ok());
                    }
                    i += 2;
                }
            }
            ("IRAM", Some(v)) => {
                // `0/252kB(lfb 252kB)`: the lfb part is glued to the value.
                let body = v.split('(').next().unwrap_or(v);
                let (u, t) = used_total(body, "kB", "IRAM")?;
                s.iram_used_kb = Some(u);
                s.iram_total_kb = Some(t);
                i += 2;
                if v.contains('(') && toks.get(i).is_some_and(|t| t.ends_with(')')) {
                    i += 1;
                }
            }
            ("CPU", Some(v)) if v.starts_with('[') => {
                s.cpus = parse_cpus(v)?;
                i += 2;
            }
            ("MTS", _) => {
                // TX2: `MTS fg 0% bg 0%`.
                i += 1;
                while i + 1 < toks.len() && (toks[i] == "fg" || toks[i] == "bg") {
                    i += 2;
                }
            }
            _ => {
                if let Some(t) = temperature(tok) {
                    s.temps.push(t?);
                    i += 1;
                    continue;
                }
                if is_name(tok) {
                    if let Some(v) = next {
                        if let Some(values) = rail_values(v) {
                            s.rails.push(Rail {
                                name: tok.to_string(),
                                values_mw: values,
                            });
                            i += 2;
                            continue;
                        }
                        if let Some((on, load_pct, freq_mhz)) = engine_value(v) {
                            s.engines.push(Engine {
                                name: tok.to_string(),
                                on,
                                load_pct,
                                freq_mhz,
                            });
                            i += 2;
                            continue;
                        }
                    }
                }
                // Unknown token: ignored.
                i += 1;
            }
        }
    }
    if s.ram_used_mb.is_none() && s.temps.is_empty() {
        return err("not a tegrastats line (no RAM field and no temperatures)");
    }
    Ok(s)
}

fn parse_lfb(tok: &str) -> Option<(f64, f64)> {
    let body = tok.trim_end_matches(')').strip_suffix("MB")?;
    let (n, size) = body.split_once('x')?;
    Some((n.parse().ok()?, size.parse().ok()?))
}

fn parse_cpus(tok: &str) -> Result<Vec<Option<CpuCore>>, ParseError> {
    let inner = tok
        .strip_prefix('[')
        .and_then(|t| t.strip_suffix(']'))
        .ok_or_else(|| ParseError(format!("CPU list not in brackets: {tok:?}")))?;
    inner
        .split(',')
        .map(|c| {
            if c == "off" {
                return Ok(None);
            }
            let (load, freq) = match c.split_once("%@") {
                Some((l, f)) => (l, Some(f)),
                None => (c.strip_suffix('%').unwrap_or(c), None),
            };
            Ok(Some(CpuCore {
                load_pct: num(load, "CPU")?,
                freq_mhz: freq.map(|f| num(f, "CPU")).transpose()?,
            }))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jp7_three_value_rails_and_two_value_temps() {
        let s = parse_line(
            "RAM 3000/62841MB (lfb 3x4MB) SWAP 0/31421MB (cached 0MB) CPU [1%@729,off] \
             GR3D_FREQ 0% cpu@52.968C/52.968C gpu@-256C VDD_GPU_SOC 2801mW/2801mW/3201mW",
        )
        .unwrap();
        assert_eq!(s.temps[0], ("cpu".to_string(), Some(52.968)));
        assert_eq!(s.temps[1], ("gpu".to_string(), None));
        assert_eq!(s.rails[0].values_mw, vec![2801.0, 2801.0, 3201.0]);
        assert_eq!(
            s.cpus,
            vec![
                Some(CpuCore {
                    load_pct: 1.0,
                    freq_mhz: Some(729.0)
                }),
                None
            ]
        );
    }

    #[test]
    fn date_prefix_is_epoch_seconds() {
        let s = parse_line("01-02-1970 00:00:10 RAM 1/2MB CPU@40C").unwrap();
        assert_eq!(s.timestamp_s, Some(86400.0 + 10.0));
    }

    #[test]
    fn errors_name_the_problem() {
        let e = parse_line("RAM abc/12MB CPU@40C").unwrap_err();
        assert!(e.0.contains("RAM"), "{e}");
        let e = parse_line("hello world").unwrap_err();
        assert!(e.0.contains("not a tegrastats line"), "{e}");
        assert!(parse_line("CPU@4x0C RAM 1/2MB").is_err());
        assert!(parse_line("").is_err());
    }
}
