#!/usr/bin/env bash
# Property-based API fuzzing of the served OpenAPI document with schemathesis, as a
# third-party client generated from the spec would see the server: every check it has,
# once with a candidate's token (the candidates' and public operations) and once with an
# operator's (the operators' operations). Fails on any 5xx or any place where the server
# and its document disagree.
#   scripts/api-fuzz.sh                # the bounded run the test command makes (~1.5 min)
#   EXAMPLES=500 scripts/api-fuzz.sh   # a longer run
# scripts/schemathesis.toml lists the few operations whose refusals rest on what no
# schema can state (a captcha's answer, a signature, a rule across fields).
set -euo pipefail
cd "$(dirname "$0")/.."

EXAMPLES="${EXAMPLES:-60}"
SCHEMATHESIS_VERSION=4.32.5
TARGET="${CARGO_TARGET_DIR:-target}"
VENV="$TARGET/schemathesis-$SCHEMATHESIS_VERSION"
if [ ! -x "$VENV/bin/schemathesis" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
fi

# EXAMFEE_BIN: a server binary built already (the test command passes the one its
# tests built); otherwise it is built here.
if [ -z "${EXAMFEE_BIN:-}" ]; then
  cargo build --locked -q -p examfee
  EXAMFEE_BIN="$TARGET/debug/examfee"
fi
work="$(mktemp -d)"
trap 'kill "$server" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
EXAMFEE_LISTEN=127.0.0.1:0 \
  DATABASE_URL="sqlite://$work/examfee.db" EXAMFEE_SANDBOX_DB="$work/sandbox.db" \
  EXAMFEE_DEMO=1 EXAMFEE_CAPTCHA_TEST_ANSWER=fuzz42 \
  EXAMFEE_BOOTSTRAP_ADMIN='admin:Admin12345' EXAMFEE_RATE_LIMIT_PER_IP=0 \
  RUST_LOG=warn "$EXAMFEE_BIN" serve >"$work/out" 2>"$work/err" &
server=$!
for _ in $(seq 100); do grep -q 'web client' "$work/out" 2>/dev/null && break; sleep 0.2; done
base="$(grep -o 'web client *http://[^ ]*' "$work/out" | grep -o 'http://[^ ]*' | sed 's:/$::')"
[ -n "$base" ] || { cat "$work/out" "$work/err"; echo "examfee did not start"; exit 1; }

tokens="$("$VENV/bin/python" scripts/api-fuzz-tokens.py "$base" "$work/out")"
candidate="${tokens%% *}"
operator="${tokens##* }"

run() {
  "$VENV/bin/schemathesis" --config-file scripts/schemathesis.toml \
    run "$base/api-docs/openapi.json" --url "$base" \
    --checks all --max-examples "$EXAMPLES" --seed 1 --no-color \
    --report-dir "$work/report" "$@"
}
status=0
# Logging out would end the session the other operations use: it runs last, alone.
run -H "Authorization: Bearer $candidate" --exclude-path-regex '^/api/v1/(admin/|auth/logout$)' || status=1
run -H "Authorization: Bearer $operator" --include-path-regex '^/api/v1/admin/' || status=1
run -H "Authorization: Bearer $candidate" --include-path-regex '^/api/v1/auth/logout$' || status=1
if [ "$status" -ne 0 ]; then tail -50 "$work/err"; fi
exit "$status"
