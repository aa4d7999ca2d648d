// SPDX-License-Identifier: GPL-2.0
/*
 * dfu_flash_test - download and upload through /dev/dfuN against the
 * emulated DFU device: sysfs and ioctls, image sizes around every block and
 * packet boundary, a real firmware image with cat and dd, upload, and the
 * cost of waiting bwPollTimeout.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/usb/dfu.h>

#include "kselftest_harness.h"
#include "emu.h"

#define REAL_IMAGE_DEFAULT	"/payload/images/u-boot.bin"

static const char *real_image(void)
{
	const char *p = getenv("DFU_REAL_IMAGE");

	return p ? p : REAL_IMAGE_DEFAULT;
}

FIXTURE(dfu) {
	struct emu emu;
	char tsize[16];
};

/*
 * Block sizes at the packet and block boundaries, and the behaviour of real
 * device stacks (see the protocol reference's personalities): the same
 * suite runs against each.
 */
FIXTURE_VARIANT(dfu) {
	int transfer_size;
	const char *speed;
	const char *attrs;
	const char *extra[10];	/* more emulator options, NULL-padded */
	int slow;		/* long poll times: skip the 1 MiB image */
	int boot_error;		/* starts in dfuERROR/errFIRMWARE */
	int no_upload;		/* no bitCanUpload: read() is refused */
	int upload_full;	/* UPLOAD never ends short: read the length */
	int leaves_bus;		/* resets itself after manifestation */
};

FIXTURE_VARIANT_ADD(dfu, t64_full) {
	.transfer_size = 64,
	.speed = "full",
	.attrs = "0x07",
};

FIXTURE_VARIANT_ADD(dfu, t4096_high) {
	.transfer_size = 4096,
	.speed = "high",
	.attrs = "0x07",
};

/* U-Boot f_dfu: takes each block at once, long poll in dfuMANIFEST */
FIXTURE_VARIANT_ADD(dfu, uboot) {
	.transfer_size = 4096,
	.speed = "high",
	.attrs = "0x0f",
	.extra = { "--busy-polls", "0", "--manifest-poll-ms", "300" },
};

/* TinyUSB: reports dfuDNBUSY with a poll time of 0 while still busy */
FIXTURE_VARIANT_ADD(dfu, tinyusb) {
	.transfer_size = 512,
	.speed = "high",
	.attrs = "0x07",
	.extra = { "--busy-polls", "3", "--stall-keeps-state" },
};

/*
 * Zephyr device_next: writes in the data stage, 100 ms in every status
 * reply, a bState one transition behind, bitWillDetach.
 */
FIXTURE_VARIANT_ADD(dfu, zephyr) {
	.transfer_size = 512,
	.speed = "high",
	.attrs = "0x0f",
	.extra = { "--poll-ms", "100", "--poll-always", "--lagging-state",
		   "--busy-polls", "0" },
	.slow = 1,
};

/*
 * The next three stacks speak DfuSe (bcdDFUVersion 0x011a), which
 * dfu_dfuse_test covers; here they run with DFU 1.1 and keep the rest of
 * their state machine, which plain DFU firmware built on them has too.
 *
 * STM32 system-memory ROM: protocol 0, blank application (dfuERROR,
 * errFIRMWARE), CLRSTATUS only in dfuERROR, full-length uploads, resets
 * itself once manifestation starts.
 */
FIXTURE_VARIANT_ADD(dfu, stm32rom) {
	.transfer_size = 2048,
	.speed = "full",
	.attrs = "0x0b",
	.extra = { "--protocol", "0", "--start-error", "10", "--strict-clrstatus",
		   "--poll-ms", "40", "--upload-full", "--leave-after-manifest" },
	.slow = 1,
	.boot_error = 1,
	.upload_full = 1,
	.leaves_bus = 1,
};

