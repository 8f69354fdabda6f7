#!/usr/bin/env bash
# Idempotent set-up shared by ./run.sh and ./test.sh: Debian tools the features need
# (tshark for cross-checks and the dumpcap backend, tcpdump, tmux for the real-terminal
# TUI test, djpeg to check the simulator's JPEGs with a real decoder), a virtual
# environment in .venv, the package installed editable with its test extras, and the
# optional compiled accelerator (accel/, Rust) built into .venv where a Rust toolchain
# is available. Quiet when everything is already in place; re-installs when
# pyproject.toml changes, rebuilds the accelerator when its sources change.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"

need_debs=()
command -v tshark >/dev/null 2>&1 || need_debs+=(tshark)
command -v dumpcap >/dev/null 2>&1 || need_debs+=(tshark)
command -v tcpdump >/dev/null 2>&1 || need_debs+=(tcpdump)
command -v tmux >/dev/null 2>&1 || need_debs+=(tmux)
command -v djpeg >/dev/null 2>&1 || need_debs+=(libjpeg-turbo-progs)
if [ ${#need_debs[@]} -gt 0 ]; then
    if [ "$(id -u)" -ne 0 ] && ! command -v sudo >/dev/null 2>&1; then
        echo "bootstrap: missing ${need_debs[*]}; install them as root (apt-get install ${need_debs[*]})" >&2
    else
        sudo_cmd=""
        [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
        echo "bootstrap: installing Debian packages: ${need_debs[*]}" >&2
        export DEBIAN_FRONTEND=noninteractive
        echo "wireshark-common wireshark-common/install-setuid boolean false" | $sudo_cmd debconf-set-selections 2>/dev/null || true
        $sudo_cmd apt-get update -qq >&2
        $sudo_cmd apt-get install -y -qq "${need_debs[@]}" >/dev/null
    fi
fi

python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    echo "bootstrap: creating .venv" >&2
    "$python" -m venv .venv
fi
stamp=.venv/.cvipsniff-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    echo "bootstrap: installing cvipsniff and its test extras into .venv" >&2
    .venv/bin/pip install -q -e ".[test]" >&2
    touch "$stamp"
fi

# The compiled accelerator (accel/: Rust through PyO3, built with maturin). Rebuilt when
# a file under accel/ is newer than the last build. Without a Rust toolchain (or if the
# build fails) cvipsniff runs on its pure-Python path, and this says so once.
accel_stamp=.venv/.cvipsniff-accel-built
accel_none=.venv/.cvipsniff-accel-none
if [ -z "$(find accel/Cargo.toml accel/Cargo.lock accel/pyproject.toml accel/src \
        -newer "$accel_stamp" 2>/dev/null | head -1)" ] && [ -f "$accel_stamp" ]; then
    :  # built and current
elif ! command -v cargo >/dev/null 2>&1; then
    if [ ! -f "$accel_none" ]; then
        echo "bootstrap: no Rust toolchain (cargo); cvipsniff runs on its pure-Python path" >&2
        touch "$accel_none"
    fi
else
    echo "bootstrap: building the compiled accelerator (accel/)" >&2
    built=0
    if command -v maturin >/dev/null 2>&1; then
        rm -rf accel/target/wheels
        if maturin build --release --quiet -i .venv/bin/python -o accel/target/wheels \
                -m accel/Cargo.toml >.venv/accel-build.log 2>&1 \
                && .venv/bin/pip install -q --no-deps --force-reinstall \
                    accel/target/wheels/cvipsniff_accel-*.whl >&2; then
            built=1
        fi
    elif .venv/bin/pip install -q --force-reinstall ./accel >&2; then
        built=1
    fi
    if [ "$built" = 1 ]; then
        touch "$accel_stamp"
        rm -f "$accel_none"
    else
        .venv/bin/pip uninstall -q -y cvipsniff-accel >/dev/null 2>&1 || true
        echo "bootstrap: the accelerator did not build (see .venv/accel-build.log);" \
            "cvipsniff runs on its pure-Python path" >&2
        touch "$accel_stamp"  # not retried until accel/ changes
    fi
fi
