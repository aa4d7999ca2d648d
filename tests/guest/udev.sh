#!/bin/sh
# tests/guest/udev.sh - the udev rules of udev/ under a real systemd-udevd, in
# the test VM, with dfu.ko already loaded. Run from /payload (guest/check.sh
# does it after the selftests). Prints TAP lines ("ok N - udev: ...",
# "not ok N - ...", "# ..." for details) and exits 1 when a check failed.
#
# It installs the rules where "make install" puts them, starts systemd-udevd
# and stops it again at the end, and starts emulated devices (dfu-emu) with
# the serial numbers UDEV0..UDEV5, and an Apple device in DFU mode (dfu-emu
# --apple) whose serial number is its ROM's identity string. Users: alice (uid 1000, in plugdev) and
# bob (uid 1001, not in plugdev), from the VM's /etc/passwd and /etc/group;
# setpriv runs commands as them.
#
# Least privilege (see "Access" in 60-dfu.rules): the group dfu, which
# "make install" creates with systemd-sysusers, owns every node; the user
# at the seat gets DFU-mode nodes on ports not known to be fixed (the tag
# uaccess). This script creates the group with systemd-sysusers from
# udev/dfu.sysusers.conf (both in the payload) and makes alice a member
# (alice: plugdev and dfu); carol (uid 1002, plugdev only), made here too,
# shows that plugdev alone gives nothing; bob is in neither. The VM runs no
# logind, so for the seat user the tag uaccess is checked (what
# 73-seat-late.rules acts on), not an ACL. Ports: dummy_hcd's own value of
# the USB device's sysfs attribute "removable" is the real branch; the
# VM cannot make a port fixed or removable, so a test-only local rule,
# /etc/udev/rules.d/59-dfu-test-port.rules (it sorts before 60-dfu.rules),
# sets DFU_PORT, the property 60-dfu.rules documents for administrators,
# for the serial numbers UDEVF (fixed) and UDEVR (removable). Before the
# group exists the rules must fail closed: the coldplug device is checked
# to be root's alone then.
#
# The appliance recovery of udev/61-dfu-recovery.rules: there is no systemd
# in the VM, so udev's database and a "udevadm monitor" watcher stand in for
# it to show which nodes would start dfu-recovery@dfuN.service, and
# recovery_test() runs the unit's ExecStart (dfuctl recover) as systemd
# would.
set -eu
cd /payload

work=/tmp/udev-test
rm -rf "$work"
mkdir -p "$work"
chmod 755 "$work"

n=0
failed=0
pids=""	# emulators and the monitor, stopped on exit

ok() {		# ok DESCRIPTION
	n=$((n + 1))
	echo "ok $n - udev: $1"
}
not_ok() {	# not_ok DESCRIPTION
	n=$((n + 1))
	failed=$((failed + 1))
	echo "not ok $n - udev: $1"
}
skip() {	# skip DESCRIPTION REASON
	n=$((n + 1))
	echo "ok $n - udev: $1 # SKIP $2"
}
note() { echo "# udev: $*"; }
# check DESCRIPTION COMMAND...: one TAP line for the command's exit status.
check() {
	d=$1
	shift
	if "$@"; then ok "$d"; else not_ok "$d"; fi
}

# wait_until TENTHS COMMAND...: poll every 0.1 s until COMMAND succeeds;
# fails after TENTHS tries.
wait_until() {
	w=$1
	shift
	while ! "$@"; do
		w=$((w - 1))
		[ "$w" -gt 0 ] || return 1
		sleep 0.1
	done
}

udevd_gone() { ! pidof systemd-udevd >/dev/null; }
settle() {
	udevadm settle --timeout=60 || note "udevadm settle timed out"
}

