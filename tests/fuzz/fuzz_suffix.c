// SPDX-License-Identifier: GPL-2.0
/*
 * fuzz_suffix.c - libFuzzer harness for suffix.c
 *
 * Besides memory errors (ASan, UBSan) it checks properties: a suffix that
 * parses is rebuilt to the same 16 bytes from its fields; removing it
 * leaves len - bLength bytes; a CRC error means the CRC really differs;
 * and a suffix built over any input parses back with its fields. Each
 * input is parsed as it is and with its CRC fixed.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "suffix.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

static void parse(const uint8_t *data, size_t len)
{
	struct dfu_suffix s;
	uint8_t tail[SUFFIX_LEN];
	enum suffix_err err;
	size_t payload = (size_t)-1;

	err = suffix_parse(data, len, &s);
	CHECK((unsigned int)err < SUFFIX_ERR_COUNT);
	CHECK(suffix_strerror(err) != NULL);
	CHECK(suffix_remove(data, len, &payload) == err);
	if (err == SUFFIX_OK) {
		CHECK(s.bLength >= SUFFIX_LEN && s.bLength <= len);
		CHECK(payload == len - s.bLength);
		CHECK(suffix_build(data, len - SUFFIX_LEN, &s, tail) == s.dwCRC);
		CHECK(!memcmp(tail, data + len - SUFFIX_LEN, SUFFIX_LEN));
	} else {
		CHECK(payload == (size_t)-1);
	}
	if (err == SUFFIX_ERR_CRC)
		CHECK(suffix_crc(data, len - 4) != s.dwCRC);
	if (suffix_absent(err))
		CHECK(s.bLength == 0 && s.idVendor == 0);
}

/* build over the input, with fields taken from it, and parse back */
static void build(const uint8_t *data, size_t len)
{
	struct dfu_suffix s, back;
	size_t payload;
	uint8_t *copy;

	suffix_init(&s);
	if (len >= 8) {
		s.idVendor = (uint16_t)(data[0] | data[1] << 8);
		s.idProduct = (uint16_t)(data[2] | data[3] << 8);
		s.bcdDevice = (uint16_t)(data[4] | data[5] << 8);
		s.bcdDFU = (uint16_t)(data[6] | data[7] << 8);
	}
	copy = malloc(len + SUFFIX_LEN);
	CHECK(copy != NULL);
	if (len)
		memcpy(copy, data, len);
	suffix_build(copy, len, &s, copy + len);
	CHECK(suffix_parse(copy, len + SUFFIX_LEN, &back) == SUFFIX_OK);
	CHECK(back.idVendor == s.idVendor && back.idProduct == s.idProduct &&
	      back.bcdDevice == s.bcdDevice && back.bcdDFU == s.bcdDFU &&
	      back.bLength == SUFFIX_LEN);
	CHECK(suffix_remove(copy, len + SUFFIX_LEN, &payload) == SUFFIX_OK && payload == len);
	free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	uint8_t *fixed = crc_fixed_copy(data, len);

	parse(data, len);
	if (fixed)
		parse(fixed, len);
	free(fixed);
	build(data, len);
	return 0;
}
