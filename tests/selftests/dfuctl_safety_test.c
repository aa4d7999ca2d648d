// SPDX-License-Identifier: GPL-2.0
/*
 * dfuctl_safety_test - dfuctl against emulated devices, where a mistake
 * costs data or trust:
 *  - upload: a backup is whole or absent. Killed half-way (SIGINT,
 *    SIGTERM) or failed (the device vanishes, stalls an UPLOAD), it leaves
 *    no FILE and no temporary file; a good one is exactly the image;
 *  - numbers: --size 010 is ten bytes;
 *  - flash --detach with a file for another device is refused before the
 *    DETACH (the emulator counts none, the node stays in run-time mode);
 *  - list and list --json: device strings (a serial with ESC, BEL, quote
 *    and backslash; alt names with a newline, ESC, a C1 CSI) come out
 *    escaped, the alt settings are the device's and no more, and the JSON
 *    is valid (jq reads it, /payload/jq).
 * DFUCTL in the environment names the dfuctl to test (default
 * /payload/dfuctl).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "emu.h"

/* sysexits.h */
#define EX_USAGE	64
#define EX_DATAERR	65

static const char *dfuctl(void)
{
	const char *p = getenv("DFUCTL");

	return p && *p ? p : "/payload/dfuctl";
}

/* A fresh, empty directory for one test's backups. */
static void fresh_dir(const char *dir)
{
	run_sh("rm -rf '%s'", dir);
	mkdir(dir, 0755);
}

/* How many entries (but . and ..) the directory holds; names them on stderr. */
static int entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		fprintf(stderr, "# %s holds %s\n", dir, de->d_name);
		n++;
	}
	closedir(d);
	return n;
}

/* The name of the temporary file dfuctl made in dir (".NAME.dfuctl-..."), or -1. */
static int find_tmp(const char *dir, char *name, size_t size)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int found = -1;

	if (!d)
		return -1;
	while ((de = readdir(d)))
		if (strstr(de->d_name, ".dfuctl-") &&
		    (size_t)snprintf(name, size, "%.64s/%.200s", dir, de->d_name) < size) {
			found = 0;
			break;
		}
	closedir(d);
	return found;
}

/* Start "dfuctl upload FILE NODE" in the background; its pid. */
static pid_t spawn_upload(const char *file, const char *node)
{
	pid_t pid = fork();

	if (!pid) {
		int fd = open("/tmp/safety-upload.err", O_WRONLY | O_CREAT | O_TRUNC, 0644);

		if (fd >= 0)
			dup2(fd, 2);
		execl(dfuctl(), "dfuctl", "upload", file, node, (char *)NULL);
		_exit(127);
	}
	return pid;
}

/*
 * Upload from a slow device (each UPLOAD answered after 100 ms), and send
 * sig once the temporary file exists and the device has answered a few
 * UPLOADs: dfuctl dies of the signal, and leaves nothing.
 */
static void killed_upload(struct __test_metadata *_metadata, int sig)
{
	const char *dir = "/tmp/safety-killed", *img_path = "/tmp/safety-killed.img";
	unsigned char *img = make_pattern_file(img_path, 64 * 1024, 21);
	char file[128], tmp[300];
	struct emu e;
	int status, i;
	pid_t pid;

	ASSERT_NE(NULL, img);
	fresh_dir(dir);
	snprintf(file, sizeof(file), "%s/backup.bin", dir);
	ASSERT_EQ(0, emu_start(&e, "--image", img_path, "--transfer-size", "1024",
			       "--upload-ms", "100", NULL));
	pid = spawn_upload(file, e.node);
	ASSERT_GT(pid, 0);
	/* 64 blocks at 100 ms: the signal comes while the upload runs */
	for (i = 0; i < 200 && emu_stat(&e, "upload_requests") < 4; i++)
		sleep_ms(50);
	EXPECT_EQ(0, find_tmp(dir, tmp, sizeof(tmp))) {
		TH_LOG("no temporary file in %s", dir);
		snprintf(tmp, sizeof(tmp), "%s/.none", dir);
	}
	EXPECT_GE(emu_stat(&e, "upload_requests"), 4);
	EXPECT_EQ(pid, waitpid(pid, &status, WNOHANG) == 0 ? pid : -1) {
		TH_LOG("dfuctl ended before the signal");
	}
	kill(pid, sig);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == sig) {
		TH_LOG("dfuctl: status 0x%x, not killed by signal %d", status, sig);
		run_sh("cat /tmp/safety-upload.err >&2");
	}
	EXPECT_NE(0, access(file, F_OK)) {
		TH_LOG("%s exists after the signal", file);
	}
	EXPECT_NE(0, access(tmp, F_OK)) {
		TH_LOG("%s left behind", tmp);
	}
	EXPECT_EQ(0, entries(dir));
	/* the device is still usable: a whole upload now gives the image */
	EXPECT_EQ(0, run_sh("%s upload %s %s 2>/dev/null", dfuctl(), file, e.node));
	EXPECT_EQ(0, run_sh("cmp -s %s %s", img_path, file));
	EXPECT_EQ(1, entries(dir));
	emu_stop(&e);
	free(img);
}

