// SPDX-License-Identifier: GPL-2.0
/*
 * dfu_dfuse_test - ST DfuSe through /dev/dfuN against the emulated STM32F4
 * system-memory ROM (dfu-emu --dfuse stm32f4) and the other DfuSe devices
 * the emulator knows: the file is the memory of its alt setting, so cat
 * programs the flash at 0x08000000, erasing exactly the sectors it touches,
 * and the device leaves DFU mode at close. Each test checks the flash the
 * emulator holds at the end (--out) and what it was sent (--stats: erased=
 * lists the sectors in the order erased).
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

#include "kselftest_harness.h"
#include "emu.h"

#define IMG_PATH	"/tmp/dfuse-image.bin"
#define ZERO_PATH	"/tmp/dfuse-zero.bin"
#define BACK_PATH	"/tmp/dfuse-back.bin"
#define FLASH		STM32F4_FLASH
#define FLASH_SIZE	STM32F4_FLASH_SIZE
#define XFER		2048	/* the STM32F4 ROM's wTransferSize */

/* The F4 ROM's four alt settings, as the contract's dfuse_map shows them. */
static const char f4_map[] =
	"0 0x08000000 4*16384 rew Internal Flash\n"
	"0 0x08010000 1*65536 rew Internal Flash\n"
	"0 0x08020000 7*131072 rew Internal Flash\n"
	"1 0x1fffc000 1*16 r-w Option Bytes\n"
	"2 0x1fff7800 1*512 r-w OTP Memory\n"
	"2 0x1fff7a00 1*16 r-w OTP Memory\n"
	"3 0xffff0000 1*4 r-w Device Feature\n";

/* The DfuSe personalities besides the ROM (dfu-emu --dfuse NAME). */
static const char *const profiles[] = { "stm32f4", "stusbd", "bmp", "gd32vf103" };

static unsigned long blocks(unsigned long len, unsigned long xfer)
{
	return (len + xfer - 1) / xfer;
}

/* A 1 MiB flash of zeros (--image): erases show as 0xff. */
static int make_zero_flash(void)
{
	unsigned char *z = calloc(1, FLASH_SIZE);
	int ret;

	if (!z)
		return -ENOMEM;
	ret = write_file(ZERO_PATH, z, FLASH_SIZE);
	free(z);
	return ret;
}

/* Lose CAP_SYS_ADMIN and every other capability. */
static int become_user(void)
{
	return setresgid(1000, 1000, 1000) || setresuid(1000, 1000, 1000) ? -1 : 0;
}

/* The F4 flash at the end (after emu_stop()): img at off, 0xff elsewhere. */
static int flash_holds(struct emu *e, const unsigned char *img, size_t off, size_t len)
{
	size_t flen;
	unsigned char *f = emu_flash(e, &flen);
	int ok = f && flen == FLASH_SIZE;

	if (!ok)
		fprintf(stderr, "# flash: %zu bytes, expected %u\n", f ? flen : 0, FLASH_SIZE);
	if (ok && memcmp(f + off, img, len)) {
		size_t i = 0;

		while (f[off + i] == img[i])
			i++;
		fprintf(stderr, "# flash at 0x%zx: 0x%02x, image 0x%02x\n",
			FLASH + off + i, f[off + i], img[i]);
		ok = 0;
	}
	ok = ok && all_erased(f, 0, off) && all_erased(f, off + len, FLASH_SIZE - off - len);
	free(f);
	return ok;
}

/*
 * Every DFU_DNLOAD the device got is a command it ran or a data block it
 * took, plus leaves zero-length ones: nothing refused, nothing stray.
 */
static long dnloads_accounted(struct emu *e, long leaves)
{
	return emu_stat(e, "set_address") + emu_stat(e, "erases") +
	       emu_stat(e, "mass_erases") + emu_stat(e, "get_commands") +
	       emu_stat(e, "unprotects") + emu_stat(e, "dfuse_writes") + leaves;
}

/*
 * After an erase ioctl the device is ready for the next request: dfuIDLE
 * (the driver aborted) or dfuDNLOAD-IDLE, with bStatus OK.
 */
static void expect_idle(struct __test_metadata *_metadata, struct emu *e)
{
	struct usb_dfu_status st;

	ASSERT_EQ(0, get_status(e, &st));
	EXPECT_EQ(USB_DFU_STATUS_OK, st.bStatus);
	EXPECT_TRUE(st.bState == USB_DFU_STATE_DFU_IDLE ||
		    st.bState == USB_DFU_STATE_DNLOAD_IDLE) {
		TH_LOG("bState %u", st.bState);
	}
}

FIXTURE(dfuse) {
	struct emu e;
};

FIXTURE_SETUP(dfuse)
{
	memset(&self->e, 0, sizeof(self->e));
}

FIXTURE_TEARDOWN(dfuse)
{
	emu_stop(&self->e);
}

/*
 * cat-like downloads at 0x08000000 (open, write(), close): the flash holds
 * the image and nothing else, exactly the sectors it touches were erased,
 * Set Address went once per run and after erases (not per block), the
 * device left once (and is back in DFU mode), and the result says so.
 */
FIXTURE(cat) {
	struct emu e;
};

FIXTURE_VARIANT(cat) {
	size_t len;
	size_t chunk;		/* write() size; 0: coreutils cat */
};

FIXTURE_VARIANT_ADD(cat, one_byte) { .len = 1, .chunk = 1 };
FIXTURE_VARIANT_ADD(cat, one_sector) { .len = 16384, .chunk = 0 };
FIXTURE_VARIANT_ADD(cat, sector_plus_one) { .len = 16385, .chunk = 4096 };
/*
 * 16, 64 and 128 KiB sectors, with coreutils cat (128 KiB writes); the
 * only 1 MiB write, for the run time on the debug kernel
 */
FIXTURE_VARIANT_ADD(cat, whole_flash_cat) { .len = FLASH_SIZE, .chunk = 0 };

FIXTURE_SETUP(cat)
{
	memset(&self->e, 0, sizeof(self->e));
}

FIXTURE_TEARDOWN(cat)
{
	emu_stop(&self->e);
}

TEST_F_TIMEOUT(cat, lands_at_flash_start, 240)
{
	size_t len = variant->len;
	unsigned char *img = make_pattern_file(IMG_PATH, len, 1000 + len);
	struct usb_dfu_result r;
	struct usb_dfu_info info;
	char want[512];
	long devnum, n, sa;
	long long t0;
	int rfd;

	ASSERT_NE(NULL, img);
	n = stm32f4_sectors(0, len, want, sizeof(want));
	ASSERT_EQ(0, emu_start_dfuse(&self->e, "stm32f4", NULL));
	devnum = emu_devnum(&self->e);
	rfd = open(self->e.node, O_RDONLY);
	ASSERT_LE(0, rfd);
	ASSERT_EQ(0, ioctl(rfd, USB_DFU_IOCTL_GET_INFO, &info));
	EXPECT_EQ(USB_DFU_DIALECT_DFUSE, info.dialect);
	EXPECT_EQ(0x011a, info.bcdDFUVersion);
	EXPECT_EQ(0x0483, info.idVendor);
	EXPECT_EQ(0xdf11, info.idProduct);
	EXPECT_EQ(XFER, info.wTransferSize);
	EXPECT_EQ(4, info.bNumAltSettings);
	EXPECT_EQ(0, info.bAlternateSetting);
	EXPECT_EQ(USB_DFU_MODE_DFU, info.mode);

	t0 = now_us();
	if (variant->chunk) {
		EXPECT_EQ(0, flash_buf(self->e.node, img, len, variant->chunk));
	} else {
		EXPECT_EQ(0, run_sh("cat %s > %s", IMG_PATH, self->e.node));
	}
	TH_LOG("%zu bytes in %lld ms", len, ms_since(t0));

	/* the result, on a file opened before: the device has left */
	ASSERT_EQ(0, ioctl(rfd, USB_DFU_IOCTL_GET_RESULT, &r));
	EXPECT_EQ(0, r.error);
	EXPECT_EQ((__u32)USB_DFU_RESULT_LEFT, r.flags);
	EXPECT_EQ((__u64)len, r.bytes);
	close(rfd);
	/* off the bus for 200 ms, then back in DFU mode */
	ASSERT_EQ(0, emu_wait_reenumerated(&self->e, devnum, 10000));
	ASSERT_EQ(0, emu_wait_mode(&self->e, "dfu", 5000));
	emu_stop(&self->e);

	EXPECT_TRUE(flash_holds(&self->e, img, 0, len));
	EXPECT_TRUE(emu_erased_is(&self->e, want));
	EXPECT_EQ(n, emu_stat(&self->e, "erases"));
	EXPECT_EQ(1, emu_stat(&self->e, "leaves"));
	EXPECT_EQ(0, emu_stat(&self->e, "mass_erases"));
	EXPECT_EQ((long)blocks(len, XFER), emu_stat(&self->e, "dfuse_writes"));
	EXPECT_EQ((long)len, emu_stat(&self->e, "dfuse_write_bytes"));
	EXPECT_EQ(0, emu_stat(&self->e, "dfuse_errors"));
	EXPECT_EQ(0, emu_stat(&self->e, "early_polls"));
	/* the leave's Set Address went to the base */
	EXPECT_EQ((long long)FLASH, emu_stat_num(&self->e, "address"));
	sa = emu_stat(&self->e, "set_address");
	TH_LOG("set_address=%ld for %ld sectors, %lu blocks", sa, n, blocks(len, XFER));
	/* one for the data (again after each erase batch), one for the leave */
	EXPECT_LE(2, sa);
	EXPECT_GE(n + 2, sa);
	EXPECT_EQ(dnloads_accounted(&self->e, 1), emu_stat(&self->e, "dnload_requests"));
	free(img);
}

/*
 * pwrite() of 100 bytes at 0x8000: only sector 2 (0x08008000) is erased,
 * and the leave goes to 0x08008000, the lowest address written (not the
 * base).
 */
TEST_F_TIMEOUT(dfuse, pwrite_at_offset, 60)
{
	unsigned char img[100];
	int fd;

	fill_pattern(img, sizeof(img), 2);
	ASSERT_EQ(0, emu_start_dfuse(&self->e, "stm32f4", NULL));
	fd = open(self->e.node, O_WRONLY);
	ASSERT_LE(0, fd);
	EXPECT_EQ((ssize_t)sizeof(img), pwrite(fd, img, sizeof(img), 0x8000));
	/* pwrite does not move the position */
	EXPECT_EQ(0, lseek(fd, 0, SEEK_CUR));
	EXPECT_EQ(0, close(fd));
	EXPECT_EQ(1, emu_wait_stat(&self->e, "leaves", 1, 5000));
	emu_stop(&self->e);
	EXPECT_TRUE(flash_holds(&self->e, img, 0x8000, sizeof(img)));
	EXPECT_TRUE(emu_erased_is(&self->e, "0x08008000"));
	EXPECT_EQ(1, emu_stat(&self->e, "erases"));
	EXPECT_EQ(1, emu_stat(&self->e, "dfuse_writes"));
	EXPECT_EQ(100, emu_stat(&self->e, "dfuse_write_bytes"));
	EXPECT_EQ(0, emu_stat(&self->e, "dfuse_errors"));
	EXPECT_EQ(0x08008000LL, emu_stat_num(&self->e, "address"));
	EXPECT_EQ(dnloads_accounted(&self->e, 1), emu_stat(&self->e, "dnload_requests"));
}

