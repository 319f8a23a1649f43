#!/usr/bin/env bash
# What a large closed population costs the console: USERS virtual users
# (default 1000) with 1 s think against the built-in MCP server over
# streamable HTTP, for DURATION seconds (default 60). Samples the `jetstress
# run` process (engine, collector, HTTP clients — not the server) every 5 s
# after a 15 s warm-up and prints its CPU (% of one core), RSS per sample and
# the RSS slope. Usage: benches/users-1000.sh [DURATION] [USERS]
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${1:-60}
users=${2:-1000}
cargo build --release --quiet
bin=target/release/jetstress
port=$((20000 + RANDOM % 20000))
out=$(mktemp -d)
"$bin" mcp-serve --http "127.0.0.1:$port" 2>"$out/server.log" &
server=$!
trap 'kill "$server" 2>/dev/null || true; kill "${run:-0}" 2>/dev/null || true' EXIT
for _ in $(seq 50); do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then break; fi
  sleep 0.1
done
"$bin" run --target-url "http://127.0.0.1:$port/mcp" --phase users --users "$users" \
  --think 1s --duration "${duration}s" --json "$out/run.json" 2>"$out/run.log" &
run=$!
hz=$(getconf CLK_TCK)
ticks() { awk '{print $14 + $15}' "/proc/$run/stat"; }
rss() { awk '/VmRSS/ {print $2}' "/proc/$run/status"; }
sleep 15
t0=$(ticks); s0=$(date +%s.%N)
samples=()
elapsed=15
while [ $((elapsed + 5)) -lt "$duration" ]; do
  sleep 5
  elapsed=$((elapsed + 5))
  samples+=("$elapsed $(rss)")
done
t1=$(ticks); s1=$(date +%s.%N)
wait "$run" || true
printf '%s\n' "${samples[@]}" | awk -v t0="$t0" -v t1="$t1" -v s0="$s0" -v s1="$s1" -v hz="$hz" '
  { x[NR] = $1; y[NR] = $2 / 1024; printf "t %3d s  rss %.1f MiB\n", $1, $2 / 1024 }
  END {
    n = NR; for (i = 1; i <= n; i++) { sx += x[i]; sy += y[i] }
    mx = sx / n; my = sy / n
    for (i = 1; i <= n; i++) { sxy += (x[i] - mx) * (y[i] - my); sxx += (x[i] - mx) ^ 2 }
    printf "cpu %.1f %% of one core over %.0f s; rss slope %.2f MiB/h\n", (t1 - t0) / hz / (s1 - s0) * 100, s1 - s0, (sxx > 0 ? sxy / sxx * 3600 : 0)
  }'
python3 - "$out/run.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
s = s.get("summary", s)
for p in s["phases"]:
    for st in p["stages"]:
        print(f"stage {st['name']}: {st['all']['count']} requests, {st['achieved_rate']:.0f} req/s, "
              f"p50 {st['all']['latency_ms']['p50']:.1f} ms, p95 {st['all']['latency_ms']['p95']:.1f} ms, "
              f"errors {st['all']['errors']}, Little {st.get('little')}")
PY
