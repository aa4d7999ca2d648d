/* SPDX-License-Identifier: GPL-2.0 */
/* detach.h - switch a run-time device to DFU mode and find it again */
#ifndef DFUCTL_DETACH_H
#define DFUCTL_DETACH_H

#include "device.h"

/*
 * A filter that finds device d again in DFU mode after it re-enumerated:
 * by serial number, or by USB port; user's second --device ID if given.
 */
void dfu_mode_filter(const struct dfu_dev_desc *d, const struct dev_filter *user,
		     struct dev_filter *f);

/*
 * USB_DFU_IOCTL_DETACH on fd (the run-time node rt, from open_ctl(), which
 * set ro_why), then wait for the device in DFU mode, without a fixed
 * sleep. Returns EX_OK with *out filled, or a sysexits code after a
 * message.
 */
int detach_and_wait(int fd, const struct dfu_dev_desc *rt, const struct dev_filter *user,
		    int ro_why, struct dfu_dev_desc *out);

#endif
