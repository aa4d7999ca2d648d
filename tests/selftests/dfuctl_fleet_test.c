// SPDX-License-Identifier: GPL-2.0
/*
 * dfuctl_fleet_test - dfuctl flash --all and dfuctl upload --all: many
 * devices at once, as a production line flashes them.
 *
 * Eight emulated devices flashed with --all, one of which fails mid-image
 * (errWRITE) and one of which is unplugged mid-image: the six others get
 * the image byte for byte, the exit is the worst code (74), and both bad
 * devices are named in the summary and in the JSON lines (jq reads them).
 * --jobs 2 keeps at most two downloads running at once (the driver's
 * sysfs state of each device, sampled while dfuctl runs; without --jobs
 * more run at once, which shows the sampling sees it). upload --all DIR
 * writes one file per device named by its serial (escaped; duplicate
 * serials get the USB port), each the device's image, and never
 * overwrites them. A run-time device is named and refused without
 * --detach, and flashed with it. DfuSe devices report their bytes too.
 *
 * Needs eight dummy_hcd ports (DUMMY_HCD_NUM=8): dummy_udc.0 to .7; with
 * fewer, the tests that need more are skipped.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "emu.h"

#define DFUCTL		"/payload/dfuctl"
#define JQ		"/payload/jq -e"
#define ERR		"/tmp/fleet.err"
#define OUT		"/tmp/fleet.json"
#define IMG		"/tmp/fleet.bin"
#define IMG_LEN		(64 * 1024)
/* the fleet's product ID: --device 1209:f1e0 takes them and nothing else */
#define PID		"f1e0"
#define IDS		"1209:" PID
/* sysexits.h */
#define EX_USAGE	64
#define EX_CANTCREAT	73
#define EX_IOERR	74

static void show(const char *path)
{
	run_sh("sed 's/^/# /' %s >&2", path);
}

/* The USB port (sysfs name, 1-1) of a node's device. */
static const char *port_of_sysfs(const char *sysfs, char *buf, size_t size)
{
	char path[128], real[PATH_MAX];

	snprintf(path, sizeof(path), "%s/device/..", sysfs);
	if (!realpath(path, real))
		return "?";
	snprintf(buf, size, "%s", basename(real));
	return buf;
}

static int udcs(void)
{
	char path[64];
	int n = 0;

	for (;;) {
		snprintf(path, sizeof(path), "/sys/class/udc/dummy_udc.%d", n);
		if (access(path, F_OK))
			return n;
		n++;
	}
}

/* A device of the fleet on dummy_udc.k, with serial and up to four more arguments. */
static int start_on(struct emu *e, int k, const char *serial, const char *a1, const char *a2,
		    const char *a3, const char *a4)
{
	char udc[32];

	snprintf(udc, sizeof(udc), "dummy_udc.%d", k);
	return emu_start_serial(e, 1, serial, "--pid", PID, "--udc-device", udc, a1, a2, a3, a4,
				NULL);
}

/* Is the driver in the middle of a download on e (its last seen state)? */
static int downloading(struct emu *e)
{
	char st[32];

	if (read_attr(e, "state", st, sizeof(st)))
		return 0;
	return !strncmp(st, "dfuDN", 5) || !strncmp(st, "dfuMANIFEST", 11);
}

/* "dfu dfuN: download failed at block REST", the driver's line for e */
static const char *dfu_failed(struct emu *e, const char *rest)
{
	static char ere[256];

	snprintf(ere, sizeof(ere), "dfu %s: download failed at block %s", e->node + 5, rest);
	return ere;
}

/* the bad devices of flash_all_survives */
#define FAIL_K	2
#define GONE_K	5

/*
 * Eight devices: one reports errWRITE at block 4 of 16, one is unplugged
 * (its emulator stopped) while its slow download runs. The others are
 * flashed, and dfuctl names the two, in the summary and in JSON.
 */
