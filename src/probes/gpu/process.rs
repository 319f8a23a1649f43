//! Per-process GPU memory for the watched entries, from whichever source the
//! platform has: NVML's running compute and graphics processes on a discrete
//! GPU (through the handle the GPU probe opened once), else nvmap's iovmm
//! clients on a Jetson ([`super::nvmap`], read under the root). Neither (no
//! NVML, not root, no debugfs): no table, so every entry's `gpu_mem_mb`
//! stays `None`, and no error is reported. Only a clients file that reads
//! but does not parse is an error, reported once, not every sample.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use super::nvmap::{parse_iovmm_clients, IOVMM_CLIENTS};
use super::nvml::NvmlProbe;
use crate::probes::sysfs::{Pinned, Root};
use crate::probes::SampleError;

/// An unreadable clients file (not root, no debugfs) is tried again this
/// often rather than every sample.
const NVMAP_RETRY: Duration = Duration::from_secs(10);

/// Where the watched entries' GPU memory came from at the last sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GpuMemSource {
    /// NVML's per-process used memory (discrete GPU).
    Nvml,
    /// nvmap's iovmm clients (Jetson, root).
    Nvmap,
    /// Neither: no NVML process list and no readable clients file.
    Unavailable,
}

impl std::fmt::Display for GpuMemSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            GpuMemSource::Nvml => "NVML running processes",
            GpuMemSource::Nvmap => "nvmap iovmm clients",
            GpuMemSource::Unavailable => {
                "unavailable (no NVML process list; nvmap iovmm clients need root and debugfs)"
            }
        })
    }
}

/// GPU memory by PID for one sample. Holds the GPU clients of the machine
/// and is cleared before each sample, so it never grows past them.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct GpuMemTable {
    bytes: HashMap<u32, u64>,
}

const MB: f64 = 1024.0 * 1024.0;

impl GpuMemTable {
    /// Add `bytes` held by `pid` (a process with several clients or devices
    /// adds up).
    pub fn add(&mut self, pid: u32, bytes: u64) {
        let b = self.bytes.entry(pid).or_default();
        *b = b.saturating_add(bytes);
    }

    /// The process's GPU memory, MB; `None` when it is not a GPU client.
    pub fn mb(&self, pid: u32) -> Option<f64> {
        self.bytes.get(&pid).map(|&b| b as f64 / MB)
    }

    /// The sum over `pids` (a cgroup's processes), MB; `None` when none of
    /// them is a GPU client.
    pub fn sum_mb(&self, pids: impl IntoIterator<Item = u32>) -> Option<f64> {
        let mut any = false;
        let mut sum = 0u64;
        for p in pids {
            if let Some(&b) = self.bytes.get(&p) {
                any = true;
                sum = sum.saturating_add(b);
            }
        }
        any.then(|| sum as f64 / MB)
    }

    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    fn clear(&mut self) {
        self.bytes.clear();
    }
}

/// Reads the per-process table once per sample.
#[derive(Debug)]
pub struct ProcessGpuProbe {
    clients: Pinned,
    retry_at: Option<Instant>,
    table: GpuMemTable,
    source: GpuMemSource,
    /// The parse error last reported, so a broken file is reported once.
    reported: Option<String>,
}

impl ProcessGpuProbe {
    pub fn new(root: &Root) -> Self {
        ProcessGpuProbe {
            clients: Pinned::new(root.path(IOVMM_CLIENTS)),
            retry_at: None,
            table: GpuMemTable::default(),
            source: GpuMemSource::Unavailable,
            reported: None,
        }
    }

    /// Where the last table came from.
    pub fn source(&self) -> GpuMemSource {
        self.source
    }

    /// This sample's table (`None`: the platform does not say), and an error
    /// to report when the clients file reads but does not parse (once per
    /// distinct error).
    pub fn sample(
        &mut self,
        nvml: Option<&NvmlProbe>,
    ) -> (Option<&GpuMemTable>, Option<SampleError>) {
        self.table.clear();
        if nvml.is_some_and(|n| n.process_memory(&mut self.table)) {
            self.source = GpuMemSource::Nvml;
            return (Some(&self.table), None);
        }
        self.table.clear();
        self.source = GpuMemSource::Unavailable;
        let now = Instant::now();
        if self.retry_at.is_some_and(|t| now < t) {
            return (None, None);
        }
        let Ok(text) = self.clients.read() else {
            self.retry_at = Some(now + NVMAP_RETRY);
            return (None, None);
        };
        self.retry_at = None;
        match parse_iovmm_clients(text) {
            Ok(c) => {
                for row in c.clients.iter().filter(|r| r.pid != 0) {
                    self.table.add(row.pid, row.bytes);
                }
                self.reported = None;
                self.source = GpuMemSource::Nvmap;
                (Some(&self.table), None)
            }
            Err(err) => {
                let e = SampleError::Nvmap {
                    path: self.clients.path().to_path_buf(),
                    err,
                };
                let msg = e.to_string();
                let new = self.reported.as_deref() != Some(msg.as_str());
                self.reported = Some(msg);
                (None, new.then_some(e))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_table_sums_by_pid_and_over_a_cgroup() {
        let mut t = GpuMemTable::default();
        t.add(10, 3 << 20);
        t.add(10, 1 << 20);
        t.add(11, 2 << 20);
        assert_eq!(t.mb(10), Some(4.0));
        assert_eq!(t.mb(12), None);
        assert_eq!(t.sum_mb([10, 11, 12]), Some(6.0));
        assert_eq!(t.sum_mb([12, 13]), None);
        assert_eq!(t.sum_mb([]), None);
    }

    #[test]
    fn a_broken_clients_file_is_reported_once_and_never_fails_the_sample() {
        let tmp = tempfile::tempdir().unwrap();
        let root = Root::new(tmp.path());
        let path = root.path(IOVMM_CLIENTS);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, "CLIENT PROCESS PID SIZE\nuser python3 77 lots\n").unwrap();
        let mut p = ProcessGpuProbe::new(&root);
        let (table, err) = p.sample(None);
        assert!(table.is_none());
        let msg = err.expect("reported the first time").to_string();
        assert!(
            msg.contains("clients: line 2 `user python3 77 lots`"),
            "{msg}"
        );
        let (table, err) = p.sample(None);
        assert!(table.is_none() && err.is_none(), "not again: {err:?}");
        assert_eq!(p.source(), GpuMemSource::Unavailable);

        std::fs::write(&path, "CLIENT PROCESS PID SIZE\nuser python3 77 2048K\n").unwrap();
        let (table, err) = p.sample(None);
        assert_eq!(table.and_then(|t| t.mb(77)), Some(2.0));
        assert!(err.is_none());
        assert_eq!(p.source(), GpuMemSource::Nvmap);
    }

    #[test]
    fn no_clients_file_is_no_table_and_no_error() {
        let tmp = tempfile::tempdir().unwrap();
        let mut p = ProcessGpuProbe::new(&Root::new(tmp.path()));
        for _ in 0..3 {
            let (table, err) = p.sample(None);
            assert!(table.is_none());
            assert!(err.is_none(), "{err:?}");
        }
        assert_eq!(p.source(), GpuMemSource::Unavailable);
    }
}
