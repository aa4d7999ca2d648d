// SPDX-License-Identifier: GPL-2.0
/*
 * dfu_apple_test - an Apple device in DFU mode (05ac:1227, the SecureROM)
 * through /dev/dfuN against dfu-emu --apple: cat of an image appends the
 * 16-byte suffix the ROM drops (in the last block when it fits, alone
 * otherwise), brings the ROM to dfuMANIFEST-WAIT-RESET and resets it; the
 * ROM boots the image and comes back as 05ac:1281 (recovery mode, no node)
 * or rejects it and comes back as 1227. An empty open sends nothing; an
 * interrupted or uncommitted image is never booted (DFU_ABORT ends the
 * ROM's session); read() and DETACH fail at once; the recovery-mode device
 * and, with bind_apple=N, the DFU-mode one get no node. Each test checks
 * what the ROM received (--out, --stats apple_*).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
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
#include "suffix.h"

#define IMG_PATH	"/tmp/apple-image.bin"
#define OTHER_PATH	"/tmp/apple-other.bin"
#define APPLE_VID	0x05ac
#define APPLE_DFU	0x1227
#define APPLE_RECOVERY	0x1281
#define XFER		2048	/* the ROM's wTransferSize */
#define SUFFIX		16
#define MIB		(1u << 20)
/* from leaving the bus to being enumerated again */
#define BACK_MS		15000
/* after enumeration, time for the driver to probe (or not) */
#define PROBE_MS	1000
/* a sysfs directory of a USB device */
#define DIR_LEN		256

/* The ROM's identity (iSerialNumber) with this ECID */
#define IDENTITY(ecid)	"CPID:8015 CPRV:11 CPFM:03 SCEP:01 BDID:0E ECID:" ecid \
			" IBFL:3C SRTG:[iBoot-3332.0.0.1.23]"
#define DEFAULT_ECID	"001A2B3C4D5E6F70"
/* dfu-emu --apple's default identity, as the driver logs it (an ERE) */
#define IDENTITY_LOG	"CPID:8015 BDID:0E ECID:" DEFAULT_ECID \
			" SRTG:\\[iBoot-3332\\.0\\.0\\.1\\.23\\]"

/*
 * dfu-emu --apple (or --apple-recovery, in a0) with up to 4 more
 * arguments (NULL-terminated), waiting for its node (want_node) or for its
 * USB device without one. The serial number is the ROM's identity with an
 * ECID of its own (found by it), or with the emulator's default ECID.
 */
static int apple_start_ecid(struct emu *e, int want_node, int default_ecid,
			    const char *a0, const char *a1, const char *a2,
			    const char *a3)
{
	static unsigned int counter;
	char serial[sizeof(e->serial)];
	char ecid[17];

	snprintf(ecid, sizeof(ecid), "00E%05X%08X", getpid() & 0xfffff, counter++);
	snprintf(serial, sizeof(serial),
		 IDENTITY("%s"), default_ecid ? DEFAULT_ECID : ecid);
	return emu_start_serial(e, want_node, serial, "--apple", a0, a1, a2, a3, NULL);
}

/* The ROM in DFU mode, its node there. */
static int apple_start(struct emu *e, const char *a0, const char *a1,
		       const char *a2, const char *a3)
{
	return apple_start_ecid(e, 1, 0, a0, a1, a2, a3);
}

static const char *node_name(struct emu *e)
{
	const char *p = strrchr(e->node, '/');

	return p ? p + 1 : e->node;
}

/* A hex sysfs file such as idVendor, or -1. */
static long sysfs_hex(const char *dir, const char *attr)
{
	char path[DIR_LEN + 64], buf[32];

	snprintf(path, sizeof(path), "%.*s/%.40s", DIR_LEN, dir, attr);
	if (read_sysfs(path, buf, sizeof(buf)))
		return -1;
	return strtol(buf, NULL, 16);
}

/*
 * The idProduct of e's enumerated USB device (found by its serial number),
 * its sysfs directory into dir; -1 when there is none.
 */
