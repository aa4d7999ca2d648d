// SPDX-License-Identifier: GPL-2.0
/* suffix.c - parse, build and match the DFU file suffix (DFU 1.1 appendix B) */
#include <string.h>
#include <zlib.h>

#include "le.h"
#include "suffix.h"

/* Offsets of the fields from the start of the 16 standard bytes. */
#define OFF_BCD_DEVICE	0
#define OFF_ID_PRODUCT	2
#define OFF_ID_VENDOR	4
#define OFF_BCD_DFU	6
#define OFF_SIGNATURE	8
#define OFF_LENGTH	11
#define OFF_CRC		12

static const char *const messages[SUFFIX_ERR_COUNT] = {
	[SUFFIX_OK] = "valid DFU suffix",
	[SUFFIX_ERR_TOO_SHORT] =
		"the file is shorter than a DFU suffix (16 bytes), so it has none: "
		"add one with 'dfuctl suffix add FILE --vid VID --pid PID'",
	[SUFFIX_ERR_NO_SIGNATURE] =
		"no DFU suffix (no \"UFD\" signature 8 bytes before the end): "
		"add one with 'dfuctl suffix add FILE --vid VID --pid PID'",
	[SUFFIX_ERR_LENGTH_SMALL] =
		"damaged DFU suffix: its bLength is below 16: "
		"get a fresh copy of the image from its vendor",
	[SUFFIX_ERR_LENGTH_BIG] =
		"damaged DFU suffix: its bLength is larger than the file, so the file "
		"was cut short: download or copy it again",
	[SUFFIX_ERR_CRC] =
		"damaged DFU suffix: its CRC does not match the file, which was changed "
		"or cut after the suffix was added: get a fresh copy, or if you changed "
		"it on purpose, cut the old suffix off with 'dfuctl suffix remove --force "
		"FILE' and add a new one with 'dfuctl suffix add'",
};

const char *suffix_strerror(enum suffix_err err)
{
	if ((unsigned int)err >= SUFFIX_ERR_COUNT)
		return "unknown DFU suffix error";
	return messages[err];
}

bool suffix_absent(enum suffix_err err)
{
	return err == SUFFIX_ERR_TOO_SHORT || err == SUFFIX_ERR_NO_SIGNATURE;
}

/* zlib's crc32 with its final XOR undone, fed in chunks that fit a uInt. */
static uint32_t crc_update(uint32_t dfu_crc, const uint8_t *buf, size_t len)
{
	uLong c = ~dfu_crc & 0xffffffffUL;

	if (len)
		c = crc32_z(c, buf, len);
	return ~(uint32_t)c;
}

uint32_t suffix_crc(const uint8_t *buf, size_t len)
{
	return crc_update(0xffffffffU, buf, len);
}

enum suffix_err suffix_parse(const uint8_t *buf, size_t len, struct dfu_suffix *out)
{
	const uint8_t *s;

	memset(out, 0, sizeof(*out));
	if (len < SUFFIX_LEN)
		return SUFFIX_ERR_TOO_SHORT;
	s = buf + len - SUFFIX_LEN;
	if (memcmp(s + OFF_SIGNATURE, "UFD", 3))
		return SUFFIX_ERR_NO_SIGNATURE;
	out->bcdDevice = le16_get(s + OFF_BCD_DEVICE);
	out->idProduct = le16_get(s + OFF_ID_PRODUCT);
	out->idVendor = le16_get(s + OFF_ID_VENDOR);
	out->bcdDFU = le16_get(s + OFF_BCD_DFU);
	out->bLength = s[OFF_LENGTH];
	out->dwCRC = le32_get(s + OFF_CRC);
	if (out->bLength < SUFFIX_LEN)
		return SUFFIX_ERR_LENGTH_SMALL;
	if (out->bLength > len)
		return SUFFIX_ERR_LENGTH_BIG;
	if (suffix_crc(buf, len - 4) != out->dwCRC)
		return SUFFIX_ERR_CRC;
	return SUFFIX_OK;
}

