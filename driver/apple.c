// SPDX-License-Identifier: GPL-2.0
/*
 * apple.c - the SecureROM of an Apple device in DFU mode (05ac:1227)
 *
 * The ROM speaks a DFU 1.0 dialect of its own (protocol reference,
 * section 16). It appends every DFU_DNLOAD to the image and drops the last
 * 16 bytes it received as a DFU suffix, which the host must therefore
 * append; it moves through the manifestation states only on DFU_GETSTATUS
 * and checks the image after a USB reset in dfuMANIFEST-WAIT-RESET. Then
 * it leaves the bus: as 05ac:1281 (recovery mode, Apple's own protocol,
 * which this driver leaves alone) when it boots the image, as 05ac:1227
 * again when it rejects it. DFU_CLRSTATUS and DFU_ABORT end its DFU
 * session the same way, with nothing booted.
 *
 * stream.c cuts the image into blocks and calls this file for the suffix
 * and the end of the image; the requests are proto.c's.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/crc32.h>
#include <linux/delay.h>
#include <linux/string.h>
#include "dfu.h"

/*
 * The suffix the ROM expects, without its dwCRC: bcdDevice and idProduct
 * 0xffff (any), idVendor 0x05ac, bcdDFU 0x0100, "UFD", bLength 16 (DFU 1.1
 * appendix B, little-endian fields in reverse order).
 */
static const u8 dfu_apple_suffix_head[DFU_SUFFIX_LEN - 4] = {
	0xff, 0xff, 0xff, 0xff, 0xac, 0x05, 0x00, 0x01, 'U', 'F', 'D',
	DFU_SUFFIX_LEN,
};

/*
 * DFU_GETSTATUS requests after the zero-length DFU_DNLOAD: the ROM needs
 * two (dfuMANIFEST, then dfuMANIFEST-WAIT-RESET); a few more are allowed
 * for a slow one. They are sent back to back: the ROM's bwPollTimeout of
 * 50 ms is not a time it needs (libirecovery does not wait either).
 */
#define DFU_APPLE_MANIFEST_POLLS	8

/* Longest identity field printed, in bytes */
#define DFU_APPLE_FIELD_MAX		48

/**
 * dfu_apple_suffix() - write the suffix the ROM drops after the image
 * @out: DFU_SUFFIX_LEN bytes
 * @crc: CRC-32 of the image so far, as stream.c computes it (crc32_le(),
 *	started at ~0, not inverted)
 *
 * The dwCRC covers the image and the suffix up to itself, as DFU 1.1
 * appendix B defines it.
 *
 * Context: any.
 */
void dfu_apple_suffix(u8 *out, u32 crc)
{
	memcpy(out, dfu_apple_suffix_head, sizeof(dfu_apple_suffix_head));
	crc = crc32_le(crc, out, sizeof(dfu_apple_suffix_head));
	put_unaligned_le32(crc, out + sizeof(dfu_apple_suffix_head));
}

/**
 * dfu_apple_manifest() - end the image and bring the ROM to the reset
 * @dfu: the device, the whole image and its suffix sent
 * @block: index of the next block, for wValue (the ROM ignores it)
 *
 * Sends the zero-length DFU_DNLOAD, then DFU_GETSTATUS until the ROM
 * reports dfuMANIFEST-WAIT-RESET, and asks the caller for the USB reset
 * that makes it check the image (DFU_FLAG_RESET): a reset in an earlier
 * state is ignored by the ROM.
 *
 * Context: process; io_mutex held.
 * Return: 0 with DFU_FLAG_RESET set; -EIO if the ROM reports an error or
 * another state; -ETIMEDOUT if it never reaches dfuMANIFEST-WAIT-RESET;
 * or a transfer error.
 */
int dfu_apple_manifest(struct dfu_dev *dfu, u32 block)
{
	struct usb_dfu_status st;
	unsigned int i;
	int ret;

	ret = dfu_request(dfu, DFU_DNLOAD, block & 0xffff, NULL, 0);
	if (ret < 0)
		return ret;
	for (i = 0; i < DFU_APPLE_MANIFEST_POLLS; i++) {
		ret = dfu_get_status(dfu, &st);
		if (ret)
			return ret;
		if (st.bStatus != USB_DFU_STATUS_OK)
			break;
		if (st.bState == USB_DFU_STATE_MANIFEST_WAIT_RESET) {
			set_bit(DFU_FLAG_RESET, &dfu->flags);
			return 0;
		}
		if (st.bState != USB_DFU_STATE_MANIFEST_SYNC &&
		    st.bState != USB_DFU_STATE_MANIFEST)
			break;
	}
	dev_err(&dfu->dev, "the ROM is in %s (%s) after the image, not dfuMANIFEST-WAIT-RESET: nothing booted\n",
		dfu_state_name(st.bState), dfu_status_name(st.bStatus));
	return i == DFU_APPLE_MANIFEST_POLLS ? -ETIMEDOUT : -EIO;
}

