#!/bin/bash
# Install the Debian packages that are missing, from the machine's own apt
# sources. Usage: tests/debian-packages.sh WHO [--arch ARCH]... PKG...
# WHO prefixes the messages. A PKG written NAME=GLOB counts as installed
# when any package matching GLOB is (a versioned kernel for its meta package).
# --arch ARCH: dpkg also takes ARCH's packages (dpkg --add-architecture,
# multiarch), and apt has ARCH's package lists, e.g. for apt-get download
# of a foreign kernel's headers; the lists are fetched when they are absent.
set -euo pipefail
who=$1
shift
archs=()
while [ "${1:-}" = --arch ]; do
	archs+=("$2")
	shift 2
done

export DEBIAN_FRONTEND=noninteractive
sudo=""
[ "$(id -u)" = 0 ] || sudo="sudo -E"
# An apt-get update that fails to fetch one index (a foreign one while the
# mirror syncs) keeps the old lists and exits non-zero; what is missing
# after it fails the install or the caller's apt-get download instead.
update() {
	$sudo apt-get update -qq >/dev/null ||
		echo "$who: apt-get update failed; going on with the lists it kept" >&2
}

need_update=no
if [ ${#archs[@]} -gt 0 ]; then
	native=$(dpkg --print-architecture)
	foreign=$(dpkg --print-foreign-architectures)
	# apt-cache policy lists only the indexes that were fetched
	policy=$(apt-cache policy)
	for a in "${archs[@]}"; do
		[ "$a" = "$native" ] && continue
		if ! grep -qx "$a" <<<"$foreign"; then
			echo "$who: adding the architecture $a (dpkg --add-architecture)" >&2
			$sudo dpkg --add-architecture "$a"
			need_update=yes
		fi
		grep -q " $a Packages\$" <<<"$policy" || need_update=yes
	done
fi
[ $need_update = no ] || update
[ $# -gt 0 ] || exit 0

names=() globs=()
for p in "$@"; do
	names+=("${p%%=*}")
	[ "${p#*=}" = "$p" ] || globs+=("${p#*=}")
done
# One dpkg-query call for all of them: fast when everything is installed.
# Each package as NAME:ARCH, and as NAME when it is the machine's own
# architecture's (or all), so that libudev-dev:i386 is found installed.
status=$(dpkg-query -W -f='${Package} ${Architecture} ${db:Status-Status}\n' "${names[@]}" \
	"${globs[@]}" 2>/dev/null | awk -v native="$(dpkg --print-architecture)" '
	{ print $1 ":" $2, $3; if ($2 == native || $2 == "all") print $1, $3 }' || true)
installed() { printf '%s\n' "$status" | grep -qx "$1 installed"; }

missing=()
for p in "$@"; do
	name=${p%%=*}
	installed "$name" && continue
	found=no
	if [ "${p#*=}" != "$p" ]; then
		glob=${p#*=}
		while read -r pkg st; do
			# shellcheck disable=SC2053
			[[ $pkg == $glob && $st == installed ]] && found=yes
		done <<<"$status"
	fi
	[ $found = yes ] || missing+=("$name")
done
[ ${#missing[@]} -gt 0 ] || exit 0

echo "$who: installing: ${missing[*]}" >&2
[ $need_update = yes ] || update
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
