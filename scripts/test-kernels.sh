#!/usr/bin/env bash
# npm run test:kernels: the test tiers on other kernels than this machine's, each booted under
# qemu with this machine's own root filesystem shared read-only (virtio-9p) under a tmpfs overlay,
# so the built project and its tools run unchanged inside. See docs/kernels.md.
#
#   scripts/test-kernels.sh [--kernels "6.1 6.12"] [--tiers "bpf-lib bpf agent kernels"]
#                           [--bpf-cases N] [--accel auto|kvm|tcg] [--timeout S] [--tier-timeout S]
#                           [--mem MiB] [--smp N] [--logs DIR] [--no-bpffs] [--exec CMD] [--quiet]
#                           [--update-readme]
# A tier is a directory under dist/test (bpf-lib, bpf, agent, e2e, kernels: the ipip interop
# test, which the host suite leaves out) or one test file there
# (--tiers "e2e/lab.test.js e2e/kernel-vxlan.test.js"). The default (what .ci/run runs, sized for
# CI's hour under TCG): bpf-lib, bpf, the agent files that touch the kernel's attach points,
# routes, nft and bpffs, and kernels. Each guest also probes the kernel's features; the kernel
# support table (scripts/kernels/support-table.mjs) is written to <logs>/support.md, and with
# --update-readme into README.md. The e2e lab waits up to 360 s for each
# agentd in the guests, and at least that for anything else it waits for (BURROW_LAB_READY_MS;
# BURROW_KERNEL_ENV overrides it); e2e needs --tier-timeout 3600 or so (docs/kernels.md).
# The same settings come from the environment: BURROW_KERNELS, BURROW_KERNEL_TIERS,
# BURROW_KERNEL_BPF_CASES, BURROW_KERNEL_ACCEL, BURROW_KERNEL_TIMEOUT, BURROW_KERNEL_TIER_TIMEOUT,
# BURROW_KERNEL_MEM, BURROW_KERNEL_SMP, BURROW_KERNEL_LOGS, BURROW_KERNEL_CACHE,
# BURROW_KERNEL_APPEND (extra kernel command line), BURROW_KERNEL_ENV ("K=V ..." for the tests),
# BURROW_KERNEL_BPFFS=0 (--no-bpffs: leave /sys/fs/bpf a plain sysfs directory, as on a machine
# without systemd), BURROW_KERNEL_EXEC (--exec: run this shell command in the guest, from the
# repository, instead of the tiers; for debugging, e.g. --exec 'time node -e 0; bpftool prog').
#
# The tests run from a snapshot of the working tree (without .git) taken when the run starts, so a
# rebuild or `npm ci` on the host meanwhile does not pull files from under the guests. The
# snapshot is an ext4 image on a virtio disk (opened with snapshot=on: each guest writes to a
# throwaway layer): node_modules' thousands of small files open several times faster from a
# block device than over 9p, where each open is a round trip to qemu.
#
# A kernel is a Debian version series ("6.1": the newest linux-image-6.1.*-amd64 the apt lists
# know; "6.12": linux-image-6.12.*+deb12-amd64) or an exact package name. Packages are fetched
# with `apt-get download` (never installed) and extracted under the cache directory
# (/var/cache/burrow-kernels), which later runs reuse. Needs root, qemu-system-x86, busybox-static,
# kmod (scripts/setup.sh installs them) and the project built.
#
# Prints per kernel each tier's closing line and `<kernel>: N passed, N failed`, then
# `total: N passed, N failed`; exits 1 when a test failed or a kernel did not boot or finish.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd -P)

