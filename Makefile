# SPDX-License-Identifier: GPL-2.0
#
#   make            build driver/dfu.ko against the running kernel (KDIR=...
#                   to choose another tree) and the userspace helper
#   make demo       flash a real firmware image through /dev/dfu0 in a VM
#   make check      all tests: host checks, then selftests in a VM
#   make clean
#
# make demo and make check install the Debian packages they need.

KDIR ?= /lib/modules/$(shell uname -r)/build

all: module userspace

module:
	@test -d "$(KDIR)" || { echo "No kernel build tree at $(KDIR): install linux-headers-$$(uname -r) or set KDIR=" >&2; exit 1; }
	$(MAKE) -C "$(KDIR)" M="$(CURDIR)/driver" modules

userspace:
	$(MAKE) -C userspace

demo:
	tests/demo.sh

check:
	tests/check.sh

clean:
	-test -d "$(KDIR)" && $(MAKE) -C "$(KDIR)" M="$(CURDIR)/driver" clean
	$(MAKE) -C userspace clean
	$(MAKE) -C tests/emulator clean
	$(MAKE) -C tests/selftests clean
	rm -rf build

.PHONY: all module userspace demo check clean
