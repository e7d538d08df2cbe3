#!/usr/bin/env bash
# Builds the two browser bundles: the candidate web client (web/) into web/dist, where
# `examfee serve` serves it at / (EXAMFEE_WEB_DIR), and the operator console (console/)
# into console/dist, served at /admin/ (EXAMFEE_CONSOLE_DIR). Each is its own WASM, so
# candidates never download the console. Release, size-optimised (opt-level "z", LTO,
# wasm-opt -Oz), with content-hashed asset names so browsers may cache them for good.
# Beside each hashed asset (WASM, JS, CSS) it writes the asset compressed at the best
# ratios, NAME.br (brotli, quality 11, by Node's own zlib: nothing to install) and NAME.gz
# (gzip -9), which the server sends to browsers that accept them. Prints each WASM's
# gzip and brotli size. Installs what it needs and skips what is there: the wasm32
# target, wasm-bindgen-cli of exactly the version web/ pins, and binaryen's wasm-opt from
# npm into target/tools.
set -euo pipefail
cd "$(dirname "$0")/.."

WASM_BINDGEN_VERSION=0.2.130 # = the `wasm-bindgen` pin in Cargo.toml
BINARYEN_VERSION=132
# Cargo's output folder, wherever CARGO_TARGET_DIR puts it.
TARGET="${CARGO_TARGET_DIR:-target}"
TOOLS="$TARGET/tools"
STAGE="$TARGET/web-build"
OUT=web/dist

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  rustup target add wasm32-unknown-unknown
fi
if [ "$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen $WASM_BINDGEN_VERSION" ]; then
  # Not --locked: this version's own lock file does not build on the current toolchain.
  cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION"
fi
WASM_OPT="$TOOLS/binaryen/node_modules/.bin/wasm-opt"
if [ "$("$WASM_OPT" --version 2>/dev/null | awk '{print $3}')" != "$BINARYEN_VERSION" ]; then
  # npm's binaryen: Debian's (108) writes a bundle that fails to load in the browser.
  npm install --prefix "$TOOLS/binaryen" --no-save --no-audit --no-fund --loglevel=error \
    "binaryen@$BINARYEN_VERSION"
fi

# One cargo run each: built together, cargo would unify their dependencies' features,
# and the console's would change the candidate client's bundle.
for crate in examfee-web examfee-console; do
  cargo build --locked -p "$crate" --target wasm32-unknown-unknown --profile wasm-release
done

# precompress FILE… → FILE.br and FILE.gz beside each.
precompress() {
  node -e '
    const fs = require("fs"), zlib = require("zlib"), { constants: z } = zlib;
    for (const file of process.argv.slice(1)) {
      const data = fs.readFileSync(file);
      fs.writeFileSync(file + ".br", zlib.brotliCompressSync(data, { params: {
        [z.BROTLI_PARAM_QUALITY]: z.BROTLI_MAX_QUALITY,
        [z.BROTLI_PARAM_LGWIN]: z.BROTLI_MAX_WINDOW_BITS,
        [z.BROTLI_PARAM_SIZE_HINT]: data.length,
      } }));
    }' "$@"
  gzip -9 -n -k -f "$@"
}

# bundle CRATE SOURCE OUT LABEL CSS… → SOURCE's index.html and boot.js, the crate's
# WASM and the CSS files (joined in order) as OUT with hashed assets.
bundle() {
  local crate=$1 source=$2 out=$3 label=$4 stage="$STAGE/$1"
  shift 4
  rm -rf "$stage"
  mkdir -p "$stage/dist/assets"
  wasm-bindgen --target web --no-typescript --out-dir "$stage" --out-name app \
    "$TARGET/wasm32-unknown-unknown/wasm-release/$crate.wasm"
  # The features rustc's wasm32 target emits by default; names and producers are dropped
  # here rather than by cargo's `strip`, which would hide those features from wasm-bindgen.
  "$WASM_OPT" -Oz --strip-debug --strip-producers \
    --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
    --enable-mutable-globals --enable-reference-types --enable-multivalue \
    "$stage/app_bg.wasm" -o "$stage/app.wasm"

  hashed() { # FILE NAME EXT → copies FILE to assets/NAME-<hash>.EXT, prints that name
    local name
    name="$2-$(sha256sum "$1" | cut -c1-16).$3"
    cp "$1" "$stage/dist/assets/$name"
    echo "$name"
  }
  local wasm js css boot
  wasm=$(hashed "$stage/app.wasm" app wasm)
  js=$(hashed "$stage/app.js" app js)
  cat "$@" >"$stage/style.css"
  css=$(hashed "$stage/style.css" style css)
  # The loader is a file, not an inline script, so the server's Content-Security-Policy
  # allows no inline script; it names the hashed files, so it is hashed after them.
  sed -e "s/{{WASM}}/$wasm/g" -e "s/{{JS}}/$js/g" "$source/boot.js" >"$stage/boot.js"
  boot=$(hashed "$stage/boot.js" boot js)
  sed -e "s/{{WASM}}/$wasm/g" -e "s/{{JS}}/$js/g" -e "s/{{STYLE}}/$css/g" -e "s/{{BOOT}}/$boot/g" \
    "$source/index.html" >"$stage/dist/index.html"
  precompress "$stage"/dist/assets/*

  # Swapped in whole, so a running server never serves half a build.
  rm -rf "$out"
  mv "$stage/dist" "$out"
  local raw gz br
  raw=$(stat -c %s "$out/assets/$wasm")
  gz=$(stat -c %s "$out/assets/$wasm.gz")
  br=$(stat -c %s "$out/assets/$wasm.br")
  echo "$label built into $out: $wasm $((raw / 1024)) KiB, gzip $((gz / 1024)) KiB ($gz bytes)," \
    "brotli $((br / 1024)) KiB ($br bytes)"
}

bundle examfee-web web "$OUT" "web client" web/style.css
# The console's style sheet builds on the candidate client's (same look, one source).
bundle examfee-console console console/dist "operator console" web/style.css console/style.css