static long usb_find(struct emu *e, char *dir, size_t len)
{
	DIR *d = opendir("/sys/bus/usb/devices");
	char path[DIR_LEN + 16], serial[sizeof(e->serial) + 32];
	struct dirent *de;
	long pid = -1;

	if (!d)
		return -1;
	while (pid < 0 && (de = readdir(d))) {
		if (de->d_name[0] == '.' || strchr(de->d_name, ':'))
			continue;
		snprintf(dir, len, "/sys/bus/usb/devices/%.200s", de->d_name);
		snprintf(path, sizeof(path), "%.*s/serial", DIR_LEN, dir);
		if (read_sysfs(path, serial, sizeof(serial)) || strcmp(serial, e->serial))
			continue;
		if (sysfs_hex(dir, "idVendor") == APPLE_VID)
			pid = sysfs_hex(dir, "idProduct");
	}
	closedir(d);
	return pid;
}

/* Wait for e's device to be enumerated as 05ac:pid; 1 with its directory in dir, or 0. */
static int usb_wait(struct emu *e, long pid, char *dir, size_t len, int timeout_ms)
{
	int waited;

	for (waited = 0; waited < timeout_ms; waited += 10) {
		if (usb_find(e, dir, len) == pid)
			return 1;
		sleep_ms(10);
	}
	return 0;
}

/* Does a /dev/dfuN belong to the USB device in this sysfs directory? */
static int usb_has_node(const char *usbdir)
{
	char want[PATH_MAX], got[PATH_MAX], path[DIR_LEN + 64];
	DIR *d = opendir("/sys/class/dfu");
	struct dirent *de;
	int found = 0;

	if (!realpath(usbdir, want))
		return 0;
	if (!d)
		return 0;
	while (!found && (de = readdir(d))) {
		if (strncmp(de->d_name, "dfu", 3))
			continue;
		snprintf(path, sizeof(path), "/sys/class/dfu/%.200s/device/..", de->d_name);
		if (realpath(path, got) && !strcmp(got, want)) {
			fprintf(stderr, "# %s belongs to %s\n", de->d_name, usbdir);
			found = 1;
		}
	}
	closedir(d);
	return found;
}

/* The driver of the device's interface 0 (configuration 1) into buf, "" for none. */
static void usb_intf_driver(const char *usbdir, char *buf, size_t len)
{
	char path[2 * DIR_LEN + 16], link[PATH_MAX];
	const char *p = strrchr(usbdir, '/');
	ssize_t n;

	snprintf(path, sizeof(path), "%.*s/%.*s:1.0/driver", DIR_LEN, usbdir, DIR_LEN,
		 p ? p + 1 : usbdir);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0) {
		buf[0] = 0;
		return;
	}
	link[n] = 0;
	p = strrchr(link, '/');
	snprintf(buf, len, "%.60s", p ? p + 1 : link);
}

/* A field of the device's interface 0 (bInterfaceProtocol...), or -1. */
static long usb_intf_hex(const char *usbdir, const char *attr)
{
	char dir[DIR_LEN];
	const char *p = strrchr(usbdir, '/');

	snprintf(dir, sizeof(dir), "%.120s/%.120s:1.0", usbdir, p ? p + 1 : usbdir);
	return sysfs_hex(dir, attr);
}

/*
 * The ROM booted the image: its node went away, it came back as 05ac:1281,
 * and that device has no node and no driver on its interface (given
 * PROBE_MS to bind). Says on stderr what it found when not.
 */
static int back_in_recovery(struct emu *e)
{
	char dir[DIR_LEN], drv[64];
	int waited;

	for (waited = 0; !access(e->sysfs, F_OK) && waited < BACK_MS; waited += 10)
		sleep_ms(10);
	if (!access(e->sysfs, F_OK)) {
		fprintf(stderr, "# %s is still there\n", e->node);
		return 0;
	}
	if (!usb_wait(e, APPLE_RECOVERY, dir, sizeof(dir), BACK_MS)) {
		fprintf(stderr, "# not back as 05ac:1281 after %d ms (now %04lx)\n",
			BACK_MS, usb_find(e, dir, sizeof(dir)));
		return 0;
	}
	sleep_ms(PROBE_MS);
	if (usb_has_node(dir))
		return 0;
	usb_intf_driver(dir, drv, sizeof(drv));
	if (drv[0]) {
		fprintf(stderr, "# %s bound to %s\n", dir, drv);
		return 0;
	}
	return 1;
}

/* A stat that is at least min, waited for; returns the last value. */
static long wait_stat_ge(struct emu *e, const char *key, long min, int timeout_ms)
{
	long v = emu_stat(e, key);
	int waited;

	for (waited = 0; v < min && waited < timeout_ms; waited += 10) {
		sleep_ms(10);
		v = emu_stat(e, key);
	}
	return v;
}

