//! The board settings a run depends on (nvpmodel mode, `jetson_clocks`, fan
//! mode): read as a [`BoardState`], checked against a `[board]`
//! [`BoardRequirement`] (pure: [`check`]), changed as root ([`apply`]) and put
//! back ([`restore`]). `apply` writes a restore file (the state before and
//! each step as it starts) before it runs anything, so a crash leaves what
//! [`pending_restore`] needs to undo it on the next start.
//!
//! `nvpmodel.conf` does not mark which modes need a reboot: `nvpmodel` decides
//! when it runs ("Reboot required for changing to this power mode") and asks
//! on the terminal. Reports from the field tie that to modes that change the
//! online CPU cores or the GPU's TPC power gating, so such a change is
//! [`Reboot::Needed`] and never proposed; a change of clock caps alone is
//! [`Reboot::NotExpected`]; without the rows to compare it is
//! [`Reboot::Unknown`] and said so. Whatever the judgment, `apply` answers
//! nvpmodel's question "no", so it never reboots the board.

use std::fmt;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::probes::{NvpConf, Prober, Root};
use crate::snapshot::{NvpModel, Snapshot};

/// The restore file's name in a run directory (see [`pending_restore`]).
pub const RESTORE_FILE: &str = "board-restore.json";

/// The `schema` of a restore file.
pub const RESTORE_SCHEMA: &str = "jetstress.board-restore/1";

/// How long one `nvpmodel` or `jetson_clocks` call may take.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);

/// What is kept of a command's output for an error: its last bytes.
const TAIL_BYTES: usize = 2048;

/// Where a run directory keeps its restore file.
pub fn restore_path(dir: &Path) -> PathBuf {
    dir.join(RESTORE_FILE)
}

/// What the board is set to now. Off Jetson every field is `None`
/// ("unavailable").
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct BoardState {
    pub nvpmodel: Option<NvpModel>,
    /// `None` when it cannot be judged (not a Jetson, or no frequency files).
    pub jetson_clocks: Option<bool>,
    /// The first fan's control (`auto`, `manual`, `disabled`).
    pub fan_mode: Option<String>,
}

impl BoardState {
    /// The board settings a snapshot holds.
    pub fn from_snapshot(s: &Snapshot) -> BoardState {
        BoardState {
            nvpmodel: s.board.nvpmodel.clone(),
            jetson_clocks: s.board.jetson_clocks,
            fan_mode: s.fans.iter().find_map(|f| f.control.clone()),
        }
    }

    /// Read the board under `root` (`/` on the board) with the probes.
    pub fn read(root: &Path) -> BoardState {
        BoardState::from_snapshot(&Prober::new(Root::new(root), Vec::new()).sample())
    }
}

/// `0 (MAXN)`, `0`, `MAXN` or `unknown`.
fn mode_words(m: &NvpModel) -> String {
    match (m.id, m.name.as_deref()) {
        (Some(id), Some(n)) => format!("{id} ({n})"),
        (Some(id), None) => id.to_string(),
        (None, Some(n)) => n.to_string(),
        (None, None) => "unknown".to_string(),
    }
}

fn on_off(b: bool) -> &'static str {
    if b {
        "on"
    } else {
        "off"
    }
}

impl fmt::Display for BoardState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.nvpmodel {
            Some(m) => write!(f, "nvpmodel {}", mode_words(m))?,
            None => f.write_str("nvpmodel unavailable")?,
        }
        match self.jetson_clocks {
            Some(b) => write!(f, ", jetson_clocks {}", on_off(b))?,
            None => f.write_str(", jetson_clocks unavailable")?,
        }
        match &self.fan_mode {
            Some(m) => write!(f, ", fan {m}"),
            None => f.write_str(", fan unavailable"),
        }
    }
}

pub use crate::load::BoardRequirement;

/// A board setting a requirement can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Setting {
    Nvpmodel,
    JetsonClocks,
}

impl fmt::Display for Setting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Setting::Nvpmodel => "nvpmodel",
            Setting::JetsonClocks => "jetson_clocks",
        })
    }
}

/// Whether switching nvpmodel modes needs a reboot (see the module header).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Reboot {
    /// The modes differ in clock caps only, which nvpmodel sets live.
    NotExpected,
    /// The modes differ in online CPU cores or TPC power gating.
    Needed { why: String },
    /// `nvpmodel.conf` does not hold what is needed to tell.
    Unknown { why: String },
}

/// The NVIDIA tools a fix runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tool {
    Nvpmodel,
    JetsonClocks,
}

impl Tool {
    pub fn name(self) -> &'static str {
        match self {
            Tool::Nvpmodel => "nvpmodel",
            Tool::JetsonClocks => "jetson_clocks",
        }
    }
}

