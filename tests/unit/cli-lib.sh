# shellcheck shell=bash
# tests/unit/cli-lib.sh - what cli.sh and cli_dfuse.sh share: the TAP
# counters and checks. Sourced from the test's scratch directory, where
# each dfuctl run leaves its output in ./out and ./err.

pass=0 fail=0
ok() { echo "ok - $1"; pass=$((pass + 1)); }
bad() { echo "not ok - $1"; sed 's/^/#   /' out err 2>/dev/null | tail -n 20; fail=$((fail + 1)); }

# t WANT_STATUS NAME ARGS...: run dfuctl ARGS, expect the exit status
# ($dfuctl is the sourcing script's). A run that fails must say so in a
# message that starts with "dfuctl COMMAND: "; a wrong start is a failure of
# its own (counted in msgs).
# shellcheck disable=SC2154
msgs=0
t() {
	local want=$1 name=$2 st
	shift 2
	"$dfuctl" "$@" >out 2>err
	st=$?
	if [ "$st" -eq "$want" ]; then ok "$name (exit $st)"; else bad "$name: exit $st, want $want"; fi
	if [ "$st" -ne 0 ]; then
		local lead="dfuctl: "
		case ${1:-} in
		list | flash | upload | recover | suffix | info | status | result | clear | \
		abort | reset | detach | erase | unprotect | dfuse) lead="dfuctl $1: " ;;
		esac
		msgs=$((msgs + 1))
		case $(head -n 1 err) in
		"$lead"?*) ;;
		*) bad "$name: the message does not start with \"$lead\"" ;;
		esac
	fi
}

# same BYTES_FILE OTHER NAME: the two files are byte for byte the same
same() {
	if cmp -s "$1" "$2"; then ok "$3"; else bad "$3: $(cmp "$1" "$2" 2>&1)"; fi
}
