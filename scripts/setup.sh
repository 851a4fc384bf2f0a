#!/usr/bin/env bash
# Idempotent setup: Debian packages when missing, npm ci when the lockfile changed, then the
# eBPF objects, the N-API addon and the TypeScript. A second run with nothing changed takes seconds.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '[setup] %s\n' "$*"; }

APT_PACKAGES=(clang llvm libbpf-dev libelf-dev zlib1g-dev bpftool iproute2 nftables tcpdump tshark
              iperf3 xdp-tools make g++ python3 pkg-config iputils-ping netcat-openbsd strace time etcd-server)
# The lab's wire-like links (src/lab/offloads.ts) switch offloads with ethtool.
APT_PACKAGES+=(ethtool)
# bench §4 profile (bench/lab-profile.ts): perf record / perf report.
APT_PACKAGES+=(linux-perf)
# npm run test:kernels (scripts/test-kernels.sh): qemu boots Debian's kernels, busybox-static is the
# initramfs, kmod runs depmod on the extracted modules and is the guests' modprobe, e2fsprogs makes
# the project's disk image, xz-utils unpacks the modules.
APT_PACKAGES+=(qemu-system-x86 busybox-static kmod e2fsprogs xz-utils)
# test/deploy/image.test.ts: buildah builds deploy/Containerfile on a base mmdebstrap makes
# (scripts/local-node-base.sh); podman runs agentd from the image in lab nodes with runc (Debian
# 12's crun refuses hybrid cgroup hierarchies). test/deploy/systemd.test.ts: systemd-analyze
# (package systemd) scores the unit.
APT_PACKAGES+=(buildah podman runc mmdebstrap systemd)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    log "missing Debian packages: ${missing[*]} (run as root to install them)"; exit 1
  fi
  log "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# test/e2e/probes.test.ts checks live scrapes with `promtool check metrics`. promtool is Debian's
# prometheus package's; installing that package would also start a Prometheus server, so only the
# promtool binary is taken from it (apt-get download, into /usr/local/bin).
if ! command -v promtool >/dev/null 2>&1; then
  if [ "$(id -u)" -ne 0 ]; then
    log "promtool missing (run as root to install it from Debian's prometheus package)"; exit 1
  fi
  log "promtool (from Debian's prometheus package, the binary only)"
  tmp=$(mktemp -d)
  (cd "$tmp" && apt-get download -qq prometheus >/dev/null 2>&1 || { apt-get update -qq && apt-get download -qq prometheus >/dev/null; })
  dpkg-deb --fsys-tarfile "$tmp"/prometheus_*.deb | tar -x -O ./usr/bin/promtool > "$tmp/promtool"
  install -m 755 "$tmp/promtool" /usr/local/bin/promtool
  rm -rf "$tmp"
fi

# npm ci only when package-lock.json changed since the last install.
stamp=node_modules/.burrow-lock-hash
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  log "npm ci"
  npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
  echo "$want" > "$stamp"
  rm -rf build/Release build/Makefile
fi

log "eBPF objects"
make -s -C bpf

NODE_GYP=node_modules/.bin/node-gyp
GYP_ARGS=()
[ -f /usr/include/node/node_api.h ] && GYP_ARGS+=(--nodedir=/usr)
# Reconfigure when binding.gyp or the set of native sources changes (the source list is expanded
# at configure time).
gyp_want=$( (cat binding.gyp; ls -1 native/*.cc) | sha256sum | cut -d' ' -f1)
gyp_stamp=build/.burrow-gyp-hash
if [ ! -f build/Makefile ] || [ ! -f "$gyp_stamp" ] || [ "$(cat "$gyp_stamp")" != "$gyp_want" ]; then
  log "configuring the N-API addon"
  "$NODE_GYP" configure "${GYP_ARGS[@]}" --loglevel=error >/dev/null
  echo "$gyp_want" > "$gyp_stamp"
fi
log "N-API addon"
"$NODE_GYP" build "${GYP_ARGS[@]}" --loglevel=error -j 2 >/dev/null

log "TypeScript"
# src/generated/burrow-h.ts: burrow.h's names, numbers and layouts for the TypeScript (npm run build
# does the same), before the sweep below so its compiled file is never taken for a stale one.
node scripts/burrow-h.mjs
# Drop compiled files whose source is gone, so a deleted test never runs from a stale dist/.
if [ -d dist ]; then
  find dist -name '*.js' -not -path 'dist/node_modules/*' | while read -r js; do
    src="${js#dist/}"; src="${src%.js}.ts"
    [ -f "$src" ] || [ -f "${js#dist/}" ] || rm -f "$js" "$js.map"
  done
fi
node_modules/.bin/tsc -p tsconfig.json
log "done"
