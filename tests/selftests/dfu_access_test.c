// SPDX-License-Identifier: GPL-2.0
/*
 * dfu_access_test - who may do what with /dev/dfuN, and when (issue 10):
 * the target of each open file, the ioctls that need write access, two
 * threads ending one image, calls that must not wait behind a transfer,
 * sysfs that sends nothing, signals that are not fatal, killable and
 * unplug-aware poll waits, a bwPollTimeout past busy_timeout_ms (the
 * full wait itself is dfu_stress_test's ten_second_poll), validated module
 * parameters, busy stalls counted in a row, stream semantics and
 * autosuspend.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
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

#define IMG_PATH	"/tmp/access-image.bin"
/* what a call that must not wait behind a transfer may take (TCG is slow) */
#define QUICK_MS	200

/*
 * write() all of buf as a careful program does: again after EINTR and short
 * counts (but not for ever when no byte goes through).
 */
static int write_all(int fd, const unsigned char *buf, size_t len, int *shorts, int *eintrs)
{
	size_t done = 0;
	int in_a_row = 0;

	while (done < len) {
		ssize_t n = write(fd, buf + done, len - done);

		if (n < 0 && errno == EINTR && ++in_a_row < 1000) {
			if (eintrs)
				++*eintrs;
			continue;
		}
		in_a_row = 0;
		if (n < 0)
			return -errno;
		if ((size_t)n < len - done && shorts)
			++*shorts;
		done += n;
	}
	return 0;
}

static int info_of(int fd, struct usb_dfu_info *info)
{
	memset(info, 0xee, sizeof(*info));
	return ioctl(fd, USB_DFU_IOCTL_GET_INFO, info) ? -errno : 0;
}

/* bAlternateSetting that GET_INFO reports for fd, or -errno. */
static int alt_of(int fd)
{
	struct usb_dfu_info info;
	int ret = info_of(fd, &info);

	return ret ? ret : info.bAlternateSetting;
}

static int set_alt(int fd, __u32 alt)
{
	return ioctl(fd, USB_DFU_IOCTL_SET_ALT, &alt) ? -errno : 0;
}

/* Is the child still running? If not, *status gets its exit status. */
static int running(pid_t pid, int *status)
{
	return waitpid(pid, status, WNOHANG) == 0;
}

/* The USB device's sysfs directory (the parent of the DFU interface). */
static void usbdev_path(struct emu *e, const char *file, char *buf, size_t len)
{
	snprintf(buf, len, "%s/device/../%s", e->sysfs, file);
}

/* Module parameters a test changes are put back even when it fails. */
FIXTURE(access) {
	char ctrl[32], busy[32];
};

FIXTURE_SETUP(access)
{
	ASSERT_EQ(0, get_param("ctrl_timeout_ms", self->ctrl, sizeof(self->ctrl)));
	ASSERT_EQ(0, get_param("busy_timeout_ms", self->busy, sizeof(self->busy)));
}

FIXTURE_TEARDOWN(access)
{
	set_param("ctrl_timeout_ms", self->ctrl);
	set_param("busy_timeout_ms", self->busy);
}

/*
 * The target belongs to the open file: A chooses alt 1; B (another
 * process, read-only) chooses alt 0, writes 0 to sysfs alt and even
 * uploads from alt 0; A's image still lands in alt 1. A new open starts at
 * sysfs alt; writing sysfs alt changes no open file.
 */
TEST_F_TIMEOUT(access, target_per_file, 60)
{
	size_t len = 5 * 64 + 17;
	unsigned char *img = make_pattern_file(IMG_PATH, len, 1);
	char path[128], buf[16];
	int fa, fc, fd, status;
	unsigned char *up;
	long setif;
	struct emu e;
	size_t got;
	ssize_t n;
	pid_t pid;

	ASSERT_NE(NULL, img);
	ASSERT_EQ(0, emu_start(&e, "--alts", "2", "--transfer-size", "64", NULL));
	setif = emu_stat(&e, "set_interface");
	ASSERT_LE(0, setif);
	snprintf(path, sizeof(path), "%s/alt", e.sysfs);
	fa = open(e.node, O_WRONLY);
	ASSERT_LE(0, fa);
	EXPECT_EQ(0, alt_of(fa));
	ASSERT_EQ(0, set_alt(fa, 1));
	EXPECT_EQ(1, alt_of(fa));
	EXPECT_EQ(-EINVAL, set_alt(fa, 2));
	EXPECT_EQ(1, alt_of(fa));

	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		int fb = open(e.node, O_RDONLY);
		char c;

		if (fb < 0)
			_exit(10);
		if (set_alt(fb, 1) || set_alt(fb, 0) || alt_of(fb) != 0)
			_exit(11);	/* SET_ALT is allowed read-only */
		if (write_sysfs(path, "1") || write_sysfs(path, "0"))
			_exit(12);
		/* neither sent anything: no one is disturbed */
		if (emu_stat(&e, "set_interface") != setif)
			_exit(15);
		if (read(fb, &c, 1) != 0)	/* an upload of alt 0 (empty) */
			_exit(13);
		_exit(close(fb) ? 14 : 0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status));
	EXPECT_EQ(0, emu_stat(&e, "alt"));	/* B's upload selected alt 0 */
	EXPECT_EQ(1, alt_of(fa));

	ASSERT_EQ(0, write_all(fa, img, len, NULL, NULL));
	EXPECT_EQ(0, close(fa));
	EXPECT_EQ(1, emu_stat(&e, "manifests"));
	EXPECT_EQ(1, emu_stat(&e, "manifest_alt"));
	EXPECT_TRUE(emu_has_image(&e, img, len));

	/* new opens start at sysfs alt; open files keep theirs */
	ASSERT_EQ(0, read_attr(&e, "alt", buf, sizeof(buf)));
	EXPECT_STREQ("0", buf);
	fd = open(e.node, O_RDONLY);
	ASSERT_LE(0, fd);
	EXPECT_EQ(0, alt_of(fd));
	ASSERT_EQ(0, write_sysfs(path, "1"));
	EXPECT_EQ(0, alt_of(fd));
	fc = open(e.node, O_RDONLY);
	ASSERT_LE(0, fc);
	EXPECT_EQ(1, alt_of(fc));
	EXPECT_EQ(0, set_alt(fc, 0));
	EXPECT_EQ(0, alt_of(fc));
	ASSERT_EQ(0, read_attr(&e, "alt", buf, sizeof(buf)));
	EXPECT_STREQ("1", buf);
	close(fc);
	close(fd);

	/* and a writer that takes the default writes to it */
	fd = open(e.node, O_WRONLY);
	ASSERT_LE(0, fd);
	EXPECT_EQ(1, alt_of(fd));
	img[0] ^= 0xff;
	ASSERT_EQ(0, write_all(fd, img, len, NULL, NULL));
	EXPECT_EQ(0, close(fd));
	EXPECT_EQ(2, emu_stat(&e, "manifests"));
	EXPECT_EQ(1, emu_stat(&e, "manifest_alt"));
	EXPECT_TRUE(emu_has_image(&e, img, len));

	/* a reader's upload uses its own target too (the emulator's alts
	 * share one memory) */
	fd = open(e.node, O_RDONLY);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, set_alt(fd, 0));
	up = malloc(len + 1);
	ASSERT_NE(NULL, up);
	got = 0;
	while ((n = read(fd, up + got, len + 1 - got)) > 0)
		got += n;
	EXPECT_EQ(0, n);
	EXPECT_EQ(len, got);
	EXPECT_EQ(0, memcmp(up, img, len));
	close(fd);
	free(up);
	EXPECT_EQ(0, emu_stat(&e, "alt"));
	emu_stop(&e);
	free(img);
}

