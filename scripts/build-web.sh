#!/usr/bin/env bash
# Builds the two browser bundles: the candidate web client (web/) into web/dist, where
# `examfee serve` serves it at / (EXAMFEE_WEB_DIR), and the operator console (console/)
# into console/dist, served at /admin/ (EXAMFEE_CONSOLE_DIR). Each is its own WASM, so
# candidates never download the console. Release, size-optimised (opt-level "z", LTO,
# wasm-opt -Oz), with content-hashed asset names so browsers may cache them for good.
# Beside each hashed asset (WASM, JS, CSS) it writes the asset compressed at the best
# ratios, NAME.br (brotli, quality 11, by Node's own zlib: nothing to install) and NAME.gz
# (gzip -9), which the server sends to browsers that accept them. Prints each WASM's
# gzip and brotli size.
#
# The candidate client is split: each screen behind a `#[lazy]` function (web/src/app.rs)
# goes into WASM modules of its own that the browser fetches when the screen is first
# reached, so the login screen waits for the main module only. The split is made by
# wasm_split_cli_support's `wasm-split-cli` on the linked WASM (which keeps its
# relocations for it: `--emit-relocs`), before wasm-bindgen; its JS link module and the
# split modules are hashed assets like the others.
#
# Installs what it needs and skips what is there: the wasm32 target, wasm-bindgen-cli of
# exactly the version web/ pins, wasm-split-cli and binaryen's wasm-opt from npm into
# target/tools.
set -euo pipefail
cd "$(dirname "$0")/.."

WASM_BINDGEN_VERSION=0.2.130 # = the `wasm-bindgen` pin in Cargo.toml
BINARYEN_VERSION=132
# wasm_split_cli_support, whose split-section format matches the wasm_split_helpers in
# Cargo.lock (leptos's `#[lazy]`).
WASM_SPLIT_VERSION=0.2.4
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
  # Tools: optimised at level 1, they build in less time and run for seconds.
  CARGO_PROFILE_RELEASE_OPT_LEVEL=1 cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION"
fi
WASM_OPT="$TOOLS/binaryen/node_modules/.bin/wasm-opt"
if [ "$("$WASM_OPT" --version 2>/dev/null | awk '{print $3}')" != "$BINARYEN_VERSION" ]; then
  # npm's binaryen: Debian's (108) writes a bundle that fails to load in the browser.
  npm install --prefix "$TOOLS/binaryen" --no-save --no-audit --no-fund --loglevel=error \
    "binaryen@$BINARYEN_VERSION"
fi

WASM_SPLIT="$TOOLS/wasm-split-$WASM_SPLIT_VERSION/bin/wasm-split-cli"
if [ ! -x "$WASM_SPLIT" ]; then
  CARGO_PROFILE_RELEASE_OPT_LEVEL=1 cargo install --locked wasm_split_cli_support --version "$WASM_SPLIT_VERSION" \
    --features build-binary --root "$TOOLS/wasm-split-$WASM_SPLIT_VERSION"
fi
WASM_FEATURES=(--enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext
  --enable-mutable-globals --enable-reference-types --enable-multivalue)
# optimize IN OUT: wasm-opt -Oz with the features rustc's wasm32 target emits by default;
# names and producers are dropped here rather than by cargo's `strip`, which would hide
# those features from wasm-bindgen. (Split modules carry a names subsection binaryen does
# not know, and says so for each: that notice is left out.)
optimize() {
  "$WASM_OPT" -Oz --strip-debug --strip-producers "${WASM_FEATURES[@]}" "$1" -o "$2" \
    2> >(grep -v "unknown name subsection" >&2)
}

# One cargo run each: built together, cargo would unify their dependencies' features,
# and the console's would change the candidate client's bundle. The candidate client's
# binary is linked keeping its relocations, which wasm-split-cli needs (its
# dependencies build as usual: the flag is for the link alone).
cargo rustc --locked -p examfee-web --bin examfee-web --target wasm32-unknown-unknown \
  --profile wasm-release -- -C link-arg=--emit-relocs
cargo build --locked -p examfee-console --target wasm32-unknown-unknown --profile wasm-release

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

