//! The one shape of "what the board looks like now": `jetstress.snapshot/1`.
//!
//! Live probes and replay both produce a [`Snapshot`]; the dashboard, predictor,
//! recorder, MCP server and reports only ever read this type. Field names are a
//! public, versioned contract (see docs/formats.md, "Snapshot"): add fields, never
//! rename or repurpose them. Unknown values are `None` (`null`), never invented.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Schema tag written into every serialized snapshot.
pub const SNAPSHOT_SCHEMA: &str = "jetstress.snapshot/1";

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, JsonSchema)]
pub struct Snapshot {
    pub schema: String,
    /// Wall-clock time of the sample, milliseconds since the Unix epoch.
    pub time_unix_ms: u64,
    /// Seconds since the collector started (monotonic), for charts and regressions.
    pub elapsed_s: f64,
    pub thermal: Vec<ThermalZone>,
    pub cooling: Vec<CoolingDevice>,
    pub cpu: Cpu,
    pub memory: Memory,
    pub gpus: Vec<Gpu>,
    pub power: Power,
    pub fans: Vec<Fan>,
    pub board: Board,
    pub throttle: Throttle,
    pub watched: Vec<WatchedProcess>,
    /// Probes that could not read this tick, with the reason; retried next tick.
    pub probe_errors: Vec<ProbeError>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, JsonSchema)]
pub struct ThermalZone {
    /// Stable unique id: `thermal_zone3`, or `hwmon2/temp1` for hwmon sensors.
    pub id: String,
    /// The zone's own `type` (may repeat across zones), or `chip:label` for hwmon.
    pub name: String,
    /// `zone` (kernel thermal zone) or `hwmon` (generic hwmon temperature).
    pub source: String,
    pub temp_c: Option<f64>,
    pub online: bool,
    pub offline_reason: Option<String>,
    pub mode: Option<String>,
    pub trips: Vec<Trip>,
}

impl ThermalZone {
    /// Lowest passive or hot trip: where throttling starts.
    pub fn throttle_trip_c(&self) -> Option<f64> {
        self.lowest_trip(&["passive", "hot"])
    }

    /// Lowest critical trip: where the board shuts down.
    pub fn critical_trip_c(&self) -> Option<f64> {
        self.lowest_trip(&["critical"])
    }

    fn lowest_trip(&self, kinds: &[&str]) -> Option<f64> {
        self.trips
            .iter()
            .filter(|t| kinds.contains(&t.kind.as_str()))
            .map(|t| t.temp_c)
            .reduce(f64::min)
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, JsonSchema)]
pub struct Trip {
    /// `passive`, `hot`, `critical`, `active` (or whatever the kernel says).
    pub kind: String,
    pub temp_c: f64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, JsonSchema)]
pub struct CoolingDevice {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub cur_state: Option<u64>,
    pub max_state: Option<u64>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, JsonSchema)]
pub struct Cpu {
    /// Utilisation over all online cores since the previous sample; `None` on the first.
    pub util_pct: Option<f64>,
    pub cores: Vec<CpuCore>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, JsonSchema)]
pub struct CpuCore {
    pub id: u32,
    pub online: bool,
    pub util_pct: Option<f64>,
    pub freq_mhz: Option<f64>,
    /// `cpuinfo_max_freq`: the hardware maximum.
    pub max_freq_mhz: Option<f64>,
    /// `scaling_max_freq`: the current cap (thermal, nvpmodel or user).
    pub cap_mhz: Option<f64>,
    /// `scaling_min_freq` (`jetson_clocks` pins min to max).
    pub min_freq_mhz: Option<f64>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, JsonSchema)]
pub struct Memory {
    pub total_mb: Option<f64>,
    pub available_mb: Option<f64>,
    pub used_mb: Option<f64>,
    pub swap_total_mb: Option<f64>,
    pub swap_used_mb: Option<f64>,
    /// Jetson `NvMapMemUsed` (GPU/multimedia buffers carved from RAM).
    pub nvmap_mb: Option<f64>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, JsonSchema)]
pub struct Gpu {
    /// `tegra` (devfreq iGPU) or `nvml` (discrete GPU through NVML).
    pub kind: String,
    pub name: String,
    pub load_pct: Option<f64>,
    pub freq_mhz: Option<f64>,
    /// Current devfreq cap (`max_freq`) or NVML max clock.
    pub max_freq_mhz: Option<f64>,
    /// Highest frequency the hardware offers (`available_frequencies`).
    pub hw_max_freq_mhz: Option<f64>,
    pub min_freq_mhz: Option<f64>,
    pub temp_c: Option<f64>,
    pub mem_used_mb: Option<f64>,
    pub mem_total_mb: Option<f64>,
    pub power_mw: Option<f64>,
    pub railgated: Option<bool>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, JsonSchema)]
