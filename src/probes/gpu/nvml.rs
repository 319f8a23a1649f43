//! Discrete NVIDIA GPUs through NVML (`nvml-wrapper`, loaded at run time).
//! No driver or library means "no NVML GPU": [`NvmlProbe::open`] returns the
//! reason instead of failing, and nothing else in jetstress changes.

use nvml_wrapper::enum_wrappers::device::{Clock, TemperatureSensor};
use nvml_wrapper::Nvml;

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
}
