// SPDX-License-Identifier: GPL-2.0
/*
 * dfu_commit_test - when what was written becomes an image the device
 * manifests: the commit policies close, explicit and suffix (ioctl
 * USB_DFU_IOCTL_SET_COMMIT, sysfs attribute commit), DfuSe files that must
 * never reach a plain DFU device, writers that exit or die without closing,
 * and devices that never confirm manifestation (unverified). After each
 * failure the device must take a retry.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/usb/dfu.h>

#include "kselftest_harness.h"
#include "emu.h"
#include "suffix.h"

#define EMU_VID		0x1209
#define EMU_PID		0xdf00
#define IMG_PATH	"/tmp/commit-image.bin"
#define PLEN		3000	/* 47 blocks of 64 bytes */

enum end { END_CLOSE, END_FSYNC, END_COMMIT };

/*
 * Open the node for writing, choose the policy (-1: the file's default),
 * write buf in blocks of 1000 bytes and end with close(), fsync() or
 * USB_DFU_IOCTL_COMMIT. Returns 0 or -errno of the first call that fails.
 * With r, *r is GET_RESULT of the same file after the end (not END_CLOSE).
 */
static int flash_with(struct emu *e, int policy, const unsigned char *buf,
		      size_t len, enum end end, struct usb_dfu_result *r)
{
	int fd = open(e->node, O_WRONLY);
	size_t done = 0;
	int ret = 0;

	if (fd < 0)
		return -errno;
	if (policy >= 0) {
		__u32 p = policy;

		if (ioctl(fd, USB_DFU_IOCTL_SET_COMMIT, &p)) {
			ret = -errno;
			close(fd);
			return ret;
		}
	}
	while (done < len) {
		ssize_t n = write(fd, buf + done, len - done < 1000 ? len - done : 1000);

		if (n < 0) {
			ret = -errno;
			break;
		}
		done += n;
	}
	if (!ret && end == END_FSYNC && fsync(fd))
		ret = -errno;
	if (!ret && end == END_COMMIT && ioctl(fd, USB_DFU_IOCTL_COMMIT))
		ret = -errno;
	if (r && end != END_CLOSE) {
		memset(r, 0xaa, sizeof(*r));
		if (ioctl(fd, USB_DFU_IOCTL_GET_RESULT, r) && !ret)
			ret = -errno;
	}
	if (close(fd) && (!ret || end == END_CLOSE))
		ret = ret ? ret : -errno;
	return ret;
}

/* The commit policy of fd (GET_INFO) is policy. */
static void expect_policy(struct __test_metadata *_metadata, int fd, __u32 policy)
{
	struct usb_dfu_info info;

	ASSERT_EQ(0, ioctl(fd, USB_DFU_IOCTL_GET_INFO, &info));
	EXPECT_EQ(policy, info.commit);
}

/* The device took nothing: no new manifestation, no image changed. */
static void expect_not_manifested(struct __test_metadata *_metadata,
				  struct emu *e, long manifests_before)
{
	EXPECT_EQ(manifests_before, emu_stat(e, "manifests"));
	if (!manifests_before)
		EXPECT_NE(0, access(emu_image_path(e), F_OK));
	EXPECT_EQ(USB_DFU_STATE_DFU_IDLE, get_state(e));
}

/* The outcome the driver recorded: errno in GET_RESULT and last_result. */
static void expect_result(struct __test_metadata *_metadata, struct emu *e,
			  int err, const char *name)
{
	struct usb_dfu_result r;
	char want[32];

	ASSERT_EQ(0, get_result(e, &r));
	EXPECT_EQ(-err, r.error);
	snprintf(want, sizeof(want), "%s ", name);
	EXPECT_TRUE(last_result_is(e, want));
}

/* A retry with a fresh image under the close policy works. */
static void retry_works(struct __test_metadata *_metadata, struct emu *e,
			unsigned int seed)
{
	unsigned char img[PLEN];
	long before = emu_stat(e, "manifests");

	fill_pattern(img, sizeof(img), seed);
	ASSERT_EQ(0, flash_with(e, USB_DFU_COMMIT_CLOSE, img, sizeof(img),
				END_CLOSE, NULL));
	EXPECT_TRUE(emu_has_image(e, img, sizeof(img)));
	EXPECT_EQ(before + 1, emu_stat(e, "manifests"));
	EXPECT_TRUE(last_result_is(e, "ok 3000"));
}

/*
 * After one image, cat (the command: "cat" or "busybox cat") writes a file
 * of len pattern bytes: it succeeds, and the device manifests it as its
 * second image.
 */
static void cat_manifests_second(struct __test_metadata *_metadata, struct emu *e,
				 const char *cat, size_t len, unsigned int seed)
{
	unsigned char *img = make_pattern_file(IMG_PATH, len, seed);

	ASSERT_NE(NULL, img);
	ASSERT_EQ(0, run_sh("%s %s > %s", cat, IMG_PATH, e->node));
	EXPECT_TRUE(emu_has_image(e, img, len));
	EXPECT_EQ(2, emu_stat(e, "manifests"));
	free(img);
}

FIXTURE(dfu) {
	struct emu emu;
	unsigned char payload[PLEN];
};

