// SPDX-License-Identifier: GPL-2.0
/* test_image.c - unit tests of userspace/image.c, the check before flashing */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "dfuse_build.h"
#include "image.h"
#include "vectors.h"

#define CAP 4096

static const struct image_ids dev_1234 = { 0x1234, 0x4321, 0x1234, 0x4321 };
static const struct image_ids dev_st = { 0x0483, 0xdf11, 0x0483, 0xdf11 };
/* run-time and DFU mode differ, as on most devices with a DFU bootloader */
static const struct image_ids dev_fake = { 0x273f, 0x1002, 0x273f, 0x1009 };

static void assert_message(const struct image_info *info)
{
	size_t n = strnlen(info->message, sizeof(info->message));

	assert_true(n > 10);
	assert_true(n < sizeof(info->message));
}

static enum image_verdict check_vector(const char *name, const struct image_ids *dev,
				       struct image_info *info)
{
	size_t len;
	uint8_t *buf = vector_load(name, &len);
	enum image_verdict v = image_check(buf, len, dev, info);

	free(buf);
	assert_int_equal(v, info->verdict);
	assert_message(info);
	return v;
}

static void accept_vectors(void **state)
{
	struct image_info info;

	(void)state;
	assert_int_equal(check_vector("firmware.dfu", &dev_1234, &info), IMAGE_ACCEPT);
	assert_true(info.has_suffix);
	assert_int_equal(info.payload_len, 136);
	assert_int_equal(info.suffix.bcdDevice, 0xdead);
	assert_false(info.dfuse);

	/* matched by the DFU-mode IDs only */
	assert_int_equal(check_vector("fakedevice01.dfu", &dev_fake, &info), IMAGE_ACCEPT);
	assert_int_equal(info.payload_len, 16384);
	/* and by the run-time IDs only */
	{
		const struct image_ids rt = { 0x273f, 0x1009, 0x273f, 0x100a };

		assert_int_equal(check_vector("fakedevice01.dfu", &rt, &info), IMAGE_ACCEPT);
	}
	assert_int_equal(check_vector("metadata.dfu", &dev_st, &info), IMAGE_ACCEPT);
	assert_int_equal(info.payload_len, 6);
	assert_int_equal(check_vector("metadata-multiple.dfu", &dev_st, &info), IMAGE_ACCEPT);
	assert_int_equal(info.payload_len, 6);
}

/* example.dfu has 0xffff everywhere: any device takes it */
static void wildcards(void **state)
{
	static const struct image_ids devs[] = {
		{ 0x0000, 0x0000, 0x0000, 0x0000 },
		{ 0x0483, 0xdf11, 0x0483, 0xdf11 },
		{ 0xffff, 0xffff, 0xffff, 0xffff },
	};
	struct image_info info;
	unsigned int i;

	(void)state;
	for (i = 0; i < 3; i++) {
		assert_int_equal(check_vector("example.dfu", &devs[i], &info), IMAGE_ACCEPT);
		assert_int_equal(info.payload_len, 12);
	}
}

/* a wildcard in one field only */
static void wildcard_one_field(void **state)
{
	uint8_t buf[64];
	struct image_info info;
	struct dfu_suffix s;
	const struct image_ids a = { 0x1111, 0x2222, 0x1111, 0x2222 };
	const struct image_ids b = { 0x1111, 0x2223, 0x1111, 0x2223 };

	(void)state;
	memset(buf, 0x42, 32);
	suffix_init(&s);
	s.idProduct = 0x2222;		/* idVendor stays 0xffff */
	suffix_build(buf, 32, &s, buf + 32);
	assert_int_equal(image_check(buf, 48, &a, &info), IMAGE_ACCEPT);
	assert_int_equal(image_check(buf, 48, &b, &info), IMAGE_REJECT);
	suffix_init(&s);
	s.idVendor = 0x1111;		/* idProduct stays 0xffff */
	suffix_build(buf, 32, &s, buf + 32);
	assert_int_equal(image_check(buf, 48, &a, &info), IMAGE_ACCEPT);
	assert_int_equal(image_check(buf, 48, &b, &info), IMAGE_ACCEPT);
	assert_int_equal(info.payload_len, 32);
}

static void reject_names_both(void **state)
{
	struct image_info info;

	(void)state;
	assert_int_equal(check_vector("firmware.dfu", &dev_fake, &info), IMAGE_REJECT);
	assert_non_null(strstr(info.message, "1234:4321"));	/* the image's */
	assert_non_null(strstr(info.message, "273f:1002"));	/* the device's, run-time */
	assert_non_null(strstr(info.message, "273f:1009"));	/* and DFU mode */
	assert_int_equal(info.payload_len, 136);

	/* a vendor from one mode and a product from the other is no match */
	{
		const struct image_ids mixed = { 0x1234, 0x0001, 0x0002, 0x4321 };

		assert_int_equal(check_vector("firmware.dfu", &mixed, &info), IMAGE_REJECT);
	}
	assert_int_equal(check_vector("fakedevice01.dfu", &dev_1234, &info), IMAGE_REJECT);
	assert_non_null(strstr(info.message, "273f:1009"));
	assert_non_null(strstr(info.message, "1234:4321"));
}

