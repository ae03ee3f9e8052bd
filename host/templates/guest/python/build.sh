#!/usr/bin/env bash
# Builds {{name}}.wasm, a middleware component for `remote --guest {{name}}.wasm`.
# Needs componentize-py on PATH: python3 -m venv .venv && .venv/bin/pip install -r requirements.txt
set -euo pipefail
cd -- "$(dirname -- "${BASH_SOURCE[0]}")"
PATH="$PWD/.venv/bin:$PATH"
componentize-py -d wit -w middleware componentize app -o {{name}}.wasm
echo "built $PWD/{{name}}.wasm"