KERNELS=${BURROW_KERNELS:-6.1 6.12}
# e2e is left out by default: under TCG it takes ~17 min a kernel (docs/kernels.md); the agent
# tier's pure files (properties on in-memory maps, etcd and fake API server sources) test nothing
# kernel-specific and take most of its 15-18 min under TCG.
DEFAULT_TIERS="bpf-lib bpf agent/attach.test.js agent/agentctl-live.test.js agent/reconcile-kernel.test.js agent/tunnel-device.test.js agent/pin-root.test.js kernels"
TIERS=${BURROW_KERNEL_TIERS:-$DEFAULT_TIERS}
UPDATE_README=0
BPF_CASES=${BURROW_KERNEL_BPF_CASES:-50}
ACCEL=${BURROW_KERNEL_ACCEL:-auto}
TIMEOUT=${BURROW_KERNEL_TIMEOUT:-}
TIER_TIMEOUT=${BURROW_KERNEL_TIER_TIMEOUT:-1500}
MEM=${BURROW_KERNEL_MEM:-4096}
SMP=${BURROW_KERNEL_SMP:-2}
LOGS=${BURROW_KERNEL_LOGS:-build/test-kernels}
CACHE=${BURROW_KERNEL_CACHE:-/var/cache/burrow-kernels}
APPEND_EXTRA=${BURROW_KERNEL_APPEND:-}
EXTRA_ENV=${BURROW_KERNEL_ENV:-}
BPFFS=${BURROW_KERNEL_BPFFS:-1}
EXEC=${BURROW_KERNEL_EXEC:-}
QUIET=0

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
  case $1 in
    --kernels) KERNELS=$2; shift 2 ;;
    --tiers) TIERS=$2; shift 2 ;;
    --bpf-cases) BPF_CASES=$2; shift 2 ;;
    --accel) ACCEL=$2; shift 2 ;;
    --timeout) TIMEOUT=$2; shift 2 ;;
    --tier-timeout) TIER_TIMEOUT=$2; shift 2 ;;
    --mem) MEM=$2; shift 2 ;;
    --smp) SMP=$2; shift 2 ;;
    --logs) LOGS=$2; shift 2 ;;
    --no-bpffs) BPFFS=0; shift ;;
    --exec) EXEC=$2; shift 2 ;;
    --quiet) QUIET=1; shift ;;
    --update-readme) UPDATE_README=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "test-kernels: unknown argument $1 (--help)" >&2; exit 2 ;;
  esac
done
KERNELS=${KERNELS//,/ }
TIERS=${TIERS//,/ }
# Per kernel: the tiers' timeouts and two minutes to boot and power off.
[ -n "$TIMEOUT" ] || TIMEOUT=$(( $(wc -w <<<"$TIERS") * TIER_TIMEOUT + 120 ))
case $ACCEL in auto|kvm|tcg) ;; *) echo "test-kernels: --accel auto|kvm|tcg" >&2; exit 2 ;; esac

log() { printf '[test-kernels] %s\n' "$*"; }
die() { printf '[test-kernels] error: %s\n' "$*" >&2; exit 2; }

[ "$(id -u)" -eq 0 ] || die "needs root (apt-get download into $CACHE, the tests themselves)"
for tool in qemu-system-x86_64 depmod modprobe dpkg-deb apt-get mke2fs; do
  command -v "$tool" >/dev/null || die "$tool missing: run scripts/setup.sh (qemu-system-x86, kmod)"
done
[ -x /bin/busybox ] || die "/bin/busybox missing: run scripts/setup.sh (busybox-static)"
[ -n "$EXEC" ] && TIERS=exec
for tier in $TIERS; do
  [ "$tier" = exec ] || [ -e "dist/test/$tier" ] || die "dist/test/$tier missing: build first (scripts/setup.sh)"
done

# ---------------------------------------------------------------------------------------------
# Everything this run makes outside the cache and the logs lives under $WORK (in /var/tmp, not
# /tmp, which the guests cover with a tmpfs) or, while a kernel is being fetched, in
# $CACHE/.fetch.<our pid>.*; qemu and tail are ours by pid. All of it goes on exit, however we exit.
WORK=$(mktemp -d /var/tmp/burrow-kernels.XXXXXX)
PIDS=()
cleanup() {
  local p
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  PIDS=()
  rm -rf "$WORK"
  rm -rf "$CACHE"/.fetch."$$".* 2>/dev/null || true
}
trap cleanup EXIT
trap 'log "interrupted: stopping qemu, removing $WORK"; exit 130' INT TERM HUP

mkdir -p "$CACHE" "$LOGS"
LOGS=$(cd "$LOGS" && pwd -P)
CACHE=$(cd "$CACHE" && pwd -P)

# The snapshot the guests run, mounted at /burrow in them. The tree is ~170 MB without .git;
# the image is sparse, with room for what the tests write.
mkdir "$WORK/repo"
tar -C "$REPO" --exclude=./.git --exclude="./${LOGS#"$REPO"/}" -cf - . | tar -C "$WORK/repo" -xf -
REPO_IMG=$WORK/repo.img
truncate -s "$(( $(du -sm "$WORK/repo" | cut -f1) + 1024 ))M" "$REPO_IMG"
mke2fs -q -F -t ext4 -O ^has_journal -L burrow-repo -d "$WORK/repo" "$REPO_IMG"
rm -rf "$WORK/repo"
GUEST_REPO=/burrow

