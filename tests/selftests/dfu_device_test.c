// SPDX-License-Identifier: GPL-2.0
/*
 * dfu_device_test - what real devices do that DFU 1.1 does not say: the
 * mode they report, malformed functional descriptors, starting in
 * dfuERROR, stalling status requests while busy, run-time mode with
 * DFU_DETACH and re-enumeration, and a return to run-time mode after a
 * non-tolerant manifestation.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
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
		TH_LOG("%s of %s", attr, e->node);
	}
}

/* Flash a small image and check it arrived. */
static void flash_small(struct __test_metadata *_metadata, struct emu *e,
			unsigned int seed)
{
	unsigned char img[5 * 64 + 9];

	fill_pattern(img, sizeof(img), seed);
	ASSERT_EQ(0, flash_buf(e->node, img, sizeof(img), sizeof(img)));
	EXPECT_TRUE(emu_has_image(e, img, sizeof(img)));
}

/* bInterfaceProtocol 0 on a single interface is DFU mode; 1 is run-time. */
TEST(mode_from_protocol)
{
	unsigned char img[64] = { 0 };
	struct emu e;
	int fd;

	ASSERT_EQ(0, emu_start(&e, "--transfer-size", "64", "--protocol", "0", NULL));
	expect_attr(_metadata, &e, "mode", "dfu");
	flash_small(_metadata, &e, 1);
	emu_stop(&e);

	/*
	 * run-time mode: the node opens for writing (for DETACH), but takes
	 * no image and gives none
	 */
	ASSERT_EQ(0, emu_start(&e, "--protocol", "1", NULL));
	expect_attr(_metadata, &e, "mode", "runtime");
	fd = open(e.node, O_WRONLY);
	ASSERT_LE(0, fd);
	EXPECT_EQ(-1, write(fd, img, sizeof(img)));
	EXPECT_EQ(EOPNOTSUPP, errno);
	EXPECT_EQ(0, close(fd));
	fd = open(e.node, O_RDONLY);
	ASSERT_LE(0, fd);
	EXPECT_EQ(-1, read(fd, img, sizeof(img)));
	EXPECT_EQ(EOPNOTSUPP, errno);
	close(fd);
	emu_stop(&e);
	EXPECT_EQ(0, emu_stat(&e, "dnload_requests"));
	EXPECT_EQ(0, emu_stat(&e, "upload_requests"));

	/* NXP LPC says 1 in DFU mode: the quirk table knows */
	ASSERT_EQ(0, emu_start(&e, "--vid", "1fc9", "--pid", "000c",
			       "--transfer-size", "64", "--protocol", "1", NULL));
	expect_attr(_metadata, &e, "mode", "dfu");
	flash_small(_metadata, &e, 2);
	emu_stop(&e);

	/* and so does quirks=1209:df03:d */
	ASSERT_EQ(0, emu_start(&e, "--pid", "df03", "--protocol", "1", NULL));
	expect_attr(_metadata, &e, "mode", "dfu");
	emu_stop(&e);
}

/* No usable functional descriptor: probe fails, no node, no warning. */
TEST(bad_functional_descriptors_fail_probe)
{
	const char *modes[] = { "missing", "len=0", "len=3", "len=6", "len=8",
				"len=10", "len=255", "dup" };
	unsigned int i;
	struct emu e;

	for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		EXPECT_EQ(0, emu_start_unbound(&e, "--func-desc", modes[i], NULL)) {
			TH_LOG("--func-desc %s", modes[i]);
		}
		emu_stop(&e);
	}
}

/* Odd but usable descriptors: DFU 1.0's 7 bytes, one repeated identically. */
TEST(odd_functional_descriptors_work)
{
	struct emu e;

	ASSERT_EQ(0, emu_start(&e, "--transfer-size", "64", "--func-desc", "v10", NULL));
	expect_attr(_metadata, &e, "dfu_version", "0x0100");
	flash_small(_metadata, &e, 3);
	emu_stop(&e);

	ASSERT_EQ(0, emu_start(&e, "--transfer-size", "64", "--func-desc", "dup-same", NULL));
	expect_attr(_metadata, &e, "transfer_size", "64");
	flash_small(_metadata, &e, 4);
	emu_stop(&e);
}

