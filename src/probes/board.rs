//! Board identity: model (device tree or DMI), `SoC`, L4T release, nvpmodel mode
//! (id from `/var/lib/nvpmodel/status`, name from `/etc/nvpmodel.conf`), host name.
//! `jetson_clocks` is derived from frequencies in [`super::throttle`].

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

/// Mode name for `id` from `nvpmodel.conf` (`< POWER_MODEL ID=2 NAME=30W >`).
pub fn nvpmodel_name(conf: &str, id: u32) -> Option<String> {
    conf.lines().find_map(|line| {
        let l = line.trim();
        let body = l.strip_prefix('<')?.strip_suffix('>')?.trim();
        let body = body.strip_prefix("POWER_MODEL")?;
        let mut mid = None;
        let mut name = None;
        for kv in body.split_ascii_whitespace() {
            if let Some(v) = kv.strip_prefix("ID=") {
                mid = v.parse::<u32>().ok();
            } else if let Some(v) = kv.strip_prefix("NAME=") {
                name = Some(v.to_string());
            }
        }
        (mid == Some(id)).then_some(name).flatten()
    })
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
}