/* The ioctl's errno, or 0. */
static int try_ioctl(int fd, unsigned long req)
{
	__u32 arg = 0;
	union {
		struct usb_dfu_status st;
		struct usb_dfu_info info;
		struct usb_dfu_result r;
		__u8 state;
	} out;

	switch (req) {
	case USB_DFU_IOCTL_GET_STATUS:
	case USB_DFU_IOCTL_GET_STATE:
	case USB_DFU_IOCTL_GET_INFO:
	case USB_DFU_IOCTL_GET_RESULT:
		return ioctl(fd, req, &out) ? errno : 0;
	case USB_DFU_IOCTL_DETACH:
	case USB_DFU_IOCTL_SET_ALT:
	case USB_DFU_IOCTL_SET_COMMIT:
		return ioctl(fd, req, &arg) ? errno : 0;
	default:
		return ioctl(fd, req) ? errno : 0;
	}
}

/* Lose CAP_SYS_ADMIN (and every other capability): become alice. */
static int become_user(void)
{
	return setresgid(1000, 1000, 1000) || setresuid(1000, 1000, 1000) ? -1 : 0;
}

/*
 * A user without CAP_SYS_ADMIN holding a read-only descriptor (opened by
 * root before the user dropped its rights, as a daemon passing it on would)
 * can read status but cannot change the device: ABORT, CLR_STATUS, DETACH
 * and RESET fail with EPERM and nothing is sent; SET_COMMIT and COMMIT
 * need a writer (EBADF). A descriptor opened for writing may; root may on
 * any descriptor.
 */