TEST(flash_all_survives)
{
	struct emu e[8];
	char serial[8][64], port[8][64], mark[32];
	unsigned char *img;
	int k, rc, waited;
	pid_t pid;

	if (udcs() < 8)
		SKIP(return, "needs eight dummy_hcd ports (DUMMY_HCD_NUM=8), has %d", udcs());
	img = make_pattern_file(IMG, IMG_LEN, 15);
	ASSERT_NE(NULL, img);
	/* a suffix for the fleet's IDs: judged against each device, stripped */
	ASSERT_EQ(0, run_sh(DFUCTL " suffix add " IMG " --vid 1209 --pid " PID " >/dev/null"));
	for (k = 0; k < 8; k++) {
		/* one serial that needs escaping in messages and JSON */
		snprintf(serial[k], sizeof(serial[k]), k == 7 ? "FL\"%d\t%d" : "FL%d-%d",
			 (int)getpid(), k);
		if (k == FAIL_K)
			rc = start_on(&e[k], k, serial[k], "--fail-status", "3@4", NULL, NULL);
		else if (k == GONE_K)
			rc = start_on(&e[k], k, serial[k], "--poll-ms", "150", NULL, NULL);
		else
			rc = start_on(&e[k], k, serial[k], NULL, NULL, NULL, NULL);
		ASSERT_EQ(0, rc);
		port_of_sysfs(e[k].sysfs, port[k], sizeof(port[k]));
	}
	ASSERT_EQ(0, write_file("/tmp/fleet-s7", serial[7], strlen(serial[7])));
	snprintf(mark, sizeof(mark), "fleet-%d", (int)getpid());
	mark_kmsg(mark);
	pid = bg(DFUCTL " flash " IMG " --all --device " IDS " --json >" OUT " 2>" ERR);
	for (waited = 0; waited < 30000 && !downloading(&e[GONE_K]); waited += 10)
		sleep_ms(10);
	EXPECT_TRUE(downloading(&e[GONE_K]));
	/* unplugged mid-image: 16 blocks of 150 ms, a few of them done */
	sleep_ms(600);
	emu_stop(&e[GONE_K]);
	rc = bg_wait(pid, 60000);
	EXPECT_EQ(EX_IOERR, rc) {
		show(ERR);
	}
	for (k = 0; k < 8; k++) {
		if (k == FAIL_K || k == GONE_K)
			continue;
		EXPECT_TRUE(emu_has_image(&e[k], img, IMG_LEN)) {
			fprintf(stderr, "# %s (%s) does not hold the image\n", e[k].node, serial[k]);
		}
	}
	/*
	 * The driver saw both fail in the middle of the image: the unplugged
	 * one as gone (ENODEV, 69), or, when the transfer failed before the
	 * hub saw the disconnect, as a USB error (EIO, 74).
	 */
	EXPECT_TRUE(kmsg_since(mark, dfu_failed(&e[GONE_K], "[1-9][0-9]* after [1-9][0-9]* bytes: ")));
	EXPECT_TRUE(kmsg_since(mark, dfu_failed(&e[FAIL_K], "4 after 16384 bytes: .*errWRITE")));
	/* nothing manifested on the device that failed */
	EXPECT_EQ(0, emu_stat(&e[FAIL_K], "manifests"));
	EXPECT_TRUE(has(ERR, "dfuctl flash: FAILED: %s (serial \"%s\", USB port %s): exit %d",
			e[FAIL_K].node, serial[FAIL_K], port[FAIL_K], EX_IOERR));
	EXPECT_EQ(0, run_sh("grep -qE '^dfuctl flash: FAILED: %s \\(serial \"%s\", USB port %s\\): exit (69|74): ' " ERR,
			    e[GONE_K].node, serial[GONE_K], port[GONE_K])) {
		show(ERR);
	}
	EXPECT_TRUE(has(ERR, "dfuctl flash: 6 of 8 devices flashed, 2 failed (exit %d)\n",
			EX_IOERR));
	/* every message names the command; the odd serial is escaped */
	EXPECT_EQ(1, run_sh("grep -v '^dfuctl flash: ' " ERR " >&2"));
	EXPECT_TRUE(has(ERR, "(serial \"FL\\\"%d\\t7\", USB port %s): flashed: %d bytes",
			(int)getpid(), port[7], IMG_LEN));
	/* one JSON object a line, one a device */
	EXPECT_EQ(0, run_sh("test \"$(wc -l < " OUT ")\" -eq 8")) {
		show(OUT);
	}
	EXPECT_EQ(0, run_sh(JQ " -s --rawfile s7 /tmp/fleet-s7 '"
			    "length == 8 and ([.[] | select(.result == \"ok\")] | length) == 6 and "
			    "([.[] | select(.result == \"failed\") | .serial] | sort) == ([\"%s\", \"%s\"] | sort) and "
			    "(.[] | select(.serial == \"%s\") | .exit == %d and .node == \"%s\" and .usb_path == \"%s\" and (.error | length > 0)) and "
			    "(.[] | select(.serial == \"%s\") | (.exit == 69 or .exit == 74) and .node == \"%s\") and "
			    "(.[] | select(.serial == $s7) | .result == \"ok\" and .bytes == %d and .total == %d)' " OUT " >/dev/null",
			    serial[FAIL_K], serial[GONE_K], serial[FAIL_K], EX_IOERR, e[FAIL_K].node,
			    port[FAIL_K], serial[GONE_K], e[GONE_K].node, IMG_LEN,
			    IMG_LEN)) {
		show(OUT);
	}
	for (k = 0; k < 8; k++)
		if (k != GONE_K)
			emu_stop(&e[k]);
	free(img);
}

