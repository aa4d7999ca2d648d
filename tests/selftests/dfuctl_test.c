// SPDX-License-Identifier: GPL-2.0
/*
 * dfuctl_test - the userspace helper against emulated devices: list,
 * image validation before anything reaches the device, device selection,
 * alt settings, verify, detach, upload, recovery, commit policies,
 * write access for control requests, sysexits codes.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "emu.h"

#define DFUCTL		"/payload/dfuctl"
/* sysexits.h */
#define EX_USAGE	64
#define EX_DATAERR	65
#define EX_NOINPUT	66
#define EX_UNAVAILABLE	69
#define EX_CANTCREAT	73
#define EX_NOPERM	77
#define EX_CONFIG	78

/* Nothing at all was sent to the device: read its final counts. */
static long dnloads_after_stop(struct emu *e)
{
	emu_stop(e);
	return emu_stat(e, "dnload_requests");
}

TEST(list_shows_the_device)
{
	struct emu e;

	ASSERT_EQ(0, emu_start(&e, "--alt", "Flash", "--alt", "Config", NULL));
	EXPECT_EQ(0, run_sh(DFUCTL " list | grep -q '%s  1209:df00  serial \"%s\"  dfu mode, dfuIDLE'",
			    e.node, e.serial));
	EXPECT_EQ(0, run_sh(DFUCTL " list | grep -q 'alt 1: Config'"));
	EXPECT_EQ(0, run_sh(DFUCTL " list --json | grep -q '\"serial\": \"%s\", \"mode\": \"dfu\"'",
			    e.serial));
	EXPECT_EQ(0, run_sh(DFUCTL " list --json | grep -q '{\"alt\": 1, \"name\": \"Config\"}'"));
	EXPECT_EQ(EX_USAGE, run_sh(DFUCTL " list --frob 2>/dev/null"));
	emu_stop(&e);
}

/* The suffix is checked and stripped; the device gets the bare image. */
TEST(flash_checks_and_strips_suffix)
{
	const char *f = "/tmp/dfuctl-ok.bin";
	unsigned char *img = make_pattern_file(f, 5000, 1);
	struct emu e;

	ASSERT_NE(NULL, img);
	ASSERT_EQ(0, run_sh(DFUCTL " suffix add %s --vid 1209 --pid df00 >/dev/null", f));
	ASSERT_EQ(0, emu_start(&e, "--transfer-size", "1024", NULL));
	EXPECT_EQ(0, run_sh(DFUCTL " flash %s %s 2>/tmp/dfuctl.err", f, e.node));
	EXPECT_TRUE(emu_has_image(&e, img, 5000));
	/* not a terminal: plain progress lines */
	EXPECT_EQ(0, run_sh("grep -q '^download: 100%%' /tmp/dfuctl.err"));
	emu_stop(&e);
	free(img);
}

/*
 * dfuctl commits explicitly on its own file, whatever the node's default:
 * under the default suffix a file without a suffix still flashes.
 */
TEST(flash_commits_explicitly)
{
	const char *f = "/tmp/dfuctl-explicit.bin";
	unsigned char *img = make_pattern_file(f, 3000, 11);
	struct emu e;

	ASSERT_NE(NULL, img);
	ASSERT_EQ(0, emu_start(&e, "--transfer-size", "256", NULL));
	ASSERT_EQ(0, run_sh("echo suffix > %s/commit", e.sysfs));
	/* what cat gets under that default: nothing manifested */
	EXPECT_NE(0, run_sh("cat %s > %s 2>/dev/null", f, e.node));
	EXPECT_EQ(0, emu_stat(&e, "manifests"));
	EXPECT_EQ(0, run_sh(DFUCTL " flash --quiet %s %s 2>/dev/null", f, e.node));
	EXPECT_TRUE(emu_has_image(&e, img, 3000));
	EXPECT_EQ(1, emu_stat(&e, "manifests"));
	EXPECT_EQ(0, run_sh(DFUCTL " result %s | grep -q '^download: ok: 3000 bytes'", e.node));
	emu_stop(&e);
	free(img);
}

/*
 * A device that is not manifestation tolerant and never confirms the end
 * of the image: the flash succeeds, and dfuctl says it was not confirmed.
 */
