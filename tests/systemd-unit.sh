#!/bin/bash
# tests/systemd-unit.sh - the sandbox of udev/dfu-recovery@.service, on the
# host (no systemd runs in the test VM): prints TAP lines, exit status 0
# when all pass.
#
#  - systemd-analyze verify prints nothing and exits 0 (an unknown or
#    misspelt key is only a warning there, so its output is checked too).
#    verify wants ExecStart's binary to exist; the installed unit's
#    /usr/bin/dfuctl may not, so a copy of the unit is verified whose
#    ExecStart is this tree's userspace/dfuctl (built here, make -C
#    userspace): nothing else in the copy differs, which the test checks.
#  - systemd-analyze security --offline=true rates the unit below 3 (its
#    "Overall exposure level"). The same parse of a copy without the
#    sandbox must rate it 9 or more, so a parse that reads a wrong number
#    fails, and verify must complain about a copy with a misspelt key.
#  - The unit agrees with the code it sandboxes: DeviceAllow=char-dfu is
#    the name driver/chardev.c registers its character devices under, and
#    every /run path in userspace/ (attempt counters, port locks) lies in
#    the RuntimeDirectory= (ProtectSystem=strict makes every other path
#    read-only) but libudev's /run/udev.
#  - udev/dfu.sysusers.conf makes the system group dfu that 60-dfu.rules
#    names (systemd-sysusers --root on a scratch root), and
#    udev/dfu-tmpfiles.conf makes /run/dfu/lock 1770 root:dfu there.
# Installs Debian's systemd package (tests/debian-packages.sh) if
# systemd-analyze is missing. Usage: tests/systemd-unit.sh
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
unit=udev/dfu-recovery@.service

command -v systemd-analyze >/dev/null ||
	tests/debian-packages.sh systemd-unit systemd
make -s -C userspace dfuctl >/dev/null

work=$(mktemp -d "${TMPDIR:-/tmp}/systemd-unit.XXXXXX")
trap 'rm -rf "$work"' EXIT

n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n - systemd-unit: $1"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - systemd-unit: $1"; }
note() { echo "# systemd-unit: $*"; }

# exposure FILE: the overall exposure level systemd-analyze security gives
# the unit file (a number such as 1.6), or nothing.
exposure() {
	systemd-analyze security --offline=true "$1" 2>"$work/security.err" |
		sed -n 's/^.*Overall exposure level for [^ ]*: \([0-9][0-9]*\.[0-9]\) .*$/\1/p'
}
# below A B: the decimal A is below B (awk: the shell has no decimals)
below() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 < b + 0) }'; }

# ---- systemd-analyze verify -------------------------------------------------
mkdir "$work/verify"
copy=$work/verify/dfu-recovery@.service
sed "s|^ExecStart=/usr/bin/dfuctl |ExecStart=$top/userspace/dfuctl |" "$unit" >"$copy"
if [ "$(diff "$unit" "$copy" | grep -c '^[<>]')" = 2 ] &&
   grep -qx "ExecStart=$top/userspace/dfuctl recover /dev/%I" "$copy"; then
	ok "the verified copy differs from $unit in ExecStart's path only"
else
	not_ok "the verified copy differs from $unit in ExecStart's path only"
	diff "$unit" "$copy" | sed 's/^/# /' || true
fi
# the template, and an instance as udev asks for one
for u in "$copy" "$work/verify/dfu-recovery@dfu0.service"; do
	rc=0
	out=$(systemd-analyze verify "$u" 2>&1) || rc=$?
	if [ $rc = 0 ] && [ -z "$out" ]; then
		ok "systemd-analyze verify ${u##*/}: clean"
	else
		not_ok "systemd-analyze verify ${u##*/}: clean (exit $rc)"
		printf '%s\n' "$out" | sed 's/^/# /'
	fi
done
# the check can fail: a misspelt key makes verify speak
mkdir "$work/bad"
sed 's/^ProtectSystem=/ProtectSystm=/' "$copy" >"$work/bad/dfu-recovery@.service"
out=$(systemd-analyze verify "$work/bad/dfu-recovery@.service" 2>&1) || true
if printf '%s\n' "$out" | grep -q "Unknown key 'ProtectSystm'"; then
	ok "systemd-analyze verify reports a misspelt key (ProtectSystm=) in a copy"
else
	not_ok "systemd-analyze verify reports a misspelt key (ProtectSystm=) in a copy: '$out'"
fi

# ---- systemd-analyze security -----------------------------------------------
level=$(exposure "$unit")
if [ -n "$level" ] && below "$level" 3; then
	ok "systemd-analyze security rates $unit $level, below 3"
else
	not_ok "systemd-analyze security rates $unit '${level:-?}', below 3"
	systemd-analyze security --offline=true "$unit" 2>&1 | grep -v '✓' | sed 's/^/# /' || true
fi
# the unit as it was before its sandbox: [Unit], Type=, ExecStart=,
# TimeoutStartSec= only. The same parse must call it unsafe.
mkdir "$work/bare"
bare=$work/bare/dfu-recovery@.service
sed -n -e '/^\[Unit\]/,/^\[Service\]/p' -e '/^Type=/p' -e '/^ExecStart=/p' \
	-e '/^TimeoutStartSec=/p' "$unit" >"$bare"
