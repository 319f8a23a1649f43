//! Jetson per-process GPU memory: nvmap's debugfs table of iovmm clients,
//! `sys/kernel/debug/nvmap/iovmm/clients` (root only; debugfs must be
//! mounted). The kernel writes a `CLIENT PROCESS PID SIZE` header, one row
//! per client (`%-18s %18s %8u %10lluK`; a process may own several clients,
//! a kernel client has PID 0) and a `total` row. [`parse_iovmm_clients`] is
//! the pure parser; [`super::process`] reads the file under the root.

use std::num::ParseIntError;

/// Where nvmap lists its iovmm clients, relative to the root.
pub const IOVMM_CLIENTS: &str = "sys/kernel/debug/nvmap/iovmm/clients";

/// One client row: a handle on nvmap held by a process (or the kernel).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NvmapClient<'a> {
    /// The client's own name (`user` for a process that opened `/dev/nvmap`).
    pub client: &'a str,
    /// The owning task's `comm` (may hold spaces; `kernel` for PID 0).
    pub process: &'a str,
    pub pid: u32,
    /// iovmm memory the client holds (shared buffers divided among sharers).
    pub bytes: u64,
}

/// A parsed clients file.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NvmapClients<'a> {
    pub clients: Vec<NvmapClient<'a>>,
    /// The `total` row: every iovmm handle, however shared.
    pub total_bytes: Option<u64>,
}

/// What is wrong with one row.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RowError {
    #[error("expected CLIENT [PROCESS] PID SIZE")]
    TooFewFields,
    #[error("PID `{0}` is not a number")]
    Pid(String, #[source] ParseIntError),
    #[error("size `{0}` is not a number with an optional K, M or G")]
    Size(String),
}

/// Why a clients file could not be read as one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NvmapError {
    #[error("empty file (no `CLIENT PROCESS PID SIZE` header)")]
    Empty,
    #[error("line 1 is `{0}`, not the `CLIENT PROCESS PID SIZE` header")]
    NoHeader(String),
    #[error("line {number} `{line}`: {err}")]
    BadLine {
        /// 1-based, as an editor counts.
        number: usize,
        line: String,
        err: RowError,
    },
}

/// A size as nvmap prints it: `12345K`; also `12M`, `1G`, `512` (bytes),
/// with an optional `B`/`iB` (`12MB`, `12MiB`). Units are binary (pure).
pub fn parse_size(s: &str) -> Option<u64> {
    let digits = s.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return None;
    }
    let n: u64 = s[..digits].parse().ok()?;
    let unit = s[digits..].to_ascii_uppercase();
    let shift = match unit.as_str() {
        "" | "B" => 0,
        "K" | "KB" | "KIB" => 10,
        "M" | "MB" | "MIB" => 20,
        "G" | "GB" | "GIB" => 30,
        _ => return None,
    };
    n.checked_mul(1 << shift)
}

/// `s` without its last whitespace-separated field, and that field.
fn split_last(s: &str) -> Option<(&str, &str)> {
    let s = s.trim_end();
    let i = s.rfind(|c: char| c.is_ascii_whitespace())?;
    Some((s[..i].trim_end(), &s[i + 1..]))
}

/// One row (pure): a client, or the `total` row's size.
fn parse_row(line: &str) -> Result<Row<'_>, RowError> {
    let (rest, size) = split_last(line).ok_or(RowError::TooFewFields)?;
    let bytes = parse_size(size).ok_or_else(|| RowError::Size(size.to_string()))?;
    let rest = rest.trim_start();
    if rest == "total" {
        return Ok(Row::Total(bytes));
    }
    let (head, pid) = split_last(rest).ok_or(RowError::TooFewFields)?;
    let pid: u32 = pid.parse().map_err(|e| RowError::Pid(pid.to_string(), e))?;
    let (client, process) = match head.split_once(|c: char| c.is_ascii_whitespace()) {
        Some((c, p)) => (c, p.trim()),
        None => (head, ""),
    };
    if client.is_empty() {
        return Err(RowError::TooFewFields);
    }
    Ok(Row::Client(NvmapClient {
        client,
        process,
        pid,
        bytes,
    }))
}

enum Row<'a> {
    Client(NvmapClient<'a>),
    Total(u64),
}

