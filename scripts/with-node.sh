#!/usr/bin/env bash
# Runs a command under another Node.js line from this checkout: that runtime's bin first on
# PATH (so `node`, and every process started with process.execPath, is it), and
# better-sqlite3's addon rebuilt for it offline (scripts/sqlite-for.sh) swapped into
# node_modules for the run, then put back, even on failure or Ctrl-C. Nothing else may use this
# checkout's node_modules under another Node meanwhile. Used by scripts/test-node.sh and
# scripts/bench-node.sh.
# Usage: scripts/with-node.sh MAJOR COMMAND [ARGS...]
set -euo pipefail
cd "$(dirname "$0")/.."
major="${1:?usage: with-node.sh MAJOR COMMAND [ARGS...]}"
shift
nodedir="$(scripts/node-runtime.sh "$major")"
addon="$(scripts/sqlite-for.sh "$nodedir")"
own=node_modules/better-sqlite3/build/Release/better_sqlite3.node
cp "$own" "$own.own"
trap 'mv -f "$own.own" "$own"' EXIT
cp "$addon" "$own"
PATH="$nodedir/bin:$PATH" "$@"