/*
 * dd seek=: lseek() then write() lands at 0x08000000 + position, and
 * lseek(SEEK_END) is the end of the internal flash.
 */
TEST_F_TIMEOUT(dfuse, dd_seek, 60)
{
	unsigned char *img = make_pattern_file(IMG_PATH, 3000, 3);

	ASSERT_NE(NULL, img);
	ASSERT_EQ(0, emu_start_dfuse(&self->e, "stm32f4", NULL));
	/* 0x0c000 + 3000 stays in sector 3 */
	ASSERT_EQ(0, run_sh("dd if=%s of=%s bs=1024 seek=48 status=none", IMG_PATH,
			    self->e.node));
	EXPECT_EQ(1, emu_wait_stat(&self->e, "leaves", 1, 5000));
	emu_stop(&self->e);
	EXPECT_TRUE(flash_holds(&self->e, img, 0xc000, 3000));
	EXPECT_TRUE(emu_erased_is(&self->e, "0x0800c000"));
	free(img);
}

/*
 * A DfuSe file's two elements, at 0x08020000 and then 0x08000000, written
 * with pwrite() in one open: both land, only their two sectors are erased
 * (in the order written), one leave at the end, to the lowest address
 * written (0x08000000, not the first).
 */
TEST_F_TIMEOUT(dfuse, two_elements_one_open, 60)
{
	unsigned char el1[4096], el2[6144], *f;
	size_t flen;
	int fd;

	fill_pattern(el1, sizeof(el1), 41);
	fill_pattern(el2, sizeof(el2), 42);
	ASSERT_EQ(0, emu_start_dfuse(&self->e, "stm32f4", NULL));
	fd = open(self->e.node, O_WRONLY);
	ASSERT_LE(0, fd);
	EXPECT_EQ((ssize_t)sizeof(el2), pwrite(fd, el2, sizeof(el2), 0x20000));
	EXPECT_EQ((ssize_t)sizeof(el1), pwrite(fd, el1, sizeof(el1), 0));
	EXPECT_EQ(0, close(fd));
	EXPECT_EQ(1, emu_wait_stat(&self->e, "leaves", 1, 5000));
	emu_stop(&self->e);
	f = emu_flash(&self->e, &flen);
	ASSERT_NE(NULL, f);
	ASSERT_EQ((size_t)FLASH_SIZE, flen);
	EXPECT_EQ(0, memcmp(f, el1, sizeof(el1)));
	EXPECT_EQ(0, memcmp(f + 0x20000, el2, sizeof(el2)));
	EXPECT_TRUE(all_erased(f, sizeof(el1), 0x20000 - sizeof(el1)));
	EXPECT_TRUE(all_erased(f, 0x20000 + sizeof(el2), FLASH_SIZE - 0x20000 - sizeof(el2)));
	free(f);
	EXPECT_TRUE(emu_erased_is(&self->e, "0x08020000,0x08000000"));
	EXPECT_EQ(2, emu_stat(&self->e, "erases"));
	EXPECT_EQ((long long)FLASH, emu_stat_num(&self->e, "address"));
	EXPECT_EQ(2 + 3, emu_stat(&self->e, "dfuse_writes"));
	EXPECT_EQ(1, emu_stat(&self->e, "leaves"));
	/* two runs and the leave; at most one more after an erase batch */
	EXPECT_LE(3, emu_stat(&self->e, "set_address"));
	EXPECT_GE(4, emu_stat(&self->e, "set_address"));
	EXPECT_EQ(dnloads_accounted(&self->e, 1), emu_stat(&self->e, "dnload_requests"));
}

/*
 * Writes the map refuses, with not one DFU_DNLOAD sent: past the end of
 * the internal flash (ENOSPC), a raw DfuSe .dfu file (EMEDIUMTYPE), also
 * with cat. No download happened, so nothing leaves.
 */
/* Stop the device and check that it got no DFU_DNLOAD at all. */
static void expect_nothing_sent(struct __test_metadata *_metadata, struct emu *e,
				const char *what)
{
	emu_stop(e);
	EXPECT_EQ(0, emu_stat(e, "dnload_requests")) {
		TH_LOG("%s", what);
	}
	EXPECT_EQ(0, emu_stat(e, "erases"));
	EXPECT_EQ(0, emu_stat(e, "dfuse_writes"));
	EXPECT_EQ(0, emu_stat(e, "leaves"));
	EXPECT_TRUE(emu_erased_is(e, ""));
}

TEST_F_TIMEOUT(dfuse, refused_writes_send_nothing, 90)
{
	static const size_t splits[] = { 1, 3, 4 };
	unsigned char buf[4096];
	unsigned int i;
	int fd;

	fill_pattern(buf, sizeof(buf), 5);
	ASSERT_EQ(0, emu_start_dfuse(&self->e, "stm32f4", NULL));
	fd = open(self->e.node, O_WRONLY);
	ASSERT_LE(0, fd);
	EXPECT_EQ(-1, pwrite(fd, buf, 100, FLASH_SIZE));
	EXPECT_EQ(ENOSPC, errno);
	EXPECT_EQ(-1, pwrite(fd, buf, 1, FLASH_SIZE + 12345));
	EXPECT_EQ(ENOSPC, errno);
	EXPECT_EQ((off_t)FLASH_SIZE, lseek(fd, FLASH_SIZE, SEEK_SET));
	EXPECT_EQ(-1, write(fd, buf, sizeof(buf)));
	EXPECT_EQ(ENOSPC, errno);
	close(fd);	/* nothing was sent: whatever close() says, nothing leaves */
	/* still the same device, in DFU mode, idle */
	EXPECT_EQ(USB_DFU_STATE_DFU_IDLE, get_state(&self->e));
	expect_nothing_sent(_metadata, &self->e, "past the end");

	/* "DfuSe", bVersion 1, DFUImageSize, bTargets 1: dfuctl's job */
	memcpy(buf, "DfuSe\x01", 6);
	buf[6] = sizeof(buf) & 0xff;
	buf[7] = sizeof(buf) >> 8;
	buf[8] = 0;
	buf[9] = 0;
	buf[10] = 1;
	ASSERT_EQ(0, emu_start_dfuse(&self->e, "stm32f4", NULL));
	EXPECT_EQ(-EMEDIUMTYPE, flash_buf(self->e.node, buf, sizeof(buf), sizeof(buf)));
	expect_nothing_sent(_metadata, &self->e, "DfuSe file in one write()");
	/*
	 * The prefix a few bytes at a time: refused by the write (or the
	 * close) that completes it; still nothing may be sent, the bytes
	 * held before included.
	 */
	for (i = 0; i < sizeof(splits) / sizeof(splits[0]); i++) {
		char what[64];

		snprintf(what, sizeof(what), "DfuSe file in %zu-byte writes", splits[i]);
		ASSERT_EQ(0, emu_start_dfuse(&self->e, "stm32f4", NULL));
		EXPECT_EQ(-EMEDIUMTYPE, flash_buf(self->e.node, buf, sizeof(buf), splits[i])) {
			TH_LOG("%s", what);
		}
		expect_nothing_sent(_metadata, &self->e, what);
	}
	ASSERT_EQ(0, write_file(IMG_PATH, buf, sizeof(buf)));
	ASSERT_EQ(0, emu_start_dfuse(&self->e, "stm32f4", NULL));
	EXPECT_NE(0, run_sh("cat %s > %s 2>/dev/null", IMG_PATH, self->e.node));
	expect_nothing_sent(_metadata, &self->e, "DfuSe file with cat");
}

/*
 * A write that starts in the flash and runs past its end: either refused
 * whole with ENOSPC and nothing sent, or short up to the end (as a full
 * disk does); whichever, the flash holds exactly what was taken.
 */
TEST_F_TIMEOUT(dfuse, write_across_the_end, 60)
{
	unsigned char buf[100];
	ssize_t n;
	int fd;

	fill_pattern(buf, sizeof(buf), 6);
	ASSERT_EQ(0, emu_start_dfuse(&self->e, "stm32f4", NULL));
	fd = open(self->e.node, O_WRONLY);
	ASSERT_LE(0, fd);
	n = pwrite(fd, buf, sizeof(buf), FLASH_SIZE - 50);
	if (n < 0) {
		EXPECT_EQ(ENOSPC, errno);
		EXPECT_EQ(0, close(fd));
		emu_stop(&self->e);
		EXPECT_EQ(0, emu_stat(&self->e, "dnload_requests"));
		TH_LOG("refused whole");
	} else {
		EXPECT_EQ(50, n);
		EXPECT_EQ(0, close(fd));
		EXPECT_EQ(1, emu_wait_stat(&self->e, "leaves", 1, 5000));
		emu_stop(&self->e);
		EXPECT_TRUE(flash_holds(&self->e, buf, FLASH_SIZE - 50, 50));
		EXPECT_TRUE(emu_erased_is(&self->e, "0x080e0000"));
		TH_LOG("short write of 50");
	}
}

/*
 * Refused writes send nothing and do not end the image: ENOSPC past the
 * end of the F4's flash (pwrite(), and write() at a position there) and
 * EROFS in the read-only bootloader sectors of ST's USB device library
 * (also a write that only starts there). The position does not move, the
 * next write goes on with the image, and the commit (fsync() on the F4,
 * close() on the other) leaves once, to the lowest address written.
 */
