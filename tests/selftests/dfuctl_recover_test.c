// SPDX-License-Identifier: GPL-2.0
/*
 * dfuctl_recover_test - dfuctl recover against emulated devices: a full
 * recovery (SHA-256 and a DFU suffix naming the device, both mandatory),
 * what it refuses before anything is sent, the lock of the USB port that
 * recover shares with a user's dfuctl flash (recover steps aside; a second
 * recover waits; flash refuses while recovery holds the port; a user's
 * "flash --detach" of a listed device is not raced by the recovery that
 * its DETACH starts), and the attempt counter (keys that cannot collide,
 * counted under a lock, one count per attempt).
 *
 * The recovery service is simulated as udev and systemd would run it: a
 * process that runs "dfuctl recover NODE" the moment the DFU-mode node
 * appears.
 *
 * flash_waits_for_recovery, user_flash_over_before_recovery and
 * user_flash_detach_not_raced need dfuctl flash to take the lock
 * (cmd_flash.c calling devlock_flash(), see devlock.h): without it they
 * fail, as they should. Two devices at once need DUMMY_HCD_NUM >= 2.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "emu.h"

#define DFUCTL		"/payload/dfuctl"
#define LOCK_DIR	"/run/dfu/lock"
#define COUNT_DIR	"/run/dfu/recover"
#define EX_DATAERR	65
#define EX_TEMPFAIL	75
#define EX_CONFIG	78
#define CONF		"/tmp/rec.conf"
#define ERR		"/tmp/rec.err"

/* The USB port (sysfs name, 1-1) of the node's device into buf. */
static int usb_port(struct emu *e, char *buf, size_t size)
{
	char path[PATH_MAX], real[PATH_MAX], *slash;

	snprintf(path, sizeof(path), "%s/device/..", e->sysfs);
	if (!realpath(path, real))
		return -1;
	slash = strrchr(real, '/');
	slash = slash ? slash + 1 : real;
	if (strlen(slash) >= size)
		return -1;
	memcpy(buf, slash, strlen(slash) + 1);
	return 0;
}

/* An image of len pattern bytes with a suffix for vid:pid at path; its bytes. */
static unsigned char *make_image(const char *path, size_t len, unsigned int seed,
				 const char *vid, const char *pid)
{
	unsigned char *img = make_pattern_file(path, len, seed);

	if (img && vid &&
	    run_sh(DFUCTL " suffix add %s --vid %s --pid %s >/dev/null", path, vid, pid)) {
		free(img);
		return NULL;
	}
	return img;
}

/* Write CONF: one line for 1209:PID with image, its sha256 and serial, and extra. */
static int write_conf(const char *pid, const char *image, const char *serial, const char *extra)
{
	return run_sh("echo \"1209:%s image=%s sha256=$(sha256sum %s | cut -c1-64) serial=%s %s\" > " CONF,
		      pid, image, image, serial, extra);
}

/*
 * Hold the port's lock as another dfuctl would, writing content ("flash
 * 123", "recover 123", or "" for an unknown holder) into it. Returns the fd.
 */
static int hold_lock(const char *port, const char *content)
{
	char path[PATH_MAX];
	int fd;

	mkdir("/run/dfu", 0755);
	mkdir(LOCK_DIR, 01777);
	snprintf(path, sizeof(path), LOCK_DIR "/usb-%s", port);
	fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0666);
	if (fd < 0)
		return -1;
	if (flock(fd, LOCK_EX | LOCK_NB) || ftruncate(fd, 0) ||
	    pwrite(fd, content, strlen(content), 0) != (ssize_t)strlen(content)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Is the port's lock free now (nobody holds it)? */
static int lock_free(const char *port)
{
	char path[PATH_MAX];
	int fd, ok;

	snprintf(path, sizeof(path), LOCK_DIR "/usb-%s", port);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT;
	ok = !flock(fd, LOCK_EX | LOCK_NB);
	close(fd);
	return ok;
}

/*
 * The attempt count the counter file with this key holds (its first line),
 * 0 when there is none; -1 when two files hold the key.
 */
static int count_of(const char *key)
{
	DIR *d = opendir(COUNT_DIR);
	struct dirent *de;
	int found = 0, n = 0;

	if (!d)
		return 0;
	while ((de = readdir(d))) {
		char path[PATH_MAX], buf[2048], *nl;
		size_t len;
		unsigned char *b;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), COUNT_DIR "/%s", de->d_name);
		b = read_file(path, &len);
		if (!b)
			continue;
		snprintf(buf, sizeof(buf), "%.*s", (int)len, (char *)b);
		free(b);
		nl = strchr(buf, '\n');
		if (!nl)
			continue;
		*nl = 0;
		if (strcmp(buf, key))
			continue;
		found++;
		n = atoi(nl + 1);
	}
	closedir(d);
	return found > 1 ? -1 : n;
}