/// A command that changes a setting (shown with `sudo`, run by [`apply`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum Fix {
    /// `nvpmodel -m ID`
    SetMode { id: u32 },
    /// `jetson_clocks`
    JetsonClocks,
    /// `jetson_clocks --restore [FILE]`; without a file, the tool's own
    /// default (`~/l4t_dfs.conf`, written by `jetson_clocks --store`).
    JetsonClocksRestore { file: Option<PathBuf> },
}

impl Fix {
    pub fn tool(&self) -> Tool {
        match self {
            Fix::SetMode { .. } => Tool::Nvpmodel,
            Fix::JetsonClocks | Fix::JetsonClocksRestore { .. } => Tool::JetsonClocks,
        }
    }

    pub fn args(&self) -> Vec<String> {
        match self {
            Fix::SetMode { id } => vec!["-m".into(), id.to_string()],
            Fix::JetsonClocks => Vec::new(),
            Fix::JetsonClocksRestore { file } => {
                let mut a = vec!["--restore".to_string()];
                a.extend(file.iter().map(|f| f.display().to_string()));
                a
            }
        }
    }
}

impl fmt::Display for Fix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sudo {}", self.tool().name())?;
        for a in self.args() {
            write!(f, " {a}")?;
        }
        Ok(())
    }
}

/// One way the board differs from a requirement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Mismatch {
    /// Another nvpmodel mode is set; `fix` is `None` when the switch needs a
    /// reboot (never proposed).
    Nvpmodel {
        have: NvpModel,
        want: NvpModel,
        reboot: Reboot,
        fix: Option<Fix>,
    },
    JetsonClocks {
        have: bool,
        want: bool,
        fix: Fix,
    },
    /// `nvpmodel.conf` has no mode of that name or id.
    UnknownMode {
        want: String,
        known: Vec<String>,
    },
    /// The setting cannot be read or changed on this board.
    Unavailable {
        setting: Setting,
        why: String,
    },
}

impl Mismatch {
    /// The command that would fix it, when there is one to propose.
    pub fn fix(&self) -> Option<&Fix> {
        match self {
            Mismatch::Nvpmodel { fix, .. } => fix.as_ref(),
            Mismatch::JetsonClocks { fix, .. } => Some(fix),
            Mismatch::UnknownMode { .. } | Mismatch::Unavailable { .. } => None,
        }
    }

    pub fn setting(&self) -> Setting {
        match self {
            Mismatch::Nvpmodel { .. } | Mismatch::UnknownMode { .. } => Setting::Nvpmodel,
            Mismatch::JetsonClocks { .. } => Setting::JetsonClocks,
            Mismatch::Unavailable { setting, .. } => *setting,
        }
    }
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Mismatch::Nvpmodel {
                have,
                want,
                reboot,
                fix,
            } => {
                write!(
                    f,
                    "nvpmodel is {}, wanted {}",
                    mode_words(have),
                    mode_words(want)
                )?;
                match (reboot, fix) {
                    (Reboot::Needed { why }, _) => write!(
                        f,
                        ", which needs a reboot ({why}): jetstress will not switch it; \
                         pick a mode that switches live, or set it and reboot before the run"
                    ),
                    (Reboot::Unknown { why }, Some(fix)) => write!(
                        f,
                        ": {fix} (whether it needs a reboot cannot be told: {why}; \
                         if nvpmodel asks, jetstress answers no)"
                    ),
                    (_, Some(fix)) => write!(f, ": {fix}"),
                    (_, None) => Ok(()),
                }
            }
            Mismatch::JetsonClocks { have, want, fix } => {
                write!(
                    f,
                    "jetson_clocks is {}, wanted {}: {fix}",
                    on_off(*have),
                    on_off(*want)
                )?;
                if matches!(fix, Fix::JetsonClocksRestore { file: None }) {
                    f.write_str(
                        " (from the file `jetson_clocks --store` wrote, ~/l4t_dfs.conf by default)",
                    )?;
                }
                Ok(())
            }
            Mismatch::UnknownMode { want, known } => write!(
                f,
                "nvpmodel.conf has no mode `{want}` (modes: {})",
                known.join(", ")
            ),
            Mismatch::Unavailable { setting, why } => write!(f, "{setting} unavailable: {why}"),
        }
    }
}

/// Rows of `nvpmodel.conf` that, when two modes differ in them, make
/// nvpmodel ask for a reboot.
const BOOT_PARAMS: &[(&str, &str)] = &[
    ("CPU_ONLINE", "online CPU cores change"),
    ("TPC_POWER_GATING", "GPU TPC power gating changes"),
];

