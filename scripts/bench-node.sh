#!/usr/bin/env bash
# Runs one benchmark under another Node.js line (`npm run bench -- NAME --node 24`): the bench
# and every process it starts from this checkout (nodes, root, CLI: they run process.execPath)
# use that runtime, as the Debian package does, while the baselines stay what they are.
# better-sqlite3 is rebuilt for that runtime offline (scripts/sqlite-for.sh) and swapped into
# node_modules for the run, then put back, as scripts/test-node.sh does: nothing else may use
# this checkout's node_modules under another Node meanwhile.
# Usage: scripts/bench-node.sh MAJOR NAME [options...]
set -euo pipefail
cd "$(dirname "$0")/.."
major="${1:?usage: bench-node.sh MAJOR NAME [options]}"
shift
nodedir="$(scripts/node-runtime.sh "$major")"
addon="$(scripts/sqlite-for.sh "$nodedir")"
own=node_modules/better-sqlite3/build/Release/better_sqlite3.node
cp "$own" "$own.own"
trap 'mv -f "$own.own" "$own"' EXIT
cp "$addon" "$own"
PATH="$nodedir/bin:$PATH" "$nodedir/bin/node" --import tsx bench/run.ts "$@"
