//! Probes: everything jetstress reads from the machine, all under a configurable
//! root so fixture trees stand in for hardware. [`Prober`] discovers what the
//! board has once, keeps the value files open, and turns each call to
//! [`Prober::sample`] into one owned [`Snapshot`]. A probe that cannot read says
//! why in `probe_errors`; it never stops the others.

pub(crate) mod board;
pub(crate) mod cgroup;
pub(crate) mod cpu;
pub(crate) mod gpu;
pub(crate) mod hwmon;
pub(crate) mod memory;
mod once;
pub(crate) mod own;
pub(crate) mod power;
pub(crate) mod sysfs;
pub(crate) mod thermal;
pub(crate) mod throttle;

use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use nvml_wrapper::error::NvmlError;

use crate::snapshot::{Board, ProbeError, Snapshot, SNAPSHOT_SCHEMA};
pub use board::{ModeRow, NvpConf, PowerMode};
pub use cgroup::{
    mount as cgroup_mount, parse_proc_cgroup, resolve_cgroup, resolve_container, CgroupError,
};
pub use gpu::nvmap::{
    parse_iovmm_clients, parse_size as parse_nvmap_size, NvmapClient, NvmapClients, NvmapError,
    RowError as NvmapRowError, IOVMM_CLIENTS,
};
pub use gpu::process::{GpuMemSource, GpuMemTable};
pub use memory::{cpu_pct, parse_stat_cpu_ticks, parse_status as parse_proc_status, Watch};
pub use once::{read_twice, PROBE_GAP};
pub use sysfs::Root;

/// Why a probe could not be sampled (or, for NVML, why there is no NVML GPU).
/// Variants tell a file that cannot be read from one that holds a bad value;
/// `Display` is the text kept in a snapshot's `probe_errors`.
#[derive(Debug, thiserror::Error)]
pub enum SampleError {
    /// A value file could not be read.
    #[error("{}: {err}", path.display())]
    Read { path: PathBuf, err: io::Error },
    /// `/proc/stat` was read but does not parse.
    #[error(transparent)]
    Stat(#[from] cpu::StatError),
    /// `/proc/meminfo` was read but has no `MemTotal` line.
    #[error("{}: no MemTotal line", path.display())]
    NoMemTotal { path: PathBuf },
    /// The NVML library or driver could not be loaded or queried.
    #[error("no NVML GPU ({0})")]
    NvmlUnavailable(NvmlError),
    /// NVML loaded but reports no device.
    #[error("no NVML GPU (0 devices)")]
    NvmlNoDevices,
    /// One NVML device could not be opened.
    #[error("NVML device {index}: {err}")]
    NvmlDevice { index: u32, err: NvmlError },
    /// nvmap's iovmm clients file was read but does not parse.
    #[error("{}: {err}", path.display())]
    Nvmap { path: PathBuf, err: NvmapError },
}

impl SampleError {
    /// A failed read of `path`.
    pub fn read(path: &Path, err: io::Error) -> Self {
        SampleError::Read {
            path: path.to_path_buf(),
            err,
        }
    }
}

/// Slow-changing facts (board identity, nvpmodel mode, `scaling_min_freq`) are
/// re-read this often rather than every sample.
const STATIC_REFRESH: Duration = Duration::from_secs(10);

pub struct Prober {
    root: Root,
    started: Instant,
    thermal: thermal::ThermalProbe,
    cpu: cpu::CpuProbe,
    memory: memory::MemoryProbe,
    tegra: gpu::tegra::TegraGpuProbe,
    nvml: Option<gpu::nvml::NvmlProbe>,
    /// Why there is no NVML GPU (shown by `probe`, not an error).
    pub nvml_status: String,
    process_gpu: gpu::process::ProcessGpuProbe,
    power: power::PowerProbe,
    hwmon: hwmon::HwmonProbe,
    board: Board,
    board_read: Instant,
}

impl std::fmt::Debug for Prober {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Prober")
            .field("root", &self.root)
            .finish_non_exhaustive()
    }
}

