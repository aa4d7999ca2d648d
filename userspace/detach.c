// SPDX-License-Identifier: GPL-2.0
/*
 * detach.c - switch a run-time device to DFU mode and find it again
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sysexits.h>
#include <linux/usb/dfu.h>

#include "commands.h"
#include "detach.h"

/* wDetachTimeOut is at most 65535 ms; re-enumeration takes a few seconds more */
#define REENUM_MS	5000

/*
 * How to recognise the device in DFU mode: the USB port it is plugged
 * into (a port holds one device), and its serial number if it has one;
 * its idProduct usually changes.
 */
void dfu_mode_filter(const struct dfu_dev_desc *d, const struct dev_filter *user,
		     struct dev_filter *f)
{
	memset(f, 0, sizeof(*f));
	f->mode = "dfu";
	f->path = d->usb_path;
	if (*d->serial)
		f->serial = d->serial;
	/* --device VID:PID,VID:PID names the DFU-mode IDs second */
	if (user && user->n_ids == 2) {
		f->n_ids = 1;
		f->vid[0] = user->vid[1];
		f->pid[0] = user->pid[1];
	}
}

int detach_and_wait(int fd, const struct dfu_dev_desc *rt, const struct dev_filter *user,
		    int ro_why, struct dfu_dev_desc *out)
{
	struct usb_dfu_info info;
	struct dev_filter f;
	__u32 timeout = 0;	/* the driver uses min(wDetachTimeOut, 1000) */
	int ret;

	if (ioctl(fd, USB_DFU_IOCTL_GET_INFO, &info))
		memset(&info, 0, sizeof(info));
	if (ioctl(fd, USB_DFU_IOCTL_DETACH, &timeout)) {
		int err = errno;

		if (err == EINVAL) {
			fprintf(stderr, "dfuctl: %s is already in DFU mode\n", rt->node);
			return EX_USAGE;
		}
		return ctl_failed(rt, "detach", err, ro_why);
	}
	dfu_mode_filter(rt, user, &f);
	ret = dev_wait(&f, rt, info.wDetachTimeOut + REENUM_MS, out);
	if (ret == EX_UNAVAILABLE)
		fprintf(stderr, "dfuctl: %s was detached but did not come back in DFU mode within %u ms; check dmesg and dfuctl list\n",
			rt->node, info.wDetachTimeOut + REENUM_MS);
	return ret;
}
