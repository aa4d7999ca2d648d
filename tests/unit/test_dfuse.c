// SPDX-License-Identifier: GPL-2.0
/* test_dfuse.c - unit tests of userspace/dfuse.c */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "dfuse.h"
#include "dfuse_build.h"
#include "vectors.h"

#define CAP 4096

/* Offsets in the ST vector (one target, one 4-byte element): UM0391 layout. */
#define IMAGE_SIZE	6
#define TARGETS		10
#define T0		11
#define T0_SIZE		(T0 + 266)
#define T0_ELEMENTS	(T0 + 270)
#define E0		(T0 + 274)
#define E0_ADDRESS	E0
#define E0_SIZE		(E0 + 4)
#define ST_LEN		313
#define ST_BODY		(ST_LEN - 16)

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static size_t st(uint8_t *buf)
{
	size_t len = dfuse_build_st(buf, CAP);

	assert_int_equal(len, ST_LEN);
	return len;
}

/* The ST vector of dfu-protocol.md section 11 parses with its fields. */
static void st_vector(void **state)
{
	static const uint8_t prefix[] = { 0x44, 0x66, 0x75, 0x53, 0x65, 0x01, 0x39, 0x01, 0x00, 0x00, 0x01 };
	static const uint8_t data[] = { 0xde, 0xad, 0xbe, 0xef };
	uint8_t buf[CAP];
	struct dfuse_element e;
	struct dfuse_target t;
	struct dfuse_file f;
	size_t len = st(buf);

	(void)state;
	assert_memory_equal(buf, prefix, sizeof(prefix));
	/* dwCRC from the reference, computed elsewhere */
	assert_int_equal(buf[len - 4] | buf[len - 3] << 8 | buf[len - 2] << 16 |
			 (uint32_t)buf[len - 1] << 24, 0xbb1aad11);

	assert_true(dfuse_is_dfuse(buf, len));
	assert_int_equal(dfuse_parse(buf, len, &f), DFUSE_OK);
	assert_int_equal(f.version, 1);
	assert_int_equal(f.image_size, 313);
	assert_int_equal(f.n_targets, 1);
	assert_int_equal(f.body_len, ST_BODY);
	assert_int_equal(f.suffix.idVendor, 0x0483);
	assert_int_equal(f.suffix.idProduct, 0xdf11);
	assert_int_equal(f.suffix.bcdDevice, 0);
	assert_int_equal(f.suffix.bcdDFU, 0x011a);

	assert_int_equal(dfuse_first_target(&f), T0);
	assert_int_equal(dfuse_target_at(&f, T0, &t), DFUSE_OK);
	assert_int_equal(t.alt, 0);
	assert_int_equal(t.named, 1);
	assert_int_equal(t.name_len, 5);
	assert_memory_equal(t.name, "ST...", 5);
	assert_int_equal(t.size, 12);
	assert_int_equal(t.n_elements, 1);
	assert_int_equal(t.elements, E0);
	assert_int_equal(t.next, ST_BODY);

	assert_int_equal(dfuse_element_at(&f, t.elements, &e), DFUSE_OK);
	assert_int_equal(e.address, 0x08000000);
	assert_int_equal(e.size, 4);
	assert_ptr_equal(e.data, buf + E0 + 8);
	assert_memory_equal(e.data, data, 4);
	assert_int_equal(e.next, ST_BODY);
}