/* DNLOADs with data for an image of len bytes and its suffix: n, last, max */
struct split {
	long n, last, max;
};

static struct split split_of(size_t len)
{
	struct split s;
	size_t tail = len % XFER;

	s.n = (len + XFER - 1) / XFER;
	if (tail && tail + SUFFIX <= XFER) {
		s.last = tail + SUFFIX;		/* the suffix rides in the last block */
	} else {
		s.n++;				/* the suffix alone */
		s.last = SUFFIX;
	}
	s.max = len >= XFER ? XFER : s.n == 1 ? (long)len + SUFFIX : (long)len;
	return s;
}

/* The dwCRC the suffix of this image must carry. */
static long long suffix_crc(const unsigned char *img, size_t len)
{
	size_t n;
	unsigned char *f = dfu_suffixed(img, len, APPLE_VID, 0xffff, 0x0100, 0, &n);
	long long crc;

	if (!f)
		return -1;
	crc = f[n - 4] | f[n - 3] << 8 | f[n - 2] << 16 | (long long)f[n - 1] << 24;
	free(f);
	return crc;
}

FIXTURE(apple) {
	struct emu e;
};

FIXTURE_SETUP(apple)
{
	memset(&self->e, 0, sizeof(self->e));
}

FIXTURE_TEARDOWN(apple)
{
	emu_stop(&self->e);
}

/*
 * The node, what GET_INFO and sysfs say of the ROM, and the kernel log
 * line naming the chip.
 */
TEST_F_TIMEOUT(apple, probe, 60)
{
	struct usb_dfu_info info;
	char buf[256], mark[48];
	int fd;

	snprintf(mark, sizeof(mark), "apple-probe-%d", getpid());
	mark_kmsg(mark);
	/* the emulator's identity, ECID included */
	ASSERT_EQ(0, apple_start_ecid(&self->e, 1, 1, NULL, NULL, NULL, NULL));
	fd = open(self->e.node, O_RDONLY);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ioctl(fd, USB_DFU_IOCTL_GET_INFO, &info));
	close(fd);
	EXPECT_EQ(USB_DFU_DIALECT_APPLE, info.dialect);
	EXPECT_EQ(USB_DFU_MODE_DFU, info.mode);
	EXPECT_EQ(APPLE_VID, info.idVendor);
	EXPECT_EQ(APPLE_DFU, info.idProduct);
	EXPECT_EQ(XFER, info.wTransferSize);
	EXPECT_EQ(0x0100, info.bcdDFUVersion);
	EXPECT_EQ(USB_DFU_ATTR_CAN_DNLOAD, info.bmAttributes);
	EXPECT_EQ(10, info.wDetachTimeOut);
	EXPECT_EQ(0, info.bInterfaceNumber);
	EXPECT_EQ(1, info.bNumAltSettings);
	ASSERT_EQ(0, read_attr(&self->e, "mode", buf, sizeof(buf)));
	EXPECT_STREQ("dfu", buf);
	ASSERT_EQ(0, read_attr(&self->e, "device/../serial", buf, sizeof(buf)));
	EXPECT_STREQ(IDENTITY(DEFAULT_ECID), buf);
	EXPECT_EQ(USB_DFU_STATE_DFU_IDLE, get_state(&self->e));
	snprintf(buf, sizeof(buf), "dfu %s: Apple DFU mode: " IDENTITY_LOG "$",
		 node_name(&self->e));
	EXPECT_TRUE(kmsg_since(mark, buf)) {
		TH_LOG("no kernel log line '%s'", buf);
	}
}

/*
 * cat-like downloads (open, write() in chunks, close): close() succeeds,
 * the result says the ROM left, the ROM got the image and its suffix with
 * the right CRC in blocks of at most 2048 bytes (the suffix in the last
 * block when it fits, alone in one more otherwise), the reset came in
 * dfuMANIFEST-WAIT-RESET and not before, and it booted the image: it is
 * 05ac:1281 now, with no node.
 */
FIXTURE(image) {
	struct emu e;
};

FIXTURE_VARIANT(image) {
	size_t len;
	size_t chunk;		/* write() size; 0: coreutils cat */
};

