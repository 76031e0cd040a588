#!/usr/bin/env bash
# The main job on the embedded default: a simulated 3-node cluster with a
# real pvectl-agent per node, and the headline flows run through the real
# pvectl (`pve-sim demo`). Exits 0 only if every step did what it should.
# To keep a sandbox running instead: target/release/pve-sim up --dir ./sandbox
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
cargo build --locked --release --bins
exec target/release/pve-sim demo "$@"
