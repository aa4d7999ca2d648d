// SPDX-License-Identifier: GPL-2.0
/*
 * dfuctl_find_test - dfuctl finds the device again after a detach, as
 * dfu-util users expect: on the same USB port first, else (after the
 * detach delay) by the DFU-mode IDs of --device RUNTIME,DFU (wildcards
 * too), by --dfu-serial, or by an unchanged serial number; candidates that
 * no rule ties to it, or several, are an error that names them, and
 * nothing is written to them. --wait, --detach-delay, --reset; --device's
 * dfu-util syntax; dfuctl list sends nothing to the devices (a list that
 * sent GET_STATE would not wait long behind a transfer either: the driver
 * lets other calls in between blocks, so that is not what is tested).
 *
 * A bootloader that comes back with another serial, product ID or port is
 * played by two emulated devices: a run-time one whose detach timer is 0
 * (it takes the DETACH and the driver's reset, and stays in run-time
 * mode), which the test then unplugs, and a DFU-mode one that the test
 * plugs in where it wants it, as the device "coming back". The reenum_*
 * tests use one emulator that re-enumerates as a bootloader does: the
 * reset after DETACH makes it leave the bus (--reenum-ms) and come back in
 * DFU mode with another serial (--dfu-serial), none (--dfu-no-serial), or
 * on another UDC (--dfu-udc-device); the last one also checks that the
 * default detach delay follows wDetachTimeOut. Needs four dummy_hcd ports
 * (DUMMY_HCD_NUM=4): dummy_udc.0 to dummy_udc.3.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "emu.h"

#define DFUCTL		"/payload/dfuctl"
#define ERR		"/tmp/find.err"
#define OUT		"/tmp/find.out"
#define IMG		"/tmp/find.bin"
#define IMG_LEN		3000
/* sysexits.h */
#define EX_USAGE	64
#define EX_UNAVAILABLE	69

/* The USB port (sysfs name, 1-1) of the emulated device. */
static const char *port_of(struct emu *e, char *buf, size_t size)
{
	char path[128], real[PATH_MAX];

	snprintf(path, sizeof(path), "%s/device/..", e->sysfs);
	if (!realpath(path, real))
		return "?";
	snprintf(buf, size, "%s", basename(real));
	return buf;
}

/* Wait until the stat key is above min; returns the last value seen. */
static long wait_stat_above(struct emu *e, const char *key, long min, int timeout_ms)
{
	long v = emu_stat(e, key);
	int waited;

	for (waited = 0; v <= min && waited < timeout_ms; waited += 20) {
		sleep_ms(20);
		v = emu_stat(e, key);
	}
	return v;
}

/* the run-time device's USB resets before the DETACH (enumeration's) */
static long rt_resets;

/*
 * The run-time device a took the DETACH and the driver's reset (it stays in
 * run-time mode: its detach timer is 0): unplug it, as a device that
 * re-enumerates leaves its port.
 */
static int unplug_detached(struct emu *a)
{
	if (emu_wait_stat(a, "detaches", 1, 20000) != 1 ||
	    wait_stat_above(a, "resets", rt_resets, 20000) <= rt_resets) {
		fprintf(stderr, "# the run-time device got no DETACH and reset\n");
		return -1;
	}
	emu_stop(a);
	return 0;
}

static unsigned char *image(void)
{
	return make_pattern_file(IMG, IMG_LEN, 77);
}

/* A run-time device on this UDC that stays in run-time mode after DETACH. */
static int start_runtime(struct emu *a, const char *udc)
{
	int ret = emu_start(a, "--runtime", "--detach-timeout", "0", "--udc-device", udc, NULL);

	/* the enumeration's resets are counted too */
	sleep_ms(200);
	rt_resets = emu_stat(a, "resets");
	return ret;
}

/* Each test starts and stops its own devices; a dying test's die with it. */
FIXTURE(find) {
	int unused;
};

FIXTURE_SETUP(find)
{
}

FIXTURE_TEARDOWN(find)
{
}

/*
 * The real thing: the emulator re-enumerates on its port with another
 * product ID. A device already in DFU mode with those IDs on another port
 * is not it: dfuctl detach and dfuctl flash --detach take the one on the
 * same port, and say so.
 */
