// SPDX-License-Identifier: GPL-2.0
/*
 * dfu_fault_test - what /dev/dfuN does when things go wrong: device errors
 * and stalls at a given block, an error at the end of the image, a second
 * writer, devices that cannot download or upload, unplug and signals in the
 * middle of a transfer. After each failure the device must take a retry.
 * (Commit policies, and writers that exit or die: dfu_commit_test.)
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

#define IMG_PATH	"/tmp/fault-image.bin"

/* Write an image of len bytes to IMG_PATH and return it. */
static unsigned char *make_image(size_t len, unsigned int seed)
{
	return make_pattern_file(IMG_PATH, len, seed);
}

/* A device error at block 5: cat fails, the status is visible, a retry works. */
TEST(device_error_then_retry)
{
	size_t len = 20 * 64 + 10;
	unsigned char *img = make_image(len, 1);
	struct usb_dfu_status st;
	struct usb_dfu_result r;
	struct emu e;
	char buf[128];

	ASSERT_NE(NULL, img);
	ASSERT_EQ(0, emu_start(&e, "--transfer-size", "64",
			       "--fail-status", "3@5", NULL));
	EXPECT_NE(0, run_sh("cat %s > %s 2>/dev/null", IMG_PATH, e.node));

	ASSERT_EQ(0, get_status(&e, &st));
	EXPECT_EQ(USB_DFU_STATUS_ERR_WRITE, st.bStatus);
	EXPECT_EQ(USB_DFU_STATE_ERROR, st.bState);
	ASSERT_EQ(0, get_result(&e, &r));
	EXPECT_EQ(-EIO, r.error);
	EXPECT_EQ(USB_DFU_STATUS_ERR_WRITE, r.bStatus);
	EXPECT_EQ(5u, r.block);
	EXPECT_EQ(5ull * 64, r.bytes);
	EXPECT_EQ(0u, r.flags);
	EXPECT_TRUE(last_result_is(&e, "-EIO 320 dfuERROR errWRITE"));
	/* what the driver saw last, without asking the device again */
	ASSERT_EQ(0, read_attr(&e, "state", buf, sizeof(buf)));
	EXPECT_STREQ("dfuERROR", buf);
	ASSERT_EQ(0, read_attr(&e, "status", buf, sizeof(buf)));
	EXPECT_STREQ("errWRITE", buf);
	EXPECT_EQ(0, emu_stat(&e, "manifests") > 0);

	ASSERT_EQ(0, run_sh("cat %s > %s", IMG_PATH, e.node));
	EXPECT_TRUE(emu_has_image(&e, img, len));
	EXPECT_TRUE(last_result_is(&e, "ok 1290"));
	emu_stop(&e);
	free(img);
}

/* Every bStatus error code, each at a random block: EIO, visible, retry works. */
TEST(every_status_code)
{
	size_t len = 12 * 64;
	unsigned char *img = make_image(len, 11);
	struct usb_dfu_status st;
	char spec[16];
	unsigned int code;

	ASSERT_NE(NULL, img);
	srand(77);
	for (code = USB_DFU_STATUS_ERR_TARGET; code <= USB_DFU_STATUS_ERR_STALLEDPKT; code++) {
		struct emu e;

		snprintf(spec, sizeof(spec), "%u@%d", code, rand() % 12);
		ASSERT_EQ(0, emu_start(&e, "--transfer-size", "64", "--fail-status", spec, NULL));
		EXPECT_EQ(-EIO, flash_buf(e.node, img, len, len)) {
			TH_LOG("--fail-status %s", spec);
		}
		ASSERT_EQ(0, get_status(&e, &st));
		EXPECT_EQ(code, st.bStatus);
		EXPECT_EQ(USB_DFU_STATE_ERROR, st.bState);
		EXPECT_EQ(0, flash_buf(e.node, img, len, len));
		EXPECT_TRUE(emu_has_image(&e, img, len));
		emu_stop(&e);
	}
	free(img);
}

/*
 * A bState outside the spec (the ST library has sent 0x0f) is a malformed
 * answer: EIO with the reason logged, and a retry works.
 */