static void no_suffix(void **state)
{
	static const uint8_t plain[] = "just some firmware bytes, no suffix";
	struct image_info info;

	(void)state;
	assert_int_equal(image_check(plain, sizeof(plain), &dev_st, &info), IMAGE_NO_SUFFIX);
	assert_false(info.has_suffix);
	assert_int_equal(info.suffix_err, SUFFIX_ERR_NO_SIGNATURE);
	assert_int_equal(info.payload_len, sizeof(plain));
	assert_non_null(strstr(info.message, "0483:df11"));
	assert_message(&info);
	assert_int_equal(image_check(plain, 5, &dev_st, &info), IMAGE_NO_SUFFIX);
	assert_int_equal(info.suffix_err, SUFFIX_ERR_TOO_SHORT);
	assert_int_equal(info.payload_len, 5);
}

static void corrupt(void **state)
{
	struct image_info info;
	size_t len;
	uint8_t *buf = vector_load("firmware.dfu", &len);

	(void)state;
	buf[10] ^= 0xff;
	assert_int_equal(image_check(buf, len, &dev_1234, &info), IMAGE_CORRUPT);
	assert_int_equal(info.suffix_err, SUFFIX_ERR_CRC);
	assert_false(info.has_suffix);
	assert_string_equal(info.message, suffix_strerror(SUFFIX_ERR_CRC));
	buf[10] ^= 0xff;
	buf[len - 5] = 8;	/* bLength */
	assert_int_equal(image_check(buf, len, &dev_1234, &info), IMAGE_CORRUPT);
	assert_int_equal(info.suffix_err, SUFFIX_ERR_LENGTH_SMALL);
	free(buf);
}

static void empty(void **state)
{
	uint8_t buf[SUFFIX_LEN];
	struct image_info info;
	struct dfu_suffix s;

	(void)state;
	assert_int_equal(image_check(NULL, 0, &dev_st, &info), IMAGE_EMPTY);
	assert_message(&info);
	suffix_init(&s);
	suffix_build(NULL, 0, &s, buf);
	assert_int_equal(image_check(buf, sizeof(buf), &dev_st, &info), IMAGE_EMPTY);
	assert_true(info.has_suffix);
	assert_int_equal(info.payload_len, 0);
	assert_message(&info);
}

static void dfuse(void **state)
{
	uint8_t buf[CAP];
	struct image_info info;
	size_t len = dfuse_build_st(buf, CAP);

	(void)state;
	assert_int_equal(image_check(buf, len, &dev_st, &info), IMAGE_DFUSE);
	assert_true(info.dfuse);
	assert_int_equal(info.dfuse_err, DFUSE_OK);
	assert_int_equal(info.dfuse_targets, 1);
	assert_int_equal(info.payload_len, len - 16);
	assert_non_null(strstr(info.message, "DfuSe"));
	assert_message(&info);

	/* made for another device: that comes first */
	assert_int_equal(image_check(buf, len, &dev_1234, &info), IMAGE_REJECT);

	/* a damaged DfuSe file says what is wrong */
	buf[11] = 'X';
	reseal(buf, len);
	assert_int_equal(image_check(buf, len, &dev_st, &info), IMAGE_DFUSE);
	assert_int_equal(info.dfuse_err, DFUSE_ERR_TARGET_SIGNATURE);
	assert_non_null(strstr(info.message, "Target"));

	/* DfuSe prefix, no suffix */
	assert_int_equal(image_check(buf, len - 16, &dev_st, &info), IMAGE_DFUSE);
	assert_int_equal(info.dfuse_err, DFUSE_ERR_SUFFIX);
	assert_false(info.has_suffix);
}

/* bcdDFU 0x011a marks DfuSe even when the prefix is missing */
static void dfuse_by_suffix(void **state)
{
	uint8_t buf[64];
	struct image_info info;
	struct dfu_suffix s;

	(void)state;
	memset(buf, 0, 40);
	suffix_init(&s);
	s.bcdDFU = SUFFIX_BCD_DFUSE;
	suffix_build(buf, 40, &s, buf + 40);
	assert_int_equal(image_check(buf, 56, &dev_st, &info), IMAGE_DFUSE);
	assert_int_equal(info.dfuse_err, DFUSE_ERR_PREFIX);
}

static void verdict_names(void **state)
{
	(void)state;
	assert_string_equal(image_verdict_str(IMAGE_ACCEPT), "accept");
	assert_string_equal(image_verdict_str(IMAGE_NO_SUFFIX), "no suffix");
	assert_string_equal(image_verdict_str(IMAGE_REJECT), "reject");
	assert_string_equal(image_verdict_str(IMAGE_CORRUPT), "corrupt");
	assert_string_equal(image_verdict_str(IMAGE_DFUSE), "DfuSe");
	assert_string_equal(image_verdict_str(IMAGE_EMPTY), "empty");
	assert_string_equal(image_verdict_str((enum image_verdict)99), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(accept_vectors),
		cmocka_unit_test(wildcards),
		cmocka_unit_test(wildcard_one_field),
		cmocka_unit_test(reject_names_both),
		cmocka_unit_test(no_suffix),
		cmocka_unit_test(corrupt),
		cmocka_unit_test(empty),
		cmocka_unit_test(dfuse),
		cmocka_unit_test(dfuse_by_suffix),
		cmocka_unit_test(verdict_names),
	};

	return cmocka_run_group_tests_name("image", tests, NULL, NULL);
}