FIXTURE_SETUP(dfu)
{
	fill_pattern(self->payload, sizeof(self->payload), 100);
	ASSERT_EQ(0, emu_start(&self->emu, "--transfer-size", "64", NULL));
}

FIXTURE_TEARDOWN(dfu)
{
	emu_stop(&self->emu);
}

/* The suffix CRC (suffix.c) against the reference check value of CRC-32. */
TEST(crc_matches_reference)
{
	EXPECT_EQ(0x340bc6d9u, dfu_crc((const unsigned char *)"123456789", 9));
}

/* policy close, the default: write and close (cat) manifest the image. */
TEST_F(dfu, close_policy_commits)
{
	char buf[32];
	int fd;

	ASSERT_EQ(0, read_attr(&self->emu, "commit", buf, sizeof(buf)));
	EXPECT_STREQ("close", buf);
	fd = open(self->emu.node, O_WRONLY);
	ASSERT_LE(0, fd);
	expect_policy(_metadata, fd, USB_DFU_COMMIT_CLOSE);
	close(fd);

	ASSERT_EQ(0, flash_buf(self->emu.node, self->payload, PLEN, 4096));
	EXPECT_TRUE(emu_has_image(&self->emu, self->payload, PLEN));
	EXPECT_TRUE(last_result_is(&self->emu, "ok 3000"));
	cat_manifests_second(_metadata, &self->emu, "cat", 1000, 101);
}

/*
 * Open and close with nothing written, under each policy (sysfs default
 * and SET_COMMIT, with fsync and COMMIT too): 0, and nothing is sent.
 */
TEST_F(dfu, empty_open_close_sends_nothing)
{
	static const char *const names[] = { "close", "suffix", "explicit" };
	struct usb_dfu_result r;
	__u32 p;
	int fd;

	for (p = 0; p < 3; p++) {
		ASSERT_EQ(0, write_attr(&self->emu, "commit", names[p]));
		fd = open(self->emu.node, O_WRONLY);
		ASSERT_LE(0, fd);
		expect_policy(_metadata, fd, p);
		EXPECT_EQ(0, close(fd)) {
			TH_LOG("policy %s: %s", names[p], strerror(errno));
		}

		ASSERT_EQ(0, write_attr(&self->emu, "commit", "close"));
		fd = open(self->emu.node, O_WRONLY);
		ASSERT_LE(0, fd);
		EXPECT_EQ(0, ioctl(fd, USB_DFU_IOCTL_SET_COMMIT, &p));
		EXPECT_EQ(0, fsync(fd)) {
			TH_LOG("fsync under %s: %s", names[p], strerror(errno));
		}
		EXPECT_EQ(0, ioctl(fd, USB_DFU_IOCTL_COMMIT)) {
			TH_LOG("COMMIT under %s: %s", names[p], strerror(errno));
		}
		EXPECT_EQ(0, close(fd));
	}
	ASSERT_EQ(0, get_result(&self->emu, &r));
	EXPECT_EQ(0, r.error);
	EXPECT_EQ(0ull, r.bytes);
	EXPECT_TRUE(last_result_is(&self->emu, "none"));
	emu_stop(&self->emu);
	EXPECT_EQ(0, emu_stat(&self->emu, "dnload_requests"));
	EXPECT_EQ(0, emu_stat(&self->emu, "aborts"));
	EXPECT_EQ(0, emu_stat(&self->emu, "manifests"));
}

/* SET_COMMIT: EBADF read-only, EINVAL for an unknown policy, EBUSY mid-image. */
TEST_F(dfu, set_commit_arguments)
{
	__u32 p = USB_DFU_COMMIT_EXPLICIT;
	int fd;

	fd = open(self->emu.node, O_RDONLY);
	ASSERT_LE(0, fd);
	EXPECT_EQ(-1, ioctl(fd, USB_DFU_IOCTL_SET_COMMIT, &p));
	EXPECT_EQ(EBADF, errno);
	EXPECT_EQ(-1, ioctl(fd, USB_DFU_IOCTL_COMMIT));
	EXPECT_EQ(EBADF, errno);
	close(fd);

	fd = open(self->emu.node, O_WRONLY);
	ASSERT_LE(0, fd);
	p = 3;
	EXPECT_EQ(-1, ioctl(fd, USB_DFU_IOCTL_SET_COMMIT, &p));
	EXPECT_EQ(EINVAL, errno);
	ASSERT_EQ(1000, write(fd, self->payload, 1000));
	p = USB_DFU_COMMIT_EXPLICIT;
	EXPECT_EQ(-1, ioctl(fd, USB_DFU_IOCTL_SET_COMMIT, &p));
	EXPECT_EQ(EBUSY, errno);
	/* the file keeps its policy (close) */
	EXPECT_EQ(0, close(fd));
	EXPECT_TRUE(emu_has_image(&self->emu, self->payload, 1000));
}