/*
 * Flash the n devices with these dfuctl options while sampling how many
 * download at once; returns the most seen, or -1 when dfuctl failed.
 */
static int most_at_once(struct emu *e, int n, const char *opts)
{
	int most = 0, now, k, rc;
	pid_t pid;

	pid = bg(DFUCTL " flash " IMG " --all --device " IDS " %s 2>" ERR, opts);
	while (bg_running(pid)) {
		for (k = 0, now = 0; k < n; k++)
			now += downloading(&e[k]);
		if (now > most)
			most = now;
		sleep_ms(5);
	}
	rc = bg_wait(pid, 1000);
	if (rc) {
		fprintf(stderr, "# dfuctl flash %s: exit %d\n", opts, rc);
		show(ERR);
		return -1;
	}
	return most;
}

/* --jobs 2: never more than two at once; without it, more. */
TEST(jobs_limit)
{
	unsigned char *img;
	char serial[64];
	struct emu e[4];
	int k, most;

	if (udcs() < 4)
		SKIP(return, "needs four dummy_hcd ports (DUMMY_HCD_NUM=4), has %d", udcs());
	img = make_pattern_file(IMG, IMG_LEN, 16);
	ASSERT_NE(NULL, img);
	for (k = 0; k < 4; k++) {
		snprintf(serial, sizeof(serial), "JB%d-%d", (int)getpid(), k);
		/* 16 blocks of at least 40 ms: long enough to be seen */
		ASSERT_EQ(0, start_on(&e[k], k, serial, "--poll-ms", "40", NULL, NULL));
	}
	most = most_at_once(e, 4, "--jobs 2");
	EXPECT_GE(most, 1);
	EXPECT_LE(most, 2);
	for (k = 0; k < 4; k++)
		EXPECT_TRUE(emu_has_image(&e[k], img, IMG_LEN));
	fprintf(stderr, "# --jobs 2: at most %d at once\n", most);
	free(img);
	img = make_pattern_file(IMG, IMG_LEN, 17);
	ASSERT_NE(NULL, img);
	most = most_at_once(e, 4, "");
	EXPECT_GE(most, 3);
	for (k = 0; k < 4; k++)
		EXPECT_TRUE(emu_has_image(&e[k], img, IMG_LEN));
	fprintf(stderr, "# without --jobs: at most %d at once\n", most);
	for (k = 0; k < 4; k++)
		emu_stop(&e[k]);
	free(img);
}

/* The node of another device with this serial than not_node, into e. */
static int other_node(struct emu *e, const char *serial, const char *not_node)
{
	char path[320], buf[192];
	struct dirent *de;
	int found = -1;
	DIR *d;

	d = opendir("/sys/class/dfu");
	if (!d)
		return -1;
	while (found && (de = readdir(d))) {
		if (strncmp(de->d_name, "dfu", 3))
			continue;
		snprintf(path, sizeof(path), "/sys/class/dfu/%s/device/../serial", de->d_name);
		if (read_sysfs(path, buf, sizeof(buf)) || strcmp(buf, serial))
			continue;
		snprintf(path, sizeof(path), "/dev/%.16s", de->d_name);
		if (!strcmp(path, not_node))
			continue;
		snprintf(e->node, sizeof(e->node), "/dev/%.16s", de->d_name);
		snprintf(e->sysfs, sizeof(e->sysfs), "/sys/class/dfu/%.16s", de->d_name);
		found = 0;
	}
	closedir(d);
	return found;
}

/* Is the file exactly these bytes? Says what differs when not. */
static int file_is(const char *path, const unsigned char *want, size_t len)
{
	size_t got_len;
	unsigned char *got = read_file(path, &got_len);
	int same = got && got_len == len && !memcmp(got, want, len);

	if (!same)
		fprintf(stderr, "# %s: %s, %zu bytes, wanted %zu\n", path,
			got ? "differs" : strerror(errno), got ? got_len : 0, len);
	free(got);
	return same;
}

/*
 * upload --all DIR: one file per device, named by its serial (escaped),
 * with the USB port for two devices with the same serial; run again, it
 * overwrites none of them and says so for each.
 */
