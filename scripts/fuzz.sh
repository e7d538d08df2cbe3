#!/usr/bin/env bash
# Runs every fuzz target in fuzz/ for a bounded time (first argument: seconds per
# target, default 25) and fails on the first crash, panic or timeout; the input that
# did it is left in fuzz/artifacts/<target>/. docs/fuzzing.md says why cargo-fuzz
# with --sanitizer none, and how to fuzz longer.
# Installs cargo-fuzz when missing (about a minute).
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${1:-25}"
# The fuzz build instruments every crate the targets link (the whole server), so it
# builds nothing the workspace built and is the longest build of the test command.
# Optimisation level 1 with line tables only builds faster than the default (3 with
# debug information); FUZZ_OPT_LEVEL=3 for a long run (docs/fuzzing.md). cargo-fuzz
# itself is installed with the same settings.
export CARGO_PROFILE_RELEASE_OPT_LEVEL="${FUZZ_OPT_LEVEL:-1}"
export CARGO_PROFILE_RELEASE_DEBUG=line-tables-only
targets=(id_number candidate_import sandbox_notification wechatpay_notification alipay_notification)

if ! cargo fuzz --version 2>/dev/null | grep -q '0\.13\.'; then
  cargo install cargo-fuzz --version 0.13.2 --locked
fi

cd fuzz
# Stable Rust has no AddressSanitizer here, and safe Rust does not need it: libFuzzer
# still gets its coverage; debug assertions and overflow checks stay on.
cargo fuzz build --sanitizer none --debug-assertions
for target in "${targets[@]}"; do
  mkdir -p "corpus/$target"
  printf -- '--- %s, %ss\n' "$target" "$seconds"
  # corpus/ (not committed) keeps what earlier runs found; seeds/ is read, not written.
  log="$(mktemp)"
  status=0
  cargo fuzz run --sanitizer none --debug-assertions "$target" "corpus/$target" "seeds/$target" -- \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 >"$log" 2>&1 || status=$?
  if [ "$status" -ne 0 ]; then
    tail -n 40 "$log" >&2
    rm -f "$log"
    echo "fuzz target $target failed (exit $status); the input is in fuzz/artifacts/$target/" >&2
    exit "$status"
  fi
  grep -E '^Done [0-9]+ runs' "$log" || true
  rm -f "$log"
done
