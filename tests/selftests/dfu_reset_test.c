// SPDX-License-Identifier: GPL-2.0
/*
 * dfu_reset_test - a USB reset and the waits around it: what the device
 * said before a reset is forgotten, a reset ends the call waiting on the
 * device, the 'p' quirk's 5 ms replaces a bogus bwPollTimeout in every
 * wait, a reset ioctl refuses a transfer in progress at once, and the alt
 * setting names in sysfs stay one per line. Each test is named after the
 * bug it catches.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/usb/dfu.h>
#include <linux/usbdevice_fs.h>

#include "kselftest_harness.h"
#include "emu.h"

#define IMG_PATH	"/tmp/reset-image.bin"

/* busy_timeout_ms, which the tests change, is put back even when they fail. */
FIXTURE(reset) {
	char busy[32];
};

FIXTURE_SETUP(reset)
{
	ASSERT_EQ(0, get_param("busy_timeout_ms", self->busy, sizeof(self->busy)));
}

FIXTURE_TEARDOWN(reset)
{
	set_param("busy_timeout_ms", self->busy);
}

/*
 * A transfer that failed because the device asked (in dfuDNBUSY) for a
 * bwPollTimeout beyond busy_timeout_ms leaves that poll time owed: the
 * next request waits for it, so GET_STATUS fails with ETIMEDOUT. A USB
 * reset puts the device back in dfuIDLE, so the driver must forget what
 * it said: GET_STATUS answers at once, and a new transfer works.
 */
TEST_F_TIMEOUT(reset, reset_forgets_busy_status, 60)
{
	size_t len = 1000;
	unsigned char *img = make_pattern_file(IMG_PATH, len, 21), *up;
	unsigned char blocks[8 * 64];
	struct usb_dfu_status st;
	char buf[64];
	long long t0, ms;
	struct emu e;
	size_t got;
	int fd;

	ASSERT_NE(NULL, img);
	memset(&st, 0, sizeof(st));
	fill_pattern(blocks, sizeof(blocks), 22);
	ASSERT_EQ(0, set_param("busy_timeout_ms", "1000"));
	ASSERT_EQ(0, emu_start(&e, "--transfer-size", "64", "--poll-ms", "60000",
			       "--image", IMG_PATH, NULL));
	fd = open(e.node, O_WRONLY);
	ASSERT_LE(0, fd);
	EXPECT_EQ(-1, write(fd, blocks, sizeof(blocks)));
	EXPECT_EQ(ETIMEDOUT, errno);
	close(fd);
	/* the premise: the 60 s the device asked for are still owed */
	EXPECT_EQ(-ETIMEDOUT, get_status(&e, &st));

	fd = open(e.node, O_WRONLY);
	ASSERT_LE(0, fd);
	t0 = now_us();
	EXPECT_EQ(0, ioctl(fd, USB_DFU_IOCTL_RESET)) {
		TH_LOG("USB_DFU_IOCTL_RESET: %s", strerror(errno));
	}
	ms = ms_since(t0);
	close(fd);
	EXPECT_GT(2000, ms);
	/* nothing asked since the reset: the busy state is gone */
	ASSERT_EQ(0, read_attr(&e, "state", buf, sizeof(buf)));
	EXPECT_TRUE(!strcmp(buf, "unknown") || !strcmp(buf, "dfuIDLE")) {
		TH_LOG("state after the reset: %s", buf);
	}

	t0 = now_us();
	EXPECT_EQ(0, get_status(&e, &st));
	ms = ms_since(t0);
	ksft_print_msg("GET_STATUS after the reset: %lld ms\n", ms);
	EXPECT_GT(1000, ms);
	EXPECT_EQ(USB_DFU_STATE_DFU_IDLE, st.bState);
	EXPECT_EQ(USB_DFU_STATUS_OK, st.bStatus);
	ASSERT_EQ(0, read_attr(&e, "state", buf, sizeof(buf)));
	EXPECT_STREQ("dfuIDLE", buf);

	/* a new transfer (an upload: a download would be asked for 60 s again) */
	up = upload_buf(e.node, &got, 4096);
	EXPECT_NE(NULL, up) {
		TH_LOG("upload after the reset: %s", strerror(errno));
	}
	if (up) {
		EXPECT_EQ(len, got);
		EXPECT_EQ(0, memcmp(up, img, len));
	}
	free(up);
	emu_stop(&e);
	EXPECT_EQ(0, emu_stat(&e, "manifests"));
	free(img);
}

