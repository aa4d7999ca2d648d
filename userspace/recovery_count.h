/* SPDX-License-Identifier: GPL-2.0 */
/*
 * recovery_count.h - how often dfuctl recover flashed a device since boot
 *
 * One file per device in RCOUNT_DIR (on tmpfs /run: it starts at 0 at each
 * boot). The device's key is its IDs, USB port and serial number:
 *   "VID:PID port=1-1.2 serial=ESCAPED"
 * with the serial's bytes other than printable ASCII, '%' and '\' written
 * as %XX, so that two devices never share a key. The file's name is the
 * SHA-256 of the key (a serial may be longer than a file name can be), and
 * its first line is the key itself: a file whose key differs is another
 * device's, and the next name (-1, -2...) is tried. The file is flock()ed
 * while it is read and written, so that two dfuctl recover never count
 * the same attempt.
 */
#ifndef DFUCTL_RECOVERY_COUNT_H
#define DFUCTL_RECOVERY_COUNT_H

#include <stddef.h>
#include <stdint.h>

#define RCOUNT_DIR	"/run/dfu/recover"

/* The key of a device: see above. */
void rcount_key(uint16_t vid, uint16_t pid, const char *usb_path, const char *serial,
		char *key, size_t size);

/*
 * Count one more attempt for the device with this key, unless it had max
 * already. Returns the attempts so far, this one included (max + 1: none
 * was counted, max were made), with the file's name in path; or 0 when no
 * count can be kept, after a message (then recovery goes on: flashing
 * matters more than the limit).
 */
int rcount_add(const char *key, int max, char *path, size_t size);

#endif