FIXTURE_VARIANT_ADD(image, one_byte) { .len = 1, .chunk = 1 };
/* 2032 + 16 = 2048: the suffix fills the one block */
FIXTURE_VARIANT_ADD(image, suffix_fits_2032) { .len = 2032, .chunk = 2032 };
/* one byte more: the suffix goes alone */
FIXTURE_VARIANT_ADD(image, suffix_alone_2033) { .len = 2033, .chunk = 1000 };
FIXTURE_VARIANT_ADD(image, one_block_2048) { .len = 2048, .chunk = 2048 };
FIXTURE_VARIANT_ADD(image, odd_300001) { .len = 300001, .chunk = 4096 };
FIXTURE_VARIANT_ADD(image, one_mib_cat) { .len = MIB, .chunk = 0 };

FIXTURE_SETUP(image)
{
	memset(&self->e, 0, sizeof(self->e));
}

FIXTURE_TEARDOWN(image)
{
	emu_stop(&self->e);
}

TEST_F_TIMEOUT(image, boots, 240)
{
	size_t len = variant->len;
	unsigned char *img = make_pattern_file(IMG_PATH, len, 1300 + len);
	struct split sp = split_of(len);
	long long crc = suffix_crc(img, len);
	struct usb_dfu_result r;
	char mode[32];
	long long t0;
	int rfd;

	ASSERT_NE(NULL, img);
	ASSERT_LE(0, crc);
	ASSERT_EQ(0, apple_start(&self->e, NULL, NULL, NULL, NULL));
	/* the result is read on a file opened before: the node goes away */
	rfd = open(self->e.node, O_RDONLY);
	ASSERT_LE(0, rfd);
	t0 = now_us();
	if (variant->chunk) {
		EXPECT_EQ(0, flash_buf(self->e.node, img, len, variant->chunk));
	} else {
		EXPECT_EQ(0, run_sh("cat %s > %s", IMG_PATH, self->e.node));
	}
	TH_LOG("%zu bytes in %lld ms", len, ms_since(t0));
	ASSERT_EQ(0, ioctl(rfd, USB_DFU_IOCTL_GET_RESULT, &r));
	close(rfd);
	EXPECT_EQ(0, r.error);
	EXPECT_EQ((__u32)USB_DFU_RESULT_LEFT, r.flags);
	EXPECT_EQ((__u64)len, r.bytes);

	EXPECT_TRUE(back_in_recovery(&self->e));
	EXPECT_EQ(1, emu_wait_stat(&self->e, "apple_boots", 1, 5000));
	EXPECT_EQ(0, emu_stat_str(&self->e, "apple_mode", mode, sizeof(mode)));
	EXPECT_STREQ("recovery", mode);
	EXPECT_TRUE(emu_has_image(&self->e, img, len));
	EXPECT_EQ(1, emu_stat(&self->e, "apple_suffix_ok"));
	EXPECT_EQ(1, emu_stat(&self->e, "apple_crc_ok"));
	EXPECT_EQ(crc, emu_stat_num(&self->e, "apple_crc"));
	EXPECT_EQ(1, emu_stat(&self->e, "apple_resets_state8"));
	EXPECT_EQ(0, emu_stat(&self->e, "apple_resets_early"));
	EXPECT_EQ(1, emu_stat(&self->e, "apple_zlp"));
	EXPECT_EQ(0, emu_stat(&self->e, "apple_rejects"));
	EXPECT_EQ(0, emu_stat(&self->e, "apple_sessions_ended"));
	EXPECT_EQ(0, emu_stat(&self->e, "apple_stalls"));
	/* the DNLOADs of the session that booted */
	EXPECT_EQ((long)len + SUFFIX, emu_stat(&self->e, "apple_received"));
	EXPECT_EQ(sp.n, emu_stat(&self->e, "apple_dnloads"));
	EXPECT_EQ(sp.last, emu_stat(&self->e, "apple_last_dnload"));
	EXPECT_EQ(sp.max, emu_stat(&self->e, "apple_max_dnload"));
	EXPECT_GE(XFER, emu_stat(&self->e, "apple_max_dnload"));
	free(img);
}

/*
 * An image the ROM does not accept (not signed for it: --apple-accept
 * names another): close() still succeeds, as the driver cannot know, and
 * the ROM comes back in DFU mode as a new node, which then takes the
 * right image and boots it.
 */