/* The counter's key of 1209:pid on port with a serial of printable ASCII. */
static void key_of(char *key, size_t size, const char *pid, const char *port, const char *serial)
{
	size_t j = (size_t)snprintf(key, size, "1209:%s port=%s serial=", pid, port);

	for (; *serial && j + 4 < size; serial++)
		if (*serial > 0x20 && *serial < 0x7f && *serial != '%' && *serial != '\\')
			key[j++] = *serial;
		else
			j += (size_t)snprintf(key + j, size - j, "%%%02X", (unsigned char)*serial);
	key[j] = 0;
}

FIXTURE(rec) {
	struct emu e;
	char port[64];
};

FIXTURE_SETUP(rec)
{
	self->e.pid = 0;
}

FIXTURE_TEARDOWN(rec)
{
	if (self->e.pid > 0)
		emu_stop(&self->e);
}

/*
 * The whole path: a listed device with an image that has its SHA-256 and a
 * suffix naming it is flashed and verified; counted once, under a key that
 * names it whole; the lock is free again afterwards.
 */
TEST_F_TIMEOUT(rec, full_run, 60)
{
	const char *f = "/tmp/rec-full.dfu";
	unsigned char *img = make_image(f, 3000, 21, "1209", "df00");
	char key[512];

	ASSERT_NE(NULL, img);
	ASSERT_EQ(0, emu_start(&self->e, "--transfer-size", "256", NULL));
	ASSERT_EQ(0, usb_port(&self->e, self->port, sizeof(self->port)));
	ASSERT_EQ(0, write_conf("df00", f, self->e.serial, "verify=yes"));
	ASSERT_EQ(0, run_sh("echo '# appliance' >> " CONF));
	EXPECT_EQ(0, run_sh(DFUCTL " recover --check --config " CONF " >/tmp/rec.out 2>" ERR)) {
		run_sh("cat " ERR " >&2");
	}
	EXPECT_EQ(0, run_sh("grep -qx '" CONF ": 1 device line, commit = explicit: no errors' /tmp/rec.out"));
	EXPECT_EQ(0, run_sh(DFUCTL " recover %s --config " CONF " 2>" ERR, self->e.node)) {
		run_sh("cat " ERR " >&2");
	}
	/* explicit commit: the device got the image without its suffix */
	EXPECT_TRUE(emu_has_image(&self->e, img, 3000));
	EXPECT_EQ(1, emu_stat(&self->e, "manifests"));
	EXPECT_EQ(0, run_sh("grep -qF 'dfuctl recover: flashing %s (1209:df00 serial \"%s\", USB port %s) with %s (" CONF ":1), attempt 1 of 3' " ERR,
			    self->e.node, self->e.serial, self->port, f));
	EXPECT_EQ(0, run_sh("grep -q '^dfuctl recover: verify: 3000 bytes match' " ERR));
	EXPECT_EQ(0, run_sh("grep -qx 'dfuctl recover: %s: done' " ERR, self->e.node));
	key_of(key, sizeof(key), "df00", self->port, self->e.serial);
	EXPECT_EQ(1, count_of(key));
	EXPECT_TRUE(lock_free(self->port));
	free(img);
}

/*
 * What recovery refuses, before anything is sent and without counting an
 * attempt: a line without sha256= (the file is bad: 78), an image without a
 * suffix, with one for another device, or whose SHA-256 changed (65).
 */
