#!/bin/bash
# Usage: tests/vm/run.sh [--mem MB] [--timeout SEC] [--log FILE] PAYLOAD_DIR [ARGS...]
#
# Boots Debian's 6.12 kernel in QEMU with a busybox initramfs, loads
# usb-common, usbcore, udc-core, dummy_hcd (num=$DUMMY_HCD_NUM, default 1) and
# raw_gadget, then runs PAYLOAD_DIR/run ARGS... as /payload/run (cwd /payload).
# The run fails when the payload fails or the kernel log shows BUG, WARNING,
# Oops, KASAN, use-after-free, general protection or hung-task reports.
# Exit status: the payload's (or 1 for a bad kernel log); 124 on timeout;
# 125 when the guest stopped without reporting (e.g. a kernel panic). A
# guest that stops before the payload starts is booted again (three boots
# in all), which stderr tells.
#
# The guest sees the environment variables DFU_* and DUMMY_HCD_NUM of the
# caller. In the guest /bin/sh is dash, /bin/bash is bash, and cat, dd,
# date, sha256sum, cmp, timeout, stat, stdbuf, env are the host's GNU binaries;
# setpriv is util-linux's; udevadm is systemd's, also as
# /lib/systemd/systemd-udevd, which no one starts but a payload that wants it
# (tests/guest/udev.sh). /etc/passwd and /etc/group have root, the group
# plugdev (46), alice (1000, in plugdev) and bob (1001, not in plugdev);
# tests/guest/udev.sh adds the group dfu (systemd-sysusers, alice in it)
# and carol (1002, in plugdev only).
# Every other command is a busybox applet. Build test programs -static.
# DFU_VM_USERLAND=busybox: a guest of busybox alone (Debian's
# busybox-static): /bin/sh and every command are busybox applets; no dash,
# bash, GNU binaries, setpriv or udevadm (tests/busybox.sh).
# Extra kernel parameters: DFU_VM_APPEND="...". KVM: DFU_VM_ACCEL=kvm.
#
# DFU_VM_ARCH=arm64: Debian's arm64 6.12 kernel in qemu-system-aarch64
# (-M virt, TCG, Cortex-A57) instead, with a userland of busybox alone
# (implies DFU_VM_USERLAND=busybox) whose busybox is Debian's arm64
# busybox-static, and the arm64 image's modules and raw_gadget.ko, as
# tests/arm64.sh fetches and builds them and names them in
# build/arm64/vm.env. The payload's programs must be static aarch64 ones.
#
# DFU_VM_KERNEL=debug boots the debug kernel of tests/kernel/build.sh
# instead (KASAN, lockdep, UBSAN, kmemleak, debug objects, hung-task
# detection; USB, dummy_hcd and raw_gadget built in, so only dfu.ko is a
# module). Its kernel log is judged the same way, plus the reports of those
# checkers; kmemleak is cleared before the payload and scanned after it
# (after the payload's rmmod), and any unreferenced object fails the run.
set -eu

usage() { sed -n 2p "$0" | sed 's/^# //' >&2; exit 2; }

mem=2048
timeout=300
log=""
while [ $# -gt 0 ]; do
	case $1 in
	--mem) mem=${2:?}; shift 2 ;;
	--timeout) timeout=${2:?}; shift 2 ;;
	--log) log=${2:?}; shift 2 ;;
	-h|--help) usage ;;
	--) shift; break ;;
	-*) usage ;;
	*) break ;;
	esac
done
[ $# -ge 1 ] || usage
payload=$1
shift
[ -x "$payload/run" ] || { echo "vm: $payload/run is missing or not executable" >&2; exit 2; }

here=$(cd "$(dirname "$0")" && pwd)
top=$(git -C "$here" rev-parse --show-toplevel 2>/dev/null || (cd "$here/../.." && pwd))
"$here/setup.sh"
# shellcheck source=/dev/null
. "$top/build/vm.env"
kernel=${DFU_VM_KERNEL:-debian}
userland=${DFU_VM_USERLAND:-gnu}
arch=${DFU_VM_ARCH:-x86_64}
case $arch in
x86_64) ;;
arm64)
	[ -r "$top/build/arm64/vm.env" ] ||
		{ echo "vm: no build/arm64/vm.env: run tests/arm64.sh first" >&2; exit 2; }
	[ "$kernel" = debian ] || { echo "vm: DFU_VM_ARCH=arm64 boots Debian's kernel only" >&2; exit 2; }
	[ "${DFU_VM_ACCEL:-tcg}" = tcg ] || { echo "vm: DFU_VM_ARCH=arm64 runs under TCG only" >&2; exit 2; }
	userland=busybox
	# shellcheck source=/dev/null
	. "$top/build/arm64/vm.env"
	VMLINUZ=$ARM64_VMLINUZ
	KMODDIR=$ARM64_KMODDIR
	RAW_GADGET_KO=$ARM64_RAW_GADGET_KO
	;;
