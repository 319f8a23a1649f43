//! Memory: `/proc/meminfo` (total, available, used, swap, Jetson `NvMapMemUsed`)
//! and the resident set size of watched processes (by PID or by name).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::sysfs::{list_dir, read_trimmed, Pinned, Root};
use super::SampleError;
use crate::snapshot::{Memory, WatchedProcess};

/// Parse `/proc/meminfo` (pure). Missing fields stay `None`.
pub fn parse_meminfo(text: &str) -> Memory {
    let mut total = None;
    let mut avail = None;
    let mut free = None;
    let mut buffers = None;
    let mut cached = None;
    let mut swap_total = None;
    let mut swap_free = None;
    let mut nvmap = None;
    for line in text.lines() {
        let Some((key, rest)) = line.split_once(':') else {
            continue;
        };
        let mb = || -> Option<f64> {
            let mut it = rest.split_ascii_whitespace();
            let v: f64 = it.next()?.parse().ok()?;
            Some(match it.next() {
                Some("kB") | None => v / 1024.0,
                Some("MB") => v,
                Some("GB") => v * 1024.0,
                Some(_) => v / 1024.0,
            })
        };
        match key {
            "MemTotal" => total = mb(),
            "MemAvailable" => avail = mb(),
            "MemFree" => free = mb(),
            "Buffers" => buffers = mb(),
            "Cached" => cached = mb(),
            "SwapTotal" => swap_total = mb(),
            "SwapFree" => swap_free = mb(),
            "NvMapMemUsed" => nvmap = mb(),
            _ => {}
        }
    }
    // Kernels before 3.14 lack MemAvailable: estimate it the way `free` did.
    let available = avail.or_else(|| Some(free? + buffers.unwrap_or(0.0) + cached.unwrap_or(0.0)));
    Memory {
        total_mb: total,
        available_mb: available,
        used_mb: match (total, available) {
            (Some(t), Some(a)) => Some((t - a).max(0.0)),
            _ => None,
        },
        swap_total_mb: swap_total,
        swap_used_mb: match (swap_total, swap_free) {
            (Some(t), Some(f)) => Some((t - f).max(0.0)),
            _ => None,
        },
        nvmap_mb: nvmap,
    }
}

/// Parse `/proc/PID/status` into `(Name, VmRSS in MB)`. A kernel thread or
/// zombie has no `VmRSS` line: its RSS is `None`.
pub fn parse_status(text: &str) -> (Option<String>, Option<f64>) {
    let mut name = None;
    let mut rss = None;
    for line in text.lines() {
        if let Some(v) = line.strip_prefix("Name:") {
            name = Some(v.trim().to_string());
        } else if let Some(v) = line.strip_prefix("VmRSS:") {
            rss = v
                .split_ascii_whitespace()
                .next()
                .and_then(|n| n.parse::<f64>().ok())
                .map(|kb| kb / 1024.0);
        }
    }
    (name, rss)
}

/// Which processes to watch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Watch {
    Pid(u32),
    Name(String),
}

#[derive(Debug)]
struct Tracked {
    pid: u32,
    name: String,
    status: Pinned,
    alive: bool,
}

/// Meminfo plus watched processes (re-resolved by name every few seconds, so a
/// server that restarts is picked up again).
#[derive(Debug)]
pub struct MemoryProbe {
    meminfo: Pinned,
    proc_dir: PathBuf,
    watches: Vec<Watch>,
    tracked: Vec<Tracked>,
    last_scan: Option<Instant>,
    own_pid: u32,
}

const RESCAN: Duration = Duration::from_secs(5);

impl MemoryProbe {
    pub fn discover(root: &Root, watches: Vec<Watch>) -> Self {
        MemoryProbe {
            meminfo: Pinned::new(root.path("proc/meminfo")),
            proc_dir: root.path("proc"),
            watches,
            tracked: Vec::new(),
            last_scan: None,
            own_pid: std::process::id(),
        }
    }

    /// Add a process to watch at run time (e.g. a spawned MCP server child).
    pub fn watch(&mut self, w: Watch) {
        if !self.watches.contains(&w) {
            self.watches.push(w);
            self.last_scan = None;
        }
    }

    pub fn sample_meminfo(&mut self) -> Result<Memory, SampleError> {
        match self.meminfo.read() {
            Ok(t) => {
                let m = parse_meminfo(t);
                if m.total_mb.is_none() {
                    return Err(SampleError::NoMemTotal {
                        path: self.meminfo.path().to_path_buf(),
                    });
                }
                Ok(m)
            }
            Err(e) => Err(SampleError::read(self.meminfo.path(), e)),
        }
    }