/* policy explicit: close() without a commit aborts; nothing is manifested. */
TEST_F(dfu, explicit_close_without_commit_cancels)
{
	__u32 p = USB_DFU_COMMIT_EXPLICIT;
	int fd;

	fd = open(self->emu.node, O_WRONLY);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ioctl(fd, USB_DFU_IOCTL_SET_COMMIT, &p));
	expect_policy(_metadata, fd, USB_DFU_COMMIT_EXPLICIT);
	ASSERT_EQ(PLEN, write(fd, self->payload, PLEN));
	EXPECT_EQ(-1, close(fd));
	EXPECT_EQ(ECANCELED, errno);
	expect_not_manifested(_metadata, &self->emu, 0);
	expect_result(_metadata, &self->emu, ECANCELED, "-ECANCELED");
	retry_works(_metadata, &self->emu, 102);
	emu_stop(&self->emu);
	EXPECT_LE(1, emu_stat(&self->emu, "aborts"));
}

/* policy explicit: USB_DFU_IOCTL_COMMIT manifests; a later write is a new image. */
TEST_F(dfu, explicit_commit_ioctl_manifests)
{
	__u32 p = USB_DFU_COMMIT_EXPLICIT;
	struct usb_dfu_result r;
	unsigned char img2[700];
	int fd;

	fill_pattern(img2, sizeof(img2), 103);
	fd = open(self->emu.node, O_WRONLY);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ioctl(fd, USB_DFU_IOCTL_SET_COMMIT, &p));
	ASSERT_EQ(PLEN, write(fd, self->payload, PLEN));
	EXPECT_EQ(0, emu_stat(&self->emu, "manifests"));
	ASSERT_EQ(0, ioctl(fd, USB_DFU_IOCTL_COMMIT));
	EXPECT_TRUE(emu_has_image(&self->emu, self->payload, PLEN));
	ASSERT_EQ(0, ioctl(fd, USB_DFU_IOCTL_GET_RESULT, &r));
	EXPECT_EQ(0, r.error);
	EXPECT_EQ((__u64)PLEN, r.bytes);
	EXPECT_EQ(0u, r.flags & (USB_DFU_RESULT_UNVERIFIED | USB_DFU_RESULT_UPLOAD));
	/* after a commit, a write starts a new image */
	ASSERT_EQ((ssize_t)sizeof(img2), write(fd, img2, sizeof(img2)));
	ASSERT_EQ(0, ioctl(fd, USB_DFU_IOCTL_COMMIT));
	EXPECT_TRUE(emu_has_image(&self->emu, img2, sizeof(img2)));
	EXPECT_EQ(0, close(fd));
	EXPECT_EQ(2, emu_stat(&self->emu, "manifests"));
	EXPECT_TRUE(last_result_is(&self->emu, "ok 700"));
}

/* policy explicit: fsync() manifests, and the close after it is no abort. */
TEST_F(dfu, explicit_fsync_manifests)
{
	struct usb_dfu_result r;

	ASSERT_EQ(0, flash_with(&self->emu, USB_DFU_COMMIT_EXPLICIT, self->payload,
				PLEN, END_FSYNC, &r));
	EXPECT_EQ(0, r.error);
	EXPECT_EQ((__u64)PLEN, r.bytes);
	EXPECT_TRUE(emu_has_image(&self->emu, self->payload, PLEN));
	EXPECT_EQ(1, emu_stat(&self->emu, "manifests"));
	EXPECT_TRUE(last_result_is(&self->emu, "ok 3000"));
	emu_stop(&self->emu);
	EXPECT_EQ(0, emu_stat(&self->emu, "aborts"));
}

/*
 * sysfs commit sets the policy of later opens (GET_INFO.commit); a file
 * keeps the policy it was opened with.
 */
TEST_F(dfu, sysfs_commit_default)
{
	char buf[32];
	int fd;

	ASSERT_EQ(0, run_sh("echo explicit > %s/commit", self->emu.sysfs));
	ASSERT_EQ(0, read_attr(&self->emu, "commit", buf, sizeof(buf)));
	EXPECT_STREQ("explicit", buf);
	EXPECT_EQ(-EINVAL, write_attr(&self->emu, "commit", "sometimes"));
	ASSERT_EQ(0, read_attr(&self->emu, "commit", buf, sizeof(buf)));
	EXPECT_STREQ("explicit", buf);

	fd = open(self->emu.node, O_WRONLY);
	ASSERT_LE(0, fd);
	expect_policy(_metadata, fd, USB_DFU_COMMIT_EXPLICIT);
	/* a later change of the default leaves this file explicit */
	ASSERT_EQ(0, write_attr(&self->emu, "commit", "close"));
	expect_policy(_metadata, fd, USB_DFU_COMMIT_EXPLICIT);
	ASSERT_EQ(PLEN, write(fd, self->payload, PLEN));
	EXPECT_EQ(-1, close(fd));
	EXPECT_EQ(ECANCELED, errno);
	expect_not_manifested(_metadata, &self->emu, 0);

	/* cat under explicit fails and manifests nothing */
	ASSERT_EQ(0, write_file(IMG_PATH, self->payload, PLEN));
	ASSERT_EQ(0, write_attr(&self->emu, "commit", "explicit"));
	EXPECT_NE(0, run_sh("cat %s > %s 2>/dev/null", IMG_PATH, self->emu.node));
	expect_not_manifested(_metadata, &self->emu, 0);
	expect_result(_metadata, &self->emu, ECANCELED, "-ECANCELED");

	ASSERT_EQ(0, write_attr(&self->emu, "commit", "close"));
	ASSERT_EQ(0, run_sh("cat %s > %s", IMG_PATH, self->emu.node));
	EXPECT_TRUE(emu_has_image(&self->emu, self->payload, PLEN));
}

