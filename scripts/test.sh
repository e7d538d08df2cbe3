#!/usr/bin/env bash
# Runs every check ExamFee has: formatting, lints, the shared crate on wasm, the
# compose file, and all tests on SQLite and then the API tests on PostgreSQL.
# Installs what it needs (the wasm target) and skips what is there already.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

export EXAMFEE_TEST_PG_URL="${EXAMFEE_TEST_PG_URL:-postgres://postgres@127.0.0.1:5432}"

step "toolchain"
if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  rustup target add wasm32-unknown-unknown
fi
if cargo nextest --version >/dev/null 2>&1; then
  run_tests() { cargo nextest run --locked --no-fail-fast "$@"; }
else
  run_tests() { cargo test --locked --no-fail-fast "$@"; }
fi

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy -D warnings"
cargo clippy --locked --workspace --all-targets -- -D warnings

step "shared crate on wasm32"
cargo check --locked -p examfee-shared --target wasm32-unknown-unknown

step "docker-compose.yml"
# No container engine runs on these machines; validating the file is what can be done.
if ! command -v docker-compose >/dev/null 2>&1; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo=sudo
  $sudo apt-get update -qq && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-compose >/dev/null
fi
docker-compose -f docker-compose.yml config -q

step "tests on SQLite"
run_tests --workspace

step "API tests on PostgreSQL (${EXAMFEE_TEST_PG_URL})"
if command -v psql >/dev/null 2>&1; then
  # Databases left by earlier runs; each test makes its own.
  psql "${EXAMFEE_TEST_PG_URL}/postgres" -Atqc \
    "SELECT datname FROM pg_database WHERE datname LIKE 'examfee_test_%'" |
    while read -r name; do psql "${EXAMFEE_TEST_PG_URL}/postgres" -qc "DROP DATABASE IF EXISTS \"$name\"" >/dev/null; done
fi
EXAMFEE_TEST_DB=postgres run_tests -p examfee --test api

step "all checks passed"
