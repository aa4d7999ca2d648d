// SPDX-License-Identifier: GPL-2.0
/*
 * dfu_stress_test - the driver under strain: unplugs at random points of
 * downloads and uploads, several devices flashed at once, and devices that
 * stay busy or ask for long waits (honoured in full, bounded by
 * busy_timeout_ms).
 * Needs dummy_hcd loaded with num=4 for the concurrent test.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/usb/dfu.h>

#include "kselftest_harness.h"
#include "emu.h"

#define IMG_PATH	"/tmp/stress-image.bin"

/* Module parameters changed by a test are put back even when it fails. */
FIXTURE(dfu) {
};

FIXTURE_SETUP(dfu)
{
}

FIXTURE_TEARDOWN(dfu)
{
	set_param("busy_timeout_ms", "120000");
}

/*
 * 50 unplugs at random points of downloads, uploads and manifestation:
 * each call in flight fails with EIO (the bus error) or ENODEV (if
 * disconnect() came first), never success: also a device that is not
 * manifestation tolerant fails when it leaves before it takes the
 * zero-length DFU_DNLOAD (one that leaves after it is dfu_commit_test's
 * "unverified"). The node goes away, the next device gets the lowest free number (dfu0, as no
 * other is present), and the kernel log stays clean (checked by the rig).
 */
TEST_F_TIMEOUT(dfu, random_unplugs, 600)
{
	enum { ROUNDS = 50, BLOCKS = 30 };
	enum { DOWNLOAD, UPLOAD, MANIFEST, MANIFEST_INTOLERANT, KINDS };
	size_t len = BLOCKS * 64;
	unsigned char *img = make_pattern_file(IMG_PATH, len, 20), *back;
	unsigned int seed = 1234, i, seen[KINDS] = { 0 };
	char at[16];

	ASSERT_NE(NULL, img);
	srand(seed);
	for (i = 0; i < ROUNDS; i++) {
		int kind = rand() % KINDS;
		struct emu e;
		size_t got;

		snprintf(at, sizeof(at), "%d", rand() % (BLOCKS - 1));
		switch (kind) {
		case UPLOAD:
			ASSERT_EQ(0, emu_start(&e, "--transfer-size", "64", "--image",
					       IMG_PATH, "--disconnect-upload-at", at, NULL));
			break;
		case DOWNLOAD:
			ASSERT_EQ(0, emu_start(&e, "--transfer-size", "64",
					       "--disconnect-at", at, NULL));
			break;
		default:
			ASSERT_EQ(0, emu_start(&e, "--transfer-size", "64",
					       "--disconnect-manifest", "--attrs",
					       kind == MANIFEST ? "0x07" : "0x03", NULL));
			break;
		}
		seen[kind]++;
		EXPECT_STREQ("/dev/dfu0", e.node);
		if (kind == UPLOAD) {
			back = upload_buf(e.node, &got, 128 * 1024);
			EXPECT_EQ(NULL, back) {
				TH_LOG("round %u: upload unplugged at block %s read %zu bytes",
				       i, at, got);
			}
			EXPECT_TRUE(errno == EIO || errno == ENODEV) {
				TH_LOG("round %u: upload: %s", i, strerror(errno));
			}
			free(back);
		} else {
			int ret = flash_buf(e.node, img, len, len);

			/*
			 * The device leaves before it takes the zero-length
			 * DFU_DNLOAD: the end of the image never reached it,
			 * tolerant or not, so that is no success either.
			 */
			EXPECT_TRUE(ret == -EIO || ret == -ENODEV) {
				TH_LOG("round %u: kind %d, block %s: %d",
				       i, kind, at, ret);
			}
		}
		EXPECT_EQ(0, emu_wait_exit(&e, 5000));
		EXPECT_NE(0, access(e.node, F_OK));
		emu_stop(&e);
	}
	ksft_print_msg("seed %u: %u unplugs in downloads, %u in uploads, %u at manifestation, %u at an intolerant one's\n",
		       seed, seen[DOWNLOAD], seen[UPLOAD], seen[MANIFEST],
		       seen[MANIFEST_INTOLERANT]);
	free(img);
}