/* Two targets, one unnamed, three elements (one empty); fwupd's DFUImageSize. */
static void several_targets(void **state)
{
	static const uint8_t a[] = { 1, 2, 3 }, b[600] = { 9 }, c[] = { 7 };
	static const struct build_element e0[] = {
		{ 0x08000000, a, sizeof(a) },
		{ 0x08004000, b, sizeof(b) },
	};
	static const struct build_element e1[] = {
		{ 0x1fff7800, c, 0 },
		{ 0x1fffc000, c, sizeof(c) },
	};
	static const struct build_target targets[] = {
		{ 0, "Internal Flash", e0, 2 },
		{ 1, NULL, e1, 2 },
	};
	struct build_file spec = {
		.targets = targets, .n_targets = 2, .vid = 0x0483, .pid = 0xdf11,
		.did = 0x2200, .size_without_suffix = true,
	};
	static const uint32_t addrs[] = { 0x08000000, 0x08004000, 0x1fff7800, 0x1fffc000 };
	static const uint32_t sizes[] = { 3, 600, 0, 1 };
	uint8_t buf[CAP];
	struct dfuse_element e;
	struct dfuse_target t;
	struct dfuse_file f;
	size_t len = dfuse_build(buf, CAP, &spec), off;
	unsigned int i, k = 0;
	uint32_t j;

	(void)state;
	assert_true(len > 0);
	assert_int_equal(dfuse_parse(buf, len, &f), DFUSE_OK);
	assert_int_equal(f.image_size, len - 16);
	assert_int_equal(f.n_targets, 2);
	off = dfuse_first_target(&f);
	for (i = 0; i < f.n_targets; i++) {
		assert_int_equal(dfuse_target_at(&f, off, &t), DFUSE_OK);
		assert_int_equal(t.alt, i);
		assert_int_equal(t.named, i == 0);
		assert_int_equal(t.name_len, i == 0 ? 14 : 0);
		assert_int_equal(t.n_elements, 2);
		off = t.elements;
		for (j = 0; j < t.n_elements; j++, k++) {
			assert_int_equal(dfuse_element_at(&f, off, &e), DFUSE_OK);
			assert_int_equal(e.address, addrs[k]);
			assert_int_equal(e.size, sizes[k]);
			assert_true(e.data >= buf && e.data + e.size <= buf + f.body_len);
			off = e.next;
		}
		assert_int_equal(off, t.next);
		off = t.next;
	}
	assert_int_equal(k, 4);
	assert_int_equal(off, f.body_len);
}

/* A suffix longer than 16 bytes: the data ends before its extra bytes. */
static void long_suffix(void **state)
{
	static const uint8_t a[] = { 1, 2, 3, 4 };
	static const struct build_element e = { 0x08000000, a, 4 };
	static const struct build_target t = { 0, "x", &e, 1 };
	struct build_file spec = { .targets = &t, .n_targets = 1, .vid = 1, .pid = 2, .extra_suffix = 9 };
	uint8_t buf[CAP];
	struct dfuse_file f;
	size_t len = dfuse_build(buf, CAP, &spec);

	(void)state;
	assert_int_equal(dfuse_parse(buf, len, &f), DFUSE_OK);
	assert_int_equal(f.suffix.bLength, 25);
	assert_int_equal(f.body_len, len - 25);
}

/* Change @buf with a test's defect, fix the CRC, and expect @err at @offset. */
static void expect(uint8_t *buf, size_t len, enum dfuse_err err, size_t offset)
{
	struct dfuse_file f;

	reseal(buf, len);
	assert_int_equal(dfuse_parse(buf, len, &f), err);
	assert_int_equal(f.err_offset, offset);
}

static void bad_prefix(void **state)
{
	uint8_t buf[CAP];
	struct dfuse_file f;
	size_t len = st(buf);

	(void)state;
	buf[4] = 'E';		/* "DfuSE" */
	expect(buf, len, DFUSE_ERR_PREFIX, 0);
	assert_false(dfuse_is_dfuse(buf, len));
	buf[4] = 'e';
	buf[5] = 2;		/* bVersion */
	expect(buf, len, DFUSE_ERR_VERSION, 0);
	assert_int_equal(dfuse_parse(buf, 10, &f), DFUSE_ERR_TOO_SHORT);
	assert_int_equal(dfuse_parse(NULL, 0, &f), DFUSE_ERR_TOO_SHORT);
}

static void size_mismatch(void **state)
{
	uint8_t buf[CAP];
	size_t len = st(buf);

	(void)state;
	put32(buf + IMAGE_SIZE, ST_LEN - 1);
	expect(buf, len, DFUSE_ERR_IMAGE_SIZE, IMAGE_SIZE);
	put32(buf + IMAGE_SIZE, ST_LEN + 1);
	expect(buf, len, DFUSE_ERR_IMAGE_SIZE, IMAGE_SIZE);
	put32(buf + IMAGE_SIZE, 0);
	expect(buf, len, DFUSE_ERR_IMAGE_SIZE, IMAGE_SIZE);
	/* both conventions pass: with the suffix (dfuse-pack), without (fwupd) */
	put32(buf + IMAGE_SIZE, ST_BODY);
	expect(buf, len, DFUSE_OK, 0);
	put32(buf + IMAGE_SIZE, ST_LEN);
	expect(buf, len, DFUSE_OK, 0);
}