/*
 * policy suffix: an image ending in a suffix for this device is manifested
 * without the suffix, and the result says the suffix was checked.
 */
TEST_F(dfu, suffix_valid_manifests)
{
	struct usb_dfu_result r;
	unsigned char *f;
	size_t len;

	f = dfu_suffixed(self->payload, PLEN, EMU_VID, EMU_PID, 0x0100, 0, &len);
	ASSERT_NE(NULL, f);
	ASSERT_EQ(0, flash_with(&self->emu, USB_DFU_COMMIT_SUFFIX, f, len, END_FSYNC, &r));
	EXPECT_EQ(0, r.error);
	EXPECT_EQ((__u64)PLEN, r.bytes);
	EXPECT_EQ((__u32)USB_DFU_RESULT_SUFFIX, r.flags);
	EXPECT_TRUE(emu_has_image(&self->emu, self->payload, PLEN));
	EXPECT_TRUE(last_result_is(&self->emu, "ok 3000"));
	free(f);

	/* and through cat with the sysfs default, bcdDFU 1.1 this time */
	f = dfu_suffixed(self->payload, 1234, EMU_VID, EMU_PID, 0x0110, 0, &len);
	ASSERT_NE(NULL, f);
	ASSERT_EQ(0, write_file(IMG_PATH, f, len));
	ASSERT_EQ(0, write_attr(&self->emu, "commit", "suffix"));
	ASSERT_EQ(0, run_sh("cat %s > %s", IMG_PATH, self->emu.node));
	EXPECT_TRUE(emu_has_image(&self->emu, self->payload, 1234));
	ASSERT_EQ(0, get_result(&self->emu, &r));
	EXPECT_EQ(0, r.error);
	EXPECT_EQ((__u32)USB_DFU_RESULT_SUFFIX, r.flags);
	EXPECT_EQ(2, emu_stat(&self->emu, "manifests"));
	free(f);
}

/* policy suffix: 0xffff in idVendor or idProduct means any device. */
TEST_F(dfu, suffix_wildcard_ids_accepted)
{
	static const unsigned int ids[][2] = {
		{ 0xffff, 0xffff }, { EMU_VID, 0xffff }, { 0xffff, EMU_PID },
	};
	unsigned int i;

	for (i = 0; i < 3; i++) {
		size_t len, plen = 500 + 100 * i;
		unsigned char *f = dfu_suffixed(self->payload, plen, ids[i][0], ids[i][1],
						0x0100, 0, &len);

		ASSERT_NE(NULL, f);
		EXPECT_EQ(0, flash_with(&self->emu, USB_DFU_COMMIT_SUFFIX, f, len,
					END_CLOSE, NULL)) {
			TH_LOG("suffix for %04x:%04x", ids[i][0], ids[i][1]);
		}
		EXPECT_TRUE(emu_has_image(&self->emu, self->payload, plen));
		free(f);
	}
	EXPECT_EQ(3, emu_stat(&self->emu, "manifests"));
}

/* policy suffix: an image without a suffix is refused by close and by fsync. */
TEST_F(dfu, suffix_missing_refused)
{
	ASSERT_EQ(0, write_attr(&self->emu, "commit", "suffix"));
	EXPECT_EQ(-EBADMSG, flash_buf(self->emu.node, self->payload, PLEN, 4096));
	expect_not_manifested(_metadata, &self->emu, 0);
	expect_result(_metadata, &self->emu, EBADMSG, "-EBADMSG");
	retry_works(_metadata, &self->emu, 104);

	EXPECT_EQ(-EBADMSG, flash_with(&self->emu, USB_DFU_COMMIT_SUFFIX, self->payload,
				       PLEN, END_FSYNC, NULL));
	expect_not_manifested(_metadata, &self->emu, 1);
	expect_result(_metadata, &self->emu, EBADMSG, "-EBADMSG");
	EXPECT_EQ(-EBADMSG, flash_with(&self->emu, USB_DFU_COMMIT_SUFFIX, self->payload,
				       PLEN, END_COMMIT, NULL));
	expect_not_manifested(_metadata, &self->emu, 1);
	retry_works(_metadata, &self->emu, 105);
}

/* policy suffix: an image cut short (its suffix cut) is never manifested. */
TEST_F(dfu, suffix_truncated_refused)
{
	size_t cuts[] = { 1, 4, 8, 15, 16, 100 }, len;
	unsigned char *f;
	unsigned int i;

	f = dfu_suffixed(self->payload, PLEN, EMU_VID, EMU_PID, 0x0100, 0, &len);
	ASSERT_NE(NULL, f);
	for (i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
		EXPECT_EQ(-EBADMSG, flash_with(&self->emu, USB_DFU_COMMIT_SUFFIX, f,
					       len - cuts[i], END_CLOSE, NULL)) {
			TH_LOG("%zu bytes cut", cuts[i]);
		}
		expect_not_manifested(_metadata, &self->emu, 0);
	}
	expect_result(_metadata, &self->emu, EBADMSG, "-EBADMSG");
	retry_works(_metadata, &self->emu, 106);
	free(f);
}