TEST_F_TIMEOUT(rec, refuses_unverified, 60)
{
	const char *raw = "/tmp/rec-raw.bin", *other = "/tmp/rec-other.dfu";
	const char *good = "/tmp/rec-good.dfu";
	unsigned char *a = make_image(raw, 1000, 22, NULL, NULL);
	unsigned char *b = make_image(other, 1000, 23, "1209", "df01");
	unsigned char *c = make_image(good, 1000, 24, "1209", "df00");
	char key[512];

	ASSERT_NE(NULL, a);
	ASSERT_NE(NULL, b);
	ASSERT_NE(NULL, c);
	ASSERT_EQ(0, emu_start(&self->e, "--transfer-size", "256", NULL));
	ASSERT_EQ(0, usb_port(&self->e, self->port, sizeof(self->port)));
	key_of(key, sizeof(key), "df00", self->port, self->e.serial);

	/* no sha256= */
	ASSERT_EQ(0, run_sh("echo '1209:df00 image=%s serial=%s' > " CONF, good, self->e.serial));
	EXPECT_EQ(EX_CONFIG, run_sh(DFUCTL " recover %s --config " CONF " 2>" ERR, self->e.node));
	EXPECT_EQ(0, run_sh("grep -qF 'dfuctl recover: " CONF ":1: 1209:df00 has no sha256=' " ERR)) {
		run_sh("cat " ERR " >&2");
	}
	EXPECT_EQ(EX_DATAERR, run_sh(DFUCTL " recover --check --config " CONF " 2>/dev/null"));

	/* no suffix: --check says so without a device, recover refuses */
	ASSERT_EQ(0, write_conf("df00", raw, self->e.serial, ""));
	EXPECT_EQ(EX_DATAERR, run_sh(DFUCTL " recover --check --config " CONF " 2>" ERR));
	EXPECT_EQ(0, run_sh("grep -qF '" CONF ":1: image %s has no valid DFU suffix' " ERR, raw));
	EXPECT_EQ(EX_DATAERR, run_sh(DFUCTL " recover %s --config " CONF " 2>" ERR, self->e.node));
	EXPECT_EQ(0, run_sh("grep -qF 'recovery flashes only an image with a valid DFU suffix that names the device (1209:df00)' " ERR)) {
		run_sh("cat " ERR " >&2");
	}

	/* a suffix for another device */
	ASSERT_EQ(0, write_conf("df00", other, self->e.serial, ""));
	EXPECT_EQ(0, run_sh(DFUCTL " recover --check --config " CONF " >/dev/null 2>&1"));
	EXPECT_EQ(EX_DATAERR, run_sh(DFUCTL " recover %s --config " CONF " 2>" ERR, self->e.node));
	EXPECT_EQ(0, run_sh("grep -qF 'the image is for 1209:df01' " ERR));

	/* the image changed after its SHA-256 was written down */
	ASSERT_EQ(0, write_conf("df00", good, self->e.serial, ""));
	ASSERT_EQ(0, run_sh("printf 'X' | dd of=%s bs=1 seek=10 conv=notrunc status=none", good));
	EXPECT_EQ(EX_DATAERR, run_sh(DFUCTL " recover --check --config " CONF " 2>" ERR));
	EXPECT_EQ(0, run_sh("grep -qF '" CONF ":1: image %s: its SHA-256 is' " ERR, good));
	EXPECT_EQ(EX_DATAERR, run_sh(DFUCTL " recover %s --config " CONF " 2>" ERR, self->e.node));
	EXPECT_EQ(0, run_sh("grep -qF 'SHA-256 differs from " CONF ":1' " ERR));

	EXPECT_EQ(0, count_of(key));
	EXPECT_EQ(0, emu_stat(&self->e, "dnload_requests"));
	free(a);
	free(b);
	free(c);
}

/*
 * A user's dfuctl flash holds the port: recover steps aside (exit 0, "a
 * user is flashing it"), sends nothing and counts nothing; also for a
 * holder that wrote no name. Once the port is free, recover flashes.
 */
