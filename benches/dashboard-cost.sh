#!/usr/bin/env bash
# What the monitor costs: jetstress's dashboard, monitor only (no load), 1 s
# sampling, 200×50, in tmux for DURATION seconds (default 60). Prints its CPU
# (% of one core) and RSS. Usage: benches/dashboard-cost.sh [DURATION] [ROOT]
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${1:-60}
root=${2:-/}
cargo build --release --quiet
session="jetstress-cost-$$"
tmux new-session -d -s "$session" -x 200 -y 50 "target/release/jetstress --root $root --interval 1s"
trap 'tmux kill-session -t "$session" 2>/dev/null || true' EXIT
sleep 3
pid=$(tmux display-message -p -t "$session" '#{pane_pid}')
hz=$(getconf CLK_TCK)
ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
t0=$(ticks); s0=$(date +%s.%N)
sleep "$duration"
t1=$(ticks); s1=$(date +%s.%N)
rss=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
hwm=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
awk -v t0="$t0" -v t1="$t1" -v s0="$s0" -v s1="$s1" -v hz="$hz" -v rss="$rss" -v hwm="$hwm" 'BEGIN {
  printf "cpu %.2f %% of one core over %.0f s; rss %.1f MiB (peak %.1f MiB)\n", (t1 - t0) / hz / (s1 - s0) * 100, s1 - s0, rss / 1024, hwm / 1024 }'
