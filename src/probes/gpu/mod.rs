//! GPUs: the Jetson iGPU through devfreq ([`tegra`]) and discrete NVIDIA GPUs
//! through NVML ([`nvml`]). A missing GPU or library is "no GPU", not an error.

pub mod nvml;
pub mod tegra;
