#!/bin/busybox sh
# /init of the initramfs that scripts/test-kernels.sh builds for each kernel (stage 1, busybox).
# Loads the kernel's own virtio/9p/overlay modules (listed in /modules.list, dependency order),
# mounts the host's root filesystem read-only over virtio-9p (mount tag "root") under an overlayfs
# with a tmpfs upper, bind-mounts the kernel's modules at /lib/modules/<version>, mounts the
# project's snapshot (ext4 on the virtio disk) at $REPO and hands over to stage 2
# (scripts/kernels/guest.sh from the snapshot, run by the host's bash) with switch_root.
# Everything it prints for the runner starts with "@@burrow-kernels ".
/bin/busybox mkdir -p /bin /proc /sys /dev /lower /rw /newroot
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev

say() { echo "@@burrow-kernels $*"; }
# PID 1 must not exit (the kernel panics, which with panic=-1 and -no-reboot also ends qemu, but
# says less): reboot, which ends qemu (-no-reboot); exiting is the fallback.
halt() {
  { echo b > /proc/sysrq-trigger || echo b > /newroot/proc/sysrq-trigger; } 2>/dev/null
  sleep 30; exit 1
}
fail() { say "fail stage1: $*"; halt; }

. /burrow.conf
say "stage1 uptime=$(cut -d' ' -f1 /proc/uptime) kernel=$(uname -r)"
if [ "$PROBE" = 1 ]; then say "probe-ok"; halt; fi

while read -r m; do
  [ -n "$m" ] || continue
  insmod "/modules/$m" || fail "insmod $m"
done < /modules.list

mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=$MSIZE,cache=$CACHE_MODE root /lower \
  || fail "mount -t 9p root (cache=$CACHE_MODE)"
mount -t tmpfs -o mode=0755 tmpfs /rw || fail "tmpfs"
mkdir -p /rw/upper /rw/work
mount -t overlay overlay -o lowerdir=/lower,upperdir=/rw/upper,workdir=/rw/work /newroot \
  || fail "overlayfs over 9p: $(dmesg | grep -i overlay | tail -3)"

# The host has no /lib/modules/<this kernel>: the extracted package tree (on the 9p share) does.
mkdir -p "/newroot/lib/modules/$KVER" || fail "mkdir /lib/modules/$KVER"
mount -o bind "/newroot$MODDIR" "/newroot/lib/modules/$KVER" || fail "bind $MODDIR"

mkdir -p "/newroot$REPO" || fail "mkdir $REPO"
i=0
while [ ! -b /dev/vda ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
mount -t ext4 /dev/vda "/newroot$REPO" || fail "mount the snapshot (/dev/vda) on $REPO"

mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs /newroot/run || fail "tmpfs /run"
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /newroot/tmp || fail "tmpfs /tmp"
cp /burrow.conf /newroot/run/burrow-kernels.conf
for d in dev proc sys; do mount --move "/$d" "/newroot/$d" || fail "move /$d"; done
[ -x "/newroot$REPO/scripts/kernels/guest.sh" ] || [ -f "/newroot$REPO/scripts/kernels/guest.sh" ] \
  || fail "no $REPO/scripts/kernels/guest.sh on the shared root"
exec switch_root /newroot /bin/bash "$REPO/scripts/kernels/guest.sh"