TEST_F_TIMEOUT(rec, steps_aside_for_a_user, 60)
{
	const char *f = "/tmp/rec-aside.dfu";
	unsigned char *img = make_image(f, 1500, 25, "1209", "df00");
	char key[512], holder[32];
	int fd;

	ASSERT_NE(NULL, img);
	ASSERT_EQ(0, emu_start(&self->e, "--transfer-size", "256", NULL));
	ASSERT_EQ(0, usb_port(&self->e, self->port, sizeof(self->port)));
	key_of(key, sizeof(key), "df00", self->port, self->e.serial);
	ASSERT_EQ(0, write_conf("df00", f, self->e.serial, ""));

	snprintf(holder, sizeof(holder), "flash %d\n", getpid());
	fd = hold_lock(self->port, holder);
	ASSERT_LE(0, fd);
	EXPECT_EQ(0, run_sh(DFUCTL " recover %s --config " CONF " 2>" ERR, self->e.node));
	EXPECT_EQ(0, run_sh("grep -qF 'dfuctl recover: %s: a user is flashing it (dfuctl flash (pid %d) holds " LOCK_DIR "/usb-%s)' " ERR,
			    self->e.node, getpid(), self->port)) {
		run_sh("cat " ERR " >&2");
	}
	close(fd);
	fd = hold_lock(self->port, "");
	ASSERT_LE(0, fd);
	EXPECT_EQ(0, run_sh(DFUCTL " recover %s --config " CONF " 2>" ERR, self->e.node));
	EXPECT_EQ(0, run_sh("grep -qF 'a user is flashing it (another dfuctl holds' " ERR));
	EXPECT_EQ(0, emu_stat(&self->e, "dnload_requests"));
	EXPECT_EQ(0, count_of(key));
	close(fd);

	EXPECT_EQ(0, run_sh(DFUCTL " recover %s --config " CONF " 2>" ERR, self->e.node));
	EXPECT_TRUE(emu_has_image(&self->e, img, 1500));
	EXPECT_EQ(1, count_of(key));
	free(img);
}

/*
 * Another recover of the same port still holds it (it verifies while the
 * device came back): this one waits for it, then flashes.
 */
TEST_F_TIMEOUT(rec, waits_for_another_recover, 60)
{
	const char *f = "/tmp/rec-wait.dfu";
	unsigned char *img = make_image(f, 1200, 26, "1209", "df00");
	long long t0;
	pid_t child;
	int st;

	ASSERT_NE(NULL, img);
	ASSERT_EQ(0, emu_start(&self->e, "--transfer-size", "256", NULL));
	ASSERT_EQ(0, usb_port(&self->e, self->port, sizeof(self->port)));
	ASSERT_EQ(0, write_conf("df00", f, self->e.serial, ""));
	child = fork();
	ASSERT_LE(0, child);
	if (!child) {
		char holder[32];
		int fd;

		snprintf(holder, sizeof(holder), "recover %d\n", getpid());
		fd = hold_lock(self->port, holder);
		if (fd < 0)
			_exit(1);
		sleep_ms(2000);
		_exit(0);
	}
	sleep_ms(300);
	ASSERT_FALSE(lock_free(self->port));
	t0 = now_us();
	EXPECT_EQ(0, run_sh(DFUCTL " recover %s --config " CONF " 2>" ERR, self->e.node)) {
		run_sh("cat " ERR " >&2");
	}
	EXPECT_LE(1400, ms_since(t0));
	EXPECT_EQ(0, run_sh("grep -qF 'dfuctl recover: %s: dfuctl recover (pid %d) still recovers USB port %s: waiting for it' " ERR,
			    self->e.node, child, self->port));
	EXPECT_TRUE(emu_has_image(&self->e, img, 1200));
	ASSERT_EQ(child, waitpid(child, &st, 0));
	EXPECT_EQ(0, st);
	free(img);
}

/*
 * Two recovers of one device at once (two service instances): they take
 * turns on the port's lock, and the counter, read and written under its
 * own lock, says 2.
 */
