// SPDX-License-Identifier: GPL-2.0
/* test_suffix.c - unit tests of userspace/suffix.c */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "suffix.h"
#include "vectors.h"

/* Fields of the public vectors, read from their bytes (tests/vectors/README.md). */
struct vector {
	const char *name;
	size_t len;
	uint16_t vid, pid, did, bcd_dfu;
	uint8_t blength;
	uint32_t crc;
};

static const struct vector vectors[] = {
	{ "example.dfu", 28, 0xffff, 0xffff, 0xffff, 0x0100, 16, 0x2d64ea66 },
	{ "firmware.dfu", 152, 0x1234, 0x4321, 0xdead, 0x0100, 16, 0xc6e75934 },
	{ "metadata.dfu", 35, 0xffff, 0xffff, 0xffff, 0x0100, 29, 0x12dec458 },
	{ "metadata-multiple.dfu", 77, 0xffff, 0xffff, 0xffff, 0x0100, 71, 0x40d82b5a },
	{ "fakedevice01.dfu", 16446, 0x273f, 0x1009, 0xffff, 0x0100, 62, 0xe9c5d505 },
};

#define N_VECTORS (sizeof(vectors) / sizeof(vectors[0]))

/* A deterministic byte pattern, different for each @seed. */
static void fill(uint8_t *buf, size_t len, uint32_t seed)
{
	uint32_t x = seed * 2654435761u + 1;
	size_t i;

	for (i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		buf[i] = (uint8_t)x;
	}
}

/* Append a suffix with @s's fields to @len bytes of @buf; returns the new length. */
static size_t add(uint8_t *buf, size_t len, const struct dfu_suffix *s)
{
	suffix_build(buf, len, s, buf + len);
	return len + SUFFIX_LEN;
}

static void crc_check_value(void **state)
{
	(void)state;
	/* dfu-protocol.md section 10: the complement of CRC-32's 0xcbf43926 */
	assert_int_equal(suffix_crc((const uint8_t *)"123456789", 9), 0x340bc6d9);
	assert_int_equal(suffix_crc(NULL, 0), 0xffffffff);
}

static void reference_vector(void **state)
{
	static const uint8_t expect[] = {
		0xff, 0xff, 0x78, 0x56, 0x34, 0x12, 0x00, 0x01,
		0x55, 0x46, 0x44, 0x10, 0x6f, 0xf1, 0x00, 0x06,
	};
	uint8_t buf[9 + SUFFIX_LEN];
	struct dfu_suffix s;

	(void)state;
	memcpy(buf, "123456789", 9);
	suffix_init(&s);
	s.idProduct = 0x5678;
	s.idVendor = 0x1234;
	assert_int_equal(suffix_build(buf, 9, &s, buf + 9), 0x0600f16f);
	assert_memory_equal(buf + 9, expect, sizeof(expect));
	assert_int_equal(suffix_parse(buf, sizeof(buf), &s), SUFFIX_OK);
	assert_int_equal(s.dwCRC, 0x0600f16f);
}

static void vectors_parse(void **state)
{
	unsigned int i;

	(void)state;
	for (i = 0; i < N_VECTORS; i++) {
		const struct vector *v = &vectors[i];
		struct dfu_suffix s;
		size_t len, payload = 0;
		uint8_t *buf = vector_load(v->name, &len);

		assert_int_equal(len, v->len);
		assert_int_equal(suffix_parse(buf, len, &s), SUFFIX_OK);
		assert_int_equal(s.idVendor, v->vid);
		assert_int_equal(s.idProduct, v->pid);
		assert_int_equal(s.bcdDevice, v->did);
		assert_int_equal(s.bcdDFU, v->bcd_dfu);
		assert_int_equal(s.bLength, v->blength);
		assert_int_equal(s.dwCRC, v->crc);
		assert_int_equal(suffix_remove(buf, len, &payload), SUFFIX_OK);
		assert_int_equal(payload, len - v->blength);
		free(buf);
	}
}