TEST_F_TIMEOUT(find, same_port_new_pid, 90)
{
	unsigned char *img = image();
	struct emu a, decoy;
	char port[64];

	ASSERT_NE(NULL, img);
	ASSERT_EQ(0, emu_start(&decoy, "--pid", "df0d", "--udc-device", "dummy_udc.1", NULL));
	ASSERT_EQ(0, emu_start(&a, "--runtime", "--dfu-pid", "df0d", "--udc-device", "dummy_udc.0",
			       NULL));
	port_of(&a, port, sizeof(port));
	EXPECT_EQ(0, run_sh(DFUCTL " detach --serial %s >" OUT " 2>" ERR, a.serial));
	ASSERT_EQ(0, emu_wait_mode(&a, "dfu", 10000));
	EXPECT_TRUE(has(ERR, "dfuctl detach: found %s (1209:df0d) in DFU mode on the same USB port %s\n",
			a.node, port));
	EXPECT_TRUE(has(OUT, "is in DFU mode now as %s", a.node));
	emu_stop(&a);

	/* again, with flash: the image goes to it, not to the decoy */
	ASSERT_EQ(0, emu_start(&a, "--runtime", "--dfu-pid", "df0d", "--udc-device", "dummy_udc.0",
			       NULL));
	EXPECT_EQ(0, run_sh(DFUCTL " flash --quiet " IMG " --serial %s --detach 2>" ERR, a.serial));
	ASSERT_EQ(0, emu_wait_mode(&a, "dfu", 10000));
	EXPECT_TRUE(has(ERR, "dfuctl flash: found %s (1209:df0d) in DFU mode on the same USB port %s\n",
			a.node, port));
	EXPECT_TRUE(emu_has_image(&a, img, IMG_LEN));
	emu_stop(&a);
	emu_stop(&decoy);
	EXPECT_EQ(0, emu_stat(&decoy, "dnload_requests"));
	free(img);
}

/* It comes back on its port with another serial number and product ID. */
TEST_F_TIMEOUT(find, same_port_new_serial, 90)
{
	unsigned char *img = image();
	struct emu a, b;
	char port[64];
	pid_t pid;

	ASSERT_NE(NULL, img);
	ASSERT_EQ(0, start_runtime(&a, "dummy_udc.0"));
	port_of(&a, port, sizeof(port));
	pid = bg(DFUCTL " flash --quiet " IMG " --serial %s --detach --wait 40 2>" ERR, a.serial);
	ASSERT_EQ(0, unplug_detached(&a));
	ASSERT_EQ(0, emu_start(&b, "--pid", "df0e", "--udc-device", "dummy_udc.0", NULL));
	EXPECT_EQ(0, bg_wait(pid, 45000));
	EXPECT_TRUE(has(ERR, "dfuctl flash: found %s (1209:df0e) in DFU mode on the same USB port %s\n",
			b.node, port));
	EXPECT_TRUE(emu_has_image(&b, img, IMG_LEN));
	emu_stop(&b);
	free(img);
}

/*
 * On another port, with another serial: --device RUNTIME,DFU names it
 * (with a wildcard), after the detach delay.
 */
TEST_F_TIMEOUT(find, other_port_by_dfu_ids, 90)
{
	unsigned char *img = image();
	char port_a[64], port_b[64];
	struct emu a, b;
	pid_t pid;

	ASSERT_NE(NULL, img);
	ASSERT_EQ(0, start_runtime(&a, "dummy_udc.0"));
	port_of(&a, port_a, sizeof(port_a));
	pid = bg(DFUCTL " flash --quiet " IMG " --serial %s --detach --device '1209:df00,*:df0e' --detach-delay 2 --wait 40 2>" ERR,
		 a.serial);
	ASSERT_EQ(0, unplug_detached(&a));
	ASSERT_EQ(0, emu_start(&b, "--pid", "df0e", "--udc-device", "dummy_udc.1", NULL));
	EXPECT_EQ(0, bg_wait(pid, 45000));
	EXPECT_TRUE(has(ERR, "dfuctl flash: found %s (1209:df0e) in DFU mode on USB port %s, not on its port %s, by its DFU-mode IDs *:df0e (--device)\n",
			b.node, port_of(&b, port_b, sizeof(port_b)), port_a));
	EXPECT_TRUE(emu_has_image(&b, img, IMG_LEN));
	emu_stop(&b);
	free(img);
}

/* On another port, with another serial and the same IDs: --dfu-serial names it. */
TEST_F_TIMEOUT(find, other_port_by_dfu_serial, 90)
{
	unsigned char *img = image();
	char serial[64], port_b[64];
	struct emu a, b, other;
	pid_t pid;

	ASSERT_NE(NULL, img);
	snprintf(serial, sizeof(serial), "FIND-DFU-%d", getpid());
	ASSERT_EQ(0, start_runtime(&a, "dummy_udc.0"));
	pid = bg(DFUCTL " flash --quiet " IMG " --serial %s --detach --dfu-serial %s --detach-delay 2 --wait 40 2>" ERR,
		 a.serial, serial);
	ASSERT_EQ(0, unplug_detached(&a));
	/* a new DFU-mode device that is not it, and the one with the serial */
	ASSERT_EQ(0, emu_start(&other, "--udc-device", "dummy_udc.2", NULL));
	ASSERT_EQ(0, emu_start_serial(&b, 1, serial, "--udc-device", "dummy_udc.1", NULL));
	EXPECT_EQ(0, bg_wait(pid, 45000));
	EXPECT_TRUE(has(ERR, "dfuctl flash: found %s (1209:df00) in DFU mode on USB port %s, not on its port",
			b.node, port_of(&b, port_b, sizeof(port_b))));
	EXPECT_TRUE(has(ERR, "by its DFU-mode serial \"%s\" (--dfu-serial)\n", serial));
	EXPECT_TRUE(emu_has_image(&b, img, IMG_LEN));
	emu_stop(&b);
	emu_stop(&other);
	EXPECT_EQ(0, emu_stat(&other, "dnload_requests"));
	free(img);
}