# node_of SERIAL [MODE]: print dfuN of the node whose USB device has this
# serial (and whose mode attribute is MODE); fail if there is none.
node_of() {
	for d in /sys/class/dfu/dfu*; do
		[ -e "$d/mode" ] || continue
		s=$(cat "$d/device/../serial" 2>/dev/null) || continue
		[ "$s" = "$1" ] || continue
		if [ $# -ge 2 ]; then
			m=$(cat "$d/mode" 2>/dev/null) || continue
			[ "$m" = "$2" ] || continue
		fi
		echo "${d##*/}"
		return 0
	done
	return 1
}
has_node() { node_of "$@" >/dev/null; }
no_node() { ! node_of "$@" >/dev/null; }

# emu_start SERIAL ARGS...: start dfu-emu and wait up to 20 s for its node.
# The UDC may still be held by the device before; then the emulator exits
# at once and is started again. Sets emu_pid.
emu_start() {
	serial=$1
	shift
	tries=0
	while [ $tries -lt 20 ]; do
		./dfu-emu --serial "$serial" --out "$work/$serial.out" \
			--stats "$work/$serial.stats" "$@" 2>"$work/$serial.err" &
		emu_pid=$!
		pids="$pids $emu_pid"
		w=200
		while [ $w -gt 0 ]; do
			has_node "$serial" && return 0
			kill -0 "$emu_pid" 2>/dev/null || break
			w=$((w - 1))
			sleep 0.1
		done
		if kill -0 "$emu_pid" 2>/dev/null; then
			note "no node for $serial after 20 s"
			return 1
		fi
		wait "$emu_pid" 2>/dev/null || true
		tries=$((tries + 1))
		sleep 0.2
	done
	note "dfu-emu --serial $serial keeps exiting: $(cat "$work/$serial.err")"
	return 1
}

# emu_stop PID SERIAL: unplug (SIGTERM) and wait for the node to go away.
emu_stop() {
	kill "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
	wait_until 200 no_node "$2" || note "the node of $2 stays after unplug"
}

finished=no
cleanup() {
	if [ $finished = no ]; then
		not_ok "the script stopped before its end"
		echo "1..$n"
	fi
	for p in $pids; do kill "$p" 2>/dev/null || true; done
	for p in $pids; do wait "$p" 2>/dev/null || true; done
	if [ -S /run/udev/control ]; then
		udevadm control --exit 2>/dev/null || true
	fi
}
trap 'cleanup; [ $finished = yes ] || exit 1' EXIT

# is_link LINK NODE: LINK is a symlink that resolves to /dev/NODE.
is_link() {
	if [ -L "$1" ] && [ "$(readlink -f "$1")" = "/dev/$2" ]; then
		return 0
	fi
	note "$1 -> $(readlink "$1" 2>/dev/null || echo '(none)'), want /dev/$2"
	return 1
}
# wait_link LINK NODE: the same, polled for up to 10 s.
wait_link() { wait_until 100 is_link "$1" "$2" 2>/dev/null || is_link "$1" "$2"; }
gone() { ! [ -e "$1" ] && ! [ -L "$1" ]; }
wait_gone() {
	wait_until 100 gone "$1" && return 0
	note "$1 still there: -> $(readlink "$1" 2>/dev/null)"
	return 1
}

# prop NODE NAME: a property of the node in udev's database.
prop() {
	udevadm info --query=property --name="/dev/$1" | sed -n "s/^$2=//p"
}
prop_is() {	# prop_is NODE NAME VALUE
	v=$(prop "$1" "$2")
	[ "$v" = "$3" ] && return 0
	note "$2 of /dev/$1 is '$v', want '$3'"
	return 1
}
has_tag() {	# has_tag NODE TAG
	case $(prop "$1" TAGS) in
	*:"$2":*) return 0 ;;
	esac
	note "TAGS of /dev/$1: '$(prop "$1" TAGS)', no $2"
	return 1
}
mode_group() {	# mode_group NODE [GROUP]: 0660, owner root, group GROUP (dfu)
	v=$(stat -c '%a %U %G' "/dev/$1")
	[ "$v" = "660 root ${2:-dfu}" ] && return 0
	note "/dev/$1 has mode, owner and group '$v', want '660 root ${2:-dfu}'"
	return 1
}
no_tag() {	# no_tag NODE TAG: neither TAGS nor CURRENT_TAGS has it
	case $(prop "$1" TAGS)/$(prop "$1" CURRENT_TAGS) in
	*:"$2":*) note "TAGS/CURRENT_TAGS of /dev/$1: '$(prop "$1" TAGS)/$(prop "$1" CURRENT_TAGS)', has $2"; return 1 ;;
	esac
	return 0
}
# seat NODE: what 60-dfu.rules gives the user at the seat (ID_DFU_ACCESS=seat
# and the tag uaccess), on top of 0660 root:dfu.
seat() { mode_group "$1" && prop_is "$1" ID_DFU_ACCESS seat && has_tag "$1" uaccess; }
# group_only NODE: root and the group dfu only: no uaccess.
group_only() { mode_group "$1" && prop_is "$1" ID_DFU_ACCESS group && no_tag "$1" uaccess; }
# port_is_sysfs NODE: DFU_PORT is the sysfs attribute removable of the
# node's USB device (no local rule in the way).
port_is_sysfs() {
	r=$(cat "/sys/class/dfu/$1/device/../removable" 2>/dev/null) || r="(none)"
	prop_is "$1" DFU_PORT "$r"
}

# denied USER NODE SERIAL: USER's shell cannot open /dev/NODE for writing
# (EACCES), and nothing reaches the device.
denied() {
	rm -f "$work/$3.out"
	if as "$1" sh -c "cat $image > /dev/$2" 2>"$work/$1.err"; then
		note "$1 wrote /dev/$2"
		return 1
	fi
	grep -q 'Permission denied' "$work/$1.err" && ! [ -e "$work/$3.out" ] && return 0
	note "$1: $(cat "$work/$1.err")"
	return 1
}
# reads USER NODE: USER's shell opens /dev/NODE for reading (a run-time
# node takes no write opens); no_read USER NODE: that open fails, EACCES.
reads() {
	as "$1" sh -c ": < /dev/$2" 2>"$work/$1.err" && return 0
	note "$1: $(cat "$work/$1.err")"
	return 1
}
no_read() {
	if as "$1" sh -c ": < /dev/$2" 2>"$work/$1.err"; then
		note "$1 opened /dev/$2"
		return 1
	fi
	grep -q 'Permission denied' "$work/$1.err" && return 0
	note "$1: $(cat "$work/$1.err")"
	return 1
}
# flashes USER NODE SERIAL: USER flashes /dev/NODE with cat, and the device
# got the image.
flashes() {
	rm -f "$work/$3.out"
	if ! as "$1" sh -c "cat $image > /dev/$2" 2>"$work/$1.err"; then
		note "$1: $(cat "$work/$1.err")"
		return 1
	fi
	cmp "$image" "$work/$3.out"
}

# as USER COMMAND...: run COMMAND as USER with USER's groups from /etc/group.
as() {
	u=$1
	shift
	setpriv --reuid="$u" --regid="$u" --init-groups -- "$@"
}

# The by-path name of a node, as path_id builds it: "...-usb-0:" and the
# interface's sysfs name without its bus number (1-1:1.0 -> usb-0:1:1.0).
path_suffix() {
	intf=$(basename "$(readlink -f "/sys/class/dfu/$1/device")")
	echo "-usb-0:${intf#*-}"
}

# ---------------------------------------------------------------------------
# The monitor that stands in for systemd: every event udev sends after its
# rules, with properties, in one file.
monitor_log=$work/monitor.log