# --- kernels: resolve, download, extract ------------------------------------------------------
APT_UPDATED=0
first_dir() { local d; for d in "$@"; do [ -d "$d" ] && { echo "$d"; return 0; }; done; return 0; }
candidate() { apt-cache policy "$1" 2>/dev/null | awk '/Candidate:/ {print $2; exit}'; }
resolve() { # spec -> package name (newest one with a candidate), or nothing
  local spec=$1 re p
  case $spec in
    linux-image-*) [ -n "$(candidate "$spec")" ] && [ "$(candidate "$spec")" != "(none)" ] && echo "$spec"; return 0 ;;
  esac
  re="^linux-image-${spec//./\\.}\\.[0-9]+(-[0-9]+|\\+deb[0-9]+)-amd64\$"
  for p in $(apt-cache pkgnames "linux-image-$spec." 2>/dev/null | grep -E "$re" | sort -rV); do
    local c; c=$(candidate "$p")
    if [ -n "$c" ] && [ "$c" != "(none)" ]; then echo "$p"; return 0; fi
  done
}
cached_for() { # spec [all] -> the newest cached tree of that series (offline fallback), or all
  local spec=$1 d
  for d in $(ls -1d "$CACHE"/linux-image-* 2>/dev/null | sort -rV); do
    [ -f "$d/.kver" ] || continue
    case $(basename "$d") in
      "$spec"_*|linux-image-"$spec".[0-9]*-amd64_*) echo "$d"; [ "${2:-}" = all ] || return 0 ;;
    esac
  done
}
fetch() { # spec -> directory of the extracted package (with .kver and modules.dep)
  local spec=$1 pkg ver dir tmp kver
  pkg=$(resolve "$spec")
  if [ -z "$pkg" ] && [ $APT_UPDATED = 0 ]; then
    log "apt-get update (no package for kernel $spec in the lists)" >&2
    apt-get update -qq >&2 || true
    APT_UPDATED=1
    pkg=$(resolve "$spec")
  fi
  if [ -z "$pkg" ]; then
    dir=$(cached_for "$spec")
    [ -n "$dir" ] && { log "kernel $spec: no package in the apt lists, using the cached $(basename "$dir")" >&2; echo "$dir"; return 0; }
    log "kernel $spec: no linux-image package in the apt lists (apt-cache search linux-image-$spec)" >&2
    return 1
  fi
  ver=$(candidate "$pkg")
  dir="$CACHE/${pkg}_${ver}"
  if [ ! -f "$dir/.kver" ]; then
    tmp=$(mktemp -d "$CACHE/.fetch.$$.XXXXXX")
    log "downloading $pkg $ver" >&2
    (cd "$tmp" && apt-get download -qq -o APT::Sandbox::User=root "$pkg=$ver" >&2) || { rm -rf "$tmp"; return 1; }
    mkdir "$tmp/root"
    dpkg-deb -x "$tmp"/*.deb "$tmp/root"
    local mods; mods=$(first_dir "$tmp"/root/lib/modules/* "$tmp"/root/usr/lib/modules/*)
    [ -n "$mods" ] && [ -n "$(ls "$tmp"/root/boot/vmlinuz-* 2>/dev/null)" ] || { log "$pkg: no kernel or modules inside" >&2; rm -rf "$tmp"; return 1; }
    kver=$(basename "$mods")
    rm -f "$tmp"/*.deb
    # Debian runs depmod in the package's postinst; we never install, so run it on the tree.
    depmod -b "$tmp/root" "$kver"
    echo "$kver" > "$tmp/root/.kver"
    rm -rf "$dir"
    mv "$tmp/root" "$dir"
    rmdir "$tmp"
    # Older trees of the same series are of no further use.
    local old
    for old in $(cached_for "$spec" all); do [ "$old" = "$dir" ] || rm -rf "$old"; done
  fi
  echo "$dir"
}

# --- initramfs ---------------------------------------------------------------------------------
# busybox, scripts/kernels/init.sh as /init, the kernel's modules for virtio-pci, 9p and overlayfs
# (decompressed: busybox insmod reads plain .ko) in dependency order, and the run's settings.
MSIZE=262144
build_initramfs() { # kdir kver probe out
  local kdir=$1 kver=$2 probe=$3 out=$4 moddir rd m n=0
  moddir=$(first_dir "$kdir"/lib/modules/"$kver" "$kdir"/usr/lib/modules/"$kver")
  rd=$(mktemp -d "$WORK/initramfs.XXXXXX")
  mkdir -p "$rd"/{bin,dev,modules,proc,sys}
  cp /bin/busybox "$rd/bin/busybox"
  cp scripts/kernels/init.sh "$rd/init"
  chmod 755 "$rd/init"
  mknod -m 600 "$rd/dev/console" c 5 1
  : > "$rd/modules.list"
  # `modprobe --show-depends` prints "insmod <path>" per module, dependencies first, and
  # "builtin <name>" for what is built in (6.12 builds virtio-pci in; 6.1 has it as modules).
  while read -r kind path _; do
    [ "$kind" = insmod ] || continue
    n=$((n + 1)); m=$(printf '%02d-%s' "$n" "$(basename "$path")")
    case $path in
      *.ko.xz) xz -dc "$path" > "$rd/modules/${m%.xz}"; m=${m%.xz} ;;
      *.ko.zst) zstd -qdc "$path" > "$rd/modules/${m%.zst}"; m=${m%.zst} ;;
      *.ko.gz) gzip -dc "$path" > "$rd/modules/${m%.gz}"; m=${m%.gz} ;;
      *) cp "$path" "$rd/modules/$m" ;;
    esac
    grep -qxF "$m" "$rd/modules.list" || echo "$m" >> "$rd/modules.list"
  done < <(for want in virtio_pci 9pnet_virtio 9p overlay virtio_blk ext4; do
             modprobe -d "$kdir" -S "$kver" --show-depends "$want"
           done | awk '!seen[$0]++')
  # 9p's cache=loose: the share is read-only and nothing in the guest writes through it.
  {
    printf 'KVER=%q\nREPO=%q\nMODDIR=%q\nPROBE=%q\nMSIZE=%q\nCACHE_MODE=loose\n' \
      "$kver" "$GUEST_REPO" "$moddir" "$probe" "$MSIZE"
    printf 'TIERS=%q\nBPF_CASES=%q\nTIER_TIMEOUT=%q\nEXTRA_ENV=%q\nBPFFS=%q\nEXEC=%q\n' \
      "$TIERS" "$BPF_CASES" "$TIER_TIMEOUT" "$EXTRA_ENV" "$BPFFS" "$EXEC"
  } > "$rd/burrow.conf"
  (cd "$rd" && find . -mindepth 1 | busybox cpio -o -H newc 2>/dev/null) > "$out"
  rm -rf "$rd"
}

# --- qemu --------------------------------------------------------------------------------------
# run_vm accel kdir kver initrd serial-log timeout; returns qemu's (timeout's) exit status.
run_vm() {
  local accel=$1 kdir=$2 kver=$3 initrd=$4 serial=$5 limit=$6 cpu tailpid=
  if [ "$accel" = kvm ]; then cpu=${BURROW_KERNEL_CPU:-host}; else cpu=${BURROW_KERNEL_CPU:-max}; accel=tcg,thread=multi; fi
  : > "$serial"
  # no_timer_check: under TCG on a loaded host the kernel's IO-APIC timer check can miss its ticks
  # and panic at boot ("IO-APIC + timer doesn't work!", seen on 6.1 at load ~20).
  nice -n 10 timeout -k 10 "$limit" qemu-system-x86_64 \
    -nodefaults -no-user-config -display none -no-reboot \
    -machine q35 -accel "$accel" -cpu "$cpu" -smp "$SMP" -m "$MEM" \
    -kernel "$kdir/boot/vmlinuz-$kver" -initrd "$initrd" \
    -append "console=ttyS0,115200 loglevel=4 panic=-1 mitigations=off tsc=reliable no_timer_check $APPEND_EXTRA" \
    -fsdev "local,id=root,path=/,security_model=none,readonly=on,multidevs=remap" \
    -device virtio-9p-pci,fsdev=root,mount_tag=root \
    -drive "file=$REPO_IMG,format=raw,if=virtio,snapshot=on,cache=unsafe" \
    -chardev "file,id=serial0,path=$serial" -serial chardev:serial0 \
    -monitor none </dev/null 2>"$serial.qemu" &
  local qpid=$!
  PIDS+=("$qpid")
  if [ "$QUIET" = 0 ] && [ -n "${LABEL:-}" ]; then
    tail -n +1 -F --pid="$qpid" "$serial" 2>/dev/null | tr -d '\r' | sed -u "s/^/[$LABEL] /" &
    tailpid=$!
    PIDS+=("$tailpid")
  fi
  local rc=0
  wait "$qpid" || rc=$?
  # A signal can end the wait early: qemu still runs then, and cleanup must still stop it.
  kill -0 "$qpid" 2>/dev/null && return 130
  [ -z "$tailpid" ] || wait "$tailpid" 2>/dev/null || true
  PIDS=()   # both reaped: never signal a pid that may since belong to someone else
  return $rc
}

# Does KVM boot a guest here? (Nested KVM may hang at kernel entry: then nothing reaches the
# serial line and the probe times out.) 20 s at most, once per run.
probe_kvm() { # kdir kver -> 0 when KVM works
  [ -w /dev/kvm ] || { log "no writable /dev/kvm"; return 1; }
  local rd="$WORK/probe.cpio" ser="$WORK/probe.log" t0 rc=0
  build_initramfs "$1" "$2" 1 "$rd"
  t0=$(date +%s.%N)
  LABEL='' run_vm kvm "$1" "$2" "$rd" "$ser" 20 || rc=$?
  if grep -aq '@@burrow-kernels probe-ok' "$ser"; then
    log "KVM works (probe boot $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}')s)"
    return 0
  fi
  log "KVM does not boot a guest here (probe: exit $rc, $(wc -c < "$ser") bytes of console in 20 s): using TCG"
  return 1
}

# --- main --------------------------------------------------------------------------------------
declare -a K_LABEL K_DIR K_VER
for spec in $KERNELS; do
  if dir=$(fetch "$spec"); then
    K_LABEL+=("$(cat "$dir/.kver")"); K_DIR+=("$dir"); K_VER+=("$(cat "$dir/.kver")")
  else
    K_LABEL+=("$spec"); K_DIR+=(""); K_VER+=("")
  fi
done

accel=$ACCEL
if [ "$accel" = auto ]; then
  accel=tcg
  for i in "${!K_DIR[@]}"; do
    [ -n "${K_DIR[$i]}" ] || continue
    probe_kvm "${K_DIR[$i]}" "${K_VER[$i]}" && accel=kvm
    break
  done
fi
log "kernels: ${K_LABEL[*]}; tiers: $TIERS; BURROW_BPF_CASES=$BPF_CASES; bpffs on /sys/fs/bpf: $([ "$BPFFS" = 1 ] && echo yes || echo no); accel: $accel; ${SMP} vCPUs, ${MEM} MiB; logs in $LOGS"

TOTAL_P=0; TOTAL_F=0
SUMMARY=""
RUN_LOGS=()
set +e   # from here on a grep that finds nothing is an answer, not an error
secs() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.1f", b-a}'; }
for i in "${!K_LABEL[@]}"; do
  label=${K_LABEL[$i]}; kdir=${K_DIR[$i]}; kver=${K_VER[$i]}
  if [ -z "$kdir" ]; then
    SUMMARY+="── $label: not fetched"$'\n'"$label: 0 passed, 1 failed"$'\n'
    TOTAL_F=$((TOTAL_F + 1)); continue
  fi
  serial="$LOGS/$kver.log"
  RUN_LOGS+=("$serial")
  initrd="$WORK/$kver.cpio"
  build_initramfs "$kdir" "$kver" 0 "$initrd"
  # Under TCG a guest kernel can panic where it patches its own code under traffic (docs/kernels.md,
  # "Traps met on the way": `Oops: int3` in the XDP dispatcher, the emulator's view of cross-CPU
  # code modification). Such a guest is booted once more, and the summary says so; a panic in the
  # second boot, and every test failure, counts as it is.
  retried=""
  for attempt in 1 2; do
    log "booting $kver ($(basename "$kdir"), $accel, timeout ${TIMEOUT}s)${retried:+, again}"
    t0=$(date +%s.%N)
    rc=0
    LABEL=$kver run_vm "$accel" "$kdir" "$kver" "$initrd" "$serial" "$TIMEOUT" || rc=$?
    [ "$rc" = 130 ] && exit 130
    wall=$(secs "$t0" "$(date +%s.%N)")
    tr -d '\r' < "$serial" > "$serial.tmp" && mv "$serial.tmp" "$serial"
    [ -s "$serial.qemu" ] && { cat "$serial.qemu" >> "$serial"; } ; rm -f "$serial.qemu"
    panic=$(grep -aoE 'Kernel panic - not syncing.*' "$serial" | head -n 1)
    [ "$attempt" = 1 ] && [ "$accel" = tcg ] && [ -n "$panic" ] || break
    oops=$(grep -aoE '(Oops|BUG|general protection fault)[^[]*' "$serial" | head -n 1)
    mv "$serial" "$serial.panic"
    retried="first boot: ${oops:+$oops; }$panic after ${wall}s under TCG (its console: $(basename "$serial").panic); booted again"
    log "$kver: $retried"
  done

  p=0; f=0; tiers_out=""; failed_out=""
  ready=$(grep -aoE '@@burrow-kernels ready uptime=[0-9.]+' "$serial" | tail -n 1 | sed 's/.*=//')
  done_at=$(grep -aoE '@@burrow-kernels done uptime=[0-9.]+' "$serial" | tail -n 1 | sed 's/.*=//')
  for tier in $TIERS; do
    line=$(grep -aoE "@@burrow-kernels tier $tier rc=[0-9]+ secs=[0-9.]+: [0-9]+ passed, [0-9]+ failed.*" "$serial" | tail -n 1)
    if [ -n "$line" ]; then
      counts=${line#*: }
      tsecs=$(sed -E 's/.* secs=([0-9.]+):.*/\1/' <<<"$line")
      tp=$(sed -E 's/^([0-9]+) passed.*/\1/' <<<"$counts"); tf=$(sed -E 's/^[0-9]+ passed, ([0-9]+) failed.*/\1/' <<<"$counts")
    else
      counts="0 passed, 1 failed"; tsecs="-"; tp=0; tf=1
      failed_out+="    $tier: did not finish"$'\n'
    fi
    p=$((p + tp)); f=$((f + tf))
    tiers_out+="  $tier: $counts ($tsecs s)"$'\n'
    while IFS= read -r t; do
      [ -n "$t" ] && failed_out+="    $tier: $t"$'\n'
    done < <(grep -aoE "@@burrow-kernels failed $tier .*" "$serial" | sed "s|^@@burrow-kernels failed $tier ||" | awk '!seen[$0]++')
  done
  status=""
  if [ -z "$ready" ]; then
    status="did not boot (exit $rc): $(grep -aoE '@@burrow-kernels fail .*|Kernel panic.*' "$serial" | head -n 1)"
    f=$((f > 0 ? f : 1))
  elif [ -z "$done_at" ]; then
    status="did not finish (exit $rc$([ "$rc" = 124 ] && echo ", timed out after ${TIMEOUT}s"))"
  fi
  boot=${ready:--}
  run=$([ -n "$ready" ] && [ -n "$done_at" ] && secs "$ready" "$done_at" || echo -)
  SUMMARY+="── $kver ($(basename "$kdir"), $accel): boot ${boot}s, tests ${run}s, wall ${wall}s${status:+ — $status}"$'\n'
  [ -z "$retried" ] || SUMMARY+="  $retried"$'\n'
  SUMMARY+="$tiers_out"
  [ -z "$failed_out" ] || SUMMARY+="  failed:"$'\n'"$failed_out"
  SUMMARY+="$kver: $p passed, $f failed"$'\n'
  TOTAL_P=$((TOTAL_P + p)); TOTAL_F=$((TOTAL_F + f))
done

printf '\n%s\n' "$SUMMARY"
if [ "$TIERS" != exec ] && [ ${#RUN_LOGS[@]} -gt 0 ]; then
  # The support table from this run (each guest's probed features and tier results) and this machine.
  if node scripts/kernels/support-table.mjs "${RUN_LOGS[@]}" > "$LOGS/support.md"; then
    cat "$LOGS/support.md"; echo
    [ "$UPDATE_README" = 0 ] || node scripts/kernels/support-table.mjs --readme README.md "${RUN_LOGS[@]}"
  else
    echo "test-kernels: the support table could not be made" >&2
  fi
fi
printf 'total: %d passed, %d failed\n' "$TOTAL_P" "$TOTAL_F"
[ "$TOTAL_F" -eq 0 ]