TEST(bad_state_rejected)
{
	size_t len = 8 * 64;
	unsigned char *img = make_image(len, 13);
	struct emu e;

	ASSERT_NE(NULL, img);
	ASSERT_EQ(0, run_sh("echo 'dfu-test: mark bad-state' > /dev/kmsg"));
	ASSERT_EQ(0, emu_start(&e, "--transfer-size", "64", "--bad-state", "3", NULL));
	EXPECT_EQ(-EIO, flash_buf(e.node, img, len, len));
	EXPECT_EQ(0, emu_stat(&e, "manifests"));
	EXPECT_EQ(0, run_sh("dmesg | sed -n '/dfu-test: mark bad-state$/,$p' | grep -q 'bState 15'"));
	EXPECT_EQ(0, flash_buf(e.node, img, len, len));
	EXPECT_TRUE(emu_has_image(&e, img, len));
	emu_stop(&e);
	free(img);
}

/* A stall of each request the driver sends: EIO, then a retry works. */
TEST(stall_of_each_request)
{
	const char *downloads[] = { "dnload@2", "getstatus@2" };
	size_t len = 6 * 64;
	unsigned char *img = make_image(len, 12), *up;
	unsigned int i;
	struct emu e;
	size_t got;

	ASSERT_NE(NULL, img);
	for (i = 0; i < 2; i++) {
		ASSERT_EQ(0, emu_start(&e, "--transfer-size", "64", "--stall", downloads[i], NULL));
		EXPECT_EQ(-EIO, flash_buf(e.node, img, len, len)) {
			TH_LOG("--stall %s", downloads[i]);
		}
		EXPECT_EQ(0, flash_buf(e.node, img, len, len));
		EXPECT_TRUE(emu_has_image(&e, img, len));
		emu_stop(&e);
	}
	/* UPLOAD stalled at block 2, and GETSTATE at the end of an upload */
	ASSERT_EQ(0, emu_start(&e, "--transfer-size", "64", "--image", IMG_PATH,
			       "--stall", "upload@2", NULL));
	up = upload_buf(e.node, &got, 4096);
	EXPECT_EQ(NULL, up);
	EXPECT_EQ(EIO, errno);
	free(up);
	up = upload_buf(e.node, &got, 4096);
	ASSERT_NE(NULL, up);
	EXPECT_EQ(len, got);
	free(up);
	emu_stop(&e);
	ASSERT_EQ(0, emu_start(&e, "--transfer-size", "64", "--image", IMG_PATH,
			       "--stall", "getstate@0", NULL));
	up = upload_buf(e.node, &got, 4096);
	EXPECT_EQ(NULL, up);
	free(up);
	up = upload_buf(e.node, &got, 4096);
	ASSERT_NE(NULL, up);
	EXPECT_EQ(len, got);
	EXPECT_EQ(0, memcmp(up, img, len));
	free(up);
	emu_stop(&e);
	free(img);
}

/* A stalled DNLOAD: EIO, errSTALLEDPKT visible, and a retry works. */
TEST(stall_then_retry)
{
	size_t len = 10 * 64;
	unsigned char *img = make_image(len, 2);
	struct usb_dfu_status st;
	struct emu e;
	int fd;

	ASSERT_NE(NULL, img);
	ASSERT_EQ(0, emu_start(&e, "--transfer-size", "64",
			       "--stall", "dnload@3", NULL));
	EXPECT_EQ(-EIO, flash_buf(e.node, img, len, len));
	ASSERT_EQ(0, get_status(&e, &st));
	EXPECT_EQ(USB_DFU_STATUS_ERR_STALLEDPKT, st.bStatus);
	EXPECT_EQ(USB_DFU_STATE_ERROR, st.bState);
	/*
	 * USB_DFU_IOCTL_CLR_STATUS (on a file opened for writing) leaves
	 * dfuERROR, and only then is it sent
	 */
	fd = open(e.node, O_WRONLY);
	ASSERT_LE(0, fd);
	EXPECT_EQ(0, ioctl(fd, USB_DFU_IOCTL_CLR_STATUS));
	EXPECT_EQ(0, ioctl(fd, USB_DFU_IOCTL_CLR_STATUS));
	EXPECT_EQ(0, close(fd));
	EXPECT_EQ(USB_DFU_STATE_DFU_IDLE, get_state(&e));
	EXPECT_EQ(1, emu_wait_stat(&e, "clrstatus", 1, 2000));
	ASSERT_EQ(0, flash_buf(e.node, img, len, len));
	EXPECT_TRUE(emu_has_image(&e, img, len));
	emu_stop(&e);
	free(img);
}

