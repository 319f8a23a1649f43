//! Memory: `/proc/meminfo` (total, available, used, swap, Jetson `NvMapMemUsed`)
//! and the watched entries: processes (by PID or by name) with their resident
//! set size and CPU % (`/proc/PID/stat` deltas), and cgroup v2 directories
//! (`memory.current`, `cpu.stat` deltas; finding them is [`super::cgroup`]).
//! Each entry's GPU memory is looked up in the sample's per-process table
//! ([`GpuMemTable`], from [`super::gpu::process`]); a cgroup sums its
//! `cgroup.procs`.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::cgroup;
use super::gpu::process::GpuMemTable;
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

/// `utime + stime` of a `/proc/PID/stat` line, in clock ticks (pure). The
/// command name (field 2) may hold spaces and parentheses, so the fields are
/// counted from its last `)`.
pub fn parse_stat_cpu_ticks(text: &str) -> Option<u64> {
    let rest = &text[text.rfind(')')? + 1..];
    // After `)`: state (field 3) … utime (14), stime (15).
    let mut it = rest.split_ascii_whitespace().skip(11);
    let utime: u64 = it.next()?.parse().ok()?;
    let stime: u64 = it.next()?.parse().ok()?;
    Some(utime + stime)
}

/// % of one core from two readings of cumulative CPU time (seconds) `wall_s`
/// apart (pure); `None` when no time passed or the counter went back (a
/// reused PID, a re-created cgroup).
pub fn cpu_pct(prev_cpu_s: f64, cpu_s: f64, wall_s: f64) -> Option<f64> {
    (wall_s > 0.0 && cpu_s >= prev_cpu_s).then(|| (cpu_s - prev_cpu_s) / wall_s * 100.0)
}

/// Clock ticks per second of `/proc/PID/stat` times.
fn clock_ticks() -> f64 {
    // SAFETY: sysconf has no preconditions.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 {
        t as f64
    } else {
        100.0
    }
}

/// What to watch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Watch {
    Pid(u32),
    Name(String),
    /// A cgroup v2 directory, relative to the hierarchy's mount (see
    /// [`cgroup::relative`]); `--watch-container` resolves to one at start.
    Cgroup(PathBuf),
}

/// A cumulative CPU-time counter turned into % between samples.
#[derive(Debug, Default)]
struct CpuRate {
    last: Option<(f64, Instant)>,
}

impl CpuRate {
    /// The % since the previous reading (`None` on the first, or without a reading).
    fn update(&mut self, cpu_s: Option<f64>) -> Option<f64> {
        let now = Instant::now();
        let Some(c) = cpu_s else {
            self.last = None;
            return None;
        };
        let pct = self
            .last
            .and_then(|(prev, t)| cpu_pct(prev, c, now.duration_since(t).as_secs_f64()));
        self.last = Some((c, now));
        pct
    }
}

#[derive(Debug)]
struct Tracked {
    pid: u32,
    name: String,
    status: Pinned,
    stat: Pinned,
    cpu: CpuRate,
    alive: bool,
}

/// A watched cgroup: its files kept open like the processes' own.
#[derive(Debug)]
struct TrackedCgroup {
    rel: PathBuf,
    key: u32,
    name: String,
    dir: PathBuf,
    memory: Pinned,
    cpu_stat: Pinned,
    procs: Pinned,
    cpu: CpuRate,
}

impl TrackedCgroup {
    fn new(root: &Root, rel: PathBuf) -> Self {
        // Without a v2 hierarchy the entry reads as gone; the CLI refuses
        // that case at start with the reason.
        let dir = cgroup::mount(root)
            .unwrap_or_else(|_| root.path("sys/fs/cgroup"))
            .join(&rel);
        TrackedCgroup {
            key: cgroup::key(&rel),
            name: cgroup::display_name(&rel),
            memory: Pinned::new(dir.join("memory.current")),
            cpu_stat: Pinned::new(dir.join("cpu.stat")),
            procs: Pinned::new(dir.join("cgroup.procs")),
            cpu: CpuRate::default(),
            dir,
            rel,
        }
    }

    fn sample(&mut self, gpu: Option<&GpuMemTable>) -> WatchedProcess {
        let alive = self.dir.is_dir();
        let usage = self
            .cpu_stat
            .read()
            .ok()
            .and_then(cgroup::parse_usage_usec)
            .filter(|_| alive);
        let mem = self
            .memory
            .read()
            .ok()
            .and_then(cgroup::parse_memory_current)
            .filter(|_| alive);
        // `cgroup.procs` is read only when the platform gives GPU memory.
        let gpu_mem_mb = match gpu.filter(|g| alive && !g.is_empty()) {
            Some(g) => self
                .procs
                .read()
                .ok()
                .and_then(|t| g.sum_mb(cgroup::parse_procs(t))),
            None => None,
        };
        WatchedProcess {
            pid: self.key,
            name: self.name.clone(),
            rss_mb: mem.map(|b| b as f64 / (1024.0 * 1024.0)),
            alive,
            cpu_pct: self.cpu.update(usage.map(|u| u as f64 / 1e6)),
            cgroup: Some(self.rel.display().to_string()),
            gpu_mem_mb,
        }
    }
}

