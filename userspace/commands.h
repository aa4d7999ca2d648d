/* SPDX-License-Identifier: GPL-2.0 */
/*
 * commands.h - dfuctl's subcommands and what they share
 *
 * Each cmd_*() takes the arguments after "dfuctl" (argv[0] is the
 * subcommand's name) and returns a sysexits.h code.
 */
#ifndef DFUCTL_COMMANDS_H
#define DFUCTL_COMMANDS_H

#include <getopt.h>
#include <stddef.h>
#include <stdint.h>

#include "device.h"

int cmd_list(int argc, char **argv);
int cmd_flash(int argc, char **argv);
int cmd_upload(int argc, char **argv);
int cmd_recover(int argc, char **argv);
/* info, status, result, clear, abort, detach, reset */
int cmd_ctl(int argc, char **argv);

/* Print msg (and a hint to run dfuctl --help) on stderr; returns EX_USAGE. */
int usage_error(const char *msg);

/* The long options that choose a device; end a command's table with them. */
#define SELECT_OPTIONS \
	{ "serial", required_argument, 0, 'S' }, \
	{ "path", required_argument, 0, 'P' }, \
	{ "device", required_argument, 0, 'D' }

/*
 * Handle one SELECT_OPTIONS option c for f. Returns 0, 1 when c is not
 * one of them, or EX_USAGE after a message.
 */
int select_option(int c, const char *arg, struct dev_filter *f);

/*
 * Open d->node with flags. The errors say what to do: EACCES names the
 * udev rule and the group. Returns the fd, or -1 with *ret set to a
 * sysexits code.
 */
int open_dev(const struct dfu_dev_desc *d, int flags, int *ret);

/* Read a whole image file into *buf (malloc'ed); EX_NOINPUT after a message. */
int load_image(const char *path, uint8_t **buf, size_t *len);

/* Exit code for a failed call on a node: the device left, or I/O. */
int errno_exit(int err);

/*
 * Select the DFU target by number or alt_names name with USB_DFU_IOCTL_SET_ALT.
 * Returns EX_OK, or a sysexits code after a message.
 */
int set_alt(int fd, const struct dfu_dev_desc *d, const char *alt);

#endif