/*
 * The kernel log says why probe refused a descriptor: each line must
 * appear after a marker written just before that device came.
 */
TEST(refused_descriptors_are_explained)
{
	static const char *const cases[][2] = {
		{ "len=255", "DFU functional descriptor of 255 bytes" },
		{ "dup", "two DFU functional descriptors that differ" },
		{ "missing", "no DFU functional descriptor" },
	};
	unsigned int i;
	struct emu e;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ASSERT_EQ(0, run_sh("echo 'dfu-test: mark %u' > /dev/kmsg", i));
		ASSERT_EQ(0, emu_start_unbound(&e, "--func-desc", cases[i][0], NULL));
		emu_stop(&e);
		EXPECT_EQ(0, run_sh("dmesg | sed -n '/dfu-test: mark %u$/,$p' | grep -q '%s'",
				    i, cases[i][1])) {
			TH_LOG("--func-desc %s: no '%s' in the kernel log",
			       cases[i][0], cases[i][1]);
		}
	}
}

/* bcdDFUVersion 0x0101, seen in the wild, works as DFU 1.1. */
TEST(dfu_version_0101)
{
	struct emu e;

	ASSERT_EQ(0, emu_start(&e, "--transfer-size", "64", "--dfu-version", "0101", NULL));
	expect_attr(_metadata, &e, "dfu_version", "0x0101");
	flash_small(_metadata, &e, 6);
	emu_stop(&e);
}

/*
 * usbcore keeps at most 128 alt settings: 128 work; with 255 the functional
 * descriptor after the last one is dropped and probe fails cleanly.
 */
TEST(many_alt_settings)
{
	struct emu e;

	ASSERT_EQ(0, emu_start(&e, "--alts", "128", NULL));
	expect_attr(_metadata, &e, "num_alts", "128");
	EXPECT_EQ(0, run_sh("test $(wc -l < %s/alt_names) -eq 128", e.sysfs));
	EXPECT_EQ(0, run_sh("grep -qx '127 alt127' %s/alt_names", e.sysfs));
	EXPECT_EQ(0, run_sh("echo alt127 > %s/alt", e.sysfs));
	expect_attr(_metadata, &e, "alt", "127");
	emu_stop(&e);

	EXPECT_EQ(0, emu_start_unbound(&e, "--alts", "255", NULL));
	emu_stop(&e);
}

/* STM32 ROM with a blank application: dfuERROR/errFIRMWARE at power-up. */
TEST(starts_in_error)
{
	struct emu e;

	ASSERT_EQ(0, emu_start(&e, "--transfer-size", "64", "--start-error", "10",
			       "--strict-clrstatus", NULL));
	expect_attr(_metadata, &e, "state", "dfuERROR");
	expect_attr(_metadata, &e, "status", "errFIRMWARE");
	flash_small(_metadata, &e, 5);
	EXPECT_EQ(1, emu_stat(&e, "clrstatus"));
	/* CLRSTATUS is never sent outside dfuERROR (the ST library errors) */
	EXPECT_EQ(0, run_sh("/payload/dfuctl clear %s", e.node));
	emu_stop(&e);
	EXPECT_EQ(0, emu_stat(&e, "stray_clrstatus"));
}

/* STM32L4: GETSTATUS stalled while busy. Up to three in a row are "busy". */
TEST(getstatus_stalled_while_busy)
{
	unsigned char img[4 * 64];
	struct emu e;

	fill_pattern(img, sizeof(img), 6);
	ASSERT_EQ(0, emu_start(&e, "--transfer-size", "64", "--poll-ms", "1",
			       "--stall-busy-getstatus", "3", NULL));
	ASSERT_EQ(0, flash_buf(e.node, img, sizeof(img), sizeof(img)));
	EXPECT_TRUE(emu_has_image(&e, img, sizeof(img)));
	EXPECT_EQ(3 * 4, emu_stat(&e, "busy_stalls"));
	emu_stop(&e);

	/* a fourth stall is no longer "busy": the flash fails, bounded */
	ASSERT_EQ(0, emu_start(&e, "--transfer-size", "64", "--poll-ms", "1",
			       "--stall-busy-getstatus", "4", NULL));
	EXPECT_EQ(-EIO, flash_buf(e.node, img, sizeof(img), sizeof(img)));
	EXPECT_EQ(0, emu_stat(&e, "manifests"));
	emu_stop(&e);
}

