#!/usr/bin/env bash
# Install the peers of the fan-out benchmark (tests/examples/fleet_bench.rs), if missing:
#   parallel-ssh   Debian's `pssh` package (apt-get)
#   ansible        ansible-core $ANSIBLE_CORE_VERSION from PyPI, in its own venv ($VENV), so the
#                  system Python stays untouched and the version is the one the README quotes
# Idempotent: a peer already installed (at the pinned version) is left alone, and a second run
# reaches no network. Only the package registries are used. Must run as root (apt-get).
#
# Environment:
#   REMOTE_BENCH_VENV   the venv (default /var/tmp/remote-bench-venv); ansible is $VENV/bin/ansible
set -euo pipefail

# The newest ansible-core whose controller runs on Debian 12's Python 3.11 (2.20 needs 3.12).
ANSIBLE_CORE_VERSION=2.19.14
VENV=${REMOTE_BENCH_VENV:-/var/tmp/remote-bench-venv}
# Debian's own interpreter: its python3-venv provides ensurepip; another python3 on PATH (pyenv)
# may lack it or change under us.
PYTHON=/usr/bin/python3

step() { printf 'fleet-peers: %s\n' "$*" >&2; }
die() {
    printf 'fleet-peers: FAILED: %s\n' "$*" >&2
    exit 1
}

[[ $(id -u) == 0 ]] || die "must run as root (apt-get install)"

apt_install() {
    export DEBIAN_FRONTEND=noninteractive
    if ! apt-get install -y --no-install-recommends "$@" >&2; then
        step "apt-get install $* failed; updating the package lists and trying again"
        apt-get update >&2 || die "apt-get update failed"
        apt-get install -y --no-install-recommends "$@" >&2 || die "apt-get install $* failed"
    fi
}

if ! command -v parallel-ssh >/dev/null; then
    step "installing pssh (parallel-ssh)"
    apt_install pssh
    command -v parallel-ssh >/dev/null || die "pssh is installed but parallel-ssh is not on PATH"
fi

installed() { "$VENV/bin/python" -m pip show ansible-core 2>/dev/null | sed -n 's/^Version: //p'; }

if [[ ! -x $VENV/bin/ansible || $(installed) != "$ANSIBLE_CORE_VERSION" ]]; then
    [[ -x $PYTHON ]] || apt_install python3
    if ! "$PYTHON" -c 'import ensurepip' 2>/dev/null; then
        step "installing python3-venv (ensurepip)"
        apt_install python3-venv
    fi
    if [[ ! -x $VENV/bin/python ]]; then
        step "creating the venv $VENV"
        "$PYTHON" -m venv "$VENV" || die "python3 -m venv $VENV failed"
    fi
    step "installing ansible-core==$ANSIBLE_CORE_VERSION into $VENV"
    "$VENV/bin/python" -m pip install --disable-pip-version-check --quiet \
        "ansible-core==$ANSIBLE_CORE_VERSION" >&2 ||
        die "pip install ansible-core==$ANSIBLE_CORE_VERSION failed"
    [[ $(installed) == "$ANSIBLE_CORE_VERSION" ]] ||
        die "$VENV holds ansible-core $(installed), not $ANSIBLE_CORE_VERSION"
fi
step "parallel-ssh $(parallel-ssh --version 2>&1), ansible-core $(installed) in $VENV"
