#!/usr/bin/env bash
# Runs a time-bounded part of the test suite under another Node.js line (default 24):
# every unit test plus one end-to-end integration test (processes, TLS, the native store,
# the HTTP edge, the CLI); the Debian package test runs Node 24 end to end too. better-sqlite3
# is rebuilt for that runtime offline and swapped into node_modules for the run, then put back
# (scripts/with-node.sh).
# Usage: scripts/test-node.sh [MAJOR] [test files...]
set -euo pipefail
cd "$(dirname "$0")/.."
major="${1:-24}"
shift || true
nodedir="$(scripts/node-runtime.sh "$major")"
files=("$@")
if [ ${#files[@]} -eq 0 ]; then
  files=(test/unit test/integration/network.test.ts)
fi
echo "== tests under Node $("$nodedir/bin/node" --version): ${files[*]}"
# Two files at a time: unit test files spend most of their time starting tsx, not testing.
CANOPY_TEST_CONCURRENCY="${CANOPY_TEST_CONCURRENCY:-2}" scripts/with-node.sh "$major" node scripts/run-tests.mjs "${files[@]}"
