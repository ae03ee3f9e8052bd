#!/usr/bin/env bash
# Builds {{name}}.wasm, a middleware component for `remote --guest {{name}}.wasm`.
# Needs Rust with the wasm32-wasip2 target: rustup target add wasm32-wasip2
set -euo pipefail
cd -- "$(dirname -- "${BASH_SOURCE[0]}")"
cargo build --release --target wasm32-wasip2
cp -- "${CARGO_TARGET_DIR:-target}/wasm32-wasip2/release/{{crate}}.wasm" {{name}}.wasm
echo "built $PWD/{{name}}.wasm"
