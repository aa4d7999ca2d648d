// SPDX-License-Identifier: GPL-2.0
/*
 * suffix.c - the DFU file suffix (DFU 1.1, appendix B) at the end of a
 * written stream: is it there, is it whole, and is it for this device?
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/crc32.h>
#include <linux/string.h>
#include "dfu.h"

static bool dfu_id_matches(u16 suffix_id, u16 id)
{
	return suffix_id == 0xffff || suffix_id == id;
}

/**
 * dfu_suffix_check() - look for a DFU suffix at the end of a stream
 * @dfu: the device the stream is for
 * @buf: the stream's last @fill bytes; a suffix must lie within them
 * @fill: bytes in @buf
 * @crc: CRC-32 (initial value ~0, not inverted, as dwCRC) of the bytes of
 *	the stream before @buf
 *
 * A suffix is valid with the signature "UFD", a bLength of 16 or more and
 * a dwCRC over everything before it. Its idVendor and idProduct must name
 * the device (0xffff matches any) or the run-time device the driver
 * detached on its port (dfu_dev.runtime_vid), as dfu-util accepts either.
 *
 * Context: any.
 * Return: bLength of a valid suffix for the device; 0 when there is no
 * valid suffix; -EMEDIUMTYPE for an image made for another device or a
 * DfuSe file (bcdDFU 0x011a), with one kernel-log line saying why.
 */
int dfu_suffix_check(struct dfu_dev *dfu, const u8 *buf, u32 fill, u32 crc)
{
	const u8 *end = buf + fill;
	u16 vid, pid, bcd;
	u8 len;

	if (fill < DFU_SUFFIX_LEN || memcmp(end - 8, "UFD", 3))
		return 0;
	len = end[-5];
	if (len < DFU_SUFFIX_LEN || len > fill)
		return 0;
	if (crc32_le(crc, buf, fill - 4) != get_unaligned_le32(end - 4))
		return 0;

	pid = get_unaligned_le16(end - 14);
	vid = get_unaligned_le16(end - 12);
	bcd = get_unaligned_le16(end - 10);
	if (bcd == DFU_VERSION_DFUSE && !dfu->dfuse) {
		dev_err(&dfu->dev, "the image is a DfuSe file (suffix bcdDFU 0x011a), not an image for this plain DFU device: not manifested\n");
		return -EMEDIUMTYPE;
	}
	if (!(dfu_id_matches(vid, dfu->info.idVendor) &&
	      dfu_id_matches(pid, dfu->info.idProduct)) &&
	    !(dfu->has_runtime_id && dfu_id_matches(vid, dfu->runtime_vid) &&
	      dfu_id_matches(pid, dfu->runtime_pid))) {
		dev_err(&dfu->dev, "the image is for %04x:%04x, not for this %04x:%04x: not manifested\n",
			vid, pid, dfu->info.idVendor, dfu->info.idProduct);
		return -EMEDIUMTYPE;
	}
	dev_info(&dfu->dev, "DFU suffix for %04x:%04x checked and removed (%u bytes)\n",
		 vid, pid, len);
	return len;
}
