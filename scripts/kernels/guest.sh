#!/bin/bash
# Stage 2 inside the VMs of scripts/test-kernels.sh: PID 1 after switch_root, run by the host's own
# bash from the shared (read-only, overlaid) root. Mounts what the tests need, runs each tier with
# scripts/run-tests.mjs, reports to the serial console and reboots (qemu runs with -no-reboot, so
# that ends it). Lines for the runner start with "@@burrow-kernels ":
#   ready uptime=<s>                                   the tests can start (boot time)
#   tier <tier> rc=<n> secs=<s>: <N passed, N failed>  a tier's closing line (when it timed out
#                                                      or closed on none: the tests it reported
#                                                      as passed, those as failed, plus 1)
#   failed <tier> <test title>                         each failed test of a tier
#   done uptime=<s>
set -u
. /run/burrow-kernels.conf

say() { printf '@@burrow-kernels %s\n' "$*"; }
uptime_s() { cut -d' ' -f1 /proc/uptime; }
off() { sync; echo b > /proc/sysrq-trigger; sleep 30; exit 1; }

mkdir -p /dev/pts /dev/shm
mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts /dev/pts
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /dev/shm
[ -e /dev/fd ] || ln -s /proc/self/fd /dev/fd
if [ "$BPFFS" = 1 ]; then
  mount -t bpf -o mode=0700 bpf /sys/fs/bpf || say "warn: bpffs not mounted on /sys/fs/bpf"
fi
mount -t cgroup2 cgroup2 /sys/fs/cgroup 2>/dev/null || true
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null || true
mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null || true
mkdir -p /run/netns /var/tmp 2>/dev/null

export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root TMPDIR=/tmp LANG=C.UTF-8 TERM=dumb NO_COLOR=1 FORCE_COLOR=0
export BURROW_BPF_CASES="$BPF_CASES"
# The e2e lab waits this long for each agentd's "agentd ready" (src/lab/agents.ts; 20 s by
# default), and at least this long for anything a working system does (patient() in
# src/lab/sh.ts): under TCG agentd's imports alone take 10-20 s, a lab starts three at once, and
# on a busy host (load 12 on 2 cores) 180 s was not enough for an etcd lab's three agentd.
export BURROW_LAB_READY_MS=360000
# The demo test's bound on the whole demo (90 s on a host; its TCP transfers crawl under TCG, and
# on a busy host it ran past 15 min). Must stay below ava's --timeout below.
export BURROW_DEMO_TIMEOUT_MS=1500000
for kv in $EXTRA_ENV; do export "${kv?}"; done

ip link set lo up
hostname "burrow-$(uname -r | cut -d- -f1)" 2>/dev/null || true
# Modules load on demand through /sbin/modprobe (the host's kmod, over our modules.dep): veth,
# vxlan, ipip, sch_ingress, cls_bpf, nf_tables... No udev here, so nothing else loads by itself.
[ -x /sbin/modprobe ] || say "warn: no /sbin/modprobe (kmod): modules will not load on demand"

say "info kernel=$(uname -r) cpus=$(nproc) mem=$(awk '/MemTotal/{print int($2/1024)"MiB"}' /proc/meminfo) bpf_cases=$BPF_CASES"
say "ready uptime=$(uptime_s)"

run_tiers() {
  cd "$REPO" || { say "fail stage2: no $REPO"; return; }
  local tier start end rc line log
  # What this kernel offers, probed: the support table's rows (scripts/kernels/support-table.mjs).
  timeout 300 node dist/scripts/kernel-features.js --lines 2>&1 </dev/null | while IFS= read -r l; do say "$l"; done
  for tier in $TIERS; do
    log="/tmp/tier-${tier//\//_}.log"
    say "tier-start $tier uptime=$(uptime_s)"
    start=$(uptime_s)
    if [ "$tier" = exec ]; then
      timeout -k 20 "$TIER_TIMEOUT" bash -c "$EXEC" </dev/null 2>&1 | tee "$log"
      rc=${PIPESTATUS[0]}
      [ "$rc" = 0 ] && echo "1 passed, 0 failed" >> "$log" || echo "0 passed, 1 failed" >> "$log"
    else
      # ava's 120 s without a test result (package.json) is too short for one e2e test under TCG.
      # It must exceed every test's own bound (the demo's, above): when ava's timeout fires, its
      # TAP reporter (ava 7.0.0) throws in dumpError and the whole tier ends as "0 passed, 1 failed".
      timeout -k 20 "$TIER_TIMEOUT" node scripts/run-tests.mjs --timeout=30m "dist/test/$tier" </dev/null 2>&1 | tee "$log"
      rc=${PIPESTATUS[0]}
    fi
    end=$(uptime_s)
    line=$(grep -aE '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)
    if [ -z "$line" ]; then
      # What run-tests.mjs printed before it was stopped, and the stop as one failure more.
      line="$(grep -ac '^  ✔ ' "$log") passed, $(( $(grep -ac '^  ✘ ' "$log") + 1 )) failed"
      grep -a '^  ✘ ' "$log" | sed 's/^  ✘ //' | while IFS= read -r t; do say "failed $tier $t"; done
      if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then say "failed $tier (timed out after ${TIER_TIMEOUT}s)"
      else say "failed $tier (no closing line, exit $rc)"; fi
    fi
    # run-tests.mjs lists the failed titles after "Failed:".
    sed -n '/^Failed:$/,/^$/s/^  - //p' "$log" | while IFS= read -r t; do say "failed $tier $t"; done
    say "tier $tier rc=$rc secs=$(awk -v a="$start" -v b="$end" 'BEGIN{printf "%.1f", b-a}'): $line"
  done
}

# PID 1 reaps orphans: bash collects any child (adopted ones too) while it waits.
run_tiers &
wait $!
say "done uptime=$(uptime_s)"
off