TEST(upload_all)
{
	static const size_t len[4] = { 10000, 4096, 7000, 3 };
	char serial[4][64], file[4][PATH_MAX], port[64], dir[64], path[PATH_MAX];
	unsigned char *img[4];
	struct emu e[4];
	int k, waited;

	if (udcs() < 4)
		SKIP(return, "needs four dummy_hcd ports (DUMMY_HCD_NUM=4), has %d", udcs());
	snprintf(dir, sizeof(dir), "/tmp/fleet-up-%d", (int)getpid());
	ASSERT_EQ(0, run_sh("rm -rf %s && mkdir %s", dir, dir));
	snprintf(serial[0], sizeof(serial[0]), "UP%d", (int)getpid());
	snprintf(serial[1], sizeof(serial[1]), ".U p/%d%%", (int)getpid());
	snprintf(serial[2], sizeof(serial[2]), "DUP%d", (int)getpid());
	snprintf(serial[3], sizeof(serial[3]), "DUP%d", (int)getpid());
	for (k = 0; k < 4; k++) {
		snprintf(path, sizeof(path), "/tmp/fleet-up%d.bin", k);
		img[k] = make_pattern_file(path, len[k], 30 + k);
		ASSERT_NE(NULL, img[k]);
		ASSERT_EQ(0, start_on(&e[k], k, serial[k], "--image", path, NULL, NULL));
	}
	/* the second DUP device: emu_start_serial() may have found the first */
	for (waited = 0; waited < 20000 && other_node(&e[3], serial[3], e[2].node); waited += 10)
		sleep_ms(10);
	ASSERT_NE(0, strcmp(e[2].node, e[3].node));
	snprintf(file[0], sizeof(file[0]), "%s/UP%d.bin", dir, (int)getpid());
	snprintf(file[1], sizeof(file[1]), "%s/%%2EU%%20p%%2F%d%%25.bin", dir, (int)getpid());
	snprintf(file[2], sizeof(file[2]), "%s/DUP%d@%s.bin", dir, (int)getpid(),
		 port_of_sysfs(e[2].sysfs, port, sizeof(port)));
	snprintf(file[3], sizeof(file[3]), "%s/DUP%d@%s.bin", dir, (int)getpid(),
		 port_of_sysfs(e[3].sysfs, port, sizeof(port)));

	EXPECT_EQ(0, run_sh(DFUCTL " upload --all %s --device " IDS " --json >" OUT " 2>" ERR,
			    dir)) {
		show(ERR);
	}
	/* which emulator holds which image: by its port (e[3] may be e[2]'s twin) */
	for (k = 0; k < 4; k++)
		EXPECT_TRUE(file_is(file[k], img[k], len[k]));
	/* nothing else: no temporary file left */
	EXPECT_EQ(0, run_sh("test \"$(ls -A %s | wc -l)\" -eq 4", dir)) {
		run_sh("ls -lA %s >&2", dir);
	}
	EXPECT_TRUE(has(ERR, "dfuctl upload: all 4 devices uploaded"));
	EXPECT_EQ(0, run_sh(JQ " -s '[.[] | select(.result == \"ok\") | .file] | sort == ([\"%s\", \"%s\", \"%s\", \"%s\"] | sort)' " OUT " >/dev/null",
			    file[0], file[1], file[2], file[3])) {
		show(OUT);
	}
	/* again: every file is there, none is overwritten */
	EXPECT_EQ(EX_CANTCREAT, run_sh(DFUCTL " upload --all %s --device " IDS " 2>" ERR, dir));
	EXPECT_TRUE(has(ERR, "dfuctl upload: 0 of 4 devices uploaded, 4 failed (exit %d)",
			EX_CANTCREAT));
	EXPECT_TRUE(has(ERR, "dfuctl upload: FAILED: %s (serial \"%s\", USB port %s): exit %d: %s: File exists",
			e[2].node, serial[2], port_of_sysfs(e[2].sysfs, port, sizeof(port)),
			EX_CANTCREAT, file[2]));
	for (k = 0; k < 4; k++) {
		EXPECT_TRUE(file_is(file[k], img[k], len[k]));
		free(img[k]);
	}
	EXPECT_EQ(0, run_sh("test \"$(ls -A %s | wc -l)\" -eq 4", dir));
	for (k = 0; k < 4; k++)
		emu_stop(&e[k]);
	run_sh("rm -rf %s", dir);
}

/*
 * A run-time device among them: without --detach it is named and refused
 * (64) and the others are flashed; with --detach it is flashed too.
 */