TEST_F_TIMEOUT(rec, counter_two_at_once, 90)
{
	const char *f = "/tmp/rec-two.dfu";
	unsigned char *img = make_image(f, 20000, 27, "1209", "df00");
	char key[512];

	ASSERT_NE(NULL, img);
	ASSERT_EQ(0, emu_start(&self->e, "--transfer-size", "64", NULL));
	ASSERT_EQ(0, usb_port(&self->e, self->port, sizeof(self->port)));
	key_of(key, sizeof(key), "df00", self->port, self->e.serial);
	ASSERT_EQ(0, write_conf("df00", f, self->e.serial, ""));
	EXPECT_EQ(0, run_sh("(" DFUCTL " recover %s --config " CONF " 2>/tmp/rec1.err; echo $? > /tmp/rec1.rc) & "
			    "(" DFUCTL " recover %s --config " CONF " 2>/tmp/rec2.err; echo $? > /tmp/rec2.rc) & wait",
			    self->e.node, self->e.node));
	EXPECT_EQ(0, run_sh("grep -qx 0 /tmp/rec1.rc && grep -qx 0 /tmp/rec2.rc")) {
		run_sh("cat /tmp/rec1.err /tmp/rec2.err >&2");
	}
	EXPECT_EQ(0, run_sh("cat /tmp/rec1.err /tmp/rec2.err | grep -c 'still recovers USB port' | grep -qx 1"));
	EXPECT_EQ(2, emu_stat(&self->e, "manifests"));
	EXPECT_EQ(2, count_of(key));
	EXPECT_TRUE(emu_has_image(&self->e, img, 20000));
	free(img);
}

/*
 * Keys that collided before: serials "K a" and "K_a" (both became "K_a")
 * are two devices; each gets its own count, the full key inside. One that
 * used its 3 attempts is refused (75) while the other is still flashed.
 */
TEST_F_TIMEOUT(rec, counter_keys_do_not_collide, 120)
{
	const char *f = "/tmp/rec-keys.dfu";
	unsigned char *img = make_image(f, 500, 28, "1209", "df00");
	char sa[64], sb[64], ka[512], kb[512], pb[64];
	struct emu b;
	int i;

	ASSERT_NE(NULL, img);
	if (access("/sys/class/udc/dummy_udc.1", F_OK))
		SKIP(free(img); return, "dummy_hcd loaded with one port (DUMMY_HCD_NUM=4 gives four)");
	snprintf(sa, sizeof(sa), "K%d a", getpid());
	snprintf(sb, sizeof(sb), "K%d_a", getpid());
	ASSERT_EQ(0, emu_start_serial(&self->e, 1, sa, "--udc-device", "dummy_udc.0",
				      "--transfer-size", "64", NULL));
	ASSERT_EQ(0, emu_start_serial(&b, 1, sb, "--udc-device", "dummy_udc.1",
				      "--transfer-size", "64", NULL));
	ASSERT_EQ(0, usb_port(&self->e, self->port, sizeof(self->port)));
	ASSERT_EQ(0, usb_port(&b, pb, sizeof(pb)));
	key_of(ka, sizeof(ka), "df00", self->port, sa);
	key_of(kb, sizeof(kb), "df00", pb, sb);
	/* the raw serial "K a" is written as its by-serial form */
	ASSERT_EQ(0, run_sh("echo \"1209:df00 image=%s sha256=$(sha256sum %s | cut -c1-64) serial=K%d_a\" > " CONF,
			    f, f, getpid()));
	for (i = 1; i <= 3; i++) {
		EXPECT_EQ(0, run_sh(DFUCTL " recover %s --config " CONF " 2>" ERR, self->e.node)) {
			run_sh("cat " ERR " >&2");
		}
		EXPECT_EQ(i, count_of(ka));
	}
	EXPECT_EQ(3, emu_stat(&self->e, "manifests"));
	EXPECT_EQ(EX_TEMPFAIL, run_sh(DFUCTL " recover %s --config " CONF " 2>" ERR, self->e.node));
	EXPECT_EQ(0, run_sh("grep -qF '%s was flashed 3 times since boot and is back in DFU mode: not again; check %s, then rm " COUNT_DIR "/' " ERR,
			    self->e.node, f));
	EXPECT_EQ(3, emu_stat(&self->e, "manifests"));
	/* the other device: its own count, and flashed */
	EXPECT_EQ(0, count_of(kb));
	EXPECT_EQ(0, run_sh(DFUCTL " recover %s --config " CONF " 2>" ERR, b.node)) {
		run_sh("cat " ERR " >&2");
	}
	EXPECT_EQ(1, emu_stat(&b, "manifests"));
	EXPECT_EQ(1, count_of(kb));
	EXPECT_EQ(3, count_of(ka));
	emu_stop(&b);
	free(img);
}