/* What is left of the files with metadata after remove: their payload. */
static void vectors_remove_metadata(void **state)
{
	static const char *const names[] = { "metadata.dfu", "metadata-multiple.dfu" };
	unsigned int i;

	(void)state;
	for (i = 0; i < 2; i++) {
		size_t len, payload = 0;
		uint8_t *buf = vector_load(names[i], &len);

		assert_int_equal(suffix_remove(buf, len, &payload), SUFFIX_OK);
		assert_int_equal(payload, 6);
		assert_memory_equal(buf, "amalia", 6);
		free(buf);
	}
}

/*
 * dfu-suffix's layout: removing the 16 standard bytes and adding them again
 * with the same fields gives the vector byte for byte (a bLength above 16
 * keeps the extra bytes as the end of the data).
 */
static void vectors_rebuild(void **state)
{
	unsigned int i;

	(void)state;
	for (i = 0; i < N_VECTORS; i++) {
		const struct vector *v = &vectors[i];
		uint8_t tail[SUFFIX_LEN];
		struct dfu_suffix s;
		size_t len;
		uint8_t *buf = vector_load(v->name, &len);

		suffix_init(&s);
		s.idVendor = v->vid;
		s.idProduct = v->pid;
		s.bcdDevice = v->did;
		s.bcdDFU = v->bcd_dfu;
		s.bLength = v->blength;
		s.dwCRC = 0x12345678;	/* ignored */
		assert_int_equal(suffix_build(buf, len - SUFFIX_LEN, &s, tail), v->crc);
		assert_memory_equal(tail, buf + len - SUFFIX_LEN, SUFFIX_LEN);
		free(buf);
	}
}

/* add, check, remove: the original bytes again, for several sizes and fields */
static void round_trip(void **state)
{
	static const size_t sizes[] = { 0, 1, 15, 16, 17, 100, 4096, 65537 };
	unsigned int i;

	(void)state;
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		size_t n = sizes[i], payload = 0;
		uint8_t *orig = malloc(n + 1), *buf = malloc(n + SUFFIX_LEN);
		struct dfu_suffix in, out;

		assert_non_null(orig);
		assert_non_null(buf);
		fill(orig, n, i);
		memcpy(buf, orig, n);
		suffix_init(&in);
		in.idVendor = (uint16_t)(0x1000 + i);
		in.idProduct = (uint16_t)(0x2000 + i);
		in.bcdDevice = (uint16_t)(0x0100 * i);
		in.bcdDFU = i & 1 ? 0x011a : 0x0110;
		assert_int_equal(add(buf, n, &in), n + SUFFIX_LEN);
		assert_int_equal(suffix_parse(buf, n + SUFFIX_LEN, &out), SUFFIX_OK);
		assert_int_equal(out.idVendor, in.idVendor);
		assert_int_equal(out.idProduct, in.idProduct);
		assert_int_equal(out.bcdDevice, in.bcdDevice);
		assert_int_equal(out.bcdDFU, in.bcdDFU);
		assert_int_equal(out.bLength, SUFFIX_LEN);
		assert_int_equal(out.dwCRC, suffix_crc(buf, n + SUFFIX_LEN - 4));
		assert_int_equal(suffix_remove(buf, n + SUFFIX_LEN, &payload), SUFFIX_OK);
		assert_int_equal(payload, n);
		if (n)
			assert_memory_equal(buf, orig, n);
		free(orig);
		free(buf);
	}
}

/* dfu-suffix's defaults */
static void defaults(void **state)
{
	struct dfu_suffix s;

	(void)state;
	memset(&s, 0x5a, sizeof(s));
	suffix_init(&s);
	assert_int_equal(s.idVendor, 0xffff);
	assert_int_equal(s.idProduct, 0xffff);
	assert_int_equal(s.bcdDevice, 0xffff);
	assert_int_equal(s.bcdDFU, 0x0100);
	assert_int_equal(s.bLength, 16);
}

/* firmware.dfu with one byte changed, as a test case starts */
static uint8_t *firmware(size_t *len)
{
	return vector_load("firmware.dfu", len);
}