/* policy suffix: one corrupted byte (payload or dwCRC) fails the CRC. */
TEST_F(dfu, suffix_corrupted_refused)
{
	size_t offsets[] = { 0, 1500, PLEN - 1, PLEN + 4, PLEN + 14 }, len;
	unsigned char *f;
	unsigned int i;

	f = dfu_suffixed(self->payload, PLEN, EMU_VID, EMU_PID, 0x0100, 0, &len);
	ASSERT_NE(NULL, f);
	for (i = 0; i < sizeof(offsets) / sizeof(offsets[0]); i++) {
		f[offsets[i]] ^= 0x10;
		EXPECT_EQ(-EBADMSG, flash_with(&self->emu, USB_DFU_COMMIT_SUFFIX, f,
					       len, END_CLOSE, NULL)) {
			TH_LOG("byte %zu corrupted", offsets[i]);
		}
		f[offsets[i]] ^= 0x10;
		expect_not_manifested(_metadata, &self->emu, 0);
	}
	expect_result(_metadata, &self->emu, EBADMSG, "-EBADMSG");
	retry_works(_metadata, &self->emu, 107);
	/* the uncorrupted file still goes */
	ASSERT_EQ(0, flash_with(&self->emu, USB_DFU_COMMIT_SUFFIX, f, len, END_CLOSE, NULL));
	EXPECT_TRUE(emu_has_image(&self->emu, self->payload, PLEN));
	free(f);
}

/* policy suffix: a valid suffix naming another device: EMEDIUMTYPE. */
TEST_F(dfu, suffix_other_device_refused)
{
	static const unsigned int ids[][2] = {
		{ 0x1234, 0x4321 }, { EMU_VID, 0x0001 }, { 0x0483, EMU_PID },
	};
	unsigned int i;
	size_t len;

	for (i = 0; i < 3; i++) {
		unsigned char *f = dfu_suffixed(self->payload, PLEN, ids[i][0], ids[i][1],
						0x0100, 0, &len);

		ASSERT_NE(NULL, f);
		EXPECT_EQ(-EMEDIUMTYPE, flash_with(&self->emu, USB_DFU_COMMIT_SUFFIX, f,
						   len, i ? END_CLOSE : END_FSYNC, NULL)) {
			TH_LOG("suffix for %04x:%04x", ids[i][0], ids[i][1]);
		}
		expect_not_manifested(_metadata, &self->emu, 0);
		free(f);
	}
	expect_result(_metadata, &self->emu, EMEDIUMTYPE, "-EMEDIUMTYPE");
	retry_works(_metadata, &self->emu, 108);
}

/*
 * A run-time device (1209:a001) detached by the driver comes back in DFU
 * mode as 1209:a002: runtime_id names the run-time IDs, and a suffix with
 * either pair is this device's. A device that was never detached has no
 * run-time IDs, so an image for the device that was there before is refused.
 */
TEST(suffix_runtime_ids_accepted)
{
	unsigned char payload[PLEN], *f;
	char buf[32];
	size_t len;
	struct emu e;

	fill_pattern(payload, sizeof(payload), 109);
	ASSERT_EQ(0, emu_start(&e, "--runtime", "--pid", "a001", "--dfu-pid", "a002",
			       "--transfer-size", "64", "--detach-timeout", "2000", NULL));
	ASSERT_EQ(0, emu_detach(&e, 0));
	ASSERT_EQ(0, read_attr(&e, "runtime_id", buf, sizeof(buf)));
	EXPECT_EQ(0, strcasecmp(buf, "1209:a001")) {
		TH_LOG("runtime_id '%s'", buf);
	}

	f = dfu_suffixed(payload, PLEN, EMU_VID, 0xa001, 0x0100, 0, &len);
	ASSERT_NE(NULL, f);
	EXPECT_EQ(0, flash_with(&e, USB_DFU_COMMIT_SUFFIX, f, len, END_CLOSE, NULL));
	EXPECT_TRUE(emu_has_image(&e, payload, PLEN));
	free(f);
	f = dfu_suffixed(payload, 2000, EMU_VID, 0xa002, 0x0100, 0, &len);
	ASSERT_NE(NULL, f);
	EXPECT_EQ(0, flash_with(&e, USB_DFU_COMMIT_SUFFIX, f, len, END_CLOSE, NULL));
	EXPECT_TRUE(emu_has_image(&e, payload, 2000));
	free(f);
	f = dfu_suffixed(payload, 1000, EMU_VID, 0xa003, 0x0100, 0, &len);
	ASSERT_NE(NULL, f);
	EXPECT_EQ(-EMEDIUMTYPE, flash_with(&e, USB_DFU_COMMIT_SUFFIX, f, len,
					   END_CLOSE, NULL));
	EXPECT_EQ(2, emu_stat(&e, "manifests"));
	free(f);
	emu_stop(&e);

	/* another device on the same port, never detached */
	ASSERT_EQ(0, emu_start(&e, "--transfer-size", "64", NULL));
	ASSERT_EQ(0, read_attr(&e, "runtime_id", buf, sizeof(buf)));
	EXPECT_STREQ("", buf);
	f = dfu_suffixed(payload, PLEN, EMU_VID, 0xa001, 0x0100, 0, &len);
	ASSERT_NE(NULL, f);
	EXPECT_EQ(-EMEDIUMTYPE, flash_with(&e, USB_DFU_COMMIT_SUFFIX, f, len,
					   END_CLOSE, NULL));
	EXPECT_EQ(0, emu_stat(&e, "manifests"));
	free(f);
	emu_stop(&e);
}