impl Prober {
    /// Discover the board under `root`. NVML is only consulted on the real
    /// machine (`/`), never for a fixture tree.
    pub fn new(root: Root, watches: Vec<Watch>) -> Self {
        let thermal = thermal::ThermalProbe::discover(&root);
        let hwmon = hwmon::HwmonProbe::discover(&root, thermal.zone_names());
        let (nvml, nvml_status) = if root.is_host() {
            match gpu::nvml::NvmlProbe::open() {
                Ok(p) => (Some(p), "NVML ready".to_string()),
                Err(e) => (None, e.to_string()),
            }
        } else {
            (None, "NVML not used with --root".to_string())
        };
        Prober {
            cpu: cpu::CpuProbe::discover(&root),
            memory: memory::MemoryProbe::discover(&root, watches),
            tegra: gpu::tegra::TegraGpuProbe::discover(&root),
            process_gpu: gpu::process::ProcessGpuProbe::new(&root),
            power: power::PowerProbe::discover(&root),
            board: board::read_board(&root),
            board_read: Instant::now(),
            started: Instant::now(),
            thermal,
            hwmon,
            nvml,
            nvml_status,
            root,
        }
    }

    pub fn root(&self) -> &Root {
        &self.root
    }

    /// Watch another process (e.g. a spawned MCP server) from now on.
    pub fn watch(&mut self, w: Watch) {
        self.memory.watch(w);
    }

    /// Where the watched entries' GPU memory came from at the last sample
    /// that had watched entries (NVML, nvmap, or neither).
    pub fn gpu_mem_source(&self) -> GpuMemSource {
        self.process_gpu.source()
    }

    /// Read everything once.
    pub fn sample(&mut self) -> Snapshot {
        let mut s = Snapshot::empty();
        debug_assert_eq!(s.schema, SNAPSHOT_SCHEMA);
        s.time_unix_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        s.elapsed_s = self.started.elapsed().as_secs_f64();
        let mut errors = Vec::new();

        self.thermal.sample_zones(&mut s.thermal);
        self.hwmon.sample_temps(&mut s.thermal);
        self.thermal.sample_cooling(&mut s.cooling);
        if self.board_read.elapsed() >= STATIC_REFRESH {
            self.board = board::read_board(&self.root);
            self.cpu.refresh_static(&self.root);
            self.board_read = Instant::now();
        }
        if let Err(e) = self.cpu.sample(&mut s.cpu) {
            errors.push(ProbeError {
                probe: "cpu".into(),
                message: e.to_string(),
            });
        }
        match self.memory.sample_meminfo() {
            Ok(m) => s.memory = m,
            Err(e) => errors.push(ProbeError {
                probe: "memory".into(),
                message: e.to_string(),
            }),
        }
        let gpu_mem = if self.memory.has_watches() {
            let (table, err) = self.process_gpu.sample(self.nvml.as_ref());
            if let Some(e) = err {
                errors.push(ProbeError {
                    probe: "gpu".into(),
                    message: e.to_string(),
                });
            }
            table
        } else {
            None
        };
        self.memory.sample_watched(&mut s.watched, gpu_mem);
        self.tegra.sample(&mut s.gpus);
        if let Some(n) = self.nvml.as_mut() {
            if let Err(e) = n.sample(&mut s.gpus) {
                errors.push(ProbeError {
                    probe: "gpu".into(),
                    message: e.to_string(),
                });
            }
        }
        // The iGPU's temperature lives in its thermal zone.
        if let Some(t) = s
            .thermal
            .iter()
            .find(|z| z.source == "zone" && z.name.to_ascii_lowercase().starts_with("gpu"))
        {
            for g in s.gpus.iter_mut().filter(|g| g.kind == "tegra") {
                g.temp_c = t.temp_c;
            }
        }
        s.power = self.power.sample();
        self.hwmon.sample_fans(&mut s.fans);
        let oc = self.hwmon.sample_oc_events();
        s.throttle = throttle::derive_throttle(&s.thermal, &s.cooling, &s.cpu, &s.gpus, &oc);
        s.board = self.board.clone();
        if s.board.l4t.is_some()
            || s.board
                .soc
                .as_deref()
                .is_some_and(|x| x.starts_with("tegra"))
        {
            s.board.jetson_clocks = throttle::jetson_clocks_active(&s.cpu, &s.gpus);
        }
        s.probe_errors = errors;
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_errors_name_the_file() {
        let enoent = || io::Error::from_raw_os_error(libc::ENOENT);
        let e = SampleError::read(Path::new("/x/proc/stat"), enoent());
        assert_eq!(e.to_string(), format!("/x/proc/stat: {}", enoent()));
        let e = SampleError::NoMemTotal {
            path: PathBuf::from("/proc/meminfo"),
        };
        assert_eq!(e.to_string(), "/proc/meminfo: no MemTotal line");
        assert_eq!(
            SampleError::NvmlNoDevices.to_string(),
            "no NVML GPU (0 devices)"
        );
    }
}