# event_has NODE PID PATTERN: the "add" event that udev sent for /dev/NODE
# of the device with idProduct PID has a line matching PATTERN (grep -x).
# Node names are reused, so the event is picked by both. Events are
# blank-line separated records. Returns 2 when there is no such event.
event_has() {
	awk -v node="/dev/$1" -v pid="$2" '
		function done() {
			if (rec ~ "\nACTION=add\n" && rec ~ "\nDEVNAME=" node "\n" &&
			    rec ~ "\nID_MODEL_ID=" pid "\n") {
				printf "%s", rec
				exit
			}
			rec = ""
		}
		/^$/ { done(); next }
		{ rec = rec "\n" $0 }
		END { rec = rec "\n"; done() }
	' "$monitor_log" >"$work/event"
	if ! [ -s "$work/event" ]; then
		note "no add event of /dev/$1 with ID_MODEL_ID=$2 in the monitor's log"
		return 2
	fi
	grep -qx "$3" "$work/event"
}
no_event_has() {	# no_event_has NODE PID PATTERN: the event has no such line
	st=0
	event_has "$@" || st=$?
	[ $st = 1 ]
}

# ---- recovery as systemd would run it ------------------------------------------
# systemd would now start dfu-recovery@NODE.service: run its ExecStart, with
# %I expanded to NODE, as root, with dfuctl installed as /usr/bin/dfuctl the
# way "make install" installs it and the default /etc/dfu/recovery.conf.
# dfuctl_test checks dfuctl recover's own cases (--config, damaged image);
# this checks the path from the rule to a flashed device.
recovery_run() {	# recovery_run NODE: ExecStart's status; output in $work/recover.out
	cmd=$(sed -n 's/^ExecStart=//p' "udev/dfu-recovery@.service" | sed "s|%I|$1|g")
	# shellcheck disable=SC2086
	$cmd >"$work/recover.out" 2>&1
}
recovery_test() {	# recovery_test NODE SERIAL VID:PID
	mkdir -p /etc/dfu
	cp ./dfuctl /usr/bin/dfuctl
	rec_image=$work/recovery.img
	dd if=./dfu-emu of="$rec_image" bs=1024 skip=200 count=80 2>/dev/null
	# the listed file ends in a DFU suffix for the device; the device gets
	# the image without it
	cp "$rec_image" "$rec_image.dfu"
	./dfuctl suffix add "$rec_image.dfu" --vid "${3%:*}" --pid "${3#*:}" >/dev/null
	sum=$(sha256sum <"$rec_image.dfu" | cut -d' ' -f1)
	out=$work/$2.out
	rm -f "$out"

	# Another serial is listed: the device is left alone.
	echo "$3 image=$rec_image.dfu serial=OTHER sha256=$sum" >/etc/dfu/recovery.conf
	st=0
	recovery_run "$1" || st=$?
	if [ $st = 0 ] && ! [ -e "$out" ] && grep -q 'not listed' "$work/recover.out"; then
		ok "recovery: dfu-recovery@$1.service leaves an unlisted device alone"
	else
		note "exit $st: $(cat "$work/recover.out")"
		not_ok "recovery: dfu-recovery@$1.service leaves an unlisted device alone"
	fi

	# Listed, with the image's SHA-256: flashed.
	{
		echo "# recovery images of this appliance"
		echo "$3 image=$rec_image.dfu serial=$2 sha256=$sum"
	} >/etc/dfu/recovery.conf
	st=0
	recovery_run "$1" || st=$?
	if [ $st = 0 ] && cmp -s "$rec_image" "$out"; then
		ok "recovery: dfu-recovery@$1.service flashes the device recovery.conf lists"
	else
		note "exit $st: $(cat "$work/recover.out")"
		not_ok "recovery: dfu-recovery@$1.service flashes the device recovery.conf lists"
	fi
	rm -rf /etc/dfu /usr/bin/dfuctl
}

# ---- set up: rules where make install puts them, hwdb, users --------------
for f in 60-dfu.rules 61-dfu-recovery.rules; do
	cp "udev/$f" "/usr/lib/udev/rules.d/$f"
	chmod 644 "/usr/lib/udev/rules.d/$f"
done
# A hwdb entry for the key 60-dfu.rules looks up, as a local administrator
# would add one.
mkdir -p /etc/udev/hwdb.d
printf 'dfu:v1209pdf00\n DFU_TEST_HWDB=vendor 1209 product df00\n' \
	>/etc/udev/hwdb.d/99-dfu-test.hwdb
udevadm hwdb --update 2>"$work/hwdb.err" || note "hwdb --update: $(cat "$work/hwdb.err")"

image=$work/image
# 96 KiB of varied bytes, taken from a binary of the payload. Not from
# /dev/urandom: a read of it just as the kernel's crng became ready oopsed
# ("int3" in urandom_read_iter) once in this TCG guest.
dd if=./dfu-emu of="$image" bs=1024 skip=16 count=96 2>/dev/null
chmod 644 "$image"

# ---- users and the group dfu ------------------------------------------------
# The group dfu as "make install" creates it: systemd-sysusers on
# udev/dfu.sysusers.conf. carol and the memberships through sysusers too
# (m: add to a group). Before udevd starts, the group must not exist yet
# (the fail-closed check below needs that).
check "no group dfu before systemd-sysusers" eval '! grep -q "^dfu:" /etc/group'
sysusers=""
if [ -x ./systemd-sysusers ] && [ -f udev/dfu.sysusers.conf ]; then
	sysusers=./systemd-sysusers
else
	note "the payload has no systemd-sysusers or udev/dfu.sysusers.conf (tests/payload.sh copies them)"
fi
make_group() {
	$sysusers "$PWD/udev/dfu.sysusers.conf" 2>"$work/sysusers.err" &&
		printf '%s\n' 'm alice dfu' | $sysusers - 2>>"$work/sysusers.err"
}
grep -q '^carol:' /etc/passwd || {
	echo 'carol:x:1002:1002:carol (in plugdev, not in dfu):/tmp:/bin/sh' >>/etc/passwd
	echo 'carol:x:1002:' >>/etc/group
	sed -i 's/^\(plugdev:x:46:.*\)$/\1,carol/' /etc/group
}