    pub fn sample_watched(&mut self, out: &mut Vec<WatchedProcess>) {
        if self.watches.is_empty() {
            return;
        }
        if self.last_scan.is_none_or(|t| t.elapsed() >= RESCAN) {
            self.rescan();
        }
        for t in &mut self.tracked {
            let (name, rss) = match t.status.read() {
                Ok(text) => parse_status(text),
                Err(_) => (None, None),
            };
            t.alive = name.is_some();
            out.push(WatchedProcess {
                pid: t.pid,
                name: t.name.clone(),
                rss_mb: if t.alive { rss } else { None },
                alive: t.alive,
            });
        }
    }

    /// Where a watched PID lives: under the root when the root has it;
    /// otherwise, when the root is a fixture or capture without that process,
    /// the host's `/proc` — a PID is a process on this machine (e.g. a load
    /// target jetstress spawned while showing a fixture board).
    fn pid_dir(&self, pid: u32) -> PathBuf {
        let own = self.proc_dir.join(pid.to_string());
        let host = Path::new("/proc").join(pid.to_string());
        if own.exists() || self.proc_dir == Path::new("/proc") || !host.exists() {
            own
        } else {
            host
        }
    }

    fn rescan(&mut self) {
        self.last_scan = Some(Instant::now());
        // Forget processes that have gone; they were shown as dead for one rescan.
        self.tracked.retain(|t| t.alive);
        let mut wanted: Vec<(u32, String, PathBuf)> = Vec::new();
        let names: Vec<&str> = self
            .watches
            .iter()
            .filter_map(|w| match w {
                Watch::Name(n) => Some(n.as_str()),
                Watch::Pid(_) => None,
            })
            .collect();
        for w in &self.watches {
            if let Watch::Pid(pid) = w {
                let dir = self.pid_dir(*pid);
                let name = read_trimmed(&dir.join("comm")).unwrap_or_else(|| format!("pid {pid}"));
                wanted.push((*pid, name, dir));
            }
        }
        if !names.is_empty() {
            for (entry, path) in list_dir(&self.proc_dir, "") {
                let Ok(pid) = entry.parse::<u32>() else {
                    continue;
                };
                if pid == self.own_pid {
                    continue;
                }
                let comm = read_trimmed(&path.join("comm")).unwrap_or_default();
                let hit = names.iter().any(|n| comm == *n) || {
                    // Interpreted servers (node, python) are matched on their script.
                    let cmd = std::fs::read(path.join("cmdline")).unwrap_or_default();
                    cmd.split(|b| *b == 0)
                        .take(4)
                        .filter_map(|a| std::str::from_utf8(a).ok())
                        .any(|a| {
                            names
                                .iter()
                                .any(|n| !n.is_empty() && a.rsplit('/').next() == Some(*n))
                        })
                };
                if hit {
                    wanted.push((pid, comm, path));
                }
            }
        }
        for (pid, name, dir) in wanted {
            if !self.tracked.iter().any(|t| t.pid == pid) {
                self.tracked.push(Tracked {
                    pid,
                    name,
                    status: Pinned::new(dir.join("status")),
                    alive: true,
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meminfo_fields_in_mb() {
        let m = parse_meminfo(
            "MemTotal:       65536000 kB\nMemFree:  1000 kB\nMemAvailable:   32768000 kB\n\
             SwapTotal:       2048000 kB\nSwapFree:        1024000 kB\nNvMapMemUsed:     1843200 kB\n",
        );
        assert_eq!(m.total_mb, Some(64000.0));
        assert_eq!(m.available_mb, Some(32000.0));
        assert_eq!(m.used_mb, Some(32000.0));
        assert_eq!(m.swap_used_mb, Some(1000.0));
        assert_eq!(m.nvmap_mb, Some(1800.0));
    }

    #[test]
    fn old_kernels_estimate_available() {
        let m =
            parse_meminfo("MemTotal: 4096 kB\nMemFree: 1024 kB\nBuffers: 512 kB\nCached: 512 kB\n");
        assert_eq!(m.available_mb, Some(2.0));
        assert_eq!(m.nvmap_mb, None);
        assert_eq!(m.swap_total_mb, None);
    }

    #[test]
    fn status_name_and_rss() {
        let (n, r) = parse_status("Name:\tnode\nState:\tS\nVmRSS:\t   51200 kB\n");
        assert_eq!(n.as_deref(), Some("node"));
        assert_eq!(r, Some(50.0));
        let (n, r) = parse_status("Name:\tkthreadd\n");
        assert_eq!(n.as_deref(), Some("kthreadd"));
        assert_eq!(r, None);
    }
}
