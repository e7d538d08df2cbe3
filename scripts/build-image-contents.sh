#!/usr/bin/env bash
# Builds everything the container image holds and stages it in OUT, the layout the
# Dockerfile copies into the runtime image:
#   OUT/examfee          the server binary
#   OUT/web/dist         the candidates' web client
#   OUT/console/dist     the operators' console
# then checks the staged layout: the binary runs (`--help`, `export-openapi`) and each
# client has its index.html. The Dockerfile runs it with `--profile release`; the test
# command runs it outside Docker with `--profile dev`, so CI checks the same steps
# without a second release build of the server.
#
#   scripts/build-image-contents.sh OUT [--profile release|dev] [--reuse-web]
#
# The web clients are built by scripts/build-web.sh, their one build; `--reuse-web`
# takes web/dist (and console/dist) as they are when present, for a test run that has
# just built them.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() { echo "usage: $0 OUT [--profile release|dev] [--reuse-web]" >&2; exit 2; }
[ $# -ge 1 ] || usage
OUT=$1
shift
PROFILE=release
REUSE_WEB=0
while [ $# -gt 0 ]; do
  case $1 in
    --profile) [ $# -ge 2 ] || usage; PROFILE=$2; shift 2 ;;
    --reuse-web) REUSE_WEB=1; shift ;;
    *) usage ;;
  esac
done
case $PROFILE in
  release) PROFILE_DIR=release ;;
  dev) PROFILE_DIR=debug ;;
  *) usage ;;
esac
TARGET="${CARGO_TARGET_DIR:-target}"
# The operators' console is a crate of the workspace once it exists; its bundle is
# then as required as the candidates' client.
HAS_CONSOLE=0
[ -f console/Cargo.toml ] && HAS_CONSOLE=1

if [ "$REUSE_WEB" = 1 ] && [ -f web/dist/index.html ] &&
  { [ "$HAS_CONSOLE" = 0 ] || [ -f console/dist/index.html ]; }; then
  echo "web clients: reusing web/dist$([ "$HAS_CONSOLE" = 1 ] && echo ' and console/dist')"
else
  scripts/build-web.sh
fi

# A dev-profile check may pass a binary built already (EXAMFEE_BIN: the test command
# passes the one its tests built); the image itself always builds its own.
BINARY="$TARGET/$PROFILE_DIR/examfee"
if [ "$PROFILE" = dev ] && [ -n "${EXAMFEE_BIN:-}" ]; then
  BINARY=$EXAMFEE_BIN
else
  cargo build --locked -p examfee --profile "$PROFILE"
fi

rm -rf "$OUT"
mkdir -p "$OUT/web" "$OUT/console"
install -m 0755 "$BINARY" "$OUT/examfee"
cp -R web/dist "$OUT/web/dist"
if [ "$HAS_CONSOLE" = 1 ]; then
  cp -R console/dist "$OUT/console/dist"
else
  # The runtime image copies the folder either way.
  mkdir -p "$OUT/console/dist"
fi

# The staged layout, as the runtime image will have it.
fail() { echo "build-image-contents: $*" >&2; exit 1; }
"$OUT/examfee" --help >/dev/null || fail "the staged binary does not run"
spec=$(mktemp)
trap 'rm -f "$spec"' EXIT
"$OUT/examfee" export-openapi "$spec" >/dev/null || fail "the staged binary cannot write its OpenAPI document"
grep -q '"openapi"' "$spec" || fail "the staged binary wrote no OpenAPI document"
for cmd in backup restore purge; do
  "$OUT/examfee" "$cmd" --help >/dev/null || fail "the staged binary has no \`$cmd\` command"
done
[ -f "$OUT/web/dist/index.html" ] || fail "no web/dist/index.html"
ls "$OUT"/web/dist/assets/*.wasm >/dev/null 2>&1 || fail "no WASM in web/dist/assets"
if [ "$HAS_CONSOLE" = 1 ]; then
  [ -f "$OUT/console/dist/index.html" ] || fail "no console/dist/index.html"
fi
echo "image contents staged in $OUT ($PROFILE): examfee $(du -h "$OUT/examfee" | cut -f1), web/dist$([ "$HAS_CONSOLE" = 1 ] && echo ', console/dist')"
