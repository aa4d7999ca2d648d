// SPDX-License-Identifier: GPL-2.0
/*
 * fuzz_dfuse.c - libFuzzer harness for dfuse.c
 *
 * Besides memory errors (ASan, UBSan) it checks that a file that parses
 * can be walked: every target and element reads back without error, every
 * view lies in the data before the suffix, elements fill their target and
 * the targets end where the suffix starts; and that an error's offset is
 * inside the file. Each input is parsed as it is and with its CRC fixed.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "dfuse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

static void walk(const struct dfuse_file *f, const uint8_t *data)
{
	const uint8_t *end = data + f->body_len;
	struct dfuse_element e;
	struct dfuse_target t;
	size_t off = dfuse_first_target(f);
	unsigned int i;
	uint32_t j;

	for (i = 0; i < f->n_targets; i++) {
		CHECK(dfuse_target_at(f, off, &t) == DFUSE_OK);
		CHECK(t.name >= data && t.name + DFUSE_NAME_LEN <= end);
		CHECK(t.name_len <= DFUSE_NAME_LEN);
		CHECK(t.name_len == DFUSE_NAME_LEN || t.name[t.name_len] == 0);
		CHECK(t.next <= f->body_len && t.next - t.elements == t.size);
		off = t.elements;
		for (j = 0; j < t.n_elements; j++) {
			CHECK(dfuse_element_at(f, off, &e) == DFUSE_OK);
			CHECK(e.data >= data && e.data + e.size <= end);
			CHECK(e.next <= t.next);
			CHECK(!e.size || e.address <= UINT32_MAX - (e.size - 1));
			off = e.next;
		}
		CHECK(off == t.next);
		off = t.next;
	}
	CHECK(off == f->body_len);
}

static void one(const uint8_t *data, size_t len)
{
	struct dfuse_file f;
	enum dfuse_err err = dfuse_parse(data, len, &f);

	CHECK((unsigned int)err < DFUSE_ERR_COUNT);
	CHECK(dfuse_strerror(err) != NULL);
	CHECK(f.buf == data && f.len == len);
	if (err == DFUSE_OK) {
		CHECK(dfuse_is_dfuse(data, len));
		CHECK(f.version == 1 && f.n_targets > 0);
		CHECK(f.suffix.bcdDFU == SUFFIX_BCD_DFUSE);
		CHECK(f.body_len + f.suffix.bLength == len);
		CHECK(f.image_size == len || f.image_size == f.body_len);
		walk(&f, data);
	} else {
		CHECK(f.err_offset <= len);
	}
	if (err == DFUSE_ERR_SUFFIX)
		CHECK(f.suffix_err != SUFFIX_OK);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	uint8_t *fixed = crc_fixed_copy(data, len);

	one(data, len);
	if (fixed)
		one(fixed, len);
	free(fixed);
	return 0;
}
