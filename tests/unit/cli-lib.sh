# shellcheck shell=bash
# tests/unit/cli-lib.sh - what cli.sh and cli_dfuse.sh share: the TAP
# counters and checks. Sourced from the test's scratch directory, where
# each dfuctl run leaves its output in ./out and ./err.

pass=0 fail=0
ok() { echo "ok - $1"; pass=$((pass + 1)); }
bad() { echo "not ok - $1"; sed 's/^/#   /' out err 2>/dev/null | tail -n 20; fail=$((fail + 1)); }

# t WANT_STATUS NAME ARGS...: run dfuctl ARGS, expect the exit status
# ($dfuctl is the sourcing script's)
# shellcheck disable=SC2154
t() {
	local want=$1 name=$2 st
	shift 2
	"$dfuctl" "$@" >out 2>err
	st=$?
	if [ "$st" -eq "$want" ]; then ok "$name (exit $st)"; else bad "$name: exit $st, want $want"; fi
}

# same BYTES_FILE OTHER NAME: the two files are byte for byte the same
same() {
	if cmp -s "$1" "$2"; then ok "$3"; else bad "$3: $(cmp "$1" "$2" 2>&1)"; fi
}
