//! Probes: everything jetstress reads from the machine, all under a configurable
//! root so fixture trees stand in for hardware. [`Prober`] discovers what the
//! board has once, keeps the value files open, and turns each call to
//! [`Prober::sample`] into one owned [`Snapshot`]. A probe that cannot read says
//! why in `probe_errors`; it never stops the others.

pub mod board;
pub mod cpu;
pub mod gpu;
pub mod hwmon;
pub mod memory;
mod once;
pub mod power;
pub mod sysfs;
pub mod thermal;
pub mod throttle;

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::snapshot::{Board, ProbeError, Snapshot, SNAPSHOT_SCHEMA};
pub use memory::Watch;
pub use once::{read_twice, PROBE_GAP};
pub use sysfs::Root;

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
                Err(e) => (None, e),
            }
        } else {
            (None, "NVML not used with --root".to_string())
        };
        Prober {
            cpu: cpu::CpuProbe::discover(&root),
            memory: memory::MemoryProbe::discover(&root, watches),
            tegra: gpu::tegra::TegraGpuProbe::discover(&root),
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

    /// Read everything once.
    pub fn sample(&mut self) -> Snapshot {
        let mut s = Snapshot::empty();
        debug_assert_eq!(s.schema, SNAPSHOT_SCHEMA);
        s.time_unix_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
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
                message: e,
            });
        }
        match self.memory.sample_meminfo() {
            Ok(m) => s.memory = m,
            Err(e) => errors.push(ProbeError {
                probe: "memory".into(),
                message: e,
            }),
        }
        self.memory.sample_watched(&mut s.watched);
        self.tegra.sample(&mut s.gpus);
        if let Some(n) = self.nvml.as_mut() {
            if let Err(e) = n.sample(&mut s.gpus) {
                errors.push(ProbeError {
                    probe: "gpu".into(),
                    message: e,
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
