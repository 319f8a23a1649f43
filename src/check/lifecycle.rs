//! Lifecycle of a stdio server: N instances spawned at once, each one's time
//! to its `initialize` reply, RSS and open fds after `tools/list`, then the
//! shutdown the MCP spec gives (close stdin, wait, SIGTERM, wait, SIGKILL)
//! with the step that ended each, and the processes each left behind
//! (children still alive, zombies included). Reading `/proc` and the
//! statistics are pure functions; [`run`] does the I/O.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::raw::{RawServer, StdioSpec};
pub use crate::load::{MeanMax, Spread};
use crate::probes::parse_proc_status;

/// Each step of the shutdown waits this long for the process to exit.
pub const SHUTDOWN_WAIT: Duration = Duration::from_secs(2);

/// What a lifecycle check must stay within.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    /// The slowest instance's spawn → `initialize` reply, ms.
    pub initialize_ms: f64,
    /// The largest RSS after `tools/list`, MB.
    pub rss_mb: f64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            initialize_ms: 500.0,
            rss_mb: 80.0,
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Max {
    pub max: u64,
}

/// How many instances each shutdown step ended.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShutdownCounts {
    pub stdin: u32,
    pub sigterm: u32,
    pub sigkill: u32,
}

/// The step of the shutdown that ended an instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// It exited once its stdin was closed.
    Stdin,
    Sigterm,
    Sigkill,
}

/// The `lifecycle` object of `jetstress.check/1`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Lifecycle {
    pub instances: usize,
    pub initialize_ms: Spread,
    pub rss_mb: MeanMax,
    pub fds: Max,
    pub shutdown: ShutdownCounts,
    pub orphans: u32,
    /// Instances that did not come up, and why (not in the JSON: the
    /// terminal and `check.md` list them, and the check fails).
    #[serde(skip)]
    pub failed: Vec<String>,
}

impl Lifecycle {
    /// The limits this lifecycle broke, in words (empty: none).
    pub fn broken(&self, limits: &Limits) -> Vec<String> {
        let mut out: Vec<String> = self
            .failed
            .iter()
            .map(|f| format!("an instance did not come up: {f}"))
            .collect();
        if self.initialize_ms.max > limits.initialize_ms {
            out.push(format!(
                "initialize took up to {:.0} ms (limit {:.0} ms)",
                self.initialize_ms.max, limits.initialize_ms
            ));
        }
        if self.rss_mb.max > limits.rss_mb {
            out.push(format!(
                "RSS up to {:.1} MB (limit {:.0} MB)",
                self.rss_mb.max, limits.rss_mb
            ));
        }
        if self.shutdown.sigkill > 0 {
            out.push(format!(
                "{} instance(s) needed SIGKILL to stop",
                self.shutdown.sigkill
            ));
        }
        if self.orphans > 0 {
            out.push(format!("{} process(es) left behind", self.orphans));
        }
        out
    }
}

/// Nearest-rank quantile of sorted values.
fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// p50 / p95 / max of some values.
pub fn spread(values: &[f64]) -> Spread {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    Spread {
        p50: quantile(&v, 0.50),
        p95: quantile(&v, 0.95),
        max: v.last().copied().unwrap_or(0.0),
    }
}

pub fn mean_max(values: &[f64]) -> MeanMax {
    if values.is_empty() {
        return MeanMax::default();
    }
    MeanMax {
        mean: values.iter().sum::<f64>() / values.len() as f64,
        max: values.iter().copied().fold(f64::MIN, f64::max),
    }
}

/// The fields of `/proc/PID/stat` this check reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcStat {
    pub state: char,
    pub ppid: u32,
    pub pgrp: u32,
    /// Clock ticks after boot: with the pid, names one process for good.
    pub start: u64,
}

