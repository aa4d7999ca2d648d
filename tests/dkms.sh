#!/bin/bash
# tests/dkms.sh - the DKMS life cycle of dfu.ko with the repository's
# dkms.conf, on Debian's 6.1 (linux-headers-amd64) and 6.12
# (linux-headers-6.12-amd64) kernels:
#
#   make dkms-src (a throwaway copy in /usr/src/dfu-VERSION), dkms add,
#   then per kernel dkms build -k and dkms install -k, and checks of the
#   installed module (version, vermagic, USB aliases, modprobe resolving a
#   DFU interface to it); the DKMS-built 6.12 module is kept, decompressed,
#   as build/dkms/dfu.ko for tests/payload.sh; then dkms remove --all and
#   checks that nothing is left.
#
# Needs root (it runs itself with sudo otherwise) and installs the Debian
# packages it needs. A leftover of an earlier run that was killed is
# removed first; a dfu registered with DKMS by someone else is never
# touched (the script stops instead).
set -euo pipefail
shopt -s nullglob
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

[ "$(id -u)" = 0 ] || exec sudo -E "$0" "$@"

say() { echo "dkms-test: $*"; }
die() {
	local log
	for log in /var/lib/dkms/dfu/*/build/make.log; do
		echo "dkms-test: $log:" >&2
		tail -n 20 "$log" >&2
	done
	echo "dkms-test: FAIL: $*" >&2
	exit 1
}
step() {	# step DESCRIPTION COMMAND...: run it, timed, its output indented
	local t0=$SECONDS rc=0
	say "$1"
	shift
	"$@" 2>&1 | sed 's/^/    /' || rc=$?
	[ "$rc" = 0 ] || die "'$*' exited with $rc"
	say "  ($((SECONDS - t0)) s)"
}

# --- packages -------------------------------------------------------------------
pkgs="dkms linux-headers-amd64 linux-headers-6.12-amd64 kmod xz-utils make"
# shellcheck disable=SC2086
"$top/tests/debian-packages.sh" dkms.sh $pkgs

say "$(dkms --version)"

# The exact kernel releases, from what the meta packages depend on.
krel_of() {	# krel_of META_PACKAGE
	dpkg-query -W -f='${Depends}\n' "$1" | tr ',|' '\n' |
		sed -n 's/^ *linux-headers-\([^ ]*\).*/\1/p' | grep -- '-amd64$' | head -n1
}
k61=$(krel_of linux-headers-amd64)
k612=$(krel_of linux-headers-6.12-amd64)
case $k61 in 6.1.*) ;; *) die "linux-headers-amd64 depends on '$k61', not a 6.1 kernel" ;; esac
case $k612 in 6.12.*) ;; *) die "linux-headers-6.12-amd64 depends on '$k612', not a 6.12 kernel" ;; esac
kernels="$k61 $k612"
for k in $kernels; do
	[ -e "/lib/modules/$k/build/Makefile" ] || die "no headers at /lib/modules/$k/build"
done
say "kernels: $kernels"

