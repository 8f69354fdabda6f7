#!/usr/bin/env bash
# Idempotent set-up shared by ./run.sh and ./test.sh: Debian tools the features need
# (tshark for cross-checks and the dumpcap backend, tcpdump, tmux for the real-terminal
# TUI test, djpeg to check the simulator's JPEGs with a real decoder), a virtual
# environment in .venv, and the package installed editable with its test extras.
# Quiet when everything is already in place; re-installs when pyproject.toml changes.
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