/// Whether switching from mode `from` to mode `to` needs a reboot (pure).
pub fn reboot_for(conf: &NvpConf, from: u32, to: u32) -> Reboot {
    let (Some(a), Some(b)) = (conf.mode(from), conf.mode(to)) else {
        let missing = if conf.mode(from).is_none() { from } else { to };
        return Reboot::Unknown {
            why: format!("mode {missing} is not in nvpmodel.conf"),
        };
    };
    let mut seen = false;
    let mut why = Vec::new();
    let mut unlisted = Vec::new();
    for (param, words) in BOOT_PARAMS {
        let mut args: Vec<&str> = a
            .rows
            .iter()
            .chain(&b.rows)
            .filter(|r| r.param == *param)
            .map(|r| r.arg.as_str())
            .collect();
        args.sort_unstable();
        args.dedup();
        seen |= !args.is_empty();
        let mut changed = Vec::new();
        for arg in args {
            match (a.value(param, arg), b.value(param, arg)) {
                (Some(x), Some(y)) if x != y => changed.push(format!("{arg} {x} → {y}")),
                (Some(_), Some(_)) => {}
                (None, _) => unlisted.push(format!("mode {from} does not list {param} {arg}")),
                (_, None) => unlisted.push(format!("mode {to} does not list {param} {arg}")),
            }
        }
        if !changed.is_empty() {
            why.push(format!("{words}: {}", changed.join(", ")));
        }
    }
    if !why.is_empty() {
        Reboot::Needed {
            why: why.join("; "),
        }
    } else if !seen {
        Reboot::Unknown {
            why: format!(
                "nvpmodel.conf lists no online cores or TPC power gating for modes {from} and {to}"
            ),
        }
    } else if !unlisted.is_empty() {
        Reboot::Unknown {
            why: unlisted.join(", "),
        }
    } else {
        Reboot::NotExpected
    }
}

/// True when the current mode is the one `want` names, judged without a conf.
fn names_mode(have: &NvpModel, want: &str) -> bool {
    have.name
        .as_deref()
        .is_some_and(|n| n.eq_ignore_ascii_case(want.trim()))
        || want
            .trim()
            .parse::<u32>()
            .ok()
            .is_some_and(|id| have.id == Some(id))
}

/// How `state` differs from `req` (pure); `conf` is the board's
/// `nvpmodel.conf` (names to ids, and whether a switch needs a reboot).
/// Empty when the board meets the requirement.
pub fn check(state: &BoardState, req: &BoardRequirement, conf: Option<&NvpConf>) -> Vec<Mismatch> {
    let mut out = Vec::new();
    if let Some(want) = &req.nvpmodel {
        match (&state.nvpmodel, conf) {
            (None, _) => out.push(Mismatch::Unavailable {
                setting: Setting::Nvpmodel,
                why:
                    "no nvpmodel on this board (no /etc/nvpmodel.conf, no /var/lib/nvpmodel/status)"
                        .into(),
            }),
            (Some(have), None) => {
                if !names_mode(have, want) {
                    out.push(Mismatch::Unavailable {
                        setting: Setting::Nvpmodel,
                        why: format!(
                            "no /etc/nvpmodel.conf: `{want}` cannot be resolved to a mode id"
                        ),
                    });
                }
            }
            (Some(have), Some(conf)) => match conf.find(want) {
                None => out.push(Mismatch::UnknownMode {
                    want: want.clone(),
                    known: conf
                        .modes
                        .iter()
                        .map(|m| format!("{} {}", m.id, m.name))
                        .collect(),
                }),
                Some(m) if have.id == Some(m.id) => {}
                Some(m) => {
                    let want = NvpModel {
                        id: Some(m.id),
                        name: Some(m.name.clone()),
                    };
                    match have.id {
                        None => out.push(Mismatch::Unavailable {
                            setting: Setting::Nvpmodel,
                            why: "the current mode is unknown (no nvpmodel status, no default \
                                  in nvpmodel.conf), so it could not be put back"
                                .into(),
                        }),
                        Some(from) => {
                            let reboot = reboot_for(conf, from, m.id);
                            let fix = (!matches!(reboot, Reboot::Needed { .. }))
                                .then_some(Fix::SetMode { id: m.id });
                            out.push(Mismatch::Nvpmodel {
                                have: have.clone(),
                                want,
                                reboot,
                                fix,
                            });
                        }
                    }
                }
            },
        }
    }
    if let Some(want) = req.jetson_clocks {
        match state.jetson_clocks {
            None => out.push(Mismatch::Unavailable {
                setting: Setting::JetsonClocks,
                why: "jetson_clocks cannot be judged here (not a Jetson, or no CPU/GPU \
                      frequency files)"
                    .into(),
            }),
            Some(have) if have == want => {}
            Some(have) => out.push(Mismatch::JetsonClocks {
                have,
                want,
                fix: if want {
                    Fix::JetsonClocks
                } else {
                    Fix::JetsonClocksRestore { file: None }
                },
            }),
        }
    }
    out
}

