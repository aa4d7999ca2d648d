// SPDX-License-Identifier: GPL-2.0
/*
 * dfu_quirk_test - devices that deviate from DFU 1.1: the built-in quirk
 * table (the emulated device poses as each VID:PID) and the quirks= module
 * parameter, which tests/guest/check.sh sets to
 * "1209:df01:p,1209:df02:i,1209:df03:d,1209:df04:e".
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

/* Time to flash two 64-byte blocks to a device that says 2 s but takes 1 ms. */
static long long bogus_poll_flash_ms(struct __test_metadata *_metadata,
				     const char *vid, const char *pid, const char *quirks)
{
	unsigned char img[2 * 64];
	long long t0, ms;
	struct emu e;
	char buf[16];

	fill_pattern(img, sizeof(img), 40);
	ASSERT_EQ(0, emu_start(&e, "--vid", vid, "--pid", pid, "--transfer-size", "64",
			       "--poll-ms", "2000", "--busy-ms", "1", NULL));
	ASSERT_EQ(0, read_attr(&e, "quirks", buf, sizeof(buf)));
	EXPECT_STREQ(quirks, buf);
	t0 = now_us();
	ASSERT_EQ(0, flash_buf(e.node, img, sizeof(img), sizeof(img)));
	ms = (now_us() - t0) / 1000;
	emu_stop(&e);
	return ms;
}

/*
 * Openmoko and its relatives report a bogus bwPollTimeout: with the quirk
 * the driver waits 5 ms instead; a device without it is waited for in full.
 */
TEST(openmoko_poll_quirk)
{
	long long quirked = bogus_poll_flash_ms(_metadata, "1d50", "5117", "0x1");
	long long plain = bogus_poll_flash_ms(_metadata, "1209", "df00", "0x0");

	ksft_print_msg("two blocks: %lld ms with the quirk, %lld ms without\n",
		       quirked, plain);
	EXPECT_LT(quirked, 1000);
	EXPECT_GE(plain, 4000);
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

/*
 * An interface of the DFU class with an endpoint is not DFU (Apple's
 * recovery mode is one): never bound, unless quirks= says e (1209:df04).
 */
TEST(endpoints)
{
	struct emu e;

	EXPECT_EQ(0, emu_start_unbound(&e, "--endpoint", NULL));
	emu_stop(&e);
	ASSERT_EQ(0, emu_start(&e, "--pid", "df04", "--endpoint", NULL));
	expect_attr(_metadata, &e, "quirks", "0x80");
	emu_stop(&e);
	ASSERT_EQ(0, emu_start(&e, "--pid", "df04", NULL));
	expect_attr(_metadata, &e, "quirks", "0x80");
	emu_stop(&e);
}

TEST_HARNESS_MAIN
