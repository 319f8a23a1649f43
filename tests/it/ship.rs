//! What an operator gets when jetstress is shipped: `--version` with commit
//! and build date, shell completions and a man page from the clap
//! definitions, `--color` against `NO_COLOR` on a real terminal (tmux), and
//! `mcp-serve --http` on a host name.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::ServiceExt;
use tokio::io::{AsyncBufReadExt, BufReader};

const BIN: &str = env!("CARGO_BIN_EXE_jetstress");

fn fixture(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
        .display()
        .to_string()
}

fn jetstress(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env_remove("NO_COLOR")
        .stdin(Stdio::null())
        .output()
        .expect("run jetstress")
}

fn stdout(o: &Output) -> String {
    assert!(
        o.status.success(),
        "exit {:?}: {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout.clone()).expect("UTF-8 output")
}

#[test]
fn version_names_the_commit_and_the_build_date() {
    let v = stdout(&jetstress(&["--version"]));
    // jetstress 0.1.0 (a1b2c3d 2026-12-01)
    let rest = v
        .trim()
        .strip_prefix(concat!("jetstress ", env!("CARGO_PKG_VERSION"), " ("))
        .and_then(|r| r.strip_suffix(')'))
        .unwrap_or_else(|| panic!("{v:?}"));
    let (commit, date) = rest.split_once(' ').unwrap_or_else(|| panic!("{v:?}"));
    let hash = commit.strip_suffix("-dirty").unwrap_or(commit);
    assert!(
        commit == "unknown" || (hash.len() >= 7 && hash.chars().all(|c| c.is_ascii_hexdigit())),
        "commit {commit:?} in {v:?}"
    );
    let parts: Vec<&str> = date.split('-').collect();
    assert!(
        parts.len() == 3
            && [4, 2, 2]
                .iter()
                .zip(&parts)
                .all(|(n, p)| p.len() == *n && p.chars().all(|c| c.is_ascii_digit())),
        "date {date:?} in {v:?}"
    );
    // `-V` says the same; the date is no earlier than this crate's first commit year.
    assert_eq!(stdout(&jetstress(&["-V"])), v);
    assert!(parts[0].parse::<u32>().unwrap() >= 2025, "{date}");
}

#[test]
fn completions_for_bash_zsh_and_fish_name_the_subcommands() {
    let bash = stdout(&jetstress(&["completions", "bash"]));
    assert!(bash.contains("complete -F _jetstress"), "{bash}");
    for sub in ["run", "mcp-serve", "predict-eval", "completions", "man"] {
        assert!(bash.contains(sub), "bash completion lacks {sub}");
    }
    for shell in ["zsh", "fish"] {
        let s = stdout(&jetstress(&["completions", shell]));
        assert!(!s.trim().is_empty(), "{shell}: empty");
        assert!(s.contains("run") && s.contains("mcp-serve"), "{shell}: {s}");
    }
    let zsh = stdout(&jetstress(&["completions", "zsh"]));
    assert!(zsh.starts_with("#compdef jetstress"), "{zsh}");
    let fish = stdout(&jetstress(&["completions", "fish"]));
    assert!(fish.contains("complete -c jetstress"), "{fish}");
}

#[test]
fn man_page_is_roff_with_every_subcommand() {
    let page = stdout(&jetstress(&["man"]));
    assert!(page.starts_with(".TH"), "{}", &page[..page.len().min(200)]);
    // roff writes a hyphen as `\-`.
    for sub in [
        "mcp\\-serve",
        "predict\\-eval",
        "jetstress run",
        "completions",
    ] {
        assert!(page.contains(sub), "man page lacks {sub}");
    }
    // Subcommand flags are in it too, and the version line.
    assert!(page.contains("\\-\\-http"), "mcp-serve's --http");
    assert!(page.contains("\\-\\-color"), "the global --color");
    assert!(page.contains(env!("CARGO_PKG_VERSION")));
}

#[test]
fn completions_and_man_need_no_board() {
    // A missing --root is an error for commands that read the board, not these.
    let o = jetstress(&["--root", "/no/such/dir", "completions", "bash"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = jetstress(&["--root", "/no/such/dir", "probe"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn bad_values_exit_2_naming_the_flag_and_the_value() {
    for (args, flag, value) in [
        (
            &["--color", "sometimes", "probe"][..],
            "--color",
            "sometimes",
        ),
        (&["completions", "tcsh"][..], "<SHELL>", "tcsh"),
        (&["mcp-serve", "--http", ":7400"][..], "--http", ":7400"),
        (
            &["mcp-serve", "--http", "no-such-board.invalid:7400"][..],
            "--http",
            "no-such-board.invalid",
        ),
        (
            &["run", "--metrics", "localhost:x"][..],
            "--metrics",
            "localhost:x",
        ),
    ] {
        let o = jetstress(args);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(flag) && err.contains(value), "{args:?}: {err}");
        // Errors are plain text when stderr is not a terminal.
        assert!(!err.contains('\x1b'), "{args:?}: {err:?}");
    }
    // The possible values are listed.
    let err = String::from_utf8_lossy(&jetstress(&["completions", "tcsh"]).stderr).into_owned();
    assert!(
        err.contains("bash") && err.contains("zsh") && err.contains("fish"),
        "{err}"
    );
    // `--color always` colours clap's own errors, even off a terminal.
    let o = jetstress(&["--color", "always", "completions", "tcsh"]);
    assert!(String::from_utf8_lossy(&o.stderr).contains('\x1b'));
}

/// A detached tmux session whose screen is captured with its escape codes.
struct Tmux {
    name: String,
}

impl Tmux {
    fn start(cmd: &str) -> Tmux {
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let name = format!("jetstress-ship-{}-{n}", std::process::id());
        let st = Command::new("tmux")
            .args(["new-session", "-d", "-s", &name, "-x", "100", "-y", "30"])
            .arg(cmd)
            .status()
            .expect("tmux is installed (.ci/run installs it)");
        assert!(st.success());
        Tmux { name }
    }

    /// `capture-pane -e`: the screen with its colour and attribute escapes.
    fn capture(&self) -> String {
        let out = Command::new("tmux")
            .args(["capture-pane", "-e", "-p", "-t", &self.name])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn wait_for_frame(&self) -> String {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let screen = self.capture();
            if screen.contains("Thermal") && screen.contains("cpu-thermal") {
                return screen;
            }
            assert!(Instant::now() < deadline, "no first frame:\n{screen}");
            sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["send-keys", "-t", &self.name, "q"])
            .status();
        sleep(Duration::from_millis(200));
        let _ = Command::new("tmux")
            .args(["kill-session", "-t", &self.name])
            .status();
    }
}

/// A foreground colour escape (`38;5;N` or `38;2;R;G;B`), as tmux writes it.
const FG: &str = "\x1b[38;";

#[test]
fn color_flag_beats_no_color_on_a_real_terminal() {
    let root = fixture("orin-agx-r36");
    // The environment is set in the command: a tmux server that is already
    // running would not pass this process's on.
    let never = Tmux::start(&format!(
        "env -u NO_COLOR COLORTERM=truecolor {BIN} --root {root} --color never"
    ));
    let always = Tmux::start(&format!(
        "env NO_COLOR=1 COLORTERM=truecolor {BIN} --root {root} --color always"
    ));
    let auto = Tmux::start(&format!(
        "env NO_COLOR=1 COLORTERM=truecolor {BIN} --root {root}"
    ));
    let screen = never.wait_for_frame();
    assert!(!screen.contains(FG), "--color never: {screen:?}");
    assert!(screen.contains("THROTTLED"), "{screen}");
    let screen = always.wait_for_frame();
    assert!(
        screen.contains(FG),
        "--color always under NO_COLOR: {screen:?}"
    );
    // `auto` is what NO_COLOR always meant: no colour.
    let screen = auto.wait_for_frame();
    assert!(!screen.contains(FG), "NO_COLOR without --color: {screen:?}");
}

#[tokio::test]
async fn mcp_serve_listens_on_a_host_name() {
    let mut child = tokio::process::Command::new(BIN)
        .args(["--root", &fixture("orin-agx-r36")])
        .args(["mcp-serve", "--http", "localhost:0"])
        .args(["--metrics", "localhost:0"])
        .env_remove("JETSTRESS_MCP_TOKEN")
        .env_remove("JETSTRESS_METRICS_TOKEN")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn");
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let (mut mcp, mut metrics) = (None, None);
    tokio::time::timeout(Duration::from_secs(20), async {
        while mcp.is_none() || metrics.is_none() {
            let l = lines
                .next_line()
                .await
                .expect("read stderr")
                .expect("server exited before listening");
            if let Some(u) = l.split("listening on ").nth(1) {
                mcp = Some(u.trim().to_string());
            } else if let Some(u) = l.split("metrics on ").nth(1) {
                metrics = Some(u.trim().to_string());
            }
        }
    })
    .await
    .expect("both servers listen in time");
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    let (mcp, metrics) = (mcp.unwrap(), metrics.unwrap());
    // localhost resolved to a loopback address: no token needed.
    assert!(
        mcp.starts_with("http://127.0.0.1:") || mcp.starts_with("http://[::1]:"),
        "{mcp}"
    );

    // A real MCP session on the resolved address.
    let transport = StreamableHttpClientTransport::from_config(
        StreamableHttpClientTransportConfig::with_uri(mcp.clone()),
    );
    let client = tokio::time::timeout(Duration::from_secs(10), ().serve(transport))
        .await
        .expect("initialize in time")
        .expect("initialize over HTTP");
    let tools = client.list_all_tools().await.expect("tools/list");
    assert!(tools.iter().any(|t| t.name == "thermal_status"));
    client.cancel().await.ok();

    // A client that names the host (Host: localhost:PORT) is let in too.
    let port = mcp.rsplit(':').next().unwrap().trim_end_matches("/mcp");
    let by_name = reqwest::Client::new()
        .post(format!("http://localhost:{port}/mcp"))
        .header("Accept", "application/json, text/event-stream")
        .header("Content-Type", "application/json")
        .body(r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"0"}}}"#)
        .send()
        .await
        .expect("POST by name");
    assert!(by_name.status().is_success(), "{}", by_name.status());

    // /metrics from the same process shows the board.
    let body = reqwest::get(&metrics)
        .await
        .expect("GET /metrics")
        .text()
        .await
        .unwrap();
    assert!(body.contains("cpu-thermal"), "{body}");
    child.kill().await.ok();
}