# ---- coldplug: a device present before udevd ------------------------------
emu_start UDEV0 || true
pid0=$emu_pid
node0=$(node_of UDEV0) || node0=none

/lib/systemd/systemd-udevd --daemon
if wait_until 100 test -S /run/udev/control && udevadm control --ping; then
	ok "systemd-udevd $(udevadm --version) runs"
else
	not_ok "systemd-udevd $(udevadm --version) runs"
	exit 1
fi
udevadm monitor --udev --property --subsystem-match=dfu >"$monitor_log" 2>&1 &
pids="$pids $!"
wait_until 100 grep -q '^UDEV' "$monitor_log" || note "the monitor did not start"

t0=$(date +%s%N)
udevadm trigger --action=add
settle
note "coldplug trigger and settle: $((($(date +%s%N) - t0) / 1000000)) ms"
check "coldplug, no group dfu yet: /dev/$node0 is 0660 root:root (the rules fail closed)" \
	mode_group "$node0" root
# Now the group, as make install creates it; udevd resolves group names
# when it loads the rules, so reload them and replay the node's event.
if [ -n "$sysusers" ] && make_group; then
	gid=$(sed -n 's/^dfu:x:\([0-9]*\):.*$/\1/p' /etc/group)
	if [ -n "$gid" ] && [ "$gid" -lt 1000 ]; then
		ok "systemd-sysusers udev/dfu.sysusers.conf: system group dfu (gid $gid)"
	else
		not_ok "systemd-sysusers udev/dfu.sysusers.conf: system group dfu (gid '$gid')"
	fi
else
	[ -z "$sysusers" ] || note "systemd-sysusers: $(cat "$work/sysusers.err")"
	skip "systemd-sysusers udev/dfu.sysusers.conf: system group dfu" \
		"no systemd-sysusers in the payload; the group is written by hand"
	echo 'dfu:x:999:alice' >>/etc/group
fi
check "alice runs with the groups alice, plugdev and dfu, carol with carol and plugdev, bob with bob only" \
	test "$(as alice id -Gn) / $(as carol id -Gn) / $(as bob id -Gn)" = "alice plugdev dfu / carol plugdev / bob"
# udevd resolves group names when it loads its rules, and "udevadm control
# --reload" reloads them only when a rules file changed (seen with udevd
# 252): a group made after udevd started counts once udevd starts again,
# as at the next boot.
udevadm control --reload
udevadm trigger --action=change "/sys/class/dfu/$node0"
settle
note "after a reload without a changed rules file /dev/$node0 is $(stat -c '%a %U:%G' "/dev/$node0")"
udevadm control --exit
wait_until 100 udevd_gone || note "systemd-udevd did not exit"
/lib/systemd/systemd-udevd --daemon
wait_until 100 eval 'udevadm control --ping 2>/dev/null' || note "systemd-udevd did not start again"
udevadm trigger --action=change "/sys/class/dfu/$node0"
settle
check "coldplug: with the group dfu, after a restart of systemd-udevd and a change event, /dev/$node0 is 0660 root:dfu, seat access" \
	seat "$node0"
check "coldplug: /dev/dfu/by-serial/UDEV0 -> /dev/$node0" \
	wait_link /dev/dfu/by-serial/UDEV0 "$node0"
emu_stop "$pid0" UDEV0

# ---- hotplug of a device in DFU mode ---------------------------------------
if emu_start UDEV1; then
	pid1=$emu_pid
	settle
	node1=$(node_of UDEV1)
	ok "UDEV1 plugged in: /dev/$node1"
else
	not_ok "UDEV1 plugged in"
	exit 1
fi
check "/dev/$node1 is 0660 root:dfu" mode_group "$node1"
check "/dev/$node1 has the tag uaccess" has_tag "$node1" uaccess
check "DFU mode on dummy_hcd's port: DFU_PORT=$(cat "/sys/class/dfu/$node1/device/../removable" 2>/dev/null), the USB device's sysfs attribute removable" \
	port_is_sysfs "$node1"
check "DFU mode on dummy_hcd's port: ID_DFU_ACCESS=seat" prop_is "$node1" ID_DFU_ACCESS seat
check "ID_DFU_MODE=dfu" prop_is "$node1" ID_DFU_MODE dfu
check "hwdb entry dfu:v1209pdf00 matched" \
	prop_is "$node1" DFU_TEST_HWDB "vendor 1209 product df00"
check "/dev/dfu/by-id/1209-df00-UDEV1 -> /dev/$node1" \
	wait_link /dev/dfu/by-id/1209-df00-UDEV1 "$node1"
ifnum=$(cat "/sys/class/dfu/$node1/device/bInterfaceNumber")
check "/dev/dfu/by-id/1209-df00-UDEV1-if$ifnum -> /dev/$node1 (bInterfaceNumber $ifnum)" \
	wait_link "/dev/dfu/by-id/1209-df00-UDEV1-if$ifnum" "$node1"
check "/dev/dfu/by-serial/UDEV1 -> /dev/$node1" \
	wait_link /dev/dfu/by-serial/UDEV1 "$node1"
idpath=$(prop "$node1" ID_PATH)
bypath=/dev/dfu/by-path/$idpath
if [ -n "$idpath" ] && [ "${idpath%"$(path_suffix "$node1")"}" != "$idpath" ]; then
	check "$bypath -> /dev/$node1" wait_link "$bypath" "$node1"
else
	not_ok "by-path link of /dev/$node1: ID_PATH '$idpath' does not end in $(path_suffix "$node1")"
fi

# alice is in dfu: she flashes through the by-serial link.
if as alice sh -c "cat $image > /dev/dfu/by-serial/UDEV1" 2>"$work/alice.err"; then
	check "alice (dfu) flashes with cat image > /dev/dfu/by-serial/UDEV1" \
		cmp "$image" "$work/UDEV1.out"