TEST_F_TIMEOUT(access, state_changes_need_write_access, 60)
{
	char buf[32];
	struct emu e;
	int status, fd;
	long resets;
	pid_t pid;

	/* DFU mode, in dfuERROR so that CLR_STATUS would send DFU_CLRSTATUS */
	ASSERT_EQ(0, emu_start(&e, "--transfer-size", "64", "--start-error", "10", NULL));
	resets = emu_stat(&e, "resets");	/* those of enumeration */
	ASSERT_LE(0, resets);
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		int ro = open(e.node, O_RDONLY), rw = open(e.node, O_RDWR);
		static const unsigned long denied[] = {
			USB_DFU_IOCTL_ABORT, USB_DFU_IOCTL_CLR_STATUS, USB_DFU_IOCTL_RESET,
		};
		static const unsigned long allowed[] = {
			USB_DFU_IOCTL_GET_STATUS, USB_DFU_IOCTL_GET_STATE,
			USB_DFU_IOCTL_GET_INFO, USB_DFU_IOCTL_GET_RESULT, USB_DFU_IOCTL_SET_ALT,
		};
		unsigned int i;
		int err;

		if (ro < 0 || rw < 0 || become_user())
			_exit(100);
		for (i = 0; i < sizeof(denied) / sizeof(denied[0]); i++) {
			err = try_ioctl(ro, denied[i]);
			if (err != EPERM) {
				printf("# read-only ioctl 0x%lx as uid 1000: %s\n", denied[i],
				       strerror(err));
				_exit(1 + i);
			}
		}
		for (i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++) {
			err = try_ioctl(ro, allowed[i]);
			if (err) {
				printf("# read-only ioctl 0x%lx as uid 1000: %s\n", allowed[i],
				       strerror(err));
				_exit(10 + i);
			}
		}
		if (try_ioctl(ro, USB_DFU_IOCTL_SET_COMMIT) != EBADF)
			_exit(20);
		if (try_ioctl(ro, USB_DFU_IOCTL_COMMIT) != EBADF)
			_exit(21);
		close(ro);
		/* the same user with a descriptor opened for writing */
		err = try_ioctl(rw, USB_DFU_IOCTL_CLR_STATUS);
		if (err) {
			printf("# CLR_STATUS on O_RDWR as uid 1000: %s\n", strerror(err));
			_exit(30);
		}
		_exit(close(rw) ? 31 : 0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	EXPECT_EQ(1, emu_stat(&e, "clrstatus"));	/* only the writer's */
	EXPECT_EQ(0, emu_stat(&e, "aborts"));
	EXPECT_EQ(resets, emu_stat(&e, "resets"));
	/* root (CAP_SYS_ADMIN) may abort on a read-only descriptor */
	fd = open(e.node, O_RDONLY);
	ASSERT_LE(0, fd);
	EXPECT_EQ(0, try_ioctl(fd, USB_DFU_IOCTL_ABORT));
	close(fd);
	EXPECT_EQ(1, emu_wait_stat(&e, "aborts", 1, 2000));
	emu_stop(&e);

	/* run-time mode: DETACH and RESET would take the device away */
	ASSERT_EQ(0, emu_start(&e, "--runtime", "--transfer-size", "64", NULL));
	resets = emu_stat(&e, "resets");
	ASSERT_LE(0, resets);
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		int ro = open(e.node, O_RDONLY);

		if (ro < 0 || become_user())
			_exit(100);
		if (try_ioctl(ro, USB_DFU_IOCTL_DETACH) != EPERM)
			_exit(1);
		if (try_ioctl(ro, USB_DFU_IOCTL_RESET) != EPERM)
			_exit(2);
		if (try_ioctl(ro, USB_DFU_IOCTL_GET_STATUS) || try_ioctl(ro, USB_DFU_IOCTL_GET_INFO))
			_exit(3);
		_exit(close(ro) ? 4 : 0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	sleep_ms(300);
	EXPECT_EQ(0, emu_stat(&e, "detaches"));
	EXPECT_EQ(resets, emu_stat(&e, "resets"));
	EXPECT_EQ(0, access(e.node, F_OK));
	ASSERT_EQ(0, read_attr(&e, "mode", buf, sizeof(buf)));
	EXPECT_STREQ("runtime", buf);
	emu_stop(&e);
}

struct racer {
	pthread_barrier_t *start;
	int fd;
	int fsync;		/* else write() buf */
	const unsigned char *buf;
	size_t len;
	int delay_us;
	ssize_t ret;
	int err;
};

static void *race(void *arg)
{
	struct racer *r = arg;

	pthread_barrier_wait(r->start);
	if (r->delay_us)
		usleep(r->delay_us);
	r->ret = r->fsync ? fsync(r->fd) : write(r->fd, r->buf, r->len);
	r->err = r->ret < 0 ? errno : 0;
	return NULL;
}

/* Does the device hold exactly a then b? Quietly. */
static int image_is(struct emu *e, const unsigned char *a, size_t alen,
		    const unsigned char *b, size_t blen)
{
	size_t got_len;
	unsigned char *got = read_file(emu_image_path(e), &got_len);
	int same = got && got_len == alen + blen && !memcmp(got, a, alen) &&
		   !memcmp(got + alen, b, blen);

	free(got);
	return same;
}

/*
 * Two threads, one file: A's fsync() sends the held-back tail (up to 255
 * bytes, several 64-byte blocks) and manifests; B's write() or fsync()
 * comes at a random moment. B gets EBUSY while A's commit runs, or runs
 * wholly before or after it: the device never manifests a cut image.
 */
TEST_F_TIMEOUT(access, commit_races_second_thread, 120)
{
	enum { ROUNDS = 16 };
	size_t ilen_max = 20 * 64 + 64, jlen = 3 * 64 + 5;
	unsigned char *img = malloc(ilen_max), *more = malloc(jlen);
	unsigned int round, busy[2] = { 0, 0 }, after[2] = { 0, 0 };
	long manifests = 0, m1, m2;
	struct emu e;
	int second_fsync;

	ASSERT_NE(NULL, img);
	ASSERT_NE(NULL, more);
	ASSERT_EQ(0, emu_start(&e, "--transfer-size", "64", "--poll-ms", "1", NULL));
	srand(4242);
	for (second_fsync = 0; second_fsync < 2; second_fsync++) {
		for (round = 0; round < ROUNDS; round++) {
			size_t ilen = 20 * 64 + 1 + rand() % 63;
			pthread_barrier_t start;
			struct racer a, b;
			pthread_t ta, tb;
			int fd, ok;

			fill_pattern(img, ilen, 100 + round + 50 * second_fsync);
			fill_pattern(more, jlen, 200 + round + 50 * second_fsync);
			fd = open(e.node, O_WRONLY);
			ASSERT_LE(0, fd);
			ASSERT_EQ(0, write_all(fd, img, ilen, NULL, NULL));
			pthread_barrier_init(&start, NULL, 2);
			a = (struct racer){ .start = &start, .fd = fd, .fsync = 1 };
			b = (struct racer){ .start = &start, .fd = fd, .fsync = second_fsync,
					    .buf = more, .len = jlen,
					    .delay_us = rand() % 15000 };
			ASSERT_EQ(0, pthread_create(&ta, NULL, race, &a));
			ASSERT_EQ(0, pthread_create(&tb, NULL, race, &b));
			pthread_join(ta, NULL);
			pthread_join(tb, NULL);
			pthread_barrier_destroy(&start);
			m1 = emu_stat(&e, "manifests");
			ok = !a.err || a.err == EBUSY;
			ok &= !b.err || b.err == EBUSY;
			ok &= second_fsync || b.ret < 0 || (size_t)b.ret == jlen;
			EXPECT_TRUE(ok) {
				TH_LOG("round %u: fsync %zd (%s), %s %zd (%s)", round, a.ret,
				       strerror(a.err), second_fsync ? "fsync" : "write", b.ret,
				       strerror(b.err));
			}
			EXPECT_EQ(0, close(fd));
			m2 = emu_stat(&e, "manifests");
			if (second_fsync) {
				/* one fsync manifests, the other finds nothing or EBUSY */
				ok = m1 == manifests + 1 && m2 == m1 &&
				     image_is(&e, img, ilen, NULL, 0);
				busy[1] += a.err == EBUSY || b.err == EBUSY;
			} else if (b.err == EBUSY) {
				/* the write was refused: the image is A's, whole */
				ok = m1 == manifests + 1 && m2 == m1 &&
				     image_is(&e, img, ilen, NULL, 0);
				busy[0]++;
			} else if (a.err == EBUSY) {
				/* fsync refused while the write ran: close commits both */
				ok = m1 == manifests && m2 == m1 + 1 &&
				     image_is(&e, img, ilen, more, jlen);
				busy[0]++;
			} else if (m2 == m1) {
				/* the write went first: A's fsync took both */
				ok = m1 == manifests + 1 && image_is(&e, img, ilen, more, jlen);
			} else {
				/* the write came after the commit: a new image, closed */
				ok = m1 == manifests + 1 && m2 == m1 + 1 &&
				     image_is(&e, more, jlen, NULL, 0);
				after[0]++;
			}
			EXPECT_TRUE(ok) {
				TH_LOG("%s round %u: manifests %ld -> %ld -> %ld, fsync %zd (%s), other %zd (%s)",
				       second_fsync ? "fsync" : "write", round, manifests, m1, m2,
				       a.ret, strerror(a.err), b.ret, strerror(b.err));
				emu_has_image(&e, img, ilen);
			}
			manifests = m2;
		}
	}
	ksft_print_msg("%u rounds each: write got EBUSY %u times (after the commit %u), second fsync %u times\n",
		       ROUNDS, busy[0], after[0], busy[1]);
	EXPECT_EQ(0, emu_stat(&e, "block_errors"));
	emu_stop(&e);
	free(img);
	free(more);
}

/*
 * A slow upload (20 ms per block) in one large read(): meanwhile another
 * open(), GET_INFO, GET_RESULT, close(), sysfs reads return at once and
 * GET_STATUS within a few blocks; the upload still reads the whole image.
 */
TEST_F_TIMEOUT(access, read_yields_device, 90)
{
	enum { BLOCKS = 128 };
	size_t len = BLOCKS * 64 + 10;
	unsigned char *img = make_pattern_file(IMG_PATH, len, 3);
	struct usb_dfu_status st;
	struct usb_dfu_result r;
	struct usb_dfu_info info;
	long long t0, t, worst = 0;
	char buf[128];
	struct emu e;
	int status, fd, i, still;
	pid_t pid;

	ASSERT_NE(NULL, img);
	ASSERT_EQ(0, emu_start(&e, "--transfer-size", "64", "--image", IMG_PATH,
			       "--upload-ms", "20", NULL));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		unsigned char *got = malloc(2 * len);
		size_t done = 0;
		int rfd = open(e.node, O_RDONLY);
		ssize_t n;

		if (rfd < 0 || !got)
			_exit(100);
		while ((n = read(rfd, got + done, 2 * len - done)) > 0)
			done += n;
		if (n < 0)
			_exit(101);
		if (done != len || memcmp(got, img, len))
			_exit(102);
		_exit(close(rfd) ? 103 : 0);
	}
	sleep_ms(500);
	t0 = now_us();
	for (i = 0; i < 3; i++) {
		t = now_us();
		fd = open(e.node, O_RDONLY);
		ASSERT_LE(0, fd);
		EXPECT_GT(QUICK_MS, ms_since(t)) TH_LOG("open()");
		t = now_us();
		EXPECT_EQ(0, info_of(fd, &info));
		EXPECT_GT(QUICK_MS, ms_since(t)) TH_LOG("GET_INFO");
		t = now_us();
		EXPECT_EQ(0, ioctl(fd, USB_DFU_IOCTL_GET_RESULT, &r));
		EXPECT_GT(QUICK_MS, ms_since(t)) TH_LOG("GET_RESULT");
		t = now_us();
		EXPECT_EQ(0, read_attr(&e, "last_result", buf, sizeof(buf)));
		EXPECT_EQ(0, read_attr(&e, "state", buf, sizeof(buf)));
		EXPECT_EQ(0, read_attr(&e, "alt", buf, sizeof(buf)));
		EXPECT_GT(QUICK_MS, ms_since(t)) TH_LOG("sysfs reads");
		t = now_us();
		EXPECT_EQ(0, ioctl(fd, USB_DFU_IOCTL_GET_STATUS, &st));
		if (ms_since(t) > worst)
			worst = ms_since(t);
		EXPECT_GT(300, ms_since(t)) TH_LOG("GET_STATUS");
		t = now_us();
		EXPECT_EQ(0, close(fd));
		EXPECT_GT(QUICK_MS, ms_since(t)) TH_LOG("close()");
		sleep_ms(100);
	}
	t = ms_since(t0);
	ksft_print_msg("three rounds of calls took %lld ms beside the upload; GET_STATUS at most %lld ms\n",
		       t, worst);
	/* the checks ran while the upload was going on */
	still = running(pid, &status);
	EXPECT_TRUE(still) TH_LOG("the upload ended before the checks did: make it slower");
	if (still)
		ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	emu_stop(&e);
	free(img);
}

/*
 * 200 reads each of sysfs state and status show state and status, and the
 * device sees no GETSTATUS or GETSTATE for them. Returns its GETSTATUS count.
 */
static long expect_sysfs_state_quiet(struct __test_metadata *_metadata, struct emu *e,
				     const char *state, const char *status)
{
	long gs = emu_stat(e, "getstatus"), gt = emu_stat(e, "getstate");
	char buf[64];
	int i;

	ASSERT_LE(0, gs);
	ASSERT_LE(0, gt);
	for (i = 0; i < 200; i++) {
		ASSERT_EQ(0, read_attr(e, "state", buf, sizeof(buf)));
		EXPECT_STREQ(state, buf);
		ASSERT_EQ(0, read_attr(e, "status", buf, sizeof(buf)));
		EXPECT_STREQ(status, buf);
	}
	sleep_ms(100);
	EXPECT_EQ(gs, emu_stat(e, "getstatus"));
	EXPECT_EQ(gt, emu_stat(e, "getstate"));
	return gs;
}

/*
 * sysfs state and status show the last answer the driver had and send
 * nothing: reading them many times moves no request counter of the
 * device. After a GET_STATUS ioctl they show its answer.
 */
TEST_F_TIMEOUT(access, sysfs_state_sends_nothing, 60)
{
	struct usb_dfu_status st;
	struct emu e;
	long gs;
	int fd;

	ASSERT_EQ(0, emu_start(&e, "--transfer-size", "64", "--start-error", "10", NULL));
	sleep_ms(200);
	expect_sysfs_state_quiet(_metadata, &e, "dfuERROR", "errFIRMWARE");

	/* leave dfuERROR: sysfs shows what the GET_STATUS ioctl saw */
	fd = open(e.node, O_WRONLY);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ioctl(fd, USB_DFU_IOCTL_CLR_STATUS));
	EXPECT_EQ(1, emu_wait_stat(&e, "clrstatus", 1, 2000));
	ASSERT_EQ(0, ioctl(fd, USB_DFU_IOCTL_GET_STATUS, &st));
	EXPECT_EQ(USB_DFU_STATE_DFU_IDLE, st.bState);
	EXPECT_EQ(USB_DFU_STATUS_OK, st.bStatus);
	close(fd);
	gs = expect_sysfs_state_quiet(_metadata, &e, "dfuIDLE", "OK");
	/* and a GET_STATUS ioctl is one request, seen by the device */
	fd = open(e.node, O_RDONLY);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ioctl(fd, USB_DFU_IOCTL_GET_STATUS, &st));
	close(fd);
	EXPECT_EQ(gs + 1, emu_wait_stat(&e, "getstatus", gs + 1, 2000));
	emu_stop(&e);
}

