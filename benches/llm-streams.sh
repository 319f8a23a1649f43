#!/usr/bin/env bash
# What LLM token streams cost the console: STREAMS concurrent streams
# (default 100) of 50 tokens/s each (tests/llm/sse_server.py: first token at
# 50 ms, one every 20 ms, 500 per reply) as a closed users phase with no
# think time, for DURATION seconds (default 40). Samples the `jetstress run`
# process (engine, collector, HTTP client, SSE parsing — not the server)
# after a 10 s warm-up and prints its CPU (% of one core), RSS, and the
# tokens/s it measured. Usage: benches/llm-streams.sh [DURATION] [STREAMS]
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${1:-40}
streams=${2:-100}
cargo build --release --quiet
bin=target/release/jetstress
out=$(mktemp -d)
python3 tests/llm/sse_server.py --ttft-ms 50 --itl-ms 20 --tokens 500 >"$out/server.out" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true; kill "${run:-0}" 2>/dev/null || true' EXIT
for _ in $(seq 50); do
  port=$(awk '/^listening/ {print $2}' "$out/server.out")
  [ -n "$port" ] && break
  sleep 0.1
done
"$bin" run --llm-url "http://127.0.0.1:$port/v1/chat/completions" --max-tokens 500 \
  --phase users --users "$streams" --think 0s --duration "${duration}s" \
  --max-in-flight $((streams * 2)) --json "$out/run.json" 2>"$out/run.log" &
run=$!
hz=$(getconf CLK_TCK)
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
sleep 10
t0=$(ticks "$run"); p0=$(ticks "$server"); s0=$(date +%s.%N)
sleep $((duration - 15))
t1=$(ticks "$run"); p1=$(ticks "$server"); s1=$(date +%s.%N)
rss=$(awk '/VmRSS/ {print $2}' "/proc/$run/status")
wait "$run" || true
awk -v t0="$t0" -v t1="$t1" -v p0="$p0" -v p1="$p1" -v s0="$s0" -v s1="$s1" -v hz="$hz" -v rss="$rss" 'BEGIN {
  secs = s1 - s0
  printf "jetstress: %.1f %% of one core, RSS %.1f MiB; timing server: %.1f %% of one core (over %.0f s)\n",
    (t1 - t0) / hz / secs * 100, rss / 1024, (p1 - p0) / hz / secs * 100, secs
}'
python3 - "$out/run.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))["phases"][0]["stages"][0]
l = next(t["llm"] for t in s["tools"] if t.get("llm"))
print(f"measured: {l['output_tokens_per_s']:.0f} tok/s over {l['requests']} streams, "
      f"TTFT p50 {l['ttft_ms']['p50']:.1f} ms, ITL p50 {l['itl_ms']['p50']:.1f} ms p99 {l['itl_ms']['p99']:.1f} ms, "
      f"peak {l['peak_in_flight']} in flight, errors {s['all']['errors']}")
PY