/// Why the board could not be changed or put back.
#[derive(Debug, thiserror::Error)]
pub enum BoardError {
    #[error(
        "changing the board needs root (effective uid {euid}); run with sudo, or set it by hand"
    )]
    NotRoot { euid: u32 },
    #[error("`{0}` is not installed here (searched PATH, /usr/sbin, /usr/bin, /sbin, /bin)")]
    CommandMissing(&'static str),
    #[error("could not start `{command}`: {source}")]
    Spawn {
        command: String,
        #[source]
        source: io::Error,
    },
    #[error("`{command}` failed ({status}): {stderr}")]
    CommandFailed {
        command: String,
        status: ExitStatus,
        /// The last lines it wrote on stderr (stdout when stderr was empty).
        stderr: String,
    },
    #[error("`{command}` did not finish in {} s and was killed", after.as_secs())]
    Timeout { command: String, after: Duration },
    #[error(
        "nvpmodel wants a reboot to switch to mode {id}; jetstress answered no, the mode is \
         unchanged: {output}"
    )]
    RebootRequired { id: u32, output: String },
    #[error("the board cannot be set as required: {}", words(.0))]
    Unmet(Vec<Mismatch>),
    #[error("{}: a restore file from an earlier run is still there; restore it first", .0.display())]
    RestorePending(PathBuf),
    #[error("{}: {source}", path.display())]
    RestoreIo {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{}: not a board restore file: {source}", path.display())]
    RestoreFormat {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
}

fn words(m: &[Mismatch]) -> String {
    m.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// Only root changes the board (pure, so the refusal is testable).
pub fn may_apply(euid: u32) -> Result<(), BoardError> {
    if euid == 0 {
        Ok(())
    } else {
        Err(BoardError::NotRoot { euid })
    }
}

/// One change [`apply`] makes, as the restore file records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    /// `nvpmodel -m to`, undone with `nvpmodel -m from`.
    SetMode { from: u32, to: u32 },
    /// `jetson_clocks --store store` then `jetson_clocks`, undone with
    /// `jetson_clocks --restore store`.
    JetsonClocksOn { store: PathBuf },
    /// `jetson_clocks --restore`, undone with `jetson_clocks`.
    JetsonClocksOff,
}

/// The restore file: the state before, what was planned, and what was
/// started (the steps [`restore`] undoes).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RestoreRecord {
    pub schema: String,
    pub written_unix_ms: u64,
    pub before: BoardState,
    pub planned: Vec<Action>,
    pub started: Vec<Action>,
}

impl RestoreRecord {
    pub fn read(path: &Path) -> Result<RestoreRecord, BoardError> {
        let text = std::fs::read_to_string(path).map_err(|source| BoardError::RestoreIo {
            path: path.to_path_buf(),
            source,
        })?;
        serde_json::from_str(&text).map_err(|source| BoardError::RestoreFormat {
            path: path.to_path_buf(),
            source,
        })
    }

    /// Write atomically: a temporary file beside it, synced, then renamed.
    fn write(&mut self, path: &Path) -> Result<(), BoardError> {
        self.written_unix_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        let io_err = |source| BoardError::RestoreIo {
            path: path.to_path_buf(),
            source,
        };
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(format!(".tmp{}", std::process::id()));
        let tmp = PathBuf::from(tmp);
        let body = serde_json::to_vec_pretty(self).expect("a restore record serialises");
        let mut f = std::fs::File::create(&tmp).map_err(io_err)?;
        f.write_all(&body)
            .and_then(|()| f.write_all(b"\n"))
            .and_then(|()| f.sync_all())
            .map_err(io_err)?;
        drop(f);
        std::fs::rename(&tmp, path).map_err(io_err)
    }
}

/// What [`apply`] did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Applied {
    pub before: BoardState,
    pub after: BoardState,
    /// The commands run, in order (`nvpmodel -m 0`).
    pub ran: Vec<String>,
    /// The restore file, when something was changed (`None`: nothing to do).
    pub restore_file: Option<PathBuf>,
}

/// What [`restore`] did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Restored {
    /// The state the restore file recorded.
    pub before: BoardState,
    pub after: BoardState,
    pub ran: Vec<String>,
}

/// Where the board is read and its tools are found: the real machine
/// ([`Host::system`]) or, in tests, a fixture tree and a directory of tools.
#[derive(Debug, Clone)]
pub struct Host {
    pub root: PathBuf,
    /// Directories searched for `nvpmodel` and `jetson_clocks`.
    pub search: Vec<PathBuf>,
    pub euid: u32,
    pub timeout: Duration,
}

