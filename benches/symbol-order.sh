#!/usr/bin/env bash
# Writes link/<host target>.txt (here link/x86_64-unknown-linux-gnu.txt): the
# functions of the release binary that run, in the order the linker should
# place them (build.rs hands the list to lld).
# Why: the kernel maps code 64 KiB around each page a process touches, so a
# dashboard that runs 1.1 MB of a 17 MB .text scattered over 25 crates kept
# 8 MiB of code resident; packed together, the same code takes 1.2 MiB.
#
# Records with valgrind's callgrind, which counts every function that runs,
# start-up included (a sampling profiler misses what runs once):
#   1. the dashboard, monitor only, for MONITOR seconds (default 40);
#   2. then the 5-rps soak (key 3) for LOAD seconds (default 60), with the
#      built-in server it spawns (the same binary, `mcp-serve`) traced too;
#   3. a short headless spike (`jetstress run`).
# The list keeps that order: what a monitor-only dashboard runs comes first,
# so it shares the fewest pages with the rest.
#
# The names carry the compiler's hashes: rerun this after a toolchain or
# dependency update, and on a board for its own target (a stale name is
# skipped, and the RSS in docs/performance.md drifts back up). The last line
# says how many of the listed functions the current build still has.
#
# Needs valgrind, tmux, python3. Usage: benches/symbol-order.sh
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { echo "needs valgrind" >&2; exit 1; }
monitor=${MONITOR:-40}
load=${LOAD:-60}
bin=target/release/jetstress
list=link/$(rustc -vV | sed -n "s/^host: //p").txt
cargo build --release --quiet
work=$(mktemp -d)
session="jetstress-order-$$"
trap 'tmux kill-session -t "$session" 2>/dev/null || true; rm -rf "$work"' EXIT
cg="valgrind --tool=callgrind --demangle=no --trace-children=yes"

tmux new-session -d -s "$session" -x 200 -y 50 \
  "exec $cg --callgrind-out-file=$work/dash.%p $bin --interval 1s 2>$work/vg.err"
pid=$(tmux display-message -p -t "$session" '#{pane_pid}')
sleep "$monitor"
# Part 1 (dash.PID.1): what the monitor-only dashboard ran.
callgrind_control -d "$pid" | grep -q OK || { echo "callgrind_control -d $pid failed" >&2; exit 1; }
tmux send-keys -t "$session" 3
sleep "$load"
tmux send-keys -t "$session" q
for _ in $(seq 60); do tmux has-session -t "$session" 2>/dev/null || break; sleep 1; done
$cg --callgrind-out-file="$work/run.%p" "$bin" run --phase spike --duration 5s \
  --json "$work/spike.json" >/dev/null 2>&1 || true

python3 - "$work" "$pid" >"$list" <<'EOF'
import glob, re, sys
work, dash = sys.argv[1], sys.argv[2]
def functions(path):
    """The functions of the jetstress binary in one callgrind output file."""
    obs, fns, ob = {}, {}, None
    def name(table, s):
        m = re.match(r"\((\d+)\)(?: (.*))?$", s)
        if not m:
            return s
        if m.group(2) is not None:
            table[m.group(1)] = m.group(2)
        return table.get(m.group(1))
    for line in open(path, errors="replace"):
        key, _, rest = line.rstrip("\n").partition("=")
        if key == "ob":
            ob = name(obs, rest)
        elif key == "cob":
            name(obs, rest)
        elif key == "cfn":
            name(fns, rest)
        elif key == "fn":
            f = name(fns, rest)
            if ob and ob.endswith("/jetstress") and f:
                yield re.sub(r"'\d+$", "", f)
first = glob.glob(f"{work}/dash.{dash}.1")
assert first, "no dump of the monitor-only dashboard"
rest = sorted(p for p in glob.glob(f"{work}/*.*") if p not in first and not p.endswith(".err") and not p.endswith(".json"))
seen = set()
for path in first + rest:
    for f in functions(path):
        if f.startswith("_") and f not in seen:
            seen.add(f)
            print(f)
EOF
have=$(nm --defined-only "$bin" | awk '{print $3}' | sort -u)
listed=$(wc -l <"$list")
found=$(sort -u "$list" | comm -12 - <(echo "$have") | wc -l)
echo "$list: $listed functions, $found of them in $bin"
