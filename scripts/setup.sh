#!/usr/bin/env bash
# Installs what the build and the tests need beyond Rust and cargo-nextest.
# Idempotent: every step checks first. Safe to run on every CI run.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# FUSE views of the simulated pmxcfs tree (bindfs) and inotify tools.
need=()
command -v bindfs >/dev/null 2>&1 || need+=(bindfs)
command -v fusermount >/dev/null 2>&1 || command -v fusermount3 >/dev/null 2>&1 || need+=(fuse3)
if [ ${#need[@]} -gt 0 ]; then
  echo "setup: installing ${need[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

# A third-party PVE API client (proxmoxer) for the compatibility test.
venv=target/pyenv
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import proxmoxer, requests' 2>/dev/null; then
  echo "setup: creating $venv with proxmoxer"
  mkdir -p target
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check 'proxmoxer==2.3.0' 'requests==2.32.5'
fi
echo "setup: ok"