static volatile sig_atomic_t usr1_seen;

static void on_usr1(int sig)
{
	usr1_seen++;
}

enum { SIG_RESTART, SIG_NO_RESTART, SIG_STOP_CONT };

/*
 * Signals that do not kill the writer do not abort the image: SIGUSR1 with
 * a handler (SA_RESTART and without) over and over, and SIGSTOP/SIGCONT.
 * The writer goes on after EINTR and short counts; the image manifests
 * whole.
 */
TEST_F_TIMEOUT(access, nonfatal_signals_keep_the_image, 120)
{
	size_t len = 300 * 64 + 33;
	unsigned char *img = make_pattern_file(IMG_PATH, len, 4);
	struct emu e;
	int kind;

	ASSERT_NE(NULL, img);
	ASSERT_EQ(0, emu_start(&e, "--transfer-size", "64", "--poll-ms", "2", NULL));
	for (kind = SIG_RESTART; kind <= SIG_STOP_CONT; kind++) {
		unsigned int sent = 0;
		int status, fds[2];
		long long t0;
		char report[128] = "";
		pid_t pid;
		ssize_t n;

		img[0] = kind;
		ASSERT_EQ(0, pipe(fds));
		pid = fork();
		ASSERT_LE(0, pid);
		if (!pid) {
			struct sigaction sa = { .sa_handler = on_usr1 };
			int fd, shorts = 0, eintrs = 0, ret;

			close(fds[0]);
			sa.sa_flags = kind == SIG_RESTART ? SA_RESTART : 0;
			sigaction(SIGUSR1, &sa, NULL);
			fd = open(e.node, O_WRONLY);
			if (fd < 0)
				_exit(100);
			ret = write_all(fd, img, len, &shorts, &eintrs);
			if (ret) {
				dprintf(fds[1], "write: %s", strerror(-ret));
				_exit(101);
			}
			if (close(fd)) {
				dprintf(fds[1], "close: %s", strerror(errno));
				_exit(102);
			}
			dprintf(fds[1], "%d signals seen, %d short writes, %d EINTR",
				(int)usr1_seen, shorts, eintrs);
			_exit(0);
		}
		close(fds[1]);
		sleep_ms(100);
		t0 = now_us();
		while (running(pid, &status)) {
			if (ms_since(t0) > 10000) {	/* the writer is stuck: stop */
				ASSERT_EQ(pid, waitpid(pid, &status, 0));
				break;
			}
			if (kind == SIG_STOP_CONT) {
				kill(pid, SIGSTOP);
				sleep_ms(300);
				kill(pid, SIGCONT);
				sleep_ms(200);
			} else {
				kill(pid, SIGUSR1);
				sleep_ms(5);
			}
			sent++;
		}
		n = read(fds[0], report, sizeof(report) - 1);
		report[n > 0 ? n : 0] = 0;
		close(fds[0]);
		ksft_print_msg("%s: %u sent; writer: %s\n",
			       kind == SIG_RESTART ? "SIGUSR1, SA_RESTART" :
			       kind == SIG_NO_RESTART ? "SIGUSR1, no SA_RESTART" :
			       "SIGSTOP/SIGCONT", sent, report);
		EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) {
			TH_LOG("kind %d: status 0x%x: %s", kind, status, report);
		}
		EXPECT_LT(0u, sent);
		EXPECT_EQ(kind + 1, emu_stat(&e, "manifests"));
		EXPECT_TRUE(emu_has_image(&e, img, len));
	}
	EXPECT_EQ(0, emu_stat(&e, "aborts"));
	emu_stop(&e);
	free(img);
}

