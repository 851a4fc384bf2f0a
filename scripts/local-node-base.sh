#!/usr/bin/env bash
# A local stand-in for the registry's Node base image (docker.io/library/node:20-bookworm-slim),
# for machines that cannot pull it (docs/operations.md, "Building the image"): a minimal Debian
# bookworm made by mmdebstrap, plus this machine's Node (the binary, its headers for node-gyp, and
# npm) under /usr/local, where the official image has them. Prints the image's name.
#
# Cached: the tag is a hash of this script, the Node binary, its headers and npm's version, so a
# second run finds the image and returns at once. `podman rmi localhost/burrow-node-base:<tag>`
# removes it; nothing else is left behind (the rootfs is built in a temporary directory).
set -euo pipefail

node_bin=$(readlink -f "$(command -v node)")
prefix=$(dirname "$(dirname "$node_bin")")
headers=$prefix/include/node
npm_dir=$prefix/lib/node_modules/npm
for f in "$headers/node_api.h" "$npm_dir/package.json"; do
  [ -e "$f" ] || { echo "local-node-base: $f is missing: this Node installation has no headers or no npm" >&2; exit 3; }
done

cas=(/usr/local/share/ca-certificates/*.crt)
ca_hook=()
ca_env=()
if [ -e "${cas[0]}" ]; then
  ca_hook=(--customize-hook="cp ${cas[*]} \"\$1/usr/local/share/ca-certificates/\" && chroot \"\$1\" update-ca-certificates >/dev/null")
  # Node and npm read their own CA list, not the system's: point them at the system bundle too.
  ca_env=(--change 'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt')
else
  cas=()
fi

key=$( { cat "$0" "$node_bin" ${cas[@]+"${cas[@]}"} | sha256sum; tar -C "$headers" -c . | sha256sum; grep -m1 '"version"' "$npm_dir/package.json"; } | sha256sum | cut -c1-16)
tag=localhost/burrow-node-base:$key
if podman image exists "$tag"; then
  echo "$tag"
  exit 0
fi

work=$(mktemp -d /var/tmp/burrow-node-base.XXXXXX)
trap 'rm -rf "$work"' EXIT
mmdebstrap --quiet --variant=minbase --include=ca-certificates \
  --customize-hook='mkdir -p "$1/usr/local/bin" "$1/usr/local/include" "$1/usr/local/lib/node_modules"' \
  --customize-hook="cp -a '$node_bin' \"\$1/usr/local/bin/node\"" \
  --customize-hook="cp -a '$headers' \"\$1/usr/local/include/node\"" \
  --customize-hook="cp -a '$npm_dir' \"\$1/usr/local/lib/node_modules/npm\"" \
  --customize-hook='ln -s ../lib/node_modules/npm/bin/npm-cli.js "$1/usr/local/bin/npm"' \
  --customize-hook='ln -s ../lib/node_modules/npm/bin/npx-cli.js "$1/usr/local/bin/npx"' \
  ${ca_hook[@]+"${ca_hook[@]}"} \
  --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*' \
  bookworm "$work/rootfs.tar" \
  'deb http://deb.debian.org/debian bookworm main' \
  'deb http://deb.debian.org/debian bookworm-updates main' \
  'deb http://deb.debian.org/debian-security bookworm-security main' >&2
podman import --quiet --change 'CMD ["node"]' ${ca_env[@]+"${ca_env[@]}"} --change 'ENV NODE_VERSION='"$(node -p process.versions.node)" \
  "$work/rootfs.tar" "$tag" >/dev/null
echo "$tag"
