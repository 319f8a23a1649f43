//! CPU: total and per-core utilisation from `/proc/stat` deltas, online state,
//! and cpufreq current frequency, hardware maximum and current cap.

use std::collections::HashMap;

use super::sysfs::{list_dir, parse_cpu_list, read_int, Pinned, Root};
use super::SampleError;
use crate::snapshot::{Cpu, CpuCore};

/// A malformed `/proc/stat`, naming the 1-based line that is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StatError {
    #[error("/proc/stat line {line}: bad number '{field}'")]
    BadNumber { line: usize, field: String },
    #[error("/proc/stat line {line}: too few fields")]
    TooFewFields { line: usize },
    #[error("/proc/stat line {line}: bad cpu label 'cpu{label}'")]
    BadLabel { line: usize, label: String },
    #[error("/proc/stat: no aggregate 'cpu' line")]
    NoAggregate,
}

/// Cumulative jiffies of one `cpu` line: busy and total.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct CpuTimes {
    pub busy: u64,
    pub total: u64,
}

/// One parsed `/proc/stat`: the aggregate line and each `cpuN` line present.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StatTimes {
    pub all: CpuTimes,
    pub cores: Vec<(u32, CpuTimes)>,
}

/// Parse the `cpu` lines of `/proc/stat` (pure; stops at the first non-cpu line).
pub fn parse_proc_stat(text: &str) -> Result<StatTimes, StatError> {
    let mut out = StatTimes::default();
    let mut saw_total = false;
    for (n, line) in text.lines().enumerate() {
        let Some(rest) = line.strip_prefix("cpu") else {
            if saw_total {
                break;
            }
            continue;
        };
        let mut fields = rest.split_ascii_whitespace();
        let label = if rest.starts_with(' ') {
            ""
        } else {
            fields.next().unwrap_or("")
        };
        let mut v = [0u64; 10];
        let mut count = 0;
        for (slot, f) in v.iter_mut().zip(fields) {
            *slot = f.parse().map_err(|_| StatError::BadNumber {
                line: n + 1,
                field: f.to_string(),
            })?;
            count += 1;
        }
        if count < 4 {
            return Err(StatError::TooFewFields { line: n + 1 });
        }
        // user nice system idle iowait irq softirq steal guest guest_nice;
        // guest time is already counted in user/nice.
        let idle = v[3] + v[4];
        let total: u64 = v[..8].iter().sum();
        let times = CpuTimes {
            busy: total.saturating_sub(idle),
            total,
        };
        if label.is_empty() {
            out.all = times;
            saw_total = true;
        } else {
            let id: u32 = label.parse().map_err(|_| StatError::BadLabel {
                line: n + 1,
                label: label.to_string(),
            })?;
            out.cores.push((id, times));
        }
    }
    if !saw_total {
        return Err(StatError::NoAggregate);
    }
    Ok(out)
}

/// Utilisation in percent between two cumulative readings; `None` if no time passed.
pub fn util_between(prev: CpuTimes, now: CpuTimes) -> Option<f64> {
    let dt = now.total.checked_sub(prev.total)?;
    if dt == 0 {
        return None;
    }
    let db = now.busy.saturating_sub(prev.busy).min(dt);
    Some(db as f64 * 100.0 / dt as f64)
}

#[derive(Debug)]
struct Core {
    id: u32,
    online: Option<Pinned>,
    cur: Option<Pinned>,
    cap: Option<Pinned>,
    max_mhz: Option<f64>,
    min_mhz: Option<f64>,
}

/// CPU probe with the previous `/proc/stat` reading for deltas.
#[derive(Debug)]
pub struct CpuProbe {
    stat: Pinned,
    online_list: Pinned,
    cores: Vec<Core>,
    prev: Option<StatTimes>,
}

fn khz_to_mhz(v: i64) -> f64 {
    v as f64 / 1000.0
}

impl CpuProbe {
    pub fn discover(root: &Root) -> Self {
        let base = root.path("sys/devices/system/cpu");
        let mut cores: Vec<Core> = list_dir(&base, "cpu")
            .into_iter()
            .filter_map(|(name, path)| {
                let id: u32 = name.strip_prefix("cpu")?.parse().ok()?;
                let freq = path.join("cpufreq");
                let has = |f: &str| freq.join(f).exists();
                Some(Core {
                    id,
                    online: path
                        .join("online")
                        .exists()
                        .then(|| Pinned::new(path.join("online"))),
                    cur: has("scaling_cur_freq")
                        .then(|| Pinned::new(freq.join("scaling_cur_freq"))),
                    cap: has("scaling_max_freq")
                        .then(|| Pinned::new(freq.join("scaling_max_freq"))),
                    max_mhz: read_int(&freq.join("cpuinfo_max_freq")).map(khz_to_mhz),
                    min_mhz: read_int(&freq.join("scaling_min_freq")).map(khz_to_mhz),
                })
            })
            .collect();
        cores.sort_by_key(|c| c.id);
        CpuProbe {
            stat: Pinned::new(root.path("proc/stat")),
            online_list: Pinned::new(base.join("online")),
            cores,
            prev: None,
        }
    }