/*
 * Start e as a device that asks for a poll wait of poll_ms after each
 * block, and a writer in that wait: the child writes one block and
 * fsync()s; once the driver has seen dfuDNBUSY the wait is on. Returns the
 * writer's pid; *status_fd reads the errno of its fsync().
 */
static pid_t writer_in_poll_wait(struct __test_metadata *_metadata, struct emu *e,
				 const char *poll_ms, int *status_fd)
{
	unsigned char img[64];
	int fds[2];
	pid_t pid;

	fill_pattern(img, sizeof(img), 6);
	ASSERT_EQ(0, emu_start(e, "--transfer-size", "64", "--poll-ms", poll_ms, NULL));
	ASSERT_EQ(0, pipe(fds));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		int fd = open(e->node, O_WRONLY);
		int err;

		close(fds[0]);
		if (fd < 0)
			_exit(100);
		if (write(fd, img, sizeof(img)) != sizeof(img))
			_exit(101);
		err = fsync(fd) ? errno : 0;
		if (write(fds[1], &err, sizeof(err)) != sizeof(err))
			_exit(102);
		_exit(0);
	}
	close(fds[1]);
	*status_fd = fds[0];
	/* the block and its first DFU_GETSTATUS take a few ms */
	sleep_ms(1000);
	return pid;
}

/*
 * The writer of writer_in_poll_wait() is still in its wait after the
 * checks, and then goes on: it exits 0, its fsync() succeeded, and its
 * image was manifested.
 */
