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
	return err == ENODEV ? EX_UNAVAILABLE : EX_IOERR;
}

int open_dev(const struct dfu_dev_desc *d, int flags, int *ret)
{
	int fd = open(d->node, flags | O_CLOEXEC);

	if (fd >= 0)
		return fd;
	if (errno == EACCES || errno == EPERM) {
		fprintf(stderr, "dfuctl: %s: permission denied: install the udev rule 60-dfu.rules (make install) and join the group plugdev (usermod -aG plugdev $USER, then log in again), or run as root\n",
			d->node);
		*ret = EX_NOPERM;
	} else if (errno == EBUSY) {
		fprintf(stderr, "dfuctl: %s: busy: another program is transferring an image; wait for it to finish\n",
			d->node);
		*ret = EX_TEMPFAIL;
	} else {
		fprintf(stderr, "dfuctl: %s: %s\n", d->node, strerror(errno));
		*ret = errno == ENODEV || errno == ENOENT ? EX_UNAVAILABLE : EX_OSERR;
	}
	return -1;
}

/* The number of the alt setting called name in alt_names, or -1. */
static long alt_by_name(const char *names, const char *name)
{
	size_t len = strlen(name);

	while (*names) {
		char *end;
		long num = strtol(names, &end, 10);
		size_t n = strcspn(end, "\n");

		if (*end == ' ' && n == len + 1 && !strncmp(end + 1, name, len))
			return num;
		names = end + n + (end[n] == '\n');
	}
	return -1;
}

int set_alt(int fd, const struct dfu_dev_desc *d, const char *alt)
{
	char *end;
	long num = strtol(alt, &end, 10);
	__u32 v;

	if (*end || end == alt)
		num = alt_by_name(d->alt_names, alt);
	if (num < 0 || (unsigned long)num >= d->num_alts) {
		fprintf(stderr, "dfuctl: %s has no alt setting '%s'; it has:\n%s", d->node, alt,
			d->alt_names);
		return EX_USAGE;
	}
	v = (__u32)num;
	if (ioctl(fd, DFU_IOCTL_SET_ALT, &v)) {
		fprintf(stderr, "dfuctl: %s: selecting alt setting %ld: %s\n", d->node, num,
			strerror(errno));
		return errno_exit(errno);
	}
	return EX_OK;
}