TEST_F_TIMEOUT(dfuse, refused_write_keeps_image, 90)
{
	unsigned char ab[8000], *f;
	const size_t la = 5000;
	struct usb_dfu_result r;
	size_t flen;
	long devnum;
	int fd;

	fill_pattern(ab, sizeof(ab), 21);
	ASSERT_EQ(0, emu_start_dfuse(&self->e, "stm32f4", NULL));
	devnum = emu_devnum(&self->e);
	fd = open(self->e.node, O_WRONLY);
	ASSERT_LE(0, fd);
	EXPECT_EQ((ssize_t)la, write(fd, ab, la));
	EXPECT_EQ(-1, pwrite(fd, ab, 100, FLASH_SIZE));
	EXPECT_EQ(ENOSPC, errno);
	EXPECT_EQ((off_t)FLASH_SIZE, lseek(fd, FLASH_SIZE, SEEK_SET));
	EXPECT_EQ(-1, write(fd, ab, 100));
	EXPECT_EQ(ENOSPC, errno);
	EXPECT_EQ((off_t)FLASH_SIZE, lseek(fd, 0, SEEK_CUR));
	EXPECT_EQ((off_t)la, lseek(fd, la, SEEK_SET));
	EXPECT_EQ((ssize_t)(sizeof(ab) - la), write(fd, ab + la, sizeof(ab) - la));
	EXPECT_EQ(0, fsync(fd)) {
		TH_LOG("fsync: %s", strerror(errno));
	}
	ASSERT_EQ(0, ioctl(fd, USB_DFU_IOCTL_GET_RESULT, &r));
	EXPECT_EQ(0, r.error);
	EXPECT_EQ((__u32)USB_DFU_RESULT_LEFT, r.flags);
	EXPECT_EQ((__u64)sizeof(ab), r.bytes);
	EXPECT_EQ(0, close(fd));
	EXPECT_EQ(0, emu_wait_reenumerated(&self->e, devnum, 10000));
	emu_stop(&self->e);
	EXPECT_TRUE(flash_holds(&self->e, ab, 0, sizeof(ab)));
	EXPECT_TRUE(emu_erased_is(&self->e, "0x08000000"));
	EXPECT_EQ(1, emu_stat(&self->e, "leaves"));
	EXPECT_EQ((long long)FLASH, emu_stat_num(&self->e, "address"));
	EXPECT_EQ(0, emu_stat(&self->e, "dfuse_errors"));
	EXPECT_EQ(dnloads_accounted(&self->e, 1), emu_stat(&self->e, "dnload_requests"));

	/* ST's library: 0x08000000-0x0800bfff is its own, read-only */
	ASSERT_EQ(0, emu_start_dfuse(&self->e, "stusbd", NULL));
	devnum = emu_devnum(&self->e);
	fd = open(self->e.node, O_WRONLY);
	ASSERT_LE(0, fd);
	EXPECT_EQ((ssize_t)la, pwrite(fd, ab, la, 0xc000));
	EXPECT_EQ(-1, pwrite(fd, ab, 100, 0));
	EXPECT_EQ(EROFS, errno);
	EXPECT_EQ(-1, pwrite(fd, ab, 100, 0xc000 - 16));
	EXPECT_EQ(EROFS, errno);
	EXPECT_EQ(-1, write(fd, ab, 100));	/* at position 0 */
	EXPECT_EQ(EROFS, errno);
	EXPECT_EQ(0, lseek(fd, 0, SEEK_CUR));
	EXPECT_EQ((ssize_t)(sizeof(ab) - la), pwrite(fd, ab + la, sizeof(ab) - la, 0xc000 + la));
	EXPECT_EQ(0, close(fd));
	EXPECT_EQ(0, emu_wait_reenumerated(&self->e, devnum, 10000));
	emu_stop(&self->e);
	f = emu_flash(&self->e, &flen);
	ASSERT_NE(NULL, f);
	ASSERT_LE((size_t)0x10000, flen);
	EXPECT_EQ(0, memcmp(f + 0xc000, ab, sizeof(ab)));
	EXPECT_TRUE(all_erased(f, 0xc000 + sizeof(ab), 0x10000 - 0xc000 - sizeof(ab)));
	free(f);
	EXPECT_TRUE(emu_erased_is(&self->e, "0x0800c000"));
	EXPECT_EQ(1, emu_stat(&self->e, "leaves"));
	EXPECT_EQ(0x0800c000LL, emu_stat_num(&self->e, "address"));
	EXPECT_EQ(0, emu_stat(&self->e, "dfuse_stuck"));
	EXPECT_EQ(dnloads_accounted(&self->e, 1), emu_stat(&self->e, "dnload_requests"));
}

/*
 * One O_RDWR file: pread() leaves the upload open (SET_ALT on the file is
 * then EBUSY, as documented), a pwrite() ends it first and is written, a
 * pread() after the commit reads what was written, and a DfuSe erase
 * ioctl after a pread() ends that upload too. With dfuse_leave 0 the
 * device stays, in dfuIDLE after the close.
 */
TEST_F_TIMEOUT(dfuse, read_then_write_one_fd, 90)
{
	unsigned char *base = make_pattern_file(IMG_PATH, FLASH_SIZE, 23), *f;
	struct usb_dfu_dfuse_erase er = { FLASH + 0x4000, 1 };
	unsigned char part[100], w[100];
	__u32 alt = 0;
	size_t flen;
	int fd;

	ASSERT_NE(NULL, base);
	fill_pattern(w, sizeof(w), 24);
	ASSERT_EQ(0, emu_start_dfuse(&self->e, "stm32f4", "--image", IMG_PATH, NULL));
	ASSERT_EQ(0, set_dfuse_leave(&self->e, 0));
	fd = open(self->e.node, O_RDWR);
	ASSERT_LE(0, fd);
	EXPECT_EQ((ssize_t)sizeof(part), pread(fd, part, sizeof(part), 0x4000));
	EXPECT_EQ(0, memcmp(part, base + 0x4000, sizeof(part)));
	EXPECT_EQ(-1, ioctl(fd, USB_DFU_IOCTL_SET_ALT, &alt));
	EXPECT_EQ(EBUSY, errno);
	EXPECT_EQ((ssize_t)sizeof(w), pwrite(fd, w, sizeof(w), 0x8000)) {
		TH_LOG("pwrite after pread: %s", strerror(errno));
	}
	EXPECT_EQ(0, fsync(fd));
	EXPECT_EQ(USB_DFU_STATE_DFU_IDLE, get_state(&self->e));
	EXPECT_EQ((ssize_t)sizeof(part), pread(fd, part, sizeof(part), 0x8000));
	EXPECT_EQ(0, memcmp(part, w, sizeof(w)));
	EXPECT_EQ(0, ioctl(fd, USB_DFU_IOCTL_DFUSE_ERASE, &er)) {
		TH_LOG("erase after pread: %s", strerror(errno));
	}
	EXPECT_EQ((ssize_t)sizeof(part), pread(fd, part, sizeof(part), 0x4000));
	EXPECT_TRUE(all_erased(part, 0, sizeof(part)));
	EXPECT_EQ(0, close(fd));
	EXPECT_EQ(USB_DFU_STATE_DFU_IDLE, get_state(&self->e));
	emu_stop(&self->e);
	EXPECT_TRUE(emu_erased_is(&self->e, "0x08008000,0x08004000"));
	EXPECT_EQ(0, emu_stat(&self->e, "leaves"));
	EXPECT_EQ(0, emu_stat(&self->e, "dfuse_errors"));
	f = emu_flash(&self->e, &flen);
	ASSERT_NE(NULL, f);
	ASSERT_EQ((size_t)FLASH_SIZE, flen);
	EXPECT_EQ(0, memcmp(f, base, 0x4000));
	EXPECT_TRUE(all_erased(f, 0x4000, 0x4000));
	EXPECT_EQ(0, memcmp(f + 0x8000, w, sizeof(w)));
	EXPECT_TRUE(all_erased(f, 0x8000 + sizeof(w), 0x4000 - sizeof(w)));
	EXPECT_EQ(0, memcmp(f + 0xc000, base + 0xc000, FLASH_SIZE - 0xc000));
	free(f);
	free(base);
}

/*
 * A sector is erased once per open file, not per image: with dfuse_leave
 * 0, write A, fsync(), write B behind it in the same sector, close: one
 * erase, and both are there. A new open file erases it again.
 */
TEST_F_TIMEOUT(dfuse, erase_once_per_open_file, 60)
{
	unsigned char ab[200], c[50], back[200];
	int fd;

	fill_pattern(ab, sizeof(ab), 25);
	fill_pattern(c, sizeof(c), 26);
	ASSERT_EQ(0, emu_start_dfuse(&self->e, "stm32f4", NULL));
	ASSERT_EQ(0, set_dfuse_leave(&self->e, 0));
	fd = open(self->e.node, O_RDWR);
	ASSERT_LE(0, fd);
	EXPECT_EQ(100, write(fd, ab, 100));
	EXPECT_EQ(0, fsync(fd));
	EXPECT_EQ(100, write(fd, ab + 100, 100));
	EXPECT_EQ(0, fsync(fd));
	EXPECT_EQ((ssize_t)sizeof(back), pread(fd, back, sizeof(back), 0));
	EXPECT_EQ(0, memcmp(back, ab, sizeof(ab)));
	EXPECT_EQ(0, close(fd));
	EXPECT_EQ(1, emu_wait_stat(&self->e, "erases", 1, 2000));
	fd = open(self->e.node, O_WRONLY);
	ASSERT_LE(0, fd);
	EXPECT_EQ((ssize_t)sizeof(c), pwrite(fd, c, sizeof(c), 200));
	EXPECT_EQ(0, close(fd));
	EXPECT_EQ(USB_DFU_STATE_DFU_IDLE, get_state(&self->e));
	emu_stop(&self->e);
	EXPECT_TRUE(emu_erased_is(&self->e, "0x08000000,0x08000000"));
	EXPECT_EQ(0, emu_stat(&self->e, "dfuse_errors"));
	EXPECT_EQ(0, emu_stat(&self->e, "leaves"));
	EXPECT_TRUE(flash_holds(&self->e, c, 200, sizeof(c)));
}

/*
 * A device that answers the leave with a state it should not be in has
 * not left as far as the driver knows: the commit fails with EIO, without
 * the LEFT flag, the zero-length DFU_DNLOAD is not sent, and the device
 * stays. The emulator can put bState 0x0f (--bad-state, once) into the
 * first DFU_GETSTATUS after the fourth counted DFU_DNLOAD (Erase, Set
 * Address, the data, the leave's Set Address), not into the one after
 * the zero-length DFU_DNLOAD, which it does not count: so this is the
 * leave's Set Address answered with a state that is not dfuDNLOAD-IDLE.
 */
TEST_F_TIMEOUT(dfuse, leave_answered_otherwise, 60)
{
	unsigned char one = 0x5a;
	struct usb_dfu_result r;
	long devnum;
	int rfd;

	ASSERT_EQ(0, emu_start_dfuse(&self->e, "stm32f4", "--bad-state", "3", NULL));
	devnum = emu_devnum(&self->e);
	rfd = open(self->e.node, O_RDONLY);
	ASSERT_LE(0, rfd);
	EXPECT_EQ(-EIO, flash_buf(self->e.node, &one, 1, 1));
	ASSERT_EQ(0, ioctl(rfd, USB_DFU_IOCTL_GET_RESULT, &r));
	EXPECT_EQ(-EIO, r.error);
	EXPECT_EQ(0u, r.flags & USB_DFU_RESULT_LEFT);
	EXPECT_EQ(1u, r.bytes);
	close(rfd);
	sleep_ms(500);
	EXPECT_EQ(devnum, emu_devnum(&self->e));
	emu_stop(&self->e);
	EXPECT_EQ(0, emu_stat(&self->e, "leaves"));
	/* Erase, Set Address, the data, the leave's Set Address */
	EXPECT_EQ(4, emu_stat(&self->e, "dnload_requests"));
	EXPECT_EQ(1, emu_stat(&self->e, "dfuse_writes"));
}

/*
 * Read Unprotect: EOPNOTSUPP with nothing sent on a device whose command
 * list (starting with 0x00) lacks 0x92 (ST's library and the GD32VF103:
 * 00 21 41); EIO on the F4 ROM, which lists it, when the device refuses
 * it (a stall) and stays: same device on the bus, nothing wiped.
 */
