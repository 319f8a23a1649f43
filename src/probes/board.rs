//! Board identity: model (device tree or DMI), `SoC`, L4T release, nvpmodel mode
//! (id from `/var/lib/nvpmodel/status`, name from `/etc/nvpmodel.conf`), host name.
//! `jetson_clocks` is derived from frequencies in [`super::throttle`].
//! [`NvpConf`] is the whole of `nvpmodel.conf` (every mode with its rows),
//! for judging a mode change before it is made.

use super::sysfs::Root;
use crate::snapshot::{Board, NvpModel};

/// `# R35 (release), REVISION: 4.1, …` → `35.4.1`.
pub fn parse_l4t_release(text: &str) -> Option<String> {
    let line = text.lines().next()?;
    let major = line
        .split('R')
        .nth(1)?
        .split(|c: char| !c.is_ascii_digit())
        .next()?;
    let rev = line.split("REVISION:").nth(1)?.split(',').next()?.trim();
    if major.is_empty() || rev.is_empty() {
        return None;
    }
    Some(format!("{major}.{rev}"))
}

/// Last entry of a NUL-separated device-tree `compatible`, vendor prefix dropped:
/// `nvidia,p3701-0005\0nvidia,tegra234\0` → `tegra234`.
pub fn parse_soc(compatible: &str) -> Option<String> {
    let last = compatible
        .split('\0')
        .map(str::trim)
        .rfind(|s| !s.is_empty())?;
    Some(last.rsplit(',').next().unwrap_or(last).to_string())
}

/// `pmode:0002` → 2.
pub fn parse_nvpmodel_status(text: &str) -> Option<u32> {
    text.trim().strip_prefix("pmode:")?.trim().parse().ok()
}

/// `< POWER_MODEL ID=2 NAME=30W >` → `(2, "30W")`; `None` for any other line.
fn power_model_header(line: &str) -> Option<(u32, String)> {
    let body = line.trim().strip_prefix('<')?.strip_suffix('>')?.trim();
    let body = body.strip_prefix("POWER_MODEL")?;
    let mut id = None;
    let mut name = None;
    for kv in body.split_ascii_whitespace() {
        if let Some(v) = kv.strip_prefix("ID=") {
            id = v.parse::<u32>().ok();
        } else if let Some(v) = kv.strip_prefix("NAME=") {
            name = Some(v.to_string());
        }
    }
    Some((id?, name?))
}

/// Mode name for `id` from `nvpmodel.conf` (`< POWER_MODEL ID=2 NAME=30W >`).
pub fn nvpmodel_name(conf: &str, id: u32) -> Option<String> {
    conf.lines()
        .filter_map(power_model_header)
        .find_map(|(mid, name)| (mid == id).then_some(name))
}

/// One row of a power mode: `CPU_ONLINE CORE_8 0` is param `CPU_ONLINE`,
/// arg `CORE_8`, value `0`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModeRow {
    pub param: String,
    pub arg: String,
    pub value: String,
}

/// One `< POWER_MODEL … >` block of `nvpmodel.conf`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PowerMode {
    pub id: u32,
    pub name: String,
    pub rows: Vec<ModeRow>,
}

impl PowerMode {
    /// The value this mode sets for `param arg`, if it sets one.
    pub fn value(&self, param: &str, arg: &str) -> Option<&str> {
        self.rows
            .iter()
            .find(|r| r.param == param && r.arg == arg)
            .map(|r| r.value.as_str())
    }
}

/// The modes of an `nvpmodel.conf` and its boot default (pure; see
/// [`NvpConf::parse`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NvpConf {
    pub modes: Vec<PowerMode>,
    pub default: Option<u32>,
}

impl NvpConf {
    /// Every `< POWER_MODEL ID=n NAME=X >` block with the `PARAM ARG VALUE`
    /// rows under it (up to the next `<…>` header), and `PM_CONFIG DEFAULT`.
    /// Comments (`#`) and `PARAM` definition blocks are skipped.
    pub fn parse(text: &str) -> NvpConf {
        let mut modes: Vec<PowerMode> = Vec::new();
        let mut in_mode = false;
        for line in text.lines() {
            let l = line.trim();
            if l.is_empty() || l.starts_with('#') {
                continue;
            }
            if l.starts_with('<') {
                in_mode = false;
                if let Some((id, name)) = power_model_header(l) {
                    modes.push(PowerMode {
                        id,
                        name,
                        rows: Vec::new(),
                    });
                    in_mode = true;
                }
                continue;
            }
            if !in_mode {
                continue;
            }
            let mut it = l.split_ascii_whitespace();
            if let (Some(param), Some(arg), Some(value)) = (it.next(), it.next(), it.next()) {
                if let Some(m) = modes.last_mut() {
                    m.rows.push(ModeRow {
                        param: param.to_string(),
                        arg: arg.to_string(),
                        value: value.to_string(),
                    });
                }
            }
        }
        NvpConf {
            modes,
            default: nvpmodel_default(text),
        }
    }

    /// `<root>/etc/nvpmodel.conf`, when there is one.
    pub fn read(root: &Root) -> Option<NvpConf> {
        root.read("etc/nvpmodel.conf")
            .ok()
            .map(|t| NvpConf::parse(&t))
    }