/* A short bound for requests to a ROM that is leaving the bus */
#define DFU_APPLE_ABORT_TIMEOUT_MS	1000
/*
 * DFU_ABORT requests tried when the ROM stalls them: a device can stall a
 * request that arrives while it is still ending one a signal cut short.
 */
#define DFU_APPLE_ABORT_TRIES		3

/**
 * dfu_apple_abort() - end the ROM's DFU session, and with it the image
 * @dfu: the device
 *
 * DFU_ABORT makes the ROM drop what it received, leave the bus and come
 * back in DFU mode, from any state: a partial image, or a whole one short
 * of its reset, is then never booted. Not killable, as a dying writer
 * calls it; a stalled request is tried again after 10 to 20 ms, up to
 * DFU_APPLE_ABORT_TRIES times.
 *
 * Context: process; io_mutex held.
 */
void dfu_apple_abort(struct dfu_dev *dfu)
{
	unsigned int i;

	for (i = 0; i < DFU_APPLE_ABORT_TRIES; i++) {
		if (i)
			usleep_range(10000, 20000);
		if (dfu_request_timeout(dfu, DFU_ABORT, 0, NULL, 0,
					DFU_APPLE_ABORT_TIMEOUT_MS, false) != -EPIPE)
			return;
	}
	dev_warn(&dfu->dev, "the ROM stalls DFU_ABORT: it keeps the partial image, never booted, until the next write ends its session\n");
}

/**
 * dfu_apple_prepare() - check that the ROM waits for an image
 * @dfu: the device
 *
 * A ROM that another program left in the middle of an image (or in
 * dfuERROR) is not resumed: its session is ended (dfu_apple_abort()), and
 * it comes back in DFU mode as a new node.
 *
 * Context: process; io_mutex held.
 * Return: 0 in dfuIDLE; -ENODEV after ending a session; or a transfer
 * error.
 */
int dfu_apple_prepare(struct dfu_dev *dfu)
{
	struct usb_dfu_status st;
	int ret;

	ret = dfu_get_status(dfu, &st);
	if (ret)
		return ret;
	if (st.bState == USB_DFU_STATE_DFU_IDLE)
		return 0;
	dev_err(&dfu->dev, "the ROM is in %s (%s), not dfuIDLE: its DFU session is ended, and it comes back in DFU mode as a new node\n",
		dfu_state_name(st.bState), dfu_status_name(st.bStatus));
	dfu_apple_abort(dfu);
	return -ENODEV;
}

/*
 * The value of KEY:VALUE in the ROM's serial number string, up to the next
 * space; "?" when the field is missing or has bytes a log line must not.
 */
static int dfu_apple_field(const char *serial, const char *key,
			   const char **val)
{
	size_t klen = strlen(key);
	const char *p = serial;
	size_t n, i;

	while (p && (p = strstr(p, key))) {
		if ((p == serial || p[-1] == ' ') && p[klen] == ':') {
			p += klen + 1;
			n = strcspn(p, " ");
			for (i = 0; i < n; i++)
				if (p[i] < 0x21 || p[i] > 0x7e)
					break;
			if (n && i == n && n <= DFU_APPLE_FIELD_MAX) {
				*val = p;
				return n;
			}
			break;
		}
		p += klen;
	}
	*val = "?";
	return 1;
}

/**
 * dfu_apple_log() - say which chip the ROM is, once the node exists
 * @dfu: an Apple device in DFU mode
 *
 * The chip (CPID), board (BDID) and ECID decide which signed images the
 * ROM boots; SRTG names the ROM's version. They come from the serial
 * number string usbcore read at enumeration.
 *
 * Context: probe.
 */
void dfu_apple_log(struct dfu_dev *dfu)
{
	static const char *const keys[] = { "CPID", "BDID", "ECID", "SRTG" };
	const char *serial = dfu->udev->serial;
	const char *v[ARRAY_SIZE(keys)];
	int n[ARRAY_SIZE(keys)];
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(keys); i++)
		n[i] = dfu_apple_field(serial, keys[i], &v[i]);
	dev_info(&dfu->dev, "Apple DFU mode: CPID:%.*s BDID:%.*s ECID:%.*s SRTG:%.*s\n",
		 n[0], v[0], n[1], v[1], n[2], v[2], n[3], v[3]);
}
