#!/usr/bin/env bash
# Runs ExamFee locally: the web client, API, Swagger UI and health checks on SQLite
# (./data/), with demo data and a demo operator. Prints the URLs to open and how to log in.
set -euo pipefail
cd "$(dirname "$0")/.."

export EXAMFEE_DEMO="${EXAMFEE_DEMO:-1}"
export EXAMFEE_BOOTSTRAP_ADMIN="${EXAMFEE_BOOTSTRAP_ADMIN:-admin:Admin12345}"
export EXAMFEE_LISTEN="${EXAMFEE_LISTEN:-127.0.0.1:8080}"
# The real cashier on fakes of WeChat Pay and Alipay (keys made at start); set it to 0 for
# the sandbox's own cashier instead.
export EXAMFEE_DEMO_CHANNELS="${EXAMFEE_DEMO_CHANNELS:-1}"

scripts/build-web.sh
cargo build --locked -p examfee
echo "Demo operator: ${EXAMFEE_BOOTSTRAP_ADMIN%%:*} / ${EXAMFEE_BOOTSTRAP_ADMIN#*:}"
exec "${CARGO_TARGET_DIR:-target}/debug/examfee" serve