/*
 * An error on the last, short block, which only close() sends: coreutils cat
 * and dd conv=fsync report it; busybox cat ignores close(), so sysfs has it.
 */
TEST(error_at_close)
{
	size_t len = 3 * 64 + 10;
	unsigned char *img = make_image(len, 3);
	struct emu e;

	ASSERT_NE(NULL, img);
	ASSERT_EQ(0, emu_start(&e, "--transfer-size", "64",
			       "--fail-status", "6@3", NULL));
	EXPECT_NE(0, run_sh("cat %s > %s 2>/dev/null", IMG_PATH, e.node));
	/* blocks 0 to 2 were taken; the short block 3 failed */
	EXPECT_TRUE(last_result_is(&e, "-EIO 192 dfuERROR errPROG"));
	emu_stop(&e);

	ASSERT_EQ(0, emu_start(&e, "--transfer-size", "64",
			       "--fail-status", "6@3", NULL));
	EXPECT_NE(0, run_sh("dd if=%s of=%s bs=1M conv=fsync status=none 2>/dev/null",
			    IMG_PATH, e.node));
	emu_stop(&e);

	ASSERT_EQ(0, emu_start(&e, "--transfer-size", "64",
			       "--fail-status", "6@3", NULL));
	EXPECT_EQ(0, run_sh("busybox cat %s > %s", IMG_PATH, e.node));
	EXPECT_TRUE(last_result_is(&e, "-EIO 192 dfuERROR errPROG"));
	/* and a retry works */
	ASSERT_EQ(0, run_sh("cat %s > %s", IMG_PATH, e.node));
	EXPECT_TRUE(emu_has_image(&e, img, len));
	EXPECT_TRUE(last_result_is(&e, "ok 202"));
	emu_stop(&e);
	free(img);
}

TEST(second_writer_busy)
{
	struct emu e;
	int fd1, fd2, fd3;

	ASSERT_EQ(0, emu_start(&e, NULL));
	fd1 = open(e.node, O_WRONLY);
	ASSERT_LE(0, fd1);
	fd2 = open(e.node, O_WRONLY);
	EXPECT_EQ(-1, fd2);
	EXPECT_EQ(EBUSY, errno);
	fd2 = open(e.node, O_RDWR);
	EXPECT_EQ(-1, fd2);
	EXPECT_EQ(EBUSY, errno);
	fd3 = open(e.node, O_RDONLY);
	EXPECT_LE(0, fd3);
	close(fd3);
	close(fd1);
	fd1 = open(e.node, O_WRONLY);
	EXPECT_LE(0, fd1);
	close(fd1);
	emu_stop(&e);
}

/*
 * A reader that has the whole (short) image but has not read all of it
 * still owns the transfer: a writer waits (EBUSY), and the reader gets
 * its bytes, not the writer's.
 */
TEST(upload_tail_kept_for_reader)
{
	size_t len = 1000;
	unsigned char *img = make_image(len, 13), got[1000];
	struct emu e;
	int rfd, wfd;

	ASSERT_NE(NULL, img);
	ASSERT_EQ(0, emu_start(&e, "--image", IMG_PATH, NULL));
	rfd = open(e.node, O_RDONLY);
	ASSERT_LE(0, rfd);
	ASSERT_EQ(16, read(rfd, got, 16));
	wfd = open(e.node, O_WRONLY);
	ASSERT_LE(0, wfd);
	EXPECT_EQ(-1, write(wfd, img, 100));
	EXPECT_EQ(EBUSY, errno);
	EXPECT_EQ((ssize_t)(len - 16), read(rfd, got + 16, sizeof(got) - 16));
	EXPECT_EQ(0, read(rfd, got, 1));
	EXPECT_EQ(0, memcmp(got, img, len));
	close(rfd);
	close(wfd);
	emu_stop(&e);
	free(img);
}

