#!/usr/bin/env bash
# Builds {{name}}.wasm, a middleware component for `remote --guest {{name}}.wasm`.
# Needs jco on PATH or installed here: npm install (package.json pins it).
# `http` and `fetch-event` are off: they would import `wasi:http`, which `remote` does not offer.
set -euo pipefail
cd -- "$(dirname -- "${BASH_SOURCE[0]}")"
PATH="$PWD/node_modules/.bin:$PATH"
jco componentize app.js --wit wit --world-name middleware --disable http fetch-event -o {{name}}.wasm
echo "built $PWD/{{name}}.wasm"