TEST_F_TIMEOUT(dfuse, unprotect_unlisted_or_refused, 90)
{
	static const char *const lack[] = { "stusbd", "gd32vf103" };
	__u32 confirm = USB_DFU_DFUSE_UNPROTECT_CONFIRM;
	struct usb_dfu_status st;
	unsigned char *f;
	char buf[64];
	unsigned int i;
	size_t flen;
	long devnum;
	int fd;

	for (i = 0; i < 2; i++) {
		if (!emu_knows(lack[i]))
			continue;
		if (emu_start_dfuse(&self->e, lack[i], NULL)) {
			TH_LOG("no node for --dfuse %s", lack[i]);
			_metadata->exit_code = KSFT_FAIL;
			continue;
		}
		EXPECT_EQ(0, read_attr(&self->e, "dfuse_commands", buf, sizeof(buf)));
		EXPECT_STREQ("00 21 41", buf);
		fd = open(self->e.node, O_WRONLY);
		ASSERT_LE(0, fd);
		EXPECT_EQ(-1, ioctl(fd, USB_DFU_IOCTL_DFUSE_UNPROTECT, &confirm)) {
			TH_LOG("%s", lack[i]);
		}
		EXPECT_EQ(EOPNOTSUPP, errno);
		EXPECT_EQ(0, close(fd));
		emu_stop(&self->e);
		EXPECT_EQ(0, emu_stat(&self->e, "dnload_requests"));
	}

	ASSERT_EQ(0, make_zero_flash());
	ASSERT_EQ(0, emu_start_dfuse(&self->e, "stm32f4", "--image", ZERO_PATH,
				     "--stall", "dnload@0", NULL));
	devnum = emu_devnum(&self->e);
	fd = open(self->e.node, O_WRONLY);
	ASSERT_LE(0, fd);
	EXPECT_EQ(-1, ioctl(fd, USB_DFU_IOCTL_DFUSE_UNPROTECT, &confirm));
	EXPECT_EQ(EIO, errno);
	EXPECT_EQ(0, close(fd));
	sleep_ms(300);
	EXPECT_EQ(devnum, emu_devnum(&self->e));
	EXPECT_EQ(0, get_status(&self->e, &st));
	emu_stop(&self->e);
	EXPECT_EQ(0, emu_stat(&self->e, "unprotects"));
	EXPECT_EQ(1, emu_stat(&self->e, "dnload_requests"));
	f = emu_flash(&self->e, &flen);
	ASSERT_NE(NULL, f);
	ASSERT_EQ((size_t)FLASH_SIZE, flen);
	for (i = 0; i < FLASH_SIZE && !f[i]; i++)
		;
	EXPECT_EQ(FLASH_SIZE, i);
	free(f);
}

/*
 * A memory map with a gap and a run without permissions, in a layout
 * string the driver reads leniently (dfu-emu --dfuse-layout): alt 0 of
 * the F4 becomes 4*16 KiB at 0x08000000, a gap, "064*0002Kg" (64*2 KiB)
 * at 0x08020000 and "02*016K" (no type letter: no access) at 0x08040000.
 * dfuse_map shows the three runs; read() of the whole file returns the
 * first zone and stops at the gap, where the next read() fails with
 * ENXIO and so does cat (exit status 1, the first zone written out);
 * pread() goes on past the gap, stops short of the run without access,
 * returns 0 at the end. Writes into the gap (ENXIO), the run without
 * access (EROFS) or past the end (ENOSPC) send nothing, and a valid
 * write on the same file after them is written and leaves to its
 * address. The device is in dfuIDLE after each read-only close.
 */
#define LAYOUT	"@Flash /0x08000000/04*016Kg/0x08020000/ 064*0002Kg,02*016K"
#define LAYOUT_MEM	(0x10000 + 0x20000 + 0x8000)	/* zones, gaps left out */

/* The memory behind file position pos of the LAYOUT alt, in its --image. */
static size_t layout_mem(size_t pos)
{
	return pos < 0x10000 ? pos : pos - 0x10000;
}

TEST_F_TIMEOUT(dfuse, gap_and_no_access_zone, 120)
{
	static const char map_want[] =
		"0 0x08000000 4*16384 rew Flash\n"
		"0 0x08020000 64*2048 rew Flash\n"
		"0 0x08040000 2*16384 --- Flash\n"
		"1 0x1fffc000 1*16 r-w Option Bytes\n"
		"2 0x1fff7800 1*512 r-w OTP Memory\n"
		"2 0x1fff7a00 1*16 r-w OTP Memory\n"
		"3 0xffff0000 1*4 r-w Device Feature\n";
	unsigned char *mem = make_pattern_file(IMG_PATH, LAYOUT_MEM, 27), *buf, *got, *f;
	unsigned char w[5000];
	size_t len, flen;
	char path[128];
	long devnum;
	int fd;

	ASSERT_NE(NULL, mem);
	if (!emu_knows("--dfuse-layout"))
		SKIP(free(mem); return, "dfu-emu has no --dfuse-layout yet");
	buf = malloc(FLASH_SIZE);
	ASSERT_NE(NULL, buf);
	fill_pattern(w, sizeof(w), 28);
	ASSERT_EQ(0, emu_start_dfuse(&self->e, "stm32f4", "--dfuse-layout", "0", LAYOUT,
				     "--image", IMG_PATH, NULL));
	snprintf(path, sizeof(path), "%s/dfuse_map", self->e.sysfs);
	got = read_file(path, &len);
	ASSERT_NE(NULL, got);
	EXPECT_EQ(strlen(map_want), len);
	EXPECT_EQ(0, memcmp(got, map_want, len < strlen(map_want) ? len : strlen(map_want))) {
		TH_LOG("dfuse_map:\n%.*s", (int)len, got);
	}
	free(got);

	fd = open(self->e.node, O_RDONLY);
	ASSERT_LE(0, fd);
	EXPECT_EQ(0x48000, lseek(fd, 0, SEEK_END));
	EXPECT_EQ(0, lseek(fd, 0, SEEK_SET));
	/* the whole file in one read(): the first zone, then the gap */
	EXPECT_EQ(0x10000, read(fd, buf, FLASH_SIZE));
	EXPECT_EQ(0, memcmp(buf, mem, 0x10000));
	EXPECT_EQ(-1, read(fd, buf, FLASH_SIZE));
	EXPECT_EQ(ENXIO, errno);
	EXPECT_EQ(0x10000, lseek(fd, 0, SEEK_CUR));
	EXPECT_EQ(-1, read(fd, buf, 1));
	EXPECT_EQ(ENXIO, errno);
	EXPECT_EQ(-1, pread(fd, buf, 16, 0x1fff0));
	EXPECT_EQ(ENXIO, errno);
	/* nothing ended: past the gap on the same file */
	EXPECT_EQ(4096, pread(fd, buf, 4096, 0x20000 + 100));
	EXPECT_EQ(0, memcmp(buf, mem + layout_mem(0x20000 + 100), 4096));
	/* up to the run without access, then ENXIO there */
	EXPECT_EQ(256, pread(fd, buf, 4096, 0x40000 - 256));
	EXPECT_EQ(0, memcmp(buf, mem + layout_mem(0x40000 - 256), 256));
	EXPECT_EQ(-1, pread(fd, buf, 16, 0x40000));
	EXPECT_EQ(ENXIO, errno);
	EXPECT_EQ(-1, pread(fd, buf, 16, 0x48000 - 16));
	EXPECT_EQ(ENXIO, errno);
	EXPECT_EQ(0, pread(fd, buf, 16, 0x48000));
	EXPECT_EQ(0, pread(fd, buf, 16, 0x50000));
	EXPECT_EQ(0, close(fd));
	EXPECT_EQ(USB_DFU_STATE_DFU_IDLE, get_state(&self->e));

	/* cat: the first zone, then cat fails at the gap */
	EXPECT_EQ(1, run_sh("cat %s > %s 2>%s.err", self->e.node, BACK_PATH, BACK_PATH));
	got = read_file(BACK_PATH, &len);
	ASSERT_NE(NULL, got);
	EXPECT_EQ((size_t)0x10000, len);
	EXPECT_EQ(0, memcmp(got, mem, len < 0x10000 ? len : 0x10000));
	free(got);
	EXPECT_EQ(0, run_sh("grep -q 'No such device or address' %s.err", BACK_PATH));
	EXPECT_EQ(USB_DFU_STATE_DFU_IDLE, get_state(&self->e));

	/* refused writes, then one that lands */
	devnum = emu_devnum(&self->e);
	fd = open(self->e.node, O_WRONLY);
	ASSERT_LE(0, fd);
	EXPECT_EQ(-1, pwrite(fd, w, 16, 0x10000));
	EXPECT_EQ(ENXIO, errno);
	EXPECT_EQ(-1, pwrite(fd, w, 32, 0x10000 - 16));
	EXPECT_EQ(ENXIO, errno);
	EXPECT_EQ(-1, pwrite(fd, w, 16, 0x40000));
	EXPECT_EQ(EROFS, errno);
	EXPECT_EQ(-1, pwrite(fd, w, 32, 0x40000 - 16));
	EXPECT_EQ(EROFS, errno);
	EXPECT_EQ(-1, pwrite(fd, w, 16, 0x48000));
	EXPECT_EQ(ENOSPC, errno);
	EXPECT_EQ((ssize_t)sizeof(w), pwrite(fd, w, sizeof(w), 0x20000));
	EXPECT_EQ(0, close(fd));
	EXPECT_EQ(0, emu_wait_reenumerated(&self->e, devnum, 10000));
	emu_stop(&self->e);
	EXPECT_TRUE(emu_erased_is(&self->e, "0x08020000,0x08020800,0x08021000"));
	EXPECT_EQ(1, emu_stat(&self->e, "leaves"));
	EXPECT_EQ(0x08020000LL, emu_stat_num(&self->e, "address"));
	EXPECT_EQ(0, emu_stat(&self->e, "dfuse_errors"));
	EXPECT_EQ(dnloads_accounted(&self->e, 1), emu_stat(&self->e, "dnload_requests"));
	f = emu_flash(&self->e, &flen);
	ASSERT_NE(NULL, f);
	ASSERT_EQ((size_t)LAYOUT_MEM, flen);
	EXPECT_EQ(0, memcmp(f, mem, 0x10000));
	EXPECT_EQ(0, memcmp(f + 0x10000, w, sizeof(w)));
	EXPECT_TRUE(all_erased(f, 0x10000 + sizeof(w), 3 * 2048 - sizeof(w)));
	EXPECT_EQ(0, memcmp(f + 0x10000 + 3 * 2048, mem + 0x10000 + 3 * 2048,
			    LAYOUT_MEM - 0x10000 - 3 * 2048));
	free(f);
	free(buf);
	free(mem);
}

/* The lines of dfuse_map for one alt, in order. */
static int alt_zones(struct dfuse_zone *all, int n, unsigned int alt,
		     struct dfuse_zone *out, int max)
{
	int i, k = 0;

	for (i = 0; i < n && k < max; i++)
		if (all[i].alt == alt)
			out[k++] = all[i];
	return k;
}

/*
 * The profiles the emulator has that have a zone (or a gap) the F4 lacks:
 * writes to a sector that is not writable fail with EROFS, writes into a
 * gap between zones with ENXIO, reads of a sector that is not readable or
 * of a gap with ENXIO, all with nothing sent.
 */
