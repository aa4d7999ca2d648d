// SPDX-License-Identifier: GPL-2.0
/* image.c - decide whether a firmware file fits a device before flashing */
#include <stdio.h>
#include <string.h>

#include "image.h"

const char *image_verdict_str(enum image_verdict v)
{
	switch (v) {
	case IMAGE_ACCEPT:
		return "accept";
	case IMAGE_NO_SUFFIX:
		return "no suffix";
	case IMAGE_REJECT:
		return "reject";
	case IMAGE_CORRUPT:
		return "corrupt";
	case IMAGE_DFUSE:
		return "DfuSe";
	case IMAGE_EMPTY:
		return "empty";
	}
	return "unknown";
}

static enum image_verdict verdict(struct image_info *out, enum image_verdict v)
{
	out->verdict = v;
	return v;
}

static enum image_verdict check_dfuse(const uint8_t *buf, size_t len, struct image_info *out)
{
	struct dfuse_file f;

	out->dfuse = true;
	out->dfuse_err = dfuse_parse(buf, len, &f);
	out->dfuse_targets = f.n_targets;
	if (out->dfuse_err)
		snprintf(out->message, sizeof(out->message),
			 "ST DfuSe file, but at offset %zu: %s", f.err_offset,
			 dfuse_strerror(out->dfuse_err));
	else
		snprintf(out->message, sizeof(out->message),
			 "ST DfuSe file (%u target%s): it is only for an ST DfuSe device "
			 "(bcdDFUVersion 0x011a; dfuctl list shows its memory map), where "
			 "dfuctl flash writes each element to its address; this device is not one: "
			 "use the image built for it",
			 f.n_targets, f.n_targets == 1 ? "" : "s");
	return verdict(out, IMAGE_DFUSE);
}

enum image_verdict image_check(const uint8_t *buf, size_t len, const struct image_ids *dev,
			       struct image_info *out)
{
	const struct dfu_suffix *s = &out->suffix;
	size_t keep, end;

	memset(out, 0, sizeof(*out));
	out->payload_len = len;
	if (!len) {
		snprintf(out->message, sizeof(out->message),
			 "the file is empty: pick the firmware image for %04x:%04x",
			 dev->dfu_vid, dev->dfu_pid);
		return verdict(out, IMAGE_EMPTY);
	}

	out->suffix_err = suffix_parse(buf, len, &out->suffix);
	if (suffix_absent(out->suffix_err)) {
		memset(&out->suffix, 0, sizeof(out->suffix));
		if (dfuse_is_dfuse(buf, len))
			return check_dfuse(buf, len, out);
		out->near = suffix_near_miss(buf, len, &keep, &end);
		if (out->near)
			snprintf(out->message, sizeof(out->message),
				 "no valid DFU suffix, but %s: those bytes would be flashed as "
				 "firmware: get a fresh copy of the file, or see 'dfuctl suffix "
				 "check FILE' and cut them off with 'dfuctl suffix remove --force FILE'",
				 suffix_near_str(out->near));
		else
			snprintf(out->message, sizeof(out->message),
				 "no DFU suffix, so the file cannot be checked against the device "
				 "%04x:%04x (DFU mode %04x:%04x): make sure it is the right image, or "
				 "add a suffix with 'dfuctl suffix add FILE --vid VID --pid PID'",
				 dev->runtime_vid, dev->runtime_pid, dev->dfu_vid, dev->dfu_pid);
		return verdict(out, IMAGE_NO_SUFFIX);
	}
	if (out->suffix_err) {
		snprintf(out->message, sizeof(out->message), "%s",
			 suffix_strerror(out->suffix_err));
		return verdict(out, IMAGE_CORRUPT);
	}

	out->has_suffix = true;
	out->payload_len = len - s->bLength;
	if (!suffix_matches(s, dev->runtime_vid, dev->runtime_pid) &&
	    !suffix_matches(s, dev->dfu_vid, dev->dfu_pid)) {
		snprintf(out->message, sizeof(out->message),
			 "the image is for %04x:%04x, but the device is %04x:%04x "
			 "(%04x:%04x in DFU mode): use the image built for this device",
			 s->idVendor, s->idProduct, dev->runtime_vid, dev->runtime_pid,
			 dev->dfu_vid, dev->dfu_pid);
		return verdict(out, IMAGE_REJECT);
	}
	if (s->bcdDFU == SUFFIX_BCD_DFUSE || dfuse_is_dfuse(buf, len))
		return check_dfuse(buf, len, out);
	if (!out->payload_len) {
		snprintf(out->message, sizeof(out->message),
			 "the file is only a DFU suffix, with no firmware before it: "
			 "pick the firmware image for %04x:%04x", dev->dfu_vid, dev->dfu_pid);
		return verdict(out, IMAGE_EMPTY);
	}
	snprintf(out->message, sizeof(out->message),
		 "DFU suffix for %04x:%04x matches the device: %zu bytes to flash, "
		 "without the %u-byte suffix",
		 s->idVendor, s->idProduct, out->payload_len, s->bLength);
	return verdict(out, IMAGE_ACCEPT);
}