TEST(flash_unverified)
{
	const char *f = "/tmp/dfuctl-unverified.bin";
	unsigned char *img = make_pattern_file(f, 1000, 12);
	struct emu e;

	ASSERT_NE(NULL, img);
	ASSERT_EQ(0, emu_start(&e, "--transfer-size", "64", "--attrs", "0x03",
			       "--stall-manifest", NULL));
	EXPECT_EQ(0, run_sh(DFUCTL " flash %s %s 2>/tmp/dfuctl.err", f, e.node)) {
		run_sh("cat /tmp/dfuctl.err >&2");
	}
	EXPECT_EQ(0, run_sh("grep -q 'sent, but the device did not confirm manifestation (it is not manifestation tolerant)' /tmp/dfuctl.err")) {
		run_sh("cat /tmp/dfuctl.err >&2");
	}
	EXPECT_TRUE(emu_has_image(&e, img, 1000));
	ASSERT_EQ(0, emu_wait_mode(&e, "dfu", 5000));
	EXPECT_EQ(0, run_sh(DFUCTL " result %s | grep -q 'sent, but the device did not confirm manifestation'",
			    e.node));
	emu_stop(&e);
	free(img);
}

/*
 * abort, clear, reset and detach want the node open for writing. While
 * another program holds it so, root may still abort (CAP_SYS_ADMIN), and
 * without that capability dfuctl says what to do.
 */
TEST(abort_needs_write_access)
{
	struct emu e;
	int fd;

	ASSERT_EQ(0, emu_start(&e, NULL));
	EXPECT_EQ(0, run_sh(DFUCTL " abort %s", e.node));
	EXPECT_EQ(1, emu_wait_stat(&e, "aborts", 1, 2000));
	fd = open(e.node, O_WRONLY);
	ASSERT_LE(0, fd);
	EXPECT_EQ(EX_NOPERM, run_sh("setpriv --inh-caps=-sys_admin --bounding-set=-sys_admin "
				    DFUCTL " abort %s 2>/tmp/dfuctl.err", e.node));
	EXPECT_EQ(0, run_sh("grep -q 'another program has it open.*fuser -v %s.*run as root' /tmp/dfuctl.err",
			    e.node)) {
		run_sh("cat /tmp/dfuctl.err >&2");
	}
	EXPECT_EQ(1, emu_stat(&e, "aborts"));
	EXPECT_EQ(0, run_sh(DFUCTL " abort %s", e.node));
	EXPECT_EQ(2, emu_wait_stat(&e, "aborts", 2, 2000));
	EXPECT_EQ(0, close(fd));
	emu_stop(&e);
}

/* Refused files never reach the device, and the message says why. */
TEST(bad_images_never_reach_the_device)
{
	const char *wrong = "/tmp/dfuctl-wrong.bin", *bad = "/tmp/dfuctl-badcrc.bin";
	unsigned char *img = make_pattern_file(wrong, 3000, 2);
	struct emu e;

	ASSERT_NE(NULL, img);
	ASSERT_EQ(0, run_sh(DFUCTL " suffix add %s --vid 1234 --pid 5678 >/dev/null", wrong));
	ASSERT_EQ(0, write_file(bad, img, 3000));
	ASSERT_EQ(0, run_sh(DFUCTL " suffix add %s --vid 1209 --pid df00 >/dev/null", bad));
	/* flip one image byte: the CRC no longer matches */
	ASSERT_EQ(0, run_sh("printf 'X' | dd of=%s bs=1 seek=10 conv=notrunc status=none", bad));

	ASSERT_EQ(0, emu_start(&e, NULL));
	EXPECT_EQ(EX_DATAERR, run_sh(DFUCTL " flash %s 2>/tmp/dfuctl.err", wrong));
	EXPECT_EQ(0, run_sh("grep -q '1234:5678.*1209:df00' /tmp/dfuctl.err"));
	EXPECT_EQ(EX_DATAERR, run_sh(DFUCTL " flash %s 2>/dev/null", bad));
	EXPECT_EQ(EX_NOINPUT, run_sh(DFUCTL " flash /tmp/missing.bin 2>/dev/null"));
	EXPECT_EQ(EX_DATAERR, run_sh(": > /tmp/empty.bin; " DFUCTL " flash /tmp/empty.bin 2>/dev/null"));
	EXPECT_EQ(0, dnloads_after_stop(&e));
	free(img);
}