/* ST USBD library: 50 ms media poll, CLRSTATUS outside dfuERROR is an error */
FIXTURE_VARIANT_ADD(dfu, stlib) {
	.transfer_size = 1024,
	.speed = "full",
	.attrs = "0x0b",
	.extra = { "--poll-ms", "50", "--strict-clrstatus", "--upload-full",
		   "--manifest-poll-ms", "1", "--leave-after-manifest" },
	.slow = 1,
	.upload_full = 1,
	.leaves_bus = 1,
};

/* libopencm3 usbdfu: 100 ms busy, no upload, no dfuERROR, resets at the end */
FIXTURE_VARIANT_ADD(dfu, libopencm3) {
	.transfer_size = 1024,
	.speed = "full",
	.attrs = "0x09",
	.extra = { "--poll-ms", "100", "--stall-keeps-state",
		   "--leave-after-manifest" },
	.slow = 1,
	.no_upload = 1,
	.leaves_bus = 1,
};

FIXTURE_SETUP(dfu)
{
	const char *const *x = variant->extra;

	snprintf(self->tsize, sizeof(self->tsize), "%d", variant->transfer_size);
	ASSERT_EQ(0, emu_start(&self->emu, "--transfer-size", self->tsize,
			       "--speed", variant->speed, "--attrs", variant->attrs,
			       "--detach-timeout", "1234", "--mem-size", "4194304",
			       x[0], x[1], x[2], x[3], x[4], x[5], x[6], x[7],
			       x[8], x[9], NULL));
}

FIXTURE_TEARDOWN(dfu)
{
	emu_stop(&self->emu);
}

TEST_F(dfu, sysfs_and_info)
{
	struct usb_dfu_info info;
	struct usb_dfu_status st;
	char buf[64];
	__u8 state;
	int fd;

	ASSERT_EQ(0, read_attr(&self->emu, "transfer_size", buf, sizeof(buf)));
	EXPECT_STREQ(self->tsize, buf);
	ASSERT_EQ(0, read_attr(&self->emu, "attributes", buf, sizeof(buf)));
	EXPECT_STREQ(variant->attrs, buf);
	ASSERT_EQ(0, read_attr(&self->emu, "detach_timeout", buf, sizeof(buf)));
	EXPECT_STREQ("1234", buf);
	ASSERT_EQ(0, read_attr(&self->emu, "dfu_version", buf, sizeof(buf)));
	EXPECT_STREQ("0x0110", buf);
	ASSERT_EQ(0, read_attr(&self->emu, "state", buf, sizeof(buf)));
	EXPECT_STREQ(variant->boot_error ? "dfuERROR" : "dfuIDLE", buf);
	ASSERT_EQ(0, read_attr(&self->emu, "status", buf, sizeof(buf)));
	EXPECT_STREQ(variant->boot_error ? "errFIRMWARE" : "OK", buf);
	ASSERT_EQ(0, read_attr(&self->emu, "mode", buf, sizeof(buf)));
	EXPECT_STREQ("dfu", buf);
	ASSERT_EQ(0, read_attr(&self->emu, "last_result", buf, sizeof(buf)));
	EXPECT_STREQ("none", buf);

	fd = open(self->emu.node, O_RDONLY);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ioctl(fd, USB_DFU_IOCTL_GET_INFO, &info));
	EXPECT_EQ(0x1209, info.idVendor);
	EXPECT_EQ(0xdf00, info.idProduct);
	EXPECT_EQ(variant->transfer_size, info.wTransferSize);
	EXPECT_EQ(1234, info.wDetachTimeOut);
	EXPECT_EQ(0x0110, info.bcdDFUVersion);
	EXPECT_EQ(strtol(variant->attrs, NULL, 16), info.bmAttributes);
	EXPECT_EQ(1, info.bNumAltSettings);
	EXPECT_EQ(USB_DFU_MODE_DFU, info.mode);
	ASSERT_EQ(0, ioctl(fd, USB_DFU_IOCTL_GET_STATUS, &st));
	EXPECT_EQ(variant->boot_error ? USB_DFU_STATUS_ERR_FIRMWARE : USB_DFU_STATUS_OK,
		  st.bStatus);
	EXPECT_EQ(variant->boot_error ? USB_DFU_STATE_ERROR : USB_DFU_STATE_DFU_IDLE,
		  st.bState);
	ASSERT_EQ(0, ioctl(fd, USB_DFU_IOCTL_GET_STATE, &state));
	EXPECT_EQ(st.bState, state);
	/* an ioctl this driver does not know, in its own range and another's */
	EXPECT_EQ(-1, ioctl(fd, _IO(USB_DFU_IOCTL_MAGIC, 0x7f)));
	EXPECT_EQ(ENOTTY, errno);
	EXPECT_EQ(-1, ioctl(fd, _IOR('U', 3, int), &state));
	EXPECT_EQ(ENOTTY, errno);
	close(fd);
	/* the requests that change the state, on a file opened for writing */
	fd = open(self->emu.node, O_WRONLY);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ioctl(fd, USB_DFU_IOCTL_GET_INFO, &info));
	EXPECT_EQ(USB_DFU_COMMIT_CLOSE, info.commit);	/* the module's default */
	/* CLR_STATUS leaves dfuERROR; elsewhere it sends nothing */
	EXPECT_EQ(0, ioctl(fd, USB_DFU_IOCTL_CLR_STATUS));
	ASSERT_EQ(0, ioctl(fd, USB_DFU_IOCTL_GET_STATE, &state));
	EXPECT_EQ(USB_DFU_STATE_DFU_IDLE, state);
	EXPECT_EQ(0, ioctl(fd, USB_DFU_IOCTL_ABORT));
	/* nothing written: the close sends nothing and succeeds */
	EXPECT_EQ(0, close(fd));
	/* none of that may have started a download */
	emu_stop(&self->emu);
	EXPECT_EQ(0, emu_stat(&self->emu, "dnload_requests"));
	EXPECT_EQ(0, emu_stat(&self->emu, "stray_clrstatus"));
}