*) echo "vm: DFU_VM_ARCH=$arch: want x86_64 or arm64" >&2; exit 2 ;;
esac
case $userland in
gnu|busybox) ;;
*) echo "vm: DFU_VM_USERLAND=$userland: want gnu or busybox" >&2; exit 2 ;;
esac
case $kernel in
debian) ;;
debug)
	[ -r "$top/build/kernel.env" ] ||
		{ echo "vm: no build/kernel.env: run tests/kernel/build.sh first" >&2; exit 2; }
	# shellcheck source=/dev/null
	. "$top/build/kernel.env"
	VMLINUZ=$DEBUG_VMLINUZ
	;;
*) echo "vm: DFU_VM_KERNEL=$kernel: want debian or debug" >&2; exit 2 ;;
esac

vmdir=$top/build/vm
mkdir -p "$vmdir"
log=${log:-$vmdir/console.log}
tmp=$(mktemp -d "$vmdir/tmp.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# Single-quote a string for the guest shell.
q() { printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")"; }

# --- guest init ------------------------------------------------------------------
write_init() {
	cat <<'EOF'
#!/bin/busybox sh
export PATH=/usr/sbin:/usr/bin HOME=/root
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run
mount -t debugfs debugfs /sys/kernel/debug
rc=0
if [ -r /etc/dfu-vm.conf ]; then
	. /etc/dfu-vm.conf
else
	echo "vm: no /etc/dfu-vm.conf: the kernel did not unpack the payload archive"
	rc=1
fi

# (the debug kernel has them built in, and no /lib/modules/vm/)
[ $rc != 0 ] || [ ! -d /lib/modules/vm ] ||
for m in usb-common usbcore udc-core "dummy_hcd num=${DUMMY_HCD_NUM:-1}" raw_gadget; do
	set -- $m
	if ! insmod "/lib/modules/vm/$1.ko" $2; then
		echo "vm: insmod $m failed"
		rc=1
		break
	fi
done

if [ $rc = 0 ]; then
	kmemleak=/sys/kernel/debug/kmemleak
	[ ! -w $kmemleak ] || echo clear >$kmemleak
	echo "vm: payload starts at $(cut -d' ' -f1 /proc/uptime)s uptime"
	cd /payload
	eval "set -- $ARGS"
	/usr/bin/timeout -k 10 "$PAYLOAD_TIMEOUT" ./run "$@" </dev/null
	rc=$?
	cd /
	echo "vm: payload exit status $rc at $(cut -d' ' -f1 /proc/uptime)s uptime"
	if [ $rc = 124 ]; then
		echo "vm: payload timed out after ${PAYLOAD_TIMEOUT}s; blocked tasks in dmesg"
		echo w >/proc/sysrq-trigger
	fi
fi

# kmemleak reports objects older than 5 s that two scans found unreferenced
if [ -w "${kmemleak:-/nonexistent}" ]; then
	sleep 6
	echo scan >$kmemleak
	echo scan >$kmemleak
	cat $kmemleak >/tmp/leaks
	echo "vm: kmemleak: $(grep -c "^unreferenced object" /tmp/leaks) unreferenced objects after the payload"
fi
bad='(^|[^[:alnum:]_])(BUG|WARNING)([^[:alnum:]_]|$)|Oops|general protection'
bad="$bad|use-after-free|KASAN|UBSAN|hung_task|blocked for more than"
bad="$bad|possible circular locking|inconsistent lock state|suspicious RCU usage"
bad="$bad|possible recursive locking|ODEBUG|list_(add|del) corruption|suspected memory leak"
if dmesg | grep -E "$bad" >/tmp/bad || [ -s /tmp/leaks ]; then
	echo "vm: ===== kernel log problems ====="
	cat /tmp/bad
	[ ! -s /tmp/leaks ] || cat /tmp/leaks
	echo "vm: ===== end of kernel log problems ====="
	[ $rc != 0 ] || rc=1
fi
echo "vm: ===== dmesg begin ====="
dmesg
echo "vm: ===== dmesg end ====="
echo "DFU-VM-EXIT $rc"
stty onlcr	# TCSADRAIN: wait until the console has sent everything
poweroff -f
EOF
}

# --- users and groups of the guest ---------------------------------------------------
write_users() {
	cat >"$1/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
alice:x:1000:1000:alice (in plugdev):/tmp:/bin/sh
bob:x:1001:1001:bob (not in plugdev):/tmp:/bin/sh
EOF
	cat >"$1/group" <<'EOF'
root:x:0:
plugdev:x:46:alice
alice:x:1000:
bob:x:1001:
EOF
	printf 'passwd: files\ngroup: files\nshadow: files\n' >"$1/nsswitch.conf"
}

# --- base initramfs (cached; rebuilt when its inputs change) -----------------------
base=$vmdir/base-$kernel.cpio
[ "$userland" = gnu ] || base=$vmdir/base-$kernel-$userland.cpio
[ "$arch" = x86_64 ] || base=$vmdir/base-$kernel-$userland-$arch.cpio
# Copy the shared libraries ldd lists for $1 into the staging dir $st.
copy_libs() {
	local lib
	for lib in $(ldd "$1" | awk '$2 == "=>" && $3 ~ /^\// { print $3 }
				     $1 ~ /^\// { print $1 }'); do
		[ -e "$st$lib" ] && continue
		mkdir -p "$st$(dirname "$lib")"
		cp -L "$lib" "$st$lib"
	done
}
build_base() {
	local b d p
	st=$tmp/base
	mkdir -p "$st"/usr/bin "$st"/usr/sbin "$st"/usr/lib "$st"/usr/lib64 \
		"$st"/usr/libexec/coreutils "$st"/dev "$st"/proc "$st"/sys "$st"/tmp \
		"$st"/run "$st"/etc "$st"/root "$st"/payload
	for d in bin sbin lib lib64; do ln -s "usr/$d" "$st/$d"; done
	write_init >"$st/init"
	chmod 755 "$st/init"
	[ "$(id -u)" != 0 ] || mknod -m 600 "$st/dev/console" c 5 1

	# Host binaries (with their libraries) that win over busybox applets.
	if [ "$userland" = gnu ]; then
		cp /usr/libexec/coreutils/libstdbuf.so "$st/usr/libexec/coreutils/"
		for b in cat dd date sha256sum cmp timeout stat stdbuf env dash bash; do
			b=$(command -v "$b")
			cp -L "$b" "$st/usr/bin/"
			copy_libs "$b"
		done
		copy_libs /usr/libexec/coreutils/libstdbuf.so
		ln -s dash "$st/usr/bin/sh"

		# setpriv runs a command as another user; systemd-udevd is udevadm
		# called by that name. Rules, hwdb and the daemon's start are the
		# payload's business: the base VM runs no udevd.
		for b in /usr/bin/setpriv /usr/bin/udevadm; do
			cp -L "$b" "$st/usr/bin/"
			copy_libs "$b"
		done
		mkdir -p "$st/usr/lib/systemd" "$st/usr/lib/udev/rules.d" "$st/etc/udev/rules.d"
		ln -s ../../bin/udevadm "$st/usr/lib/systemd/systemd-udevd"
	fi
	write_users "$st/etc"

	# busybox and its applet links (existing files are kept). The arm64
	# busybox cannot run here: the host's busybox-static, of the same
	# Debian source and version (tests/arm64.sh checks), lists the applets.
	if [ "$arch" = x86_64 ]; then
		cp "$(command -v busybox)" "$st/usr/bin/busybox"
	else
		cp "$ARM64_BUSYBOX" "$st/usr/bin/busybox"
	fi
	for p in $("$(command -v busybox)" --list-full); do
		[ -e "$st/$p" ] || [ -L "$st/$p" ] || ln -s /usr/bin/busybox "$st/$p"
	done

	# Modules, decompressed for busybox insmod (built into the debug kernel).
	if [ "$kernel" = debian ]; then
		mkdir -p "$st/usr/lib/modules/vm"
		for p in common/usb-common core/usbcore gadget/udc/udc-core gadget/udc/dummy_hcd; do
			xz -dc "$KMODDIR/kernel/drivers/usb/$p.ko.xz" >"$st/usr/lib/modules/vm/${p##*/}.ko"
		done
		cp "$RAW_GADGET_KO" "$st/usr/lib/modules/vm/"
	fi

	(cd "$st" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) >"$st.cpio"
	mv -f "$st.cpio" "$base"
}
if ! [ "$base" -nt "$0" ] || ! [ "$base" -nt "$top/build/vm.env" ] ||
   ! [ "$base" -nt "$RAW_GADGET_KO" ] ||
   { [ "$arch" = arm64 ] && ! [ "$base" -nt "$top/build/arm64/vm.env" ]; }; then
	build_base
fi

# --- per-run part: payload and configuration ---------------------------------------
run=$tmp/run
mkdir -p "$run/root/payload" "$run/root/etc"
cp -RL "$payload/." "$run/root/payload/"
# Dynamically linked payload programs (dfuctl: libudev) get their libraries,
# under /usr: in the base image /lib and /lib64 are symlinks into it, which a
# directory of the same name in this archive would replace.
for f in "$payload"/*; do
	[ "$arch" = x86_64 ] || break	# (static aarch64 programs)
	[ -f "$f" ] && [ -x "$f" ] && ldd "$f" >/dev/null 2>&1 || continue
	for lib in $(ldd "$f" | awk '$2 == "=>" && $3 ~ /^\// { print $3 }'); do
		d=$run/root/usr${lib#/usr}
		mkdir -p "$(dirname "$d")"
		cp -L "$lib" "$d"
	done
done

ptimeout=$((timeout > 90 ? timeout - 30 : timeout * 2 / 3))
{
	args=""
	for a in "$@"; do args="$args $(q "$a")"; done
	echo "ARGS=$(q "$args")"
	echo "PAYLOAD_TIMEOUT=$ptimeout"
	for n in $(compgen -e); do
		case $n in
		DFU_*|DUMMY_HCD_NUM) echo "export $n=$(q "${!n}")" ;;
		esac
	done
} >"$run/root/etc/dfu-vm.conf"
(cd "$run/root" && find . | cpio -o -H newc -R 0:0 --quiet) >"$run/payload.cpio"
cat "$base" "$run/payload.cpio" >"$run/initrd.cpio"

# --- boot --------------------------------------------------------------------------
# dummy_hcd is built into the debug kernel: its num= comes on the command line
append=""
[ "$kernel" = debian ] || append="dummy_hcd.num=${DUMMY_HCD_NUM:-1}"
case ${DFU_VM_ACCEL:-tcg} in
kvm) accel="-accel kvm -cpu host" ;;
*) accel="-accel ${DFU_VM_ACCEL:-tcg}" ;;
esac
# the machine, and its console and extra kernel parameters
if [ "$arch" = x86_64 ]; then
	# shellcheck disable=SC2206 # $accel is two or four words
	qemu=(qemu-system-x86_64 -machine q35 $accel)
	cmdline="console=ttyS0 panic=-1 no_timer_check"
else
	qemu=(qemu-system-aarch64 -machine virt -accel tcg -cpu cortex-a57)
	cmdline="console=ttyAMA0 panic=-1"
fi

# Drop CRs, NULs and the terminal escapes SeaBIOS sends; stay unbuffered.
clean() { sed -u -e 's/\r$//' -e 's/\x00//g' -e 's/\x1b\[[0-9;?]*[A-Za-z]//g' -e 's/\x1bc//g'; }

# A guest that stops before the payload starts has not run any of the
# project's code yet (say, an early-boot panic of a starved TCG guest): it
# is booted again, up to three boots in all, and each failed boot is told
# on stderr with the end of its console output. The log keeps every boot.
: >"$log"
start=$(date +%s.%N)
for boot in 1 2 3; do
	: >"$tmp/boot.log"	# this boot's console; $log keeps every boot
	set +e
	timeout -k 5 "$timeout" "${qemu[@]}" -m "$mem" -smp 2 \
		-nographic -no-reboot -nic none \
		-kernel "$VMLINUZ" -initrd "$run/initrd.cpio" \
		-append "$cmdline quiet loglevel=4 $append ${DFU_VM_APPEND:-}" \
		</dev/null 2>&1 | clean | tee -a "$log" "$tmp/boot.log"
	qrc=${PIPESTATUS[0]}
	set -e
	code=$(grep -a -o 'DFU-VM-EXIT [0-9]*' "$tmp/boot.log" | tail -n1 | cut -d' ' -f2)
	[ -z "$code" ] || break
	if [ "$qrc" = 124 ] || [ "$qrc" = 137 ]; then
		echo "vm: TIMEOUT: no result after ${timeout}s (log: $log)" >&2
		exit 124
	fi
	if grep -a -q '^vm: payload starts' "$tmp/boot.log"; then
		break
	fi
	echo "vm: boot $boot stopped before the payload started (qemu status $qrc); its last lines:" >&2
	tail -n 25 "$tmp/boot.log" | sed 's/^/vm: | /' >&2
done
elapsed=$(echo "$(date +%s.%N) - $start" | bc)

if [ -z "$code" ]; then
	echo "vm: FAILED: guest stopped without DFU-VM-EXIT marker (qemu status $qrc: QEMU error or kernel panic; log: $log)" >&2
	exit 125
fi
printf 'vm: exit status %s after %.1fs (log: %s)\n' "$code" "$elapsed" "$log" >&2
exit "$code"
