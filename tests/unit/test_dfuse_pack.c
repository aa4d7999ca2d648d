// SPDX-License-Identifier: GPL-2.0
/*
 * test_dfuse_pack.c - unit tests of the DfuSe writer (dfuse_pack()) and the
 * memory-map reader (dfuse_map_*()) of userspace/dfuse.c
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "dfuse.h"
#include "dfuse_build.h"

#define CAP 8192

/*
 * The DfuSe vector of dfu-protocol.md section 11, from its content: alt 0
 * named "ST...", one element DE AD BE EF at 0x08000000, suffix 0483:df11
 * bcdDevice 0, DFUImageSize with the suffix (dfuse-pack's convention).
 */
static const uint8_t st_data[] = { 0xde, 0xad, 0xbe, 0xef };
static const struct dfuse_pack_element st_element = { 0x08000000, sizeof(st_data), st_data };
static const struct dfuse_pack_target st_target = { 0, "ST...", 1, &st_element };
static const struct dfuse_pack_file st_file = {
	.vid = 0x0483, .pid = 0xdf11, .bcd_device = 0,
	.image_size_with_suffix = true, .n_targets = 1, .targets = &st_target,
};

static uint32_t get32(const uint8_t *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

/* pack() of the vector's content gives the vector, byte for byte. */
static void st_vector(void **state)
{
	static const uint8_t prefix[] = { 0x44, 0x66, 0x75, 0x53, 0x65, 0x01, 0x39, 0x01, 0x00, 0x00, 0x01 };
	uint8_t buf[CAP], ref[CAP];
	size_t len = 0, ref_len = dfuse_build_st(ref, CAP), need = 0;

	(void)state;
	assert_int_equal(dfuse_pack(&st_file, NULL, 0, &need), DFUSE_PACK_OK);
	assert_int_equal(need, 313);
	assert_int_equal(dfuse_pack(&st_file, buf, sizeof(buf), &len), DFUSE_PACK_OK);
	assert_int_equal(len, 313);
	/* the numbers the reference gives */
	assert_memory_equal(buf, prefix, sizeof(prefix));
	assert_int_equal(get32(buf + len - 4), 0xbb1aad11);
	/* and every byte, against the tests' own writer of the same vector */
	assert_int_equal(ref_len, 313);
	assert_memory_equal(buf, ref, len);
	/* too small a buffer is refused */
	assert_int_equal(dfuse_pack(&st_file, buf, 312, &len), DFUSE_PACK_SPACE);
}

/* fwupd's DFUImageSize (the default of dfuctl dfuse pack): without the suffix. */
static void image_size_without_suffix(void **state)
{
	struct dfuse_pack_file f = st_file;
	uint8_t buf[CAP], ref[CAP];
	struct dfuse_file parsed;
	size_t len;

	(void)state;
	f.image_size_with_suffix = false;
	assert_int_equal(dfuse_pack(&f, buf, sizeof(buf), &len), DFUSE_PACK_OK);
	assert_int_equal(len, 313);
	assert_int_equal(get32(buf + 6), 297);
	assert_int_equal(dfuse_parse(buf, len, &parsed), DFUSE_OK);
	/* the same bytes but DFUImageSize and the CRC */
	dfuse_build_st(ref, CAP);
	assert_memory_equal(buf, ref, 6);
	assert_memory_equal(buf + 10, ref + 10, len - 14);
}

/* parse(pack(x)) == x, with several targets, named and not, and elements. */
static void round_trip(void **state)
{
	static const uint8_t a[] = { 1, 2, 3 }, c[] = { 7 }, top[] = { 4, 5, 6, 8 };
	static uint8_t b[3000];
	static const struct dfuse_pack_element e0[] = {
		{ 0x08020000, sizeof(b), b },	/* not in address order */
		{ 0x08000000, sizeof(a), a },
	};
	static const struct dfuse_pack_element e1[] = { { 0x1fffc000, sizeof(c), c } };
	static const struct dfuse_pack_element e2[] = { { 0xfffffffc, sizeof(top), top } };
	char long_name[256];
	struct dfuse_pack_target targets[] = {
		{ 0, "Internal Flash", 2, e0 },
		{ 1, NULL, 1, e1 },
		{ 7, long_name, 1, e2 },
	};
	struct dfuse_pack_file in = {
		.vid = 0x1209, .pid = 0xdf00, .bcd_device = 0x0102,
		.n_targets = 3, .targets = targets,
	};
	static uint8_t buf[CAP];
	struct dfuse_element e;
	struct dfuse_target t;
	struct dfuse_file f;
	size_t len, off;
	unsigned int i;
	uint32_t j;
	int with;

	(void)state;
	for (i = 0; i < sizeof(b); i++)
		b[i] = (uint8_t)(i * 7 + 3);
	memset(long_name, 'n', 255);
	long_name[255] = 0;
	for (with = 0; with < 2; with++) {
		in.image_size_with_suffix = with;
		assert_int_equal(dfuse_pack(&in, buf, sizeof(buf), &len), DFUSE_PACK_OK);
		assert_int_equal(dfuse_parse(buf, len, &f), DFUSE_OK);
		assert_int_equal(f.image_size, with ? len : len - 16);
		assert_int_equal(f.n_targets, in.n_targets);
		assert_int_equal(f.suffix.idVendor, in.vid);
		assert_int_equal(f.suffix.idProduct, in.pid);
		assert_int_equal(f.suffix.bcdDevice, in.bcd_device);
		assert_int_equal(f.suffix.bcdDFU, 0x011a);
		assert_int_equal(f.suffix.bLength, 16);
		off = dfuse_first_target(&f);
		for (i = 0; i < in.n_targets; i++) {
			const struct dfuse_pack_target *x = &targets[i];

			assert_int_equal(dfuse_target_at(&f, off, &t), DFUSE_OK);
			assert_int_equal(t.alt, x->alt);
			assert_int_equal(t.named, x->name != NULL);
			assert_int_equal(t.name_len, x->name ? strlen(x->name) : 0);
			if (x->name)
				assert_memory_equal(t.name, x->name, t.name_len);
			assert_int_equal(t.n_elements, x->n_elements);
			off = t.elements;
			for (j = 0; j < t.n_elements; j++) {
				assert_int_equal(dfuse_element_at(&f, off, &e), DFUSE_OK);
				assert_int_equal(e.address, x->elements[j].address);
				assert_int_equal(e.size, x->elements[j].size);
				assert_memory_equal(e.data, x->elements[j].data, e.size);
				off = e.next;
			}
			assert_int_equal(off, t.next);
			off = t.next;
		}
		assert_int_equal(off, f.body_len);
	}
}

/* What cannot be packed is refused, with a message. */
static void refused(void **state)
{
	static const uint8_t d[8];
	struct dfuse_pack_element el[2] = { { 0x08000000, 8, d }, { 0x08000004, 8, d } };
	struct dfuse_pack_target t = { 0, NULL, 2, el };
	struct dfuse_pack_file f = { .vid = 1, .pid = 2, .n_targets = 1, .targets = &t };
	char name[300];
	size_t len;
	int i;

	(void)state;
	assert_int_equal(dfuse_pack(&f, NULL, 0, &len), DFUSE_PACK_OVERLAP);
	el[1].address = 0x08000008;		/* touching is fine */
	assert_int_equal(dfuse_pack(&f, NULL, 0, &len), DFUSE_PACK_OK);
	el[1].address = 0xfffffff9;		/* one byte past 4 GiB */
	assert_int_equal(dfuse_pack(&f, NULL, 0, &len), DFUSE_PACK_ADDRESS);
	el[1].address = 0xfffffff8;
	assert_int_equal(dfuse_pack(&f, NULL, 0, &len), DFUSE_PACK_OK);
	memset(name, 'x', 256);
	name[256] = 0;
	t.name = name;
	assert_int_equal(dfuse_pack(&f, NULL, 0, &len), DFUSE_PACK_NAME);
	t.name = NULL;
	t.n_elements = 0;
	assert_int_equal(dfuse_pack(&f, NULL, 0, &len), DFUSE_PACK_NO_ELEMENTS);
	f.n_targets = 0;
	assert_int_equal(dfuse_pack(&f, NULL, 0, &len), DFUSE_PACK_NO_TARGETS);
	for (i = 0; i < DFUSE_PACK_ERR_COUNT; i++)
		assert_true(strlen(dfuse_pack_strerror(i)) > 5);
	assert_string_equal(dfuse_pack_strerror(DFUSE_PACK_ERR_COUNT), "unknown DfuSe packing error");
}

/* The STM32F4 ROM's map as the driver shows it (the contract's format). */
static const char f4_map[] =
	"0 0x08000000 4*16384 rew Internal Flash\n"
	"0 0x08010000 1*65536 rew Internal Flash\n"
	"0 0x08020000 7*131072 rew Internal Flash\n"
	"1 0x1fffc000 1*16 r-w Option Bytes\n"
	"2 0x1fff7800 1*512 r-w OTP Memory\n"
	"2 0x1fff7a00 1*16 r-w OTP Memory\n"
	"3 0xffff0000 1*4 r-w Device Feature\n";

static void map_parse(void **state)
{
	struct dfuse_zone z[16];
	unsigned int bad = 0;
	char perms[4];
	uint32_t base;

	(void)state;
	assert_int_equal(dfuse_map_parse(f4_map, z, 16, &bad), 7);
	assert_int_equal(z[0].alt, 0);
	assert_int_equal(z[0].start, 0x08000000);
	assert_int_equal(z[0].count, 4);
	assert_int_equal(z[0].size, 16384);
	assert_int_equal(z[0].perms, DFUSE_PERM_READ | DFUSE_PERM_ERASE | DFUSE_PERM_WRITE);
	assert_string_equal(z[0].name, "Internal Flash");
	assert_int_equal(dfuse_zone_end(&z[2]), 0x08100000);
	assert_int_equal(z[3].perms, DFUSE_PERM_READ | DFUSE_PERM_WRITE);
	assert_int_equal(dfuse_zone_end(&z[6]), 0xffff0004);
	dfuse_perms_str(z[3].perms, perms);
	assert_string_equal(perms, "r-w");
	dfuse_perms_str(DFUSE_PERM_ERASE, perms);
	assert_string_equal(perms, "-e-");

	assert_true(dfuse_map_base(z, 7, 0, &base));
	assert_int_equal(base, 0x08000000);
	assert_true(dfuse_map_base(z, 7, 2, &base));
	assert_int_equal(base, 0x1fff7800);
	assert_false(dfuse_map_base(z, 7, 4, &base));

	/* an empty map, a zone that ends at 4 GiB, and no name */
	assert_int_equal(dfuse_map_parse("", z, 16, NULL), 0);
	assert_int_equal(dfuse_map_parse("5 0xfffff000 1*4096 r--\n", z, 16, NULL), 1);
	assert_int_equal(dfuse_zone_end(&z[0]), 0x100000000ULL);
	assert_string_equal(z[0].name, "");

	/* malformed lines, and which */
	assert_int_equal(dfuse_map_parse("0 0x08000000 4*16384 rew A\nx\n", z, 16, &bad), -1);
	assert_int_equal(bad, 2);
	assert_int_equal(dfuse_map_parse("0 08000000 4*16384 rew A\n", z, 16, &bad), -1);
	assert_int_equal(dfuse_map_parse("0 0x08000000 4x16384 rew A\n", z, 16, &bad), -1);
	assert_int_equal(dfuse_map_parse("0 0x08000000 0*16384 rew A\n", z, 16, &bad), -1);
	assert_int_equal(dfuse_map_parse("0 0x08000000 4*16384 wer A\n", z, 16, &bad), -1);
	assert_int_equal(dfuse_map_parse("0 0x08000000 4*16384 rewA\n", z, 16, &bad), -1);
	assert_int_equal(dfuse_map_parse("0 0xfffff000 2*4096 rew A\n", z, 16, &bad), -1);
	/* more lines than room */
	assert_int_equal(dfuse_map_parse(f4_map, z, 6, &bad), -1);
	assert_int_equal(bad, 7);
}

static void map_covers(void **state)
{
	struct dfuse_zone z[16];
	uint64_t bad = 0;
	int zone = 0;

	(void)state;
	assert_int_equal(dfuse_map_parse(f4_map, z, 16, NULL), 7);
	/* across the three runs of the internal flash, to its last byte */
	assert_true(dfuse_map_covers(z, 7, 0, 0x08000000, 0x100000, DFUSE_PERM_WRITE, &bad, &zone));
	assert_true(dfuse_map_covers(z, 7, 0, 0x0800fff0, 0x20, DFUSE_PERM_WRITE | DFUSE_PERM_ERASE,
				     &bad, &zone));
	assert_true(dfuse_map_covers(z, 7, 0, 0x08000000, 0, DFUSE_PERM_WRITE, &bad, &zone));
	/* one byte past the end */
	assert_false(dfuse_map_covers(z, 7, 0, 0x080ffff0, 0x11, DFUSE_PERM_WRITE, &bad, &zone));
	assert_int_equal(bad, 0x08100000);
	assert_int_equal(zone, -1);
	/* before the start */
	assert_false(dfuse_map_covers(z, 7, 0, 0x07ffffff, 2, DFUSE_PERM_WRITE, &bad, &zone));
	assert_int_equal(bad, 0x07ffffff);
	/* the right address, the wrong alt */
	assert_false(dfuse_map_covers(z, 7, 1, 0x08000000, 4, DFUSE_PERM_WRITE, &bad, &zone));
	/* option bytes: writable, not erasable */
	assert_true(dfuse_map_covers(z, 7, 1, 0x1fffc000, 16, DFUSE_PERM_WRITE, &bad, &zone));
	assert_false(dfuse_map_covers(z, 7, 1, 0x1fffc000, 16, DFUSE_PERM_ERASE, &bad, &zone));
	assert_int_equal(bad, 0x1fffc000);
	assert_int_equal(zone, 3);
	/* two zones of one alt that touch */
	assert_true(dfuse_map_covers(z, 7, 2, 0x1fff7800, 528, DFUSE_PERM_WRITE, &bad, &zone));
	/* a read-only zone in the middle */
	assert_int_equal(dfuse_map_parse("0 0x08000000 8*1024 r-- Boot\n0 0x08002000 56*1024 rew App\n",
					 z, 16, NULL), 2);
	assert_false(dfuse_map_covers(z, 2, 0, 0x08001c00, 0x800, DFUSE_PERM_WRITE, &bad, &zone));
	assert_int_equal(bad, 0x08001c00);
	assert_int_equal(zone, 0);
	assert_true(dfuse_map_covers(z, 2, 0, 0x08002000, 0x800, DFUSE_PERM_WRITE, &bad, &zone));
	/* a gap between zones */
	assert_int_equal(dfuse_map_parse("0 0x08000000 1*1024 rew A\n0 0x08001000 1*1024 rew A\n",
					 z, 16, NULL), 2);
	assert_false(dfuse_map_covers(z, 2, 0, 0x08000300, 0x200, DFUSE_PERM_WRITE, &bad, &zone));
	assert_int_equal(bad, 0x08000400);
	assert_int_equal(zone, -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(st_vector),
		cmocka_unit_test(image_size_without_suffix),
		cmocka_unit_test(round_trip),
		cmocka_unit_test(refused),
		cmocka_unit_test(map_parse),
		cmocka_unit_test(map_covers),
	};

	return cmocka_run_group_tests_name("dfuse_pack", tests, NULL, NULL);
}