/*
 * A reader that stops early (head -c, dfuctl upload --size) is no error:
 * the device gets DFU_ABORT and is in dfuIDLE, the result says success
 * with the bytes the device sent, and the next upload reads everything.
 * The node is a stream: no seek back to 0; a new upload needs a new open,
 * and an upload that reached its end stays there.
 */
TEST(upload_closed_early)
{
	size_t len = 10000;
	unsigned char *img = make_image(len, 14), *got = malloc(len + 1);
	struct usb_dfu_result r;
	struct emu e;
	int fd;

	ASSERT_NE(NULL, img);
	ASSERT_NE(NULL, got);
	ASSERT_EQ(0, emu_start(&e, "--image", IMG_PATH, "--transfer-size", "256", NULL));
	fd = open(e.node, O_RDONLY);
	ASSERT_LE(0, fd);
	EXPECT_EQ(100, read(fd, got, 100));
	EXPECT_EQ(0, close(fd));
	EXPECT_EQ(USB_DFU_STATE_DFU_IDLE, get_state(&e));
	ASSERT_EQ(0, get_result(&e, &r));
	EXPECT_EQ(0, r.error);
	EXPECT_EQ(256u, r.bytes);
	EXPECT_EQ(USB_DFU_STATE_DFU_IDLE, r.bState);
	EXPECT_EQ((__u32)USB_DFU_RESULT_UPLOAD, r.flags);

	fd = open(e.node, O_RDONLY);
	ASSERT_LE(0, fd);
	EXPECT_EQ(300, read(fd, got, 300));
	EXPECT_EQ(-1, lseek(fd, 0, SEEK_SET));
	EXPECT_EQ(ESPIPE, errno);
	EXPECT_EQ(-1, pread(fd, got, 10, 0));
	EXPECT_EQ(ESPIPE, errno);
	EXPECT_EQ(0, close(fd));
	fd = open(e.node, O_RDONLY);
	ASSERT_LE(0, fd);
	EXPECT_EQ((ssize_t)len, read(fd, got, len + 1));
	EXPECT_EQ(0, memcmp(got, img, len));
	EXPECT_EQ(0, read(fd, got, len));
	EXPECT_EQ(0, read(fd, got, 1));
	EXPECT_EQ(0, close(fd));
	ASSERT_EQ(0, get_result(&e, &r));
	EXPECT_EQ(0, r.error);
	EXPECT_EQ((__u64)len, r.bytes);
	EXPECT_EQ((__u32)USB_DFU_RESULT_UPLOAD, r.flags);
	emu_stop(&e);
	EXPECT_EQ(0, run_sh("dmesg | grep -q 'upload stopped by the reader after 256 bytes'"));
	free(got);
	free(img);
}

/* Read and write refused on devices without bitCanUpload / bitCanDnload. */
TEST(capabilities)
{
	struct emu e;
	char c;
	int fd;

	ASSERT_EQ(0, emu_start(&e, "--attrs", "0x05", NULL));
	fd = open(e.node, O_RDONLY);
	ASSERT_LE(0, fd);
	EXPECT_EQ(-1, read(fd, &c, 1));
	EXPECT_EQ(EOPNOTSUPP, errno);
	close(fd);
	emu_stop(&e);

	ASSERT_EQ(0, emu_start(&e, "--attrs", "0x06", NULL));
	EXPECT_EQ(-1, open(e.node, O_WRONLY));
	EXPECT_EQ(EROFS, errno);
	fd = open(e.node, O_RDONLY);
	EXPECT_LE(0, fd);
	close(fd);
	emu_stop(&e);

	/*
	 * DfuSe reads DFU_DNLOAD block 0 as a command, and its file is the
	 * memory map its alt names announce: with no map there, there is no
	 * memory to write (ENXIO) or read (EOF), and nothing is sent but the
	 * UPLOAD of block 0 (the DfuSe command list) at probe.
	 */
	ASSERT_EQ(0, emu_start(&e, "--dfu-version", "0x011a", NULL));
	fd = open(e.node, O_RDWR);
	ASSERT_LE(0, fd);
	EXPECT_EQ(-1, write(fd, "x", 1));
	EXPECT_EQ(ENXIO, errno);
	EXPECT_EQ(0, read(fd, &c, 1));
	close(fd);
	emu_stop(&e);
	EXPECT_EQ(0, emu_stat(&e, "dnload_requests"));
	EXPECT_EQ(1, emu_stat(&e, "upload_requests"));
}