/* The helper reads the same through the ioctls, with sysexits codes. */
TEST_F(dfu, dfuctl_info_and_status)
{
	const char *node = self->emu.node;

	EXPECT_EQ(0, run_sh("/payload/dfuctl info %s | grep -q 'wTransferSize: %s bytes'",
			    node, self->tsize));
	EXPECT_EQ(0, run_sh("/payload/dfuctl status %s | grep -q 'state %s, status %s'",
			    node, variant->boot_error ? "dfuERROR" : "dfuIDLE",
			    variant->boot_error ? "errFIRMWARE" : "OK"));
	EXPECT_EQ(0, run_sh("/payload/dfuctl result %s | grep -q 'no transfer yet'", node));
	EXPECT_EQ(64, run_sh("/payload/dfuctl frobnicate 2>/dev/null"));	/* EX_USAGE */
	EXPECT_EQ(69, run_sh("/payload/dfuctl info /dev/dfu-none 2>/dev/null"));	/* EX_UNAVAILABLE */
}

/* Read exactly len bytes from the node (a device whose upload never ends short). */
static unsigned char *upload_len(const char *node, size_t len)
{
	unsigned char *buf = malloc(len + 1);
	size_t done = 0;
	ssize_t n = 1;
	int fd = open(node, O_RDONLY);

	while (buf && fd >= 0 && done < len && n > 0) {
		n = read(fd, buf + done, len - done);
		if (n > 0)
			done += n;
	}
	if (fd < 0 || close(fd) || done != len) {
		free(buf);
		return NULL;
	}
	return buf;
}

/*
 * Flash one size with one write() per chunk, check the device, upload it
 * back as the device allows.
 */
