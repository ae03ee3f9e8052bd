#!/usr/bin/env bash
# Builds the guests written in other languages against wit/ unchanged, with those languages' own
# toolchains, into $REMOTE_FOREIGN_GUESTS (default /var/tmp/remote-foreign-guests):
#
#   audit-py.wasm   tests/foreign-guests/audit-py/app.py       componentize-py (PyPI)
#   policy-js.wasm  tests/foreign-guests/policy-js/policy.js   jco componentize (npm)
#
# The toolchains are installed once into the same directory from the registries, at the versions
# pinned in requirements.txt and package-lock.json (a Python venv, `npm ci`); after that the
# script works offline. A guest is rebuilt only when its inputs (its source, wit/, the pins)
# change. For each guest it leaves either NAME.wasm or NAME.error (why it could not be built):
# the tests read those (remote_tests::foreign) and fail with the reason, so a toolchain that
# cannot be installed or a guest that no longer builds fails the run loudly. Exits non-zero when
# any guest failed. Safe to run concurrently (one build at a time, by a lock).
#
# Usage: tests/foreign-guests/build.sh [NAME...]   (default: every guest)
set -euo pipefail

SCRIPT_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
REPO_ROOT=$(cd -- "$SCRIPT_DIR/../.." && pwd -P)
OUT=${REMOTE_FOREIGN_GUESTS:-/var/tmp/remote-foreign-guests}
mkdir -p -- "$OUT"

exec 8>"$OUT/build.lock"
flock -w 900 8 || {
    echo "foreign-guests: another build has held $OUT/build.lock for 15 minutes" >&2
    exit 1
}

step() { printf 'foreign-guests: %s\n' "$*" >&2; }

# A digest of files, for "did anything change": their paths relative to the repository and
# their contents.
digest() { (cd "$REPO_ROOT" && sha256sum -- "$@" | sha256sum | cut -d' ' -f1); }

# Installs a toolchain into $OUT/$1 unless the stamp there matches $2 (the digest of its pins);
# $3... is the install command, run in a fresh $OUT/$1.
install() {
    local dir=$OUT/$1 want=$2
    shift 2
    if [[ -f $dir/.installed && $(cat "$dir/.installed") == "$want" ]]; then
        return
    fi
    step "installing $(basename "$dir") into $dir"
    rm -rf -- "$dir"
    mkdir -p -- "$dir"
    (cd "$dir" && "$@") >"$OUT/$(basename "$dir").install.log" 2>&1 || return 1
    echo "$want" >"$dir/.installed"
}

install_python() {
    cp -- "$SCRIPT_DIR/requirements.txt" .
    python3 -m venv venv
    venv/bin/pip install --disable-pip-version-check -q -r requirements.txt
}

install_js() {
    cp -- "$SCRIPT_DIR/package.json" "$SCRIPT_DIR/package-lock.json" .
    npm ci --no-audit --no-fund --ignore-scripts
}

wit_files=()
while IFS= read -r f; do wit_files+=("$f"); done < <(cd "$REPO_ROOT" && find wit -name '*.wit' | sort)

# build NAME TOOLCHAIN PINS SOURCE COMMAND...: COMMAND builds $OUT/NAME.wasm.new from SOURCE.
build() {
    local name=$1 toolchain=$2 pins=$3 source=$4
    shift 4
    local inputs
    inputs=$(digest "$pins" "$source" "${wit_files[@]}")
    if [[ -f $OUT/$name.wasm && -f $OUT/$name.inputs && $(cat "$OUT/$name.inputs") == "$inputs" ]]; then
        rm -f -- "$OUT/$name.error"
        return
    fi
    rm -f -- "$OUT/$name.wasm" "$OUT/$name.inputs"
    if ! install "$toolchain" "$(digest "$pins")" "install_$toolchain"; then
        printf '%s: installing the %s toolchain failed (log: %s):\n%s\n' \
            "$name" "$toolchain" "$OUT/$toolchain.install.log" \
            "$(tail -n 20 "$OUT/$toolchain.install.log")" >"$OUT/$name.error"
        return 1
    fi
    local why
    step "building $name.wasm"
    if ! why=$(cd "$REPO_ROOT" && "$@" 2>&1); then
        printf '%s: the build failed:\n%s\n' "$name" "$why" | tail -n 40 >"$OUT/$name.error"
        return 1
    fi
    mv -- "$OUT/$name.wasm.new" "$OUT/$name.wasm"
    echo "$inputs" >"$OUT/$name.inputs"
    rm -f -- "$OUT/$name.error"
}

build_audit_py() {
    build audit-py python tests/foreign-guests/requirements.txt tests/foreign-guests/audit-py/app.py \
        "$OUT/python/venv/bin/componentize-py" -d wit -w middleware componentize \
        -p tests/foreign-guests/audit-py app -o "$OUT/audit-py.wasm.new"
}

# `http` and `fetch-event` are off: they would import `wasi:http`, which no guest host offers.
build_policy_js() {
    build policy-js js tests/foreign-guests/package-lock.json tests/foreign-guests/policy-js/policy.js \
        "$OUT/js/node_modules/.bin/jco" componentize tests/foreign-guests/policy-js/policy.js \
        --wit wit --world-name middleware --disable http fetch-event -o "$OUT/policy-js.wasm.new"
}

names=("$@")
((${#names[@]})) || names=(audit-py policy-js)
failed=0
for name in "${names[@]}"; do
    case $name in
    audit-py) build_audit_py || failed=1 ;;
    policy-js) build_policy_js || failed=1 ;;
    *)
        echo "foreign-guests: no guest named $name (audit-py, policy-js)" >&2
        exit 2
        ;;
    esac
    if [[ -f $OUT/$name.error ]]; then
        step "FAILED: $(cat "$OUT/$name.error")"
    fi
done
exit "$failed"