/* Four devices on four dummy_hcd ports, each flashed with its own bytes at once. */
TEST_F_TIMEOUT(dfu, four_devices_at_once, 300)
{
	enum { DEVICES = 4 };
	size_t len = 200 * 64 + 11;
	pid_t pids[DEVICES];
	int i, status;

	if (access("/sys/class/udc/dummy_udc.3", F_OK))
		SKIP(return, "dummy_hcd loaded with fewer than %d ports", DEVICES);
	for (i = 0; i < DEVICES; i++) {
		pids[i] = fork();
		ASSERT_LE(0, pids[i]);
		if (!pids[i]) {
			unsigned char *img = malloc(len);
			char udc[32];
			struct emu e;
			int ok;

			snprintf(udc, sizeof(udc), "dummy_udc.%d", i);
			fill_pattern(img, len, 100 + i);
			if (emu_start(&e, "--udc-device", udc, "--transfer-size", "64",
				      "--poll-ms", "1", NULL))
				_exit(10);
			ok = !flash_buf(e.node, img, len, 4096) && emu_has_image(&e, img, len);
			emu_stop(&e);
			_exit(ok ? 0 : 11);
		}
	}
	for (i = 0; i < DEVICES; i++) {
		ASSERT_EQ(pids[i], waitpid(pids[i], &status, 0));
		EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) {
			TH_LOG("device %d: status 0x%x", i, status);
		}
	}
}

/* A device that never leaves dfuDNBUSY: ETIMEDOUT after busy_timeout_ms. */
TEST_F_TIMEOUT(dfu, busy_forever_times_out, 60)
{
	unsigned char img[64 * 3];
	long long t0, ms;
	struct emu e;

	fill_pattern(img, sizeof(img), 21);
	ASSERT_EQ(0, set_param("busy_timeout_ms", "500"));
	ASSERT_EQ(0, emu_start(&e, "--transfer-size", "64", "--poll-ms", "2",
			       "--busy-polls", "1000000", NULL));
	t0 = now_us();
	EXPECT_EQ(-ETIMEDOUT, flash_buf(e.node, img, sizeof(img), sizeof(img)));
	ms = ms_since(t0);
	ksft_print_msg("gave up after %lld ms\n", ms);
	EXPECT_GE(ms, 500);
	EXPECT_LT(ms, 5000);
	emu_stop(&e);
	EXPECT_EQ(0, emu_stat(&e, "manifests"));
}

/*
 * A device asking for 1 s per block: the driver waits the whole second
 * before it asks again (DFU 1.1 forbids an earlier GETSTATUS), and the
 * image arrives whole.
 */
TEST_F_TIMEOUT(dfu, long_poll_is_honoured, 60)
{
	unsigned char img[64 * 2 + 1];
	long long t0, ms;
	struct emu e;

	fill_pattern(img, sizeof(img), 22);
	ASSERT_EQ(0, emu_start(&e, "--transfer-size", "64", "--poll-ms", "1000", NULL));
	t0 = now_us();
	ASSERT_EQ(0, flash_buf(e.node, img, sizeof(img), sizeof(img)));
	ms = ms_since(t0);
	EXPECT_TRUE(emu_has_image(&e, img, sizeof(img)));
	ksft_print_msg("3 blocks of 1000 ms each took %lld ms\n", ms);
	EXPECT_GE(ms, 3000);
	EXPECT_LT(ms, 6000);
	EXPECT_EQ(0, emu_stat(&e, "early_polls"));
	emu_stop(&e);
}

/*
 * A device that asks for 10 s per block (and needs them, as an erase may):
 * waited for in full, with no cap and no early poll.
 */
TEST_F_TIMEOUT(dfu, ten_second_poll, 60)
{
	unsigned char img[64];
	long long t0, ms;
	struct emu e;

	fill_pattern(img, sizeof(img), 23);
	ASSERT_EQ(0, emu_start(&e, "--transfer-size", "64", "--poll-ms", "10000", NULL));
	t0 = now_us();
	ASSERT_EQ(0, flash_buf(e.node, img, sizeof(img), sizeof(img)));
	ms = ms_since(t0);
	ksft_print_msg("one block of 10000 ms took %lld ms\n", ms);
	EXPECT_TRUE(emu_has_image(&e, img, sizeof(img)));
	EXPECT_GE(ms, 10000);
	EXPECT_LT(ms, 12000);
	EXPECT_EQ(0, emu_stat(&e, "early_polls"));
	emu_stop(&e);
}

TEST_HARNESS_MAIN