static void expect_writer_went_on(struct __test_metadata *_metadata, struct emu *e,
				  pid_t pid, int status_fd)
{
	int status = -1, err = -1;
	int still = running(pid, &status);

	EXPECT_TRUE(still) TH_LOG("the download ended before the checks did");
	if (still)
		ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	EXPECT_EQ((ssize_t)sizeof(err), read(status_fd, &err, sizeof(err)));
	EXPECT_EQ(0, err);
	close(status_fd);
	EXPECT_EQ(1, emu_stat(e, "manifests"));
}

/* SIGKILL ends a long poll wait at once; nothing is manifested. */
TEST_F_TIMEOUT(access, sigkill_ends_poll_wait, 60)
{
	struct emu e;
	int status, sfd;
	long long t0, ms;
	pid_t pid;

	pid = writer_in_poll_wait(_metadata, &e, "20000", &sfd);
	ASSERT_TRUE(running(pid, &status));
	t0 = now_us();
	kill(pid, SIGKILL);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ms = ms_since(t0);
	close(sfd);
	ksft_print_msg("writer killed in a 20 s poll wait died after %lld ms\n", ms);
	EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	EXPECT_GT(1000, ms);
	emu_stop(&e);
	EXPECT_EQ(0, emu_stat(&e, "manifests"));
}

/* An unplug ends a long poll wait at once: ENODEV. */
TEST_F_TIMEOUT(access, unplug_ends_poll_wait, 60)
{
	struct emu e;
	int status, sfd, err = 0;
	long long t0, ms;
	pid_t pid;

	pid = writer_in_poll_wait(_metadata, &e, "20000", &sfd);
	ASSERT_TRUE(running(pid, &status));
	t0 = now_us();
	kill(e.pid, SIGKILL);	/* raw_gadget closed: the device leaves the bus */
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ms = ms_since(t0);
	ASSERT_EQ((ssize_t)sizeof(err), read(sfd, &err, sizeof(err)));
	close(sfd);
	ksft_print_msg("fsync() in a 20 s poll wait returned %s %lld ms after the unplug\n",
		       strerror(err), ms);
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	EXPECT_EQ(ENODEV, err);
	EXPECT_GT(1000, ms);
	emu_stop(&e);
	EXPECT_EQ(0, emu_stat(&e, "manifests"));
}

/*
 * A bwPollTimeout that ends after busy_timeout_ms fails at once with
 * ETIMEDOUT, without waiting it out.
 */
TEST_F_TIMEOUT(access, poll_beyond_busy_deadline, 60)
{
	unsigned char img[3 * 64];
	struct usb_dfu_result r;
	long long t0, ms;
	struct emu e;
	int fd;

	fill_pattern(img, sizeof(img), 7);
	ASSERT_EQ(0, set_param("busy_timeout_ms", "1500"));
	ASSERT_EQ(0, emu_start(&e, "--transfer-size", "64", "--poll-ms", "5000", NULL));
	t0 = now_us();
	EXPECT_EQ(-ETIMEDOUT, flash_buf(e.node, img, sizeof(img), sizeof(img)));
	ms = ms_since(t0);
	ksft_print_msg("bwPollTimeout 5000 with busy_timeout_ms 1500: failed after %lld ms\n", ms);
	EXPECT_GT(1000, ms);
	fd = open(e.node, O_RDONLY);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ioctl(fd, USB_DFU_IOCTL_GET_RESULT, &r));
	EXPECT_EQ(-ETIMEDOUT, r.error);
	close(fd);
	emu_stop(&e);
	EXPECT_EQ(0, emu_stat(&e, "manifests"));
}

/*
 * ctrl_timeout_ms (100..600000) and busy_timeout_ms (100..3600000) refuse
 * other values with EINVAL and keep theirs; max_poll_ms is gone; a flash
 * works afterwards.
 */
TEST_F_TIMEOUT(access, module_params_validated, 60)
{
	static const struct {
		const char *name, *bad[4], *good[2];
	} params[] = {
		{ "ctrl_timeout_ms", { "0", "99", "600001", "-1" }, { "100", "600000" } },
		{ "busy_timeout_ms", { "0", "99", "3600001", "4294967296" }, { "100", "3600000" } },
	};
	unsigned char img[4 * 64 + 3];
	char before[32], now[32];
	unsigned int i, j;
	struct emu e;

	EXPECT_NE(0, access(DFU_PARAMS "/max_poll_ms", F_OK));
	for (i = 0; i < 2; i++) {
		ASSERT_EQ(0, get_param(params[i].name, before, sizeof(before)));
		for (j = 0; j < 4; j++) {
			EXPECT_EQ(-EINVAL, set_param(params[i].name, params[i].bad[j])) {
				TH_LOG("%s=%s", params[i].name, params[i].bad[j]);
			}
			ASSERT_EQ(0, get_param(params[i].name, now, sizeof(now)));
			EXPECT_STREQ(before, now);
		}
		for (j = 0; j < 2; j++) {
			EXPECT_EQ(0, set_param(params[i].name, params[i].good[j]));
			ASSERT_EQ(0, get_param(params[i].name, now, sizeof(now)));
			EXPECT_STREQ(params[i].good[j], now);
		}
		ASSERT_EQ(0, set_param(params[i].name, before));
	}
	fill_pattern(img, sizeof(img), 8);
	ASSERT_EQ(0, emu_start(&e, "--transfer-size", "64", NULL));
	EXPECT_EQ(0, flash_buf(e.node, img, sizeof(img), sizeof(img)));
	EXPECT_TRUE(emu_has_image(&e, img, sizeof(img)));
	emu_stop(&e);
}

/*
 * A device that stalls every other GETSTATUS while it is busy: each block
 * sees more than three stalls, never two in a row, and the flash works
 * (the limit is on stalls in a row).
 */
