#!/usr/bin/env bash
# Import benchmark on a fresh database: scripts/bench-import.sh [ROWS] (default 50000).
# SQLite by default; BENCH_DATABASE_URL=postgres://… for PostgreSQL (an empty database).
set -euo pipefail
cd "$(dirname "$0")/.."
rows="${1:-50000}"
cargo build --release --locked -p examfee
workdir="$(mktemp -d)"
trap 'kill "$server" 2>/dev/null || true; rm -rf "$workdir"' EXIT
port=18181
DATABASE_URL="${BENCH_DATABASE_URL:-sqlite://$workdir/bench.db}" \
EXAMFEE_LISTEN="127.0.0.1:$port" EXAMFEE_DEMO=1 EXAMFEE_BOOTSTRAP_ADMIN=bench:Bench12345 \
EXAMFEE_CAPTCHA_TEST_ANSWER=bench EXAMFEE_RATE_LIMIT_PER_IP=0 RUST_LOG=warn \
  "${CARGO_TARGET_DIR:-target}/release/examfee" serve >"$workdir/server.log" 2>&1 &
server=$!
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.2; done
echo "import benchmark: $rows rows, $(nproc) cores, database ${BENCH_DATABASE_URL:-SQLite}"
python3 scripts/bench-import.py "http://127.0.0.1:$port" "$rows" bench:Bench12345 bench