static void flash_size(struct __test_metadata *_metadata,
		       const FIXTURE_VARIANT(dfu) *v, struct emu *e,
		       size_t len, size_t chunk, unsigned int seed)
{
	unsigned char *img = malloc(len + 1), *up;
	long manifests = emu_stat(e, "manifests");
	long selects = emu_stat(e, "set_interface");
	long devnum = emu_devnum(e);
	struct usb_dfu_status st;
	char state[32];
	size_t up_len = len;
	int fd;

	ASSERT_NE(NULL, img);
	ASSERT_LE(0, selects);
	fill_pattern(img, len, seed);
	ASSERT_EQ(0, flash_buf(e->node, img, len, chunk)) {
		TH_LOG("flash of %zu bytes in %zu-byte writes failed", len, chunk);
	}
	ASSERT_EQ(manifests + 1, emu_wait_stat(e, "manifests", manifests + 1, 2000));
	ASSERT_TRUE(emu_has_image(e, img, len)) {
		TH_LOG("image of %zu bytes differs on the device", len);
	}
	/* the download started by selecting the alt setting */
	EXPECT_EQ(selects + 1, emu_stat(e, "set_interface"));
	/* a device that reset itself is back as a new USB device */
	if (v->leaves_bus)
		ASSERT_EQ(0, emu_wait_reenumerated(e, devnum, 10000));
	if (v->no_upload) {
		EXPECT_EQ(NULL, upload_buf(e->node, &up_len, 128 * 1024));
		EXPECT_EQ(EOPNOTSUPP, errno);
	} else {
		up = v->upload_full ? upload_len(e->node, len) :
				      upload_buf(e->node, &up_len, 128 * 1024);
		ASSERT_NE(NULL, up);
		ASSERT_EQ(len, up_len);
		ASSERT_EQ(0, memcmp(img, up, len));
		free(up);
	}
	/*
	 * and the upload ended with the device back in dfuIDLE; sysfs state
	 * asks the device nothing, it shows what GET_STATUS saw last
	 */
	fd = open(e->node, O_RDONLY);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ioctl(fd, USB_DFU_IOCTL_GET_STATUS, &st));
	close(fd);
	EXPECT_EQ(USB_DFU_STATE_DFU_IDLE, st.bState);
	ASSERT_EQ(0, read_attr(e, "state", state, sizeof(state)));
	EXPECT_STREQ("dfuIDLE", state);
	free(img);
}

TEST_F_TIMEOUT(dfu, sizes, 600)
{
	size_t t = variant->transfer_size;
	size_t sizes[] = { 1, 63, 64, 65, 127, 128, 129, t - 1, t, t + 1,
			   2 * t, 2 * t + 1, 1 << 20 };
	unsigned int i, n = sizeof(sizes) / sizeof(sizes[0]);

	for (i = 0; i < n - (variant->slow ? 1 : 0); i++)
		flash_size(_metadata, variant, &self->emu, sizes[i], 128 * 1024, i + 1);
}

TEST_F(dfu, writes_straddle_blocks)
{
	size_t t = variant->transfer_size;

	/* odd chunks, so blocks are assembled from several write() calls */
	flash_size(_metadata, variant, &self->emu, 5 * t + 17, 7, 100);
	flash_size(_metadata, variant, &self->emu, 3 * t, t + 3, 101);
	flash_size(_metadata, variant, &self->emu, 3 * t + 1, t, 102);
}

TEST_F(dfu, empty_open_close_sends_nothing)
{
	int fd;

	fd = open(self->emu.node, O_WRONLY);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, close(fd));
	/* what the shell does for cat with a missing file */
	EXPECT_NE(0, run_sh("cat /nonexistent.bin > %s 2>/dev/null", self->emu.node));
	EXPECT_EQ(0, run_sh(": > %s", self->emu.node));
	/* the emulator writes its final counts when it stops */
	emu_stop(&self->emu);
	EXPECT_EQ(0, emu_stat(&self->emu, "dnload_requests"));
	EXPECT_EQ(0, emu_stat(&self->emu, "manifests"));
	EXPECT_EQ(0, emu_stat(&self->emu, "zero_len_in_idle"));
}

