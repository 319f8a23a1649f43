//! Discrete NVIDIA GPUs through NVML (`nvml-wrapper`, loaded at run time).
//! No driver or library means "no NVML GPU": [`NvmlProbe::open`] returns the
//! reason instead of failing, and nothing else in jetstress changes. The one
//! handle opened there also gives each process's used GPU memory
//! ([`NvmlProbe::process_memory`]).

use nvml_wrapper::enum_wrappers::device::{Clock, TemperatureSensor};
use nvml_wrapper::enums::device::UsedGpuMemory;
use nvml_wrapper::struct_wrappers::device::ProcessInfo;
use nvml_wrapper::Nvml;

use super::process::GpuMemTable;
use crate::probes::SampleError;
use crate::snapshot::Gpu;

pub struct NvmlProbe {
    nvml: Nvml,
    count: u32,
}

impl std::fmt::Debug for NvmlProbe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NvmlProbe")
            .field("count", &self.count)
            .finish()
    }
}

impl NvmlProbe {
    /// Load NVML; `Err(reason)` when there is no driver, library or device.
    pub fn open() -> Result<Self, SampleError> {
        let nvml = Nvml::init().map_err(SampleError::NvmlUnavailable)?;
        let count = nvml.device_count().map_err(SampleError::NvmlUnavailable)?;
        if count == 0 {
            return Err(SampleError::NvmlNoDevices);
        }
        Ok(NvmlProbe { nvml, count })
    }

    pub fn sample(&mut self, out: &mut Vec<Gpu>) -> Result<(), SampleError> {
        for i in 0..self.count {
            let dev = self
                .nvml
                .device_by_index(i)
                .map_err(|err| SampleError::NvmlDevice { index: i, err })?;
            let mem = dev.memory_info().ok();
            out.push(Gpu {
                kind: "nvml".to_string(),
                name: dev.name().unwrap_or_else(|_| format!("GPU {i}")),
                load_pct: dev.utilization_rates().ok().map(|u| f64::from(u.gpu)),
                freq_mhz: dev.clock_info(Clock::Graphics).ok().map(f64::from),
                max_freq_mhz: dev.max_clock_info(Clock::Graphics).ok().map(f64::from),
                hw_max_freq_mhz: dev.max_clock_info(Clock::Graphics).ok().map(f64::from),
                min_freq_mhz: None,
                temp_c: dev.temperature(TemperatureSensor::Gpu).ok().map(f64::from),
                mem_used_mb: mem.as_ref().map(|m| m.used as f64 / 1_048_576.0),
                mem_total_mb: mem.as_ref().map(|m| m.total as f64 / 1_048_576.0),
                power_mw: dev.power_usage().ok().map(f64::from),
                railgated: None,
            });
        }
        Ok(())
    }
    /// Add every process's used GPU memory on every device to `out`, by
    /// PID. Whether any device gave its process lists: a driver or device
    /// that cannot say (not supported, no permission) is skipped without an
    /// error, so the caller can fall back.
    pub fn process_memory(&self, out: &mut GpuMemTable) -> bool {
        let mut answered = false;
        for i in 0..self.count {
            let Ok(dev) = self.nvml.device_by_index(i) else {
                continue;
            };
            let compute = dev.running_compute_processes();
            let graphics = dev.running_graphics_processes();
            if compute.is_err() && graphics.is_err() {
                continue;
            }
            answered = true;
            add_device(
                out,
                compute.as_deref().unwrap_or_default(),
                graphics.as_deref().unwrap_or_default(),
            );
        }
        answered
    }
}

/// One device's compute and graphics process lists into `out` (pure). A
/// process with both contexts (nvidia-smi's `C+G`) is listed in both with
/// the same allocation, so per device it counts once, the larger figure;
/// devices add up. `Unavailable` memory (WDDM, some MIG setups) is left out.
fn add_device(out: &mut GpuMemTable, compute: &[ProcessInfo], graphics: &[ProcessInfo]) {
    let mut per_pid: Vec<(u32, u64)> = Vec::with_capacity(compute.len() + graphics.len());
    for p in compute.iter().chain(graphics) {
        let UsedGpuMemory::Used(b) = p.used_gpu_memory else {
            continue;
        };
        match per_pid.iter_mut().find(|(pid, _)| *pid == p.pid) {
            Some((_, m)) => *m = (*m).max(b),
            None => per_pid.push((p.pid, b)),
        }
    }
    for (pid, b) in per_pid {
        out.add(pid, b);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proc(pid: u32, mb: Option<u64>) -> ProcessInfo {
        ProcessInfo {
            pid,
            used_gpu_memory: mb
                .map_or(UsedGpuMemory::Unavailable, |m| UsedGpuMemory::Used(m << 20)),
            gpu_instance_id: None,
            compute_instance_id: None,
        }
    }

    #[test]
    fn processes_add_up_over_devices_and_count_once_per_device() {
        let mut t = GpuMemTable::default();
        // GPU 0: a CUDA server and a C+G viewer listed in both lists.
        add_device(
            &mut t,
            &[proc(100, Some(900)), proc(200, Some(64))],
            &[proc(200, Some(64)), proc(300, None)],
        );
        // GPU 1: the server again (tensor parallel).
        add_device(&mut t, &[proc(100, Some(100))], &[]);
        assert_eq!(t.mb(100), Some(1000.0));
        assert_eq!(t.mb(200), Some(64.0));
        assert_eq!(t.mb(300), None, "unavailable memory is not 0");
    }
}
