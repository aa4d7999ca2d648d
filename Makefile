# SPDX-License-Identifier: GPL-2.0
#
#   make            build driver/dfu.ko against the running kernel (KDIR=...
#                   to choose another tree) and the userspace helper
#   make install    install the module, dfuctl, the udev rules and systemd
#                   units, the man pages and the uapi header (DESTDIR, PREFIX,
#                   KVER); make uninstall. install-module and install-tools
#                   (all but the module, for DKMS users) do each half.
#   make dkms-src   copy what DKMS builds from to $(DESTDIR)/usr/src/dfu-VERSION
#   make intree KSRC=/path/to/linux
#                   put the driver into a kernel source tree
#   make demo       flash a real firmware image through /dev/dfu0 in a VM
#   make check      all tests: host checks, then selftests in a VM
#   make check-arm64
#                   the flash, fault and suffix kselftests whole on arm64
#                   (qemu-system-aarch64; make check runs most of them)
#   make bench      dfu.ko (cat) against dfu-util on one emulated device
#   make fuzz SEEDS=A-B
#                   the USB fuzzer against dfu.ko on the debug kernel
#   make clean
#
# make demo, make check and make bench install the Debian packages they need.

# The package version, kept only in the file VERSION; dkms.conf and
# MODULE_VERSION (driver/Kbuild) read the same file.
VERSION := $(shell cat "$(CURDIR)/VERSION")

# KVER: the kernel release to build and install for. With KDIR= alone it
# is that tree's release, as the module's vermagic will have it.
ifeq ($(origin KVER),undefined)
ifeq ($(origin KDIR),undefined)
KVER := $(shell uname -r)
else
KVER := $(shell sed -n 's/^\#define UTS_RELEASE "\(.*\)"/\1/p' \
	"$(KDIR)/include/generated/utsrelease.h" 2>/dev/null)
endif
endif
KDIR ?= /lib/modules/$(KVER)/build

# make install: PREFIX=/usr for distribution packages and appliance images,
# /usr/local (the default) for a local install. Packages put udev rules in
# /usr/lib/udev/rules.d and systemd units in /usr/lib/systemd/system, the
# administrator's own go to /etc/udev/rules.d and /etc/systemd/system.
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
INCLUDEDIR ?= $(PREFIX)/include
ifeq ($(PREFIX),/usr)
UDEVRULESDIR ?= /usr/lib/udev/rules.d
SYSTEMDUNITDIR ?= /usr/lib/systemd/system
SYSUSERSDIR ?= /usr/lib/sysusers.d
TMPFILESDIR ?= /usr/lib/tmpfiles.d
else
UDEVRULESDIR ?= /etc/udev/rules.d
SYSTEMDUNITDIR ?= /etc/systemd/system
SYSUSERSDIR ?= /etc/sysusers.d
TMPFILESDIR ?= /etc/tmpfiles.d
endif
# updates/ comes before the kernel's own modules in depmod's search order
MODDIR ?= /lib/modules/$(KVER)/updates

