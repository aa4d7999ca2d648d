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
#include "msg.h"

int cmd_list(int argc, char **argv);
int cmd_flash(int argc, char **argv);
int cmd_upload(int argc, char **argv);
int cmd_recover(int argc, char **argv);
/* erase and unprotect: DfuSe devices */
int cmd_erase(int argc, char **argv);
int cmd_unprotect(int argc, char **argv);
/* dfuse pack */
int cmd_dfuse(int argc, char **argv);
/* info, status, result, clear, abort, detach, reset */
int cmd_ctl(int argc, char **argv);

/* Print msg (and a hint to run dfuctl --help) on stderr; returns EX_USAGE. */
int usage_error(const char *msg);
/* A number, decimal or hex after 0x (no octal, sign or blank), 0 to max: 0, or -1. */
int parse_number(const char *s, uint64_t max, uint64_t *v);

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
 * udev rule and the group, EBUSY the other writer. Returns the fd, or -1
 * with *ret set to a sysexits code.
 */
int open_dev(const struct dfu_dev_desc *d, int flags, int *ret);

/*
 * Open d->node for a request that changes the device's state (ABORT,
 * CLR_STATUS, DETACH, RESET: the driver wants a file opened for writing,
 * or CAP_SYS_ADMIN). When it cannot be opened for writing because another
 * program has it open so (EBUSY) or the device takes no downloads (EROFS),
 * it is opened read-only instead, which is enough for root, and *ro_why
 * says why (0 when opened for writing). Returns the fd, or -1 with *ret
 * set to a sysexits code after a message.
 */
int open_ctl(const struct dfu_dev_desc *d, int *ro_why, int *ret);

/*
 * Report that the request what (a command name: "abort", "detach"...)
 * failed on d with err, on a file that open_ctl() opened (ro_why as it
 * set it), and say what to do. Returns a sysexits code.
 */
int ctl_failed(const struct dfu_dev_desc *d, const char *what, int err, int ro_why);

/* Read a whole image file into *buf (malloc'ed); EX_NOINPUT after a message. */
int load_image(const char *path, uint8_t **buf, size_t *len);

/* Exit code for a failed call on a node: the device left, or I/O. */
int errno_exit(int err);

/*
 * Select the DFU target of this open file by number or alt_names name with
 * USB_DFU_IOCTL_SET_ALT (other files and the sysfs default stay as they are).
 * Returns EX_OK, or a sysexits code after a message.
 */
int set_alt(int fd, const struct dfu_dev_desc *d, const char *alt);

/* ST DfuSe devices (flash_dfuse.c) */
#include <stdio.h>
struct dfuse_zone;
#define DFUSE_MAX_ZONES	128
/*
 * Parse d's memory map (sysfs dfuse_map, read by dev_select()) into z.
 * Returns the number of zones, or -1 after a message.
 */
int dfuse_dev_map(const struct dfu_dev_desc *d, struct dfuse_zone *z, size_t cap);
/* Print the zones of alt (all with -1), one a line after indent. */
void dfuse_print_zones(FILE *out, const char *indent, const struct dfuse_zone *z, size_t n,
		       int alt);

#endif