else
	note "$(cat "$work/alice.err")"
	not_ok "alice (dfu) flashes with cat image > /dev/dfu/by-serial/UDEV1"
fi
# bob is not: the shell's open() of the node fails with EACCES.
rm -f "$work/UDEV1.out"
if as bob sh -c "cat $image > /dev/dfu/by-serial/UDEV1" 2>"$work/bob.err"; then
	not_ok "bob (not in dfu) cannot open /dev/dfu/by-serial/UDEV1: he flashed it"
elif grep -q 'Permission denied' "$work/bob.err" && ! [ -e "$work/UDEV1.out" ]; then
	ok "bob (not in dfu) cannot open /dev/dfu/by-serial/UDEV1: $(cat "$work/bob.err")"
else
	not_ok "bob (not in dfu) cannot open /dev/dfu/by-serial/UDEV1: $(cat "$work/bob.err")"
fi
check "carol (plugdev, not dfu) cannot open /dev/$node1 either" denied carol "$node1" UDEV1
# dfuctl, as user tools go: alice flashes with it, bob is told what to do.
if as alice /payload/dfuctl flash --quiet "$image" /dev/dfu/by-serial/UDEV1 2>"$work/alice.err"; then
	check "alice flashes with dfuctl flash IMAGE /dev/dfu/by-serial/UDEV1" \
		cmp "$image" "$work/UDEV1.out"
else
	note "$(cat "$work/alice.err")"
	not_ok "alice flashes with dfuctl flash IMAGE /dev/dfu/by-serial/UDEV1"
fi
rm -f "$work/UDEV1.out"
rc=0
as bob /payload/dfuctl flash --quiet "$image" /dev/dfu/by-serial/UDEV1 2>"$work/bob.err" || rc=$?
if [ $rc = 77 ] && grep -q 'permission denied: install the udev rule 60-dfu.rules' "$work/bob.err" &&
   ! [ -e "$work/UDEV1.out" ]; then
	ok "bob gets exit 77 from dfuctl, naming the udev rule and the group: $(cat "$work/bob.err")"
else
	not_ok "bob gets exit 77 from dfuctl, naming the udev rule and the group (exit $rc): $(cat "$work/bob.err")"
fi

check "recovery: DFU-mode /dev/$node1 wants dfu-recovery@$node1.service" \
	prop_is "$node1" SYSTEMD_WANTS "dfu-recovery@$node1.service"

# ---- unplug -----------------------------------------------------------------
emu_stop "$pid1" UDEV1
settle
for l in "/dev/dfu/by-id/1209-df00-UDEV1" "/dev/dfu/by-id/1209-df00-UDEV1-if$ifnum" \
	/dev/dfu/by-serial/UDEV1 "$bypath"; do
	check "unplugged: $l is gone" wait_gone "$l"
done

# ---- a run-time device, DETACH and re-enumeration in DFU mode --------------
# The driver gives a new node the lowest free number. So that the DFU-mode
# node does not simply get the run-time node's name again (and a link that
# was never updated would still look right), a second device holds the
# lowest number while UDEV2 plugs in and frees it before the DETACH.
filler=""
if [ "${DUMMY_HCD_NUM:-1}" -ge 2 ] && emu_start UDEV9 --udc-device dummy_udc.1; then
	filler=$emu_pid
fi
if emu_start UDEV2 --runtime --pid a001 --dfu-pid a002 --udc-device dummy_udc.0; then
	pid2=$emu_pid
	settle
	rt=$(node_of UDEV2 runtime) || rt=none
	ok "UDEV2 plugged in, run-time mode: /dev/$rt"
else
	not_ok "UDEV2 plugged in, run-time mode"
	exit 1
fi
[ -z "$filler" ] || emu_stop "$filler" UDEV9
check "run-time: ID_DFU_MODE=runtime" prop_is "$rt" ID_DFU_MODE runtime
check "run-time on dummy_hcd's port: /dev/$rt is root's and dfu's only (0660 root:dfu, ID_DFU_ACCESS=group, no uaccess)" \
	group_only "$rt"
check "run-time: DFU_PORT is the sysfs attribute removable" port_is_sysfs "$rt"
check "run-time: alice (dfu) opens /dev/$rt" reads alice "$rt"
check "run-time: carol (plugdev) cannot open /dev/$rt" no_read carol "$rt"
check "run-time: bob cannot open /dev/$rt" no_read bob "$rt"
check "run-time: /dev/dfu/by-serial/UDEV2 -> /dev/$rt" \
	wait_link /dev/dfu/by-serial/UDEV2 "$rt"
check "run-time: /dev/dfu/by-id/1209-a001-UDEV2 -> /dev/$rt" \
	wait_link /dev/dfu/by-id/1209-a001-UDEV2 "$rt"
check "recovery: run-time /dev/$rt wants no service" prop_is "$rt" SYSTEMD_WANTS ""
if dfuctl_out=$(./dfuctl detach /dev/dfu/by-serial/UDEV2 2>&1); then
	ok "dfuctl detach /dev/dfu/by-serial/UDEV2"
else
	not_ok "dfuctl detach /dev/dfu/by-serial/UDEV2: $dfuctl_out"
fi
t0=$(date +%s%N)
if wait_until 200 has_node UDEV2 dfu; then
	settle
	dfu=$(node_of UDEV2 dfu)
	if [ "$dfu" = "$rt" ]; then
		skip "after DETACH: /dev/dfu/by-serial/UDEV2 -> the DFU-mode node" \
			"it got the run-time node's name $rt, so a stale link would pass"
	elif wait_link /dev/dfu/by-serial/UDEV2 "$dfu"; then
		ok "after DETACH: /dev/dfu/by-serial/UDEV2 -> /dev/$dfu (DFU mode, was /dev/$rt)"
	else
		not_ok "after DETACH: /dev/dfu/by-serial/UDEV2 -> /dev/$dfu (DFU mode, was /dev/$rt)"
	fi
	note "DETACH to DFU-mode link: $((($(date +%s%N) - t0) / 1000000)) ms"