/*
 * A DfuSe file (prefix "DfuSe", bVersion 1) written to a plain DFU device:
 * EMEDIUMTYPE, and not one DFU_DNLOAD reaches the device.
 */
TEST_F(dfu, dfuse_prefix_never_sent)
{
	unsigned char f[64 * 20];

	fill_pattern(f, sizeof(f), 110);
	memcpy(f, "DfuSe\x01", 6);
	f[6] = sizeof(f) & 0xff;	/* DFUImageSize, little endian */
	f[7] = sizeof(f) >> 8;
	f[8] = 0;
	f[9] = 0;
	f[10] = 1;			/* bTargets */
	EXPECT_EQ(-EMEDIUMTYPE, flash_buf(self->emu.node, f, sizeof(f), sizeof(f)));
	expect_not_manifested(_metadata, &self->emu, 0);
	expect_result(_metadata, &self->emu, EMEDIUMTYPE, "-EMEDIUMTYPE");
	/* small writes, and cat */
	EXPECT_EQ(-EMEDIUMTYPE, flash_buf(self->emu.node, f, sizeof(f), 3));
	ASSERT_EQ(0, write_file(IMG_PATH, f, sizeof(f)));
	EXPECT_NE(0, run_sh("cat %s > %s 2>/dev/null", IMG_PATH, self->emu.node));
	EXPECT_EQ(-EMEDIUMTYPE, flash_with(&self->emu, USB_DFU_COMMIT_EXPLICIT, f,
					   sizeof(f), END_FSYNC, NULL));
	expect_not_manifested(_metadata, &self->emu, 0);
	retry_works(_metadata, &self->emu, 111);
	emu_stop(&self->emu);
	/* only the retry's 47 blocks and its zero-length DFU_DNLOAD */
	EXPECT_EQ(48, emu_stat(&self->emu, "dnload_requests"));
}

/* A stream ending in a suffix with bcdDFU 0x011a (DfuSe): EMEDIUMTYPE. */
TEST_F(dfu, dfuse_suffix_refused)
{
	unsigned char *f;
	size_t len;

	f = dfu_suffixed(self->payload, PLEN, EMU_VID, EMU_PID, 0x011a, 0, &len);
	ASSERT_NE(NULL, f);
	EXPECT_EQ(-EMEDIUMTYPE, flash_buf(self->emu.node, f, len, 4096));
	expect_not_manifested(_metadata, &self->emu, 0);
	expect_result(_metadata, &self->emu, EMEDIUMTYPE, "-EMEDIUMTYPE");
	EXPECT_EQ(-EMEDIUMTYPE, flash_with(&self->emu, USB_DFU_COMMIT_SUFFIX, f, len,
					   END_FSYNC, NULL));
	expect_not_manifested(_metadata, &self->emu, 0);
	EXPECT_EQ(-EMEDIUMTYPE, flash_with(&self->emu, USB_DFU_COMMIT_EXPLICIT, f, len,
					   END_COMMIT, NULL));
	expect_not_manifested(_metadata, &self->emu, 0);
	retry_works(_metadata, &self->emu, 112);
	free(f);
}

/*
 * A child opens the node, writes len bytes of img and ends as how says:
 * 'e' exit(status) without close, 'x' _exit(status) without close.
 * Returns the wait status.
 */
static int child_writes(struct emu *e, const unsigned char *img, size_t len,
			char how, int status)
{
	pid_t pid = fork();
	int ws;

	if (pid < 0)
		return -1;
	if (!pid) {
		int fd = open(e->node, O_WRONLY);
		size_t done = 0;

		if (fd < 0)
			_exit(100);
		while (done < len) {
			ssize_t n = write(fd, img + done, len - done);

			if (n < 0)
				_exit(101);
			done += n;
		}
		if (how == 'e')
			exit(status);
		_exit(status);
	}
	if (waitpid(pid, &ws, 0) != pid)
		return -1;
	return ws;
}

/* exit(1) / _exit(1) without close after half an image: not manifested, EINTR. */
TEST_F(dfu, exit_nonzero_mid_image)
{
	int ws;

	ws = child_writes(&self->emu, self->payload, PLEN / 2, 'x', 1);
	ASSERT_TRUE(WIFEXITED(ws));
	ASSERT_EQ(1, WEXITSTATUS(ws));
	expect_not_manifested(_metadata, &self->emu, 0);
	expect_result(_metadata, &self->emu, EINTR, "-EINTR");
	retry_works(_metadata, &self->emu, 113);

	/* exit(2) with the whole image written: still not committed */
	ws = child_writes(&self->emu, self->payload, PLEN, 'e', 2);
	ASSERT_TRUE(WIFEXITED(ws));
	ASSERT_EQ(2, WEXITSTATUS(ws));
	expect_not_manifested(_metadata, &self->emu, 1);
	expect_result(_metadata, &self->emu, EINTR, "-EINTR");
	/*
	 * busybox cat with a source it cannot read: it wrote the first file
	 * and exits 1 without closing (GNU cat closes stdout in an atexit
	 * handler, a close() like any other).
	 */
	ASSERT_EQ(0, write_file(IMG_PATH, self->payload, 1000));
	EXPECT_EQ(1, run_sh("busybox cat %s /nonexistent > %s 2>/dev/null", IMG_PATH,
			    self->emu.node));
	expect_not_manifested(_metadata, &self->emu, 1);
	expect_result(_metadata, &self->emu, EINTR, "-EINTR");
	retry_works(_metadata, &self->emu, 114);
}