/*
 * A device that is not manifestation tolerant ends in dfuMANIFEST-WAIT-RESET
 * and gets the USB reset that starts its new firmware (here: back to
 * dfuIDLE, as a boot loader that stays in DFU mode does).
 */
TEST(not_manifestation_tolerant)
{
	size_t len = 5 * 64 + 3;
	unsigned char *img = make_image(len, 8);
	long resets, waited;
	struct emu e;

	ASSERT_NE(NULL, img);
	ASSERT_EQ(0, emu_start(&e, "--transfer-size", "64", "--attrs", "0x03",
			       "--manifest-poll-ms", "20", NULL));
	resets = emu_stat(&e, "resets");
	ASSERT_LE(0, resets);
	ASSERT_EQ(0, run_sh("cat %s > %s", IMG_PATH, e.node));
	EXPECT_TRUE(emu_has_image(&e, img, len));
	EXPECT_EQ(1, emu_stat(&e, "manifests"));
	for (waited = 0; emu_stat(&e, "resets") <= resets && waited < 5000; waited += 10)
		usleep(10 * 1000);
	EXPECT_LT(resets, emu_stat(&e, "resets"));
	EXPECT_EQ(USB_DFU_STATE_DFU_IDLE, get_state(&e));
	/* the device said it manifested: verified, not "unverified" */
	EXPECT_TRUE(last_result_is(&e, "ok 323"));
	emu_stop(&e);
	free(img);
}

/* The same device with bitWillDetach resets itself: the host does not. */
TEST(will_detach_gets_no_reset)
{
	size_t len = 2 * 64;
	unsigned char *img = make_image(len, 9);
	struct emu e;
	long resets;

	ASSERT_NE(NULL, img);
	ASSERT_EQ(0, emu_start(&e, "--transfer-size", "64", "--attrs", "0x0b", NULL));
	resets = emu_stat(&e, "resets");
	ASSERT_EQ(0, run_sh("cat %s > %s", IMG_PATH, e.node));
	EXPECT_TRUE(emu_has_image(&e, img, len));
	usleep(300 * 1000);
	EXPECT_EQ(resets, emu_stat(&e, "resets"));
	emu_stop(&e);
	free(img);
}

/*
 * A USB reset by someone else (usbfs) in the middle of a download: the
 * device lost the blocks, so the writer gets EIO and nothing is manifested.
 */
TEST(usb_reset_mid_download)
{
	size_t chunk = 20 * 64, len = 100 * chunk;
	unsigned char *img = make_image(len, 9);
	char usbfs[64];
	int status, ufd;
	struct emu e;
	pid_t pid;

	ASSERT_NE(NULL, img);
	ASSERT_EQ(0, emu_start(&e, "--transfer-size", "64", "--poll-ms", "2", NULL));
	ASSERT_EQ(0, emu_usbfs_path(&e, usbfs, sizeof(usbfs)));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		int fd = open(e.node, O_WRONLY);
		size_t done;

		if (fd < 0)
			_exit(100);
		for (done = 0; done < len; done += chunk)
			if (write(fd, img + done, chunk) < 0)
				_exit(errno == EIO ? 0 : 101);
		_exit(close(fd) == 0 ? 102 : errno == EIO ? 0 : 103);
	}
	usleep(500 * 1000);
	ufd = open(usbfs, O_RDWR);
	ASSERT_LE(0, ufd) {
		TH_LOG("%s: %s", usbfs, strerror(errno));
	}
	EXPECT_EQ(0, ioctl(ufd, USBDEVFS_RESET, 0));
	close(ufd);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	EXPECT_EQ(0, emu_stat(&e, "manifests"));
	/* and the next flash works */
	ASSERT_EQ(0, flash_buf(e.node, img, chunk, chunk));
	EXPECT_TRUE(emu_has_image(&e, img, chunk));
	emu_stop(&e);
	free(img);
}