/*
 * dfuctl flash takes the port's lock too: while recovery holds it, a
 * user's flash sends nothing and says why (75).
 */
TEST_F_TIMEOUT(rec, flash_waits_for_recovery, 60)
{
	const char *f = "/tmp/rec-user.dfu";
	unsigned char *img = make_image(f, 800, 29, "1209", "df00");
	char holder[32];
	int fd;

	ASSERT_NE(NULL, img);
	ASSERT_EQ(0, emu_start(&self->e, "--transfer-size", "256", NULL));
	ASSERT_EQ(0, usb_port(&self->e, self->port, sizeof(self->port)));
	snprintf(holder, sizeof(holder), "recover %d\n", getpid());
	fd = hold_lock(self->port, holder);
	ASSERT_LE(0, fd);
	EXPECT_EQ(EX_TEMPFAIL, run_sh(DFUCTL " flash %s %s 2>" ERR, f, self->e.node));
	EXPECT_EQ(0, run_sh("grep -qF 'dfuctl flash: %s (USB port %s) is being recovered by dfuctl recover (pid %d)' " ERR,
			    self->e.node, self->port, getpid())) {
		run_sh("cat " ERR " >&2");
	}
	EXPECT_EQ(0, emu_stat(&self->e, "dnload_requests"));
	close(fd);
	EXPECT_EQ(0, run_sh(DFUCTL " flash %s %s 2>" ERR, f, self->e.node));
	EXPECT_TRUE(emu_has_image(&self->e, img, 800));
	/* and flash let go of it */
	EXPECT_TRUE(lock_free(self->port));
	free(img);
}

/* The exit status a background run_sh() wrote to path, waiting up to timeout_ms; -1 */
static int bg_status(const char *path, int timeout_ms)
{
	int waited, st = -1;
	FILE *f;

	for (waited = 0; access(path, F_OK) && waited < timeout_ms; waited += 100)
		usleep(100 * 1000);
	usleep(100 * 1000);	/* the whole line */
	f = fopen(path, "re");
	if (f) {
		if (fscanf(f, "%d", &st) != 1)
			st = -1;
		fclose(f);
	}
	return st;
}

/*
 * A device that arrives while flash --wait waits for it: the lock of its
 * port is taken before anything is sent to it (devlock_follow()), so with
 * the recovery service holding that port the flash refuses, sending
 * nothing. (Before, the lock was taken only for a device present at the
 * start.)
 */
TEST_F_TIMEOUT(rec, flash_wait_locks_the_late_device, 90)
{
	const char *f = "/tmp/rec-late.dfu", *st = "/tmp/rec-late.st";
	unsigned char *img = make_image(f, 800, 31, "1209", "df00");
	char holder[32];
	int fd;

	ASSERT_NE(NULL, img);
	/* its port: where a device on the first UDC appears */
	ASSERT_EQ(0, emu_start(&self->e, NULL));
	ASSERT_EQ(0, usb_port(&self->e, self->port, sizeof(self->port)));
	emu_stop(&self->e);
	self->e.pid = 0;
	snprintf(holder, sizeof(holder), "recover %d\n", getpid());
	fd = hold_lock(self->port, holder);
	ASSERT_LE(0, fd);
	unlink(st);
	ASSERT_EQ(0, run_sh("(" DFUCTL " flash %s --serial RECLATE --wait 30 2>" ERR "; echo $? >%s) &",
			    f, st));
	usleep(500 * 1000);
	ASSERT_EQ(0, emu_start_serial(&self->e, 1, "RECLATE", "--transfer-size", "256", NULL));
	EXPECT_EQ(EX_TEMPFAIL, bg_status(st, 40000));
	EXPECT_EQ(0, run_sh("grep -qF 'dfuctl flash: %s (USB port %s) is being recovered by dfuctl recover (pid %d)' " ERR,
			    self->e.node, self->port, getpid())) {
		run_sh("cat " ERR " >&2");
	}
	EXPECT_EQ(0, emu_stat(&self->e, "dnload_requests"));
	close(fd);
	/* the lock free: the same flash goes on, and lets go of it */
	EXPECT_EQ(0, run_sh(DFUCTL " flash %s --serial RECLATE --wait 5 2>" ERR, f));
	EXPECT_TRUE(emu_has_image(&self->e, img, 800));
	EXPECT_TRUE(lock_free(self->port));
	free(img);
}