/*
 * dfuctl detach takes --dfu-serial, --detach-delay and --wait too (the
 * cmd_ctl.c hunk), and the other commands only --wait.
 */
TEST_F_TIMEOUT(find, detach_options, 90)
{
	char serial[64], port_b[64];
	struct emu a, b;
	pid_t pid;

	snprintf(serial, sizeof(serial), "FIND-DET-%d", getpid());
	ASSERT_EQ(0, start_runtime(&a, "dummy_udc.0"));
	pid = bg(DFUCTL " detach --serial %s --dfu-serial %s --detach-delay 2 --wait 40 >" OUT " 2>" ERR,
		 a.serial, serial);
	ASSERT_EQ(0, unplug_detached(&a));
	ASSERT_EQ(0, emu_start_serial(&b, 1, serial, "--udc-device", "dummy_udc.1", NULL));
	EXPECT_EQ(0, bg_wait(pid, 45000));
	EXPECT_TRUE(has(ERR, "dfuctl detach: found %s (1209:df00) in DFU mode on USB port %s, not on its port",
			b.node, port_of(&b, port_b, sizeof(port_b))));
	EXPECT_TRUE(has(ERR, "by its DFU-mode serial \"%s\" (--dfu-serial)\n", serial));
	EXPECT_TRUE(has(OUT, "is in DFU mode now as %s", b.node));
	EXPECT_EQ(0, run_sh(DFUCTL " info --serial %s --wait 5 >/dev/null 2>" ERR, serial));
	EXPECT_EQ(EX_USAGE, run_sh(DFUCTL " info --serial %s --dfu-serial X 2>/dev/null", serial));
	emu_stop(&b);
}

/* On another port with the serial it had: that ties it, without options. */
TEST_F_TIMEOUT(find, other_port_same_serial, 90)
{
	unsigned char *img = image();
	char serial[160];
	struct emu a, b;
	pid_t pid;

	ASSERT_NE(NULL, img);
	ASSERT_EQ(0, start_runtime(&a, "dummy_udc.0"));
	snprintf(serial, sizeof(serial), "%s", a.serial);
	pid = bg(DFUCTL " flash --quiet " IMG " --serial %s --detach --detach-delay 2 --wait 40 2>" ERR,
		 serial);
	ASSERT_EQ(0, unplug_detached(&a));
	ASSERT_EQ(0, emu_start_serial(&b, 1, serial, "--pid", "df0e", "--udc-device", "dummy_udc.1",
				      NULL));
	EXPECT_EQ(0, bg_wait(pid, 45000));
	EXPECT_TRUE(has(ERR, "by its serial number \"%s\", unchanged from run-time mode\n", serial));
	EXPECT_TRUE(emu_has_image(&b, img, IMG_LEN));
	emu_stop(&b);
	free(img);
}

/*
 * On another port with another serial and nothing to tie it: after the
 * wait, an error that names it (exit 64), and nothing is written.
 */
TEST_F_TIMEOUT(find, other_port_untied, 90)
{
	unsigned char *img = image();
	struct emu a, b;
	pid_t pid;

	ASSERT_NE(NULL, img);
	ASSERT_EQ(0, start_runtime(&a, "dummy_udc.0"));
	pid = bg(DFUCTL " flash --quiet " IMG " --serial %s --detach --detach-delay 2 --wait 12 2>" ERR,
		 a.serial);
	ASSERT_EQ(0, unplug_detached(&a));
	ASSERT_EQ(0, emu_start(&b, "--pid", "df0e", "--udc-device", "dummy_udc.1", NULL));
	EXPECT_EQ(EX_USAGE, bg_wait(pid, 30000));
	EXPECT_TRUE(has(ERR, "and did not come back on its port; nothing ties these new DFU-mode devices to it:\n  %s  1209:df0e  serial \"%s\"",
			b.node, b.serial));
	EXPECT_TRUE(has(ERR, "name it with --dfu-serial S or --device 1209:df00,DFU_VID:DFU_PID"));
	emu_stop(&b);
	EXPECT_EQ(0, emu_stat(&b, "dnload_requests"));
	free(img);
}

