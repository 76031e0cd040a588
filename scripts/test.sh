#!/usr/bin/env bash
# The test command: installs what the tests need, then runs every test of the
# workspace. FUSE and the third-party client are required here, not optional.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
export PVE_SIM_REQUIRE_FUSE=1
export PVE_SIM_PYTHON="$PWD/target/pyenv/bin/python"
cargo nextest run --workspace --locked --no-fail-fast "$@"
