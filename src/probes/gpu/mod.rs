//! GPUs: the Jetson iGPU through devfreq ([`tegra`]) and discrete NVIDIA GPUs
//! through NVML ([`nvml`]). A missing GPU or library is "no GPU", not an error.

pub(crate) mod nvml;
pub(crate) mod tegra;
