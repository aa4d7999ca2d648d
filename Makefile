# SPDX-License-Identifier: GPL-2.0
#
#   make            build driver/dfu.ko against the running kernel (KDIR=...
#                   to choose another tree) and the userspace helper
#   make dkms-src   copy what DKMS builds from to $(DESTDIR)/usr/src/dfu-VERSION
#   make demo       flash a real firmware image through /dev/dfu0 in a VM
#   make check      all tests: host checks, then selftests in a VM
#   make clean
#
# make demo and make check install the Debian packages they need.

# The package version, kept only in the file VERSION; dkms.conf and
# MODULE_VERSION (driver/Kbuild) read the same file.
VERSION := $(shell cat "$(CURDIR)/VERSION")

KDIR ?= /lib/modules/$(shell uname -r)/build

# What DKMS builds from (dkms.conf: BUILT_MODULE_LOCATION driver/)
DRIVER_SRCS := $(filter-out %.mod.c,$(wildcard driver/*.[ch]))
DKMS_SRC := $(DESTDIR)/usr/src/dfu-$(VERSION)
DKMS_FILES := VERSION dkms.conf Kconfig driver/Kbuild $(DRIVER_SRCS) \
	include/uapi/linux/usb/dfu.h

all: module userspace

module:
	@test -d "$(KDIR)" || { echo "No kernel build tree at $(KDIR): install linux-headers-$$(uname -r) or set KDIR=" >&2; exit 1; }
	$(MAKE) -C "$(KDIR)" M="$(CURDIR)/driver" modules

userspace:
	$(MAKE) -C userspace

dkms-src:
	@test -n "$(VERSION)" || { echo "VERSION is empty" >&2; exit 1; }
	rm -rf "$(DKMS_SRC)"
	$(foreach f,$(DKMS_FILES),install -D -m 644 $(f) "$(DKMS_SRC)/$(f)";)

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

.PHONY: all module userspace dkms-src demo check clean