TEST_F_TIMEOUT(apple, rejected_then_accepted, 120)
{
	size_t len = 5000;
	unsigned char *img = make_pattern_file(IMG_PATH, len, 21);
	unsigned char *good = make_pattern_file(OTHER_PATH, len, 22);
	struct usb_dfu_result r;
	struct usb_dfu_info info;
	char dir[DIR_LEN];
	long devnum;
	int rfd;

	ASSERT_NE(NULL, img);
	ASSERT_NE(NULL, good);
	ASSERT_EQ(0, apple_start(&self->e, "--apple-accept", OTHER_PATH, NULL, NULL));
	devnum = emu_devnum(&self->e);
	ASSERT_LT(0, devnum);
	rfd = open(self->e.node, O_RDONLY);
	ASSERT_LE(0, rfd);
	EXPECT_EQ(0, flash_buf(self->e.node, img, len, 4096));
	ASSERT_EQ(0, ioctl(rfd, USB_DFU_IOCTL_GET_RESULT, &r));
	close(rfd);
	EXPECT_EQ(0, r.error);
	EXPECT_EQ((__u32)USB_DFU_RESULT_LEFT, r.flags);
	EXPECT_EQ((__u64)len, r.bytes);

	/* back as 1227, a fresh session with a new node */
	ASSERT_EQ(0, emu_wait_reenumerated(&self->e, devnum, BACK_MS));
	ASSERT_EQ(0, node_ioctl(&self->e, USB_DFU_IOCTL_GET_INFO, &info));
	EXPECT_EQ(APPLE_DFU, info.idProduct);
	EXPECT_EQ(USB_DFU_DIALECT_APPLE, info.dialect);
	EXPECT_EQ(USB_DFU_STATE_DFU_IDLE, get_state(&self->e));
	EXPECT_EQ(APPLE_DFU, usb_find(&self->e, dir, sizeof(dir)));
	EXPECT_EQ(1, emu_wait_stat(&self->e, "apple_rejects", 1, 5000));
	EXPECT_EQ(0, emu_stat(&self->e, "apple_boots"));
	EXPECT_EQ(1, emu_stat(&self->e, "apple_suffix_ok"));
	EXPECT_EQ(1, emu_stat(&self->e, "apple_crc_ok"));
	EXPECT_EQ(1, emu_stat(&self->e, "apple_resets_state8"));
	EXPECT_EQ(0, emu_stat(&self->e, "apple_resets_early"));
	EXPECT_EQ(1, emu_stat(&self->e, "apple_zlp"));
	EXPECT_TRUE(emu_has_image(&self->e, img, len));

	/* the signed image, through the new node */
	EXPECT_EQ(0, flash_buf(self->e.node, good, len, len));
	EXPECT_TRUE(back_in_recovery(&self->e));
	EXPECT_EQ(1, emu_wait_stat(&self->e, "apple_boots", 1, 5000));
	EXPECT_EQ(1, emu_stat(&self->e, "apple_rejects"));
	EXPECT_EQ(2, emu_stat(&self->e, "apple_resets_state8"));
	EXPECT_EQ(0, emu_stat(&self->e, "apple_resets_early"));
	EXPECT_EQ(2, emu_stat(&self->e, "apple_zlp"));
	EXPECT_TRUE(emu_has_image(&self->e, good, len));
	free(img);
	free(good);
}

/*
 * ": > /dev/dfuN": an open for writing and a close with nothing written
 * send nothing (no suffix, no zero-length DNLOAD, no ABORT): the ROM stays
 * on the bus, same device, same node, idle, and takes an image after.
 */
TEST_F_TIMEOUT(apple, empty_open_sends_nothing, 60)
{
	unsigned char img[100];
	long devnum;
	int fd;

	fill_pattern(img, sizeof(img), 31);
	ASSERT_EQ(0, apple_start(&self->e, NULL, NULL, NULL, NULL));
	devnum = emu_devnum(&self->e);
	ASSERT_LT(0, devnum);
	fd = open(self->e.node, O_WRONLY);
	ASSERT_LE(0, fd);
	EXPECT_EQ(0, close(fd));
	EXPECT_EQ(0, run_sh(": > %s", self->e.node));
	sleep_ms(500);
	EXPECT_EQ(0, access(self->e.sysfs, F_OK));
	EXPECT_EQ(devnum, emu_devnum(&self->e));
	EXPECT_EQ(0, emu_stat(&self->e, "apple_dnloads"));
	EXPECT_EQ(0, emu_stat(&self->e, "apple_received"));
	EXPECT_EQ(0, emu_stat(&self->e, "apple_zlp"));
	EXPECT_EQ(0, emu_stat(&self->e, "apple_sessions_ended"));
	EXPECT_EQ(0, emu_stat(&self->e, "apple_resets_early"));
	EXPECT_EQ(0, emu_stat(&self->e, "apple_resets_state8"));
	EXPECT_EQ(0, emu_stat(&self->e, "apple_stalls"));
	EXPECT_EQ(USB_DFU_STATE_DFU_IDLE, get_state(&self->e));
	/* still a ROM that takes an image */
	EXPECT_EQ(0, flash_buf(self->e.node, img, sizeof(img), sizeof(img)));
	EXPECT_TRUE(back_in_recovery(&self->e));
	EXPECT_EQ(1, emu_wait_stat(&self->e, "apple_boots", 1, 5000));
	EXPECT_TRUE(emu_has_image(&self->e, img, sizeof(img)));
}

