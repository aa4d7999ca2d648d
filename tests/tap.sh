# shellcheck shell=bash
# tests/tap.sh - sourced by the lane scripts that tests/check.sh runs with
# tap_lane (tests/NAME.sh): result() prints one numbered TAP line per
# check, finish() the plan, and exits 0 when every check passed;
# depends_all() asks apt, with_fresh_lists() retries what apt-get
# download fetches, and unpack_debs() unpacks it.

n=0 failed=0
result() {	# result DESCRIPTION STATUS [LOGFILE]: LOGFILE's end on failure
	n=$((n + 1))
	if [ "$2" -eq 0 ]; then
		echo "ok $n - $1"
	else
		echo "not ok $n - $1"
		failed=$((failed + 1))
		[ -n "${3:-}" ] && sed 's/^/#   /' "$3" | tail -n 30
	fi
}
finish() {
	echo "1..$n"
	[ "$failed" -eq 0 ]
	exit $?
}

# with_fresh_lists COMMAND...: COMMAND; when it fails, apt-get update and
# COMMAND once more (stale package lists name .debs the archive no longer
# has)
with_fresh_lists() {
	"$@" && return 0
	echo "apt-get update, and once more"
	local sudo=""
	[ "$(id -u)" = 0 ] || sudo="sudo -E"
	$sudo apt-get update -qq >/dev/null
	"$@"
}

# unpack_debs DIR FILE...: the .debs FILE... of DIR/debs unpacked with
# dpkg -x into DIR/root, afresh when the set changed; the kernel headers'
# Makefiles, which include their -common tree by absolute path, pointed
# into DIR/root; the other .debs of DIR/debs (earlier versions) removed.
unpack_debs() {
	local dir=$1 want f st=0
	shift
	want=$(printf '%s\n' "$@")
	if [ "$(cat "$dir/root/.debs" 2>/dev/null)" != "$want" ]; then
		rm -rf "$dir/root"
		mkdir -p "$dir/root"
		for f; do
			echo "unpacking $f"
			dpkg -x "$dir/debs/$f" "$dir/root" || st=1
		done
		sed -i "s#^include /usr/src/#include $(cd "$dir" && pwd)/root/usr/src/#" \
			"$dir"/root/usr/src/linux-headers-*/Makefile || st=1
		[ "$st" = 0 ] || return 1
		echo "$want" >"$dir/root/.debs"
	fi
	for f in "$dir"/debs/*.deb; do
		grep -qxF "${f##*/}" <<<"$want" || rm -f "$f"
	done
}

# depends_all PKG:ARCH...: "PKG:ARCH DEPENDS" for each candidate, from one
# apt-cache call (each call reads all the lists, 2 s)
depends_all() {	# depends_all PKG:ARCH...
	apt-cache show --no-all-versions "$@" 2>/dev/null | awk '
		/^Package: / { p = $2 }
		/^Architecture: / { a = $2 }
		/^Depends: / { d = substr($0, 10) }
		/^$/ { if (p != "") print p ":" a " " d; p = d = "" }
		END { if (p != "") print p ":" a " " d }'
}