RULES := $(notdir $(wildcard udev/*.rules))
UNITS := $(notdir $(wildcard udev/*.service))
MAN1 := $(notdir $(wildcard userspace/*.1))
TOOLS_INSTALLED = $(BINDIR)/dfuctl $(SYSUSERSDIR)/dfu.conf $(TMPFILESDIR)/dfu.conf \
	$(addprefix $(UDEVRULESDIR)/,$(RULES)) \
	$(addprefix $(SYSTEMDUNITDIR)/,$(UNITS)) \
	$(addprefix $(MANDIR)/man1/,$(MAN1)) \
	$(INCLUDEDIR)/linux/usb/dfu.h

# What DKMS builds from (dkms.conf: BUILT_MODULE_LOCATION driver/), and
# what a kernel tree takes (make intree)
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

install: install-module install-tools

uninstall: uninstall-module uninstall-tools

install-module: module
	@test -n "$(KVER)" || { echo "Unknown kernel release: set KVER=" >&2; exit 1; }
	install -D -m 644 driver/dfu.ko "$(DESTDIR)$(MODDIR)/dfu.ko"
ifeq ($(DESTDIR),)
	depmod -a "$(KVER)"
endif

uninstall-module:
	@test -n "$(KVER)" || { echo "Unknown kernel release: set KVER=" >&2; exit 1; }
	rm -f "$(DESTDIR)$(MODDIR)/dfu.ko"
ifeq ($(DESTDIR),)
	depmod -a "$(KVER)"
endif

# dfuctl, udev rules, systemd units (which run $(BINDIR)/dfuctl), man
# pages and the uapi header: everything but the module, for DKMS users too
install-tools: userspace
	install -D -m 755 userspace/dfuctl "$(DESTDIR)$(BINDIR)/dfuctl"
	install -D -m 644 udev/dfu.sysusers.conf "$(DESTDIR)$(SYSUSERSDIR)/dfu.conf"
	install -D -m 644 udev/dfu-tmpfiles.conf "$(DESTDIR)$(TMPFILESDIR)/dfu.conf"
# The group dfu of 60-dfu.rules, before the rules (udevd looks it up when
# they change): systemd-sysusers (which also runs at boot), or groupadd
# where there is none. A package (DESTDIR) runs systemd-sysusers in its
# postinst instead.
ifeq ($(DESTDIR),)
	if command -v systemd-sysusers >/dev/null; then \
		systemd-sysusers "$(SYSUSERSDIR)/dfu.conf"; \
	elif ! getent group dfu >/dev/null; then \
		groupadd --system dfu; \
	fi
	! command -v systemd-tmpfiles >/dev/null || \
		systemd-tmpfiles --create "$(TMPFILESDIR)/dfu.conf"
endif
	$(foreach f,$(RULES),install -D -m 644 udev/$(f) "$(DESTDIR)$(UDEVRULESDIR)/$(f)";)
	$(foreach f,$(UNITS),install -d "$(DESTDIR)$(SYSTEMDUNITDIR)" && \
		sed 's|/usr/bin/dfuctl|$(BINDIR)/dfuctl|g' udev/$(f) >"$(DESTDIR)$(SYSTEMDUNITDIR)/$(f)" && \
		chmod 644 "$(DESTDIR)$(SYSTEMDUNITDIR)/$(f)";)
	$(foreach f,$(MAN1),install -D -m 644 userspace/$(f) "$(DESTDIR)$(MANDIR)/man1/$(f)";)
	install -D -m 644 include/uapi/linux/usb/dfu.h "$(DESTDIR)$(INCLUDEDIR)/linux/usb/dfu.h"

uninstall-tools:
	rm -f $(foreach f,$(TOOLS_INSTALLED),"$(DESTDIR)$(f)")

dkms-src:
	@test -n "$(VERSION)" || { echo "VERSION is empty" >&2; exit 1; }
	rm -rf "$(DKMS_SRC)"
	$(foreach f,$(DKMS_FILES),install -D -m 644 $(f) "$(DKMS_SRC)/$(f)";)

# Put the driver into the kernel source tree KSRC as drivers/usb/misc/dfu/,
# hooked into drivers/usb/misc/Kconfig and Makefile (once), with its uapi
# header. Unchanged files are not touched, so a rebuild is quick.
MISC = $(KSRC)/drivers/usb/misc
intree:
	@test -f "$(KSRC)/Makefile" && test -d "$(MISC)" || { echo "KSRC= must name a kernel source tree" >&2; exit 1; }
	install -d "$(MISC)/dfu"
	install -C -m 644 Kconfig driver/Kbuild $(DRIVER_SRCS) "$(MISC)/dfu/"
	install -C -m 644 include/uapi/linux/usb/dfu.h "$(KSRC)/include/uapi/linux/usb/dfu.h"
	grep -qx 'source "drivers/usb/misc/dfu/Kconfig"' "$(MISC)/Kconfig" || \
		echo 'source "drivers/usb/misc/dfu/Kconfig"' >>"$(MISC)/Kconfig"
	grep -q '^obj-$$(CONFIG_USB_DFU)[[:space:]]*+= dfu/$$' "$(MISC)/Makefile" || \
		printf 'obj-$$(CONFIG_USB_DFU)\t\t+= dfu/\n' >>"$(MISC)/Makefile"

demo:
	tests/demo.sh

check:
	tests/check.sh

# dfu.ko on Debian's arm64 kernel in qemu-system-aarch64 (TCG): the flash,
# fault and suffix kselftests whole (make check runs a subset of them)
check-arm64:
	tests/arm64.sh --full

bench:
	tests/bench.sh

# the USB fuzzer on the debug kernel: SEEDS=A-B (default 1-100), FUZZ_MS per seed
SEEDS ?= 1-100
FUZZ_MS ?= 4000
fuzz:
	tests/fuzz.sh "$(SEEDS)" "$(FUZZ_MS)"

clean:
	-test -d "$(KDIR)" && $(MAKE) -C "$(KDIR)" M="$(CURDIR)/driver" clean
	$(MAKE) -C userspace clean
	$(MAKE) -C tests/emulator clean
	$(MAKE) -C tests/selftests clean
	rm -rf build

.PHONY: all module userspace install uninstall install-module uninstall-module \
	install-tools uninstall-tools dkms-src intree demo check check-arm64 bench fuzz clean
