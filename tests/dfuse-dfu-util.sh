#!/bin/bash
# The emulated DfuSe devices (dfu-emu --dfuse stm32f4, stusbd, bmp,
# gd32vf103) against Debian's dfu-util in the test VM, without dfu.ko:
# flash, leave, read back, a DfuSe file made by dfuse-pack, mass erase,
# a blank and a read-protected STM32F4, a two-zone --dfuse-layout
# (tests/guest/dfuse-dfu-util.sh).
# Prints the guest's TAP lines; exit status 0 when all pass.
# Usage: tests/dfuse-dfu-util.sh   (make check runs it)
# DFU_DFUSE_LOG: the VM's console log (default build/dfuse/vm.log).
# DFU_DFUSE_PAYLOAD: the payload directory (default build/payload-dfuse).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
tests/vm/setup.sh
tests/debian-packages.sh dfuse dfu-util
p=${DFU_DFUSE_PAYLOAD:-build/payload-dfuse}
log=${DFU_DFUSE_LOG:-build/dfuse/vm.log}
mkdir -p "$(dirname "$log")"
tests/payload.sh --out "$p" >/dev/null
cp "$(command -v dfu-util)" "$p/"
# The images: random each run, compared in the guest. The .dfu file is
# dfu-util's own dfuse-pack's (Python, so built here, not in the guest).
head -c 102400 /dev/urandom >"$p/images/dfuse-100k.bin"
head -c 4096 /dev/urandom >"$p/images/dfuse-el1.bin"
head -c 6144 /dev/urandom >"$p/images/dfuse-el2.bin"
dfuse-pack -b "0x08000000:$p/images/dfuse-el1.bin" \
	-b "0x08020000:$p/images/dfuse-el2.bin" -D 0x0483:0xdf11 \
	"$p/images/dfuse-two.dfu" >/dev/null
rc=0
flock build/.vm.lock tests/vm/run.sh --timeout 900 --log "$log" "$p" dfuse \
	>/dev/null || rc=$?
tr -d '\r' <"$log" | grep -E '^(ok|not ok|#|1\.\.)' || true
[ "$rc" = 0 ] || echo "dfuse: the VM run failed (exit $rc); see $log" >&2
exit "$rc"
