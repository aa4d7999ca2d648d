// SPDX-License-Identifier: GPL-2.0
/*
 * common.c - what dfuctl's subcommands share: device options, opening a
 * node with errors that say what to do, choosing the alt setting
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sysexits.h>
#include <linux/usb/dfu.h>

#include "commands.h"

int usage_error(const char *msg)
{
	fprintf(stderr, "dfuctl: %s (see dfuctl --help)\n", msg);
	return EX_USAGE;
}

int select_option(int c, const char *arg, struct dev_filter *f)
{
	switch (c) {
	case 'S':
		f->serial = arg;
		return 0;
	case 'P':
		f->path = arg;
		return 0;
	case 'D':
		if (dev_parse_ids(arg, f))
			return usage_error("--device wants VID:PID or VID:PID,VID:PID in hex");
		return 0;
	default:
		return 1;
	}
}

int errno_exit(int err)
{
	switch (err) {
	case ENODEV:
	case ENOENT:
		return EX_UNAVAILABLE;
	case EBUSY:
		return EX_TEMPFAIL;
	case EACCES:
	case EPERM:
		return EX_NOPERM;
	case EOPNOTSUPP:
	case EROFS:
		return EX_UNAVAILABLE;
	default:
		return EX_IOERR;
	}
}

int open_dev(const struct dfu_dev_desc *d, int flags, int *ret)
{
	int fd = open(d->node, flags | O_CLOEXEC), err = errno;

	if (fd >= 0)
		return fd;
	*ret = errno_exit(err);
	if (err == EACCES || err == EPERM) {
		fprintf(stderr, "dfuctl: %s: permission denied: install the udev rule 60-dfu.rules (make install) and join the group plugdev (usermod -aG plugdev $USER, then log in again), or run as root\n",
			d->node);
	} else if (err == EBUSY) {
		fprintf(stderr, "dfuctl: %s: busy: another program is transferring an image; wait for it to finish\n",
			d->node);
	} else if (err == EOPNOTSUPP || err == EROFS) {
		fprintf(stderr, "dfuctl: %s: %s: %s\n", d->node, strerror(err),
			err == EROFS ? "this device does not take downloads (bitCanDnload is 0)" :
			"not in DFU mode (try --detach), or a DfuSe device, not supported yet");
	} else {
		fprintf(stderr, "dfuctl: %s: %s\n", d->node, strerror(err));
	}
	return -1;
}

int set_alt(int fd, const struct dfu_dev_desc *d, const char *alt)
{
	long num = dev_find_alt(d->alt_names, alt);
	__u32 v;

	if (num < 0) {
		fprintf(stderr, "dfuctl: %s has no alt setting '%s'; it has:\n%s", d->node, alt,
			d->alt_names);
		return EX_USAGE;
	}
	v = (__u32)num;
	if (ioctl(fd, USB_DFU_IOCTL_SET_ALT, &v)) {
		int err = errno;

		fprintf(stderr, "dfuctl: %s: selecting alt setting %ld: %s\n", d->node, num,
			strerror(err));
		return errno_exit(err);
	}
	return EX_OK;
}