/* Two devices: no choice is refused; node, serial, path and IDs choose. */
TEST(selection)
{
	const char *f = "/tmp/dfuctl-sel.bin";
	unsigned char *img = make_pattern_file(f, 700, 3);
	struct emu a, b;

	ASSERT_NE(NULL, img);
	if (access("/sys/class/udc/dummy_udc.1", F_OK))
		SKIP(return, "needs dummy_hcd num=2 or more");
	ASSERT_EQ(0, emu_start(&a, NULL));
	ASSERT_EQ(0, emu_start(&b, "--udc-device", "dummy_udc.1", "--pid", "df05", NULL));
	EXPECT_EQ(EX_USAGE, run_sh(DFUCTL " flash %s 2>/tmp/dfuctl.err", f));
	EXPECT_EQ(0, run_sh("grep -q '2 DFU devices match' /tmp/dfuctl.err"));
	EXPECT_EQ(0, run_sh(DFUCTL " flash --quiet %s --serial %s 2>/dev/null", f, b.serial));
	EXPECT_TRUE(emu_has_image(&b, img, 700));
	EXPECT_EQ(0, run_sh(DFUCTL " flash --quiet %s --device 1209:df00 2>/dev/null", f));
	EXPECT_TRUE(emu_has_image(&a, img, 700));
	EXPECT_EQ(0, run_sh(DFUCTL " status --path $(basename $(readlink -f %s/device/..)) | grep -q dfuIDLE",
			    a.sysfs));
	EXPECT_EQ(EX_UNAVAILABLE, run_sh(DFUCTL " status --serial nobody 2>/dev/null"));
	emu_stop(&b);
	emu_stop(&a);
	free(img);
}

/* --alt by name, and --verify reads the image back from the same target. */
TEST(alt_and_verify)
{
	const char *f = "/tmp/dfuctl-alt.bin";
	unsigned char *img = make_pattern_file(f, 4100, 4);
	struct emu e;

	ASSERT_NE(NULL, img);
	ASSERT_EQ(0, emu_start(&e, "--alt", "Flash", "--alt", "Config", NULL));
	EXPECT_EQ(0, run_sh(DFUCTL " flash %s --alt Config --verify 2>/tmp/dfuctl.err", f));
	EXPECT_EQ(0, run_sh("grep -q 'verify: 4100 bytes match' /tmp/dfuctl.err"));
	EXPECT_EQ(1, emu_stat(&e, "alt"));
	EXPECT_TRUE(emu_has_image(&e, img, 4100));
	EXPECT_EQ(EX_USAGE, run_sh(DFUCTL " flash %s --alt Nope 2>/dev/null", f));
	emu_stop(&e);

	/* a device without upload cannot verify, and says so */
	ASSERT_EQ(0, emu_start(&e, "--attrs", "0x05", NULL));
	EXPECT_EQ(EX_UNAVAILABLE, run_sh(DFUCTL " flash %s --verify 2>/tmp/dfuctl.err", f));
	EXPECT_EQ(0, run_sh("grep -q 'does not support upload' /tmp/dfuctl.err"));
	EXPECT_TRUE(emu_has_image(&e, img, 4100));
	emu_stop(&e);
	free(img);
}

/* A run-time device: refused without --detach, flashed and verified with it. */
TEST(detach_flash_verify)
{
	const char *f = "/tmp/dfuctl-rt.bin";
	unsigned char *img = make_pattern_file(f, 9000, 5);
	struct emu e;

	ASSERT_NE(NULL, img);
	/* the suffix names the DFU-mode IDs, known only after the detach */
	ASSERT_EQ(0, run_sh(DFUCTL " suffix add %s --vid 1209 --pid df0d >/dev/null", f));
	ASSERT_EQ(0, emu_start(&e, "--runtime", "--dfu-pid", "df0d", NULL));
	EXPECT_EQ(EX_USAGE, run_sh(DFUCTL " flash %s 2>/dev/null", f));
	EXPECT_EQ(0, run_sh(DFUCTL " flash %s --serial %s --detach --verify 2>/tmp/dfuctl.err",
			    f, e.serial)) {
		run_sh("cat /tmp/dfuctl.err >&2");
	}
	EXPECT_TRUE(emu_has_image(&e, img, 9000));
	EXPECT_EQ(0, run_sh("grep -q 'verify: 9000 bytes match' /tmp/dfuctl.err"));
	emu_stop(&e);
	free(img);
}

