//! Board state on fixture trees: read, checked against a `[board]`
//! requirement, applied and restored. The NVIDIA tools are absent on this
//! machine, so the real path here is "unavailable" and "command missing";
//! the apply/restore sequence itself runs small stand-in executables (real
//! child processes) that log how they were called.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use jetstress::probes::{NvpConf, Root};
use jetstress::session::{
    check, may_apply, restore_path, Action, BoardError, BoardRequirement, BoardState, Fix, Host,
    Mismatch, Reboot, RestoreRecord, Setting,
};

use super::common::fixture_dir;

fn req(nvpmodel: Option<&str>, jetson_clocks: Option<bool>) -> BoardRequirement {
    BoardRequirement {
        nvpmodel: nvpmodel.map(Into::into),
        jetson_clocks,
    }
}

fn conf(board: &str) -> NvpConf {
    NvpConf::read(&Root::new(fixture_dir(board))).expect("the fixture has nvpmodel.conf")
}

/// A host on a fixture tree whose tool directory is `tools` (empty: none).
fn host(board: &str, tools: &Path) -> Host {
    Host {
        root: fixture_dir(board),
        search: vec![tools.to_path_buf()],
        euid: 0,
        timeout: Duration::from_secs(20),
    }
}

/// A stand-in tool: logs `name args…` to `log`, then runs `body`.
fn tool(dir: &Path, name: &str, log: &Path, body: &str) {
    let p = dir.join(name);
    std::fs::write(
        &p,
        format!(
            "#!/bin/sh\necho {name} \"$@\" >> '{}'\n{body}\n",
            log.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// `jetson_clocks` that writes its store file like the real one does.
fn jetson_clocks(dir: &Path, log: &Path) {
    tool(
        dir,
        "jetson_clocks",
        log,
        "if [ \"$1\" = --store ]; then echo 'stored clocks' > \"$2\"; fi",
    );
}

fn logged(log: &Path) -> Vec<String> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .map(String::from)
        .collect()
}

#[test]
fn off_jetson_the_board_is_unavailable_not_faked() {
    let x86 = fixture_dir("x86-laptop");
    let s = BoardState::read(&x86);
    assert_eq!(s.nvpmodel, None);
    assert_eq!(s.jetson_clocks, None);
    assert!(s.to_string().contains("nvpmodel unavailable"), "{s}");

    let want = req(Some("MAXN"), Some(true));
    let m = check(&s, &want, NvpConf::read(&Root::new(&x86)).as_ref());
    assert_eq!(m.len(), 2, "{m:?}");
    for (m, setting) in m.iter().zip([Setting::Nvpmodel, Setting::JetsonClocks]) {
        let Mismatch::Unavailable { setting: got, why } = m else {
            panic!("{m:?}")
        };
        assert_eq!(*got, setting);
        assert!(!why.is_empty());
        assert!(m.fix().is_none());
    }

    // Applying refuses before writing or running anything.
    let tools = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = restore_path(dir.path());
    let mut h = host("x86-laptop", tools.path());
    h.root = x86;
    let e = h.apply(&want, &file).unwrap_err();
    let BoardError::Unmet(unmet) = &e else {
        panic!("{e:?}")
    };
    assert_eq!(unmet, &m);
    assert!(e.to_string().contains("nvpmodel unavailable"), "{e}");
    assert!(!file.exists());
}

#[test]
fn jetson_fixtures_give_a_real_state_and_real_fixes() {
    let orin = BoardState::read(&fixture_dir("orin-agx-r36"));
    let nvp = orin.nvpmodel.clone().expect("orin has nvpmodel");
    // The fixture's status is pmode:0000, mode 0 of its conf.
    assert_eq!(nvp.id, Some(0));
    assert_eq!(nvp.name.as_deref(), Some("MAXN"));
    assert_eq!(orin.jetson_clocks, Some(false));
    assert_eq!(orin.fan_mode.as_deref(), Some("auto"));

    let c = conf("orin-agx-r36");
    assert_eq!(check(&orin, &req(Some("MAXN"), Some(false)), Some(&c)), []);

    // MAXN → MODE_50W keeps all 12 cores online: a live switch.
    let m = check(&orin, &req(Some("MODE_50W"), Some(true)), Some(&c));
    assert_eq!(m.len(), 2, "{m:?}");
    let Mismatch::Nvpmodel { reboot, fix, .. } = &m[0] else {
        panic!("{m:?}")
    };
    assert_eq!(*reboot, Reboot::NotExpected);
    let id = c.find("MODE_50W").unwrap().id;
    assert_eq!(fix.as_ref(), Some(&Fix::SetMode { id }));
    assert_eq!(
        m[0].fix().unwrap().to_string(),
        format!("sudo nvpmodel -m {id}")
    );
    assert_eq!(m[1].fix().unwrap().to_string(), "sudo jetson_clocks");

    // MAXN → MODE_30W takes cpu8-11 offline: needs a reboot, never proposed.
    let m = check(&orin, &req(Some("MODE_30W"), None), Some(&c));
    assert!(
        matches!(&m[0], Mismatch::Nvpmodel { reboot: Reboot::Needed { why }, fix: None, .. } if why.contains("CORE_8")),
        "{m:?}"
    );

    // Orin Nano 15W → 7W takes cores offline (the switch that asks for a
    // reboot on real units).
    let nano = BoardState::read(&fixture_dir("orin-nano-r35"));
    let m = check(&nano, &req(Some("7W"), None), Some(&conf("orin-nano-r35")));
    assert!(
        matches!(
            &m[0],
            Mismatch::Nvpmodel {
                reboot: Reboot::Needed { .. },
                ..
            }
        ),
        "{m:?}"
    );

    // Xavier NX in MODE_20W_4CORE (status 7) → MODE_15W_4CORE: same cores.
    let xavier = BoardState::read(&fixture_dir("xavier-nx-r32"));
    let xc = conf("xavier-nx-r32");
    let m = check(&xavier, &req(Some("MODE_15W_4CORE"), None), Some(&xc));
    let id = xc.find("MODE_15W_4CORE").unwrap().id;
    assert_ne!(xavier.nvpmodel.as_ref().unwrap().id, Some(id));
    assert_eq!(m[0].fix(), Some(&Fix::SetMode { id }));
    assert!(
        m[0].to_string()
            .ends_with(&format!("sudo nvpmodel -m {id}")),
        "{}",
        m[0]
    );
}

#[test]
fn only_root_applies() {
    assert!(matches!(
        may_apply(1000),
        Err(BoardError::NotRoot { euid: 1000 })
    ));
    let tools = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = restore_path(dir.path());
    let mut h = host("orin-agx-r36", tools.path());
    h.euid = 1000;
    let e = h.apply(&req(Some("MODE_50W"), None), &file).unwrap_err();
    assert!(matches!(e, BoardError::NotRoot { euid: 1000 }), "{e:?}");
    assert!(!file.exists());
    assert!(matches!(h.restore(&file), Err(BoardError::NotRoot { .. })));
}

#[test]
fn missing_commands_leave_the_restore_file_and_lose_nothing() {
    let tools = tempfile::tempdir().unwrap(); // no nvpmodel, no jetson_clocks
    let dir = tempfile::tempdir().unwrap();
    let file = restore_path(dir.path());
    let h = host("orin-agx-r36", tools.path());
    let want = req(Some("MODE_50W"), Some(true));
    let e = h.apply(&want, &file).unwrap_err();
    assert!(matches!(e, BoardError::CommandMissing("nvpmodel")), "{e:?}");
    assert!(e.to_string().contains("nvpmodel"), "{e}");

    let rec = RestoreRecord::read(&file).unwrap();
    assert_eq!(rec.schema, jetstress::session::RESTORE_SCHEMA);
    assert_eq!(rec.before, BoardState::read(&h.root));
    assert_eq!(rec.planned.len(), 2, "{:?}", rec.planned);
    assert!(matches!(rec.planned[0], Action::SetMode { from: 0, .. }));
    assert!(matches!(rec.planned[1], Action::JetsonClocksOn { .. }));
    assert_eq!(rec.started, [], "nothing ran");

    // A second run does not overwrite the state before.
    let e = h.apply(&want, &file).unwrap_err();
    assert!(matches!(e, BoardError::RestorePending(_)), "{e:?}");

    // The next start finds it; nothing had started, so nothing to run.
    let r = h
        .pending_restore(dir.path())
        .unwrap()
        .expect("a pending restore");
    assert_eq!(r.before, rec.before);
    assert_eq!(r.ran, Vec::<String>::new());
    assert!(!file.exists());
    assert_eq!(h.pending_restore(dir.path()).unwrap(), None);
}

#[test]
fn apply_then_restore_runs_the_tools_in_order() {
    let tools = tempfile::tempdir().unwrap();
    let log = tools.path().join("calls.log");
    tool(tools.path(), "nvpmodel", &log, "exit 0");
    jetson_clocks(tools.path(), &log);
    let dir = tempfile::tempdir().unwrap();
    let file = restore_path(dir.path());
    let h = host("orin-agx-r36", tools.path());
    let c = conf("orin-agx-r36");
    let to = c.find("MODE_50W").unwrap().id;

    let a = h.apply(&req(Some("MODE_50W"), Some(true)), &file).unwrap();
    assert_eq!(a.restore_file.as_deref(), Some(file.as_path()));
    let rec = RestoreRecord::read(&file).unwrap();
    let Action::JetsonClocksOn { store } = &rec.planned[1] else {
        panic!("{:?}", rec.planned)
    };
    let store: PathBuf = store.clone();
    let want = vec![
        format!("nvpmodel -m {to}"),
        format!("jetson_clocks --store {}", store.display()),
        "jetson_clocks".to_string(),
    ];
    assert_eq!(a.ran, want);
    assert_eq!(logged(&log), want);
    assert_eq!(rec.started, rec.planned);
    assert!(store.exists());

    std::fs::remove_file(&log).unwrap();
    let r = h.restore(&file).unwrap();
    let undo = vec![
        format!("jetson_clocks --restore {}", store.display()),
        "nvpmodel -m 0".to_string(),
    ];
    assert_eq!(r.ran, undo);
    assert_eq!(logged(&log), undo);
    assert_eq!(r.before, a.before);
    assert!(!file.exists());
    assert!(!store.exists());

    // Nothing to change: nothing run, no restore file.
    std::fs::remove_file(&log).unwrap();
    let a = h.apply(&req(Some("MAXN"), Some(false)), &file).unwrap();
    assert_eq!((a.ran.len(), a.restore_file), (0, None));
    assert!(!file.exists());
    assert!(logged(&log).is_empty());
}

#[test]
fn a_failing_tool_says_how_and_keeps_the_restore_file() {
    let tools = tempfile::tempdir().unwrap();
    let log = tools.path().join("calls.log");
    tool(
        tools.path(),
        "nvpmodel",
        &log,
        "echo 'NVPM ERROR: failed to write /sys/devices/gpu.0/power/control' >&2\nexit 3",
    );
    let dir = tempfile::tempdir().unwrap();
    let file = restore_path(dir.path());
    let h = host("orin-agx-r36", tools.path());
    let e = h.apply(&req(Some("MODE_50W"), None), &file).unwrap_err();
    let BoardError::CommandFailed {
        command,
        status,
        stderr,
    } = &e
    else {
        panic!("{e:?}")
    };
    assert!(command.starts_with("nvpmodel -m "), "{command}");
    assert_eq!(status.code(), Some(3));
    assert!(stderr.contains("failed to write"), "{stderr}");
    // It had started: the restore file says so, and restore puts mode 0 back.
    let rec = RestoreRecord::read(&file).unwrap();
    assert_eq!(rec.started.len(), 1);
    std::fs::write(tools.path().join("nvpmodel"), "#!/bin/sh\nexit 0\n").unwrap();
    assert_eq!(h.restore(&file).unwrap().ran, ["nvpmodel -m 0"]);
}

#[test]
fn nvpmodel_asking_for_a_reboot_is_answered_no() {
    let tools = tempfile::tempdir().unwrap();
    let log = tools.path().join("calls.log");
    tool(
        tools.path(),
        "nvpmodel",
        &log,
        &format!(
            "echo 'NVPM WARN: Reboot required for changing to this power mode: 3'\n\
             echo 'NVPM WARN: DO YOU WANT TO REBOOT NOW? enter YES/yes to confirm:'\n\
             read answer\necho \"answer $answer\" >> '{}'\n\
             echo 'NVPM ERROR: optMask is 1, no request for power mode'",
            log.display()
        ),
    );
    let dir = tempfile::tempdir().unwrap();
    let file = restore_path(dir.path());
    let h = host("orin-agx-r36", tools.path());
    let e = h.apply(&req(Some("MODE_50W"), None), &file).unwrap_err();
    assert!(matches!(e, BoardError::RebootRequired { .. }), "{e:?}");
    assert!(
        logged(&log).contains(&"answer no".to_string()),
        "{:?}",
        logged(&log)
    );
}