/*
 * After an image that was not committed: nothing booted, no zero-length
 * DNLOAD, no reset, the session ended (DFU_ABORT) and the ROM back as
 * 1227 with a new node; the result on rfd (opened before) has this error
 * and at most that many bytes.
 */
static void expect_aborted(struct __test_metadata *_metadata, struct emu *e,
			   long devnum, int rfd, int error, size_t most)
{
	struct usb_dfu_result r;
	char dir[DIR_LEN];

	ASSERT_EQ(0, ioctl(rfd, USB_DFU_IOCTL_GET_RESULT, &r));
	EXPECT_EQ(error, r.error);
	EXPECT_EQ(0u, r.flags & USB_DFU_RESULT_LEFT);
	EXPECT_GE((__u64)most, r.bytes);
	TH_LOG("result: error %d after %llu bytes", r.error, (unsigned long long)r.bytes);
	ASSERT_EQ(0, emu_wait_reenumerated(e, devnum, BACK_MS)) {
		TH_LOG("the ROM did not come back in DFU mode");
	}
	EXPECT_EQ(USB_DFU_STATE_DFU_IDLE, get_state(e));
	EXPECT_EQ(APPLE_DFU, usb_find(e, dir, sizeof(dir)));
	EXPECT_EQ(1, emu_wait_stat(e, "apple_sessions_ended", 1, 5000));
	EXPECT_EQ(0, emu_stat(e, "apple_boots"));
	EXPECT_EQ(0, emu_stat(e, "apple_rejects"));
	EXPECT_EQ(0, emu_stat(e, "apple_zlp"));
	EXPECT_EQ(0, emu_stat(e, "apple_resets_state8"));
	EXPECT_EQ(0, emu_stat(e, "apple_resets_early"));
}

/*
 * cat of a 1 MiB image killed by SIGINT while it writes: never booted, the
 * ROM's session ended, and the kernel log says the download was aborted.
 */
TEST_F_TIMEOUT(apple, sigint_mid_image, 120)
{
	size_t len = MIB;
	unsigned char *img = make_pattern_file(IMG_PATH, len, 41);
	char mark[48], logline[64];
	long devnum, n;
	int rfd, status;
	pid_t pid;

	ASSERT_NE(NULL, img);
	free(img);
	ASSERT_EQ(0, apple_start(&self->e, NULL, NULL, NULL, NULL));
	devnum = emu_devnum(&self->e);
	ASSERT_LT(0, devnum);
	rfd = open(self->e.node, O_RDONLY);
	ASSERT_LE(0, rfd);
	/* the node that goes away says so */
	snprintf(logline, sizeof(logline), "dfu %s: .*[Aa]bort", node_name(&self->e));
	snprintf(mark, sizeof(mark), "apple-sigint-%d", getpid());
	mark_kmsg(mark);
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		int fd = open(self->e.node, O_WRONLY);

		if (fd < 0 || dup2(fd, 1) < 0)
			_exit(100);
		signal(SIGINT, SIG_DFL);
		execlp("cat", "cat", IMG_PATH, (char *)NULL);
		_exit(101);
	}
	/* in cat's second 128 KiB write */
	n = wait_stat_ge(&self->e, "apple_dnloads", 70, 30000);
	kill(pid, SIGINT);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	TH_LOG("SIGINT after %ld DNLOADs", n);
	EXPECT_LE(70, n);
	EXPECT_GT((long)(len / XFER), n);
	ASSERT_TRUE(WIFSIGNALED(status)) {
		TH_LOG("cat exited with %d before the signal", WEXITSTATUS(status));
	}
	EXPECT_EQ(SIGINT, WTERMSIG(status));
	expect_aborted(_metadata, &self->e, devnum, rfd, -EINTR, len - 1);
	close(rfd);
	EXPECT_TRUE(kmsg_since(mark, logline)) {
		TH_LOG("no kernel log line '%s'", logline);
	}
}