TEST_F_TIMEOUT(dfuse, readonly_and_gaps_refused, 120)
{
	struct dfuse_zone z[64], a[64];
	unsigned int p, alt;
	int n, k, i, tried_ro = 0, tried_gap = 0;
	unsigned char buf[64];

	memset(buf, 0, sizeof(buf));
	for (p = 0; p < sizeof(profiles) / sizeof(profiles[0]); p++) {
		int found = 0;

		if (!emu_knows(profiles[p]))
			continue;
		/* a device that does not come up fails, the others still run */
		if (emu_start_dfuse(&self->e, profiles[p], NULL)) {
			TH_LOG("no node for --dfuse %s", profiles[p]);
			_metadata->exit_code = KSFT_FAIL;
			continue;
		}
		n = read_dfuse_map(&self->e, z, 64);
		ASSERT_LT(0, n);
		for (alt = 0; alt < 8; alt++) {
			k = alt_zones(z, n, alt, a, 64);
			for (i = 0; i < k; i++) {
				unsigned long off = a[i].start - a[0].start;
				__u32 set = alt;
				int fd;

				if (a[i].perms[2] == 'w' && a[i].perms[0] == 'r' &&
				    (i == 0 || a[i - 1].start + a[i - 1].count * a[i - 1].size ==
				     a[i].start))
					continue;
				fd = open(self->e.node, O_RDWR);
				ASSERT_LE(0, fd);
				ASSERT_EQ(0, ioctl(fd, USB_DFU_IOCTL_SET_ALT, &set));
				if (a[i].perms[2] != 'w') {
					EXPECT_EQ(-1, pwrite(fd, buf, 16, off)) {
						TH_LOG("%s alt %u 0x%08lx %s", profiles[p], alt,
						       a[i].start, a[i].perms);
					}
					EXPECT_EQ(EROFS, errno);
					tried_ro++;
				}
				if (a[i].perms[0] != 'r') {
					EXPECT_EQ(-1, pread(fd, buf, 16, off));
					EXPECT_EQ(ENXIO, errno);
				}
				if (i > 0 && a[i - 1].start + a[i - 1].count * a[i - 1].size <
				    a[i].start) {
					unsigned long gap = a[i - 1].start +
						a[i - 1].count * a[i - 1].size - a[0].start;

					EXPECT_EQ(-1, pwrite(fd, buf, 16, gap)) {
						TH_LOG("%s alt %u gap at 0x%08lx", profiles[p],
						       alt, gap + a[0].start);
					}
					EXPECT_EQ(ENXIO, errno);
					EXPECT_EQ(-1, pread(fd, buf, 16, gap));
					EXPECT_EQ(ENXIO, errno);
					tried_gap++;
				}
				EXPECT_EQ(0, close(fd));
				found = 1;
			}
		}
		emu_stop(&self->e);
		if (found)
			EXPECT_EQ(0, emu_stat(&self->e, "dnload_requests"));
	}
	TH_LOG("%d read-only sectors, %d gaps tried", tried_ro, tried_gap);
	if (!tried_ro && !tried_gap)
		SKIP(return, "no emulated DfuSe device has a non-writable sector or a gap");
	if (!tried_gap)
		TH_LOG("no profile has a gap: gap_and_no_access_zone makes one with --dfuse-layout");
	if (!tried_ro)
		TH_LOG("not tried: EROFS (no emulated device has a non-writable sector)");
}

/*
 * sysfs: dfuse_map (all four alts), dfuse_commands (UPLOAD block 0, read
 * once and cached), dfuse_leave (1 by default, 0 or 1); none of them on a
 * device that does not speak DfuSe.
 */
TEST_F_TIMEOUT(dfuse, sysfs_attributes, 60)
{
	char path[128], buf[64];
	unsigned char *map;
	size_t len;
	struct emu plain;

	ASSERT_EQ(0, emu_start_dfuse(&self->e, "stm32f4", NULL));
	snprintf(path, sizeof(path), "%s/dfuse_map", self->e.sysfs);
	map = read_file(path, &len);
	ASSERT_NE(NULL, map);
	EXPECT_EQ(strlen(f4_map), len);
	EXPECT_EQ(0, memcmp(map, f4_map, len < strlen(f4_map) ? len : strlen(f4_map))) {
		TH_LOG("dfuse_map:\n%.*s", (int)len, map);
	}
	free(map);
	ASSERT_EQ(0, read_attr(&self->e, "dfuse_commands", buf, sizeof(buf)));
	EXPECT_STREQ("00 21 41 92", buf);
	ASSERT_EQ(0, read_attr(&self->e, "dfuse_commands", buf, sizeof(buf)));
	EXPECT_STREQ("00 21 41 92", buf);
	ASSERT_EQ(0, read_attr(&self->e, "dfuse_leave", buf, sizeof(buf)));
	EXPECT_STREQ("1", buf);
	EXPECT_EQ(0, set_dfuse_leave(&self->e, 0));
	ASSERT_EQ(0, read_attr(&self->e, "dfuse_leave", buf, sizeof(buf)));
	EXPECT_STREQ("0", buf);
	EXPECT_EQ(0, set_dfuse_leave(&self->e, 1));
	ASSERT_EQ(0, read_attr(&self->e, "dfuse_leave", buf, sizeof(buf)));
	EXPECT_STREQ("1", buf);
	EXPECT_NE(0, write_attr(&self->e, "dfuse_leave", "2"));
	EXPECT_NE(0, write_attr(&self->e, "dfuse_map", "0"));
	emu_stop(&self->e);
	/* the command list was asked for once: one UPLOAD, nothing else */
	EXPECT_EQ(1, emu_stat(&self->e, "upload_requests"));
	EXPECT_EQ(0, emu_stat(&self->e, "dnload_requests"));

	ASSERT_EQ(0, emu_start(&plain, "--transfer-size", "64", NULL));
	EXPECT_EQ(-ENOENT, read_attr(&plain, "dfuse_map", buf, sizeof(buf)));
	EXPECT_EQ(-ENOENT, read_attr(&plain, "dfuse_commands", buf, sizeof(buf)));
	EXPECT_EQ(-ENOENT, read_attr(&plain, "dfuse_leave", buf, sizeof(buf)));
	emu_stop(&plain);
}

/*
 * dfuse_leave 0: the download ends with DFU_ABORT, not the leave: the
 * device stays on the bus in dfuIDLE, the result has no LEFT flag, and the
 * data is in the flash.
 */
TEST_F_TIMEOUT(dfuse, no_leave_stays_idle, 60)
{
	size_t len = 20000;
	unsigned char *img = make_pattern_file(IMG_PATH, len, 7);
	struct usb_dfu_status st;
	struct usb_dfu_result r;
	long devnum;

	ASSERT_NE(NULL, img);
	ASSERT_EQ(0, emu_start_dfuse(&self->e, "stm32f4", NULL));
	devnum = emu_devnum(&self->e);
	ASSERT_EQ(0, set_dfuse_leave(&self->e, 0));
	EXPECT_EQ(0, run_sh("cat %s > %s", IMG_PATH, self->e.node));
	ASSERT_EQ(0, get_result(&self->e, &r));
	EXPECT_EQ(0, r.error);
	EXPECT_EQ(0u, r.flags);
	EXPECT_EQ((__u64)len, r.bytes);
	ASSERT_EQ(0, get_status(&self->e, &st));
	EXPECT_EQ(USB_DFU_STATE_DFU_IDLE, st.bState);
	EXPECT_EQ(USB_DFU_STATUS_OK, st.bStatus);
	sleep_ms(500);	/* a leave would have taken it off the bus by now */
	EXPECT_EQ(devnum, emu_devnum(&self->e));
	EXPECT_TRUE(last_result_is(&self->e, "ok 20000"));
	emu_stop(&self->e);
	EXPECT_EQ(0, emu_stat(&self->e, "leaves"));
	EXPECT_EQ(USB_DFU_STATE_DFU_IDLE, emu_stat(&self->e, "state"));
	EXPECT_TRUE(flash_holds(&self->e, img, 0, len));
	EXPECT_TRUE(emu_erased_is(&self->e, "0x08000000,0x08004000"));
	free(img);
}

/*
 * Upload: with dfuse_leave 0 the device stays after a download; read()
 * then returns the whole internal flash, exactly 1 MiB, and EOF at the end
 * of the alt; pread() at an offset reads there.
 */
TEST_F_TIMEOUT(dfuse, upload_whole_flash, 240)
{
	size_t len = 200000, got, flen;
	unsigned char *img = make_pattern_file(IMG_PATH, len, 8), *up, *f;
	unsigned char part[5000];
	struct usb_dfu_result r;
	long long t0;
	int fd;

	ASSERT_NE(NULL, img);
	ASSERT_EQ(0, emu_start_dfuse(&self->e, "stm32f4", NULL));
	ASSERT_EQ(0, set_dfuse_leave(&self->e, 0));
	ASSERT_EQ(0, flash_buf(self->e.node, img, len, 65536));
	t0 = now_us();
	up = upload_buf(self->e.node, &got, 65536);
	ASSERT_NE(NULL, up) {
		TH_LOG("read: %s", strerror(errno));
	}
	TH_LOG("1 MiB read in %lld ms", ms_since(t0));
	EXPECT_EQ((size_t)FLASH_SIZE, got);
	ASSERT_EQ(0, get_result(&self->e, &r));
	EXPECT_EQ(0, r.error);
	EXPECT_EQ((__u32)USB_DFU_RESULT_UPLOAD, r.flags);
	EXPECT_EQ((__u64)FLASH_SIZE, r.bytes);
	/* the upload ended at the end of the map: DFU_ABORT, dfuIDLE */
	EXPECT_EQ(USB_DFU_STATE_DFU_IDLE, get_state(&self->e));

	fd = open(self->e.node, O_RDONLY);
	ASSERT_LE(0, fd);
	EXPECT_EQ((ssize_t)sizeof(part), pread(fd, part, sizeof(part), 0x8000 + 123));
	EXPECT_EQ(0, memcmp(part, img + 0x8000 + 123, sizeof(part)));
	/* across the end: short, then EOF */
	EXPECT_EQ(100, pread(fd, part, sizeof(part), FLASH_SIZE - 100));
	EXPECT_EQ(0, memcmp(part, up + FLASH_SIZE - 100, 100));
	EXPECT_EQ(0, pread(fd, part, sizeof(part), FLASH_SIZE));
	EXPECT_EQ((off_t)FLASH_SIZE, lseek(fd, 0, SEEK_END));
	EXPECT_EQ(0, read(fd, part, 1));
	EXPECT_EQ(0, close(fd));
	/* closed: no upload left open in the device (DFU_ABORT) */
	EXPECT_EQ(USB_DFU_STATE_DFU_IDLE, get_state(&self->e));
	/* a pread that stops short of the end, then close */
	fd = open(self->e.node, O_RDONLY);
	ASSERT_LE(0, fd);
	EXPECT_EQ((ssize_t)sizeof(part), pread(fd, part, sizeof(part), 0x20000));
	EXPECT_EQ(0, memcmp(part, img + 0x20000, sizeof(part)));
	EXPECT_EQ(0, close(fd));
	EXPECT_EQ(USB_DFU_STATE_DFU_IDLE, get_state(&self->e));
	emu_stop(&self->e);
	EXPECT_EQ(0, emu_stat(&self->e, "leaves"));
	EXPECT_EQ(0, emu_stat(&self->e, "dfuse_errors"));
	f = emu_flash(&self->e, &flen);
	ASSERT_NE(NULL, f);
	ASSERT_EQ((size_t)FLASH_SIZE, flen);
	if (got == FLASH_SIZE)
		EXPECT_EQ(0, memcmp(up, f, FLASH_SIZE));
	EXPECT_TRUE(flash_holds(&self->e, img, 0, len));
	free(f);
	free(up);
	free(img);
}