impl Host {
    /// This machine: `/`, `PATH` plus the sbin directories sudo adds, and
    /// this process's effective uid.
    pub fn system() -> Host {
        let mut search: Vec<PathBuf> = std::env::var_os("PATH")
            .map(|p| std::env::split_paths(&p).collect())
            .unwrap_or_default();
        for d in ["/usr/sbin", "/usr/bin", "/sbin", "/bin"] {
            if !search.iter().any(|s| s == Path::new(d)) {
                search.push(PathBuf::from(d));
            }
        }
        Host {
            root: PathBuf::from("/"),
            search,
            // SAFETY: geteuid has no preconditions and cannot fail.
            euid: unsafe { libc::geteuid() },
            timeout: COMMAND_TIMEOUT,
        }
    }

    fn find(&self, tool: Tool) -> Result<PathBuf, BoardError> {
        use std::os::unix::fs::PermissionsExt;
        self.search
            .iter()
            .map(|d| d.join(tool.name()))
            .find(|p| {
                std::fs::metadata(p)
                    .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
            })
            .ok_or(BoardError::CommandMissing(tool.name()))
    }

    /// Run one tool with its stdin answering "no" (nvpmodel's reboot
    /// question), within the timeout; the command line on success.
    fn run(&self, exe: &Path, tool: Tool, args: &[String]) -> Result<String, BoardError> {
        let switching_to = match (tool, args) {
            (Tool::Nvpmodel, [m, id]) if m == "-m" => id.parse::<u32>().ok(),
            _ => None,
        };
        let command = std::iter::once(tool.name().to_string())
            .chain(args.iter().cloned())
            .collect::<Vec<_>>()
            .join(" ");
        let out = run_child(exe, args, self.timeout).map_err(|e| match e {
            ChildError::Spawn(source) => BoardError::Spawn {
                command: command.clone(),
                source,
            },
            ChildError::Timeout => BoardError::Timeout {
                command: command.clone(),
                after: self.timeout,
            },
        })?;
        if let Some(id) = switching_to {
            if asks_reboot(&out.stdout) || asks_reboot(&out.stderr) {
                return Err(BoardError::RebootRequired {
                    id,
                    output: last_lines(if out.stdout.trim().is_empty() {
                        &out.stderr
                    } else {
                        &out.stdout
                    }),
                });
            }
        }
        if !out.status.success() {
            let text = if out.stderr.trim().is_empty() {
                &out.stdout
            } else {
                &out.stderr
            };
            return Err(BoardError::CommandFailed {
                command,
                status: out.status,
                stderr: last_lines(text),
            });
        }
        Ok(command)
    }

    /// See [`apply`].
    pub fn apply(
        &self,
        req: &BoardRequirement,
        restore_file: &Path,
    ) -> Result<Applied, BoardError> {
        may_apply(self.euid)?;
        let before = BoardState::read(&self.root);
        let conf = NvpConf::read(&Root::new(&self.root));
        let mismatches = check(&before, req, conf.as_ref());
        let unmet: Vec<Mismatch> = mismatches
            .iter()
            .filter(|m| m.fix().is_none())
            .cloned()
            .collect();
        if !unmet.is_empty() {
            return Err(BoardError::Unmet(unmet));
        }
        let mut planned = Vec::new();
        for m in &mismatches {
            if let Mismatch::Nvpmodel {
                have: NvpModel { id: Some(from), .. },
                fix: Some(Fix::SetMode { id }),
                ..
            } = m
            {
                planned.push(Action::SetMode {
                    from: *from,
                    to: *id,
                });
            }
        }
        let clocks_off = mismatches
            .iter()
            .any(|m| matches!(m, Mismatch::JetsonClocks { want: false, .. }));
        // A mode switch resets the clocks, so pinning follows it even when
        // jetson_clocks was on already.
        let clocks_on = req.jetson_clocks == Some(true)
            && (!planned.is_empty()
                || mismatches
                    .iter()
                    .any(|m| matches!(m, Mismatch::JetsonClocks { want: true, .. })));
        if clocks_on {
            planned.push(Action::JetsonClocksOn {
                store: store_path(restore_file),
            });
        } else if clocks_off {
            planned.push(Action::JetsonClocksOff);
        }
        if planned.is_empty() {
            return Ok(Applied {
                after: before.clone(),
                before,
                ran: Vec::new(),
                restore_file: None,
            });
        }
        if restore_file.exists() {
            return Err(BoardError::RestorePending(restore_file.to_path_buf()));
        }
        let mut record = RestoreRecord {
            schema: RESTORE_SCHEMA.to_string(),
            written_unix_ms: 0,
            before: before.clone(),
            planned: planned.clone(),
            started: Vec::new(),
        };
        record.write(restore_file)?;
        let mut ran = Vec::new();
        for action in planned {
            let steps: Vec<Fix> = match &action {
                Action::SetMode { to, .. } => vec![Fix::SetMode { id: *to }],
                Action::JetsonClocksOn { .. } => vec![Fix::JetsonClocks],
                Action::JetsonClocksOff => vec![Fix::JetsonClocksRestore { file: None }],
            };
            let exe = self.find(steps[0].tool())?;
            // Recorded before it starts: a crash in the middle is undone too.
            record.started.push(action.clone());
            record.write(restore_file)?;
            if let Action::JetsonClocksOn { store } = &action {
                ran.push(self.run(
                    &exe,
                    Tool::JetsonClocks,
                    &["--store".to_string(), store.display().to_string()],
                )?);
            }
            for s in steps {
                ran.push(self.run(&exe, s.tool(), &s.args())?);
            }
        }
        Ok(Applied {
            before,
            after: BoardState::read(&self.root),
            ran,
            restore_file: Some(restore_file.to_path_buf()),
        })
    }

