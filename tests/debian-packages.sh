#!/bin/bash
# Install the Debian packages that are missing, from the machine's own apt
# sources. Usage: tests/debian-packages.sh WHO PKG...
# WHO prefixes the messages. A PKG written NAME=GLOB counts as installed
# when any package matching GLOB is (a versioned kernel for its meta package).
set -euo pipefail
who=$1
shift

names=() globs=()
for p in "$@"; do
	names+=("${p%%=*}")
	[ "${p#*=}" = "$p" ] || globs+=("${p#*=}")
done
# One dpkg-query call for all of them: fast when everything is installed.
status=$(dpkg-query -W -f='${Package} ${db:Status-Status}\n' "${names[@]}" \
	"${globs[@]}" 2>/dev/null || true)
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
export DEBIAN_FRONTEND=noninteractive
sudo=""
[ "$(id -u)" = 0 ] || sudo="sudo -E"
$sudo apt-get update -qq >/dev/null
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