/*
 * A block the device fails (errVERIFY: 0xff over the option bytes, which
 * cannot be erased, so flash cannot turn their 0 bits back to 1) fails the
 * download with EIO at close: no leave, the device stays in DFU mode, and
 * the next download (internal flash) works and leaves.
 */
TEST_F_TIMEOUT(dfuse, failed_block_never_leaves, 60)
{
	unsigned char ff[16], *img;
	struct usb_dfu_result r;
	size_t len = 5000;
	long devnum;
	__u32 alt = 1;
	int fd, ret;

	memset(ff, 0xff, sizeof(ff));
	img = make_pattern_file(IMG_PATH, len, 9);
	ASSERT_NE(NULL, img);
	ASSERT_EQ(0, emu_start_dfuse(&self->e, "stm32f4", NULL));
	devnum = emu_devnum(&self->e);
	fd = open(self->e.node, O_WRONLY);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ioctl(fd, USB_DFU_IOCTL_SET_ALT, &alt));
	ret = write(fd, ff, sizeof(ff)) < 0 ? -errno : 0;
	if (!ret)
		ret = close(fd) ? -errno : 0;
	else
		close(fd);
	EXPECT_EQ(-EIO, ret);
	ASSERT_EQ(0, get_result(&self->e, &r));
	EXPECT_EQ(-EIO, r.error);
	EXPECT_EQ(USB_DFU_STATUS_ERR_VERIFY, r.bStatus);
	EXPECT_EQ(0u, r.flags & USB_DFU_RESULT_LEFT);
	sleep_ms(500);
	EXPECT_EQ(devnum, emu_devnum(&self->e));
	EXPECT_EQ(0, emu_wait_stat(&self->e, "leaves", 0, 100));

	EXPECT_EQ(0, run_sh("cat %s > %s", IMG_PATH, self->e.node));
	ASSERT_EQ(0, emu_wait_reenumerated(&self->e, devnum, 10000));
	emu_stop(&self->e);
	EXPECT_EQ(1, emu_stat(&self->e, "leaves"));
	EXPECT_EQ(1, emu_stat(&self->e, "dfuse_errors"));
	EXPECT_TRUE(flash_holds(&self->e, img, 0, len));
	EXPECT_TRUE(emu_erased_is(&self->e, "0x08000000"));
	free(img);
}

/* A chip with a blank application starts in dfuERROR/errFIRMWARE: cat works. */
TEST_F_TIMEOUT(dfuse, blank_chip, 60)
{
	size_t len = 20000;
	unsigned char *img = make_pattern_file(IMG_PATH, len, 10);
	struct usb_dfu_status st;

	ASSERT_NE(NULL, img);
	if (!emu_knows("--dfuse-blank"))
		SKIP(free(img); return, "dfu-emu has no --dfuse-blank yet");
	ASSERT_EQ(0, emu_start_dfuse(&self->e, "stm32f4", "--dfuse-blank", NULL));
	ASSERT_EQ(0, get_status(&self->e, &st));
	EXPECT_EQ(USB_DFU_STATE_ERROR, st.bState);
	EXPECT_EQ(USB_DFU_STATUS_ERR_FIRMWARE, st.bStatus);
	EXPECT_EQ(0, run_sh("cat %s > %s", IMG_PATH, self->e.node));
	EXPECT_EQ(1, emu_wait_stat(&self->e, "leaves", 1, 5000));
	emu_stop(&self->e);
	EXPECT_TRUE(flash_holds(&self->e, img, 0, len));
	EXPECT_TRUE(emu_erased_is(&self->e, "0x08000000,0x08004000"));
	free(img);
}

/*
 * USB_DFU_IOCTL_DFUSE_SET_BASE: position 0 becomes 0x08020000 for this
 * file (also a read-only one), addresses outside the map are EINVAL,
 * SET_ALT goes back to the alt's start; the leave jumps to the base.
 */
TEST_F_TIMEOUT(dfuse, set_base, 60)
{
	unsigned char img[5000], back[5000];
	__u32 base, alt = 0;
	int fd, rfd;

	fill_pattern(img, sizeof(img), 11);
	ASSERT_EQ(0, emu_start_dfuse(&self->e, "stm32f4", NULL));
	rfd = open(self->e.node, O_RDONLY);
	ASSERT_LE(0, rfd);
	base = FLASH + FLASH_SIZE;
	EXPECT_EQ(-1, ioctl(rfd, USB_DFU_IOCTL_DFUSE_SET_BASE, &base));
	EXPECT_EQ(EINVAL, errno);
	base = FLASH - 1;
	EXPECT_EQ(-1, ioctl(rfd, USB_DFU_IOCTL_DFUSE_SET_BASE, &base));
	EXPECT_EQ(EINVAL, errno);
	base = 0x1fffc000;	/* alt 1's, not this file's alt 0 */
	EXPECT_EQ(-1, ioctl(rfd, USB_DFU_IOCTL_DFUSE_SET_BASE, &base));
	EXPECT_EQ(EINVAL, errno);

	ASSERT_EQ(0, set_dfuse_leave(&self->e, 0));
	fd = open(self->e.node, O_WRONLY);
	ASSERT_LE(0, fd);
	base = 0x08020000;
	ASSERT_EQ(0, ioctl(fd, USB_DFU_IOCTL_DFUSE_SET_BASE, &base));
	EXPECT_EQ((ssize_t)sizeof(img), write(fd, img, sizeof(img)));
	EXPECT_EQ(0, close(fd));
	/* the read-only file reads there too */
	ASSERT_EQ(0, ioctl(rfd, USB_DFU_IOCTL_DFUSE_SET_BASE, &base));
	EXPECT_EQ((ssize_t)sizeof(back), pread(rfd, back, sizeof(back), 0));
	EXPECT_EQ(0, memcmp(back, img, sizeof(img)));
	EXPECT_EQ((off_t)(FLASH_SIZE - 0x20000), lseek(rfd, 0, SEEK_END));
	close(rfd);
	/* SET_ALT: back to 0x08000000, erased */
	rfd = open(self->e.node, O_RDONLY);
	ASSERT_LE(0, rfd);
	ASSERT_EQ(0, ioctl(rfd, USB_DFU_IOCTL_DFUSE_SET_BASE, &base));
	ASSERT_EQ(0, ioctl(rfd, USB_DFU_IOCTL_SET_ALT, &alt));
	EXPECT_EQ((ssize_t)sizeof(back), pread(rfd, back, sizeof(back), 0));
	EXPECT_TRUE(all_erased(back, 0, sizeof(back)));
	EXPECT_EQ((off_t)FLASH_SIZE, lseek(rfd, 0, SEEK_END));
	close(rfd);

	/* one byte at the base, with the leave: it jumps to 0x08040000 */
	ASSERT_EQ(0, set_dfuse_leave(&self->e, 1));
	fd = open(self->e.node, O_WRONLY);
	ASSERT_LE(0, fd);
	base = 0x08040000;
	ASSERT_EQ(0, ioctl(fd, USB_DFU_IOCTL_DFUSE_SET_BASE, &base));
	EXPECT_EQ(1, write(fd, img, 1));
	EXPECT_EQ(0, close(fd));
	EXPECT_EQ(1, emu_wait_stat(&self->e, "leaves", 1, 5000));
	emu_stop(&self->e);
	EXPECT_EQ(0x08040000LL, emu_stat_num(&self->e, "address"));
	EXPECT_TRUE(emu_erased_is(&self->e, "0x08020000,0x08040000"));
	EXPECT_EQ(1, emu_stat(&self->e, "leaves"));
}

/*
 * USB_DFU_IOCTL_DFUSE_ERASE on a flash of zeros: exactly the sectors the
 * range touches become 0xff; an empty range or one leaving the map is
 * EINVAL; a read-only file of a user without CAP_SYS_ADMIN gets EPERM.
 */
TEST_F_TIMEOUT(dfuse, erase_ioctl, 60)
{
	struct usb_dfu_dfuse_erase er;
	unsigned char *f;
	size_t flen, i;
	int fd, status, bad = 0;
	pid_t pid;

	ASSERT_EQ(0, make_zero_flash());
	ASSERT_EQ(0, emu_start_dfuse(&self->e, "stm32f4", "--image", ZERO_PATH, NULL));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		int ro = open(self->e.node, O_RDONLY);
		struct usb_dfu_dfuse_erase e2 = { FLASH, 1 };
		__u32 confirm = USB_DFU_DFUSE_MASS_ERASE_CONFIRM;

		if (ro < 0 || become_user())
			_exit(100);
		if (!ioctl(ro, USB_DFU_IOCTL_DFUSE_ERASE, &e2) || errno != EPERM)
			_exit(1);
		if (!ioctl(ro, USB_DFU_IOCTL_DFUSE_MASS_ERASE, &confirm) || errno != EPERM)
			_exit(2);
		confirm = USB_DFU_DFUSE_UNPROTECT_CONFIRM;
		if (!ioctl(ro, USB_DFU_IOCTL_DFUSE_UNPROTECT, &confirm) || errno != EPERM)
			_exit(3);
		confirm = FLASH;	/* SET_BASE needs no write access */
		if (ioctl(ro, USB_DFU_IOCTL_DFUSE_SET_BASE, &confirm))
			_exit(4);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));

	fd = open(self->e.node, O_WRONLY);
	ASSERT_LE(0, fd);
	er.address = FLASH;
	er.length = 0;
	EXPECT_EQ(-1, ioctl(fd, USB_DFU_IOCTL_DFUSE_ERASE, &er));
	EXPECT_EQ(EINVAL, errno);
	er.address = FLASH + FLASH_SIZE - 16;
	er.length = 32;
	EXPECT_EQ(-1, ioctl(fd, USB_DFU_IOCTL_DFUSE_ERASE, &er));
	EXPECT_EQ(EINVAL, errno);
	er.address = FLASH - 16;
	er.length = 32;
	EXPECT_EQ(-1, ioctl(fd, USB_DFU_IOCTL_DFUSE_ERASE, &er));
	EXPECT_EQ(EINVAL, errno);
	/* the last byte of sector 1 and the first of sector 2 */
	er.address = 0x08007fff;
	er.length = 2;
	EXPECT_EQ(0, ioctl(fd, USB_DFU_IOCTL_DFUSE_ERASE, &er));
	/* all of sector 5 (128 KiB) and one byte of sector 6 */
	er.address = 0x08020000;
	er.length = 0x20001;
	EXPECT_EQ(0, ioctl(fd, USB_DFU_IOCTL_DFUSE_ERASE, &er));
	EXPECT_EQ(0, close(fd));
	expect_idle(_metadata, &self->e);
	emu_stop(&self->e);
	EXPECT_TRUE(emu_erased_is(&self->e, "0x08004000,0x08008000,0x08020000,0x08040000"));
	EXPECT_EQ(4, emu_stat(&self->e, "erases"));
	EXPECT_EQ(0, emu_stat(&self->e, "mass_erases"));
	EXPECT_EQ(0, emu_stat(&self->e, "unprotects"));
	EXPECT_EQ(0, emu_stat(&self->e, "leaves"));
	EXPECT_EQ(0, emu_stat(&self->e, "dfuse_writes"));
	EXPECT_EQ(0, emu_stat(&self->e, "dfuse_errors"));
	f = emu_flash(&self->e, &flen);
	ASSERT_NE(NULL, f);
	ASSERT_EQ((size_t)FLASH_SIZE, flen);
	for (i = 0; i < FLASH_SIZE && !bad; i++) {
		int erased = (i >= 0x4000 && i < 0xc000) || (i >= 0x20000 && i < 0x60000);

		if (f[i] != (erased ? 0xff : 0)) {
			TH_LOG("flash 0x%zx is 0x%02x", FLASH + i, f[i]);
			bad = 1;
		}
	}
	EXPECT_EQ(0, bad);
	free(f);
}