TEST(unplug_mid_download)
{
	size_t len = 100 * 64;
	unsigned char *img = make_image(len, 4);
	struct usb_dfu_status st;
	ssize_t n;
	struct emu e;
	int fd;

	ASSERT_NE(NULL, img);
	ASSERT_EQ(0, emu_start(&e, "--transfer-size", "64",
			       "--disconnect-at", "10", NULL));
	fd = open(e.node, O_WRONLY);
	ASSERT_LE(0, fd);
	n = write(fd, img, len);
	EXPECT_EQ(-1, n);
	/*
	 * The call in flight sees the bus error (EIO) or, if disconnect()
	 * came first, ENODEV; the driver does not sleep to tell them apart.
	 */
	EXPECT_TRUE(errno == EIO || errno == ENODEV) {
		TH_LOG("write in flight: %s", strerror(errno));
	}
	EXPECT_EQ(0, emu_wait_exit(&e, 5000));
	EXPECT_EQ(-1, write(fd, img, 64));
	EXPECT_EQ(ENODEV, errno);
	EXPECT_EQ(-1, ioctl(fd, USB_DFU_IOCTL_GET_STATUS, &st));
	EXPECT_EQ(ENODEV, errno);
	close(fd);
	EXPECT_NE(0, access(e.sysfs, F_OK));
	emu_stop(&e);
	free(img);
}

TEST(unplug_mid_upload)
{
	size_t len = 50 * 64;
	unsigned char *img = make_image(len, 5);
	char buf[4096];
	struct emu e;
	ssize_t n;
	int fd;

	ASSERT_NE(NULL, img);
	ASSERT_EQ(0, emu_start(&e, "--transfer-size", "64", "--image", IMG_PATH,
			       "--disconnect-upload-at", "10", NULL));
	fd = open(e.node, O_RDONLY);
	ASSERT_LE(0, fd);
	n = read(fd, buf, sizeof(buf));
	/* the blocks before the unplug may arrive; then the error */
	if (n > 0) {
		EXPECT_EQ(10 * 64, n);
		EXPECT_EQ(0, memcmp(buf, img, n));
		n = read(fd, buf, sizeof(buf));
	}
	EXPECT_EQ(-1, n);
	EXPECT_TRUE(errno == EIO || errno == ENODEV) {
		TH_LOG("read in flight: %s", strerror(errno));
	}
	EXPECT_EQ(0, emu_wait_exit(&e, 5000));
	/* once disconnect() has run, every call says ENODEV */
	EXPECT_EQ(-1, read(fd, buf, sizeof(buf)));
	EXPECT_EQ(ENODEV, errno);
	close(fd);
	emu_stop(&e);
	free(img);
}

static void on_signal(int sig)
{
	(void)sig;
}

/*
 * A signal the writer handles (SIGUSR1, which asks dd for its progress)
 * does not abort the image: write() returns the bytes taken so far (or,
 * had none been taken, fails with EINTR: no SA_RESTART), the writer writes
 * the rest, and the whole image is manifested.
 */