/*
 * A device with the 'p' quirk (1209:df01 by quirks=) says 5 s but is done
 * long before: the driver waits 5 ms instead, in every wait. Two of them
 * were missed: after a stalled GETSTATUS while busy, and for a transfer
 * given up in dfuDNBUSY (dfu_stop(), then the next request's wait).
 */
TEST_F_TIMEOUT(reset, poll_quirk_applies_to_every_wait, 60)
{
	unsigned char img[100 * 64];
	struct usb_dfu_status st;
	struct usb_dfu_result r;
	long long t0, ms;
	char buf[16];
	struct emu e;
	int status;
	pid_t pid;

	memset(&st, 0, sizeof(st));
	fill_pattern(img, sizeof(img), 23);
	ASSERT_EQ(0, set_param("busy_timeout_ms", "60000"));

	/* a stalled GETSTATUS after each block: wait 5 ms, not 5 s, and ask again */
	ASSERT_EQ(0, emu_start(&e, "--pid", "df01", "--transfer-size", "64",
			       "--poll-ms", "5000", "--poll-always", "--busy-ms", "1",
			       "--stall-busy-getstatus", "1", NULL));
	ASSERT_EQ(0, read_attr(&e, "quirks", buf, sizeof(buf)));
	ASSERT_STREQ("0x1", buf);
	t0 = now_us();
	EXPECT_EQ(0, flash_buf(e.node, img, 64, 64));
	ms = ms_since(t0);
	ksft_print_msg("flash with stalled polls of a bogus 5000 ms device: %lld ms\n", ms);
	EXPECT_GT(2000, ms);
	EXPECT_TRUE(emu_has_image(&e, img, 64));
	EXPECT_LT(0, emu_stat(&e, "busy_stalls"));
	emu_stop(&e);

	/*
	 * a writer killed while a block keeps the device busy (300 ms): the
	 * driver polls it back to dfuIDLE, and GET_STATUS owes no 5 s
	 */
	ASSERT_EQ(0, emu_start(&e, "--pid", "df01", "--transfer-size", "64",
			       "--poll-ms", "5000", "--poll-always", "--busy-ms", "300",
			       NULL));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		int fd = open(e.node, O_WRONLY);

		if (fd < 0)
			_exit(100);
		/* killed in here; a write() that ends is a failure */
		_exit(write(fd, img, sizeof(img)) < 0 ? 102 : 101);
	}
	sleep_ms(700);
	kill(pid, SIGKILL);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFSIGNALED(status));
	t0 = now_us();
	EXPECT_EQ(0, get_status(&e, &st));
	ms = ms_since(t0);
	ksft_print_msg("GET_STATUS after the killed writer: %lld ms\n", ms);
	EXPECT_GT(1000, ms);
	EXPECT_EQ(USB_DFU_STATE_DFU_IDLE, st.bState);
	ASSERT_EQ(0, get_result(&e, &r));
	EXPECT_EQ(-EINTR, r.error);
	EXPECT_LT(0u, r.block);
	emu_stop(&e);
	EXPECT_EQ(0, emu_stat(&e, "manifests"));
}

/*
 * A USB reset by someone else (usbfs) while write() waits out a device's
 * 10 s bwPollTimeout: the reset ends the wait instead of waiting for it.
 * write() fails with EIO (the device lost the block) and the reset
 * returns, both at once.
 */
TEST_F_TIMEOUT(reset, reset_ends_waiting_call, 60)
{
	unsigned char img[8 * 64];
	struct usb_dfu_status st;
	long long t0, ms;
	char usbfs[64];
	int status, ufd;
	struct emu e;
	pid_t pid;

	memset(&st, 0, sizeof(st));
	fill_pattern(img, sizeof(img), 24);
	ASSERT_EQ(0, set_param("busy_timeout_ms", "60000"));
	ASSERT_EQ(0, emu_start(&e, "--transfer-size", "64", "--poll-ms", "10000", NULL));
	ASSERT_EQ(0, emu_usbfs_path(&e, usbfs, sizeof(usbfs)));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		int fd = open(e.node, O_WRONLY);
		ssize_t n;

		if (fd < 0)
			_exit(100);
		/* block 0 goes out, then the 10 s wait */
		n = write(fd, img, sizeof(img));
		if (n >= 0)
			_exit(101);
		_exit(errno == EIO ? 0 : 102);
	}
	sleep_ms(700);
	ufd = open(usbfs, O_RDWR);
	ASSERT_LE(0, ufd) {
		TH_LOG("%s: %s", usbfs, strerror(errno));
	}
	t0 = now_us();
	EXPECT_EQ(0, ioctl(ufd, USBDEVFS_RESET, 0)) {
		TH_LOG("USBDEVFS_RESET: %s", strerror(errno));
	}
	ms = ms_since(t0);
	close(ufd);
	ksft_print_msg("USB reset during a 10000 ms poll wait: %lld ms\n", ms);
	EXPECT_GT(2000, ms);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ms = ms_since(t0);
	ksft_print_msg("the waiting write() returned after %lld ms\n", ms);
	EXPECT_GT(2000, ms);
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	/* the device is in dfuIDLE, and the driver knows it owes no wait */
	t0 = now_us();
	EXPECT_EQ(0, get_status(&e, &st));
	EXPECT_GT(1000, ms_since(t0));
	EXPECT_EQ(USB_DFU_STATE_DFU_IDLE, st.bState);
	emu_stop(&e);
	EXPECT_EQ(0, emu_stat(&e, "manifests"));
}