/*
 * USB_DFU_IOCTL_DFUSE_MASS_ERASE: without the confirmation value EINVAL
 * and nothing sent; with it, one mass erase and the flash is blank.
 * UNPROTECT without its confirmation: EINVAL, nothing sent.
 */
TEST_F_TIMEOUT(dfuse, mass_erase_ioctl, 60)
{
	__u32 confirm;
	unsigned char *f;
	size_t flen;
	int fd;

	ASSERT_EQ(0, make_zero_flash());
	ASSERT_EQ(0, emu_start_dfuse(&self->e, "stm32f4", "--image", ZERO_PATH, NULL));
	fd = open(self->e.node, O_WRONLY);
	ASSERT_LE(0, fd);
	confirm = 0;
	EXPECT_EQ(-1, ioctl(fd, USB_DFU_IOCTL_DFUSE_MASS_ERASE, &confirm));
	EXPECT_EQ(EINVAL, errno);
	confirm = USB_DFU_DFUSE_UNPROTECT_CONFIRM;
	EXPECT_EQ(-1, ioctl(fd, USB_DFU_IOCTL_DFUSE_MASS_ERASE, &confirm));
	EXPECT_EQ(EINVAL, errno);
	confirm = USB_DFU_DFUSE_MASS_ERASE_CONFIRM;
	EXPECT_EQ(-1, ioctl(fd, USB_DFU_IOCTL_DFUSE_UNPROTECT, &confirm));
	EXPECT_EQ(EINVAL, errno);
	confirm = 0;
	EXPECT_EQ(-1, ioctl(fd, USB_DFU_IOCTL_DFUSE_UNPROTECT, &confirm));
	EXPECT_EQ(EINVAL, errno);
	confirm = USB_DFU_DFUSE_MASS_ERASE_CONFIRM;
	EXPECT_EQ(0, ioctl(fd, USB_DFU_IOCTL_DFUSE_MASS_ERASE, &confirm));
	EXPECT_EQ(0, close(fd));
	expect_idle(_metadata, &self->e);
	emu_stop(&self->e);
	EXPECT_EQ(1, emu_stat(&self->e, "mass_erases"));
	EXPECT_EQ(0, emu_stat(&self->e, "unprotects"));
	EXPECT_EQ(0, emu_stat(&self->e, "erases"));
	EXPECT_EQ(0, emu_stat(&self->e, "leaves"));
	/* the mass erase, and at most a Set Address before it */
	EXPECT_EQ(dnloads_accounted(&self->e, 0), emu_stat(&self->e, "dnload_requests"));
	EXPECT_GE(2, emu_stat(&self->e, "dnload_requests"));
	f = emu_flash(&self->e, &flen);
	ASSERT_NE(NULL, f);
	ASSERT_EQ((size_t)FLASH_SIZE, flen);
	EXPECT_TRUE(all_erased(f, 0, FLASH_SIZE));
	free(f);
}

/* The DfuSe ioctls on a plain DFU 1.1 device: EOPNOTSUPP, nothing sent. */
TEST_F_TIMEOUT(dfuse, ioctls_need_dfuse, 60)
{
	struct usb_dfu_dfuse_erase er = { 0, 1 };
	struct usb_dfu_info info;
	__u32 v = 0;
	int fd;

	ASSERT_EQ(0, emu_start(&self->e, "--transfer-size", "64", NULL));
	fd = open(self->e.node, O_WRONLY);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ioctl(fd, USB_DFU_IOCTL_GET_INFO, &info));
	EXPECT_EQ(USB_DFU_DIALECT_DFU, info.dialect);
	EXPECT_EQ(-1, ioctl(fd, USB_DFU_IOCTL_DFUSE_SET_BASE, &v));
	EXPECT_EQ(EOPNOTSUPP, errno);
	EXPECT_EQ(-1, ioctl(fd, USB_DFU_IOCTL_DFUSE_ERASE, &er));
	EXPECT_EQ(EOPNOTSUPP, errno);
	v = USB_DFU_DFUSE_MASS_ERASE_CONFIRM;
	EXPECT_EQ(-1, ioctl(fd, USB_DFU_IOCTL_DFUSE_MASS_ERASE, &v));
	EXPECT_EQ(EOPNOTSUPP, errno);
	v = USB_DFU_DFUSE_UNPROTECT_CONFIRM;
	EXPECT_EQ(-1, ioctl(fd, USB_DFU_IOCTL_DFUSE_UNPROTECT, &v));
	EXPECT_EQ(EOPNOTSUPP, errno);
	EXPECT_EQ(0, close(fd));
	emu_stop(&self->e);
	EXPECT_EQ(0, emu_stat(&self->e, "dnload_requests"));
}

/*
 * A read-protected chip: read() and write() fail with EACCES and a kernel
 * log line, nothing leaves; UNPROTECT wipes it and it drops off the bus
 * and comes back, unprotected: a read gives a blank flash, and cat works.
 */
TEST_F_TIMEOUT(dfuse, protected_then_unprotect, 120)
{
	size_t len = 20000, got;
	unsigned char *img = make_pattern_file(IMG_PATH, len, 12), *up;
	unsigned char buf[64];
	__u32 confirm = USB_DFU_DFUSE_UNPROTECT_CONFIRM;
	long devnum;
	int fd;

	ASSERT_NE(NULL, img);
	if (!emu_knows("--dfuse-protected"))
		SKIP(free(img); return, "dfu-emu has no --dfuse-protected yet");
	mark_kmsg("protected");
	ASSERT_EQ(0, emu_start_dfuse(&self->e, "stm32f4", "--dfuse-protected", NULL));
	devnum = emu_devnum(&self->e);
	fd = open(self->e.node, O_RDONLY);
	ASSERT_LE(0, fd);
	EXPECT_EQ(-1, read(fd, buf, sizeof(buf)));
	EXPECT_EQ(EACCES, errno);
	EXPECT_EQ(0, close(fd));
	EXPECT_TRUE(kmsg_since("protected", "[Pp]rotect"));
	EXPECT_EQ(-EACCES, flash_buf(self->e.node, img, len, 4096));
	EXPECT_NE(0, run_sh("cat %s > %s 2>/dev/null", IMG_PATH, self->e.node));
	EXPECT_EQ(0, emu_wait_stat(&self->e, "leaves", 0, 100));
	sleep_ms(300);
	EXPECT_EQ(devnum, emu_devnum(&self->e));

	fd = open(self->e.node, O_WRONLY);
	ASSERT_LE(0, fd);
	EXPECT_EQ(0, ioctl(fd, USB_DFU_IOCTL_DFUSE_UNPROTECT, &confirm));
	close(fd);
	ASSERT_EQ(0, emu_wait_reenumerated(&self->e, devnum, 10000));
	EXPECT_EQ(1, emu_stat(&self->e, "unprotects"));
	up = upload_buf(self->e.node, &got, 65536);
	ASSERT_NE(NULL, up) {
		TH_LOG("read after unprotect: %s", strerror(errno));
	}
	EXPECT_EQ((size_t)FLASH_SIZE, got);
	EXPECT_TRUE(all_erased(up, 0, got));
	free(up);
	devnum = emu_devnum(&self->e);
	EXPECT_EQ(0, run_sh("cat %s > %s", IMG_PATH, self->e.node));
	EXPECT_EQ(0, emu_wait_reenumerated(&self->e, devnum, 10000));
	emu_stop(&self->e);
	EXPECT_EQ(1, emu_stat(&self->e, "leaves"));
	EXPECT_TRUE(flash_holds(&self->e, img, 0, len));
	free(img);
}

/*
 * Unplug while the device erases (4 s per sector): the write fails with
 * ENODEV at once, not after the erase time, and the kernel logs no
 * warning.
 */
TEST_F_TIMEOUT(dfuse, unplug_during_erase, 60)
{
	unsigned char img[8192];
	int status, fd, err;
	long long t0, dt;
	ssize_t n;
	pid_t pid;

	fill_pattern(img, sizeof(img), 13);
	mark_kmsg("unplug-erase");
	ASSERT_EQ(0, emu_start_dfuse(&self->e, "stm32f4", "--dfuse-erase-ms", "4000", NULL));
	fd = open(self->e.node, O_WRONLY);
	ASSERT_LE(0, fd);
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		/* the killer: 300 ms into the erase, the device goes */
		if (emu_wait_stat(&self->e, "erases", 1, 10000) != 1)
			_exit(1);
		sleep_ms(300);
		kill(self->e.pid, SIGKILL);
		_exit(0);
	}
	t0 = now_us();
	n = write(fd, img, sizeof(img));
	err = errno;
	dt = ms_since(t0);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status));
	EXPECT_EQ(-1, n);
	EXPECT_EQ(ENODEV, err) {
		TH_LOG("write: %s", strerror(err));
	}
	/* not the 4 s the erase asked for */
	TH_LOG("write returned after %lld ms", dt);
	EXPECT_GT(3000, dt);
	EXPECT_EQ(-1, write(fd, img, 16));
	EXPECT_EQ(ENODEV, errno);
	close(fd);
	EXPECT_EQ(0, emu_wait_exit(&self->e, 5000));
	EXPECT_FALSE(kmsg_since("unplug-erase", "WARNING|BUG|KASAN|refcount|Oops|lockdep"));
}

static void on_sigint(int sig)
{
	(void)sig;
}

/*
 * A signal during a 3 s mass erase: a handled one ends the ioctl (EINTR)
 * at once, a fatal one the process; the device finishes its erase and
 * then takes a download.
 */