/* Two new devices elsewhere with the DFU-mode IDs: ambiguous, both named. */
TEST_F_TIMEOUT(find, other_port_ambiguous, 90)
{
	unsigned char *img = image();
	struct emu a, b, c;
	pid_t pid;

	ASSERT_NE(NULL, img);
	ASSERT_EQ(0, start_runtime(&a, "dummy_udc.0"));
	/* the delay leaves time for both to arrive before it ends */
	pid = bg(DFUCTL " flash --quiet " IMG " --serial %s --detach --device 1209:df00,1209:df0e --detach-delay 15 --wait 40 2>" ERR,
		 a.serial);
	ASSERT_EQ(0, unplug_detached(&a));
	ASSERT_EQ(0, emu_start(&b, "--pid", "df0e", "--udc-device", "dummy_udc.1", NULL));
	ASSERT_EQ(0, emu_start(&c, "--pid", "df0e", "--udc-device", "dummy_udc.2", NULL));
	EXPECT_TRUE(bg_running(pid));
	EXPECT_EQ(EX_USAGE, bg_wait(pid, 45000));
	EXPECT_TRUE(has(ERR, "no device came back on its port, and 2 new DFU-mode devices elsewhere match the DFU-mode IDs 1209:df0e (--device):\n"));
	EXPECT_TRUE(has(ERR, "  %s  1209:df0e  serial \"%s\"", b.node, b.serial));
	EXPECT_TRUE(has(ERR, "  %s  1209:df0e  serial \"%s\"", c.node, c.serial));
	emu_stop(&b);
	emu_stop(&c);
	EXPECT_EQ(0, emu_stat(&b, "dnload_requests"));
	EXPECT_EQ(0, emu_stat(&c, "dnload_requests"));
	free(img);
}

/* What comes back on its port is not what --device said: refused at once. */
TEST_F_TIMEOUT(find, same_port_wrong_ids, 90)
{
	unsigned char *img = image();
	struct emu a, b;
	long long t0;
	pid_t pid;

	ASSERT_NE(NULL, img);
	ASSERT_EQ(0, start_runtime(&a, "dummy_udc.0"));
	pid = bg(DFUCTL " flash --quiet " IMG " --serial %s --detach --device 1209:df00,1209:df0e --wait 60 2>" ERR,
		 a.serial);
	ASSERT_EQ(0, unplug_detached(&a));
	ASSERT_EQ(0, emu_start(&b, "--pid", "df0f", "--udc-device", "dummy_udc.0", NULL));
	t0 = now_us();
	EXPECT_EQ(EX_USAGE, bg_wait(pid, 65000));
	/* not after the 60 s of --wait */
	EXPECT_GT(20000, ms_since(t0));
	EXPECT_TRUE(has(ERR, "came back on the same USB port in DFU mode, but not with the DFU-mode IDs 1209:df0e (--device):\n  %s  1209:df0f",
			b.node));
	emu_stop(&b);
	EXPECT_EQ(0, emu_stat(&b, "dnload_requests"));
	free(img);
}

/*
 * The detach delay: a device that comes back elsewhere is taken only after
 * it (--detach-delay, else wDetachTimeOut + 5 s; the emulator's is 0 here).
 */
TEST_F_TIMEOUT(find, detach_delay, 90)
{
	unsigned char *img = image();
	struct emu a, b;
	long long t0, ms;
	pid_t pid;

	ASSERT_NE(NULL, img);
	ASSERT_EQ(0, start_runtime(&a, "dummy_udc.0"));
	t0 = now_us();
	pid = bg(DFUCTL " flash --quiet " IMG " --serial %s --detach --device 1209:df00,1209:df0e --wait 40 2>" ERR,
		 a.serial);
	ASSERT_EQ(0, unplug_detached(&a));
	ASSERT_EQ(0, emu_start(&b, "--pid", "df0e", "--udc-device", "dummy_udc.1", NULL));
	EXPECT_EQ(0, bg_wait(pid, 45000));
	ms = ms_since(t0);
	EXPECT_LE(5000, ms);
	EXPECT_TRUE(emu_has_image(&b, img, IMG_LEN));
	emu_stop(&b);

	/* --detach-delay 1: sooner (once the device is there) */
	ASSERT_EQ(0, start_runtime(&a, "dummy_udc.0"));
	pid = bg(DFUCTL " flash --quiet " IMG " --serial %s --detach --device 1209:df00,1209:df0e --detach-delay 1 --wait 40 2>" ERR,
		 a.serial);
	ASSERT_EQ(0, unplug_detached(&a));
	ASSERT_EQ(0, emu_start(&b, "--pid", "df0e", "--udc-device", "dummy_udc.1", NULL));
	t0 = now_us();
	EXPECT_EQ(0, bg_wait(pid, 45000));
	EXPECT_GT(3000, ms_since(t0));
	emu_stop(&b);

	/* nothing comes back: exit 69 after the delay, not at once */
	ASSERT_EQ(0, start_runtime(&a, "dummy_udc.0"));
	t0 = now_us();
	pid = bg(DFUCTL " flash --quiet " IMG " --serial %s --detach --detach-delay 3 2>" ERR, a.serial);
	ASSERT_EQ(0, unplug_detached(&a));
	EXPECT_EQ(EX_UNAVAILABLE, bg_wait(pid, 30000));
	EXPECT_LE(3000, ms_since(t0));
	EXPECT_TRUE(has(ERR, "was detached but did not come back in DFU mode within 3 s"));
	EXPECT_EQ(EX_USAGE, run_sh(DFUCTL " flash " IMG " --dfu-serial X 2>/dev/null"));
	EXPECT_EQ(EX_USAGE, run_sh(DFUCTL " flash " IMG " --detach --detach-delay 0 2>/dev/null"));
	free(img);
}

