#!/usr/bin/env bash
# Runs every check ExamFee has: formatting, lints, the shared crate on wasm, the
# compose file, all tests on SQLite and then the API tests on PostgreSQL, API fuzzing
# over the OpenAPI document, the coverage-guided fuzz targets for a bounded time, the
# web client's lints and release build, and the browser tests.
# Installs what it needs (the wasm target, wasm-bindgen-cli, wasm-opt, Chromium,
# the browser-test packages) and skips what is there already.
set -euo pipefail
cd "$(dirname "$0")/.."

# Each step says how long the run has taken so far, to see where CI time goes.
step() { printf '\n==> [%dm%02ds] %s\n' $((SECONDS / 60)) $((SECONDS % 60)) "$*"; }
apt_install() {
  local sudo=""; [ "$(id -u)" -eq 0 ] || sudo=sudo
  $sudo apt-get update -qq && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

export EXAMFEE_TEST_PG_URL="${EXAMFEE_TEST_PG_URL:-postgres://postgres@127.0.0.1:5432}"

step "toolchain"
if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  rustup target add wasm32-unknown-unknown
fi
if cargo nextest --version >/dev/null 2>&1; then
  run_tests() { cargo nextest run --locked --no-fail-fast "$@"; }
  only_api_tests=(-E 'binary(api)')
else
  run_tests() { cargo test --locked --no-fail-fast "$@"; }
  only_api_tests=(--test api)
fi

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy -D warnings"
# The web client builds for wasm32 only; it is linted for that target below. The console
# builds on the host too, so its unit tests run with the others.
cargo clippy --locked --workspace --exclude examfee-web --all-targets -- -D warnings

step "web client: clippy -D warnings on wasm32"
cargo clippy --locked -p examfee-web --target wasm32-unknown-unknown -- -D warnings

step "operator console: clippy -D warnings on wasm32"
cargo clippy --locked -p examfee-console --target wasm32-unknown-unknown -- -D warnings

step "docker-compose.yml"
# No container engine runs on these machines; validating the file is what can be done.
command -v docker-compose >/dev/null 2>&1 || apt_install docker-compose
# The file requires its secrets and the public URL; any well-formed values validate it.
EXAMFEE_MASTER_KEY="$(printf '0%.0s' $(seq 64))" EXAMFEE_BOOTSTRAP_ADMIN=ci:not-a-real-password \
  POSTGRES_PASSWORD=ci0not0a0real0password EXAMFEE_PUBLIC_URL=https://localhost \
  docker-compose -f docker-compose.yml config -q

# Every host build below selects the same packages as this one: cargo unifies
# dependency features over the packages it builds, so `-p examfee` alone would build
# about 300 dependencies a second time with other features.
HOST_PACKAGES=(--workspace --exclude examfee-web)

step "tests on SQLite"
run_tests "${HOST_PACKAGES[@]}"
# The integration tests built the server binary; the API fuzzing, the image's staging
# and the browser tests run that one instead of building their own.
# Absolute: the browser tests run it from e2e/.
EXAMFEE_BIN="$(realpath "${CARGO_TARGET_DIR:-target}")/debug/examfee"
export EXAMFEE_BIN

step "API tests on PostgreSQL (${EXAMFEE_TEST_PG_URL})"
if command -v psql >/dev/null 2>&1; then
  # Databases left by earlier runs; each test makes its own.
  psql "${EXAMFEE_TEST_PG_URL}/postgres" -Atqc \
    "SELECT datname FROM pg_database WHERE datname LIKE 'examfee_test_%'" |
    while read -r name; do psql "${EXAMFEE_TEST_PG_URL}/postgres" -qc "DROP DATABASE IF EXISTS \"$name\"" >/dev/null; done
fi
EXAMFEE_TEST_DB=postgres run_tests "${HOST_PACKAGES[@]}" "${only_api_tests[@]}"

step "API fuzzing: schemathesis, every check, over the served OpenAPI document"
scripts/api-fuzz.sh

step "fuzz targets (cargo-fuzz, 15 s each)"
scripts/fuzz.sh 15

step "web clients: release build"
scripts/build-web.sh

step "image contents: the Dockerfile's build steps, outside Docker (dev profile)"
scripts/build-image-contents.sh "${CARGO_TARGET_DIR:-target}/image-contents" --profile dev --reuse-web

step "browser tests (e2e/, headless Chromium)"
# Debian's Chromium, and a Chinese font so that screenshots do not show boxes; npm's
# Playwright cannot download a browser here.
if ! command -v chromium >/dev/null 2>&1 || ! fc-list 2>/dev/null | grep -qi wqy; then
  apt_install chromium fonts-wqy-microhei
fi
command -v npm >/dev/null 2>&1 || apt_install nodejs npm
(cd e2e && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error && npx playwright test)

step "all checks passed"