/* Tests that start their own emulated devices with their own settings. */
FIXTURE(own_device) {
};

FIXTURE_SETUP(own_device)
{
}

FIXTURE_TEARDOWN(own_device)
{
}

/* The real firmware image, flashed the ways people flash it. */
TEST_F_TIMEOUT(own_device, real_image_cat_dd, 900)
{
	const char *img_path = real_image();
	size_t len;
	unsigned char *img = read_file(img_path, &len);
	struct emu e;

	ASSERT_NE(NULL, img) {
		TH_LOG("%s: %s", img_path, strerror(errno));
	}
	ASSERT_EQ(0, emu_start(&e, "--transfer-size", "4096", NULL));

	ASSERT_EQ(0, run_sh("cat %s > %s", img_path, e.node));
	ASSERT_TRUE(emu_has_image(&e, img, len));

	ASSERT_EQ(0, run_sh("dd if=%s of=%s bs=1M conv=fsync status=none",
			    img_path, e.node));
	ASSERT_TRUE(emu_has_image(&e, img, len));

	ASSERT_EQ(0, run_sh("dd if=%s of=%s bs=1 status=none", img_path, e.node));
	ASSERT_TRUE(emu_has_image(&e, img, len));

	ASSERT_EQ(0, run_sh("cat %s > /tmp/backup.bin", e.node));
	ASSERT_EQ(0, run_sh("cmp %s /tmp/backup.bin", img_path));
	EXPECT_EQ(3, emu_stat(&e, "manifests"));
	emu_stop(&e);
	free(img);
}

/* wTransferSize 0xffff means "unknown": 1024-byte blocks, as fwupd uses. */
TEST_F(own_device, transfer_size_unknown)
{
	size_t len = 3 * 1024 + 7;
	unsigned char *img = malloc(len);
	char buf[32];
	struct emu e;

	ASSERT_NE(NULL, img);
	fill_pattern(img, len, 13);
	ASSERT_EQ(0, emu_start(&e, "--transfer-size", "65535", NULL));
	ASSERT_EQ(0, read_attr(&e, "transfer_size", buf, sizeof(buf)));
	EXPECT_STREQ("1024", buf);
	ASSERT_EQ(0, flash_buf(e.node, img, len, len));
	EXPECT_TRUE(emu_has_image(&e, img, len));
	EXPECT_EQ(4, emu_stat(&e, "blocks"));
	emu_stop(&e);
	free(img);
}

/*
 * Choosing the DFU target: through sysfs by number or name (the default of
 * later opens), or by ioctl for one open file.
 */