/*
 * One emulator that really re-enumerates, as bootloaders do: the USB reset
 * after DETACH makes it leave the bus (--reenum-ms) and come back in DFU
 * mode with another serial number, none, or on another UDC.
 */

/* Start a --runtime device on dummy_udc.0 with these DFU-mode options. */
#define start_reenum(e, ...) \
	emu_start(e, "--runtime", "--udc-device", "dummy_udc.0", __VA_ARGS__, NULL)

/* It left the bus once and came back, and took one DETACH. */
static int reenumerated_once(struct emu *e)
{
	long r = emu_wait_stat(e, "reattaches", 1, 10000);

	if (r != 1 || emu_stat(e, "detaches") != 1) {
		fprintf(stderr, "# %s: reattaches=%ld detaches=%ld, expected 1 and 1\n",
			e->dir, r, emu_stat(e, "detaches"));
		return 0;
	}
	return 1;
}

/*
 * Its DFU-mode serial differs, on the same port: the same-port rule takes
 * it without --dfu-serial.
 */
TEST_F_TIMEOUT(find, reenum_same_port_dfu_serial, 60)
{
	unsigned char *img = image();
	char serial[64], port[64];
	struct emu a;

	ASSERT_NE(NULL, img);
	snprintf(serial, sizeof(serial), "FIND-RS-%d", getpid());
	ASSERT_EQ(0, start_reenum(&a, "--dfu-serial", serial, "--reenum-ms", "300"));
	ASSERT_EQ(0, emu_port(&a, port, sizeof(port)));
	EXPECT_EQ(0, run_sh(DFUCTL " flash --quiet " IMG " --serial %s --detach 2>" ERR, a.serial));
	EXPECT_TRUE(reenumerated_once(&a));
	/* it is the node with the DFU-mode serial, on that port */
	ASSERT_EQ(0, emu_wait_serial(&a, serial, "dfu", 10000));
	EXPECT_TRUE(has(ERR, "dfuctl flash: found %s (1209:df00) in DFU mode on the same USB port %s\n",
			a.node, port));
	EXPECT_TRUE(emu_has_image(&a, img, IMG_LEN));
	emu_stop(&a);
	free(img);
}

/* No serial number at all in DFU mode, and another product ID: by its port. */
TEST_F_TIMEOUT(find, reenum_same_port_no_serial, 60)
{
	unsigned char *img = image();
	char port[64], buf[160];
	struct emu a;

	ASSERT_NE(NULL, img);
	ASSERT_EQ(0, start_reenum(&a, "--dfu-no-serial", "--dfu-pid", "df0d", "--reenum-ms", "300"));
	ASSERT_EQ(0, emu_port(&a, port, sizeof(port)));
	EXPECT_EQ(0, run_sh(DFUCTL " flash --quiet " IMG " --serial %s --detach 2>" ERR, a.serial));
	EXPECT_TRUE(reenumerated_once(&a));
	ASSERT_EQ(0, emu_wait_port(&a, port, "dfu", 10000));
	/* the USB device has no serial attribute: iSerialNumber 0 */
	EXPECT_EQ(-ENOENT, read_attr(&a, "device/../serial", buf, sizeof(buf)));
	EXPECT_TRUE(has(ERR, "dfuctl flash: found %s (1209:df0d) in DFU mode on the same USB port %s\n",
			a.node, port));
	EXPECT_TRUE(emu_has_image(&a, img, IMG_LEN));
	emu_stop(&a);
	free(img);
}

/* The options of a device that comes back on dummy_udc.1 as 1209:df0e, serial. */
#define OTHER_UDC(serial) "--dfu-udc-device", "dummy_udc.1", "--dfu-serial", serial, \
	"--dfu-pid", "df0e", "--reenum-ms", "300"

/* On another UDC with another serial: --dfu-serial names it. */
TEST_F_TIMEOUT(find, reenum_other_udc_dfu_serial, 60)
{
	unsigned char *img = image();
	char serial[64], port_a[64], port_b[64];
	struct emu a;

	ASSERT_NE(NULL, img);
	snprintf(serial, sizeof(serial), "FIND-RU-%d", getpid());
	ASSERT_EQ(0, start_reenum(&a, OTHER_UDC(serial)));
	ASSERT_EQ(0, emu_port(&a, port_a, sizeof(port_a)));
	EXPECT_EQ(0, run_sh(DFUCTL " flash --quiet " IMG " --serial %s --detach --dfu-serial %s --detach-delay 1 --wait 20 2>" ERR,
			    a.serial, serial));
	EXPECT_TRUE(reenumerated_once(&a));
	ASSERT_EQ(0, emu_wait_serial(&a, serial, "dfu", 10000));
	ASSERT_EQ(0, emu_port(&a, port_b, sizeof(port_b)));
	EXPECT_STRNE(port_a, port_b);
	EXPECT_TRUE(has(ERR, "dfuctl flash: found %s (1209:df0e) in DFU mode on USB port %s, not on its port %s, by its DFU-mode serial \"%s\" (--dfu-serial)\n",
			a.node, port_b, port_a, serial));
	EXPECT_TRUE(emu_has_image(&a, img, IMG_LEN));
	emu_stop(&a);
	free(img);
}

