// SPDX-License-Identifier: GPL-2.0
/*
 * dfu_quirk_test - devices that deviate from DFU 1.1: the built-in quirk
 * table (the emulated device poses as each VID:PID) and the quirks= module
 * parameter, which tests/guest/check.sh sets to
 * "1209:df01:p,1209:df02:i,1209:df03:d".
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/usb/dfu.h>

#include "kselftest_harness.h"
#include "emu.h"

static void expect_attr(struct __test_metadata *_metadata, struct emu *e,
			const char *attr, const char *want)
{
	char buf[64];

	ASSERT_EQ(0, read_attr(e, attr, buf, sizeof(buf)));
	EXPECT_STREQ(want, buf) {
		TH_LOG("%s", attr);
	}
}

/* FPC fingerprint readers: the class-FE interface speaks something else. */
TEST(ignored_interface_gets_no_node)
{
	struct emu e;

	EXPECT_EQ(0, emu_start_unbound(&e, "--vid", "10a5", "--pid", "ffe0", NULL));
	emu_stop(&e);
}

/* Openmoko: bogus bwPollTimeout, so the driver waits 5 ms instead. */
TEST(openmoko_poll_quirk)
{
	unsigned char img[3 * 64];
	long long t0, ms;
	struct emu e;

	fill_pattern(img, sizeof(img), 40);
	ASSERT_EQ(0, emu_start(&e, "--vid", "1d50", "--pid", "5117",
			       "--transfer-size", "64", NULL));
	expect_attr(_metadata, &e, "quirks", "0x1");
	t0 = now_us();
	ASSERT_EQ(0, flash_buf(e.node, img, sizeof(img), sizeof(img)));
	ms = (now_us() - t0) / 1000;
	ksft_print_msg("3 blocks in %lld ms\n", ms);
	emu_stop(&e);
}

/* LeafLabs Maple reports a wrong DFU version: taken as 1.1. */
TEST(maple_version_quirk)
{
	struct emu e;

	ASSERT_EQ(0, emu_start(&e, "--vid", "1eaf", "--pid", "0003",
			       "--dfu-version", "0x0100", NULL));
	expect_attr(_metadata, &e, "dfu_version", "0x0110");
	emu_stop(&e);
}

/* Jabra: broken upload, so reading is refused instead of tried. */
TEST(jabra_no_upload_quirk)
{
	struct emu e;
	char c;
	int fd;

	ASSERT_EQ(0, emu_start(&e, "--vid", "0b0e", "--pid", "0411", "--attrs", "0x07", NULL));
	expect_attr(_metadata, &e, "attributes", "0x05");
	fd = open(e.node, O_RDONLY);
	ASSERT_LE(0, fd);
	EXPECT_EQ(-1, read(fd, &c, 1));
	EXPECT_EQ(EOPNOTSUPP, errno);
	close(fd);
	emu_stop(&e);
	EXPECT_EQ(0, emu_stat(&e, "upload_requests"));
}

/* Entries of the quirks= parameter: flags shown, ignore honoured. */
TEST(quirks_parameter)
{
	struct emu e;

	ASSERT_EQ(0, emu_start(&e, "--pid", "df01", NULL));
	expect_attr(_metadata, &e, "quirks", "0x1");
	emu_stop(&e);
	EXPECT_EQ(0, emu_start_unbound(&e, "--pid", "df02", NULL));
	emu_stop(&e);
	ASSERT_EQ(0, emu_start(&e, "--pid", "df00", NULL));
	expect_attr(_metadata, &e, "quirks", "0x0");
	emu_stop(&e);
}

TEST_HARNESS_MAIN
