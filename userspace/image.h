/* SPDX-License-Identifier: GPL-2.0 */
/*
 * image.h - may this file be flashed to this device?
 *
 * The check a flasher makes before it writes a file to /dev/dfuN: a DFU
 * suffix must name the device by its run-time or its DFU-mode idVendor and
 * idProduct (0xffff matching any), as dfu-util requires. The result says
 * what to do and how many bytes to send (the file without its suffix).
 */
#ifndef DFUCTL_IMAGE_H
#define DFUCTL_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dfuse.h"
#include "suffix.h"

/* The device's IDs; when only one mode's are known, give them for both. */
struct image_ids {
	uint16_t runtime_vid;
	uint16_t runtime_pid;
	uint16_t dfu_vid;
	uint16_t dfu_pid;
};

enum image_verdict {
	IMAGE_ACCEPT = 0,	/* the suffix names this device: flash payload_len bytes */
	IMAGE_NO_SUFFIX,	/* no suffix, nothing to check: the whole file is the image */
	IMAGE_REJECT,		/* the suffix names another device: do not flash */
	IMAGE_CORRUPT,		/* a damaged suffix: do not flash */
	IMAGE_DFUSE,		/* an ST DfuSe file: only for a DfuSe device (dfuse_err says if valid) */
	IMAGE_EMPTY,		/* no bytes to flash */
};

struct image_info {
	enum image_verdict verdict;
	bool has_suffix;		/* a valid suffix, in suffix */
	struct dfu_suffix suffix;
	enum suffix_err suffix_err;	/* SUFFIX_OK, or why there is none */
	/* IMAGE_NO_SUFFIX: does the end look like a damaged suffix anyway? */
	enum suffix_near near;
	bool dfuse;			/* DfuSe prefix or suffix bcdDFU 0x011a */
	enum dfuse_err dfuse_err;	/* with dfuse: DFUSE_OK, or its defect */
	uint8_t dfuse_targets;		/* with dfuse: bTargets */
	size_t payload_len;		/* bytes to send: the file without its suffix */
	char message[512];		/* one line for the user: what and what to do */
};

/* Short name of a verdict: "accept", "no suffix", "reject"... */
const char *image_verdict_str(enum image_verdict v);

/*
 * Judge the @len bytes of @buf for the device @dev; fills all of @out and
 * returns out->verdict. A flasher goes on with IMAGE_ACCEPT, and with
 * IMAGE_NO_SUFFIX after showing the message (dfu-util only warns there);
 * the other verdicts stop it.
 */
enum image_verdict image_check(const uint8_t *buf, size_t len, const struct image_ids *dev,
			       struct image_info *out);

#endif