/* On another UDC, the only new DFU-mode device: --device RUNTIME,DFU names it. */
TEST_F_TIMEOUT(find, reenum_other_udc_dfu_ids, 60)
{
	unsigned char *img = image();
	char serial[64], port_a[64], port_b[64];
	struct emu a;

	ASSERT_NE(NULL, img);
	snprintf(serial, sizeof(serial), "FIND-RI-%d", getpid());
	ASSERT_EQ(0, start_reenum(&a, OTHER_UDC(serial)));
	ASSERT_EQ(0, emu_port(&a, port_a, sizeof(port_a)));
	EXPECT_EQ(0, run_sh(DFUCTL " flash --quiet " IMG " --serial %s --detach --device 1209:df00,1209:df0e --detach-delay 1 --wait 20 2>" ERR,
			    a.serial));
	EXPECT_TRUE(reenumerated_once(&a));
	ASSERT_EQ(0, emu_wait_serial(&a, serial, "dfu", 10000));
	ASSERT_EQ(0, emu_port(&a, port_b, sizeof(port_b)));
	EXPECT_TRUE(has(ERR, "dfuctl flash: found %s (1209:df0e) in DFU mode on USB port %s, not on its port %s, by its DFU-mode IDs 1209:df0e (--device)\n",
			a.node, port_b, port_a));
	EXPECT_TRUE(emu_has_image(&a, img, IMG_LEN));
	emu_stop(&a);
	free(img);
}

/*
 * On another UDC, and another new DFU-mode device with the same IDs
 * arrives meanwhile: ambiguous, exit 64, both named, nothing written.
 */
TEST_F_TIMEOUT(find, reenum_other_udc_ambiguous, 60)
{
	unsigned char *img = image();
	char serial[64];
	struct emu a, c;
	pid_t pid;

	ASSERT_NE(NULL, img);
	snprintf(serial, sizeof(serial), "FIND-RA-%d", getpid());
	ASSERT_EQ(0, start_reenum(&a, OTHER_UDC(serial)));
	/* the delay leaves time for both to arrive before it ends */
	pid = bg(DFUCTL " flash --quiet " IMG " --serial %s --detach --device 1209:df00,1209:df0e --detach-delay 8 --wait 20 2>" ERR,
		 a.serial);
	ASSERT_EQ(1, emu_wait_stat(&a, "detaches", 1, 10000));
	ASSERT_EQ(0, emu_start(&c, "--pid", "df0e", "--udc-device", "dummy_udc.2", NULL));
	EXPECT_TRUE(reenumerated_once(&a));
	ASSERT_EQ(0, emu_wait_serial(&a, serial, "dfu", 10000));
	EXPECT_TRUE(bg_running(pid));
	EXPECT_EQ(EX_USAGE, bg_wait(pid, 30000));
	EXPECT_TRUE(has(ERR, "no device came back on its port, and 2 new DFU-mode devices elsewhere match the DFU-mode IDs 1209:df0e (--device):\n"));
	EXPECT_TRUE(has(ERR, "  %s  1209:df0e  serial \"%s\"", a.node, serial));
	EXPECT_TRUE(has(ERR, "  %s  1209:df0e  serial \"%s\"", c.node, c.serial));
	emu_stop(&a);
	emu_stop(&c);
	EXPECT_EQ(0, emu_stat(&a, "dnload_requests"));
	EXPECT_EQ(0, emu_stat(&c, "dnload_requests"));
	free(img);
}

/*
 * The default detach delay is wDetachTimeOut + 5 s: a device that stays
 * off the bus 6.5 s after the reset is found without --detach-delay when
 * its wDetachTimeOut is 6000 ms (11 s), not when it is 100 ms (5.1 s):
 * exit 69, and it does come back, later.
 */
TEST_F_TIMEOUT(find, reenum_window_follows_detach_timeout, 60)
{
	char port[64];
	long long t0, ms;
	struct emu a;

	ASSERT_EQ(0, start_reenum(&a, "--detach-timeout", "6000", "--reenum-ms", "6500"));
	ASSERT_EQ(0, emu_port(&a, port, sizeof(port)));
	t0 = now_us();
	EXPECT_EQ(0, run_sh(DFUCTL " detach --serial %s >" OUT " 2>" ERR, a.serial));
	ms = ms_since(t0);
	EXPECT_LE(6500, ms);
	EXPECT_TRUE(reenumerated_once(&a));
	ASSERT_EQ(0, emu_wait_port(&a, port, "dfu", 5000));
	EXPECT_TRUE(has(ERR, "dfuctl detach: found %s (1209:df00) in DFU mode on the same USB port %s\n",
			a.node, port));
	EXPECT_TRUE(has(OUT, "is in DFU mode now as %s", a.node));
	emu_stop(&a);

	ASSERT_EQ(0, start_reenum(&a, "--detach-timeout", "100", "--reenum-ms", "6500"));
	t0 = now_us();
	EXPECT_EQ(EX_UNAVAILABLE, run_sh(DFUCTL " detach --serial %s >" OUT " 2>" ERR, a.serial));
	ms = ms_since(t0);
	EXPECT_LE(5100, ms);
	EXPECT_GT(8000, ms);
	EXPECT_TRUE(has(ERR, "dfuctl detach: %s was detached but did not come back in DFU mode within 6 s",
			a.node));
	EXPECT_EQ(1, emu_stat(&a, "detaches"));
	/* it was on its way */
	EXPECT_TRUE(reenumerated_once(&a));
	EXPECT_EQ(0, emu_wait_port(&a, port, "dfu", 10000));
	emu_stop(&a);
}