# --- what dkms.conf says ------------------------------------------------------------
ver=$(cat VERSION)
[[ $ver =~ ^[0-9]+(\.[0-9]+)*$ ]] || die "VERSION '$ver' is not a dotted number"
conf=$(bash -c '. ./dkms.conf >/dev/null
	printf "%s\n" "$PACKAGE_NAME" "$PACKAGE_VERSION" "${DEST_MODULE_LOCATION[0]}" "$BUILD_EXCLUSIVE_KERNEL"')
{ read -r name; read -r conf_ver; read -r dest; read -r exclusive; } <<<"$conf"
[ "$name" = dfu ] || die "dkms.conf: PACKAGE_NAME is '$name'"
[ "$conf_ver" = "$ver" ] || die "dkms.conf: PACKAGE_VERSION is '$conf_ver', VERSION is '$ver'"
# BUILD_EXCLUSIVE_KERNEL: the 5.10 floor, as dkms matches it (bash =~)
for k in 5.10.0-30-amd64 5.15.0-100-generic $kernels 10.0.1; do
	[[ $k =~ $exclusive ]] || die "BUILD_EXCLUSIVE_KERNEL rejects $k"
done
for k in 4.19.0-27-amd64 5.4.0-150-generic 5.9.16; do
	[[ ! $k =~ $exclusive ]] || die "BUILD_EXCLUSIVE_KERNEL accepts $k"
done
say "dkms.conf: $name $conf_ver, DEST_MODULE_LOCATION $dest, kernels matching $exclusive"

src=/usr/src/dfu-$ver
marker=.dfu-dkms-test	# in a source copy this script made
tree=/var/lib/dkms/dfu

# --- one run at a time on this machine (DKMS state is global) ------------------
exec 9>/run/lock/dfu-dkms-test.lock
flock 9

# Installed copies of dfu.ko for kernel $1 (compressed or not), if any.
installed_kos() {
	find "/lib/modules/$1/updates" "/lib/modules/$1$dest" -name 'dfu.ko*' 2>/dev/null || true
}

# Versions registered with DKMS (not its kernel-<release>-<arch> links).
registered() {
	local d
	for d in "$tree"/*/; do
		[ -L "${d%/}" ] || basename "$d"
	done
}

# Remove a registration and source copy made by this script, even a broken one.
cleanup() {
	local d v k
	for v in $(registered); do
		if [ -e "/usr/src/dfu-$v/$marker" ]; then
			dkms remove "dfu/$v" --all >/dev/null 2>&1 || true
		fi
	done
	if [ -d "$tree" ]; then
		# what dkms remove could not remove (a registration without source)
		for v in $(registered); do
			[ -e "/usr/src/dfu-$v/$marker" ] || continue
			rm -rf "${tree:?}/$v" "$tree"/kernel-*
			for k in $kernels; do
				installed_kos "$k" | xargs -r rm -f
				depmod -a "$k"
			done
		done
		rmdir "$tree" 2>/dev/null || true
	fi
	for d in /usr/src/dfu-*/; do
		[ -e "$d$marker" ] && rm -rf "$d"
	done
	# depmod's index files for a kernel that has no modules at all (6.1:
	# headers only) are left-overs of the install; the kernel had none.
	for k in $kernels; do
		if [ -z "$(find "/lib/modules/$k/" -name '*.ko*' -print -quit)" ]; then
			rm -f "/lib/modules/$k"/modules.*
		fi
	done
	if [ "$made_key" = yes ]; then
		rm -f /var/lib/dkms/mok.key /var/lib/dkms/mok.pub
	fi
}

# A dfu that this script did not add belongs to someone: stop.
for s in $(registered | sed 's|^|/usr/src/dfu-|') /usr/src/dfu-*; do
	[ -e "$s/$marker" ] && continue
	die "dfu ${s#/usr/src/dfu-} is registered with DKMS or in /usr/src, and not by this test: remove it first (dkms remove dfu/${s#/usr/src/dfu-} --all)"
done
# dkms makes a signing key when there is none; remove it again if this run
# (or the earlier run whose leftovers are removed now) made it.
made_key=no
[ -e /var/lib/dkms/mok.key ] || made_key=yes
if [ -d "$tree" ] || compgen -G "/usr/src/dfu-*/$marker" >/dev/null; then
	say "removing the leftovers of an earlier run"
	for m in /usr/src/dfu-*/"$marker"; do
		if grep -qx made_key=yes "$m"; then made_key=yes; fi
	done
	cleanup
	[ ! -d "$tree" ] || die "could not remove the leftover $tree"
fi
trap cleanup EXIT

# --- add, build, install ---------------------------------------------------------------
t_start=$SECONDS
step "make dkms-src: $src" make -s dkms-src
printf '%s\n' "made by $top/tests/dkms.sh, removed when it ends" \
	"made_key=$made_key" >"$src/$marker"
step "dkms add dfu/$ver" dkms add "dfu/$ver"
rm -rf build/dkms
mkdir -p build/dkms

for k in $kernels; do
	step "dkms build dfu/$ver -k $k" dkms build "dfu/$ver" -k "$k"
	step "dkms install dfu/$ver -k $k" dkms install "dfu/$ver" -k "$k"
	cp "$tree/$ver/$k/x86_64/log/make.log" "build/dkms/make-$k.log"

	st=$(dkms status "dfu/$ver" -k "$k" 2>/dev/null)
	say "dkms status: $st"
	[[ $st == "dfu/$ver, $k, x86_64: installed"* ]] || die "dkms status for $k: '$st'"

	# modinfo finds it through depmod's index, as modprobe will
	ko=$(modinfo -k "$k" -F filename dfu) || die "modinfo -k $k dfu: not found"
	say "installed: $ko"
	[ "$ko" = "$(installed_kos "$k")" ] || die "$ko is not the one dfu.ko under updates/ or $dest"
	v=$(modinfo -F version "$ko")
	[ "$v" = "$ver" ] || die "$ko: version '$v', expected $ver"
	vm=$(modinfo -F vermagic "$ko")
	[ "${vm%% *}" = "$k" ] || die "$ko: vermagic '$vm'"
	aliases=$(modinfo -F alias "$ko" | sort)
	expected=$(printf 'usb:v*p*d*dc*dsc*dp*icFEisc01ip0%sin*\n' 0 1 2)
	[ "$aliases" = "$expected" ] || die "$ko: aliases are
$aliases
expected
$expected"
	say "aliases: $(echo "$aliases" | tr '\n' ' ')"
	# the modalias of a DFU-mode interface (protocol 2), as udev sees it
	dep=$(modprobe -S "$k" --show-depends \
		'usb:v1209p2300d0100dc00dsc00dp00icFEisc01ip02in00') ||
		die "modprobe -S $k does not resolve a DFU interface's modalias"
	say "modprobe -S $k --show-depends usb:...icFEisc01ip02...: $(echo "$dep" | tail -n1)"
	[[ $(echo "$dep" | tail -n1) == "insmod $ko"* ]] || die "the modalias resolves to '$dep'"

	if [ "$k" = "$k612" ]; then
		case $ko in
		*.xz) xz -dc "$ko" >build/dkms/dfu.ko ;;
		*.ko) cp "$ko" build/dkms/dfu.ko ;;
		*) die "$ko: unexpected compression" ;;
		esac
		echo "$ko" >build/dkms/source
		say "kept the DKMS-built module for $k as build/dkms/dfu.ko"
	fi
done

# --- remove, and nothing may be left ------------------------------------------------
step "dkms remove dfu/$ver --all" dkms remove "dfu/$ver" --all
[ ! -e "$tree" ] || die "$tree is still there"
for k in $kernels; do
	left=$(installed_kos "$k")
	[ -z "$left" ] || die "left behind: $left"
	if modinfo -k "$k" dfu >/dev/null 2>&1; then
		die "depmod's index for $k still knows dfu"
	fi
done
rm -rf "$src"
cleanup
[ ! -e "$src" ] || die "$src is still there"
left=$(find /usr/src -maxdepth 1 -name 'dfu-*')
[ -z "$left" ] || die "left behind: $left"
say "removed: no $tree, no dfu.ko under updates/ or $dest, no $src"

[ -z "${SUDO_UID:-}" ] || chown -R "$SUDO_UID:${SUDO_GID:-$SUDO_UID}" build/dkms
say "passed in $((SECONDS - t_start)) s"