TEST(upload_sigint_leaves_nothing)
{
	killed_upload(_metadata, SIGINT);
}

TEST(upload_sigterm_leaves_nothing)
{
	killed_upload(_metadata, SIGTERM);
}

/* A good upload: exactly the image, no temporary file, mode 0644 less umask. */
TEST(upload_good_is_the_image)
{
	const char *dir = "/tmp/safety-good", *img_path = "/tmp/safety-good.img";
	unsigned char *img = make_pattern_file(img_path, 10000, 22);
	char file[128];
	struct stat st;
	struct emu e;

	ASSERT_NE(NULL, img);
	fresh_dir(dir);
	snprintf(file, sizeof(file), "%s/backup.bin", dir);
	ASSERT_EQ(0, emu_start(&e, "--image", img_path, "--transfer-size", "512", NULL));
	EXPECT_EQ(0, run_sh("umask 027; %s upload %s %s 2>/dev/null", dfuctl(), file, e.node));
	EXPECT_EQ(0, run_sh("cmp %s %s", img_path, file));
	EXPECT_EQ(1, entries(dir));
	ASSERT_EQ(0, stat(file, &st));
	EXPECT_EQ(0640u, st.st_mode & 07777u);
	/* never overwritten, and nothing is asked of the device for it */
	EXPECT_EQ(73, run_sh("%s upload %s %s 2>/dev/null", dfuctl(), file, e.node));
	EXPECT_EQ(0, run_sh("cmp -s %s %s", img_path, file));
	EXPECT_EQ(1, entries(dir));
	/* --size 010 is ten bytes, not eight */
	snprintf(file, sizeof(file), "%s/ten.bin", dir);
	EXPECT_EQ(0, run_sh("%s upload %s %s --size 010 2>/dev/null", dfuctl(), file, e.node));
	EXPECT_EQ(0, run_sh("test $(stat -c %%s %s) -eq 10 && cmp -s -n 10 %s %s", file, file,
			    img_path));
	snprintf(file, sizeof(file), "%s/hex.bin", dir);
	EXPECT_EQ(0, run_sh("%s upload %s %s --size 0x10 2>/dev/null", dfuctl(), file, e.node));
	EXPECT_EQ(0, run_sh("test $(stat -c %%s %s) -eq 16", file));
	EXPECT_EQ(3, entries(dir));
	emu_stop(&e);
	free(img);
}

/* An upload the device breaks off: non-zero exit, no FILE, no temporary file. */
static void failed_upload(struct __test_metadata *_metadata, const char *opt,
			  const char *arg)
{
	const char *dir = "/tmp/safety-failed", *img_path = "/tmp/safety-failed.img";
	unsigned char *img = make_pattern_file(img_path, 32 * 1024, 23);
	char file[128];
	struct emu e;
	int st;

	ASSERT_NE(NULL, img);
	fresh_dir(dir);
	snprintf(file, sizeof(file), "%s/backup.bin", dir);
	ASSERT_EQ(0, emu_start(&e, "--image", img_path, "--transfer-size", "1024", opt, arg,
			       NULL));
	st = run_sh("%s upload %s %s 2>/tmp/safety-upload.err", dfuctl(), file, e.node);
	EXPECT_NE(0, st);
	EXPECT_TRUE(st == 74 || st == 69) {
		TH_LOG("%s %s: exit %d, want 74 (I/O) or 69 (gone)", opt, arg, st);
	}
	EXPECT_EQ(0, run_sh("grep -q 'was not created' /tmp/safety-upload.err")) {
		run_sh("cat /tmp/safety-upload.err >&2");
	}
	EXPECT_NE(0, access(file, F_OK));
	EXPECT_EQ(0, entries(dir));
	emu_stop(&e);
	free(img);
}

TEST(upload_device_vanishes)
{
	failed_upload(_metadata, "--disconnect-upload-at", "5");
}

TEST(upload_device_stalls)
{
	failed_upload(_metadata, "--stall", "upload@5");
}

/*
 * A run-time device (1209:df00, 1209:df0d in DFU mode): a file whose suffix
 * names another device is refused before the DETACH. With --device
 * RUNTIME,DFU the DFU-mode IDs are known beforehand: a file for them
 * flashes, a file for others is refused too.
 */
