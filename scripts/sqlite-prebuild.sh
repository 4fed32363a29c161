#!/usr/bin/env bash
# Writes better-sqlite3's native addon as a prebuild, the file its install script
# (prebuild-install) takes instead of downloading one from GitHub or compiling sqlite from
# source: DIR/better-sqlite3-vVERSION-node-vABI-linux-x64.tar.gz. With NODE_DIR (an official
# Node.js build, scripts/node-runtime.sh MAJOR) the addon is built for that runtime offline
# (scripts/sqlite-for.sh, cached); without it, the one in node_modules is taken (built for the
# `node` on PATH by npm ci). A host then installs the npm tarball with no compiler and no
# network for the addon:
#   npm_config_better_sqlite3_local_prebuilds=DIR npm install -g ./canopy-VERSION.tgz
# Prints the prebuild's path. Usage: scripts/sqlite-prebuild.sh DIR [NODE_DIR]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="$(mkdir -p "${1:?usage: sqlite-prebuild.sh DIR [NODE_DIR]}" && cd "$1" && pwd)"
if [ -n "${2:-}" ]; then
  node="$(cd "$2" && pwd)/bin/node"
  addon="$("$root/scripts/sqlite-for.sh" "$2")"
else
  node="$(command -v node)"
  addon="$root/node_modules/better-sqlite3/build/Release/better_sqlite3.node"
fi
[ -f "$addon" ] || { echo "sqlite-prebuild.sh: no addon at $addon (npm ci first)" >&2; exit 1; }
version="$(node -p 'require(process.argv[1]).version' "$root/node_modules/better-sqlite3/package.json")"
abi="$("$node" -p process.versions.modules)"
file="$out/better-sqlite3-v$version-node-v$abi-linux-x64.tar.gz"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/build/Release" && cp "$addon" "$work/build/Release/"
tar czf "$file" -C "$work" build
echo "$file"
