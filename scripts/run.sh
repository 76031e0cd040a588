#!/usr/bin/env bash
# The main job on the embedded default: a simulated 3-node cluster in
# ./sandbox, running until interrupted. sandbox/sandbox.json describes it.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
exec cargo run --locked --release -p pve-sim -- up --nodes 3 --dir "$PWD/sandbox" "$@"
