// SPDX-License-Identifier: GPL-2.0
/*
 * dfu_suffix_test - the DFU suffix guard: an image written with a DFU
 * suffix (DFU 1.1 appendix B) reaches the device without it, and an image
 * whose suffix names another device is never manifested.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/usb/dfu.h>

#include "kselftest_harness.h"
#include "emu.h"
#include "suffix.h"

#define EMU_VID		0x1209
#define EMU_PID		0xdf00

FIXTURE(dfu) {
	struct emu emu;
	unsigned char payload[3000];
};

FIXTURE_SETUP(dfu)
{
	fill_pattern(self->payload, sizeof(self->payload), 30);
	ASSERT_EQ(0, emu_start(&self->emu, "--transfer-size", "64", NULL));
}

FIXTURE_TEARDOWN(dfu)
{
	set_param("suffix_guard", "Y");
	emu_stop(&self->emu);
}

/* The suffix builder (suffix.c) against the reference vector. */
TEST(suffix_builder_matches_reference)
{
	unsigned char *f;
	size_t len;

	EXPECT_EQ(0x340bc6d9u, dfu_crc((const unsigned char *)"123456789", 9));
	f = dfu_suffixed((const unsigned char *)"123456789", 9, 0x1234, 0x5678,
			 0x0100, 0, &len);
	ASSERT_NE(NULL, f);
	ASSERT_EQ(25u, len);
	/* dwCRC 0x0600f16f, as the protocol reference gives it */
	EXPECT_EQ(0x6f, f[21]);
	EXPECT_EQ(0xf1, f[22]);
	EXPECT_EQ(0x00, f[23]);
	EXPECT_EQ(0x06, f[24]);
	free(f);
}

/*
 * Flash file; the device must hold want, and the result say whether a
 * suffix was checked and not sent (USB_DFU_RESULT_SUFFIX).
 */
static void flash_expect(struct __test_metadata *_metadata, struct emu *e,
			 const unsigned char *file, size_t flen,
			 const unsigned char *want, size_t wlen)
{
	struct usb_dfu_result r;

	ASSERT_EQ(0, flash_buf(e->node, file, flen, 4096));
	EXPECT_TRUE(emu_has_image(e, want, wlen)) {
		TH_LOG("a %zu-byte file should leave %zu bytes on the device", flen, wlen);
	}
	ASSERT_EQ(0, get_result(e, &r));
	EXPECT_EQ(0, r.error);
	EXPECT_EQ((__u64)wlen, r.bytes);
	EXPECT_EQ(flen != wlen ? (__u32)USB_DFU_RESULT_SUFFIX : 0u, r.flags);
}

TEST_F(dfu, matching_suffix_is_removed)
{
	size_t sizes[] = { 1, 100, 239, 240, 1000, sizeof(self->payload) };
	unsigned int i;

	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		size_t len;
		unsigned char *f = dfu_suffixed(self->payload, sizes[i], EMU_VID,
						EMU_PID, 0x0100, 0, &len);

		ASSERT_NE(NULL, f);
		flash_expect(_metadata, &self->emu, f, len, self->payload, sizes[i]);
		free(f);
	}
}

TEST_F(dfu, wildcard_and_long_suffix_are_removed)
{
	size_t len;
	unsigned char *f;

	f = dfu_suffixed(self->payload, 777, 0xffff, 0xffff, 0x0100, 0, &len);
	ASSERT_NE(NULL, f);
	flash_expect(_metadata, &self->emu, f, len, self->payload, 777);
	free(f);
	/* bLength 29 and 255: metadata before the standard fields goes too */
	f = dfu_suffixed(self->payload, 777, EMU_VID, 0xffff, 0x0100, 13, &len);
	ASSERT_NE(NULL, f);
	flash_expect(_metadata, &self->emu, f, len, self->payload, 777);
	free(f);
	f = dfu_suffixed(self->payload, 777, EMU_VID, EMU_PID, 0x0100, 239, &len);
	ASSERT_NE(NULL, f);
	flash_expect(_metadata, &self->emu, f, len, self->payload, 777);
	free(f);
}