enum suffix_err suffix_remove(const uint8_t *buf, size_t len, size_t *payload_len)
{
	struct dfu_suffix s;
	enum suffix_err err = suffix_parse(buf, len, &s);

	if (err == SUFFIX_OK)
		*payload_len = len - s.bLength;
	return err;
}

enum suffix_near suffix_near_miss(const uint8_t *buf, size_t len, size_t *payload_len,
				  size_t *suffix_end)
{
	struct dfu_suffix s;
	enum suffix_err err = suffix_parse(buf, len, &s);
	const uint8_t *t;
	size_t k, end, same;

	if (err == SUFFIX_OK || len < SUFFIX_LEN)
		return SUFFIX_NEAR_NONE;
	if (!suffix_absent(err)) {
		*suffix_end = len;
		*payload_len = s.bLength >= SUFFIX_LEN && s.bLength <= len ?
			len - s.bLength : len - SUFFIX_LEN;
		return SUFFIX_NEAR_DAMAGED;
	}
	/* a valid suffix that ends k bytes before the end */
	for (k = 1; k <= SUFFIX_TRAILING_MAX && k <= len - SUFFIX_LEN; k++) {
		end = len - k;
		if (buf[end - 8] == 'U' && buf[end - 7] == 'F' && buf[end - 6] == 'D' &&
		    suffix_parse(buf, end, &s) == SUFFIX_OK) {
			*payload_len = end - s.bLength;
			*suffix_end = end;
			return SUFFIX_NEAR_TRAILING;
		}
	}
	t = buf + len - SUFFIX_LEN;
	same = (t[OFF_SIGNATURE] == 'U') + (t[OFF_SIGNATURE + 1] == 'F') +
	       (t[OFF_SIGNATURE + 2] == 'D');
	if (same == 2 && t[OFF_LENGTH] == SUFFIX_LEN) {
		*payload_len = len - SUFFIX_LEN;
		*suffix_end = len;
		return SUFFIX_NEAR_SIGNATURE;
	}
	return SUFFIX_NEAR_NONE;
}

const char *suffix_near_str(enum suffix_near n)
{
	switch (n) {
	case SUFFIX_NEAR_DAMAGED:
		return "it ends in a damaged DFU suffix";
	case SUFFIX_NEAR_TRAILING:
		return "it has a valid DFU suffix, followed by more bytes (padding or a newline added after it?)";
	case SUFFIX_NEAR_SIGNATURE:
		return "its last 16 bytes look like a DFU suffix whose \"UFD\" signature is damaged";
	default:
		return "nothing like a DFU suffix at its end";
	}
}

void suffix_init(struct dfu_suffix *s)
{
	memset(s, 0, sizeof(*s));
	s->bcdDevice = SUFFIX_ANY;
	s->idProduct = SUFFIX_ANY;
	s->idVendor = SUFFIX_ANY;
	s->bcdDFU = SUFFIX_BCD_DFU_1_0;
	s->bLength = SUFFIX_LEN;
}

uint32_t suffix_build(const uint8_t *data, size_t len, const struct dfu_suffix *s,
		      uint8_t out[SUFFIX_LEN])
{
	uint32_t crc;

	le16_put(out + OFF_BCD_DEVICE, s->bcdDevice);
	le16_put(out + OFF_ID_PRODUCT, s->idProduct);
	le16_put(out + OFF_ID_VENDOR, s->idVendor);
	le16_put(out + OFF_BCD_DFU, s->bcdDFU);
	memcpy(out + OFF_SIGNATURE, "UFD", 3);
	out[OFF_LENGTH] = s->bLength;
	crc = crc_update(suffix_crc(data, len), out, OFF_CRC);
	le32_put(out + OFF_CRC, crc);
	return crc;
}

bool suffix_id_match(uint16_t field, uint16_t id)
{
	return field == SUFFIX_ANY || field == id;
}

bool suffix_matches(const struct dfu_suffix *s, uint16_t vid, uint16_t pid)
{
	return suffix_id_match(s->idVendor, vid) && suffix_id_match(s->idProduct, pid);
}