/* exit(0) without close (busybox cat): the image is committed. */
TEST_F(dfu, exit_zero_without_close_commits)
{
	int ws;

	ws = child_writes(&self->emu, self->payload, PLEN, 'e', 0);
	ASSERT_TRUE(WIFEXITED(ws));
	ASSERT_EQ(0, WEXITSTATUS(ws));
	EXPECT_TRUE(emu_has_image(&self->emu, self->payload, PLEN));
	EXPECT_TRUE(last_result_is(&self->emu, "ok 3000"));
	cat_manifests_second(_metadata, &self->emu, "busybox cat", 2222, 115);
}

/*
 * A writer killed by sig in the middle of a long write(): nothing is
 * manifested, the result is -EINTR, and a retry works.
 */
static void killed_mid_stream(struct __test_metadata *_metadata, int sig)
{
	size_t len = 2000 * 64;
	unsigned char *img = malloc(len);
	struct usb_dfu_status st;
	int ws, pfd[2];
	struct emu e;
	pid_t pid;
	char c;

	ASSERT_NE(NULL, img);
	fill_pattern(img, len, 116);
	ASSERT_EQ(0, pipe(pfd));
	ASSERT_EQ(0, emu_start(&e, "--transfer-size", "64", "--poll-ms", "5", NULL));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		int fd = open(e.node, O_WRONLY);

		signal(sig, SIG_DFL);
		if (fd < 0 || write(fd, img, 4 * 64) != 4 * 64)
			_exit(100);
		if (write(pfd[1], "x", 1) != 1)
			_exit(101);
		/* the rest in one write(), which the signal interrupts */
		if (write(fd, img + 4 * 64, len - 4 * 64) < 0)
			_exit(102);
		_exit(103);
	}
	close(pfd[1]);
	ASSERT_EQ(1, read(pfd[0], &c, 1));
	close(pfd[0]);
	usleep(200 * 1000);
	kill(pid, sig);
	ASSERT_EQ(pid, waitpid(pid, &ws, 0));
	ASSERT_TRUE(WIFSIGNALED(ws)) {
		TH_LOG("child status 0x%x", ws);
	}
	EXPECT_EQ(sig, WTERMSIG(ws));
	EXPECT_EQ(0, emu_stat(&e, "manifests"));
	EXPECT_NE(0, access(emu_image_path(&e), F_OK));
	/* DFU_ABORT only where DFU 1.1 allows it: the device is in dfuIDLE */
	ASSERT_EQ(0, node_ioctl(&e, USB_DFU_IOCTL_GET_STATUS, &st));
	EXPECT_EQ(USB_DFU_STATE_DFU_IDLE, st.bState) {
		TH_LOG("after signal %d: bState %u bStatus %u", sig, st.bState, st.bStatus);
	}
	expect_result(_metadata, &e, EINTR, "-EINTR");
	retry_works(_metadata, &e, 117);
	emu_stop(&e);
	free(img);
}

TEST(sigkill_mid_stream)
{
	killed_mid_stream(_metadata, SIGKILL);
}

TEST(sigterm_mid_stream)
{
	killed_mid_stream(_metadata, SIGTERM);
}

/*
 * Killed while the device manifests a whole image (the zero-length
 * DFU_DNLOAD has gone out): the image stands, and the result says so,
 * success but unverified, not "nothing manifested". The writer dies at
 * once, and the next flash waits out the device's bwPollTimeout.
 */
TEST(killed_while_manifesting)
{
	unsigned char img[10 * 64];
	struct usb_dfu_result r;
	long long t;
	struct emu e;
	int ws;
	pid_t pid;

	fill_pattern(img, sizeof(img), 118);
	ASSERT_EQ(0, emu_start(&e, "--transfer-size", "64",
			       "--manifest-poll-ms", "3000", NULL));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		int fd = open(e.node, O_WRONLY);

		if (fd < 0 || write(fd, img, sizeof(img)) != sizeof(img))
			_exit(100);
		close(fd);	/* commits, and waits in dfuMANIFEST */
		_exit(101);
	}
	ASSERT_EQ(1, emu_wait_stat(&e, "manifests", 1, 5000));
	sleep_ms(300);
	t = now_us();
	kill(pid, SIGKILL);
	ASSERT_EQ(pid, waitpid(pid, &ws, 0));
	EXPECT_TRUE(WIFSIGNALED(ws) && WTERMSIG(ws) == SIGKILL) {
		TH_LOG("child status 0x%x", ws);
	}
	EXPECT_GT(1000, ms_since(t));
	ASSERT_EQ(0, get_result(&e, &r));
	EXPECT_EQ(0, r.error);
	EXPECT_EQ((__u32)USB_DFU_RESULT_UNVERIFIED, r.flags & USB_DFU_RESULT_UNVERIFIED);
	EXPECT_EQ(sizeof(img), r.bytes);
	EXPECT_TRUE(last_result_is(&e, "unverified 640"));
	EXPECT_TRUE(emu_has_image(&e, img, sizeof(img)));
	/* the device is still in dfuMANIFEST: the retry waits, then flashes */
	fill_pattern(img, sizeof(img), 119);
	EXPECT_EQ(0, flash_buf(e.node, img, sizeof(img), sizeof(img)));
	EXPECT_EQ(2, emu_stat(&e, "manifests"));
	EXPECT_TRUE(emu_has_image(&e, img, sizeof(img)));
	emu_stop(&e);
}