/// Meminfo plus watched processes (re-resolved by name every few seconds, so a
/// server that restarts is picked up again).
#[derive(Debug)]
pub struct MemoryProbe {
    meminfo: Pinned,
    proc_dir: PathBuf,
    watches: Vec<Watch>,
    tracked: Vec<Tracked>,
    cgroups: Vec<TrackedCgroup>,
    root: Root,
    ticks_per_s: f64,
    last_scan: Option<Instant>,
    own_pid: u32,
}

const RESCAN: Duration = Duration::from_secs(5);

impl MemoryProbe {
    pub fn discover(root: &Root, watches: Vec<Watch>) -> Self {
        let mut p = MemoryProbe {
            meminfo: Pinned::new(root.path("proc/meminfo")),
            proc_dir: root.path("proc"),
            watches: Vec::new(),
            tracked: Vec::new(),
            cgroups: Vec::new(),
            root: root.clone(),
            ticks_per_s: clock_ticks(),
            last_scan: None,
            own_pid: std::process::id(),
        };
        for w in watches {
            p.watch(w);
        }
        p
    }

    /// Add a process or cgroup to watch at run time (e.g. a spawned MCP
    /// server child).
    pub fn watch(&mut self, w: Watch) {
        if !self.watches.contains(&w) {
            if let Watch::Cgroup(rel) = &w {
                self.cgroups
                    .push(TrackedCgroup::new(&self.root, cgroup::relative(rel)));
            }
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

    /// Whether anything is watched (the per-process GPU table is read only then).
    pub fn has_watches(&self) -> bool {
        !self.watches.is_empty()
    }

    /// The watched entries now; `gpu` is this sample's per-process GPU
    /// memory (`None`: the platform does not say).
    pub fn sample_watched(&mut self, out: &mut Vec<WatchedProcess>, gpu: Option<&GpuMemTable>) {
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
            let ticks = t
                .stat
                .read()
                .ok()
                .and_then(parse_stat_cpu_ticks)
                .filter(|_| t.alive);
            out.push(WatchedProcess {
                pid: t.pid,
                name: t.name.clone(),
                rss_mb: if t.alive { rss } else { None },
                alive: t.alive,
                cpu_pct: t.cpu.update(ticks.map(|n| n as f64 / self.ticks_per_s)),
                cgroup: None,
                gpu_mem_mb: gpu.filter(|_| t.alive).and_then(|g| g.mb(t.pid)),
            });
        }
        for c in &mut self.cgroups {
            out.push(c.sample(gpu));
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
                Watch::Pid(_) | Watch::Cgroup(_) => None,
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
                    stat: Pinned::new(dir.join("stat")),
                    cpu: CpuRate::default(),
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

    /// A `/proc/PID/stat` line with `comm` as given and utime/stime 1234/56.
    fn stat_line(comm: &str) -> String {
        format!(
            "4242 ({comm}) S 1 4242 4242 0 -1 4194560 5338 0 12 0 1234 56 0 0 20 0 \
             11 0 81234 1234567890 12500 18446744073709551615 1 1 0 0 0 0 0 4096 17663"
        )
    }

    #[test]
    fn stat_cpu_ticks_survive_odd_command_names() {
        for comm in ["node", "tmux: server", "weird) (name", "a b ) c", ")"] {
            assert_eq!(
                parse_stat_cpu_ticks(&stat_line(comm)),
                Some(1234 + 56),
                "{comm}"
            );
        }
        assert_eq!(parse_stat_cpu_ticks("4242 (cut) S 1 2"), None);
        assert_eq!(parse_stat_cpu_ticks("no parenthesis"), None);
    }

    #[test]
    fn cpu_pct_is_cpu_time_over_wall_time() {
        // 0.5 s of CPU in 2 s of wall time is a quarter of one core.
        assert_eq!(cpu_pct(10.0, 10.5, 2.0), Some(25.0));
        // Two busy threads: above 100.
        assert_eq!(cpu_pct(0.0, 2.0, 1.0), Some(200.0));
        assert_eq!(cpu_pct(3.0, 2.0, 1.0), None);
        assert_eq!(cpu_pct(1.0, 1.0, 0.0), None);
    }
}