/*
 * A run-time device that comes back in DFU mode on another port (another
 * UDC) after flash --detach: the lock of that port is taken before the
 * image is sent there, so with the recovery service holding it the flash
 * refuses and the device gets nothing; once it is free the flash goes on.
 */
TEST_F_TIMEOUT(rec, flash_detach_locks_the_other_port, 90)
{
	const char *f = "/tmp/rec-other.bin";
	unsigned char *img = make_image(f, 800, 37, NULL, NULL);
	char holder[32], serial[64];
	int fd;

	ASSERT_NE(NULL, img);
	if (access("/sys/class/udc/dummy_udc.1", F_OK))
		SKIP(return, "needs dummy_hcd num=2 or more");
	/* the other port: where a device on the second UDC appears */
	ASSERT_EQ(0, emu_start(&self->e, "--udc-device", "dummy_udc.1", NULL));
	ASSERT_EQ(0, usb_port(&self->e, self->port, sizeof(self->port)));
	emu_stop(&self->e);
	self->e.pid = 0;
	snprintf(holder, sizeof(holder), "recover %d\n", getpid());
	fd = hold_lock(self->port, holder);
	ASSERT_LE(0, fd);
	snprintf(serial, sizeof(serial), "REC-OTHER-%d", getpid());
	ASSERT_EQ(0, emu_start(&self->e, "--runtime", "--udc-device", "dummy_udc.0",
			       "--dfu-udc-device", "dummy_udc.1", "--dfu-serial", serial,
			       "--reenum-ms", "300", NULL));
	EXPECT_EQ(EX_TEMPFAIL, run_sh(DFUCTL " flash --quiet %s --serial %s --detach --dfu-serial %s --detach-delay 1 --wait 20 2>" ERR,
				      f, self->e.serial, serial));
	ASSERT_EQ(0, emu_wait_serial(&self->e, serial, "dfu", 10000));
	EXPECT_EQ(0, run_sh("grep -qF 'dfuctl flash: %s (USB port %s) is being recovered by dfuctl recover (pid %d)' " ERR,
			    self->e.node, self->port, getpid())) {
		run_sh("cat " ERR " >&2");
	}
	EXPECT_EQ(0, run_sh("grep -qF 'was detached: it stays in DFU mode as %s on USB port %s' " ERR,
			    self->e.node, self->port));
	EXPECT_EQ(0, emu_stat(&self->e, "dnload_requests"));
	close(fd);
	EXPECT_EQ(0, run_sh(DFUCTL " flash --quiet %s %s 2>" ERR, f, self->e.node));
	EXPECT_TRUE(emu_has_image(&self->e, img, 800));
	EXPECT_TRUE(lock_free(self->port));
	free(img);
}

/*
 * A user's flash of a listed device that was over before the recovery
 * service took the lock: the device it left on the port is still theirs.
 * Once recovery stepped aside, the mark is gone: a recovery started by
 * hand flashes it.
 */
TEST_F_TIMEOUT(rec, user_flash_over_before_recovery, 60)
{
	const char *user = "/tmp/rec-u2.dfu", *recov = "/tmp/rec-r2.dfu";
	unsigned char *u = make_image(user, 900, 32, "1209", "df00");
	unsigned char *r = make_image(recov, 900, 33, "1209", "df00");

	ASSERT_NE(NULL, u);
	ASSERT_NE(NULL, r);
	ASSERT_EQ(0, emu_start(&self->e, "--transfer-size", "256", NULL));
	ASSERT_EQ(0, write_conf("df00", recov, self->e.serial, ""));
	ASSERT_EQ(0, run_sh(DFUCTL " flash %s %s 2>" ERR, user, self->e.node));
	EXPECT_TRUE(emu_has_image(&self->e, u, 900));
	EXPECT_EQ(0, run_sh(DFUCTL " recover %s --config " CONF " 2>" ERR, self->e.node));
	EXPECT_EQ(0, run_sh("grep -qE '^dfuctl recover: %s: a user flashed it \\(dfuctl flash, pid [0-9]+\\) and it did not re-enumerate since: left to them' " ERR,
			    self->e.node)) {
		run_sh("cat " ERR " >&2");
	}
	EXPECT_EQ(1, emu_stat(&self->e, "manifests"));
	EXPECT_TRUE(emu_has_image(&self->e, u, 900));
	/* by hand (systemctl start dfu-recovery@dfuN) */
	EXPECT_EQ(0, run_sh(DFUCTL " recover %s --config " CONF " 2>" ERR, self->e.node)) {
		run_sh("cat " ERR " >&2");
	}
	EXPECT_EQ(2, emu_stat(&self->e, "manifests"));
	EXPECT_TRUE(emu_has_image(&self->e, r, 900));
	free(u);
	free(r);
}