    pub fn mode(&self, id: u32) -> Option<&PowerMode> {
        self.modes.iter().find(|m| m.id == id)
    }

    /// The mode a requirement names: its name (case-insensitive, as
    /// `nvpmodel -q` prints it) or its id.
    pub fn find(&self, want: &str) -> Option<&PowerMode> {
        let want = want.trim();
        self.modes
            .iter()
            .find(|m| m.name.eq_ignore_ascii_case(want))
            .or_else(|| want.parse::<u32>().ok().and_then(|id| self.mode(id)))
    }
}

/// `PM_CONFIG DEFAULT=n`: the mode a board boots in when no status file exists.
pub fn nvpmodel_default(conf: &str) -> Option<u32> {
    conf.lines().find_map(|l| {
        let l = l.trim();
        l.contains("PM_CONFIG")
            .then(|| {
                l.split("DEFAULT=")
                    .nth(1)?
                    .split(|c: char| !c.is_ascii_digit())
                    .next()?
                    .parse()
                    .ok()
            })
            .flatten()
    })
}

pub fn read_board(root: &Root) -> Board {
    let model = root
        .read_trimmed("sys/firmware/devicetree/base/model")
        .or_else(|| root.read_trimmed("proc/device-tree/model"))
        .or_else(|| {
            let product = root.read_trimmed("sys/class/dmi/id/product_name")?;
            Some(match root.read_trimmed("sys/class/dmi/id/sys_vendor") {
                Some(v) if !product.starts_with(&v) => format!("{v} {product}"),
                _ => product,
            })
        });
    let soc = root
        .read("sys/firmware/devicetree/base/compatible")
        .or_else(|_| root.read("proc/device-tree/compatible"))
        .ok()
        .and_then(|c| parse_soc(&c));
    let l4t = root
        .read("etc/nv_tegra_release")
        .ok()
        .and_then(|t| parse_l4t_release(&t));
    let conf = root.read("etc/nvpmodel.conf").ok();
    let status_id = root
        .read("var/lib/nvpmodel/status")
        .ok()
        .and_then(|s| parse_nvpmodel_status(&s));
    let id = status_id.or_else(|| conf.as_deref().and_then(nvpmodel_default));
    let nvpmodel = (id.is_some() || conf.is_some()).then(|| NvpModel {
        id,
        name: id.and_then(|i| conf.as_deref().and_then(|c| nvpmodel_name(c, i))),
    });
    Board {
        model,
        soc,
        l4t,
        nvpmodel,
        jetson_clocks: None,
        hostname: root.read_trimmed("proc/sys/kernel/hostname"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn l4t() {
        assert_eq!(
            parse_l4t_release("# R35 (release), REVISION: 4.1, GCID: 33958178, BOARD: t186ref\n")
                .as_deref(),
            Some("35.4.1")
        );
        assert_eq!(parse_l4t_release("garbage"), None);
    }

    #[test]
    fn soc() {
        assert_eq!(
            parse_soc("nvidia,p3737-0000+p3701-0005\0nvidia,tegra234\0").as_deref(),
            Some("tegra234")
        );
        assert_eq!(parse_soc(""), None);
    }

    #[test]
    fn nvpmodel() {
        let conf = "< POWER_MODEL ID=0 NAME=MAXN >\nCPU_ONLINE CORE_0 1\n< POWER_MODEL ID=2 NAME=30W >\n< PM_CONFIG DEFAULT=2 >\n";
        assert_eq!(parse_nvpmodel_status("pmode:0002\n"), Some(2));
        assert_eq!(nvpmodel_name(conf, 2).as_deref(), Some("30W"));
        assert_eq!(nvpmodel_name(conf, 7), None);
        assert_eq!(nvpmodel_default(conf), Some(2));
    }

    #[test]
    fn conf_modes_with_rows() {
        let conf = "# comment\n< PARAM TYPE=FILE NAME=CPU_ONLINE >\nCORE_0 /sys/devices/system/cpu/cpu0/online\n\n\
                    < POWER_MODEL ID=0 NAME=MAXN >\nCPU_ONLINE CORE_0 1\nGPU MAX_FREQ -1\n\n\
                    < POWER_MODEL ID=3 NAME=MODE_50W >\nCPU_ONLINE CORE_0 0\n< PM_CONFIG DEFAULT=3 >\n";
        let c = NvpConf::parse(conf);
        assert_eq!(c.default, Some(3));
        assert_eq!(
            c.modes
                .iter()
                .map(|m| (m.id, m.name.as_str(), m.rows.len()))
                .collect::<Vec<_>>(),
            [(0, "MAXN", 2), (3, "MODE_50W", 1)]
        );
        // The PARAM block's path row is not a mode row.
        assert_eq!(c.mode(0).unwrap().value("CPU_ONLINE", "CORE_0"), Some("1"));
        assert_eq!(c.mode(3).unwrap().value("GPU", "MAX_FREQ"), None);
        assert_eq!(c.find("maxn").map(|m| m.id), Some(0));
        assert_eq!(c.find("3").map(|m| m.name.as_str()), Some("MODE_50W"));
        assert_eq!(c.find("15W"), None);
    }
}