/* Not a valid suffix (bad CRC, short bLength): the file is the image. */
TEST_F(dfu, invalid_suffix_is_data)
{
	size_t len;
	unsigned char *f = dfu_suffixed(self->payload, 500, EMU_VID, EMU_PID,
					0x0100, 0, &len);

	ASSERT_NE(NULL, f);
	f[len - 1] ^= 0x55;
	flash_expect(_metadata, &self->emu, f, len, f, len);
	f[len - 1] ^= 0x55;
	f[len - 5] = 15;
	flash_expect(_metadata, &self->emu, f, len, f, len);
	free(f);
}

/* An image for another device: not manifested, device in dfuIDLE, retry works. */
TEST_F(dfu, mismatched_suffix_is_refused)
{
	size_t sizes[] = { 100, sizeof(self->payload) }, len;
	struct usb_dfu_status st;
	struct usb_dfu_result r;
	unsigned char *f;
	unsigned int i;
	int fd;

	for (i = 0; i < 2; i++) {
		f = dfu_suffixed(self->payload, sizes[i], 0x1234, 0x4321, 0x0100, 0, &len);
		ASSERT_NE(NULL, f);
		EXPECT_EQ(-EMEDIUMTYPE, flash_buf(self->emu.node, f, len, 4096));
		free(f);
		/* the device's own answer (sysfs state shows only the last one seen) */
		fd = open(self->emu.node, O_RDONLY);
		ASSERT_LE(0, fd);
		ASSERT_EQ(0, ioctl(fd, USB_DFU_IOCTL_GET_STATUS, &st));
		EXPECT_EQ(USB_DFU_STATE_DFU_IDLE, st.bState);
		ASSERT_EQ(0, ioctl(fd, USB_DFU_IOCTL_GET_RESULT, &r));
		EXPECT_EQ(-EMEDIUMTYPE, r.error);
		close(fd);
	}
	/* also when only the product differs, and through cat */
	f = dfu_suffixed(self->payload, 600, EMU_VID, 0x0001, 0x0100, 0, &len);
	ASSERT_NE(NULL, f);
	ASSERT_EQ(0, write_file("/tmp/other.dfu", f, len));
	free(f);
	EXPECT_NE(0, run_sh("cat /tmp/other.dfu > %s 2>/dev/null", self->emu.node));
	EXPECT_EQ(0, emu_stat(&self->emu, "manifests"));

	f = dfu_suffixed(self->payload, 600, EMU_VID, EMU_PID, 0x0100, 0, &len);
	ASSERT_NE(NULL, f);
	flash_expect(_metadata, &self->emu, f, len, self->payload, 600);
	EXPECT_EQ(1, emu_stat(&self->emu, "manifests"));
	free(f);
}

/* A file that is only a suffix is an empty image: nothing is manifested. */
TEST_F(dfu, suffix_alone_is_no_image)
{
	size_t len;
	unsigned char *f = dfu_suffixed(self->payload, 0, EMU_VID, EMU_PID,
					0x0100, 0, &len);

	ASSERT_NE(NULL, f);
	EXPECT_EQ(-ENODATA, flash_buf(self->emu.node, f, len, len));
	free(f);
	emu_stop(&self->emu);
	EXPECT_EQ(0, emu_stat(&self->emu, "dnload_requests"));
}

/* With suffix_guard=N the file goes to the device as it is. */
TEST_F(dfu, guard_off_sends_everything)
{
	size_t len;
	unsigned char *f = dfu_suffixed(self->payload, 900, 0x1234, 0x4321,
					0x0100, 0, &len);

	ASSERT_NE(NULL, f);
	ASSERT_EQ(0, set_param("suffix_guard", "N"));
	flash_expect(_metadata, &self->emu, f, len, f, len);
	free(f);
}

TEST_HARNESS_MAIN