TEST(runtime_device)
{
	char serial[2][64], port[64];
	unsigned char *img;
	struct emu e[2];
	int rc;

	if (udcs() < 2)
		SKIP(return, "needs two dummy_hcd ports (DUMMY_HCD_NUM=2), has %d", udcs());
	img = make_pattern_file(IMG, 5000, 18);
	ASSERT_NE(NULL, img);
	snprintf(serial[0], sizeof(serial[0]), "RD%d", (int)getpid());
	snprintf(serial[1], sizeof(serial[1]), "RR%d", (int)getpid());
	ASSERT_EQ(0, start_on(&e[0], 0, serial[0], NULL, NULL, NULL, NULL));
	ASSERT_EQ(0, start_on(&e[1], 1, serial[1], "--runtime", "--detach-timeout", "500", NULL));
	port_of_sysfs(e[1].sysfs, port, sizeof(port));
	rc = run_sh(DFUCTL " flash " IMG " --all --device " IDS " 2>" ERR);
	EXPECT_EQ(EX_USAGE, rc) {
		show(ERR);
	}
	EXPECT_TRUE(emu_has_image(&e[0], img, 5000));
	EXPECT_EQ(0, emu_stat(&e[1], "detaches"));
	EXPECT_TRUE(has(ERR, "dfuctl flash: FAILED: %s (serial \"%s\", USB port %s): exit %d: %s is in run-time mode: add --detach",
			e[1].node, serial[1], port, EX_USAGE, e[1].node));
	free(img);
	img = make_pattern_file(IMG, 5000, 19);
	ASSERT_NE(NULL, img);
	rc = run_sh(DFUCTL " flash " IMG " --all --detach --device " IDS " 2>" ERR);
	EXPECT_EQ(0, rc) {
		show(ERR);
	}
	EXPECT_TRUE(has(ERR, "dfuctl flash: all 2 devices flashed"));
	EXPECT_TRUE(emu_has_image(&e[0], img, 5000));
	EXPECT_TRUE(emu_has_image(&e[1], img, 5000));
	emu_stop(&e[0]);
	emu_stop(&e[1]);
	free(img);
}

/*
 * Two ST DfuSe devices (dfu-emu --dfuse stm32f4) flashed with --all and a
 * DfuSe file: each gets the element at its address, and the summary and
 * the JSON lines give the bytes written, as for plain DFU devices.
 */
TEST(dfuse_all_reports_bytes)
{
	const char *el = "/tmp/fleet-el.bin", *dfu = "/tmp/fleet.dfu";
	const size_t len = 40000;
	unsigned char *img, *f;
	struct emu e[2];
	char udc[32];
	size_t flen;
	int k;

	if (udcs() < 2)
		SKIP(return, "needs two dummy_hcd ports (DUMMY_HCD_NUM=2), has %d", udcs());
	img = make_pattern_file(el, len, 24);
	ASSERT_NE(NULL, img);
	ASSERT_EQ(0, run_sh(DFUCTL " dfuse pack %s %s@0x08000000 --device 0483:df11 >/dev/null",
			    dfu, el));
	for (k = 0; k < 2; k++) {
		snprintf(udc, sizeof(udc), "dummy_udc.%d", k);
		ASSERT_EQ(0, emu_start_dfuse(&e[k], "stm32f4", "--udc-device", udc, NULL));
	}
	EXPECT_EQ(0, run_sh(DFUCTL " flash %s --all --device 0483:df11 --json >" OUT " 2>" ERR,
			    dfu)) {
		show(ERR);
	}
	for (k = 0; k < 2; k++) {
		EXPECT_EQ((long)len, emu_stat(&e[k], "dfuse_write_bytes"));
		EXPECT_TRUE(has(ERR, "(serial \"%s\", USB port ", e[k].serial));
	}
	EXPECT_EQ(0, run_sh("test \"$(grep -c 'flashed: %zu bytes' " ERR ")\" -eq 2", len)) {
		show(ERR);
	}
	EXPECT_EQ(0, run_sh(JQ " -s 'length == 2 and all(.[]; .result == \"ok\" and "
			    ".bytes == %zu and .total == %zu)' " OUT " >/dev/null", len, len)) {
		show(OUT);
	}
	for (k = 0; k < 2; k++) {
		emu_stop(&e[k]);
		f = emu_flash(&e[k], &flen);
		ASSERT_NE(NULL, f);
		EXPECT_TRUE(flen >= len && !memcmp(f, img, len));
		free(f);
	}
	free(img);
}

TEST_HARNESS_MAIN
