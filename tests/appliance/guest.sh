#!/bin/sh
# tests/appliance/guest.sh - the checks inside the appliance image that
# tests/appliance.sh builds and boots. It runs as dfu-appliance-test.service
# under systemd (PID 1), after multi-user.target, in an image where the
# project was installed as README.md's "Debian appliance image" section says.
# It plugs emulated DFU-mode devices in (dfu-emu on raw_gadget and
# dummy_hcd) and lets udev and systemd do the rest: 61-dfu-recovery.rules
# starts dfu-recovery@dfuN.service, which runs dfuctl recover with
# /etc/dfu/recovery.conf (written by tests/appliance.sh: the serials GOOD,
# DAMAGED, FOREIGN, LOOP; NOBODY is not listed).
#
# Writes "ok - ..." / "not ok - ..." lines (no numbers: tests/appliance.sh
# numbers them) to /var/lib/dfu-test/result.tap, and the journal of the
# recovery units to /var/lib/dfu-test/recovery.journal; the unit's
# ExecStopPost powers the machine off.
# shellcheck disable=SC2016 # sh -c scripts take their values as "$1"...
set -u
t=/opt/dfu-test
res=/var/lib/dfu-test
work=/run/dfu-test
mkdir -p "$res" "$work"
: >"$res/result.tap"
# shellcheck source=/dev/null
. "$t/expect.env"	# KVER, SRCVERSION: what the host built and installed

ok() { echo "ok - $*" | tee -a "$res/result.tap"; }
not_ok() { echo "not ok - $*" | tee -a "$res/result.tap"; }
note() { echo "# $*" | tee -a "$res/result.tap"; }
check() {	# check DESCRIPTION COMMAND...
	d=$1
	shift
	if "$@"; then ok "$d"; else not_ok "$d"; fi
}
# wait_until TENTHS COMMAND...: poll COMMAND every 0.1 s
wait_until() {
	w=$1
	shift
	while [ "$w" -gt 0 ]; do
		"$@" && return 0
		w=$((w - 1))
		sleep 0.1
	done
	return 1
}

note "uptime at the start of the checks: $(cut -d' ' -f1 /proc/uptime) s"
check "PID 1 is systemd ($(readlink /proc/1/exe))" \
	test "$(readlink /proc/1/exe)" = /usr/lib/systemd/systemd
failed=$(systemctl list-units --failed --plain --no-legend | awk '{print $1}' | tr '\n' ' ')
check "no unit failed during boot${failed:+ (failed: $failed)}" test -z "$failed"

# What make install DESTDIR= and depmod -b left, and what systemd made of it
# at boot (systemd-sysusers, systemd-tmpfiles).
check "modinfo finds dfu.ko in /lib/modules/$KVER/updates/ (depmod -b)" \
	test "$(modinfo -n dfu 2>&1)" = "/lib/modules/$KVER/updates/dfu.ko"
check "the installed dfu.ko is the one built on the host (srcversion $SRCVERSION)" \
	test "$(modinfo -F srcversion dfu 2>&1)" = "$SRCVERSION"
check "systemd-sysusers made the group dfu at boot (/usr/lib/sysusers.d/dfu.conf)" \
	getent group dfu
lock=$(stat -c '%a %U:%G' /run/dfu/lock 2>&1)
check "systemd-tmpfiles made /run/dfu/lock 1770 root:dfu at boot ($lock)" \
	test "$lock" = "1770 root:dfu"
for f in /usr/bin/dfuctl /usr/lib/udev/rules.d/60-dfu.rules \
	/usr/lib/udev/rules.d/61-dfu-recovery.rules \
	/usr/lib/systemd/system/dfu-recovery@.service; do
	check "make install put $f" test -e "$f"
done
# recovery.conf line 4 (DAMAGED) has a wrong sha256= on purpose; line 5
# (FOREIGN) is for the device to refuse: its suffix may name the run-time
# IDs, which only the device tells
dfuctl recover --check >"$work/check.out" 2>&1
st=$?
sed 's/^/#   /' "$work/check.out" | tee -a "$res/result.tap"
check "dfuctl recover --check finds the damaged image of recovery.conf:4 (exit $st, 65)" \
	sh -c '[ "$1" = 65 ] && grep -q "^dfuctl recover: /etc/dfu/recovery.conf:4: image .*SHA-256" "$2" &&
	grep -q ": 1 error$" "$2"' sh "$st" "$work/check.out"
