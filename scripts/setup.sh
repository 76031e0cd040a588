#!/usr/bin/env bash
# Installs what the build and the tests need beyond Rust and cargo-nextest.
# Idempotent: every step checks first. Safe to run on every CI run.
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=scripts/lib/apt.sh
. scripts/lib/apt.sh

# FUSE views of the simulated pmxcfs tree (bindfs) and inotify tools.
install_missing setup bindfs=bindfs 'fusermount|fusermount3=fuse3'

# A third-party PVE API client (proxmoxer) for the compatibility test.
venv=target/pyenv
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import proxmoxer, requests' 2>/dev/null; then
  echo "setup: creating $venv with proxmoxer"
  mkdir -p target
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check 'proxmoxer==2.3.0' 'requests==2.32.5'
fi
echo "setup: ok"