TEST(detach_refuses_a_file_for_another_device)
{
	const char *other = "/tmp/safety-other.dfu", *dfu = "/tmp/safety-dfu.dfu";
	unsigned char *img = make_pattern_file(other, 3000, 24);
	struct emu e;
	char mode[16];

	ASSERT_NE(NULL, img);
	free(img);
	img = make_pattern_file(dfu, 3000, 25);
	ASSERT_NE(NULL, img);
	ASSERT_EQ(0, run_sh("%s suffix add %s --vid 1234 --pid 5678 >/dev/null", dfuctl(), other));
	ASSERT_EQ(0, run_sh("%s suffix add %s --vid 1209 --pid df0d >/dev/null", dfuctl(), dfu));
	ASSERT_EQ(0, emu_start(&e, "--runtime", "--dfu-pid", "df0d", NULL));

	EXPECT_EQ(EX_DATAERR, run_sh("%s flash %s %s --detach 2>/tmp/safety-flash.err",
				     dfuctl(), other, e.node));
	EXPECT_EQ(0, run_sh("grep -q 'the device was not detached' /tmp/safety-flash.err")) {
		run_sh("cat /tmp/safety-flash.err >&2");
	}
	EXPECT_EQ(0, emu_stat(&e, "detaches"));
	EXPECT_EQ(0, read_attr(&e, "mode", mode, sizeof(mode)));
	EXPECT_STREQ("runtime", mode);

	/* the DFU-mode IDs given, and the file for neither */
	EXPECT_EQ(EX_DATAERR, run_sh("%s flash %s %s --detach --device 1209:df00,1209:df0e 2>/tmp/safety-flash.err",
				     dfuctl(), dfu, e.node));
	EXPECT_EQ(0, emu_stat(&e, "detaches"));
	EXPECT_EQ(0, read_attr(&e, "mode", mode, sizeof(mode)));
	EXPECT_STREQ("runtime", mode);

	/* the DFU-mode IDs given, and the file for them: flashed */
	EXPECT_EQ(0, run_sh("%s flash %s %s --detach --device 1209:df00,1209:df0d 2>/tmp/safety-flash.err",
			    dfuctl(), dfu, e.node)) {
		run_sh("cat /tmp/safety-flash.err >&2");
	}
	EXPECT_EQ(1, emu_stat(&e, "detaches"));
	EXPECT_TRUE(emu_has_image(&e, img, 3000));
	emu_stop(&e);
	free(img);
}

/*
 * A file whose valid suffix is followed by a newline (an editor, echo >>)
 * has no valid suffix at its end; flashed, its suffix and the newline
 * would become firmware. flash refuses it and sends nothing.
 */
TEST(flash_refuses_a_suffix_with_bytes_after_it)
{
	const char *f = "/tmp/safety-trailing.dfu";
	unsigned char *img = make_pattern_file(f, 2000, 26);
	struct emu e;

	ASSERT_NE(NULL, img);
	ASSERT_EQ(0, run_sh("%s suffix add %s --vid 1209 --pid df00 >/dev/null && echo >>%s",
			    dfuctl(), f, f));
	ASSERT_EQ(0, emu_start(&e, NULL));
	EXPECT_EQ(EX_DATAERR, run_sh("%s flash %s %s 2>/tmp/safety-flash.err", dfuctl(), f,
				     e.node)) {
		run_sh("cat /tmp/safety-flash.err >&2");
	}
	EXPECT_EQ(0, run_sh("grep -q 'followed by more bytes' /tmp/safety-flash.err")) {
		run_sh("cat /tmp/safety-flash.err >&2");
	}
	emu_stop(&e);
	EXPECT_EQ(0, emu_stat(&e, "dnload_requests"));
	free(img);
}

/* a real JSON parser (tests/payload.sh copies the host's jq) */
#define JQ	"/payload/jq"

/* list --json of list_escapes_device_strings: true when all is as sent */
static const char jq_prog[] =
	"[.[] | select(.node == $node)] | length == 1 and\n"
	".[0].serial == \"S\\u001b[2J\\u001b]0;owned\\u0007\\\"q\\\\b\" and\n"
	"[.[0].alts[].name] == [\"Flash?1 Evil\", \"X?[31m\\u009b31mY\"]\n";

/* The file holds none of these bytes: ESC, BEL, C1 CSI (C2 9B). */
static int no_controls(const char *path)
{
	return run_sh("! LC_ALL=C grep -q \"$(printf '\\033\\\\|\\007\\\\|\\302\\233')\" %s", path);
}

/*
 * A serial number with ESC sequences (clear the screen, retitle the
 * terminal), BEL, a quote and a backslash; alt names with a newline (which
 * could fake an alt setting line), ESC and a C1 CSI (0x9b, sent as U+009B):
 * list shows them escaped, exactly two alt settings, and list --json is
 * valid JSON with the strings as the device sent them.
 */