/// Parse `/proc/PID/stat` (the command name may hold spaces and parens, so
/// fields are counted from the last `)`).
pub fn parse_stat(text: &str) -> Option<ProcStat> {
    let rest = &text[text.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_ascii_whitespace().collect();
    // After the name: state(3) ppid(4) pgrp(5) … starttime(22).
    Some(ProcStat {
        state: f.first()?.chars().next()?,
        ppid: f.get(1)?.parse().ok()?,
        pgrp: f.get(2)?.parse().ok()?,
        start: f.get(19)?.parse().ok()?,
    })
}

/// Every process in `/proc` now.
fn processes(proc_dir: &Path) -> HashMap<u32, ProcStat> {
    let mut out = HashMap::new();
    let Ok(rd) = std::fs::read_dir(proc_dir) else {
        return out;
    };
    for e in rd.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else {
            continue;
        };
        if let Some(st) = std::fs::read_to_string(e.path().join("stat"))
            .ok()
            .as_deref()
            .and_then(parse_stat)
        {
            out.insert(pid, st);
        }
    }
    out
}

/// The descendants of `root` (not itself) in a process table, with their start times.
pub fn descendants(table: &HashMap<u32, ProcStat>, root: u32) -> Vec<(u32, u64)> {
    let mut out = Vec::new();
    let mut frontier = vec![root];
    while let Some(p) = frontier.pop() {
        for (&pid, st) in table {
            if st.ppid == p && pid != root && !out.iter().any(|(q, _)| *q == pid) {
                out.push((pid, st.start));
                frontier.push(pid);
            }
        }
    }
    out
}

/// Processes left once a server's leader has gone: those it started that
/// are still there (same pid and start time), and any other member of its
/// process group. Zombies count.
pub fn left_behind(table: &HashMap<u32, ProcStat>, leader: u32, before: &[(u32, u64)]) -> Vec<u32> {
    let mut out: Vec<u32> = before
        .iter()
        .filter(|(pid, start)| table.get(pid).is_some_and(|s| s.start == *start))
        .map(|(pid, _)| *pid)
        .collect();
    for (&pid, st) in table {
        if st.pgrp == leader && pid != leader && !out.contains(&pid) {
            out.push(pid);
        }
    }
    out.sort_unstable();
    out
}

/// RSS (MB) and open fds of a live process.
fn usage(proc_dir: &Path, pid: u32) -> (Option<f64>, Option<u64>) {
    let dir = proc_dir.join(pid.to_string());
    let rss = std::fs::read_to_string(dir.join("status"))
        .ok()
        .and_then(|s| parse_proc_status(&s).1);
    let fds = std::fs::read_dir(dir.join("fd"))
        .ok()
        .map(|d| d.count() as u64);
    (rss, fds)
}

/// Stop one instance the way the MCP spec asks: close its stdin, wait;
/// SIGTERM, wait; SIGKILL (its whole group).
pub async fn shut_down(s: &mut RawServer) -> Step {
    s.close_stdin();
    if s.wait_exit(SHUTDOWN_WAIT).await {
        return Step::Stdin;
    }
    s.signal(libc::SIGTERM);
    if s.wait_exit(SHUTDOWN_WAIT).await {
        return Step::Sigterm;
    }
    s.kill().await;
    Step::Sigkill
}

