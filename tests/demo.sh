#!/bin/bash
# make demo: in a QEMU guest running Debian's 6.12 kernel, attach an emulated
# DFU device, flash U-Boot's real image with cat, read it back and verify.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
tests/vm/setup.sh
tests/payload.sh
mkdir -p build/demo
echo "demo: booting the test VM (QEMU, Debian's 6.12 kernel)..."
tests/vm/run.sh --log build/demo/vm.log build/payload demo | tr -d '\r' | grep '^demo:'