else
	dfu=none
	not_ok "after DETACH: UDEV2 came back in DFU mode within 20 s"
fi
check "after DETACH: ID_DFU_MODE=dfu" prop_is "$dfu" ID_DFU_MODE dfu
check "after DETACH: the DFU-mode /dev/$dfu is the seat's too (ID_DFU_ACCESS=seat, uaccess)" \
	seat "$dfu"
check "after DETACH: /dev/dfu/by-id/1209-a002-UDEV2 -> /dev/$dfu" \
	wait_link /dev/dfu/by-id/1209-a002-UDEV2 "$dfu"
check "after DETACH: the run-time /dev/dfu/by-id/1209-a001-UDEV2 is gone" \
	wait_gone /dev/dfu/by-id/1209-a001-UDEV2

# ---- recovery: what systemd would see --------------------------------------
# wants_recovery NODE: the node is tagged for systemd and wants the instance
# of dfu-recovery@.service named after it.
wants_recovery() { has_tag "$1" systemd && prop_is "$1" SYSTEMD_WANTS "dfu-recovery@$1.service"; }
check "recovery: DFU-mode /dev/$dfu has the tag systemd and wants dfu-recovery@$dfu.service" \
	wants_recovery "$dfu"
# A change event (a plain udevadm trigger) keeps the unit's tag current and
# the same SYSTEMD_WANTS, so systemd sees no new device and starts nothing.
udevadm trigger --action=change "/sys/class/dfu/$dfu" || note "no change event for /dev/$dfu"
settle
current_wants() {
	case $(prop "$1" CURRENT_TAGS) in
	*:systemd:*) prop_is "$1" SYSTEMD_WANTS "dfu-recovery@$1.service" ;;
	*) note "CURRENT_TAGS of /dev/$1: '$(prop "$1" CURRENT_TAGS)'"; return 1 ;;
	esac
}
check "recovery: after a change event /dev/$dfu still has the current tag systemd and the same SYSTEMD_WANTS" \
	current_wants "$dfu"
check "recovery: the add event of run-time /dev/$rt has no SYSTEMD_WANTS" \
	no_event_has "$rt" a001 'SYSTEMD_WANTS=.*'
check "recovery: the add event of DFU-mode /dev/$dfu has SYSTEMD_WANTS=dfu-recovery@$dfu.service" \
	event_has "$dfu" a002 "SYSTEMD_WANTS=dfu-recovery@$dfu.service"
# The unit's ExecStart, for the instance udev asks for, names the node.
cmd=$(sed -n 's/^ExecStart=//p' "udev/dfu-recovery@.service" | sed "s|%I|$dfu|g")
check "recovery: dfu-recovery@$dfu.service would run: $cmd" \
	test "$cmd" = "/usr/bin/dfuctl recover /dev/$dfu"
recovery_test "$dfu" UDEV2 1209:a002
emu_stop "$pid2" UDEV2
settle
check "UDEV2 unplugged: /dev/dfu/by-serial/UDEV2 is gone" wait_gone /dev/dfu/by-serial/UDEV2

