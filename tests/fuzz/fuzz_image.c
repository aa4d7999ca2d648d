// SPDX-License-Identifier: GPL-2.0
/*
 * fuzz_image.c - libFuzzer harness for image.c
 *
 * The first 8 bytes of the input are the device's run-time and DFU-mode
 * VID:PID, the rest is the file. Besides memory errors (ASan, UBSan) it
 * checks that each verdict agrees with the file: an accepted file has a
 * suffix that names the device and payload_len = len - bLength, a rejected
 * one names neither ID pair, and every message is a non-empty string.
 * Each file is judged as it is and with its CRC fixed.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

static void one(const uint8_t *data, size_t len, const struct image_ids *ids)
{
	const struct image_ids dev = *ids;
	struct image_info info;
	enum image_verdict v;
	struct dfu_suffix s;
	size_t n;

	v = image_check(data, len, &dev, &info);
	n = strnlen(info.message, sizeof(info.message));
	CHECK(v == info.verdict);
	CHECK(n > 0 && n < sizeof(info.message));
	CHECK(info.payload_len <= len);
	CHECK(strcmp(image_verdict_str(v), "unknown"));

	switch (v) {
	case IMAGE_ACCEPT:
		CHECK(info.has_suffix && !info.dfuse && info.payload_len > 0);
		CHECK(suffix_parse(data, len, &s) == SUFFIX_OK);
		CHECK(info.payload_len == len - s.bLength);
		CHECK(suffix_matches(&s, dev.runtime_vid, dev.runtime_pid) ||
		      suffix_matches(&s, dev.dfu_vid, dev.dfu_pid));
		break;
	case IMAGE_REJECT:
		CHECK(info.has_suffix);
		CHECK(!suffix_matches(&info.suffix, dev.runtime_vid, dev.runtime_pid) &&
		      !suffix_matches(&info.suffix, dev.dfu_vid, dev.dfu_pid));
		break;
	case IMAGE_NO_SUFFIX:
		CHECK(!info.has_suffix && suffix_absent(info.suffix_err));
		CHECK(info.payload_len == len && len > 0);
		break;
	case IMAGE_CORRUPT:
		CHECK(!info.has_suffix && info.suffix_err != SUFFIX_OK &&
		      !suffix_absent(info.suffix_err));
		break;
	case IMAGE_DFUSE:
		CHECK(info.dfuse);
		CHECK(dfuse_is_dfuse(data, len) || info.suffix.bcdDFU == SUFFIX_BCD_DFUSE);
		break;
	case IMAGE_EMPTY:
		CHECK(info.payload_len == 0);
		break;
	default:
		CHECK(0);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct image_ids dev = { 0x0483, 0xdf11, 0x0483, 0xdf11 };
	uint8_t *fixed;

	if (len >= 8) {
		dev.runtime_vid = (uint16_t)(data[0] | data[1] << 8);
		dev.runtime_pid = (uint16_t)(data[2] | data[3] << 8);
		dev.dfu_vid = (uint16_t)(data[4] | data[5] << 8);
		dev.dfu_pid = (uint16_t)(data[6] | data[7] << 8);
		data += 8;
		len -= 8;
	}
	one(data, len, &dev);
	fixed = crc_fixed_copy(data, len);
	if (fixed)
		one(fixed, len, &dev);
	free(fixed);
	return 0;
}