/*
 * Not manifestation tolerant, and the device stalls every request after
 * the zero-length DFU_DNLOAD: the image went whole, so fsync() and close()
 * succeed, but the result says unverified, and so does the log.
 */
TEST(unverified_stall_after_end)
{
	unsigned char img[PLEN];
	struct usb_dfu_result r;
	struct emu e;

	fill_pattern(img, sizeof(img), 118);
	ASSERT_EQ(0, emu_start(&e, "--transfer-size", "64", "--attrs", "0x03",
			       "--stall-manifest", NULL));
	ASSERT_EQ(0, run_sh("echo 'dfu-test: mark unverified-stall' > /dev/kmsg"));
	ASSERT_EQ(0, flash_with(&e, -1, img, sizeof(img), END_FSYNC, &r));
	EXPECT_EQ(0, r.error);
	EXPECT_EQ((__u64)PLEN, r.bytes);
	EXPECT_EQ((__u32)USB_DFU_RESULT_UNVERIFIED, r.flags);
	EXPECT_TRUE(emu_has_image(&e, img, sizeof(img)));
	EXPECT_EQ(0, emu_wait_mode(&e, "dfu", 5000));
	EXPECT_TRUE(last_result_is(&e, "unverified 3000"));
	EXPECT_EQ(0, run_sh("dmesg | sed -n '/dfu-test: mark unverified-stall$/,$p' |"
			    " grep -q unverified"));

	/* with close(), and again: the device takes the next image */
	fill_pattern(img, sizeof(img), 119);
	EXPECT_EQ(0, emu_wait_mode(&e, "dfu", 5000));
	ASSERT_EQ(0, flash_buf(e.node, img, sizeof(img), 4096));
	EXPECT_TRUE(emu_has_image(&e, img, sizeof(img)));
	EXPECT_EQ(2, emu_stat(&e, "manifests"));
	ASSERT_EQ(0, get_result(&e, &r));
	EXPECT_EQ((__u32)USB_DFU_RESULT_UNVERIFIED, r.flags);
	EXPECT_TRUE(last_result_is(&e, "unverified 3000"));
	emu_stop(&e);
}

/*
 * Not manifestation tolerant, and the device leaves the bus once it
 * enters dfuMANIFEST (STM32 ROM): close() succeeds, the log says
 * unverified, and the device that comes back takes the next image.
 */
TEST(unverified_device_leaves)
{
	unsigned char img[PLEN];
	struct usb_dfu_result r;
	struct emu e;
	long devnum;
	int fd;

	fill_pattern(img, sizeof(img), 120);
	ASSERT_EQ(0, emu_start(&e, "--transfer-size", "64", "--attrs", "0x03",
			       "--leave-after-manifest", NULL));
	ASSERT_EQ(0, run_sh("echo 'dfu-test: mark unverified-leave' > /dev/kmsg"));
	devnum = emu_devnum(&e);
	ASSERT_LT(0, devnum);
	ASSERT_EQ(0, flash_buf(e.node, img, sizeof(img), 4096));
	EXPECT_TRUE(emu_has_image(&e, img, sizeof(img)));
	ASSERT_EQ(0, emu_wait_reenumerated(&e, devnum, 10000));
	EXPECT_EQ(0, run_sh("dmesg | sed -n '/dfu-test: mark unverified-leave$/,$p' |"
			    " grep -q unverified"));

	/* fsync, then the result of the same file if the node is still there */
	fill_pattern(img, sizeof(img), 121);
	devnum = emu_devnum(&e);
	fd = open(e.node, O_WRONLY);
	ASSERT_LE(0, fd);
	ASSERT_EQ(PLEN, write(fd, img, PLEN));
	EXPECT_EQ(0, fsync(fd));
	if (ioctl(fd, USB_DFU_IOCTL_GET_RESULT, &r)) {
		EXPECT_EQ(ENODEV, errno);
	} else {
		EXPECT_EQ(0, r.error);
		EXPECT_EQ((__u32)USB_DFU_RESULT_UNVERIFIED, r.flags);
	}
	close(fd);
	EXPECT_TRUE(emu_has_image(&e, img, sizeof(img)));
	EXPECT_EQ(2, emu_stat(&e, "manifests"));
	EXPECT_EQ(0, emu_wait_reenumerated(&e, devnum, 10000));
	emu_stop(&e);
}

TEST_HARNESS_MAIN