/*
 * USB_DFU_IOCTL_RESET from another file while write() waits out a 10 s
 * bwPollTimeout: the transfer in progress refuses it with EBUSY at once
 * (it used to wait for io_mutex, through the wait and the next block,
 * before it said EBUSY), and the transfer goes on untouched.
 */
TEST_F_TIMEOUT(reset, reset_ioctl_busy_at_once, 60)
{
	unsigned char img[3 * 64];
	long long t0, ms, resets;
	int status, fd;
	struct emu e;
	pid_t pid;

	fill_pattern(img, sizeof(img), 25);
	ASSERT_EQ(0, set_param("busy_timeout_ms", "60000"));
	ASSERT_EQ(0, emu_start(&e, "--transfer-size", "64", "--poll-ms", "2000", NULL));
	resets = emu_stat(&e, "resets");	/* those of enumeration */
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		int wfd = open(e.node, O_WRONLY);

		if (wfd < 0)
			_exit(100);
		if (write(wfd, img, sizeof(img)) != (ssize_t)sizeof(img))
			_exit(101);
		_exit(close(wfd) ? 102 : 0);
	}
	sleep_ms(700);
	/* read-only needs CAP_SYS_ADMIN for RESET: the tests run as root */
	fd = open(e.node, O_RDONLY);
	ASSERT_LE(0, fd);
	t0 = now_us();
	EXPECT_EQ(-1, ioctl(fd, USB_DFU_IOCTL_RESET));
	EXPECT_EQ(EBUSY, errno);
	ms = ms_since(t0);
	close(fd);
	ksft_print_msg("USB_DFU_IOCTL_RESET during a 2000 ms poll wait: EBUSY after %lld ms\n", ms);
	EXPECT_GT(200, ms);
	/* the image is whole: 3 blocks of 2 s and the manifestation */
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	emu_stop(&e);
	EXPECT_EQ(1, emu_stat(&e, "manifests"));
	EXPECT_EQ(resets, emu_stat(&e, "resets"));
}

/*
 * The device chooses its alt setting names: a newline in one would forge
 * a line of alt_names, and other control characters reach whoever reads
 * it. They show as '?', one line per alt, and that name selects the alt.
 */
TEST(alt_names_control_chars)
{
	const char *want = "0 Fla?sh\n1 a?b?[2Jc?\n2 ?\n3 Bootloader\n";
	unsigned char *names;
	char path[128], buf[16];
	struct emu e;
	size_t len;

	ASSERT_EQ(0, emu_start(&e, "--alt", "Fla\nsh", "--alt", "a\tb\x1b[2Jc\x7f",
			       "--alt", "\r", "--alt", "Bootloader", NULL));
	snprintf(path, sizeof(path), "%s/alt_names", e.sysfs);
	names = read_file(path, &len);
	ASSERT_NE(NULL, names);
	EXPECT_EQ(strlen(want), len);
	EXPECT_EQ(0, memcmp(want, names, len < strlen(want) ? len : strlen(want))) {
		TH_LOG("alt_names: '%.*s'", (int)len, names);
	}
	free(names);
	EXPECT_EQ(0, write_attr(&e, "alt", "a?b?[2Jc?"));
	ASSERT_EQ(0, read_attr(&e, "alt", buf, sizeof(buf)));
	EXPECT_STREQ("1", buf);
	emu_stop(&e);
}

TEST_HARNESS_MAIN