/*
 * A writer that wrote part of an image and waits, killed by SIGINT: the
 * image was open but never ended, so it is never booted either.
 */
TEST_F_TIMEOUT(apple, sigint_while_open, 90)
{
	size_t len = 300001;
	unsigned char *img = malloc(len);
	int rfd, status, p[2];
	long devnum;
	pid_t pid;
	char c;

	ASSERT_NE(NULL, img);
	fill_pattern(img, len, 42);
	ASSERT_EQ(0, apple_start(&self->e, NULL, NULL, NULL, NULL));
	devnum = emu_devnum(&self->e);
	ASSERT_LT(0, devnum);
	rfd = open(self->e.node, O_RDONLY);
	ASSERT_LE(0, rfd);
	ASSERT_EQ(0, pipe(p));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		int fd = open(self->e.node, O_WRONLY);

		signal(SIGINT, SIG_DFL);
		close(p[0]);
		if (fd < 0 || write(fd, img, len) != (ssize_t)len)
			_exit(100);
		if (write(p[1], "w", 1) != 1)
			_exit(101);
		for (;;)
			pause();
	}
	close(p[1]);
	ASSERT_EQ(1, read(p[0], &c, 1));
	close(p[0]);
	sleep_ms(200);
	kill(pid, SIGINT);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFSIGNALED(status));
	EXPECT_EQ(SIGINT, WTERMSIG(status));
	expect_aborted(_metadata, &self->e, devnum, rfd, -EINTR, len);
	close(rfd);
	free(img);
}

/*
 * The commit policy explicit (sysfs commit): a close without fsync() or
 * USB_DFU_IOCTL_COMMIT fails with ECANCELED and sends no zero-length
 * DNLOAD; the ROM is never booted.
 */
TEST_F_TIMEOUT(apple, explicit_close_without_commit, 90)
{
	size_t len = 10000;
	unsigned char *img = malloc(len);
	long devnum;
	int rfd;

	ASSERT_NE(NULL, img);
	fill_pattern(img, len, 43);
	ASSERT_EQ(0, apple_start(&self->e, NULL, NULL, NULL, NULL));
	devnum = emu_devnum(&self->e);
	ASSERT_LT(0, devnum);
	ASSERT_EQ(0, write_attr(&self->e, "commit", "explicit"));
	rfd = open(self->e.node, O_RDONLY);
	ASSERT_LE(0, rfd);
	EXPECT_EQ(-ECANCELED, flash_buf(self->e.node, img, len, 4096));
	expect_aborted(_metadata, &self->e, devnum, rfd, -ECANCELED, len);
	close(rfd);
	free(img);
}

/*
 * read() (the ROM cannot upload) and USB_DFU_IOCTL_DETACH (it is in DFU
 * mode already, and stalls DETACH) fail with EOPNOTSUPP at once and send
 * nothing: no request the ROM stalls, no GETSTATUS, same device.
 */
TEST_F_TIMEOUT(apple, read_and_detach_refused, 60)
{
	unsigned char buf[4096];
	long devnum, gs;
	long long t0, dt;
	int rfd, wfd;
	__u32 t = 0;

	ASSERT_EQ(0, apple_start(&self->e, NULL, NULL, NULL, NULL));
	devnum = emu_devnum(&self->e);
	ASSERT_LT(0, devnum);
	rfd = open(self->e.node, O_RDONLY);
	ASSERT_LE(0, rfd);
	wfd = open(self->e.node, O_WRONLY);
	ASSERT_LE(0, wfd);
	sleep_ms(200);
	gs = emu_stat(&self->e, "apple_getstatus");
	ASSERT_LE(0, gs);

	t0 = now_us();
	EXPECT_EQ(-1, read(rfd, buf, sizeof(buf)));
	EXPECT_EQ(EOPNOTSUPP, errno);
	dt = ms_since(t0);
	TH_LOG("read() failed in %lld ms", dt);
	EXPECT_GT(200, dt);
	t0 = now_us();
	EXPECT_EQ(-1, ioctl(wfd, USB_DFU_IOCTL_DETACH, &t));
	EXPECT_EQ(EOPNOTSUPP, errno);
	dt = ms_since(t0);
	EXPECT_GT(200, dt);
	sleep_ms(300);
	EXPECT_EQ(gs, emu_stat(&self->e, "apple_getstatus"));
	EXPECT_EQ(0, emu_stat(&self->e, "apple_stalls"));
	EXPECT_EQ(0, emu_stat(&self->e, "apple_dnloads"));
	EXPECT_EQ(0, emu_stat(&self->e, "apple_sessions_ended"));
	EXPECT_EQ(0, emu_stat(&self->e, "apple_resets_early"));
	EXPECT_EQ(0, close(wfd));
	close(rfd);
	sleep_ms(300);
	EXPECT_EQ(devnum, emu_devnum(&self->e));
	EXPECT_EQ(0, emu_stat(&self->e, "apple_stalls"));
	EXPECT_EQ(0, emu_stat(&self->e, "apple_sessions_ended"));
}