/// Parse `sys/kernel/debug/nvmap/iovmm/clients` (pure). Blank lines are
/// skipped; any other line that is not a row is an error naming it.
pub fn parse_iovmm_clients(text: &str) -> Result<NvmapClients<'_>, NvmapError> {
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty());
    let (_, header) = lines.next().ok_or(NvmapError::Empty)?;
    if !header
        .split_ascii_whitespace()
        .eq(["CLIENT", "PROCESS", "PID", "SIZE"])
    {
        return Err(NvmapError::NoHeader(header.trim().to_string()));
    }
    let mut out = NvmapClients::default();
    for (i, line) in lines {
        match parse_row(line) {
            Ok(Row::Client(c)) => out.clients.push(c),
            Ok(Row::Total(b)) => out.total_bytes = Some(b),
            Err(err) => {
                return Err(NvmapError::BadLine {
                    number: i + 1,
                    line: line.trim().to_string(),
                    err,
                })
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// As an AGX Orin on L4T R36 writes it (`%-18s %18s %8u %10lluK`): a
    /// desktop, a camera daemon, two clients of one CUDA server, a kernel
    /// client and the total.
    const ORIN: &str = "\
CLIENT                        PROCESS      PID        SIZE
user                      gnome-shell     2071     201216K
user                             Xorg     1804     138752K
user                   nvargus-daemon     1187      40960K
user                     llama-server     3561     917504K
user                     llama-server     3561      65536K
user                     tmux: server     2990          0K
nvhost                         kernel        0      16384K
total                                            1843200K
";

    #[test]
    fn rows_of_a_real_looking_file() {
        let c = parse_iovmm_clients(ORIN).unwrap();
        assert_eq!(c.clients.len(), 7);
        assert_eq!(
            c.clients[0],
            NvmapClient {
                client: "user",
                process: "gnome-shell",
                pid: 2071,
                bytes: 201_216 * 1024
            }
        );
        // A comm with spaces stays one process name.
        assert_eq!(c.clients[5].process, "tmux: server");
        assert_eq!(c.clients[5].bytes, 0);
        assert_eq!(c.clients[6].process, "kernel");
        assert_eq!(c.clients[6].pid, 0);
        assert_eq!(c.total_bytes, Some(1_843_200 * 1024));
    }

    #[test]
    fn sizes_in_any_binary_unit() {
        assert_eq!(parse_size("12345K"), Some(12_345 * 1024));
        assert_eq!(parse_size("12M"), Some(12 << 20));
        assert_eq!(parse_size("2G"), Some(2 << 30));
        assert_eq!(parse_size("12MiB"), Some(12 << 20));
        assert_eq!(parse_size("4kB"), Some(4096));
        assert_eq!(parse_size("512"), Some(512));
        assert_eq!(parse_size("K"), None);
        assert_eq!(parse_size("12T"), None);
        assert_eq!(parse_size("-1K"), None);
        assert_eq!(parse_size("1.5M"), None);
    }

    #[test]
    fn the_header_is_required() {
        assert_eq!(parse_iovmm_clients(""), Err(NvmapError::Empty));
        assert_eq!(parse_iovmm_clients("\n  \n"), Err(NvmapError::Empty));
        let e = parse_iovmm_clients("user  Xorg  1804  138752K\n").unwrap_err();
        assert_eq!(e, NvmapError::NoHeader("user  Xorg  1804  138752K".into()));
        assert!(e.to_string().contains("line 1 is `user"), "{e}");
        // Header alone: no clients, no total.
        let c = parse_iovmm_clients("CLIENT PROCESS PID SIZE\n").unwrap();
        assert_eq!(c, NvmapClients::default());
    }

    #[test]
    fn a_malformed_line_is_named_with_its_number() {
        let text = "CLIENT PROCESS PID SIZE\nuser Xorg 1804 138752K\n\nuser Xorg pid 4K\n";
        let e = parse_iovmm_clients(text).unwrap_err();
        let NvmapError::BadLine { number, line, err } = &e else {
            panic!("{e:?}")
        };
        assert_eq!((*number, line.as_str()), (4, "user Xorg pid 4K"));
        assert!(matches!(err, RowError::Pid(p, _) if p == "pid"), "{err:?}");
        assert_eq!(
            e.to_string(),
            "line 4 `user Xorg pid 4K`: PID `pid` is not a number"
        );

        let e = parse_iovmm_clients("CLIENT PROCESS PID SIZE\nuser Xorg 1804 lots\n").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("line 2 `user Xorg 1804 lots`: size `lots`"),
            "{e}"
        );
        let e = parse_iovmm_clients("CLIENT PROCESS PID SIZE\n12K\n").unwrap_err();
        assert!(
            matches!(
                e,
                NvmapError::BadLine {
                    number: 2,
                    err: RowError::TooFewFields,
                    ..
                }
            ),
            "{e:?}"
        );
    }
}