blevel=$(exposure "$bare")
if [ -n "$blevel" ] && ! below "$blevel" 9; then
	ok "the same parse rates a copy without the sandbox $blevel, 9 or more"
else
	not_ok "the same parse rates a copy without the sandbox '${blevel:-?}', 9 or more"
	sed 's/^/# /' "$work/security.err"
fi

# ---- the unit and the code it sandboxes ---------------------------------------
chrdev=$(sed -n 's/^.*alloc_chrdev_region([^,]*, *[^,]*, *[^,]*, *"\([^"]*\)").*$/\1/p' driver/chardev.c)
allow=$(sed -n 's/^DeviceAllow=//p' "$unit")
if [ -n "$chrdev" ] && [ "$allow" = "char-$chrdev rw" ] && grep -qx 'DevicePolicy=closed' "$unit"; then
	ok "DevicePolicy=closed, DeviceAllow=$allow: driver/chardev.c registers \"$chrdev\""
else
	not_ok "DevicePolicy=closed, DeviceAllow='$allow' is 'char-<the driver's region name> rw' (driver/chardev.c: '$chrdev')"
fi
# Every /run path in dfuctl's sources (string literals) is libudev's
# /run/udev, which it only reads, or under the RuntimeDirectory=, the only
# writable place ProtectSystem=strict leaves: the attempt counters and the
# port locks dfuctl recover keeps.
rundir=$(sed -n 's/^RuntimeDirectory=//p' "$unit")
paths=$(grep -oh '"/run/[^"]*"' userspace/*.c userspace/*.h | tr -d '"' | sort -u)
bad=""
for p in $paths; do
	case $p in
	/run/udev|/run/udev/*) ;;
	"/run/$rundir"|"/run/$rundir"/*) ;;
	*) bad="$bad $p" ;;
	esac
done
if [ -n "$rundir" ] && [ -n "$paths" ] && [ -z "$bad" ] &&
   grep -qx 'RuntimeDirectoryPreserve=yes' "$unit"; then
	ok "RuntimeDirectory=$rundir (kept) holds every /run path of userspace/ but /run/udev: $(tr '\n' ' ' <<<"$paths")"
else
	not_ok "RuntimeDirectory='$rundir' (kept) holds every /run path of userspace/ but /run/udev; not:$bad"
fi

# ---- the group dfu: udev/dfu.sysusers.conf ------------------------------------
# systemd-sysusers in a scratch root, as make install runs it (no --root
# there, on the installed /usr/lib/sysusers.d/dfu.conf): a system group dfu
# (GID below 1000), nothing else.
root=$work/root
mkdir -p "$root/etc" "$root/usr/lib/sysusers.d"
printf 'root:x:0:\nplugdev:x:46:\n' >"$root/etc/group"
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$root/etc/passwd"
cp udev/dfu.sysusers.conf "$root/usr/lib/sysusers.d/dfu.conf"
rc=0
# (with --root, a file is named as in sysusers.d, found in the root's)
out=$(systemd-sysusers --root="$root" dfu.conf 2>&1) || rc=$?
gid=$(sed -n 's/^dfu:x:\([0-9]*\):$/\1/p' "$root/etc/group")
if [ $rc = 0 ] && [ -n "$gid" ] && [ "$gid" -lt 1000 ] &&
   [ "$(grep -c . "$root/etc/group")" = 3 ] && [ "$(grep -c . "$root/etc/passwd")" = 1 ]; then
	ok "systemd-sysusers udev/dfu.sysusers.conf: the system group dfu (gid $gid), no user"
else
	not_ok "systemd-sysusers udev/dfu.sysusers.conf: the system group dfu (exit $rc, gid '$gid'): $out"
	sed 's/^/# group: /' "$root/etc/group"
fi
rule_group=$(sed -n 's/^GROUP="\([^"]*\)"$/\1/p' udev/60-dfu.rules)
if [ "$rule_group" = dfu ]; then
	ok "60-dfu.rules gives the nodes the group the sysusers file makes (dfu)"
else
	not_ok "60-dfu.rules gives the nodes the group the sysusers file makes (dfu), not '$rule_group'"
fi

# ---- /run/dfu: udev/dfu-tmpfiles.conf, in the same root (its group dfu) ---------
# The port locks' directory: 1770 root:dfu (only root and the group can
# make recovery step aside); the attempt counters root's only.
rc=0
out=$(systemd-tmpfiles --root="$root" --create "$top/udev/dfu-tmpfiles.conf" 2>&1) || rc=$?
modes=$(cd "$root/run" 2>/dev/null &&
	stat -c '%n %a %u:%g' dfu dfu/lock dfu/recover 2>&1 | tr '\n' ';')
if [ $rc = 0 ] && [ "$modes" = "dfu 755 0:0;dfu/lock 1770 0:$gid;dfu/recover 755 0:0;" ]; then
	ok "systemd-tmpfiles udev/dfu-tmpfiles.conf: $modes"
else
	not_ok "systemd-tmpfiles udev/dfu-tmpfiles.conf (exit $rc): '$modes', want dfu/lock 1770 0:$gid: $out"
fi

echo "1..$n"
[ "$failed" = 0 ]