/* Recompute the CRC so that a test's change is the only defect. */
static void fix_crc(uint8_t *buf, size_t len)
{
	uint32_t crc = suffix_crc(buf, len - 4);

	buf[len - 4] = (uint8_t)crc;
	buf[len - 3] = (uint8_t)(crc >> 8);
	buf[len - 2] = (uint8_t)(crc >> 16);
	buf[len - 1] = (uint8_t)(crc >> 24);
}

static void bad_crc(void **state)
{
	struct dfu_suffix s;
	size_t len;
	uint8_t *buf = firmware(&len);

	(void)state;
	buf[0] ^= 0x01;		/* the payload */
	assert_int_equal(suffix_parse(buf, len, &s), SUFFIX_ERR_CRC);
	assert_int_equal(s.dwCRC, 0xc6e75934);	/* fields as read */
	assert_int_equal(s.idVendor, 0x1234);
	buf[0] ^= 0x01;
	buf[len - 1] ^= 0x80;	/* the CRC itself */
	assert_int_equal(suffix_parse(buf, len, &s), SUFFIX_ERR_CRC);
	buf[len - 1] ^= 0x80;
	buf[len - 12] ^= 0x01;	/* idVendor */
	assert_int_equal(suffix_parse(buf, len, &s), SUFFIX_ERR_CRC);
	buf[len - 12] ^= 0x01;
	assert_int_equal(suffix_parse(buf, len, &s), SUFFIX_OK);
	free(buf);
}

static void length_too_small(void **state)
{
	static const uint8_t lengths[] = { 0, 1, 15 };
	struct dfu_suffix s;
	unsigned int i;
	size_t len;
	uint8_t *buf = firmware(&len);

	(void)state;
	for (i = 0; i < sizeof(lengths); i++) {
		buf[len - 5] = lengths[i];
		fix_crc(buf, len);
		assert_int_equal(suffix_parse(buf, len, &s), SUFFIX_ERR_LENGTH_SMALL);
		assert_int_equal(s.bLength, lengths[i]);
	}
	free(buf);
}

static void length_too_big(void **state)
{
	struct dfu_suffix s;
	size_t len, payload = 7;
	uint8_t *buf = vector_load("example.dfu", &len);

	(void)state;
	buf[len - 5] = (uint8_t)(len + 1);	/* 29 > 28 */
	fix_crc(buf, len);
	assert_int_equal(suffix_parse(buf, len, &s), SUFFIX_ERR_LENGTH_BIG);
	assert_int_equal(suffix_remove(buf, len, &payload), SUFFIX_ERR_LENGTH_BIG);
	assert_int_equal(payload, 7);	/* untouched */
	buf[len - 5] = 255;
	fix_crc(buf, len);
	assert_int_equal(suffix_parse(buf, len, &s), SUFFIX_ERR_LENGTH_BIG);
	/* exactly the file: valid, nothing but suffix */
	buf[len - 5] = (uint8_t)len;
	fix_crc(buf, len);
	assert_int_equal(suffix_parse(buf, len, &s), SUFFIX_OK);
	assert_int_equal(suffix_remove(buf, len, &payload), SUFFIX_OK);
	assert_int_equal(payload, 0);
	free(buf);
}

static void truncated(void **state)
{
	struct dfu_suffix s;
	size_t len, n;
	uint8_t *buf = firmware(&len);

	(void)state;
	/* the end cut off: no signature where it should be */
	for (n = 1; n <= 12 && n < len; n++)
		assert_int_equal(suffix_parse(buf, len - n, &s), SUFFIX_ERR_NO_SIGNATURE);
	/* the start cut off: the suffix is there, the CRC is wrong */
	assert_int_equal(suffix_parse(buf + 1, len - 1, &s), SUFFIX_ERR_CRC);
	/* too short for any suffix */
	assert_int_equal(suffix_parse(buf + len - 15, 15, &s), SUFFIX_ERR_TOO_SHORT);
	assert_int_equal(suffix_parse(NULL, 0, &s), SUFFIX_ERR_TOO_SHORT);
	/* a suffix alone, bLength 16: valid (the remaining payload is empty) */
	{
		uint8_t only[SUFFIX_LEN];
		struct dfu_suffix in;

		suffix_init(&in);
		suffix_build(NULL, 0, &in, only);
		assert_int_equal(suffix_parse(only, sizeof(only), &s), SUFFIX_OK);
	}
	free(buf);
}