/* upload makes a new file with the device's image and never overwrites one. */
TEST(upload_backup)
{
	const char *f = "/tmp/dfuctl-dev.bin";
	unsigned char *img = make_pattern_file(f, 6000, 6);
	struct emu e;

	ASSERT_NE(NULL, img);
	unlink("/tmp/dfuctl-backup.bin");
	ASSERT_EQ(0, emu_start(&e, "--image", f, NULL));
	EXPECT_EQ(0, run_sh(DFUCTL " upload /tmp/dfuctl-backup.bin 2>/dev/null"));
	EXPECT_EQ(0, run_sh("cmp -s %s /tmp/dfuctl-backup.bin", f));
	EXPECT_EQ(EX_CANTCREAT, run_sh(DFUCTL " upload /tmp/dfuctl-backup.bin 2>/dev/null"));
	EXPECT_EQ(0, run_sh("cmp -s %s /tmp/dfuctl-backup.bin", f));
	emu_stop(&e);
	free(img);
}

/* Appliance recovery: a listed device is flashed; a damaged image is not. */
TEST(recover)
{
	const char *f = "/tmp/dfuctl-rec.bin", *conf = "/tmp/dfuctl-recovery.conf";
	unsigned char *img = make_pattern_file(f, 2500, 7);
	struct emu e;

	ASSERT_NE(NULL, img);
	ASSERT_EQ(0, emu_start(&e, NULL));
	ASSERT_EQ(0, run_sh("echo '# test' > %s; echo \"1209:df00 image=%s serial=%s sha256=$(sha256sum %s | cut -c1-64) verify=yes\" >> %s",
			    conf, f, e.serial, f, conf));
	EXPECT_EQ(0, run_sh(DFUCTL " recover %s --config %s 2>/tmp/dfuctl.err", e.node, conf));
	EXPECT_TRUE(emu_has_image(&e, img, 2500));
	EXPECT_EQ(0, run_sh("grep -q 'recover: %s: done' /tmp/dfuctl.err", e.node));
	emu_stop(&e);

	/* the file changed after the SHA-256 was written down */
	ASSERT_EQ(0, run_sh("printf 'X' | dd of=%s bs=1 seek=100 conv=notrunc status=none", f));
	ASSERT_EQ(0, emu_start(&e, NULL));
	ASSERT_EQ(0, run_sh("sed -i 's/serial=[^ ]*/serial=%s/' %s", e.serial, conf));
	EXPECT_EQ(EX_DATAERR, run_sh(DFUCTL " recover %s --config %s 2>/dev/null", e.node, conf));
	/* an unlisted device is left alone */
	ASSERT_EQ(0, run_sh("sed -i 's/serial=[^ ]*/serial=other/' %s", conf));
	EXPECT_EQ(0, run_sh(DFUCTL " recover %s --config %s 2>&1 | grep -q 'not listed'",
			    e.node, conf));
	EXPECT_EQ(0, dnloads_after_stop(&e));
	free(img);
}

/*
 * recovery.conf's "commit = suffix": an image without a valid suffix for
 * the device is refused before the device is opened; one with it goes to
 * the driver whole, which checks the suffix and does not send it.
 */