/*
 * Recovery mode (05ac:1281, interface FE/01/02 with a bulk OUT endpoint
 * and no functional descriptor) is not DFU: no node, no driver. A DFU
 * interface with a functional descriptor and an endpoint is
 * dfu_quirk_test's endpoints test (dfu-emu --endpoint).
 */
TEST_F_TIMEOUT(apple, recovery_mode_unbound, 60)
{
	char dir[DIR_LEN], drv[64];

	ASSERT_EQ(0, apple_start_ecid(&self->e, 0, 0, "--apple-recovery", NULL, NULL, NULL));
	ASSERT_EQ(APPLE_RECOVERY, usb_find(&self->e, dir, sizeof(dir)));
	/* the shape it must be for this to mean anything */
	EXPECT_EQ(0xfe, usb_intf_hex(dir, "bInterfaceClass"));
	EXPECT_EQ(0x01, usb_intf_hex(dir, "bInterfaceSubClass"));
	EXPECT_EQ(0x02, usb_intf_hex(dir, "bInterfaceProtocol"));
	EXPECT_EQ(1, usb_intf_hex(dir, "bNumEndpoints"));
	EXPECT_FALSE(usb_has_node(dir));
	usb_intf_driver(dir, drv, sizeof(drv));
	EXPECT_STREQ("", drv);
}

/*
 * bind_apple=N leaves the ROM to irecovery: no node for 05ac:1227, while
 * other DFU devices are still bound; Y binds it again. The teardown sets
 * it back to Y whatever happens.
 */
FIXTURE(bind_apple) {
	struct emu e;
};

FIXTURE_SETUP(bind_apple)
{
	memset(&self->e, 0, sizeof(self->e));
}

FIXTURE_TEARDOWN(bind_apple)
{
	emu_stop(&self->e);
	if (set_param("bind_apple", "Y"))
		fprintf(stderr, "# could not set bind_apple back to Y\n");
}

TEST_F_TIMEOUT(bind_apple, off_leaves_rom_unbound, 90)
{
	char buf[16], dir[DIR_LEN], drv[64];
	struct usb_dfu_info info;

	ASSERT_EQ(0, get_param("bind_apple", buf, sizeof(buf)));
	EXPECT_STREQ("Y", buf);
	ASSERT_EQ(0, set_param("bind_apple", "N"));
	ASSERT_EQ(0, apple_start_ecid(&self->e, 0, 0, NULL, NULL, NULL, NULL));
	ASSERT_EQ(APPLE_DFU, usb_find(&self->e, dir, sizeof(dir)));
	EXPECT_FALSE(usb_has_node(dir));
	usb_intf_driver(dir, drv, sizeof(drv));
	EXPECT_STREQ("", drv);
	emu_stop(&self->e);
	/* only Apple devices are left alone */
	ASSERT_EQ(0, emu_start(&self->e, NULL));
	emu_stop(&self->e);
	ASSERT_EQ(0, set_param("bind_apple", "Y"));
	ASSERT_EQ(0, apple_start(&self->e, NULL, NULL, NULL, NULL));
	ASSERT_EQ(0, node_ioctl(&self->e, USB_DFU_IOCTL_GET_INFO, &info));
	EXPECT_EQ(USB_DFU_DIALECT_APPLE, info.dialect);
}

TEST_HARNESS_MAIN