/*
 * A run-time device: USB_DFU_IOCTL_DETACH (on a file opened for writing),
 * the host's reset, and the device re-enumerated in DFU mode with its
 * DFU-mode idProduct, which remembers the run-time IDs, then flashed.
 */
TEST(detach_then_flash)
{
	struct usb_dfu_status st;
	struct usb_dfu_info info;
	__u32 timeout = 0;
	char buf[32];
	struct emu e;
	int fd;

	ASSERT_EQ(0, emu_start(&e, "--runtime", "--pid", "a001", "--dfu-pid", "a002",
			       "--transfer-size", "64", "--detach-timeout", "2000", NULL));
	expect_attr(_metadata, &e, "mode", "runtime");
	/*
	 * sysfs state asks the device nothing: unknown until a request in
	 * run-time mode, then what the device answered
	 */
	expect_attr(_metadata, &e, "state", "unknown");
	fd = open(e.node, O_WRONLY);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ioctl(fd, USB_DFU_IOCTL_GET_STATUS, &st));
	EXPECT_EQ(USB_DFU_STATE_APP_IDLE, st.bState);
	expect_attr(_metadata, &e, "state", "appIDLE");
	ASSERT_EQ(0, ioctl(fd, USB_DFU_IOCTL_DETACH, &timeout));
	close(fd);
	ASSERT_EQ(0, emu_wait_mode(&e, "dfu", 10000));
	ASSERT_EQ(0, read_attr(&e, "runtime_id", buf, sizeof(buf)));
	EXPECT_EQ(0, strcasecmp(buf, "1209:a001")) {
		TH_LOG("runtime_id: '%s'", buf);
	}
	fd = open(e.node, O_WRONLY);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ioctl(fd, USB_DFU_IOCTL_GET_INFO, &info));
	EXPECT_EQ(0xa002, info.idProduct);
	EXPECT_EQ(USB_DFU_MODE_DFU, info.mode);
	/* DETACH in DFU mode makes no sense */
	EXPECT_EQ(-1, ioctl(fd, USB_DFU_IOCTL_DETACH, &timeout));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(0, close(fd));
	flash_small(_metadata, &e, 7);
	EXPECT_EQ(1, emu_stat(&e, "detaches"));
	emu_stop(&e);
}

/* bitWillDetach: the device leaves by itself; the host must not reset it. */
TEST(will_detach_device_leaves_by_itself)
{
	struct emu e;

	ASSERT_EQ(0, emu_start(&e, "--runtime", "--pid", "a001", "--dfu-pid", "a002",
			       "--attrs", "0x0f", NULL));
	ASSERT_EQ(0, emu_detach(&e, 500));
	EXPECT_EQ(1, emu_stat(&e, "detaches"));
	emu_stop(&e);
}

/*
 * After a non-tolerant manifestation the host's reset starts the new
 * firmware: the device comes back in run-time mode.
 */
TEST(back_to_runtime_after_manifestation)
{
	struct emu e;

	ASSERT_EQ(0, emu_start(&e, "--runtime", "--pid", "a001", "--dfu-pid", "a002",
			       "--transfer-size", "64", "--attrs", "0x03", NULL));
	ASSERT_EQ(0, emu_detach(&e, 0));
	flash_small(_metadata, &e, 8);
	ASSERT_EQ(0, emu_wait_mode(&e, "runtime", 10000));
	EXPECT_EQ(1, emu_stat(&e, "manifests"));
	emu_stop(&e);
}

TEST_HARNESS_MAIN
