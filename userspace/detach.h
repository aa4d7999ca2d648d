/* SPDX-License-Identifier: GPL-2.0 */
/* detach.h - switch a run-time device to DFU mode and find it again */
#ifndef DFUCTL_DETACH_H
#define DFUCTL_DETACH_H

#include "device.h"

/*
 * How to find the device again after the DETACH, and how long to wait
 * (dfuctl flash --detach, dfuctl detach). All zero: the defaults.
 */
struct detach_opts {
	const char *cmd;	/* "flash", "detach" (default): for messages */
	const char *dfu_serial;	/* --dfu-serial S: its serial number in DFU mode */
	int delay_ms;		/* --detach-delay: 0 for wDetachTimeOut + 5 s */
	/*
	 * --wait [SECONDS]: 0 without it, DEV_FOREVER without SECONDS. A
	 * device that matches nothing is waited for instead of refused, and
	 * after a DETACH the device is waited for that long (at least the
	 * detach delay).
	 */
	long long wait_ms;
};

/* The options of struct detach_opts; a command's table ends with them. */
#define DETACH_OPT_DFU_SERIAL	0x101
#define DETACH_OPT_WAIT		0x102
#define DETACH_OPT_DELAY	0x103
#define DETACH_OPTIONS \
	{ "dfu-serial", required_argument, 0, DETACH_OPT_DFU_SERIAL }, \
	{ "wait", optional_argument, 0, DETACH_OPT_WAIT }, \
	{ "detach-delay", required_argument, 0, DETACH_OPT_DELAY }

/*
 * Handle one DETACH_OPTIONS option c (getopt_long()'s optarg in arg) for
 * o. "--wait SECONDS" takes argv[optind] when it is a number, and
 * advances optind past it. Returns 0, 1 when c is not one of them, or
 * EX_USAGE after a message.
 */
int detach_option(int c, const char *arg, int argc, char **argv, struct detach_opts *o);

/*
 * A filter that finds device d again in DFU mode on its USB port, after it
 * re-enumerated (a manifestation that reset it); user's DFU-mode IDs
 * (--device RUNTIME,DFU) if given.
 */
void dfu_mode_filter(const struct dfu_dev_desc *d, const struct dev_filter *user,
		     struct dev_filter *f);

/*
 * USB_DFU_IOCTL_DETACH on fd (the run-time node rt, from open_ctl(), which
 * set ro_why), with wValue the device's wDetachTimeOut, then find the
 * device in DFU mode among the DFU-mode nodes that were not there before,
 * by these rules, in this order:
 *   1. the same USB port (sysfs port path or udev ID_PATH) as rt;
 *   2. after the detach delay, anywhere: the one device that has the
 *      DFU-mode IDs of user's --device RUNTIME,DFU and o->dfu_serial, when
 *      either is given, else the one with rt's serial number (not empty);
 * the DFU-mode IDs and o->dfu_serial must match on the same port too.
 * Says on stderr which rule found it. Several candidates, or devices that
 * no rule ties to rt: EX_USAGE after a message naming them, never a guess;
 * nothing: EX_UNAVAILABLE. Returns EX_OK with *out filled.
 */
int detach_and_find(int fd, const struct dfu_dev_desc *rt, const struct dev_filter *user,
		    const struct detach_opts *o, int ro_why, struct dfu_dev_desc *out);

/* detach_and_find() with the default options, for dfuctl detach. */
int detach_and_wait(int fd, const struct dfu_dev_desc *rt, const struct dev_filter *user,
		    int ro_why, struct dfu_dev_desc *out);

#endif