# ---- two devices with the same serial number --------------------------------
# by-serial points to the one udev added last, and back to the other when
# that one leaves; by-id and by-path tell them apart. Needs two UDCs.
if [ "${DUMMY_HCD_NUM:-1}" -ge 2 ]; then
	emu_start UDEV3 --pid df03 --udc-device dummy_udc.0 || note "no first UDEV3 node"
	pid3a=$emu_pid
	settle
	a=$(node_of UDEV3) || a=none
	# the second device: the node of UDEV3 that is not $a
	other() {
		for x in /sys/class/dfu/dfu*; do
			x=${x##*/}
			[ "$x" != "$a" ] || continue
			[ "$(cat "/sys/class/dfu/$x/device/../serial" 2>/dev/null)" = UDEV3 ] || continue
			echo "$x"
			return 0
		done
		return 1
	}
	two() { other >/dev/null; }
	./dfu-emu --serial UDEV3 --pid df04 --udc-device dummy_udc.1 \
		--out "$work/UDEV3b.out" 2>"$work/UDEV3b.err" &
	pid3b=$!
	pids="$pids $pid3b"
	wait_until 200 two || note "no second UDEV3 node: $(cat "$work/UDEV3b.err")"
	settle
	b=$(other) || b=none
	check "shared serial: by-id/1209-df03-UDEV3 -> /dev/$a, by-id/1209-df04-UDEV3 -> /dev/$b" \
		eval "is_link /dev/dfu/by-id/1209-df03-UDEV3 $a && is_link /dev/dfu/by-id/1209-df04-UDEV3 $b"
	pa=$(prop "$a" ID_PATH) pb=$(prop "$b" ID_PATH)
	check "shared serial: two by-path links, $pa and $pb" \
		eval "[ '$pa' != '$pb' ] && is_link /dev/dfu/by-path/$pa $a && is_link /dev/dfu/by-path/$pb $b"
	check "shared serial: by-serial/UDEV3 -> /dev/$b, the one added last" \
		wait_link /dev/dfu/by-serial/UDEV3 "$b"
	kill "$pid3b" 2>/dev/null || true
	wait "$pid3b" 2>/dev/null || true
	wait_until 200 eval '! two' || note "the second UDEV3 node stays"
	settle
	check "shared serial: by-serial/UDEV3 -> /dev/$a again when /dev/$b leaves" \
		wait_link /dev/dfu/by-serial/UDEV3 "$a"
	emu_stop "$pid3a" UDEV3
	settle
	check "shared serial: by-serial/UDEV3 is gone with the last device" \
		wait_gone /dev/dfu/by-serial/UDEV3
else
	skip "shared serial: by-serial follows the device added last" \
		"needs DUMMY_HCD_NUM >= 2 (is ${DUMMY_HCD_NUM:-1})"
fi

# ---- an appliance's commit policy: DFU_COMMIT from a local rule -------------
# Without a local rule the node keeps the driver's default; with
# SUBSYSTEM=="dfu", ENV{DFU_COMMIT}="suffix" in a rule file that sorts
# before 60-dfu.rules, the node's commit attribute reads "suffix", and then
# an image without a DFU suffix is never manifested while one with it is.
commit_is() {	# commit_is NODE VALUE
	v=$(cat "/sys/class/dfu/$1/commit" 2>/dev/null) || v="(unreadable)"
	[ "$v" = "$2" ] && return 0
	note "/sys/class/dfu/$1/commit is '$v', want '$2'"
	return 1
}
if emu_start UDEV5 --pid df05; then
	settle
	n5=$(node_of UDEV5)
	check "commit: without a local rule /sys/class/dfu/$n5/commit reads close" \
		commit_is "$n5" close
	emu_stop "$emu_pid" UDEV5
else
	not_ok "commit: UDEV5 plugged in"
fi
local_rule=/etc/udev/rules.d/59-dfu-local.rules
mkdir -p /etc/udev/rules.d
echo 'SUBSYSTEM=="dfu", ENV{DFU_COMMIT}="suffix"' >"$local_rule"
udevadm control --reload
if emu_start UDEV5 --pid df05; then
	pid5=$emu_pid
	settle
	n5=$(node_of UDEV5)
	check "commit: with DFU_COMMIT=suffix from $local_rule, /sys/class/dfu/$n5/commit reads suffix" \
		commit_is "$n5" suffix
	rm -f "$work/UDEV5.out"
	if cat "$image" >"/dev/$n5" 2>"$work/commit.err"; then
		not_ok "commit suffix: cat of an image without a DFU suffix fails"
	elif [ -e "$work/UDEV5.out" ]; then
		not_ok "commit suffix: cat of an image without a DFU suffix fails, and nothing is manifested"
	else
		ok "commit suffix: cat of an image without a DFU suffix fails, nothing manifested: $(cat "$work/commit.err")"
	fi
	cp "$image" "$work/image.dfu"
	./dfuctl suffix add "$work/image.dfu" --vid 1209 --pid df05 >/dev/null
	if cat "$work/image.dfu" >"/dev/$n5" 2>"$work/commit.err"; then
		check "commit suffix: cat of the image with a DFU suffix for 1209:df05 flashes it, without the suffix" \
			cmp "$image" "$work/UDEV5.out"
	else
		not_ok "commit suffix: cat of the image with a DFU suffix for 1209:df05 flashes it: $(cat "$work/commit.err")"
	fi
	emu_stop "$pid5" UDEV5
else
	not_ok "commit: UDEV5 plugged in with the local rule"
fi
rm -f "$local_rule"
udevadm control --reload

# ---- ports the VM cannot make: fixed and removable -----------------------------
# dummy_hcd's root hub ports report what they report (checked above); the
# other two values come from a test-only local rule that sets DFU_PORT
# before 60-dfu.rules reads it, as an administrator would for a built-in
# device whose port the firmware does not describe.
port_rule=/etc/udev/rules.d/59-dfu-test-port.rules
cat >"$port_rule" <<'EOR'
# tests/guest/udev.sh only: the port of the emulated devices UDEVF and UDEVR
SUBSYSTEM=="dfu", ATTRS{serial}=="UDEVF", ENV{DFU_PORT}="fixed"
SUBSYSTEM=="dfu", ATTRS{serial}=="UDEVR", ENV{DFU_PORT}="removable"
EOR
udevadm control --reload
if emu_start UDEVF --pid df06; then
	pidF=$emu_pid
	settle
	nF=$(node_of UDEVF)
	check "fixed port (test rule): DFU_PORT=fixed" prop_is "$nF" DFU_PORT fixed
	check "fixed port: the DFU-mode /dev/$nF is root's and dfu's only (0660 root:dfu, ID_DFU_ACCESS=group, no uaccess)" \
		group_only "$nF"
	check "fixed port: alice (dfu) flashes /dev/$nF" flashes alice "$nF" UDEVF
	check "fixed port: carol (plugdev) cannot open /dev/$nF" denied carol "$nF" UDEVF
	check "fixed port: bob cannot open /dev/$nF" denied bob "$nF" UDEVF
	emu_stop "$pidF" UDEVF
else
	not_ok "fixed port: UDEVF plugged in"
fi
if emu_start UDEVR --pid df07 --runtime --dfu-pid df08; then
	pidR=$emu_pid
	settle
	nR=$(node_of UDEVR runtime) || nR=none
	check "removable port (test rule), run-time: DFU_PORT=removable" prop_is "$nR" DFU_PORT removable
	check "removable port, run-time: /dev/$nR is root's and dfu's only (no uaccess)" \
		group_only "$nR"
	emu_stop "$pidR" UDEVR
else
	not_ok "removable port: UDEVR plugged in, run-time mode"
fi
if emu_start UDEVR --pid df07; then
	pidR=$emu_pid
	settle
	nR=$(node_of UDEVR)
	check "removable port (test rule), DFU mode: DFU_PORT=removable" prop_is "$nR" DFU_PORT removable
	check "removable port, DFU mode: /dev/$nR is the seat's too (0660 root:dfu, ID_DFU_ACCESS=seat, uaccess)" \
		seat "$nR"
	check "removable port: alice (dfu) flashes /dev/$nR" flashes alice "$nR" UDEVR
	check "removable port: carol (plugdev) cannot open /dev/$nR" denied carol "$nR" UDEVR
	emu_stop "$pidR" UDEVR
else
	not_ok "removable port: UDEVR plugged in, DFU mode"
fi
rm -f "$port_rule"
udevadm control --reload

# ---- a serial number that is no safe file name ------------------------------
# usb_id's ID_SERIAL_SHORT turns the space and the slash into "_".
odd='UDEV 4/x'
./dfu-emu --serial "$odd" 2>"$work/UDEV4.err" &
pid4=$!
pids="$pids $pid4"
if wait_until 200 has_node "$odd"; then
	settle
	n4=$(node_of "$odd")
	check "serial '$odd': /dev/dfu/by-serial/UDEV_4_x -> /dev/$n4" \
		wait_link /dev/dfu/by-serial/UDEV_4_x "$n4"
else
	not_ok "serial '$odd': a node within 20 s ($(cat "$work/UDEV4.err"))"
fi
emu_stop "$pid4" "$odd"

# ---- an Apple device in DFU mode (dfu-emu --apple, 05ac:1227) ----------------
# Its node gets what every DFU-mode node gets: group, mode, tag, links
# (its serial number is the ROM's identity string, which usb_id turns into
# a file name), ID_DFU_MODE and the recovery service. alice flashes it
# with dfuctl through the by-serial link: the ROM boots the image and
# comes back in recovery mode (05ac:1281), with no node and no links.
apple_serial='CPID:8015 CPRV:11 CPFM:03 SCEP:01 BDID:0E ECID:00000000000ADF00 IBFL:3C SRTG:[iBoot-3332.0.0.1.23]'
# usb_id's ID_SERIAL_SHORT: white space and the brackets become "_"
apple_short='CPID:8015_CPRV:11_CPFM:03_SCEP:01_BDID:0E_ECID:00000000000ADF00_IBFL:3C_SRTG:_iBoot-3332.0.0.1.23_'
./dfu-emu --apple --serial "$apple_serial" --out "$work/apple.out" \
	--stats "$work/apple.stats" 2>"$work/apple.err" &
pidA=$!
pids="$pids $pidA"
if wait_until 200 has_node "$apple_serial"; then
	settle
	nA=$(node_of "$apple_serial")
	ok "Apple DFU mode (05ac:1227) plugged in: /dev/$nA"
	check "Apple DFU mode: /dev/$nA is 0660 root:dfu" mode_group "$nA"
	check "Apple DFU mode: /dev/$nA has the tag uaccess" has_tag "$nA" uaccess
	check "Apple DFU mode: ID_DFU_MODE=dfu" prop_is "$nA" ID_DFU_MODE dfu
	check "Apple DFU mode: ID_SERIAL_SHORT=$apple_short" \
		prop_is "$nA" ID_SERIAL_SHORT "$apple_short"
	check "Apple DFU mode: /dev/dfu/by-id/05ac-1227-$apple_short -> /dev/$nA" \
		wait_link "/dev/dfu/by-id/05ac-1227-$apple_short" "$nA"
	check "Apple DFU mode: /dev/dfu/by-id/05ac-1227-$apple_short-if00 -> /dev/$nA" \
		wait_link "/dev/dfu/by-id/05ac-1227-$apple_short-if00" "$nA"
	check "Apple DFU mode: /dev/dfu/by-serial/$apple_short -> /dev/$nA" \
		wait_link "/dev/dfu/by-serial/$apple_short" "$nA"
	idpathA=$(prop "$nA" ID_PATH)
	if [ -n "$idpathA" ] && [ "${idpathA%"$(path_suffix "$nA")"}" != "$idpathA" ]; then
		check "Apple DFU mode: /dev/dfu/by-path/$idpathA -> /dev/$nA" \
			wait_link "/dev/dfu/by-path/$idpathA" "$nA"
	else
		not_ok "Apple DFU mode: by-path link of /dev/$nA: ID_PATH '$idpathA' does not end in $(path_suffix "$nA")"
	fi
	check "Apple DFU mode: /dev/$nA wants dfu-recovery@$nA.service, as DFU-mode nodes do" \
		prop_is "$nA" SYSTEMD_WANTS "dfu-recovery@$nA.service"
	rc=0
	as bob /payload/dfuctl info "/dev/dfu/by-serial/$apple_short" >/dev/null 2>"$work/bob.err" || rc=$?
	if [ $rc = 77 ]; then
		ok "Apple DFU mode: bob (not in dfu) gets exit 77 from dfuctl info"
	else
		not_ok "Apple DFU mode: bob (not in dfu) gets exit 77 from dfuctl info (exit $rc): $(cat "$work/bob.err")"
	fi
	if as alice /payload/dfuctl flash --quiet "$image" "/dev/dfu/by-serial/$apple_short" \
		2>"$work/alice.err" && grep -q 'booted the image (now in recovery mode, 05ac:1281)' "$work/alice.err"; then
		check "Apple DFU mode: alice (dfu) flashes with dfuctl flash IMAGE /dev/dfu/by-serial/...: booted, the ROM got the image" \
			cmp "$image" "$work/apple.out"
	else
		note "$(cat "$work/alice.err")"
		not_ok "Apple DFU mode: alice (dfu) flashes with dfuctl flash IMAGE /dev/dfu/by-serial/...: booted"
	fi
	settle
	check "Apple recovery mode: no node, and /dev/dfu/by-serial/$apple_short is gone" \
		wait_gone "/dev/dfu/by-serial/$apple_short"
else
	not_ok "Apple DFU mode (05ac:1227): a node within 20 s ($(cat "$work/apple.err"))"
fi
emu_stop "$pidA" "$apple_serial"

# ---- stop udevd -------------------------------------------------------------
finished=yes
trap - EXIT
cleanup
wait_until 100 udevd_gone || note "systemd-udevd did not exit"
echo "1..$n"
[ "$failed" -eq 0 ]
