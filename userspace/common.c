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

int parse_number(const char *s, uint64_t max, uint64_t *v)
{
	unsigned long long n;
	char *end;

	if (!*s || strchr(s, '-'))
		return -1;
	errno = 0;
	n = strtoull(s, &end, 0);
	if (errno || *end || n > max)
		return -1;
	*v = n;
	return 0;
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
	case EBADMSG:		/* no valid DFU suffix under the suffix policy */
	case EMEDIUMTYPE:	/* an image for another device, or DfuSe */
	case ENODATA:		/* a suffix and no image */
		return EX_DATAERR;
	default:
		return EX_IOERR;
	}
}

static const char perm_hint[] =
	"install the udev rule 60-dfu.rules (make install) and join the group plugdev "
	"(usermod -aG plugdev $USER, then log in again), or run as root";

/* The message for a failed open() of d with flags; returns the exit code. */
static int open_failed(const struct dfu_dev_desc *d, int flags, int err)
{
	int writing = (flags & O_ACCMODE) != O_RDONLY;

	if (err == EACCES || err == EPERM) {
		fprintf(stderr, "dfuctl: %s: permission denied: %s%s\n", d->node, perm_hint,
			writing ? " (this needs write access to the node)" : "");
	} else if (err == EBUSY) {
		fprintf(stderr, "dfuctl: %s: busy: another program has it open for writing (a flash in progress?): wait for it to finish; 'fuser -v %s' shows which program it is\n",
			d->node, d->node);
	} else if (err == EROFS) {
		fprintf(stderr, "dfuctl: %s: %s: this device does not take downloads (bitCanDnload is 0)\n",
			d->node, strerror(err));
	} else if (err == EOPNOTSUPP) {
		fprintf(stderr, "dfuctl: %s: %s: this driver cannot open the node for writing in run-time mode: switch the device to DFU mode first (--detach)\n",
			d->node, strerror(err));
	} else {
		fprintf(stderr, "dfuctl: %s: %s\n", d->node, strerror(err));
	}
	return errno_exit(err);
}

int open_dev(const struct dfu_dev_desc *d, int flags, int *ret)
{
	int fd = open(d->node, flags | O_CLOEXEC);

	if (fd < 0)
		*ret = open_failed(d, flags, errno);
	return fd;
}

int open_ctl(const struct dfu_dev_desc *d, int *ro_why, int *ret)
{
	int fd = open(d->node, O_WRONLY | O_CLOEXEC), err = errno;

	*ro_why = 0;
	if (fd >= 0)
		return fd;
	if (err != EBUSY && err != EROFS) {
		*ret = open_failed(d, O_WRONLY, err);
		return -1;
	}
	/* enough for root (CAP_SYS_ADMIN); others learn why from ctl_failed() */
	fd = open(d->node, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		*ret = open_failed(d, O_RDONLY, errno);
		return -1;
	}
	*ro_why = err;
	return fd;
}

int ctl_failed(const struct dfu_dev_desc *d, const char *what, int err, int ro_why)
{
	if (err == EPERM && ro_why == EBUSY) {
		fprintf(stderr, "dfuctl: %s: %s needs the node open for writing, and another program has it open so (a flash in progress?): wait for it to finish ('fuser -v %s' shows which program it is), or run as root to %s anyway\n",
			d->node, what, d->node, what);
	} else if (err == EPERM && ro_why == EROFS) {
		fprintf(stderr, "dfuctl: %s: %s needs the node open for writing, which a device without downloads (bitCanDnload is 0) refuses: run as root\n",
			d->node, what);
	} else if (err == EPERM || err == EACCES) {
		fprintf(stderr, "dfuctl: %s: %s: permission denied: %s\n", d->node, what, perm_hint);
	} else if (err == EBUSY) {
		fprintf(stderr, "dfuctl: %s: %s: busy: a transfer is in progress; wait for it to end, or end it with dfuctl abort %s\n",
			d->node, what, d->node);
	} else if (err == ENODEV) {
		fprintf(stderr, "dfuctl: %s: %s: the device is gone (unplugged or reset); see dfuctl list\n",
			d->node, what);
	} else {
		fprintf(stderr, "dfuctl: %s: %s: %s\n", d->node, what, strerror(err));
	}
	return errno_exit(err);
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
