#!/usr/bin/env bash
# The main job on the embedded default: a simulated 3-node cluster with a
# real pvectl-agent per node, in ./sandbox, running until interrupted.
# sandbox/sandbox.json describes it; the printed PVECTL_CONFIG reaches it.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
cargo build --locked --release --bins
exec target/release/pve-sim up --nodes 3 --dir "$PWD/sandbox" "$@"
