/* SPDX-License-Identifier: GPL-2.0 */
/*
 * flash.h - validate an image, then write it to a DFU device and verify
 */
#ifndef DFUCTL_FLASH_H
#define DFUCTL_FLASH_H

#include <stddef.h>
#include <stdint.h>

#include "detach.h"
#include "device.h"

struct flash_opts {
	struct dev_filter filter;	/* which device */
	const char *alt;		/* alt setting number or name, or NULL */
	int detach;			/* switch a run-time device to DFU mode */
	int verify;			/* upload and compare afterwards */
	int quiet;			/* no progress, only the result */
	int require_suffix;		/* refuse files without a DFU suffix */
	/*
	 * Commit under USB_DFU_COMMIT_SUFFIX instead of _EXPLICIT: the file
	 * goes to the driver with its suffix, which the driver checks again,
	 * and a file without a valid suffix for the device is refused before
	 * the device is opened.
	 */
	int commit_suffix;
	/* DfuSe devices only */
	int has_address;		/* --address given: where a raw image goes */
	uint32_t address;
	int stay;			/* --stay: do not leave DFU mode at the end */
	/*
	 * Apple devices in DFU mode: seconds to wait for the device to come
	 * back after the image (--timeout), 0 for FLASH_APPLE_WAIT_S
	 */
	int timeout_s;
	/*
	 * --dfu-serial, --detach-delay (after --detach) and --wait: how to
	 * find the device (detach.h)
	 */
	struct detach_opts find;
	/*
	 * --reset: a USB reset at the end when the device is still in DFU
	 * mode on its port (a manifestation-tolerant one), so that it starts
	 * its firmware (dfu-util -R)
	 */
	int reset;
};

#define FLASH_APPLE_WAIT_S	30

/*
 * Flash the len bytes of file (its name is path, for messages) to the
 * device o->filter chooses. The file is judged first (DFU suffix, IDs,
 * DfuSe) and nothing reaches the device when it is refused. The image is
 * manifested only by USB_DFU_IOCTL_COMMIT once it is written whole: a
 * dfuctl that fails or dies before leaves nothing manifested. Returns a
 * sysexits code; every failure has printed what to do.
 */
int flash_image(const char *path, const uint8_t *file, size_t len, const struct flash_opts *o);

/* What to do after a write() or USB_DFU_IOCTL_COMMIT failed with err. */
const char *flash_write_hint(int err);

/*
 * Set the commit policy of the file fd on d: explicit, or suffix with
 * o->commit_suffix. Returns EX_OK, or a sysexits code after a message.
 */
int flash_set_commit(int fd, const struct dfu_dev_desc *d, const struct flash_opts *o);

struct image_info;
/*
 * Flash to the DfuSe device d (d->dfuse) the len bytes of file (its name is path) that
 * image_check() judged in *info: a DfuSe file (info->dfuse), element by
 * element at their addresses, or a raw image at o->address or the start of
 * the alt's memory. Every element is checked against the device's memory
 * map before anything is sent. See flash_dfuse.c. Returns a sysexits code.
 */
int flash_dfuse(const char *path, const uint8_t *file, size_t len, const struct image_info *info,
		const struct dfu_dev_desc *d, const struct flash_opts *o);

#endif