    /// Sample utilisation and frequencies. Errors name the file that failed.
    pub fn sample(&mut self, out: &mut Cpu) -> Result<(), SampleError> {
        let stat = match self.stat.read() {
            Ok(text) => parse_proc_stat(text).map_err(SampleError::from),
            Err(e) => Err(SampleError::read(self.stat.path(), e)),
        };
        let online_set: Option<Vec<u32>> = self
            .online_list
            .read()
            .ok()
            .and_then(|s| parse_cpu_list(s).ok());
        let (stat, err) = match stat {
            Ok(s) => (Some(s), None),
            Err(e) => (None, Some(e)),
        };
        let prev_cores: HashMap<u32, CpuTimes> = self
            .prev
            .as_ref()
            .map(|p| p.cores.iter().copied().collect())
            .unwrap_or_default();
        out.util_pct = match (&self.prev, &stat) {
            (Some(p), Some(s)) => util_between(p.all, s.all),
            _ => None,
        };
        let now_cores: HashMap<u32, CpuTimes> = stat
            .as_ref()
            .map(|s| s.cores.iter().copied().collect())
            .unwrap_or_default();
        // Without a sysfs cpu tree (some containers), fall back to /proc/stat's cores.
        let ids: Vec<u32> = if self.cores.is_empty() {
            let mut v: Vec<u32> = now_cores.keys().copied().collect();
            v.sort_unstable();
            v
        } else {
            self.cores.iter().map(|c| c.id).collect()
        };
        for id in ids {
            let core = self.cores.iter_mut().find(|c| c.id == id);
            // The `online` list is one read for all cores; per-core files are the
            // fallback, and a core with neither (cpu0 usually) is online.
            let online = online_set.as_ref().is_none_or(|set| set.contains(&id));
            let mut c = CpuCore {
                id,
                online,
                ..Default::default()
            };
            if let Some(core) = core {
                if online_set.is_none() {
                    if let Some(f) = core.online.as_mut() {
                        c.online = f.read_int().is_none_or(|v| v != 0);
                    }
                }
                c.max_freq_mhz = core.max_mhz;
                c.min_freq_mhz = core.min_mhz;
                if c.online {
                    c.freq_mhz = core.cur.as_mut().and_then(Pinned::read_int).map(khz_to_mhz);
                    c.cap_mhz = core.cap.as_mut().and_then(Pinned::read_int).map(khz_to_mhz);
                }
            }
            c.util_pct = match (prev_cores.get(&id), now_cores.get(&id)) {
                (Some(p), Some(n)) if c.online => util_between(*p, *n),
                _ => None,
            };
            out.cores.push(c);
        }
        if let Some(s) = stat {
            self.prev = Some(s);
        }
        match err {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Re-read the slow-changing values (`scaling_min_freq`) at rediscovery.
    pub fn refresh_static(&mut self, root: &Root) {
        let base = root.path("sys/devices/system/cpu");
        for c in &mut self.cores {
            let freq = base.join(format!("cpu{}", c.id)).join("cpufreq");
            c.min_mhz = read_int(&freq.join("scaling_min_freq")).map(khz_to_mhz);
            c.max_mhz = read_int(&freq.join("cpuinfo_max_freq"))
                .map(khz_to_mhz)
                .or(c.max_mhz);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STAT: &str = "cpu  100 0 50 800 50 0 0 0 0 0\n\
cpu0 50 0 25 400 25 0 0 0 0 0\n\
cpu2 50 0 25 400 25 0 0 0 0 0\n\
intr 12345 1 2 3\n\
ctxt 999\n";

    #[test]
    fn parses_aggregate_and_present_cores() {
        let s = parse_proc_stat(STAT).unwrap();
        assert_eq!(
            s.all,
            CpuTimes {
                busy: 150,
                total: 1000
            }
        );
        assert_eq!(s.cores.iter().map(|c| c.0).collect::<Vec<_>>(), vec![0, 2]);
        assert_eq!(
            s.cores[0].1,
            CpuTimes {
                busy: 75,
                total: 500
            }
        );
    }

    #[test]
    fn utilisation_is_a_delta() {
        let a = CpuTimes {
            busy: 100,
            total: 1000,
        };
        let b = CpuTimes {
            busy: 150,
            total: 1100,
        };
        assert_eq!(util_between(a, b), Some(50.0));
        assert_eq!(util_between(a, a), None);
        // A counter reset (total going backwards) yields no value, not garbage.
        assert_eq!(util_between(b, a), None);
    }

    #[test]
    fn bad_stat_is_an_error_naming_the_line() {
        let e = parse_proc_stat("cpu  1 2 x 4\n").unwrap_err().to_string();
        assert!(e.contains("line 1"), "{e}");
        assert!(parse_proc_stat("intr 1 2 3\n").is_err());
    }
}
