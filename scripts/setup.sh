#!/usr/bin/env bash
# Idempotent set-up for a fresh Debian machine: system tools for the SSH drills, then .venv with the package.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
[ -x /usr/sbin/sshd ] || need+=(openssh-server)
command -v ssh >/dev/null 2>&1 || need+=(openssh-client)
command -v rsync >/dev/null 2>&1 || need+=(rsync)
# Engines that run the system ssh read ~/.ssh/config from the passwd home: nss_wrapper gives them the drill's.
/sbin/ldconfig -p 2>/dev/null | grep -q libnss_wrapper.so || need+=(libnss-wrapper)
# The power-loss drills mount a FUSE layer: fusermount3 and libfuse3 (mfusepy loads it through ctypes).
command -v fusermount3 >/dev/null 2>&1 || need+=(fuse3)
optional=()
command -v chromium >/dev/null 2>&1 || optional+=(chromium)   # renders the HTML report in a test

if [ $((${#need[@]} + ${#optional[@]})) -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing ${need[*]} ${optional[*]} with apt-get" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" "${optional[@]}" >/dev/null
  elif [ ${#need[@]} -gt 0 ]; then
    echo "setup: please install these Debian packages, then re-run: ${need[*]} ${optional[*]}" >&2
    exit 1
  else
    echo "setup: optional package missing (its test will skip): ${optional[*]}" >&2
  fi
fi

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
stamp=.venv/.usr-harness-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  .venv/bin/python -m pip install -q --disable-pip-version-check -e '.[dev]'
  touch "$stamp"
fi
# An editable install leaves the package uncompiled, and with PYTHONDONTWRITEBYTECODE set every
# `usr` process would compile it again (~0.1 s each): compile once here (quick when up to date).
.venv/bin/python -m compileall -q usr_harness benchmarks