TEST(recover_commit_suffix)
{
	const char *f = "/tmp/dfuctl-recs.bin", *fs = "/tmp/dfuctl-recs.dfu";
	const char *conf = "/tmp/dfuctl-recs.conf";
	unsigned char *img = make_pattern_file(f, 2000, 9);
	struct emu e;

	ASSERT_NE(NULL, img);
	ASSERT_EQ(0, write_file(fs, img, 2000));
	ASSERT_EQ(0, run_sh(DFUCTL " suffix add %s --vid 1209 --pid df00 >/dev/null", fs));
	ASSERT_EQ(0, emu_start(&e, "--transfer-size", "256", NULL));

	/* no suffix: refused, nothing sent */
	ASSERT_EQ(0, run_sh("printf '1209:df00 image=%s serial=%s\\n  commit = suffix # appliance\\n' > %s",
			    f, e.serial, conf));
	EXPECT_EQ(EX_DATAERR, run_sh(DFUCTL " recover %s --config %s 2>/tmp/dfuctl.err",
				     e.node, conf));
	EXPECT_EQ(0, run_sh("grep -q 'commit = suffix.*dfuctl suffix add' /tmp/dfuctl.err")) {
		run_sh("cat /tmp/dfuctl.err >&2");
	}
	EXPECT_EQ(0, emu_stat(&e, "dnload_requests"));

	/* a bad value is a bad configuration */
	ASSERT_EQ(0, run_sh("printf 'commit=sometimes\\n1209:df00 image=%s serial=%s\\n' > %s",
			    fs, e.serial, conf));
	EXPECT_EQ(EX_CONFIG, run_sh(DFUCTL " recover %s --config %s 2>/dev/null", e.node, conf));

	/* with the suffix: flashed without it, and the driver checked it */
	ASSERT_EQ(0, run_sh("printf 'commit=suffix\\n1209:df00 image=%s serial=%s\\n' > %s",
			    fs, e.serial, conf));
	EXPECT_EQ(0, run_sh(DFUCTL " recover %s --config %s 2>/tmp/dfuctl.err", e.node, conf)) {
		run_sh("cat /tmp/dfuctl.err >&2");
	}
	EXPECT_TRUE(emu_has_image(&e, img, 2000));
	EXPECT_EQ(0, run_sh(DFUCTL " result %s | grep -q 'ok: 2000 bytes.*DFU suffix checked'",
			    e.node));
	emu_stop(&e);
	free(img);
}

/*
 * Under commit = suffix, an image whose suffix carries the run-time IDs is
 * recovered on the DFU-mode device the driver saw detach on that port.
 */
TEST(recover_commit_suffix_runtime_ids)
{
	const char *f = "/tmp/dfuctl-rrt.dfu", *conf = "/tmp/dfuctl-rrt.conf";
	unsigned char *img = make_pattern_file(f, 1500, 10);
	struct emu e;

	ASSERT_NE(NULL, img);
	ASSERT_EQ(0, run_sh(DFUCTL " suffix add %s --vid 1209 --pid a001 >/dev/null", f));
	ASSERT_EQ(0, emu_start(&e, "--runtime", "--pid", "a001", "--dfu-pid", "a002",
			       "--transfer-size", "256", NULL));
	ASSERT_EQ(0, run_sh(DFUCTL " detach %s >/dev/null", e.node));
	ASSERT_EQ(0, emu_wait_mode(&e, "dfu", 10000));
	ASSERT_EQ(0, run_sh("printf 'commit = suffix\\n1209:a002 image=%s serial=%s\\n' > %s",
			    f, e.serial, conf));
	EXPECT_EQ(0, run_sh(DFUCTL " recover %s --config %s 2>/tmp/dfuctl.err", e.node, conf)) {
		run_sh("cat /tmp/dfuctl.err >&2");
	}
	EXPECT_TRUE(emu_has_image(&e, img, 1500));
	emu_stop(&e);
	free(img);
}

/* A device that keeps coming back in DFU mode is flashed 3 times per boot. */
TEST(recover_gives_up)
{
	const char *f = "/tmp/dfuctl-loop.bin", *conf = "/tmp/dfuctl-loop.conf";
	unsigned char *img = make_pattern_file(f, 300, 8);
	long dnloads;
	struct emu e;
	int i;

	ASSERT_NE(NULL, img);
	ASSERT_EQ(0, emu_start(&e, "--transfer-size", "64", NULL));
	ASSERT_EQ(0, run_sh("echo '1209:df00 image=%s serial=%s' > %s", f, e.serial, conf));
	for (i = 0; i < 3; i++)
		EXPECT_EQ(0, run_sh(DFUCTL " recover %s --config %s 2>/dev/null", e.node, conf));
	EXPECT_EQ(3, emu_stat(&e, "manifests"));
	dnloads = emu_stat(&e, "dnload_requests");
	EXPECT_EQ(75, run_sh(DFUCTL " recover %s --config %s 2>/tmp/dfuctl.err", e.node, conf));
	EXPECT_EQ(0, run_sh("grep -q 'flashed 3 times since boot' /tmp/dfuctl.err"));
	EXPECT_EQ(dnloads, dnloads_after_stop(&e));
	free(img);
}

TEST_HARNESS_MAIN
