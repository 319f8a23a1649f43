#!/usr/bin/env bash
# Does the console grow over a soak? Runs a headless soak on the built-in
# server (5 rps, 11 tools, 10 sessions) for DURATION seconds (default 600),
# samples the jetstress process's own RSS (not its children's) every STEP
# seconds (default 30) from minute 2 on, and prints the samples and the
# least-squares slope in MB/h (target ≤ 0.5: a 24-hour soak grows < 12 MB).
# FROM=S starts the slope at second S instead (the samples start at 120 s):
# the chart timeline (1200 points a series) and the leak detector's windows
# (10 min a process) fill during the first 20 minutes, then hold.
# With MODE=dashboard the built-in soak (5 rps, 10 min) runs in the
# dashboard instead (tmux, 200×50), started with key 3.
#
# Usage: benches/soak-rss.sh [DURATION] [STEP]
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${1:-600}
step=${2:-30}
mode=${MODE:-headless}
cargo build --release --quiet
work=$(mktemp -d)
session="jetstress-soak-$$"
cleanup() {
  tmux kill-session -t "$session" 2>/dev/null || true
  [[ -n "${pid:-}" ]] && kill "$pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
if [[ $mode == dashboard ]]; then
  tmux new-session -d -s "$session" -x 200 -y 50 "target/release/jetstress --interval 1s"
  sleep 3
  pid=$(tmux display-message -p -t "$session" '#{pane_pid}')
  tmux send-keys -t "$session" 3
else
  target/release/jetstress run --phase soak --duration "${duration}s" \
    --json "$work/soak.json" >/dev/null 2>&1 &
  pid=$!
fi
rss() { awk '/VmRSS/ { print $2 / 1024 }' "/proc/$pid/status"; }
sleep 120
t0=$(date +%s)
: >"$work/samples"
while kill -0 "$pid" 2>/dev/null; do
  now=$(($(date +%s) - t0 + 120))
  ((now + step > duration)) && break
  r=$(rss) || break
  echo "$now $r" | tee -a "$work/samples"
  sleep "$step"
done
awk -v from="${FROM:-0}" '$1 < from { next } { n++; sx += $1; sy += $2; sxx += $1 * $1; sxy += $1 * $2 }
  END {
    if (n < 2) { print "too few samples"; exit 1 }
    b = (n * sxy - sx * sy) / (n * sxx - sx * sx)
    printf "%d samples, RSS %.1f → %.1f MiB, slope %.2f MB/h\n", n, first, last, b * 3600 * 1.048576
  }
  n == 1 { first = $2 } { last = $2 }' "$work/samples"
