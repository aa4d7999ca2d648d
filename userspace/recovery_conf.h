/* SPDX-License-Identifier: GPL-2.0 */
/*
 * recovery_conf.h - read /etc/dfu/recovery.conf, every line of it
 *
 * One device per line, '#' at the start of a line or after a blank starts
 * a comment:
 *   VID:PID image=/ABS/PATH sha256=HEX64 [serial=SERIAL] [alt=N|NAME] [verify=yes|no]
 * and once, anywhere in the file, for every device:
 *   commit = suffix|explicit
 * VID and PID are 4 hex digits each. image= must be an absolute path and
 * sha256= 64 hex digits: both are mandatory, as an appliance must never
 * flash an image nobody vouched for. serial= matches a device whose serial
 * number is SERIAL, or whose by-serial name (udev's ID_SERIAL_SHORT: white
 * space and unsafe characters replaced by "_") is SERIAL.
 *
 * The whole file is read and every error is reported, each as
 * "FILE:LINE: what is wrong": CRLF line endings, control characters,
 * unknown or repeated keys, relative or over-long image paths, over-long
 * serials, a bad sha256=, a second commit line, and two lines that can
 * match the same device. Nothing here touches a device or an image.
 */
#ifndef DFUCTL_RECOVERY_CONF_H
#define DFUCTL_RECOVERY_CONF_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define RCONF_SERIAL_MAX	383	/* bytes: a USB string descriptor in UTF-8 */
#define RCONF_ALT_MAX		255
#define RCONF_PATH_MAX		(PATH_MAX - 1)
#define RCONF_LINE_MAX		8192

struct rconf_entry {
	int lineno;
	uint16_t vid, pid;
	char serial[RCONF_SERIAL_MAX + 1];	/* "" for any serial */
	char alt[RCONF_ALT_MAX + 1];		/* "" for the node's alt setting */
	char image[RCONF_PATH_MAX + 1];
	char sha256[65];			/* lower case */
	int verify;
};

struct rconf {
	int commit_suffix;	/* commit = suffix */
	int commit_line;	/* the line that set it, 0 for the default (explicit) */
	struct rconf_entry *entries;
	size_t n;
};

/*
 * Read all of in (named name in messages) into *c. Each error goes to err
 * as "PREFIXNAME:LINE: what is wrong\n" (prefix may be ""). Returns the
 * number of errors (0: *c holds every entry), or -1 when memory or reading
 * failed (after a message). Free *c with rconf_free() in every case.
 */
int rconf_parse(FILE *in, const char *name, const char *prefix, struct rconf *c, FILE *err);

void rconf_free(struct rconf *c);

/*
 * The by-serial form of serial into out (size bytes; at most as long as
 * serial): what udev's usb_id makes of it for ID_SERIAL_SHORT. Leading and
 * trailing white space go, each run of white space becomes one "_", and
 * every byte that is not alphanumeric, one of "#+-.:=@_", part of a valid
 * UTF-8 sequence or a "\x" escape becomes "_".
 */
void rconf_by_serial(const char *serial, char *out, size_t size);

/* Does entry e name the device vid:pid with this serial ("" for none)? */
int rconf_entry_matches(const struct rconf_entry *e, uint16_t vid, uint16_t pid,
			const char *serial);

/*
 * The entries that name the device: *first gets the first (NULL for
 * none). Returns how many match; rconf_parse() refuses files where two
 * lines can match one device, so more than 1 means a bug.
 */
size_t rconf_find(const struct rconf *c, uint16_t vid, uint16_t pid, const char *serial,
		  const struct rconf_entry **first);

#endif
