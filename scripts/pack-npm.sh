#!/usr/bin/env bash
# Packs the npm tarball (npm install -g ./canopy-VERSION.tgz) into DIR (default release/):
# the built dist and docs, with the production dependencies inside it (bundleDependencies),
# installed from package-lock.json. Why bundled: a global install of a tarball ignores any
# lock file, so npm would resolve every range again (a host would get other versions than CI
# tested) and need the registry; bundled, the host installs the tested versions with no
# registry at all. better-sqlite3 goes in without its addon (no install scripts here): it is
# made on the host by its own install script, from a local prebuild when one is given
# (scripts/sqlite-prebuild.sh, docs/DEPLOY.md) or compiled from its bundled sources.
# Packed from a staging copy (one per run), so the checkout is left as it was.
# Prints the tarball's path. Usage: scripts/pack-npm.sh [DIR]   (run npm run build first)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
out="$(mkdir -p "${1:-release}" && cd "${1:-release}" && pwd)"
[ -f dist/cli/main.js ] || { echo "pack-npm.sh: dist/ is missing: run npm run build first" >&2; exit 1; }
mkdir -p "$root/.cache"
stage="$(mktemp -d "$root/.cache/npm-pack.XXXXXX")"
trap 'rm -rf "$stage"' EXIT
node -p 'require("./package.json").files.join("\n")' | while read -r f; do cp -r --parents "$f" "$stage/"; done
node -e '
const fs = require("fs");
const pkg = JSON.parse(fs.readFileSync("package.json", "utf8"));
fs.writeFileSync(process.argv[1], JSON.stringify({ ...pkg, bundleDependencies: Object.keys(pkg.dependencies) }, null, 2) + "\n");
' "$stage/package.json"
cp package-lock.json "$stage/"
(cd "$stage" && npm ci --omit=dev --ignore-scripts --prefer-offline --no-audit --no-fund --silent)
name="$(cd "$stage" && npm pack --silent --pack-destination "$out" | tail -1)"
echo "$out/$name"