    /// See [`restore`].
    pub fn restore(&self, restore_file: &Path) -> Result<Restored, BoardError> {
        may_apply(self.euid)?;
        let record = RestoreRecord::read(restore_file)?;
        let mut undo: Vec<Fix> = Vec::new();
        for a in record.started.iter().rev() {
            match a {
                Action::JetsonClocksOn { store } if store.exists() => {
                    undo.push(Fix::JetsonClocksRestore {
                        file: Some(store.clone()),
                    });
                }
                Action::SetMode { from, .. } => undo.push(Fix::SetMode { id: *from }),
                Action::JetsonClocksOn { .. } | Action::JetsonClocksOff => {}
            }
        }
        // Pinned before: pin again last, after the mode is back.
        let repin = record.before.jetson_clocks == Some(true)
            && record
                .started
                .iter()
                .any(|a| matches!(a, Action::SetMode { .. } | Action::JetsonClocksOff));
        if repin {
            undo.push(Fix::JetsonClocks);
        }
        let mut ran = Vec::new();
        for fix in undo {
            let exe = self.find(fix.tool())?;
            ran.push(self.run(&exe, fix.tool(), &fix.args())?);
        }
        for a in &record.started {
            if let Action::JetsonClocksOn { store } = a {
                let _ = std::fs::remove_file(store);
            }
        }
        std::fs::remove_file(restore_file).map_err(|source| BoardError::RestoreIo {
            path: restore_file.to_path_buf(),
            source,
        })?;
        Ok(Restored {
            before: record.before,
            after: BoardState::read(&self.root),
            ran,
        })
    }

    /// See [`pending_restore`].
    pub fn pending_restore(&self, dir: &Path) -> Result<Option<Restored>, BoardError> {
        let path = restore_path(dir);
        if !path.exists() {
            return Ok(None);
        }
        self.restore(&path).map(Some)
    }
}

/// Where `jetson_clocks --store` keeps the clocks beside a restore file.
fn store_path(restore_file: &Path) -> PathBuf {
    restore_file.with_extension("jetson_clocks.conf")
}

/// nvpmodel's `NVPM WARN: Reboot required for changing to this power mode: N`.
fn asks_reboot(out: &str) -> bool {
    out.to_ascii_lowercase().contains("reboot required")
}

/// The last few lines of a command's output, for an error message.
fn last_lines(text: &str) -> String {
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(4)..].join(" / ")
}

/// Make the board meet `req` on this machine, as root: reads the state,
/// refuses what cannot be met ([`BoardError::Unmet`]: unavailable, unknown
/// mode, a switch that needs a reboot) before touching anything, writes
/// `restore_file`, then runs `nvpmodel -m ID` and `jetson_clocks` (after
/// `jetson_clocks --store`). On an error the restore file stays: [`restore`]
/// undoes what was started.
pub fn apply(req: &BoardRequirement, restore_file: &Path) -> Result<Applied, BoardError> {
    Host::system().apply(req, restore_file)
}

/// Undo what a restore file records, then delete it (and the
/// `jetson_clocks --store` file beside it).
pub fn restore(restore_file: &Path) -> Result<Restored, BoardError> {
    Host::system().restore(restore_file)
}

/// On start: when `dir` holds a restore file a crashed run left
/// ([`restore_path`]), restore it. `Ok(None)` when there is none.
pub fn pending_restore(dir: &Path) -> Result<Option<Restored>, BoardError> {
    Host::system().pending_restore(dir)
}

/// A child's exit status and the tails of its output.
struct ChildOut {
    status: ExitStatus,
    stdout: String,
    stderr: String,
}

enum ChildError {
    Spawn(io::Error),
    Timeout,
}

/// Keep reading `r` to its end, holding only the last [`TAIL_BYTES`].
fn tail_reader<R: Read + Send + 'static>(mut r: R) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut kept: Vec<u8> = Vec::new();
        let mut buf = [0u8; 1024];
        while let Ok(n) = r.read(&mut buf) {
            if n == 0 {
                break;
            }
            kept.extend_from_slice(&buf[..n]);
            if kept.len() > TAIL_BYTES {
                kept.drain(..kept.len() - TAIL_BYTES);
            }
        }
        String::from_utf8_lossy(&kept).into_owned()
    })
}