/* --wait [SECONDS]: a device that is not there yet is waited for. */
TEST_F_TIMEOUT(find, wait_for_device, 90)
{
	unsigned char *img = image();
	char serial[64];
	long long t0;
	struct emu b;
	pid_t pid;

	ASSERT_NE(NULL, img);
	snprintf(serial, sizeof(serial), "FIND-WAIT-%d", getpid());
	/* without --wait: at once */
	t0 = now_us();
	EXPECT_EQ(EX_UNAVAILABLE, run_sh(DFUCTL " flash " IMG " --serial %s 2>/dev/null", serial));
	EXPECT_GT(3000, ms_since(t0));
	/* --wait 2: after 2 s */
	t0 = now_us();
	EXPECT_EQ(EX_UNAVAILABLE, run_sh(DFUCTL " flash " IMG " --serial %s --wait 2 2>" ERR, serial));
	EXPECT_LE(2000, ms_since(t0));
	EXPECT_TRUE(has(ERR, "waiting up to 2 s for one to appear (--wait)"));
	/* --wait (no end) and --wait=SECONDS: the device arrives later */
	pid = bg(DFUCTL " flash --quiet " IMG " --serial %s --wait 2>" ERR, serial);
	sleep_ms(1500);
	EXPECT_TRUE(bg_running(pid));
	ASSERT_EQ(0, emu_start_serial(&b, 1, serial, "--udc-device", "dummy_udc.3", NULL));
	EXPECT_EQ(0, bg_wait(pid, 30000));
	EXPECT_TRUE(emu_has_image(&b, img, IMG_LEN));
	emu_stop(&b);
	pid = bg(DFUCTL " flash --quiet " IMG " --serial %s --wait=30 2>" ERR, serial);
	sleep_ms(1000);
	EXPECT_TRUE(bg_running(pid));
	ASSERT_EQ(0, emu_start_serial(&b, 1, serial, "--udc-device", "dummy_udc.3", NULL));
	EXPECT_EQ(0, bg_wait(pid, 30000));
	emu_stop(&b);
	EXPECT_EQ(EX_USAGE, run_sh(DFUCTL " flash " IMG " --wait=0 2>/dev/null"));
	EXPECT_EQ(EX_USAGE, run_sh(DFUCTL " flash " IMG " --wait=x 2>/dev/null"));
	free(img);
}

/*
 * --reset: a manifestation-tolerant device stays in DFU mode after the
 * download; --reset gives it a USB reset, without it none comes.
 */
TEST_F_TIMEOUT(find, reset_after_download, 60)
{
	unsigned char *img = image();
	struct emu e;
	long r0;

	ASSERT_NE(NULL, img);
	ASSERT_EQ(0, emu_start(&e, "--attrs", "0x07", "--udc-device", "dummy_udc.0", NULL));
	r0 = emu_stat(&e, "resets");
	EXPECT_EQ(0, run_sh(DFUCTL " flash --quiet " IMG " %s 2>" ERR, e.node));
	sleep_ms(300);
	EXPECT_EQ(r0, emu_stat(&e, "resets"));
	EXPECT_EQ(0, run_sh(DFUCTL " flash --quiet " IMG " %s --reset 2>" ERR, e.node));
	/* (one port reset may be counted twice at high speed) */
	EXPECT_LT(r0, wait_stat_above(&e, "resets", r0, 5000));
	EXPECT_TRUE(has(ERR, "dfuctl flash: --reset: %s got a USB reset", e.node));
	EXPECT_TRUE(emu_has_image(&e, img, IMG_LEN));
	emu_stop(&e);
	free(img);
}