# bundle CRATE SOURCE OUT LABEL SPLIT CSS… → SOURCE's index.html and boot.js, the
# crate's WASM (split when SPLIT is "split") and the CSS files (joined in order) as OUT
# with hashed assets.
bundle() {
  local crate=$1 source=$2 out=$3 label=$4 split=$5 stage="$STAGE/$1"
  shift 5
  rm -rf "$stage"
  mkdir -p "$stage/dist/assets"
  hashed() { # FILE NAME EXT → copies FILE to assets/NAME-<hash>.EXT, prints that name
    local name
    name="$2-$(sha256sum "$1" | cut -c1-16).$3"
    cp "$1" "$stage/dist/assets/$name"
    echo "$name"
  }

  local input="$TARGET/wasm32-unknown-unknown/wasm-release/$crate.wasm" link="" js
  if [ "$split" = split ]; then
    # → split/app.wasm (the main module, for wasm-bindgen), split/*.wasm (the split
    # modules) and split/__wasm_split.js, which loads them and imports the main module's
    # exports from ./app.js. wasm-bindgen keeps the exports the split modules link to.
    "$WASM_SPLIT" "$input" "$stage/split" --out-name app
    input="$stage/split/app.wasm"
    wasm-bindgen --target web --no-typescript --keep-lld-exports --out-dir "$stage" \
      --out-name app "$input"
    local module name
    for module in "$stage"/split/*.wasm; do
      name=$(basename "$module" .wasm)
      [ "$name" = app ] && continue
      optimize "$module" "$stage/split/$name.opt"
      name=$(hashed "$stage/split/$name.opt" "$name" wasm)
      sed -i "s|\"\./$(basename "$module")\"|\"./$name\"|" "$stage/split/__wasm_split.js"
    done
    # The glue and the link module import each other, so neither can be named after its
    # own content alone: both are named after the two together.
    local both
    both=$(cat "$stage/app.js" "$stage/split/__wasm_split.js" | sha256sum | cut -c1-16)
    js="app-$both.js" link="split-$both.js"
    # (Only the module it is imported from: the name it is known by in the WASM stays.)
    sed "s|from \"\./__wasm_split\.js\"|from \"./$link\"|g" "$stage/app.js" >"$stage/dist/assets/$js"
    sed "s|\"\./app\.js\"|\"./$js\"|g" "$stage/split/__wasm_split.js" >"$stage/dist/assets/$link"
  else
    wasm-bindgen --target web --no-typescript --out-dir "$stage" --out-name app "$input"
    js=$(hashed "$stage/app.js" app js)
  fi
  optimize "$stage/app_bg.wasm" "$stage/app.wasm"

  local wasm css boot
  wasm=$(hashed "$stage/app.wasm" app wasm)
  cat "$@" >"$stage/style.css"
  css=$(hashed "$stage/style.css" style css)
  # The loader is a file, not an inline script, so the server's Content-Security-Policy
  # allows no inline script; it names the hashed files, so it is hashed after them.
  sed -e "s/{{WASM}}/$wasm/g" -e "s/{{JS}}/$js/g" "$source/boot.js" >"$stage/boot.js"
  boot=$(hashed "$stage/boot.js" boot js)
  sed -e "s/{{WASM}}/$wasm/g" -e "s/{{JS}}/$js/g" -e "s/{{STYLE}}/$css/g" -e "s/{{BOOT}}/$boot/g" \
    -e "s/{{SPLIT}}/$link/g" "$source/index.html" >"$stage/dist/index.html"
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
  if [ -n "$link" ]; then
    local count
    count=$(find "$out/assets" -name '*.wasm' ! -name "$wasm" | wc -l)
    raw=$(find "$out/assets" -name '*.wasm' ! -name "$wasm" -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }')
    gz=$(find "$out/assets" -name '*.wasm.gz' ! -name "$wasm.gz" -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }')
    br=$(find "$out/assets" -name '*.wasm.br' ! -name "$wasm.br" -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }')
    echo "  and $count split modules loaded as screens need them: $((raw / 1024)) KiB in all," \
      "gzip $((gz / 1024)) KiB, brotli $((br / 1024)) KiB"
  fi
}

bundle examfee-web web "$OUT" "web client" split web/style.css
# The console's style sheet builds on the candidate client's (same look, one source).
bundle examfee-console console console/dist "operator console" whole web/style.css console/style.css
