#!/usr/bin/env bash
# Builds better-sqlite3's native addon for another Node.js runtime, offline, from the
# sources already in node_modules, against that runtime's own headers (npm's bundled
# node-gyp with --nodedir, make on every core). Prints the path of the built
# better_sqlite3.node, cached per runtime version under .cache/better-sqlite3/.
# Usage: scripts/sqlite-for.sh NODE_DIR
set -euo pipefail
nodedir="$(cd "${1:?usage: sqlite-for.sh NODE_DIR}" && pwd)"
root="$(cd "$(dirname "$0")/.." && pwd)"
version="$("$nodedir/bin/node" --version)"
out="$root/.cache/better-sqlite3/$version"
# One build at a time (a second caller waits, then finds the result).
mkdir -p "$root/.cache/better-sqlite3"
exec 9>"$root/.cache/better-sqlite3/.lock"
flock 9
if [ ! -f "$out/better_sqlite3.node" ]; then
  gyp="$(dirname "$(readlink -f "$(command -v npm)")")/../node_modules/node-gyp/bin/node-gyp.js"
  work="$root/.cache/better-sqlite3/build-$version"
  rm -rf "$work" && mkdir -p "$work"
  cp -r "$root/node_modules/better-sqlite3/." "$work/"
  rm -rf "$work/build"
  (cd "$work" && PATH="$nodedir/bin:$PATH" "$nodedir/bin/node" "$gyp" rebuild --release --jobs max --nodedir="$nodedir" >"$work.log" 2>&1) || { tail -30 "$work.log" >&2; exit 1; }
  mkdir -p "$out" && cp "$work/build/Release/better_sqlite3.node" "$out/"
  rm -rf "$work" "$work.log"
fi
echo "$out/better_sqlite3.node"