/*
 * The race itself: a user flashes a listed run-time device with --detach.
 * The DETACH brings it back in DFU mode, and the recovery service starts
 * at once (here: a process that runs dfuctl recover the moment the node
 * appears). Recovery steps aside; the user's image is the one flashed.
 */
TEST_F_TIMEOUT(rec, user_flash_detach_not_raced, 90)
{
	const char *user = "/tmp/rec-user-rt.dfu", *recov = "/tmp/rec-recovery.dfu";
	unsigned char *u = make_image(user, 4000, 30, "1209", "a001");
	unsigned char *r = make_image(recov, 4000, 31, "1209", "a002");
	char rt_node[32];
	pid_t watcher;
	int st;

	ASSERT_NE(NULL, u);
	ASSERT_NE(NULL, r);
	ASSERT_EQ(0, emu_start(&self->e, "--runtime", "--pid", "a001", "--dfu-pid", "a002",
			       "--transfer-size", "256", NULL));
	snprintf(rt_node, sizeof(rt_node), "%s", self->e.node);
	ASSERT_EQ(0, write_conf("a002", recov, self->e.serial, ""));
	watcher = fork();
	ASSERT_LE(0, watcher);
	if (!watcher) {
		/* udev + systemd: dfuctl recover on the DFU-mode node, at once */
		long long t0 = now_us();

		while (ms_since(t0) < 20000) {
			DIR *d = opendir("/sys/class/dfu");
			struct dirent *de;

			while (d && (de = readdir(d))) {
				char p[PATH_MAX], v[200];

				if (strncmp(de->d_name, "dfu", 3))
					continue;
				snprintf(p, sizeof(p), "/sys/class/dfu/%s/device/../serial", de->d_name);
				if (read_sysfs(p, v, sizeof(v)) || strcmp(v, self->e.serial))
					continue;
				snprintf(p, sizeof(p), "/sys/class/dfu/%s/device/../idProduct", de->d_name);
				if (read_sysfs(p, v, sizeof(v)) || strcmp(v, "a002"))
					continue;
				closedir(d);
				_exit(run_sh(DFUCTL " recover /dev/%s --config " CONF " 2>/tmp/rec-svc.err",
					     de->d_name));
			}
			if (d)
				closedir(d);
			usleep(2000);
		}
		_exit(99);
	}
	EXPECT_EQ(0, run_sh(DFUCTL " flash --detach %s %s 2>" ERR, user, rt_node)) {
		run_sh("cat " ERR " >&2");
	}
	ASSERT_EQ(watcher, waitpid(watcher, &st, 0));
	EXPECT_TRUE(WIFEXITED(st));
	EXPECT_EQ(0, WEXITSTATUS(st)) {
		run_sh("cat /tmp/rec-svc.err >&2");
	}
	/*
	 * while the flash runs, recover finds the lock held; when the flash
	 * was over first, it finds the device the flash left on the port
	 */
	EXPECT_EQ(0, run_sh("grep -qE 'a user is flashing it \\(dfuctl flash \\(pid [0-9]+\\) holds|a user flashed it \\(dfuctl flash, pid [0-9]+\\) and it did not re-enumerate since' /tmp/rec-svc.err")) {
		run_sh("cat /tmp/rec-svc.err >&2");
	}
	run_sh("sed 's/^/# service: /' /tmp/rec-svc.err");
	EXPECT_EQ(1, emu_stat(&self->e, "manifests"));
	EXPECT_TRUE(emu_has_image(&self->e, u, 4000));
	free(u);
	free(r);
}

TEST_HARNESS_MAIN
