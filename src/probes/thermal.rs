//! Thermal zones (`/sys/class/thermal/thermal_zone*`): temperature, mode, trip
//! points, offline detection, and cooling devices (`cooling_device*`).
//!
//! Offline is a state with a reason, never a number: `-256000` (power-gated on
//! L4T 35), `EAGAIN`/`EINVAL`/`ENODATA` (newer kernels), empty reads, and the
//! fixed `PMIC-Die` placeholder are all reported offline.

use std::io;
use std::path::PathBuf;

use super::sysfs::{list_dir, read_int, read_trimmed, Pinned, Root};
use crate::snapshot::{CoolingDevice, ThermalZone, Trip};

/// Where the kernel keeps zones; the class directory holds symlinks into the
/// virtual one, so either works (captured trees often have only the latter).
const ZONE_DIRS: [&str; 2] = ["sys/class/thermal", "sys/devices/virtual/thermal"];

/// Why a temperature read is offline rather than a number.
#[derive(Debug, thiserror::Error)]
pub enum OfflineReason {
    /// The read itself failed (named as in [`describe_read_error`]).
    #[error("{}", describe_read_error(.0))]
    Read(io::Error),
    /// The file held nothing but whitespace.
    #[error("empty read")]
    Empty,
    /// The text is not an integer (first 16 characters kept).
    #[error("unparsable value '{0}'")]
    Unparsable(String),
    /// The L4T 35 sentinel for a power-gated sensor.
    #[error("power-gated (-256000)")]
    PowerGated,
    /// A number outside −100…250 °C.
    #[error("implausible reading {0} °C")]
    Implausible(f64),
}

/// Classify one raw `temp` read: `Ok(°C)` or `Err(offline reason)`.
pub fn classify_temp(read: io::Result<&str>) -> Result<f64, OfflineReason> {
    let text = match read {
        Ok(t) => t,
        Err(e) => return Err(OfflineReason::Read(e)),
    };
    let t = text.trim_matches(|c: char| c.is_whitespace() || c == '\0');
    if t.is_empty() {
        return Err(OfflineReason::Empty);
    }
    let milli: i64 = t
        .parse()
        .map_err(|_| OfflineReason::Unparsable(t.chars().take(16).collect()))?;
    if milli == -256000 {
        return Err(OfflineReason::PowerGated);
    }
    let c = milli as f64 / 1000.0;
    if !(-100.0..=250.0).contains(&c) {
        return Err(OfflineReason::Implausible(c));
    }
    Ok(c)
}

/// Name the read errors the Jetson kernels use for gated sensors.
pub fn describe_read_error(e: &io::Error) -> String {
    match e.raw_os_error() {
        Some(libc::EAGAIN) => "sensor unavailable (EAGAIN, power-gated)".to_string(),
        Some(libc::EINVAL) => "invalid read (EINVAL)".to_string(),
        Some(libc::ENODATA) => "no data (ENODATA)".to_string(),
        Some(libc::EIO) => "I/O error (EIO)".to_string(),
        Some(libc::ENOENT) => "no temp file".to_string(),
        Some(libc::EISDIR) => "unreadable (EISDIR)".to_string(),
        _ => format!("read failed: {e}"),
    }
}

/// `PMIC-Die` reports a constant (100 °C or 50 °C) on every Jetson: not a sensor.
pub fn is_placeholder_zone(name: &str) -> bool {
    name.to_ascii_uppercase().contains("PMIC")
}

/// Parse `trip_point_N_type`/`_temp` pairs into trips; unreadable pairs are skipped.
pub fn parse_trip(kind: Option<&str>, temp: Option<&str>) -> Option<Trip> {
    let kind = kind?.trim();
    let milli: i64 = temp?.trim().parse().ok()?;
    // Disabled trips are often written as very large or negative values.
    if kind.is_empty() || milli <= -273000 || milli >= 1_000_000 {
        return None;
    }
    Some(Trip {
        kind: kind.to_string(),
        temp_c: milli as f64 / 1000.0,
    })
}

#[derive(Debug)]
struct Zone {
    id: String,
    name: String,
    mode: Option<String>,
    trips: Vec<Trip>,
    temp: Pinned,
}

#[derive(Debug)]
struct Cooling {
    id: String,
    kind: String,
    max_state: Option<u64>,
    cur: Pinned,
}

/// Discovered zones and cooling devices, with their value files kept open.
#[derive(Debug, Default)]
pub struct ThermalProbe {
    zones: Vec<Zone>,
    cooling: Vec<Cooling>,
}