static void target_count(void **state)
{
	uint8_t buf[CAP];
	struct dfuse_file f;
	size_t len = st(buf);

	(void)state;
	buf[TARGETS] = 2;	/* beyond the file */
	expect(buf, len, DFUSE_ERR_TARGET_TRUNCATED, ST_BODY);
	reseal(buf, len);
	dfuse_parse(buf, len, &f);
	assert_int_equal(f.err_target, 1);
	buf[TARGETS] = 255;
	expect(buf, len, DFUSE_ERR_TARGET_TRUNCATED, ST_BODY);
	buf[TARGETS] = 0;
	expect(buf, len, DFUSE_ERR_NO_TARGETS, TARGETS);
}

static void target_signature(void **state)
{
	uint8_t buf[CAP];
	size_t len = st(buf);

	(void)state;
	buf[T0 + 5] = 'X';
	expect(buf, len, DFUSE_ERR_TARGET_SIGNATURE, T0);
}

static void target_size(void **state)
{
	uint8_t buf[CAP];
	size_t len = st(buf);

	(void)state;
	put32(buf + T0_SIZE, 13);		/* past the data */
	expect(buf, len, DFUSE_ERR_TARGET_SIZE, T0);
	put32(buf + T0_SIZE, 0xffffffff);
	expect(buf, len, DFUSE_ERR_TARGET_SIZE, T0);
	put32(buf + T0_SIZE, 11);		/* the element runs past it */
	expect(buf, len, DFUSE_ERR_TARGET_SIZE, E0);
	put32(buf + T0_SIZE, 4);		/* without the element header */
	expect(buf, len, DFUSE_ERR_TARGET_SIZE, E0);
	put32(buf + T0_SIZE, 12);
	put32(buf + T0_ELEMENTS, 0);		/* elements do not fill it */
	expect(buf, len, DFUSE_ERR_TARGET_SIZE, T0);
}

static void element_count(void **state)
{
	uint8_t buf[CAP];
	struct dfuse_file f;
	size_t len = st(buf);

	(void)state;
	put32(buf + T0_ELEMENTS, 2);		/* beyond the file */
	expect(buf, len, DFUSE_ERR_ELEMENT_TRUNCATED, ST_BODY);
	dfuse_parse(buf, len, &f);
	assert_int_equal(f.err_target, 0);
	assert_int_equal(f.err_element, 1);
	put32(buf + T0_ELEMENTS, 0xffffffff);
	expect(buf, len, DFUSE_ERR_ELEMENT_TRUNCATED, ST_BODY);
}

static void element_beyond_file(void **state)
{
	uint8_t buf[CAP];
	size_t len = st(buf);

	(void)state;
	put32(buf + E0_SIZE, 5);
	expect(buf, len, DFUSE_ERR_ELEMENT_SIZE, E0);
	put32(buf + E0_SIZE, 0x1000);
	expect(buf, len, DFUSE_ERR_ELEMENT_SIZE, E0);
	put32(buf + E0_SIZE, 0xffffffff);
	expect(buf, len, DFUSE_ERR_ELEMENT_SIZE, E0);
	put32(buf + E0_SIZE, 4);
	put32(buf + E0_ADDRESS, 0xfffffffd);	/* runs past 4 GiB */
	expect(buf, len, DFUSE_ERR_ELEMENT_ADDRESS, E0);
	put32(buf + E0_ADDRESS, 0xfffffffc);	/* ends at the last address */
	expect(buf, len, DFUSE_OK, 0);
}

static void bad_suffix(void **state)
{
	uint8_t buf[CAP];
	struct dfuse_file f;
	size_t len = st(buf);

	(void)state;
	buf[100] ^= 1;				/* CRC no longer matches */
	assert_int_equal(dfuse_parse(buf, len, &f), DFUSE_ERR_SUFFIX);
	assert_int_equal(f.suffix_err, SUFFIX_ERR_CRC);
	assert_int_equal(f.err_offset, len - 16);
	buf[100] ^= 1;
	assert_int_equal(dfuse_parse(buf, len - 16, &f), DFUSE_ERR_SUFFIX);	/* none */
	assert_int_equal(f.suffix_err, SUFFIX_ERR_NO_SIGNATURE);
	assert_int_equal(dfuse_parse(buf, len - 1, &f), DFUSE_ERR_SUFFIX);	/* cut */
	buf[len - 10] = 0x00;			/* bcdDFU 0x0100: a plain DFU suffix */
	buf[len - 9] = 0x01;
	expect(buf, len, DFUSE_ERR_SUFFIX_VERSION, len - 16);
	buf[len - 10] = 0x1a;
	buf[len - 5] = 255;			/* bLength over the target */
	expect(buf, len, DFUSE_ERR_TARGET_TRUNCATED, T0);
}

