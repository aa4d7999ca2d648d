#!/bin/bash
# The emulated Apple SecureROM (dfu-emu --apple, issue 13) against Debian's
# irecovery (libirecovery 1.0.0, the reference host) and dfu-util in the
# test VM, first without dfu.ko: irecovery -f of 1, 2032, 2033, 2048, 300001
# bytes and 1 MiB boots each (the device got the file, suffix and CRC right,
# back as 05ac:1281), --apple-accept rejects another image (back as 1227),
# irecovery -q shows the identity sent, and what dfu-util makes of the ROM
# and of a file with dfu-suffix's suffix; then dfu.ko loaded: cat of the
# same images sends what irecovery sent (DNLOADs, dwCRC) and boots them,
# and irecovery works beside dfu.ko with bind_apple=N or after an unbind
# (tests/guest/apple-irecovery.sh).
# Prints the guest's TAP lines; exit status 0 when all pass.
# Usage: tests/apple-irecovery.sh   (make check runs it)
# DFU_APPLE_LOG: the VM's console log (default build/apple/vm.log).
# DFU_APPLE_PAYLOAD: the payload directory (default build/payload-apple).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
tests/vm/setup.sh
tests/debian-packages.sh apple irecovery dfu-util
p=${DFU_APPLE_PAYLOAD:-build/payload-apple}
log=${DFU_APPLE_LOG:-build/apple/vm.log}
mkdir -p "$(dirname "$log")"
tests/payload.sh --out "$p" >/dev/null
# tests/vm/run.sh gives the guest the libraries ldd lists for them:
# libirecovery-1.0, libusb-1.0, libudev, libreadline...
cp "$(command -v irecovery)" "$(command -v dfu-util)" "$p/"
if ldd "$p/irecovery" | grep -q 'not found' ||
   ! ldd "$p/irecovery" | grep -q 'libirecovery'; then
	echo "apple: irecovery's libraries are not all here:" >&2
	ldd "$p/irecovery" >&2
	exit 1
fi
# The images: random each run, compared in the guest.
for n in 1 2032 2033 2048 300001 1048576; do
	head -c "$n" /dev/urandom >"$p/images/apple-$n.bin"
done
head -c 4096 /dev/urandom >"$p/images/apple-other.bin"
# dfu-suffix's suffix for 05ac:ffff, which is the ROM's (bcdDevice and
# idProduct ffff, idVendor 05ac, DFU 1.0, "UFD", 16, dwCRC)
cp "$p/images/apple-2033.bin" "$p/images/apple-2033.dfu"
dfu-suffix -v 05ac -p ffff -d ffff -a "$p/images/apple-2033.dfu" >/dev/null
rc=0
flock build/.vm.lock tests/vm/run.sh --timeout 600 --log "$log" "$p" apple \
	>/dev/null || rc=$?
tr -d '\r' <"$log" | grep -E '^(ok|not ok|#|1\.\.)' || true
[ "$rc" = 0 ] || echo "apple: the VM run failed (exit $rc); see $log" >&2
exit "$rc"