TEST_F(own_device, alt_settings)
{
	unsigned char img[100];
	struct usb_dfu_info info;
	char buf[128];
	struct emu e;
	__u32 alt;
	int fd, fd2;

	fill_pattern(img, sizeof(img), 12);
	ASSERT_EQ(0, emu_start(&e, "--transfer-size", "64", "--alt", "Flash",
			       "--alt", "Config", "--alt", "Bootloader", NULL));
	ASSERT_EQ(0, read_attr(&e, "num_alts", buf, sizeof(buf)));
	EXPECT_STREQ("3", buf);
	ASSERT_EQ(0, read_attr(&e, "alt_names", buf, sizeof(buf)));
	EXPECT_STREQ("0 Flash", buf);	/* read_attr keeps the first line */
	EXPECT_EQ(0, run_sh("grep -qx '2 Bootloader' %s/alt_names", e.sysfs));
	ASSERT_EQ(0, read_attr(&e, "alt", buf, sizeof(buf)));
	EXPECT_STREQ("0", buf);

	/* by number, through sysfs */
	ASSERT_EQ(0, run_sh("echo 1 > %s/alt", e.sysfs));
	ASSERT_EQ(0, flash_buf(e.node, img, sizeof(img), sizeof(img)));
	EXPECT_EQ(1, emu_stat(&e, "alt"));
	EXPECT_TRUE(emu_has_image(&e, img, sizeof(img)));

	/* by name */
	ASSERT_EQ(0, run_sh("echo Bootloader > %s/alt", e.sysfs));
	ASSERT_EQ(0, read_attr(&e, "alt", buf, sizeof(buf)));
	EXPECT_STREQ("2", buf);
	EXPECT_NE(0, run_sh("echo Nowhere > %s/alt 2>/dev/null", e.sysfs));
	EXPECT_NE(0, run_sh("echo 3 > %s/alt 2>/dev/null", e.sysfs));

	/* by ioctl: this file's target only, also on a read-only file */
	fd = open(e.node, O_RDONLY);
	ASSERT_LE(0, fd);
	alt = 3;
	EXPECT_EQ(-1, ioctl(fd, USB_DFU_IOCTL_SET_ALT, &alt));
	EXPECT_EQ(EINVAL, errno);
	alt = 0;
	ASSERT_EQ(0, ioctl(fd, USB_DFU_IOCTL_SET_ALT, &alt));
	ASSERT_EQ(0, ioctl(fd, USB_DFU_IOCTL_GET_INFO, &info));
	EXPECT_EQ(0, info.bAlternateSetting);
	EXPECT_EQ(3, info.bNumAltSettings);
	/* another open, and the sysfs default, still say Bootloader */
	fd2 = open(e.node, O_RDONLY);
	ASSERT_LE(0, fd2);
	ASSERT_EQ(0, ioctl(fd2, USB_DFU_IOCTL_GET_INFO, &info));
	EXPECT_EQ(2, info.bAlternateSetting);
	close(fd2);
	ASSERT_EQ(0, read_attr(&e, "alt", buf, sizeof(buf)));
	EXPECT_STREQ("2", buf);
	close(fd);
	ASSERT_EQ(0, flash_buf(e.node, img, 50, 50));
	EXPECT_EQ(2, emu_stat(&e, "manifest_alt"));
	EXPECT_TRUE(emu_has_image(&e, img, 50));

	/*
	 * a writer's choice holds for its whole download: not changed by
	 * SET_ALT while its transfer is in progress, nor by sysfs alt
	 * (which, accepted or not, only sets the default of later opens)
	 */
	fd = open(e.node, O_WRONLY);
	ASSERT_LE(0, fd);
	alt = 0;
	ASSERT_EQ(0, ioctl(fd, USB_DFU_IOCTL_SET_ALT, &alt));
	ASSERT_EQ(64, write(fd, img, 64));
	alt = 1;
	EXPECT_EQ(-1, ioctl(fd, USB_DFU_IOCTL_SET_ALT, &alt));
	EXPECT_EQ(EBUSY, errno);
	run_sh("echo 1 > %s/alt 2>/dev/null", e.sysfs);
	ASSERT_EQ(36, write(fd, img + 64, 36));
	EXPECT_EQ(0, close(fd));
	EXPECT_EQ(0, emu_stat(&e, "manifest_alt"));
	EXPECT_TRUE(emu_has_image(&e, img, 100));
	emu_stop(&e);
}

/*
 * A process that shares the open file but did not write it (a parent that
 * handed the node to a child) closes its copy in the middle of the image:
 * the image goes on, and ends when the writer closes it.
 */
