# shellcheck shell=bash
# tests/tap.sh - sourced by the lane scripts that tests/check.sh runs with
# tap_lane (tests/NAME.sh): result() prints one numbered TAP line per
# check, finish() the plan, and exits 0 when every check passed;
# with_fresh_lists() retries what apt-get download fetches.

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