impl ThermalProbe {
    /// Walk the thermal class directory under `root` once.
    pub fn discover(root: &Root) -> Self {
        let Some(dir) = ZONE_DIRS.iter().map(|d| root.path(d)).find(|p| p.is_dir()) else {
            return ThermalProbe::default();
        };
        let zones = list_dir(&dir, "thermal_zone")
            .into_iter()
            .map(|(id, path)| discover_zone(id, path))
            .collect();
        let cooling = list_dir(&dir, "cooling_device")
            .into_iter()
            .map(|(id, path)| Cooling {
                kind: read_trimmed(&path.join("type")).unwrap_or_else(|| id.clone()),
                max_state: read_int(&path.join("max_state")).and_then(|v| u64::try_from(v).ok()),
                cur: Pinned::new(path.join("cur_state")),
                id,
            })
            .collect();
        ThermalProbe { zones, cooling }
    }

    /// Read every zone's temperature.
    pub fn sample_zones(&mut self, out: &mut Vec<ThermalZone>) {
        for z in &mut self.zones {
            let (temp_c, offline_reason) = if is_placeholder_zone(&z.name) {
                (
                    None,
                    Some("fixed placeholder value, not a sensor".to_string()),
                )
            } else {
                // One read per sample; a disabled zone with nothing to read says so.
                let read = z.temp.read();
                let blank = read.as_ref().map_or(true, |t| {
                    t.trim_matches(|c: char| c.is_whitespace() || c == '\0')
                        .is_empty()
                });
                match classify_temp(read) {
                    Ok(c) => (Some(c), None),
                    Err(_) if blank && z.mode.as_deref() == Some("disabled") => {
                        (None, Some("zone disabled".to_string()))
                    }
                    Err(reason) => (None, Some(reason.to_string())),
                }
            };
            out.push(ThermalZone {
                id: z.id.clone(),
                name: z.name.clone(),
                source: "zone".to_string(),
                online: temp_c.is_some(),
                temp_c,
                offline_reason,
                mode: z.mode.clone(),
                trips: z.trips.clone(),
            });
        }
    }

    /// Read every cooling device's current state.
    pub fn sample_cooling(&mut self, out: &mut Vec<CoolingDevice>) {
        for c in &mut self.cooling {
            out.push(CoolingDevice {
                id: c.id.clone(),
                kind: c.kind.clone(),
                cur_state: c.cur.read_int().and_then(|v| u64::try_from(v).ok()),
                max_state: c.max_state,
            });
        }
    }

    /// Zone types, for telling generic hwmon mirrors apart from real sensors.
    pub fn zone_names(&self) -> impl Iterator<Item = &str> {
        self.zones.iter().map(|z| z.name.as_str())
    }
}

fn discover_zone(id: String, path: PathBuf) -> Zone {
    let name = read_trimmed(&path.join("type")).unwrap_or_else(|| id.clone());
    let mut trips = Vec::new();
    for n in 0..32 {
        let kind = read_trimmed(&path.join(format!("trip_point_{n}_type")));
        let temp = read_trimmed(&path.join(format!("trip_point_{n}_temp")));
        if kind.is_none() && temp.is_none() {
            break;
        }
        if let Some(t) = parse_trip(kind.as_deref(), temp.as_deref()) {
            trips.push(t);
        }
    }
    Zone {
        mode: read_trimmed(&path.join("mode")),
        temp: Pinned::new(path.join("temp")),
        name,
        trips,
        id,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn millidegrees_become_celsius() {
        let classify_temp = |r| classify_temp(r).map_err(|e| e.to_string());
        assert_eq!(classify_temp(Ok("41375\n")), Ok(41.375));
        assert_eq!(classify_temp(Ok("-5000")), Ok(-5.0));
    }

    #[test]
    fn gated_and_broken_reads_are_offline_never_zero() {
        let classify_temp = |r| classify_temp(r).map_err(|e| e.to_string());
        assert_eq!(
            classify_temp(Ok("-256000\n")),
            Err("power-gated (-256000)".into())
        );
        assert_eq!(classify_temp(Ok("")), Err("empty read".into()));
        assert_eq!(classify_temp(Ok("\n")), Err("empty read".into()));
        let eagain = io::Error::from_raw_os_error(libc::EAGAIN);
        assert!(classify_temp(Err(eagain)).unwrap_err().contains("EAGAIN"));
        let einval = io::Error::from_raw_os_error(libc::EINVAL);
        assert!(classify_temp(Err(einval)).unwrap_err().contains("EINVAL"));
        assert!(classify_temp(Ok("abc")).unwrap_err().contains("unparsable"));
        assert!(classify_temp(Ok("999999"))
            .unwrap_err()
            .contains("implausible"));
    }

    #[test]
    fn pmic_is_a_placeholder() {
        assert!(is_placeholder_zone("PMIC-Die"));
        assert!(!is_placeholder_zone("CPU-therm"));
    }

    #[test]
    fn trips_parse_and_skip_disabled() {
        assert_eq!(
            parse_trip(Some("passive\n"), Some("99000\n")),
            Some(Trip {
                kind: "passive".into(),
                temp_c: 99.0
            })
        );
        assert_eq!(parse_trip(Some("critical"), Some("-274000")), None);
        assert_eq!(parse_trip(None, Some("99000")), None);
        assert_eq!(parse_trip(Some("hot"), Some("x")), None);
    }
}