pub struct Power {
    pub rails: Vec<Rail>,
    /// `VDD_IN` / `POM_5V_IN` when present, else the sum of rails; `None` without rails.
    pub total_mw: Option<f64>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, JsonSchema)]
pub struct Rail {
    pub name: String,
    pub mv: Option<f64>,
    pub ma: Option<f64>,
    pub mw: Option<f64>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, JsonSchema)]
pub struct Fan {
    pub name: String,
    pub pwm_pct: Option<f64>,
    pub rpm: Option<f64>,
    /// `disabled`, `manual`, `auto` (from `pwmN_enable`) when known.
    pub control: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, JsonSchema)]
pub struct Board {
    pub model: Option<String>,
    pub soc: Option<String>,
    /// L4T release, e.g. `36.4.3`.
    pub l4t: Option<String>,
    pub nvpmodel: Option<NvpModel>,
    /// `None` when it cannot be judged (not a Jetson, or no frequency files).
    pub jetson_clocks: Option<bool>,
    pub hostname: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, JsonSchema)]
pub struct NvpModel {
    pub id: Option<u32>,
    pub name: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, JsonSchema)]
pub struct Throttle {
    pub throttled: bool,
    pub reasons: Vec<String>,
}

/// A watched process (`--watch-pid`, `--watch-name`) or cgroup
/// (`--watch-cgroup`, `--watch-container`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, JsonSchema)]
pub struct WatchedProcess {
    /// The PID; for a cgroup a key at or above [`CGROUP_KEY_BASE`] (no PID
    /// reaches it), so readers that key by PID keep one series per cgroup.
    pub pid: u32,
    pub name: String,
    /// `VmRSS`; for a cgroup `memory.current` (page cache included).
    pub rss_mb: Option<f64>,
    /// False when the process has gone (kept so charts show the end).
    pub alive: bool,
    /// CPU time per wall time since the previous sample, in % of one core
    /// (above 100 for several busy threads); `None` on the first sample.
    #[serde(default)]
    pub cpu_pct: Option<f64>,
    /// The cgroup v2 directory, relative to the cgroup mount, when this
    /// entry is a cgroup rather than a process.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cgroup: Option<String>,
    /// GPU memory the process holds, MB: NVML's per-process used memory
    /// (summed over devices) on a discrete GPU, the nvmap iovmm clients'
    /// size on a Jetson (root only, debugfs); for a cgroup the sum over the
    /// PIDs in its `cgroup.procs`. Absent where the platform does not say,
    /// or when the process is not a GPU client.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpu_mem_mb: Option<f64>,
}

/// Watched cgroups take `pid` keys from here up (Linux PIDs stay below 2^22).
pub const CGROUP_KEY_BASE: u32 = 1 << 31;

impl WatchedProcess {
    /// `node (pid 4242)` or `docker-4f3c2a1b9e0d (cgroup)`.
    pub fn label(&self) -> String {
        watched_label(&self.name, self.pid)
    }
}

/// How a watched entry is named for people, from its name and `pid` key.
pub fn watched_label(name: &str, pid: u32) -> String {
    if pid >= CGROUP_KEY_BASE {
        format!("{name} (cgroup)")
    } else {
        format!("{name} (pid {pid})")
    }
}

/// `512 MB`, `1.2 GB` (MiB-based, as the memory pane counts).
pub fn mb_words(mb: f64) -> String {
    if mb >= 1024.0 {
        format!("{:.1} GB", mb / 1024.0)
    } else {
        format!("{mb:.0} MB")
    }
}

/// The short form beside a name: `4242`, or `cgroup` for a cgroup key.
pub fn watched_key_words(pid: u32) -> String {
    if pid >= CGROUP_KEY_BASE {
        "cgroup".to_string()
    } else {
        pid.to_string()
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, JsonSchema)]
pub struct ProbeError {
    pub probe: String,
    pub message: String,
}

impl Snapshot {
    /// An empty snapshot carrying the schema tag.
    pub fn empty() -> Self {
        Snapshot {
            schema: SNAPSHOT_SCHEMA.to_string(),
            ..Default::default()
        }
    }

    /// The hottest online zone, if any.
    pub fn hottest_zone(&self) -> Option<&ThermalZone> {
        self.thermal
            .iter()
            .filter(|z| z.online && z.temp_c.is_some())
            .max_by(|a, b| {
                a.temp_c
                    .partial_cmp(&b.temp_c)
                    .unwrap_or(std::cmp::Ordering::Equal)
            })
    }
}