TEST_F_TIMEOUT(access, busy_stalls_counted_in_a_row, 60)
{
	size_t len = 12 * 64 + 9;
	unsigned char *img = make_pattern_file(IMG_PATH, len, 9);
	struct emu e;

	ASSERT_NE(NULL, img);
	ASSERT_EQ(0, emu_start(&e, "--transfer-size", "64", "--poll-ms", "1",
			       "--busy-polls", "6", "--stall-busy-every", "2", NULL));
	EXPECT_EQ(0, flash_buf(e.node, img, len, len));
	EXPECT_TRUE(emu_has_image(&e, img, len));
	ksft_print_msg("%ld GETSTATUS stalled while busy\n", emu_stat(&e, "busy_stalls"));
	EXPECT_LE(13 * 3, emu_stat(&e, "busy_stalls"));
	emu_stop(&e);
	free(img);
}

/*
 * The node is a stream: no seeking, no pread/pwrite; after an upload's end
 * read() keeps returning 0; poll() says readable and writable, and after
 * an unplug POLLHUP|POLLERR.
 */
TEST_F_TIMEOUT(access, stream_semantics, 60)
{
	size_t len = 1000;
	unsigned char *img = make_pattern_file(IMG_PATH, len, 10), got[1100];
	struct pollfd pfd[2];
	struct emu e;
	size_t done = 0;
	ssize_t n;
	int ro, wo;

	ASSERT_NE(NULL, img);
	ASSERT_EQ(0, emu_start(&e, "--transfer-size", "256", "--image", IMG_PATH, NULL));
	ro = open(e.node, O_RDONLY);
	ASSERT_LE(0, ro);
	wo = open(e.node, O_WRONLY);
	ASSERT_LE(0, wo);
	EXPECT_EQ(-1, lseek(ro, 0, SEEK_SET));
	EXPECT_EQ(ESPIPE, errno);
	EXPECT_EQ(-1, lseek(wo, 0, SEEK_CUR));
	EXPECT_EQ(ESPIPE, errno);
	EXPECT_EQ(-1, pread(ro, got, 10, 0));
	EXPECT_EQ(ESPIPE, errno);
	EXPECT_EQ(-1, pwrite(wo, img, 10, 0));
	EXPECT_EQ(ESPIPE, errno);

	while ((n = read(ro, got + done, sizeof(got) - done)) > 0)
		done += n;
	EXPECT_EQ(0, n);
	EXPECT_EQ(len, done);
	EXPECT_EQ(0, memcmp(got, img, len));
	EXPECT_EQ(0, read(ro, got, sizeof(got)));
	EXPECT_EQ(0, read(ro, got, 1));
	EXPECT_EQ(1, emu_stat(&e, "uploads"));

	pfd[0] = (struct pollfd){ .fd = ro, .events = POLLIN | POLLOUT };
	pfd[1] = (struct pollfd){ .fd = wo, .events = POLLIN | POLLOUT };
	EXPECT_EQ(2, poll(pfd, 2, 0));
	EXPECT_EQ(POLLIN | POLLOUT, pfd[0].revents & (POLLIN | POLLOUT | POLLHUP | POLLERR));
	EXPECT_EQ(POLLIN | POLLOUT, pfd[1].revents & (POLLIN | POLLOUT | POLLHUP | POLLERR));

	kill(e.pid, SIGTERM);
	EXPECT_EQ(0, emu_wait_exit(&e, 5000));
	pfd[0].revents = pfd[1].revents = 0;
	EXPECT_EQ(2, poll(pfd, 2, 0));
	EXPECT_EQ(POLLHUP | POLLERR, pfd[0].revents & (POLLHUP | POLLERR));
	EXPECT_EQ(POLLHUP | POLLERR, pfd[1].revents & (POLLHUP | POLLERR));
	EXPECT_EQ(-1, read(ro, got, 1));
	EXPECT_EQ(ENODEV, errno);
	close(ro);
	close(wo);
	emu_stop(&e);
	free(img);
}

/*
 * Let e's USB device autosuspend at once (power/control=auto, no delay) and
 * wait up to 5 s for power/runtime_status "suspended"; buf gets the last
 * status. Says what it saw, with the interface's supports_autosuspend, the
 * root hub's status and the suspends the device saw.
 */
static int wait_suspended(struct emu *e, const char *what, char *buf, size_t len)
{
	char path[192], supports[16] = "?", hub[64] = "?";
	int waited;

	usbdev_path(e, "power/autosuspend_delay_ms", path, sizeof(path));
	if (write_sysfs(path, "0"))
		return -1;
	usbdev_path(e, "power/control", path, sizeof(path));
	if (write_sysfs(path, "auto"))
		return -1;
	usbdev_path(e, "power/runtime_status", path, sizeof(path));
	for (waited = 0; waited < 5000; waited += 20) {
		if (!read_sysfs(path, buf, len) && !strcmp(buf, "suspended"))
			break;
		sleep_ms(20);
	}
	snprintf(path, sizeof(path), "%s/device/supports_autosuspend", e->sysfs);
	read_sysfs(path, supports, sizeof(supports));
	usbdev_path(e, "../power/runtime_status", path, sizeof(path));
	read_sysfs(path, hub, sizeof(hub));
	ksft_print_msg("%s: runtime_status %s after %d ms (interface supports_autosuspend %s, root hub %s, device saw %ld suspends)\n",
		       what, buf, waited, supports, hub, emu_stat(e, "suspends"));
	return strcmp(buf, "suspended") ? -1 : 0;
}

/*
 * With power/control=auto and no autosuspend delay, an idle bound device
 * suspends (the device sees the bus suspend): in DFU mode and in run-time
 * mode. I/O resumes it and works, and afterwards it suspends again.
 */