check "dfu.ko is not loaded before a DFU device appears" \
	sh -c '! grep -q "^dfu " /proc/modules'

# The USB side of the rig (not part of the appliance): dummy_hcd of the
# image's own kernel, raw_gadget built on the host for the same release.
if modprobe dummy_hcd && insmod "$t/raw_gadget.ko"; then
	ok "dummy_hcd and raw_gadget loaded"
else
	not_ok "dummy_hcd and raw_gadget loaded"
fi

emu_pid=""
# plug SERIAL: the emulated device in DFU mode (1209:df11) until unplug
plug() {
	rm -f "$work/$1.out" "$work/$1.stats"
	"$t/dfu-emu" --pid df11 --serial "$1" --out "$work/$1.out" \
		--stats "$work/$1.stats" 2>>"$work/$1.err" &
	emu_pid=$!
}
unplug() {
	kill "$emu_pid" 2>/dev/null
	wait "$emu_pid" 2>/dev/null
	wait_until 200 sh -c "! test -e /dev/dfu/by-serial/$1" ||
		note "/dev/dfu/by-serial/$1 stays after unplug"
}
stat_of() { sed -n "s/^$2=//p" "$work/$1.stats" 2>/dev/null; }
node_of() { basename "$(readlink -f "/dev/dfu/by-serial/$1")"; }
unit_logged() {	# unit_logged UNIT CURSOR: the journal has UNIT after CURSOR
	journalctl -q -o cat -u "$1" --after-cursor="$2" 2>/dev/null | grep -q .
}
# unit_done UNIT CURSOR: UNIT ran after CURSOR and stopped, and the journal
# has both systemd's last word on it and dfuctl's (they come to journald by
# two sockets, in either order)
unit_done() {
	journalctl -q -o cat -u "$1" --after-cursor="$2" 2>/dev/null >"$work/unit.log"
	grep -qE 'Deactivated successfully|Failed with result' "$work/unit.log" &&
	grep -qE '^dfuctl recover: .*(: done|: failed|not flashing /dev/dfu[0-9]+|left alone|to retry)$' \
		"$work/unit.log" &&
	case $(systemctl show -p ActiveState --value "$1") in
	inactive|failed) true ;;
	*) false ;;
	esac
}
# run SERIAL: plug it in, wait for its recovery unit to run once, unplug.
# Sets node, unit, st (the unit's exit status), out (the journal of that run).
run() {
	cursor=$(journalctl -q -n0 --show-cursor | sed -n 's/^-- cursor: //p')
	plug "$1"
	node="" unit="" st="" out=""
	if ! wait_until 300 test -e "/dev/dfu/by-serial/$1"; then
		note "no /dev/dfu/by-serial/$1 after 30 s: $(cat "$work/$1.err")"
		unplug "$1"
		return
	fi
	node=$(node_of "$1")
	unit=dfu-recovery@$node.service
	if ! wait_until 200 unit_logged "$unit" "$cursor"; then
		note "$unit did not start within 20 s of /dev/$node"
	elif wait_until 1200 unit_done "$unit" "$cursor"; then
		st=$(systemctl show -p ExecMainStatus --value "$unit")
	else
		note "$unit did not run to its end within 120 s: $(systemctl show -p ActiveState --value "$unit")"
	fi
	out=$(journalctl -q -o cat -u "$unit" --after-cursor="$cursor")
	unplug "$1"
	printf '%s\n' "$out" | sed 's/^/#   /' | tee -a "$res/result.tap"
}
says() { printf '%s\n' "$out" | grep -qF "$1"; }

# 1. A listed device with a good image: flashed, verified, logged.
run GOOD
check "udev loaded dfu.ko for the DFU interface (modalias)" grep -q '^dfu ' /proc/modules
check "GOOD: the udev rule started $unit, which exited 0" test "$st" = 0
check "GOOD: the device holds the image without its DFU suffix (commit = suffix)" \
	cmp -s "$t/good.bin" "$work/GOOD.out"
