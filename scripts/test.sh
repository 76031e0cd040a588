#!/usr/bin/env bash
# The test command: installs what the tests need, runs every test of the
# workspace, then builds the release packages and checks them
# (packaging/build.sh, packaging/check.sh). FUSE and the third-party client
# are required here, not optional. Arguments go to cargo nextest; with any,
# the packaging step is skipped (a filtered run is for the tests).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
export PVE_SIM_REQUIRE_FUSE=1
export PVE_SIM_PYTHON="$PWD/target/pyenv/bin/python"
cargo nextest run --workspace --locked --no-fail-fast "$@"
if [ $# -eq 0 ]; then
  ./packaging/build.sh
  ./packaging/check.sh
fi