/* A prefix and a suffix, nothing between: no targets, or a suffix over the prefix. */
static void prefix_only(void **state)
{
	static const uint8_t prefix[] = { 'D', 'f', 'u', 'S', 'e', 1, 27, 0, 0, 0, 0 };
	uint8_t buf[11 + 16];
	struct dfu_suffix s;
	struct dfuse_file f;

	(void)state;
	memcpy(buf, prefix, 11);
	suffix_init(&s);
	s.bcdDFU = SUFFIX_BCD_DFUSE;
	suffix_build(buf, 11, &s, buf + 11);
	assert_int_equal(dfuse_parse(buf, sizeof(buf), &f), DFUSE_ERR_NO_TARGETS);
	assert_int_equal(f.err_offset, TARGETS);
	s.bLength = 20;				/* 4 extra bytes inside the prefix */
	suffix_build(buf, 11, &s, buf + 11);
	assert_int_equal(dfuse_parse(buf, sizeof(buf), &f), DFUSE_ERR_TOO_SHORT);
}

static void truncated(void **state)
{
	uint8_t buf[CAP];
	size_t len = st(buf), cut;

	(void)state;
	/* cut inside the element and sealed again: the target runs past the end */
	cut = E0 + 10;
	memmove(buf + cut, buf + len - 16, 16);
	put32(buf + IMAGE_SIZE, (uint32_t)(cut + 16));
	expect(buf, cut + 16, DFUSE_ERR_TARGET_SIZE, T0);
	/* cut inside the target prefix */
	len = st(buf);
	cut = T0 + 100;
	memmove(buf + cut, buf + len - 16, 16);
	put32(buf + IMAGE_SIZE, (uint32_t)(cut + 16));
	expect(buf, cut + 16, DFUSE_ERR_TARGET_TRUNCATED, T0);
}

static void trailing(void **state)
{
	uint8_t buf[CAP];
	size_t len = st(buf);

	(void)state;
	memmove(buf + ST_BODY + 3, buf + ST_BODY, 16);
	memset(buf + ST_BODY, 0xee, 3);
	put32(buf + IMAGE_SIZE, (uint32_t)(len + 3));
	expect(buf, len + 3, DFUSE_ERR_TRAILING, ST_BODY);
}

/* A plain DFU vector is not DfuSe. */
static void plain_vector(void **state)
{
	struct dfuse_file f;
	size_t len;
	uint8_t *buf = vector_load("firmware.dfu", &len);

	(void)state;
	assert_false(dfuse_is_dfuse(buf, len));
	assert_int_equal(dfuse_parse(buf, len, &f), DFUSE_ERR_PREFIX);
	free(buf);
}

static void messages(void **state)
{
	int i, j;

	(void)state;
	for (i = 0; i < DFUSE_ERR_COUNT; i++) {
		const char *m = dfuse_strerror((enum dfuse_err)i);

		assert_non_null(m);
		assert_true(strlen(m) > 10);
		for (j = 0; j < i; j++)
			assert_string_not_equal(m, dfuse_strerror((enum dfuse_err)j));
		if (i != DFUSE_OK)
			assert_true(strstr(m, ": ") != NULL);
	}
	assert_string_equal(dfuse_strerror(DFUSE_ERR_COUNT), "unknown DfuSe error");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(st_vector),
		cmocka_unit_test(several_targets),
		cmocka_unit_test(long_suffix),
		cmocka_unit_test(bad_prefix),
		cmocka_unit_test(size_mismatch),
		cmocka_unit_test(target_count),
		cmocka_unit_test(target_signature),
		cmocka_unit_test(target_size),
		cmocka_unit_test(element_count),
		cmocka_unit_test(element_beyond_file),
		cmocka_unit_test(bad_suffix),
		cmocka_unit_test(prefix_only),
		cmocka_unit_test(truncated),
		cmocka_unit_test(trailing),
		cmocka_unit_test(plain_vector),
		cmocka_unit_test(messages),
	};

	return cmocka_run_group_tests_name("dfuse", tests, NULL, NULL);
}