TEST_F_TIMEOUT(access, autosuspend_idle_device, 60)
{
	size_t len = 6 * 64 + 1;
	unsigned char *img = make_pattern_file(IMG_PATH, len, 11);
	struct usb_dfu_status st;
	char buf[64];
	struct emu e;
	int fd;

	ASSERT_NE(NULL, img);
	ASSERT_EQ(0, emu_start(&e, "--transfer-size", "64", NULL));
	EXPECT_EQ(0, wait_suspended(&e, "DFU mode, idle", buf, sizeof(buf)));
	EXPECT_LE(1, emu_stat(&e, "suspends"));
	EXPECT_EQ(0, flash_buf(e.node, img, len, len));
	EXPECT_TRUE(emu_has_image(&e, img, len));
	EXPECT_EQ(0, wait_suspended(&e, "DFU mode, after a flash", buf, sizeof(buf)));
	EXPECT_LE(2, emu_stat(&e, "suspends"));
	emu_stop(&e);

	ASSERT_EQ(0, emu_start(&e, "--runtime", "--transfer-size", "64", NULL));
	EXPECT_EQ(0, wait_suspended(&e, "run-time mode, idle", buf, sizeof(buf)));
	fd = open(e.node, O_RDONLY);
	ASSERT_LE(0, fd);
	EXPECT_EQ(0, ioctl(fd, USB_DFU_IOCTL_GET_STATUS, &st));
	EXPECT_EQ(USB_DFU_STATE_APP_IDLE, st.bState);
	close(fd);
	EXPECT_EQ(0, wait_suspended(&e, "run-time mode, after GET_STATUS", buf, sizeof(buf)));
	EXPECT_LE(2, emu_stat(&e, "suspends"));
	emu_stop(&e);
	free(img);
}

/*
 * open() and a read-only close() do not wait behind a download that sits
 * in a 3 s poll wait; neither do GET_INFO, GET_RESULT and sysfs.
 */
TEST_F_TIMEOUT(access, open_close_not_behind_transfer, 60)
{
	struct usb_dfu_result r;
	struct usb_dfu_info info;
	int sfd, fd, i;
	char buf[128];
	long long t;
	struct emu e;
	pid_t pid;

	pid = writer_in_poll_wait(_metadata, &e, "3000", &sfd);
	for (i = 0; i < 3; i++) {
		t = now_us();
		fd = open(e.node, O_RDONLY);
		ASSERT_LE(0, fd);
		EXPECT_GT(QUICK_MS, ms_since(t)) TH_LOG("open()");
		t = now_us();
		EXPECT_EQ(0, info_of(fd, &info));
		EXPECT_EQ(0, ioctl(fd, USB_DFU_IOCTL_GET_RESULT, &r));
		EXPECT_GT(QUICK_MS, ms_since(t)) TH_LOG("GET_INFO, GET_RESULT");
		t = now_us();
		EXPECT_EQ(0, read_attr(&e, "state", buf, sizeof(buf)));
		EXPECT_STREQ("dfuDNBUSY", buf);
		EXPECT_EQ(0, read_attr(&e, "last_result", buf, sizeof(buf)));
		EXPECT_GT(QUICK_MS, ms_since(t)) TH_LOG("sysfs");
		t = now_us();
		EXPECT_EQ(0, close(fd));
		EXPECT_GT(QUICK_MS, ms_since(t)) TH_LOG("close()");
		/* a second writer is refused at once, not queued */
		t = now_us();
		EXPECT_EQ(-1, open(e.node, O_WRONLY));
		EXPECT_EQ(EBUSY, errno);
		EXPECT_GT(QUICK_MS, ms_since(t)) TH_LOG("open(O_WRONLY)");
		sleep_ms(100);
	}
	expect_writer_went_on(_metadata, &e, pid, sfd);
	emu_stop(&e);
}

/*
 * O_NONBLOCK: a call that would wait for another file's transfer to let
 * go of the device fails at once with EAGAIN instead; GET_INFO and
 * GET_RESULT, which send nothing, still answer. The writer goes on.
 */
TEST_F_TIMEOUT(access, nonblock_never_waits, 60)
{
	struct usb_dfu_status st;
	struct usb_dfu_result r;
	int sfd, fd;
	char buf[64];
	long long t;
	struct emu e;
	pid_t pid;

	pid = writer_in_poll_wait(_metadata, &e, "3000", &sfd);
	fd = open(e.node, O_RDONLY | O_NONBLOCK);
	ASSERT_LE(0, fd);
	t = now_us();
	EXPECT_EQ(-1, ioctl(fd, USB_DFU_IOCTL_GET_STATUS, &st));
	EXPECT_EQ(EAGAIN, errno);
	EXPECT_EQ(-1, read(fd, buf, sizeof(buf)));
	EXPECT_EQ(EAGAIN, errno);
	EXPECT_EQ(0, ioctl(fd, USB_DFU_IOCTL_GET_RESULT, &r));
	EXPECT_GT(QUICK_MS, ms_since(t)) TH_LOG("O_NONBLOCK calls");
	EXPECT_EQ(0, close(fd));
	expect_writer_went_on(_metadata, &e, pid, sfd);
	emu_stop(&e);
}

/*
 * The kernel log keeps one info line per transfer, the audit trail of
 * hosts that ignore close(); probe and disconnect say nothing at the
 * default level (dev_dbg).
 */
TEST_F_TIMEOUT(access, log_lines_per_transfer_only, 60)
{
	unsigned char img[1000];
	char cmd[256];
	struct emu e;

	fill_pattern(img, sizeof(img), 77);
	/* the rig reads the whole log at the end: mark it, never clear it */
	ASSERT_EQ(0, run_sh("echo dfu-log-test-start > /dev/kmsg"));
	ASSERT_EQ(0, emu_start(&e, "--transfer-size", "64", NULL));
	ASSERT_EQ(0, flash_buf(e.node, img, sizeof(img), sizeof(img)));
	snprintf(cmd, sizeof(cmd),
		 "dmesg | sed -n '/dfu-log-test-start/,$p' | grep -q '%s: download of 1000 bytes done'",
		 e.node + 5);
	EXPECT_EQ(0, run_sh("%s", cmd));
	emu_stop(&e);
	EXPECT_NE(0, run_sh("dmesg | sed -n '/dfu-log-test-start/,$p' | grep -Eq 'alt settings, wTransferSize|DFU interface disconnected'"));
	/* the test sees the log at all */
	EXPECT_EQ(0, run_sh("dmesg | grep -q dfu-log-test-start"));
}

TEST_HARNESS_MAIN