check "GOOD: the journal says attempt 1 of 3, verify, done" \
	sh -c 'printf "%s\n" "$1" | grep -q "attempt 1 of 3" &&
	       printf "%s\n" "$1" | grep -q "verify: [0-9]* bytes match" &&
	       printf "%s\n" "$1" | grep -q ": done$"' sh "$out"
check "GOOD: one manifestation, an upload (verify)" \
	test "$(stat_of GOOD manifests) $(stat_of GOOD uploads)" = "1 1"

# 2. A wrong image: its SHA-256 differs from recovery.conf's, or its DFU
# suffix names another device. Refused before anything reaches the device.
run DAMAGED
check "DAMAGED (sha256= differs): $unit exited 65 (EX_DATAERR)" test "$st" = 65
check "DAMAGED: not one DNLOAD reached the device" test "$(stat_of DAMAGED dnload_requests)" = 0
check "DAMAGED: the journal says why" says "SHA-256"
run FOREIGN
check "FOREIGN (suffix for 1209:df12): $unit exited 65 (EX_DATAERR)" test "$st" = 65
check "FOREIGN: not one DNLOAD reached the device" test "$(stat_of FOREIGN dnload_requests)" = 0
check "FOREIGN: the journal names the suffix's device" says "1209:df12"

# 3. A device that is not listed: left alone.
run NOBODY
check "NOBODY (not listed): $unit exited 0" test "$st" = 0
check "NOBODY: not one DNLOAD reached the device" test "$(stat_of NOBODY dnload_requests)" = 0
check "NOBODY: the journal says it was left alone" says "left alone"

# 4. A device that keeps coming back in DFU mode (its new firmware does not
# start): flashed three times this boot, then left alone.
for i in 1 2 3 4; do
	run LOOP
	m=$(stat_of LOOP manifests)
	if [ "$i" -le 3 ]; then
		check "LOOP, plug $i: flashed (exit $st, manifests $m), attempt $i of 3" \
			sh -c '[ "$1" = 0 ] && [ "$2" = 1 ] && printf "%s\n" "$3" | grep -q "attempt $4 of 3"' \
			sh "$st" "$m" "$out" "$i"
	else
		check "LOOP, plug 4: not flashed (exit $st: 75 EX_TEMPFAIL, dnload requests $(stat_of LOOP dnload_requests))" \
			test "$st $(stat_of LOOP dnload_requests)" = "75 0"
		check "LOOP, plug 4: the journal says it was flashed 3 times since boot" \
			says "was flashed 3 times since boot"
	fi
done

# 5. All of it is in the journal, as an operator reads it.
journalctl -q -o short-monotonic -u 'dfu-recovery@*' >"$res/recovery.journal" 2>&1
check "journalctl -u 'dfu-recovery@*' has every run: 4 flashes done, 2 images refused, 1 device left alone, 1 over the limit" \
	sh -c 'j=$1; [ "$(grep -c ": done$" "$j")" = 4 ] &&
	       grep -q "SHA-256 differs" "$j" && grep -q "the image is for 1209:df12" "$j" &&
	       grep -q "left alone" "$j" && grep -q "flashed 3 times" "$j"' sh "$res/recovery.journal"

# 6. The kernel said nothing bad.
bad='(^|[^[:alnum:]_])(BUG|WARNING)([^[:alnum:]_]|$)|Oops|general protection'
bad="$bad|use-after-free|hung_task|blocked for more than"
if dmesg | grep -E "$bad" >"$work/bad"; then
	sed 's/^/#   /' "$work/bad" | tee -a "$res/result.tap"
	not_ok "no BUG, WARNING or Oops in the kernel log"
else
	ok "no BUG, WARNING or Oops in the kernel log"
fi
dmesg >"$res/dmesg"
note "uptime at the end of the checks: $(cut -d' ' -f1 /proc/uptime) s"
echo "done" >"$res/finished"
sync
