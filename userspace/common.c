// SPDX-License-Identifier: GPL-2.0
/*
 * common.c - what dfuctl's subcommands share: device options, opening a
 * node with errors that say what to do, choosing the alt setting
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sysexits.h>
#include <linux/usb/dfu.h>

#include "commands.h"
#include "text.h"

const char *dfuctl_cmd;

static void vmsg(const char *lead, const char *fmt, va_list ap)
{
	if (dfuctl_cmd)
		fprintf(stderr, "%sdfuctl %s: ", lead, dfuctl_cmd);
	else
		fprintf(stderr, "%sdfuctl: ", lead);
	vfprintf(stderr, fmt, ap);
}

void say(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg("", fmt, ap);
	va_end(ap);
}

void say_nl(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg("\n", fmt, ap);
	va_end(ap);
}

int usage_error(const char *msg)
{
	say("%s (see dfuctl --help)\n", msg);
	return EX_USAGE;
}

/*
 * Numbers as people write them: decimal ("010" is ten, not eight), or hex
 * after 0x. No sign, no blanks, no octal: strtoull() would take " +10" and
 * read "010" as 8, and a size or an address the user did not mean is worse
 * than a usage error.
 */
int parse_number(const char *s, uint64_t max, uint64_t *v)
{
	int base = 10;
	const char *p = s;
	uint64_t n = 0;

	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
		base = 16;
		p += 2;
	}
	if (!*p)
		return -1;
	for (; *p; p++) {
		unsigned int d;

		if (*p >= '0' && *p <= '9')
			d = (unsigned int)(*p - '0');
		else if (base == 16 && *p >= 'a' && *p <= 'f')
			d = (unsigned int)(*p - 'a' + 10);
		else if (base == 16 && *p >= 'A' && *p <= 'F')
			d = (unsigned int)(*p - 'A' + 10);
		else
			return -1;
		if (n > (UINT64_MAX - d) / (unsigned int)base)
			return -1;	/* beyond 64 bits */
		n = n * (unsigned int)base + d;
	}
	if (n > max)
		return -1;
	*v = n;
	return 0;
}

/*
 * --device: dev_parse_ids() reads dfu-util's syntax (hex IDs, "*" and "-"
 * wildcards, IDs and pairs left out); whatever it accepts, no 0x, sign or
 * blank gets through here, so "0x12:34" or "+483:df11" is never read as
 * something the user did not write.
 */
static int device_chars_valid(const char *s)
{
	return *s && strspn(s, "0123456789abcdefABCDEF:,*-") == strlen(s);
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
		if (!device_chars_valid(arg) || dev_parse_ids(arg, f)) {
			say("--device '%s': give VID:PID, or RUNTIME_VID:PID,DFU_VID:PID, each ID in hex as lsusb shows it (up to four digits, no 0x, sign or blank; * for any): --device 1209:df00 (see dfuctl --help)\n",
			    arg);
			return EX_USAGE;
		}
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
	"install the udev rule 60-dfu.rules (make install) and join the group dfu "
	"(usermod -aG dfu $USER, then log in again), or run as root; without it, only "
	"the user at the local seat may open DFU-mode nodes, and only of devices on "
	"ports not known to be built in";

/* The message for a failed open() of d with flags; returns the exit code. */
static int open_failed(const struct dfu_dev_desc *d, int flags, int err)
{
	int writing = (flags & O_ACCMODE) != O_RDONLY;

	if (err == EACCES || err == EPERM) {
		say("%s: permission denied: %s%s\n", d->node, perm_hint,
		    writing ? " (this needs write access to the node)" : "");
	} else if (err == EBUSY) {
		say("%s: busy: another program has it open for writing (a flash in progress?): wait for it to finish; 'fuser -v %s' shows which program it is\n",
		    d->node, d->node);
	} else if (err == EROFS) {
		say("%s: %s: this device does not take downloads (bitCanDnload is 0)\n",
		    d->node, strerror(err));
	} else if (err == EOPNOTSUPP) {
		say("%s: %s: this driver cannot open the node for writing in run-time mode: switch the device to DFU mode first (--detach)\n",
		    d->node, strerror(err));
	} else {
		say("%s: %s\n", d->node, strerror(err));
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
		say("%s: %s needs the node open for writing, and another program has it open so (a flash in progress?): wait for it to finish ('fuser -v %s' shows which program it is), or run as root to %s anyway\n",
		    d->node, what, d->node, what);
	} else if (err == EPERM && ro_why == EROFS) {
		say("%s: %s needs the node open for writing, which a device without downloads (bitCanDnload is 0) refuses: run as root\n",
		    d->node, what);
	} else if (err == EPERM || err == EACCES) {
		say("%s: %s: permission denied: %s\n", d->node, what, perm_hint);
	} else if (err == EBUSY) {
		say("%s: %s: busy: a transfer is in progress; wait for it to end, or end it with dfuctl abort %s\n",
		    d->node, what, d->node);
	} else if (err == ENODEV) {
		say("%s: %s: the device is gone (unplugged or reset); see dfuctl list\n",
		    d->node, what);
	} else {
		say("%s: %s: %s\n", d->node, what, strerror(err));
	}
	return errno_exit(err);
}

int set_alt(int fd, const struct dfu_dev_desc *d, const char *alt)
{
	long num = dev_find_alt(d->alt_names, alt);
	__u32 v;

	if (num < 0) {
		const char *names = d->alt_names;
		struct dev_alt a;
		char esc[1024];

		say("%s has no alt setting '%s'; it has:\n", d->node, alt);
		while (dev_next_alt(&names, &a))
			fprintf(stderr, "%u %s\n", a.num, text_escape(esc, sizeof(esc), a.name));
		return EX_USAGE;
	}
	v = (__u32)num;
	if (ioctl(fd, USB_DFU_IOCTL_SET_ALT, &v)) {
		int err = errno;

		say("%s: selecting alt setting %ld: %s\n", d->node, num,
		    strerror(err));
		return errno_exit(err);
	}
	return EX_OK;
}
