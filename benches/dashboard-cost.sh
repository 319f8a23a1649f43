#!/usr/bin/env bash
# What the monitor costs: jetstress's dashboard, monitor only (no load), 1 s
# sampling, 200×50, in tmux for DURATION seconds (default 60). Prints its CPU
# (% of one core) and RSS (the console's own, not its children's), with the
# anonymous part (what it takes from the workload; the rest is its code,
# shared with the page cache) and its working set (what it touched during the
# DURATION, from the kernel's referenced bits: /proc/PID/clear_refs, then
# smaps_rollup's Referenced). KEYS="1 2" presses those keys first, one every
# KEY_GAP seconds (default 95: a spike, then a stress), to measure the
# dashboard under load; KEYS=3 measures it during the 5-rps soak.
# PEER="btm -r 1000" measures that command the same way instead (the figures
# to set beside jetstress's, one after the other in one run).
# Usage: [KEYS="…"] [PEER="…"] benches/dashboard-cost.sh [DURATION] [ROOT]
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${1:-60}
root=${2:-/}
cargo build --release --quiet
session="jetstress-cost-$$"
cmd=${PEER:-target/release/jetstress --root $root --interval 1s}
tmux new-session -d -s "$session" -x 200 -y 50 "exec $cmd"
trap 'tmux kill-session -t "$session" 2>/dev/null || true' EXIT
sleep 3
pid=$(tmux display-message -p -t "$session" '#{pane_pid}')
for k in ${KEYS:-}; do
  tmux send-keys -t "$session" "$k"
  sleep "${KEY_GAP:-95}"
done
hz=$(getconf CLK_TCK)
ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
echo 1 >"/proc/$pid/clear_refs"
t0=$(ticks); s0=$(date +%s.%N)
sleep "$duration"
t1=$(ticks); s1=$(date +%s.%N)
rss=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
hwm=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
anon=$(awk '/^Anonymous/ {print $2}' "/proc/$pid/smaps_rollup")
refd=$(awk '/^Referenced/ {print $2}' "/proc/$pid/smaps_rollup")
awk -v t0="$t0" -v t1="$t1" -v s0="$s0" -v s1="$s1" -v hz="$hz" -v rss="$rss" -v hwm="$hwm" -v anon="$anon" -v refd="$refd" -v cmd="${cmd%% *}" 'BEGIN {
  printf "%s: cpu %.2f %% of one core over %.0f s; rss %.1f MiB (peak %.1f MiB), anonymous %.1f MiB, working set %.1f MiB\n", cmd, (t1 - t0) / hz / (s1 - s0) * 100, s1 - s0, rss / 1024, hwm / 1024, anon / 1024, refd / 1024 }'
