#!/usr/bin/env bash
# Runs one benchmark under another Node.js line (`npm run bench -- NAME --node 24`): the bench
# and every process it starts from this checkout (nodes, root, CLI: they run process.execPath)
# use that runtime, as the Debian package does, while the baselines stay what they are
# (scripts/with-node.sh: the runtime on PATH, better-sqlite3's addon swapped in and back).
# Usage: scripts/bench-node.sh MAJOR NAME [options...]
set -euo pipefail
cd "$(dirname "$0")/.."
major="${1:?usage: bench-node.sh MAJOR NAME [options]}"
shift
exec scripts/with-node.sh "$major" node --import tsx bench/run.ts "$@"