TEST_F(own_device, other_holder_close_keeps_image)
{
	size_t len = 6 * 64 + 5, half = 3 * 64 + 1;
	unsigned char *img = malloc(len);
	int wrote[2], closed[2], fd, status;
	struct emu e;
	pid_t pid;
	char c;

	ASSERT_NE(NULL, img);
	fill_pattern(img, len, 11);
	ASSERT_EQ(0, emu_start(&e, "--transfer-size", "64", NULL));
	ASSERT_EQ(0, pipe(wrote));
	ASSERT_EQ(0, pipe(closed));
	fd = open(e.node, O_WRONLY);
	ASSERT_LE(0, fd);
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		if (write(fd, img, half) != (ssize_t)half || write(wrote[1], "w", 1) != 1 ||
		    read(closed[0], &c, 1) != 1 ||
		    write(fd, img + half, len - half) != (ssize_t)(len - half))
			_exit(1);
		_exit(close(fd) ? 2 : 0);
	}
	ASSERT_EQ(1, read(wrote[0], &c, 1));
	EXPECT_EQ(0, close(fd));
	EXPECT_EQ(0, emu_stat(&e, "manifests") > 0);
	ASSERT_EQ(1, write(closed[1], "c", 1));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_EQ(0, WEXITSTATUS(status));
	EXPECT_TRUE(emu_has_image(&e, img, len));
	EXPECT_EQ(1, emu_stat(&e, "manifests"));
	emu_stop(&e);
	free(img);
}

/* Time of flashing blocks blocks at bwPollTimeout poll_ms, per block, in us. */
static long long time_per_block(struct __test_metadata *_metadata,
				const char *poll_ms, int blocks, long *early)
{
	struct emu e;
	size_t len = blocks * 64;
	unsigned char *img = malloc(len);
	long long t0, t1;

	ASSERT_NE(NULL, img);
	fill_pattern(img, len, 7);
	ASSERT_EQ(0, emu_start(&e, "--transfer-size", "64", "--poll-ms", poll_ms,
			       "--busy-polls", "1", NULL));
	t0 = now_us();
	ASSERT_EQ(0, flash_buf(e.node, img, len, len));
	t1 = now_us();
	ASSERT_TRUE(emu_has_image(&e, img, len));
	*early = emu_stat(&e, "early_polls");
	emu_stop(&e);
	free(img);
	return (t1 - t0) / blocks;
}

static int cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return (x > y) - (x < y);
}

/*
 * The cost of honouring a 5 ms bwPollTimeout: runs of 200 blocks at 0 and
 * 5 ms, alternated so that load on the machine hits both alike. The mean
 * difference per block, in the best of the pairs, must stay under 6 ms (a
 * jiffy-rounded sleep at HZ=250 costs 8 ms or more in every pair; noise
 * from the host only ever adds time), and the emulator must never have
 * been polled before the 5 ms were up.
 *
 * The test and the emulated device share one CPU: under QEMU TCG a wakeup
 * across virtual CPUs costs 0.5 to 1 ms once the other CPU has halted,
 * which would be charged to the driver although a real device is separate
 * hardware (measured: 6.9 ms across CPUs, 5.3 ms on one).
 */
TEST_F_TIMEOUT(own_device, poll_precision, 600)
{
	enum { PAIRS = 7, BLOCKS = 200 };
	long long delta[PAIRS], us0, us5;
	long early0, early5, early = 0;
	cpu_set_t one_cpu;
	int i;

	CPU_ZERO(&one_cpu);
	CPU_SET(0, &one_cpu);
	ASSERT_EQ(0, sched_setaffinity(0, sizeof(one_cpu), &one_cpu));
	for (i = 0; i < PAIRS; i++) {
		us0 = time_per_block(_metadata, "0", BLOCKS, &early0);
		us5 = time_per_block(_metadata, "5", BLOCKS, &early5);
		delta[i] = us5 - us0;
		early += early5 < 0 ? 1000 : early5;
		ksft_print_msg("per block: %lld us at bwPollTimeout 0, %lld us at 5 ms: the wait costs %lld us\n",
			       us0, us5, delta[i]);
	}
	qsort(delta, PAIRS, sizeof(delta[0]), cmp_ll);
	ksft_print_msg("cost of a 5 ms bwPollTimeout per block: best %lld us, median %lld us\n",
		       delta[0], delta[PAIRS / 2]);
	EXPECT_EQ(0, early);
	EXPECT_LT(delta[0], 6000);
}

TEST_HARNESS_MAIN