TEST(handled_signal_keeps_image)
{
	size_t len = 300 * 64;
	unsigned char *img = make_image(len, 6);
	struct usb_dfu_result r;
	struct emu e;
	int status;
	pid_t pid;

	ASSERT_NE(NULL, img);
	ASSERT_EQ(0, emu_start(&e, "--transfer-size", "64", "--poll-ms", "5", NULL));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		struct sigaction sa = { .sa_handler = on_signal };
		int fd = open(e.node, O_WRONLY);
		size_t done = 0;
		ssize_t n;

		sigaction(SIGUSR1, &sa, NULL);	/* no SA_RESTART */
		if (fd < 0)
			_exit(100);
		n = write(fd, img, len);
		if (n < 0 && errno != EINTR)
			_exit(101);
		if (n == (ssize_t)len)
			_exit(102);	/* the signal did not end the call early */
		done = n > 0 ? (size_t)n : 0;
		while (done < len) {
			n = write(fd, img + done, len - done);
			if (n < 0 && errno != EINTR)
				_exit(103);
			done += n > 0 ? (size_t)n : 0;
		}
		_exit(close(fd) ? 104 : 0);
	}
	usleep(500 * 1000);
	kill(pid, SIGUSR1);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	EXPECT_TRUE(emu_has_image(&e, img, len));
	EXPECT_EQ(1, emu_stat(&e, "manifests"));
	ASSERT_EQ(0, get_result(&e, &r));
	EXPECT_EQ(0, r.error);
	EXPECT_EQ((__u64)len, r.bytes);
	emu_stop(&e);
	free(img);
}

/*
 * USB_DFU_IOCTL_ABORT from another process in the middle of a download: the
 * writer gets ECANCELED, nothing is manifested, the device is in dfuIDLE.
 */
TEST(abort_ioctl_mid_download)
{
	size_t chunk = 100 * 64, len = 20 * chunk;
	unsigned char *img = make_image(len, 10);
	struct usb_dfu_result r;
	struct emu e;
	int status, fd;
	pid_t pid;

	ASSERT_NE(NULL, img);
	ASSERT_EQ(0, emu_start(&e, "--transfer-size", "64", "--poll-ms", "2", NULL));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		int wfd = open(e.node, O_WRONLY);

		if (wfd < 0)
			_exit(100);
		/* one write() of the whole image: the abort lands inside it */
		if (write(wfd, img, len) >= 0)
			_exit(101);
		if (errno != ECANCELED)
			_exit(102);
		_exit(close(wfd) ? 103 : 0);
	}
	usleep(500 * 1000);
	/*
	 * the writer holds the node open for writing, so another can open it
	 * only read-only: root's CAP_SYS_ADMIN allows the ABORT there
	 */
	EXPECT_EQ(-1, open(e.node, O_WRONLY));
	EXPECT_EQ(EBUSY, errno);
	fd = open(e.node, O_RDONLY);
	ASSERT_LE(0, fd);
	EXPECT_EQ(0, ioctl(fd, USB_DFU_IOCTL_ABORT));
	close(fd);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	EXPECT_EQ(USB_DFU_STATE_DFU_IDLE, get_state(&e));
	ASSERT_EQ(0, get_result(&e, &r));
	EXPECT_EQ(-ECANCELED, r.error);
	EXPECT_GT(r.block, 0u);
	emu_stop(&e);
	EXPECT_EQ(0, emu_stat(&e, "manifests"));
	free(img);
}

/* cat killed by SIGINT: its partial image must not be manifested. */
TEST(sigint_kills_cat)
{
	size_t len = 2000 * 64;
	unsigned char *img = make_image(len, 7);
	struct usb_dfu_result r;
	struct emu e;
	int status;
	pid_t pid;

	ASSERT_NE(NULL, img);
	ASSERT_EQ(0, emu_start(&e, "--transfer-size", "64", "--poll-ms", "5", NULL));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		int fd = open(e.node, O_WRONLY);

		if (fd < 0 || dup2(fd, 1) < 0)
			_exit(100);
		signal(SIGINT, SIG_DFL);
		execlp("cat", "cat", IMG_PATH, (char *)NULL);
		_exit(101);
	}
	usleep(500 * 1000);
	kill(pid, SIGINT);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFSIGNALED(status));
	EXPECT_EQ(USB_DFU_STATE_DFU_IDLE, get_state(&e));
	ASSERT_EQ(0, get_result(&e, &r));
	EXPECT_EQ(-EINTR, r.error);
	emu_stop(&e);
	EXPECT_EQ(0, emu_stat(&e, "manifests"));
	free(img);
}

TEST_HARNESS_MAIN