fn run_child(exe: &Path, args: &[String], timeout: Duration) -> Result<ChildOut, ChildError> {
    let spawn = || {
        Command::new(exe)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
    };
    // ETXTBSY: the tool is being written (an upgrade, or another thread's
    // fork still holds the new file open); it clears in moments.
    let mut tries = 0;
    let mut child = loop {
        match spawn() {
            Err(e) if e.raw_os_error() == Some(libc::ETXTBSY) && tries < 10 => {
                tries += 1;
                std::thread::sleep(Duration::from_millis(50));
            }
            r => break r.map_err(ChildError::Spawn)?,
        }
    };
    if let Some(mut stdin) = child.stdin.take() {
        // A tool that never asks has exited or closed it: nothing to do.
        let _ = stdin.write_all(b"no\n");
    }
    let out = child.stdout.take().map(tail_reader);
    let err = child.stderr.take().map(tail_reader);
    let until = Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(s)) => break s,
            Ok(None) if Instant::now() < until => std::thread::sleep(Duration::from_millis(20)),
            Ok(None) | Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(ChildError::Timeout);
            }
        }
    };
    let join = |h: Option<std::thread::JoinHandle<String>>| {
        h.map(|h| h.join().unwrap_or_default()).unwrap_or_default()
    };
    Ok(ChildOut {
        status,
        stdout: join(out),
        stderr: join(err),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conf() -> NvpConf {
        NvpConf::parse(
            "< POWER_MODEL ID=0 NAME=MAXN >\nCPU_ONLINE CORE_0 1\nCPU_ONLINE CORE_8 1\nGPU MAX_FREQ -1\n\
             < POWER_MODEL ID=2 NAME=MODE_30W >\nCPU_ONLINE CORE_0 1\nCPU_ONLINE CORE_8 0\nGPU MAX_FREQ 612000000\n\
             < POWER_MODEL ID=3 NAME=MODE_50W >\nCPU_ONLINE CORE_0 1\nCPU_ONLINE CORE_8 1\nGPU MAX_FREQ 816000000\n\
             < POWER_MODEL ID=4 NAME=CLOCKS_ONLY >\nGPU MAX_FREQ 1\n\
             < PM_CONFIG DEFAULT=2 >\n",
        )
    }

    fn at(id: u32, name: &str) -> BoardState {
        BoardState {
            nvpmodel: Some(NvpModel {
                id: Some(id),
                name: Some(name.into()),
            }),
            jetson_clocks: Some(false),
            fan_mode: Some("auto".into()),
        }
    }

    fn wants(nvp: Option<&str>, jc: Option<bool>) -> BoardRequirement {
        BoardRequirement {
            nvpmodel: nvp.map(Into::into),
            jetson_clocks: jc,
        }
    }

    #[test]
    fn may_apply_only_as_root() {
        assert!(may_apply(0).is_ok());
        let e = may_apply(1000).unwrap_err();
        assert!(matches!(e, BoardError::NotRoot { euid: 1000 }), "{e:?}");
        assert!(e.to_string().contains("root"), "{e}");
    }

    #[test]
    fn requirement_toml_takes_names_and_ids_and_refuses_unknown_keys() {
        let r: BoardRequirement =
            toml::from_str("nvpmodel = \"MAXN\"\njetson_clocks = true\n").unwrap();
        assert_eq!(r, wants(Some("MAXN"), Some(true)));
        let r: BoardRequirement = toml::from_str("nvpmodel = 0\n").unwrap();
        assert_eq!(r.nvpmodel.as_deref(), Some("0"));
        assert!(toml::from_str::<BoardRequirement>("").unwrap().is_empty());
        let e = toml::from_str::<BoardRequirement>("fan = \"max\"\n").unwrap_err();
        assert!(e.to_string().contains("unknown field"), "{e}");
    }

    #[test]
    fn met_requirement_has_no_mismatch() {
        let c = conf();
        for want in ["MAXN", "maxn", "0"] {
            assert_eq!(
                check(&at(0, "MAXN"), &wants(Some(want), Some(false)), Some(&c)),
                []
            );
        }
    }

    #[test]
    fn clock_cap_switch_is_proposed() {
        let m = check(
            &at(0, "MAXN"),
            &wants(Some("MODE_50W"), None),
            Some(&conf()),
        );
        assert_eq!(m.len(), 1);
        let Mismatch::Nvpmodel { reboot, fix, .. } = &m[0] else {
            panic!("{m:?}")
        };
        assert_eq!(*reboot, Reboot::NotExpected);
        assert_eq!(fix.as_ref().unwrap().to_string(), "sudo nvpmodel -m 3");
        assert_eq!(
            m[0].to_string(),
            "nvpmodel is 0 (MAXN), wanted 3 (MODE_50W): sudo nvpmodel -m 3"
        );
    }

    #[test]
    fn switch_changing_online_cores_is_never_proposed() {
        let m = check(
            &at(0, "MAXN"),
            &wants(Some("MODE_30W"), None),
            Some(&conf()),
        );
        let Mismatch::Nvpmodel { reboot, fix, .. } = &m[0] else {
            panic!("{m:?}")
        };
        assert_eq!(*fix, None);
        let Reboot::Needed { why } = reboot else {
            panic!("{reboot:?}")
        };
        assert!(why.contains("CORE_8 1 → 0"), "{why}");
        assert!(m[0].fix().is_none());
        assert!(m[0].to_string().contains("needs a reboot"), "{}", m[0]);
    }

    #[test]
    fn reboot_cannot_be_told_without_core_rows() {
        let c = conf();
        // Mode 4 lists no online cores: say so, and still show the command.
        let Reboot::Unknown { why } = reboot_for(&c, 0, 4) else {
            panic!()
        };
        assert!(
            why.contains("mode 4 does not list CPU_ONLINE CORE_8"),
            "{why}"
        );
        let clocks_only = NvpConf::parse(
            "< POWER_MODEL ID=0 NAME=A >\nGPU MAX_FREQ 1\n< POWER_MODEL ID=1 NAME=B >\nGPU MAX_FREQ 2\n",
        );
        let Reboot::Unknown { why } = reboot_for(&clocks_only, 0, 1) else {
            panic!()
        };
        assert!(why.contains("lists no online cores"), "{why}");
        let m = check(
            &at(3, "MODE_50W"),
            &wants(Some("CLOCKS_ONLY"), None),
            Some(&c),
        );
        assert_eq!(m[0].fix(), Some(&Fix::SetMode { id: 4 }));
        assert!(m[0].to_string().contains("cannot be told"), "{}", m[0]);
        // The current mode missing from the conf: unknown too.
        assert!(matches!(reboot_for(&c, 9, 0), Reboot::Unknown { .. }));
    }

    #[test]
    fn unknown_mode_lists_the_modes() {
        let m = check(&at(0, "MAXN"), &wants(Some("25W"), None), Some(&conf()));
        let Mismatch::UnknownMode { known, .. } = &m[0] else {
            panic!("{m:?}")
        };
        assert_eq!(known.len(), conf().modes.len());
        assert!(m[0].to_string().contains("0 MAXN"), "{}", m[0]);
    }

    #[test]
    fn jetson_clocks_fixes_both_ways() {
        let mut s = at(0, "MAXN");
        let m = check(&s, &wants(None, Some(true)), None);
        assert_eq!(m[0].fix(), Some(&Fix::JetsonClocks));
        assert_eq!(
            m[0].to_string(),
            "jetson_clocks is off, wanted on: sudo jetson_clocks"
        );
        s.jetson_clocks = Some(true);
        let m = check(&s, &wants(None, Some(false)), None);
        assert_eq!(
            m[0].fix().unwrap().to_string(),
            "sudo jetson_clocks --restore"
        );
        let f = Fix::JetsonClocksRestore {
            file: Some("/run/x.conf".into()),
        };
        assert_eq!(f.to_string(), "sudo jetson_clocks --restore /run/x.conf");
    }

    #[test]
    fn off_jetson_everything_is_unavailable() {
        let m = check(
            &BoardState::default(),
            &wants(Some("MAXN"), Some(true)),
            None,
        );
        assert_eq!(
            m.iter().map(Mismatch::setting).collect::<Vec<_>>(),
            [Setting::Nvpmodel, Setting::JetsonClocks]
        );
        assert!(m
            .iter()
            .all(|m| matches!(m, Mismatch::Unavailable { .. }) && m.fix().is_none()));
        assert_eq!(
            BoardState::default().to_string(),
            "nvpmodel unavailable, jetson_clocks unavailable, fan unavailable"
        );
    }

    #[test]
    fn without_conf_a_name_is_judged_by_the_state_alone() {
        assert_eq!(check(&at(0, "MAXN"), &wants(Some("MAXN"), None), None), []);
        let m = check(&at(0, "MAXN"), &wants(Some("MODE_30W"), None), None);
        assert!(
            matches!(&m[0], Mismatch::Unavailable { why, .. } if why.contains("nvpmodel.conf"))
        );
    }

    #[test]
    fn output_tail_is_the_last_lines() {
        assert_eq!(last_lines("a\n\nb\nc\nd\ne\n"), "b / c / d / e");
        assert!(asks_reboot(
            "NVPM WARN: Reboot required for changing to this power mode: 2\n"
        ));
        assert!(!asks_reboot("NV Power Mode: MAXN\n0\n"));
    }
}