/* --device as dfu-util -d reads it: pairs by mode, "*" and "-". */
TEST_F_TIMEOUT(find, device_ids, 60)
{
	struct emu d, r;

	ASSERT_EQ(0, emu_start(&d, "--pid", "df05", "--udc-device", "dummy_udc.0", NULL));
	ASSERT_EQ(0, emu_start(&r, "--runtime", "--pid", "df06", "--udc-device", "dummy_udc.1", NULL));
#define INFO(ids) DFUCTL " info --device '" ids "' >" OUT " 2>" ERR
	EXPECT_EQ(0, run_sh(INFO("1209:df05")));
	EXPECT_TRUE(has(OUT, "device:        1209:df05"));
	EXPECT_EQ(0, run_sh(INFO("*:df05")));
	EXPECT_TRUE(has(OUT, "device:        1209:df05"));
	/* one pair matches either mode; two: run-time, then DFU mode */
	EXPECT_EQ(0, run_sh(INFO("1209:df06")));
	EXPECT_TRUE(has(OUT, "mode:          run-time"));
	EXPECT_EQ(0, run_sh(INFO("1209:df06,-:-")));
	EXPECT_TRUE(has(OUT, "device:        1209:df06"));
	EXPECT_EQ(0, run_sh(INFO("-:-,1209:df05")));
	EXPECT_TRUE(has(OUT, "device:        1209:df05"));
	EXPECT_EQ(0, run_sh(INFO("1209:df05,1209:df05")));
	EXPECT_TRUE(has(OUT, "device:        1209:df05"));
	/* the run-time pair matches only run-time devices */
	EXPECT_EQ(EX_UNAVAILABLE, run_sh(INFO("1209:df05,-:-")));
	EXPECT_EQ(EX_USAGE, run_sh(INFO("1209:*,1209:*")));
	EXPECT_TRUE(has(ERR, "2 DFU devices match"));
	EXPECT_EQ(EX_USAGE, run_sh(INFO("12345:df05")));
	EXPECT_EQ(EX_USAGE, run_sh(INFO("0x12:df05")));
	EXPECT_EQ(EX_USAGE, run_sh(INFO("+483:df05")));
	EXPECT_EQ(EX_USAGE, run_sh(INFO("1209:df05,1209:df05,1209:df05")));
#undef INFO
	emu_stop(&d);
	emu_stop(&r);
}

/* What a device's stats say about the requests it got. */
struct counts {
	long getstatus, getstate;
	unsigned char *file;
	size_t len;
};

static void counts(struct emu *e, struct counts *c)
{
	char path[96];

	c->getstatus = emu_stat(e, "getstatus");
	c->getstate = emu_stat(e, "getstate");
	snprintf(path, sizeof(path), "%s/stats", e->dir);
	c->file = read_file(path, &c->len);
}

static int same_counts(struct emu *e, struct counts *c)
{
	struct counts now;
	int same;

	counts(e, &now);
	same = now.getstatus == c->getstatus && now.getstate == c->getstate &&
	       now.file && c->file && now.len == c->len && !memcmp(now.file, c->file, c->len);
	if (!same)
		fprintf(stderr, "# %s: getstatus %ld -> %ld, getstate %ld -> %ld, stats file %s\n",
			e->node, c->getstatus, now.getstatus, c->getstate, now.getstate,
			now.file && c->file && now.len == c->len && !memcmp(now.file, c->file, c->len) ?
			"the same" : "changed");
	free(now.file);
	return same;
}

/*
 * dfuctl list and list --json send nothing to a DFU-mode or a run-time
 * device (the emulator's counters stay as they were); dfuctl status asks.
 */
TEST_F_TIMEOUT(find, list_sends_nothing, 60)
{
	struct counts cd, cr;
	struct emu d, r;
	int i;

	ASSERT_EQ(0, emu_start(&d, "--udc-device", "dummy_udc.0", NULL));
	ASSERT_EQ(0, emu_start(&r, "--runtime", "--udc-device", "dummy_udc.1", NULL));
	/* the counters work: status asks each (and the file is written) */
	ASSERT_EQ(0, run_sh(DFUCTL " status %s >/dev/null", d.node));
	EXPECT_EQ(0, run_sh(DFUCTL " status %s >/dev/null", r.node));
	ASSERT_LE(1, emu_wait_stat(&d, "getstatus", 1, 5000));
	sleep_ms(300);
	counts(&d, &cd);
	counts(&r, &cr);
	ASSERT_NE(NULL, cd.file);
	ASSERT_NE(NULL, cr.file);
	ASSERT_LE(0, cr.getstate);
	for (i = 0; i < 3; i++) {
		EXPECT_EQ(0, run_sh(DFUCTL " list >" OUT " 2>" ERR));
		EXPECT_EQ(0, run_sh(DFUCTL " list --json >/dev/null 2>" ERR));
	}
	EXPECT_TRUE(has(OUT, "%s  1209:df00  serial \"%s\"  dfu mode", d.node, d.serial));
	EXPECT_TRUE(has(OUT, "%s  1209:df00  serial \"%s\"  runtime mode", r.node, r.serial));
	sleep_ms(500);
	EXPECT_TRUE(same_counts(&d, &cd));
	EXPECT_TRUE(same_counts(&r, &cr));
	/* and status does ask */
	EXPECT_EQ(0, run_sh(DFUCTL " status %s >/dev/null", d.node));
	EXPECT_EQ(cd.getstatus + 1, emu_wait_stat(&d, "getstatus", cd.getstatus + 1, 5000));
	free(cd.file);
	free(cr.file);
	emu_stop(&d);
	emu_stop(&r);
}

TEST_HARNESS_MAIN