TEST(list_escapes_device_strings)
{
	const char *serial = "S\033[2J\033]0;owned\007\"q\\b";
	char names[256];
	struct emu e;

	ASSERT_EQ(0, emu_start_serial(&e, 1, serial, "--alt", "Flash\n1 Evil",
				      "--alt", "X\033[31m\x9b" "31mY", NULL));
	/* the driver's alt_names: one line per alt setting, no control byte */
	ASSERT_EQ(0, run_sh("test $(wc -l <%s/alt_names) -eq 2", e.sysfs));
	ASSERT_EQ(0, read_attr(&e, "alt_names", names, sizeof(names)));
	EXPECT_STREQ("0 Flash?1 Evil", names);
	EXPECT_EQ(0, run_sh("grep -qx '1 X?\\[31m.*31mY' %s/alt_names", e.sysfs));

	EXPECT_EQ(0, run_sh("%s list >/tmp/safety-list.out", dfuctl()));
	EXPECT_EQ(0, no_controls("/tmp/safety-list.out")) {
		run_sh("cat -v /tmp/safety-list.out >&2");
	}
	EXPECT_EQ(0, run_sh("grep -qF 'serial \"S\\e[2J\\e]0;owned\\x07\\\"q\\\\b\"' /tmp/safety-list.out")) {
		run_sh("cat -v /tmp/safety-list.out >&2");
	}
	EXPECT_EQ(0, run_sh("grep -qxF '    alt 0: Flash?1 Evil' /tmp/safety-list.out"));
	EXPECT_EQ(0, run_sh("grep -qxF '    alt 1: X?[31m\\u009b31mY' /tmp/safety-list.out")) {
		run_sh("cat -v /tmp/safety-list.out >&2");
	}
	EXPECT_EQ(2, run_sh("exit $(grep -c '^    alt ' /tmp/safety-list.out)"));
	/* no alt setting 1 named "Evil": "1 Evil" is part of alt 0's name */
	EXPECT_EQ(EX_USAGE, run_sh("%s upload /tmp/safety-evil.bin %s --alt Evil 2>/dev/null",
				   dfuctl(), e.node));

	EXPECT_EQ(0, run_sh("%s list --json >/tmp/safety-list.json", dfuctl()));
	EXPECT_EQ(0, no_controls("/tmp/safety-list.json")) {
		run_sh("cat -v /tmp/safety-list.json >&2");
	}
	/* jq: the strings as the device sent them (U+009B for 0x9b), two alts */
	ASSERT_EQ(0, write_file("/tmp/safety-list.jq", jq_prog, strlen(jq_prog)));
	EXPECT_EQ(0, run_sh("%s -e --arg node %s -f /tmp/safety-list.jq /tmp/safety-list.json >&2",
			    JQ, e.node)) {
		run_sh("cat -v /tmp/safety-list.json >&2");
	}
	emu_stop(&e);
}

/*
 * 32 alt settings with 126-character names (the most a string descriptor
 * holds): alt_names would take 4150 bytes, more than its 4096-byte page.
 * The driver shows whole lines only, so no line cut short ("1" of
 * "17 A17x...") reads as an alt setting the device lacks; dfuctl shows the
 * same whole lines.
 */
#define LONG_NAME	"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" \
			"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
#define A(n)		"--alt", "A" #n LONG_NAME
#define ALTS		A(00), A(01), A(02), A(03), A(04), A(05), A(06), A(07), \
			A(08), A(09), A(10), A(11), A(12), A(13), A(14), A(15), \
			A(16), A(17), A(18), A(19), A(20), A(21), A(22), A(23), \
			A(24), A(25), A(26), A(27), A(28), A(29), A(30), A(31)
TEST(alt_names_fit_their_page)
{
	struct emu e;
	int lines;

	ASSERT_EQ(0, emu_start(&e, ALTS, NULL));
	/* whole lines of 129 bytes (alts 0-9) and 130: 31 fit in 4095, 4020 bytes */
	EXPECT_EQ(0, run_sh("test $(cat %s/alt_names | wc -c) -eq 4020", e.sysfs));
	EXPECT_EQ(0, run_sh("cat %s/alt_names | tail -c 1 | od -An -c | grep -qF '\\n'", e.sysfs));
	/* each line whole: "N AN" and the 123 x's */
	EXPECT_EQ(0, run_sh("! grep -vxE '([0-9]+) A0?\\1x{123}' %s/alt_names", e.sysfs)) {
		run_sh("sed 's/x*$//' %s/alt_names >&2", e.sysfs);
	}
	lines = run_sh("exit $(wc -l <%s/alt_names)", e.sysfs);
	EXPECT_EQ(31, lines);
	EXPECT_EQ(0, run_sh("%s list >/tmp/safety-alts.out", dfuctl()));
	EXPECT_EQ(lines, run_sh("exit $(grep -c '^    alt ' /tmp/safety-alts.out)"));
	emu_stop(&e);
}

TEST_HARNESS_MAIN