TEST_F_TIMEOUT(dfuse, signal_during_mass_erase, 90)
{
	static const int sigs[] = { SIGINT, SIGTERM };
	unsigned char img[3000];
	struct usb_dfu_status st;
	unsigned int i;

	fill_pattern(img, sizeof(img), 14);
	for (i = 0; i < 2; i++) {
		long long t_sig, dt;
		int status;
		pid_t pid;

		ASSERT_EQ(0, emu_start_dfuse(&self->e, "stm32f4", "--dfuse-mass-erase-ms",
					     "3000", NULL));
		pid = fork();
		ASSERT_LE(0, pid);
		if (!pid) {
			struct sigaction sa = { .sa_handler = on_sigint };
			__u32 confirm = USB_DFU_DFUSE_MASS_ERASE_CONFIRM;
			int fd = open(self->e.node, O_WRONLY);

			sigaction(SIGINT, &sa, NULL);	/* no SA_RESTART */
			if (fd < 0)
				_exit(100);
			if (!ioctl(fd, USB_DFU_IOCTL_DFUSE_MASS_ERASE, &confirm))
				_exit(1);	/* waited the erase out */
			_exit(errno == EINTR ? 0 : 102);
		}
		ASSERT_EQ(1, emu_wait_stat(&self->e, "mass_erases", 1, 10000));
		sleep_ms(300);
		t_sig = now_us();
		kill(pid, sigs[i]);
		ASSERT_EQ(pid, waitpid(pid, &status, 0));
		dt = ms_since(t_sig);
		TH_LOG("signal %d: the ioctl ended in %lld ms", sigs[i], dt);
		if (sigs[i] == SIGINT) {
			/*
			 * handled: EINTR at once, or (the driver finishes
			 * what the device does) success when the erase ends,
			 * 2.7 s after the signal, not later
			 */
			ASSERT_TRUE(WIFEXITED(status));
			if (WEXITSTATUS(status) == 1) {
				TH_LOG("handled signal: the ioctl waited the erase out");
				EXPECT_GT(4000, dt);
			} else {
				EXPECT_EQ(0, WEXITSTATUS(status));
				EXPECT_GT(1500, dt);
			}
		} else {
			EXPECT_TRUE(WIFSIGNALED(status));
			EXPECT_GT(1500, dt);
		}
		/* the erase is over: the device answers and is not in error */
		sleep_ms(3000);
		ASSERT_EQ(0, get_status(&self->e, &st));
		EXPECT_EQ(USB_DFU_STATUS_OK, st.bStatus);
		EXPECT_TRUE(st.bState == USB_DFU_STATE_DFU_IDLE ||
			    st.bState == USB_DFU_STATE_DNLOAD_IDLE) {
			TH_LOG("bState %u", st.bState);
		}
		EXPECT_EQ(0, flash_buf(self->e.node, img, sizeof(img), sizeof(img)));
		EXPECT_EQ(1, emu_wait_stat(&self->e, "leaves", 1, 5000));
		emu_stop(&self->e);
		EXPECT_TRUE(flash_holds(&self->e, img, 0, sizeof(img)));
		EXPECT_EQ(1, emu_stat(&self->e, "mass_erases"));
	}
}

/*
 * The DfuSe personalities: ST's USBD library (1024-byte blocks, strict
 * CLRSTATUS, bState 0x0f, Erase moves the pointer), libopencm3/Black
 * Magic Probe (uploads never short, 100 ms polls, read-only bootloader
 * sectors), GD32VF103 (leaves without answering GETSTATUS), and the F4 ROM
 * as the reference: 100 KiB in the first writable zone of alt 0, the
 * sectors it touches erased, a leave that counts as success; then read()
 * of the whole alt ends at the end of its map.
 */
FIXTURE(persona) {
	struct emu e;
};

FIXTURE_VARIANT(persona) {
	const char *name;
	/*
	 * The layout string claims more flash than the chip has (the
	 * GD32VF103 ROM: 512*2K for 128 KiB): only the written range is
	 * read back, since past the real flash the device stalls.
	 */
	int layout_lies;
	/*
	 * Set Address outside the application hangs the device in
	 * dfuDNBUSY with poll 0 (BMP; the reference: dfu-util gives up
	 * after 100 polls): a read of the bootloader must fail in bounded
	 * time, and the whole-alt read starts at the application.
	 */
	int boot_hangs;
};

FIXTURE_VARIANT_ADD(persona, stm32f4) { .name = "stm32f4" };
FIXTURE_VARIANT_ADD(persona, stusbd) { .name = "stusbd" };
FIXTURE_VARIANT_ADD(persona, bmp) { .name = "bmp", .boot_hangs = 1 };
FIXTURE_VARIANT_ADD(persona, gd32vf103) { .name = "gd32vf103", .layout_lies = 1 };

FIXTURE_SETUP(persona)
{
	memset(&self->e, 0, sizeof(self->e));
}

FIXTURE_TEARDOWN(persona)
{
	emu_stop(&self->e);
}

TEST_F_TIMEOUT(persona, cat_and_read_back, 300)
{
	struct dfuse_zone z[64], a[64];
	size_t len = 100 * 1024, got = 0, flen, off_mem = 0, map_len = 0, mem_at = 0;
	unsigned char *img = NULL, *up = NULL, *f, *back;
	unsigned long addr = 0, end, s;
	char want[2048];
	struct usb_dfu_result r;
	struct usb_dfu_info info;
	int n, k, i, fd, rfd, nsec = 0, found = 0;
	size_t used = 0;
	long devnum;

	if (!emu_knows(variant->name))
		SKIP(return, "dfu-emu has no --dfuse %s yet", variant->name);
	ASSERT_EQ(0, emu_start_dfuse(&self->e, variant->name, NULL));
	n = read_dfuse_map(&self->e, z, 64);
	ASSERT_LT(0, n);
	k = alt_zones(z, n, 0, a, 64);
	ASSERT_LT(0, k);
	/* the first zone of alt 0 that can be erased and written */
	for (i = 0; i < k; i++) {
		if (!found && !strcmp(a[i].perms, "rew")) {
			addr = a[i].start;
			mem_at = map_len;
			found = 1;
		}
		map_len += a[i].count * a[i].size;
	}
	ASSERT_TRUE(found);
	if (len > map_len - mem_at)
		len = map_len - mem_at;
	end = addr + len;
	/* the sectors [addr, end) touches, in order */
	want[0] = 0;
	for (i = 0; i < k; i++) {
		for (s = a[i].start; s < a[i].start + a[i].count * a[i].size; s += a[i].size) {
			if (s < end && addr < s + a[i].size && a[i].perms[1] == 'e') {
				used += snprintf(want + used, sizeof(want) - used, "%s0x%08lx",
						 nsec ? "," : "", s);
				nsec++;
			}
		}
	}
	img = make_pattern_file(IMG_PATH, len, 15);
	ASSERT_NE(NULL, img);
	devnum = emu_devnum(&self->e);
	rfd = open(self->e.node, O_RDONLY);
	ASSERT_LE(0, rfd);
	ASSERT_EQ(0, ioctl(rfd, USB_DFU_IOCTL_GET_INFO, &info));
	EXPECT_EQ(USB_DFU_DIALECT_DFUSE, info.dialect);
	TH_LOG("%s: %d zones in alt 0, %zu bytes at 0x%08lx, wTransferSize %u", variant->name,
	       k, len, addr, info.wTransferSize);
	/* dd seek= to the writable zone */
	ASSERT_EQ(0, run_sh("dd if=%s of=%s bs=%zu seek=%lu oflag=seek_bytes status=none",
			    IMG_PATH, self->e.node, len, addr - a[0].start));
	ASSERT_EQ(0, ioctl(rfd, USB_DFU_IOCTL_GET_RESULT, &r));
	EXPECT_EQ(0, r.error);
	EXPECT_EQ((__u32)USB_DFU_RESULT_LEFT, r.flags & USB_DFU_RESULT_LEFT);
	EXPECT_EQ((__u64)len, r.bytes);
	close(rfd);
	ASSERT_EQ(0, emu_wait_reenumerated(&self->e, devnum, 10000));
	ASSERT_EQ(0, emu_wait_mode(&self->e, "dfu", 5000));

	/* the written range reads back */
	back = malloc(len);
	ASSERT_NE(NULL, back);
	fd = open(self->e.node, O_RDONLY);
	ASSERT_LE(0, fd);
	EXPECT_EQ((ssize_t)len, pread(fd, back, len, addr - a[0].start));
	EXPECT_EQ(0, memcmp(back, img, len));
	EXPECT_EQ((off_t)(a[k - 1].start + a[k - 1].count * a[k - 1].size - a[0].start),
		  lseek(fd, 0, SEEK_END));
	close(fd);
	free(back);
	if (variant->boot_hangs) {
		unsigned char boot[1024];
		char old[32];
		int st;
		long long t0, dt;
		ssize_t rn;
		int err;

		/* bound the cost of a driver that waits for busy_timeout_ms */
		ASSERT_EQ(0, get_param("busy_timeout_ms", old, sizeof(old)));
		ASSERT_EQ(0, set_param("busy_timeout_ms", "8000"));
		fd = open(self->e.node, O_RDONLY);
		ASSERT_LE(0, fd);
		t0 = now_us();
		rn = pread(fd, boot, sizeof(boot), 0);
		err = errno;
		dt = ms_since(t0);
		close(fd);
		EXPECT_EQ(0, set_param("busy_timeout_ms", old));
		TH_LOG("read of the bootloader: %zd (%s) after %lld ms", rn,
		       rn < 0 ? strerror(err) : "ok", dt);
		EXPECT_GT(5000, dt);
		/* closed: whatever the read did, the device is in dfuIDLE */
		st = get_state(&self->e);
		EXPECT_EQ(USB_DFU_STATE_DFU_IDLE, st);
		if (st != USB_DFU_STATE_DFU_IDLE) {
			/* get it out (only DFU_ABORT does) for the rest */
			EXPECT_EQ(0, node_ioctl(&self->e, USB_DFU_IOCTL_ABORT, NULL));
			TH_LOG("after ABORT: state %d", get_state(&self->e));
		}
	}
	/*
	 * cat of the whole alt (from the application on BMP) ends at the
	 * end of the map (BMP never sends a short block)
	 */
	if (!variant->layout_lies) {
		if (variant->boot_hangs) {
			EXPECT_EQ(0, run_sh("dd if=%s of=%s bs=65536 iflag=skip_bytes skip=%lu status=none",
					    self->e.node, BACK_PATH, addr - a[0].start));
		} else {
			EXPECT_EQ(0, run_sh("cat %s > %s", self->e.node, BACK_PATH));
		}
		up = read_file(BACK_PATH, &got);
		ASSERT_NE(NULL, up);
	}
	emu_stop(&self->e);
	f = emu_flash(&self->e, &flen);
	ASSERT_NE(NULL, f);
	if (!variant->layout_lies) {
		size_t skip = variant->boot_hangs ? mem_at : 0;

		EXPECT_EQ(map_len, flen);
		EXPECT_EQ(flen - skip, got);
		if (got == flen - skip)
			EXPECT_EQ(0, memcmp(up, f + skip, got));
	}
	off_mem = mem_at;
	ASSERT_LE(off_mem + len, flen);
	EXPECT_EQ(0, memcmp(f + off_mem, img, len));
	EXPECT_TRUE(emu_erased_is(&self->e, want));
	EXPECT_EQ(nsec, emu_stat(&self->e, "erases"));
	EXPECT_EQ(1, emu_stat(&self->e, "leaves"));
	EXPECT_EQ((long)blocks(len, info.wTransferSize), emu_stat(&self->e, "dfuse_writes"));
	EXPECT_EQ((long)len, emu_stat(&self->e, "dfuse_write_bytes"));
	EXPECT_EQ(0, emu_stat(&self->e, "dfuse_errors"));
	free(f);
	free(up);
	free(img);
}

TEST_HARNESS_MAIN