/// Run the lifecycle check with `n` instances.
pub async fn run(
    spec: &StdioSpec,
    n: usize,
    timeout: Duration,
    log_dir: &Path,
    label: &str,
) -> Lifecycle {
    let proc_dir = PathBuf::from("/proc");
    let mut lc = Lifecycle {
        instances: n,
        ..Lifecycle::default()
    };
    // Spawn all at once, then bring each up concurrently.
    let mut servers = Vec::new();
    for i in 0..n {
        match RawServer::spawn(spec, log_dir, &format!("{label}-lifecycle-{i}")) {
            Ok(s) => servers.push(s),
            Err(e) => lc.failed.push(e.to_string()),
        }
    }
    let up = futures::future::join_all(servers.iter_mut().map(|s| async move {
        let took = s.initialize(timeout).await?;
        s.list_tools(timeout).await?;
        Ok::<Duration, super::CheckError>(took)
    }))
    .await;
    let mut init_ms = Vec::new();
    let mut rss = Vec::new();
    let mut fds = Vec::new();
    for (s, r) in servers.iter().zip(&up) {
        match r {
            Ok(took) => {
                init_ms.push(took.as_secs_f64() * 1000.0);
                let (m, f) = usage(&proc_dir, s.pid());
                rss.extend(m);
                fds.extend(f);
            }
            Err(e) => lc.failed.push(e.to_string()),
        }
    }
    lc.initialize_ms = spread(&init_ms);
    lc.rss_mb = mean_max(&rss);
    lc.fds = Max {
        max: fds.iter().copied().max().unwrap_or(0),
    };
    let table = processes(&proc_dir);
    let kids: Vec<Vec<(u32, u64)>> = servers
        .iter()
        .map(|s| descendants(&table, s.pid()))
        .collect();
    let steps = futures::future::join_all(servers.iter_mut().map(shut_down)).await;
    for st in steps {
        match st {
            Step::Stdin => lc.shutdown.stdin += 1,
            Step::Sigterm => lc.shutdown.sigterm += 1,
            Step::Sigkill => lc.shutdown.sigkill += 1,
        }
    }
    // Orphans re-parented to init are reaped by it in a moment; what is
    // still there after that was left behind.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let table = processes(&proc_dir);
    let mut orphans = 0;
    for (s, before) in servers.iter().zip(&kids) {
        let left = left_behind(&table, s.pid(), before);
        orphans += left.len() as u32;
        for pid in left {
            // SAFETY: a plain kill(2) of a process this check started.
            unsafe {
                libc::kill(pid as libc::pid_t, libc::SIGKILL);
            }
        }
    }
    lc.orphans = orphans;
    lc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_lines_with_odd_names() {
        let line = "4242 (node (worker) x) S 4200 4242 4242 0 -1 4194560 1 0 0 0 3 1 0 0 20 0 11 0 987654 1000 100 18446744073709551615";
        assert_eq!(
            parse_stat(line),
            Some(ProcStat {
                state: 'S',
                ppid: 4200,
                pgrp: 4242,
                start: 987654
            })
        );
        assert_eq!(parse_stat("garbage"), None);
    }

    #[test]
    fn what_a_server_left_behind() {
        let st = |ppid, pgrp, start, state| ProcStat {
            state,
            ppid,
            pgrp,
            start,
        };
        let mut t = HashMap::new();
        t.insert(100, st(1, 100, 5, 'S'));
        t.insert(101, st(100, 100, 6, 'S'));
        t.insert(102, st(101, 102, 7, 'S'));
        t.insert(200, st(1, 200, 8, 'S'));
        let mut d = descendants(&t, 100);
        d.sort_unstable();
        assert_eq!(d, [(101, 6), (102, 7)]);
        // The leader went; 101 was re-parented and lives, 102 died and its
        // pid was reused by another process, 103 is a zombie of the group.
        let mut after = HashMap::new();
        after.insert(101, st(1, 100, 6, 'S'));
        after.insert(102, st(1, 102, 99, 'S'));
        after.insert(103, st(1, 100, 9, 'Z'));
        after.insert(200, st(1, 200, 8, 'S'));
        assert_eq!(left_behind(&after, 100, &d), [101, 103]);
    }

    #[test]
    fn spreads_and_limits() {
        let s = spread(&[30.0, 10.0, 20.0, 40.0]);
        assert_eq!((s.p50, s.p95, s.max), (20.0, 40.0, 40.0));
        assert_eq!(
            mean_max(&[10.0, 30.0]),
            MeanMax {
                mean: 20.0,
                max: 30.0
            }
        );
        let mut lc = Lifecycle {
            instances: 2,
            initialize_ms: s,
            rss_mb: MeanMax {
                mean: 20.0,
                max: 30.0,
            },
            ..Lifecycle::default()
        };
        assert!(lc.broken(&Limits::default()).is_empty());
        lc.initialize_ms.max = 612.0;
        lc.rss_mb.max = 81.0;
        lc.shutdown.sigkill = 1;
        lc.orphans = 2;
        assert_eq!(
            lc.broken(&Limits::default()),
            [
                "initialize took up to 612 ms (limit 500 ms)",
                "RSS up to 81.0 MB (limit 80 MB)",
                "1 instance(s) needed SIGKILL to stop",
                "2 process(es) left behind"
            ]
        );
    }
}