static void wrong_signature(void **state)
{
	static const char *const sigs[] = { "UFE", "ufd", "DFU", "\0\0\0" };
	struct dfu_suffix s;
	unsigned int i;
	size_t len;
	uint8_t *buf = firmware(&len);

	(void)state;
	for (i = 0; i < 4; i++) {
		memcpy(buf + len - 8, sigs[i], 3);
		fix_crc(buf, len);
		assert_int_equal(suffix_parse(buf, len, &s), SUFFIX_ERR_NO_SIGNATURE);
		assert_int_equal(s.idVendor, 0);	/* zeroed, not read */
		assert_true(suffix_absent(SUFFIX_ERR_NO_SIGNATURE));
	}
	free(buf);
}

static void id_matching(void **state)
{
	struct dfu_suffix s;

	(void)state;
	assert_true(suffix_id_match(0xffff, 0x0000));
	assert_true(suffix_id_match(0xffff, 0xffff));
	assert_true(suffix_id_match(0x1234, 0x1234));
	assert_false(suffix_id_match(0x1234, 0x1235));
	assert_false(suffix_id_match(0x1234, 0xffff));	/* only the file's field is a wildcard */

	suffix_init(&s);
	assert_true(suffix_matches(&s, 0x0483, 0xdf11));
	s.idVendor = 0x0483;
	assert_true(suffix_matches(&s, 0x0483, 0xdf11));
	assert_true(suffix_matches(&s, 0x0483, 0x0001));
	assert_false(suffix_matches(&s, 0x0484, 0xdf11));
	s.idProduct = 0xdf11;
	assert_true(suffix_matches(&s, 0x0483, 0xdf11));
	assert_false(suffix_matches(&s, 0x0483, 0xdf12));
	s.idVendor = 0xffff;
	assert_true(suffix_matches(&s, 0x1d50, 0xdf11));
	assert_false(suffix_matches(&s, 0x1d50, 0x6089));
}

static void messages(void **state)
{
	int i, j;

	(void)state;
	for (i = 0; i < SUFFIX_ERR_COUNT; i++) {
		const char *m = suffix_strerror((enum suffix_err)i);

		assert_non_null(m);
		assert_true(strlen(m) > 10);
		for (j = 0; j < i; j++)
			assert_string_not_equal(m, suffix_strerror((enum suffix_err)j));
		/* every error says what to do next */
		if (i != SUFFIX_OK)
			assert_true(strstr(m, ": ") != NULL);
	}
	assert_string_equal(suffix_strerror(SUFFIX_ERR_COUNT), "unknown DFU suffix error");
	assert_true(suffix_absent(SUFFIX_ERR_TOO_SHORT));
	assert_false(suffix_absent(SUFFIX_ERR_CRC));
	assert_false(suffix_absent(SUFFIX_OK));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(crc_check_value),
		cmocka_unit_test(reference_vector),
		cmocka_unit_test(vectors_parse),
		cmocka_unit_test(vectors_remove_metadata),
		cmocka_unit_test(vectors_rebuild),
		cmocka_unit_test(round_trip),
		cmocka_unit_test(defaults),
		cmocka_unit_test(bad_crc),
		cmocka_unit_test(length_too_small),
		cmocka_unit_test(length_too_big),
		cmocka_unit_test(truncated),
		cmocka_unit_test(wrong_signature),
		cmocka_unit_test(id_matching),
		cmocka_unit_test(messages),
	};

	return cmocka_run_group_tests_name("suffix", tests, NULL, NULL);
}
