#!/usr/bin/env bash
# The HTTP generator against oha (and wrk when installed) on one local nginx,
# in one run: each offers RATE req/s (default 15000) for DURATION seconds
# (default 10) with at most 64 requests in flight, and the script prints
# successful requests per CPU-second of the generator process, what was
# dropped or failed, its peak RSS, and jetstress's ratio to each peer.
# nginx shares the machine's cores with the generator, as on a board.
#
# Usage: benches/http-vs-oha.sh [RATE] [DURATION] [ROUNDS]
# Needs: nginx, oha (`cargo install oha`), optionally wrk; GNU time.
set -euo pipefail
cd "$(dirname "$0")/.."
rate=${1:-15000}
duration=${2:-10}
rounds=${3:-3}
port=${PORT:-18089}
for c in nginx oha /usr/bin/time; do
  command -v "$c" >/dev/null || { echo "missing: $c" >&2; exit 2; }
done
cargo build --release --quiet
work=$(mktemp -d)
trap 'nginx -c "$work/nginx.conf" -s stop 2>/dev/null || true; rm -rf "$work"' EXIT
cat >"$work/nginx.conf" <<EOF
worker_processes 1;
pid $work/nginx.pid;
error_log $work/error.log;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $work; proxy_temp_path $work; fastcgi_temp_path $work;
  uwsgi_temp_path $work; scgi_temp_path $work;
  keepalive_requests 1000000;
  server { listen 127.0.0.1:$port; location / { return 200 "ok\n"; } }
}
EOF
nginx -c "$work/nginx.conf"
cat >"$work/http.toml" <<EOF
name = "http-vs-oha"
max_in_flight = 64
timeout = "10s"

[[http]]
name = "get"
method = "GET"
url = "http://127.0.0.1:$port/"

[[mix]]
tool = "get"
weight = 1

[[phases]]
kind = "soak"
rate = $rate
duration = "${duration}s"
EOF
url="http://127.0.0.1:$port/"

# usage FILE: "cpu_s maxrss_kb" from GNU time's -f '%U %S %M' (its last
# line: a failed command's exit status comes first).
usage() { tail -n 1 "$1" | awk '{ printf "%.3f %d\n", $1 + $2, $3 }'; }

js_row() {
  /usr/bin/time -o "$work/t" -f '%U %S %M' target/release/jetstress run \
    --scenario "$work/http.toml" --json "$work/js.json" >/dev/null 2>&1 || true
  read -r cpu rss < <(usage "$work/t")
  python3 - "$work/js.json" "$cpu" "$rss" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
a = d["phases"][0]["stages"][0]["all"]
ok = a["count"] - (a["errors"] - a["error_kinds"].get("dropped", 0))
cpu, rss = float(sys.argv[2]), int(sys.argv[3])
print(f"jetstress {ok} {a['error_kinds'].get('dropped', 0)} {a['errors'] - a['error_kinds'].get('dropped', 0)} {cpu} {rss}")
PY
}

oha_row() {
  /usr/bin/time -o "$work/t" -f '%U %S %M' oha -z "${duration}s" -q "$rate" \
    --latency-correction -c 64 --no-tui --output-format json "$url" >"$work/oha.json" 2>/dev/null || true
  read -r cpu rss < <(usage "$work/t")
  python3 - "$work/oha.json" "$cpu" "$rss" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
codes = d.get("statusCodeDistribution", {})
ok = sum(v for k, v in codes.items() if k.startswith("2"))
bad = sum(v for k, v in codes.items() if not k.startswith("2")) + sum(d.get("errorDistribution", {}).values())
print(f"oha {ok} 0 {bad} {sys.argv[2]} {sys.argv[3]}")
PY
}

wrk_row() {
  /usr/bin/time -o "$work/t" -f '%U %S %M' wrk -t1 -c16 -d"${duration}s" "$url" >"$work/wrk.txt" 2>&1 || true
  read -r cpu rss < <(usage "$work/t")
  n=$(awk '/requests in/ { print $1 }' "$work/wrk.txt")
  echo "wrk $n 0 0 $cpu $rss"
}

{
  for ((i = 0; i < rounds; i++)); do
    js_row
    oha_row
    if command -v wrk >/dev/null; then wrk_row; fi
  done
} | awk -v rounds="$rounds" '
  { ok[$1] += $2; drop[$1] += $3; fail[$1] += $4; cpu[$1] += $5; if ($6 > rss[$1]) rss[$1] = $6; n[$1]++
    per[$1, n[$1]] = $2 / $5 }
  END {
    printf "%-10s %12s %9s %7s %10s %9s\n", "generator", "ok req/CPU-s", "dropped", "failed", "CPU-s/run", "peak RSS"
    for (g in ok) printf "%-10s %12.0f %9d %7d %10.2f %7.1f MiB\n", g, ok[g] / cpu[g], drop[g], fail[g], cpu[g] / n[g], rss[g] / 1024
    if ("oha" in ok) {
      # Ratio round by round (jetstress and oha ran back to back).
      for (i = 1; i <= rounds; i++) printf "round %d: jetstress/oha = %.2f\n", i, per["jetstress", i] / per["oha", i]
    }
    if ("wrk" in ok) printf "jetstress/wrk (closed loop, -c16) = %.2f\n", (ok["jetstress"] / cpu["jetstress"]) / (ok["wrk"] / cpu["wrk"])
  }'
