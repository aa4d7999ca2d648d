// SPDX-License-Identifier: GPL-2.0
/*
 * dfu-emu: an emulated USB DFU 1.1 device (DFU mode, optionally with a
 * run-time mode in front of it) on raw_gadget, used
 * as the test fixture of the dfu driver.  This file: command line, the
 * files the emulator writes (--out, --stats, --ready) and signals.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>

#include "apple.h"
#include "fuzz.h"
#include "gadget.h"
#include "log.h"
#include "model.h"

static const char usage_text[] =
"usage: dfu-emu [options]\n"
"  --udc-driver NAME        default dummy_udc\n"
"  --udc-device NAME        default dummy_udc.0\n"
"  --speed full|high        default high\n"
"  --vid HEX --pid HEX      default 1209 and df00\n"
"  --bcd-device HEX         default 0100\n"
"  --serial STR             default EMU0; always UTF-16 (a gd32vf103 sends\n"
"                           its own serial as raw bytes only without it)\n"
"  --transfer-size N        wTransferSize, 1..65535, default 4096\n"
"  --attrs HEX              bmAttributes, default 0x07\n"
"  --detach-timeout MS      default 1000\n"
"  --dfu-version HEX        bcdDFUVersion, default 0x0110\n"
"  --poll-ms N              bwPollTimeout in dfuDNBUSY replies, default 0\n"
"  --busy-polls N           dfuDNBUSY answers per block, default 1\n"
"  --busy-ms N              how long a block really keeps it busy, default\n"
"                           --poll-ms (less: the poll time is bogus)\n"
"  --manifest-poll-ms N     bwPollTimeout in dfuMANIFEST, default 0\n"
"  --alt NAME               add an alt setting (repeatable), default Flash\n"
"  --mem-size BYTES         device memory, default 67108864\n"
"  --image FILE             initial memory contents, default empty\n"
"  --out FILE               write each manifested image there\n"
"  --stats FILE             write key=value statistics there (reattaches:\n"
"                           times back on the bus after leaving it)\n"
"  --ready FILE             create FILE once configured by the host\n"
"  --fail-status CODE@N     GETSTATUS after block N reports CODE (once)\n"
"  --stall REQ@N            stall REQ (detach, dnload, upload, getstatus,\n"
"                           clrstatus, getstate, abort) at block N (once)\n"
"  --disconnect-at N        vanish when DNLOAD block N arrives\n"
"  --disconnect-upload-at N vanish when UPLOAD block N is requested\n"
"  --disconnect-manifest    vanish at the zero-length DNLOAD (end of image)\n"
"  --strict-blocks          check wBlockNum sequence (default)\n"
"  --no-strict-blocks       do not\n"
"  --protocol N             bInterfaceProtocol in DFU mode, default 2\n"
"  --func-desc MODE         malformed functional descriptor: missing,\n"
"                           len=N (0..255), dup (differing), dup-same,\n"
"                           v10\n"
"  --alts N                 N alt settings alt0..altN-1 (1..255)\n"
"  --endpoint               the last alt setting has a bulk OUT endpoint\n"
"                           (0x02, after the functional descriptor), which a\n"
"                           DFU interface never has\n"
"  --start-error CODE       start in dfuERROR with bStatus CODE\n"
"  --stall-busy-getstatus N stall the first N GETSTATUS after each block\n"
"  --stall-busy-every N     stall every Nth GETSTATUS sent while a block is\n"
"                           in progress (never two in a row for N > 1)\n"
"  --upload-ms N            answer each UPLOAD after N ms, default 0\n"
"  --strict-clrstatus       CLRSTATUS outside dfuERROR: dfuERROR/errUNKNOWN\n"
"  --runtime                start in run-time mode (appIDLE)\n"
"  --dfu-pid HEX            idProduct in DFU mode with --runtime\n"
"                           (default: --pid)\n"
"  --dfu-serial STR         serial number in DFU mode with --runtime\n"
"                           (default: --serial)\n"
"  --dfu-no-serial          no serial number in DFU mode (iSerialNumber 0,\n"
"                           string 3 stalls) with --runtime\n"
"  --dfu-udc-device NAME    with --runtime, come back in DFU mode on this\n"
"                           UDC (another dummy_hcd port), back in run-time\n"
"                           mode on --udc-device; --dfu-udc-driver NAME\n"
"                           (default: --udc-driver) names its driver\n"
"  --reenum-ms N            with --runtime: mode switches are real re-\n"
"                           enumerations: the USB reset after DETACH (before\n"
"                           the detach timer, the lesser of DETACH's wValue\n"
"                           and --detach-timeout, runs out) makes the device\n"
"                           leave the bus for N ms and come back in DFU mode,\n"
"                           as bitWillDetach (--attrs 0x08) does right after\n"
"                           DETACH; the reset after manifestation makes it\n"
"                           leave for 200 ms and come back in run-time mode.\n"
"                           Without it and --dfu-udc-*, those resets switch\n"
"                           the descriptors in place and bitWillDetach leaves\n"
"                           for 200 ms (--dfu-udc-* alone: as --reenum-ms 200)\n"
"Personalities (the protocol reference, section 12):\n"
"  --lagging-state          GETSTATUS reports the state it found (Zephyr)\n"
"  --poll-always            --poll-ms in every GETSTATUS reply (Zephyr)\n"
"  --bad-state N            GETSTATUS after block N says bState 0x0f, once\n"
"                           (ST library)\n"
"  --leave-after-manifest   leave the bus and come back after the GETSTATUS\n"
"                           that enters dfuMANIFEST (STM32 ROM, ST library,\n"
"                           libopencm3); in run-time mode with --runtime\n"
"  --upload-full            UPLOAD never answers short: 0xff after the\n"
"                           image, a stall past --mem-size (ST, Black Magic)\n"
"  --stall-keeps-state      a refused request stalls without dfuERROR\n"
"                           (TinyUSB, libopencm3)\n"
"  --stall-manifest         commit the image at the GETSTATUS that would\n"
"                           enter dfuMANIFEST, but stall it and every\n"
"                           request after it until SET_INTERFACE or reset\n"
"ST DfuSe (the protocol reference, sections 11-13):\n"
"  --dfuse NAME             be that DfuSe device (dfuse-profiles.c):\n"
"                 stm32f4   STM32F4 system-memory ROM, 0483:df11, 2048-byte\n"
"                           blocks, 1 MiB flash, option bytes, OTP, device\n"
"                           feature; errors as bStatus, dfuERROR\n"
"                 stusbd    ST's USB device library (usbd_dfu.c) app\n"
"                           bootloader, 0483:df11, 1024-byte blocks, 48 KiB\n"
"                           read-only bootloader, commands 00 21 41; Erase\n"
"                           moves the pointer, a failed erase/write stays\n"
"                           in dfuDNBUSY, strict CLRSTATUS, UPLOAD block 1\n"
"                           gives bState 0x0f, uploads never short\n"
"                 bmp       Black Magic Probe bootloader, 1d50:6017, 1024-\n"
"                           byte blocks, 8 KiB read-only + 56 KiB, 100 ms\n"
"                           per DNLOAD, no state checks, never dfuERROR,\n"
"                           uploads never short\n"
"                 gd32vf103 GigaDevice GD32VF103 ROM, 28e9:0189, 2048-byte\n"
"                           blocks, says 512*2 KiB, has 128*1 KiB, serial\n"
"                           \"3CBJ\" in 8-bit bytes; leaves at the zero-\n"
"                           length DNLOAD without a GETSTATUS\n"
"                           Other options given with it override its values\n"
"                           (not --alt, --alts, --fuzz). --image fills the\n"
"                           flash (alt 0) from its lowest address, --out\n"
"                           gets it at each leave and at exit (zones in\n"
"                           address order, gaps left out). A leave drops\n"
"                           off the bus and comes back 200 ms later in DFU\n"
"                           mode (run-time mode with --runtime)\n"
"  --dfuse-layout N STRING  alt N's iInterface is STRING, a DfuSe memory\n"
"                           layout (\"@Flash/0x08000000/2*016Kg/0x08010000/\n"
"                           2*016Kg\"), and the device's memory for alt N is\n"
"                           what it describes, read as the driver reads it:\n"
"                           any digits, spaces, K/M/B or none, type letter\n"
"                           a-g or none (no access), empty runs, several\n"
"                           zones. Refused: no '@' or zone, past 4 GiB,\n"
"                           overlapping zones, no memory, over 64 runs or\n"
"                           64 MiB. N below the profile's alt count;\n"
"                           repeatable\n"
"  --dfuse-erase-ms N       busy time of a sector erase (stm32f4: 40)\n"
"  --dfuse-mass-erase-ms N  busy time of a mass erase (stm32f4: 100)\n"
"  --dfuse-write-ms N       busy time of a data block (stm32f4: 4)\n"
"  --dfuse-blank            the application is blank: start in dfuERROR/\n"
"                           errFIRMWARE until CLRSTATUS (stm32f4, gd32vf103)\n"
"  --dfuse-protected        read protection on: Erase, mass erase and data\n"
"                           blocks fail with errVENDOR, UPLOAD blocks >= 2\n"
"                           stall with dfuERROR/errVENDOR; Read Unprotect\n"
"                           (0x92) wipes the flash, drops off the bus and\n"
"                           comes back unprotected (stm32f4)\n"
"  --stats with --dfuse adds: dfuse (profile), address (pointer), get_commands,\n"
"    set_address, erases, mass_erases, unprotects, leaves, dfuse_writes,\n"
"    dfuse_write_bytes (programmed), dfuse_reads, dfuse_read_bytes,\n"
"    dfuse_pad_bytes (0xff sent for no memory), dfuse_errors (bStatus\n"
"    errors), dfuse_protected (0/1), dfuse_denied (errVENDOR), dfuse_stuck\n"
"    (hung in dfuDNBUSY), dfuse_ignored (commands that did nothing),\n"
"    dfuse_lost_bytes (silently not programmed), dfuse_bogus_state (bState\n"
"    0x0f), erased=0x...,... (sectors in order); clrstatus, stray_clrstatus\n"
"    and aborts are the model's\n"
"Apple SecureROM DFU mode (the protocol reference, section 16):\n"
"  --apple                  be an iPhone X's ROM in DFU mode, 05ac:1227\n"
"                           (--vid/--pid change it): interface FE/01/00, no\n"
"                           endpoints, 7-byte DFU 1.0 functional descriptor\n"
"                           (attrs 0x01, detach 10, wTransferSize 2048);\n"
"                           string 1 the nonces (NONC: SNON:), 2-4 \"Apple\n"
"                           Inc.\", \"Apple Mobile Device (DFU Mode)\" and the\n"
"                           identity (--serial; default CPID:8015 CPRV:11\n"
"                           CPFM:03 SCEP:01 BDID:0E ECID:001A2B3C4D5E6F70\n"
"                           IBFL:3C SRTG:[iBoot-3332.0.0.1.23]). DNLOAD\n"
"                           appends (wValue ignored), over 2048 bytes\n"
"                           stalls; GETSTATUS after a block: dfuDNLOAD-IDLE,\n"
"                           bwPollTimeout 50. Zero-length DNLOAD: state 6;\n"
"                           each GETSTATUS then moves it on: 7, 8. A USB\n"
"                           reset in state 8 checks the last 16 bytes (the\n"
"                           DFU suffix and its CRC), writes --out (what came\n"
"                           in, without them) and leaves the bus: back 1.5 s\n"
"                           later as 05ac:1281 (recovery mode: interface\n"
"                           FE/01/02, one bulk OUT endpoint, no functional\n"
"                           descriptor, class requests stall) when the\n"
"                           image boots, else as a fresh 1227. A reset\n"
"                           before state 8 is ignored. CLRSTATUS and ABORT\n"
"                           leave the bus: back as a fresh 1227. UPLOAD,\n"
"                           DETACH stall; stalls keep the state. Zero-length\n"
"                           DNLOAD in dfuIDLE stalls, in states 6-8 does\n"
"                           nothing; data DNLOAD in 6-8 stalls. Only --vid,\n"
"                           --pid, --serial, --speed, --bcd-device,\n"
"                           --mem-size (most bytes per session), --udc-*,\n"
"                           --out, --stats, --ready, --verbose apply\n"
"  --apple-accept FILE      boot only FILE (\"signed for this device\"): the\n"
"                           bytes before the suffix must equal it (without:\n"
"                           any image with a right suffix and CRC boots)\n"
"  --apple-recovery         start as the 05ac:1281 recovery-mode device\n"
"  --stats with --apple: apple_mode (dfu|recovery), apple_state (bState),\n"
"    apple_dnloads (data DNLOADs) and apple_received (bytes, suffix included)\n"
"    of the last session that sent data (zeroed by its first data DNLOAD),\n"
"    apple_max_dnload and apple_last_dnload (wLength of nonzero DNLOADs,\n"
"    stalled ones too), apple_zlp (zero-length DNLOADs), apple_suffix_ok,\n"
"    apple_crc (the dwCRC received, 0x%08x), apple_crc_ok (0/1, at the last\n"
"    reset in state 8), apple_resets_state8, apple_resets_early (bus resets\n"
"    before state 8 after a class request since the device came on the bus;\n"
"    the enumeration's own are not; one port reset by Linux (USBDEVFS_RESET)\n"
"    was two at high speed), apple_resets (all), apple_boots,\n"
"    apple_rejects, apple_sessions_ended (CLRSTATUS, ABORT), apple_stalls,\n"
"    apple_getstatus, apple_reattaches (times back on the bus). Counters add\n"
"    up over the emulator's life; no other keys\n"
"Fuzzing the host driver:\n"
"  --fuzz SEED              random descriptors, answers, stalls, delays and\n"
"                           disconnects, drawn from SEED; the device comes\n"
"                           back after each disconnect. A session with\n"
"                           bcdDFUVersion 0x011a names its alt settings\n"
"                           with DfuSe memory layouts: valid, lenient and\n"
"                           hostile ones (the DfuSe requests are answered\n"
"                           at random as any others)\n"
"  --fuzz-ms N              stop after N ms (default 4000)\n"
"  --stats with --fuzz adds: fuzz_requests, fuzz_class_requests, fuzz_stalls,\n"
"    fuzz_disconnects, fuzz_reconnects, fuzz_delays, fuzz_random_replies,\n"
"    fuzz_sessions, fuzz_broken_strings, fuzz_dfuse_sessions (0x011a),\n"
"    fuzz_dfuse_valid, fuzz_dfuse_lenient, fuzz_dfuse_hostile (layouts)\n"
"  --verbose                log events on stderr\n";

static const char *const request_opt_names[DFU_NUM_REQUESTS] = {
	"detach", "dnload", "upload", "getstatus", "clrstatus", "getstate",
	"abort",
};

int emu_verbose;

static struct dfu_model model;
static struct model_config mcfg;
static struct gadget_config gcfg;
static const char *opt_image, *opt_out, *opt_stats, *opt_ready;

/* --dfuse: the profile (a copy, which --dfuse-layout edits), its memory
 * and busy times */
static struct dfuse_profile dfuse_custom;
static const struct dfuse_profile *dfuse_profile;
static struct dfuse dfuse_dev;
static struct dfuse_options dfuse_opts;
static int dfuse_blank;

/* --apple: the SecureROM, and the signed image it boots */
static int opt_apple, have_vid, have_pid, have_serial;
static struct apple apple_dev;
static struct apple_config apple_cfg;
static const char *opt_apple_accept;
static uint8_t *apple_accept;

static sigjmp_buf stop_env;
static volatile sig_atomic_t stop_flag, fetch_waiting;

/* --fuzz: the seed, the run's length, its end on CLOCK_MONOTONIC */
static int opt_fuzz;
static unsigned long long fuzz_seed;
static unsigned long fuzz_ms = 4000;
static uint64_t fuzz_end_us;
static volatile sig_atomic_t session_over;

void emu_log(const char *fmt, ...)
{
	va_list ap;

	if (!emu_verbose)
		return;
	va_start(ap, fmt);
	fputs("dfu-emu: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static void __attribute__((noreturn)) usage(const char *fmt, const char *arg)
{
	if (fmt) {
		fputs("dfu-emu: ", stderr);
		fprintf(stderr, fmt, arg);
		fputc('\n', stderr);
	}
	fputs(usage_text, stderr);
	exit(2);
}

/* A number: base 16 for HEX options (0x optional), else decimal or 0x. */
static unsigned long long number(const char *opt, const char *s, int hex,
				 unsigned long long min, unsigned long long max)
{
	unsigned long long v;
	char *end;
	int base = hex || (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) ?
		   16 : 10;

	errno = 0;
	v = strtoull(s, &end, base);
	if (!*s || *s == '-' || *end || errno || v < min || v > max)
		usage("bad value for --%s", opt);
	return v;
}

/* "X@N" -> X in *head (NUL-terminated in place), N returned. */
static unsigned long at_count(const char *opt, char *s, char **head)
{
	char *at = strchr(s, '@');

	if (!at)
		usage("--%s wants X@N", opt);
	*at = '\0';
	*head = s;
	return (unsigned long)number(opt, at + 1, 0, 0, ULONG_MAX);
}

/* --dfuse NAME sets the device's identity first, so that any other option
 * on the command line, wherever it stands, overrides it. */
static void dfuse_preset(int argc, char **argv)
{
	const struct dfuse_profile *p;
	const char *name = NULL;
	unsigned i;
	int k;

	for (k = 1; k < argc; k++) {
		if (!strcmp(argv[k], "--"))
			break;
		if (!strcmp(argv[k], "--dfuse") && k + 1 < argc)
			name = argv[k + 1];
		else if (!strncmp(argv[k], "--dfuse=", 8))
			name = argv[k] + 8;
	}
	if (!name)
		return;
	p = dfuse_find(name);
	if (!p)
		usage("unknown --dfuse device '%s'", name);
	dfuse_custom = *p;
	dfuse_profile = p = &dfuse_custom;
	gcfg.vid = p->vid;
	gcfg.pid = p->pid;
	gcfg.bcd_device = p->bcd_device;
	gcfg.bcd_usb = p->bcd_usb;
	gcfg.manufacturer = p->manufacturer;
	gcfg.product = p->product;
	gcfg.serial = p->serial;
	gcfg.high_speed = 0;		/* the ROMs are full speed */
	gcfg.detach_timeout = p->detach_timeout;
	gcfg.dfu_version = 0x011a;
	gcfg.protocol = p->protocol;
	mcfg.attrs = p->attrs;
	mcfg.transfer_size = p->transfer_size;
	/* dfu-util sends every chunk as block 2, commands as block 0 */
	mcfg.strict_blocks = 0;
	for (i = 0; i < p->n_alts; i++)
		gcfg.alt_names[i] = p->layouts[i];
	mcfg.n_alts = p->n_alts;
	mcfg.manifest_poll_ms = p->manifest_poll_ms;
	mcfg.abort_policy = p->abort;
	mcfg.stall_keeps_state = p->stall_keeps_state;
	mcfg.strict_clrstatus = p->strict_clrstatus;
	mcfg.clrstatus_ignored = p->clrstatus_ignored;
	mcfg.dnload_any_state = p->dnload_any_state;
	mcfg.upload_after_dnload = p->upload_after_dnload;
	mcfg.busy_to_idle = p->busy_to_idle;
	mcfg.leave_without_status = p->leave_without_status;
	mcfg.set_interface_keeps_state = p->set_interface_keeps_state;
	gcfg.serial_raw = p->serial_raw;
	dfuse_opts.erase_ms = p->erase_ms;
	dfuse_opts.mass_erase_ms = p->mass_erase_ms;
	dfuse_opts.write_ms = p->write_ms;
}

/* --dfuse-layout N STRING: STRING is the word after N. */
static void dfuse_layout(const char *alt, int argc, char **argv)
{
	static char msg[512];
	const char *why, *str;
	unsigned n;

	if (!dfuse_profile)
		usage("--dfuse-layout needs --%s", "dfuse");
	n = (unsigned)number("dfuse-layout", alt, 0, 0, DFUSE_MAX_ALTS - 1);
	if (n >= dfuse_custom.n_alts) {
		snprintf(msg, sizeof(msg), "--dfuse %s has alt settings 0..%u",
			 dfuse_custom.name, dfuse_custom.n_alts - 1);
		usage("%s", msg);
	}
	if (optind >= argc)
		usage("--dfuse-layout %s wants a layout STRING after N", alt);
	str = argv[optind++];
	if (dfuse_layout_check(str, &why)) {
		snprintf(msg, sizeof(msg), "--dfuse-layout %u '%s': %s", n,
			 str, why);
		usage("%s", msg);
	}
	dfuse_custom.layouts[n] = str;
	dfuse_custom.real_layouts[n] = NULL;	/* it says what it has */
	gcfg.alt_names[n] = str;
}

static void parse_args(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "udc-driver", 1, 0, 'D' }, { "udc-device", 1, 0, 'd' },
		{ "speed", 1, 0, 'S' }, { "vid", 1, 0, 'V' },
		{ "pid", 1, 0, 'P' }, { "bcd-device", 1, 0, 'B' },
		{ "serial", 1, 0, 's' }, { "transfer-size", 1, 0, 't' },
		{ "attrs", 1, 0, 'a' }, { "detach-timeout", 1, 0, 'T' },
		{ "dfu-version", 1, 0, 'v' }, { "poll-ms", 1, 0, 'p' },
		{ "busy-polls", 1, 0, 'b' }, { "manifest-poll-ms", 1, 0, 'm' },
		{ "busy-ms", 1, 0, 'W' },
		{ "alt", 1, 0, 'A' }, { "mem-size", 1, 0, 'M' },
		{ "image", 1, 0, 'i' }, { "out", 1, 0, 'o' },
		{ "stats", 1, 0, 'x' }, { "ready", 1, 0, 'r' },
		{ "fail-status", 1, 0, 'f' }, { "stall", 1, 0, 'z' },
		{ "disconnect-at", 1, 0, 'c' },
		{ "disconnect-upload-at", 1, 0, 'u' },
		{ "disconnect-manifest", 0, 0, 'X' },
		{ "strict-blocks", 0, 0, 'k' }, { "no-strict-blocks", 0, 0, 'K' },
		{ "protocol", 1, 0, 'O' }, { "func-desc", 1, 0, 'F' },
		{ "alts", 1, 0, 'N' }, { "start-error", 1, 0, 'E' },
		{ "stall-busy-getstatus", 1, 0, 'g' },
		{ "stall-busy-every", 1, 0, 'n' },
		{ "upload-ms", 1, 0, 'Q' },
		{ "strict-clrstatus", 0, 0, 'C' }, { "runtime", 0, 0, 'U' },
		{ "dfu-pid", 1, 0, 'q' }, { "dfu-serial", 1, 0, 267 },
		{ "dfu-no-serial", 0, 0, 268 },
		{ "dfu-udc-driver", 1, 0, 269 },
		{ "dfu-udc-device", 1, 0, 270 }, { "reenum-ms", 1, 0, 271 },
		{ "lagging-state", 0, 0, 'L' }, { "poll-always", 0, 0, 'Y' },
		{ "bad-state", 1, 0, 'j' },
		{ "leave-after-manifest", 0, 0, 'l' },
		{ "upload-full", 0, 0, 'y' },
		{ "stall-keeps-state", 0, 0, 'e' },
		{ "stall-manifest", 0, 0, 'G' }, { "endpoint", 0, 0, 266 },
		{ "dfuse", 1, 0, 256 }, { "dfuse-erase-ms", 1, 0, 257 },
		{ "dfuse-mass-erase-ms", 1, 0, 258 },
		{ "dfuse-write-ms", 1, 0, 259 },
		{ "dfuse-blank", 0, 0, 260 }, { "dfuse-protected", 0, 0, 261 },
		{ "dfuse-layout", 1, 0, 262 },
		{ "apple", 0, 0, 263 }, { "apple-accept", 1, 0, 264 },
		{ "apple-recovery", 0, 0, 265 },
		{ "fuzz", 1, 0, 'Z' }, { "fuzz-ms", 1, 0, 'R' },
		{ "verbose", 0, 0, 'w' }, { "help", 0, 0, 'h' },
		{ 0, 0, 0, 0 }
	};
	unsigned long n;
	char *head;
	int c, i, idx, have_dfu_pid = 0, have_dfu_opt = 0;

	/* "+": no reordering, as --dfuse-layout takes the word after its
	 * argument too */
	while ((c = getopt_long(argc, argv, "+", opts, &idx)) != -1) {
		const char *o = c == '?' ? "" : opts[idx].name;

		switch (c) {
		case 'D': gcfg.udc_driver = optarg; break;
		case 'd': gcfg.udc_device = optarg; break;
		case 'S':
			if (strcmp(optarg, "full") && strcmp(optarg, "high"))
				usage("bad value for --%s", o);
			gcfg.high_speed = !strcmp(optarg, "high");
			break;
		case 'V':
			gcfg.vid = number(o, optarg, 1, 0, 0xffff);
			have_vid = 1;
			break;
		case 'P':
			gcfg.pid = number(o, optarg, 1, 0, 0xffff);
			have_pid = 1;
			break;
		case 'B':
			gcfg.bcd_device = number(o, optarg, 1, 0, 0xffff);
			break;
		case 's':
			/* a serial given here is one a host must find the
			 * device by: UTF-16, not the GD32's raw bytes */
			gcfg.serial = optarg;
			gcfg.serial_raw = 0;
			have_serial = 1;
			break;
		case 't':
			mcfg.transfer_size = number(o, optarg, 0, 1, 0xffff);
			break;
		case 'a': mcfg.attrs = number(o, optarg, 1, 0, 0xff); break;
		case 'T':
			gcfg.detach_timeout = number(o, optarg, 0, 0, 0xffff);
			break;
		case 'v':
			gcfg.dfu_version = number(o, optarg, 1, 0, 0xffff);
			break;
		case 'p':
			mcfg.poll_ms = number(o, optarg, 0, 0, 0xffffff);
			break;
		case 'b':
			mcfg.busy_polls = number(o, optarg, 0, 0, ULONG_MAX);
			break;
		case 'W':
			mcfg.busy_ms = number(o, optarg, 0, 0, 0xffffff);
			break;
		case 'm':
			mcfg.manifest_poll_ms =
				number(o, optarg, 0, 0, 0xffffff);
			break;
		case 'A':
			if (mcfg.n_alts == GADGET_MAX_ALTS)
				usage("at most 32 --%s", o);
			gcfg.alt_names[mcfg.n_alts++] = optarg;
			break;
		case 'M':
			mcfg.mem_size = number(o, optarg, 0, 0, SIZE_MAX);
			break;
		case 'i': opt_image = optarg; break;
		case 'o': opt_out = optarg; break;
		case 'x': opt_stats = optarg; break;
		case 'r': opt_ready = optarg; break;
		case 'f':
			if (mcfg.n_fail == MODEL_MAX_RULES)
				usage("too many --%s", o);
			n = at_count(o, optarg, &head);
			mcfg.fail[mcfg.n_fail].status =
				number(o, head, 0, 0, 0xff);
			mcfg.fail[mcfg.n_fail++].block = n;
			break;
		case 'z':
			if (mcfg.n_stall == MODEL_MAX_RULES)
				usage("too many --%s", o);
			n = at_count(o, optarg, &head);
			for (i = 0; i < DFU_NUM_REQUESTS; i++)
				if (!strcmp(head, request_opt_names[i]))
					break;
			if (i == DFU_NUM_REQUESTS)
				usage("unknown request '%s' for --stall", head);
			mcfg.stall[mcfg.n_stall].request = i;
			mcfg.stall[mcfg.n_stall++].count = n;
			break;
		case 'c':
			mcfg.disconnect_at = number(o, optarg, 0, 0, LONG_MAX);
			break;
		case 'X':
			mcfg.disconnect_manifest = 1;
			break;
		case 'u':
			mcfg.disconnect_upload_at =
				number(o, optarg, 0, 0, LONG_MAX);
			break;
		case 'k': mcfg.strict_blocks = 1; break;
		case 'K': mcfg.strict_blocks = 0; break;
		case 'O':	/* DfuSe ROMs report 0, NXP LPC 1 */
			gcfg.protocol = number(o, optarg, 0, 0, 0xff);
			break;
		case 'F':	/* malformed descriptors for probe tests */
			if (!strcmp(optarg, "missing")) {
				gcfg.func_desc = FUNC_DESC_MISSING;
			} else if (!strcmp(optarg, "dup")) {
				gcfg.func_desc = FUNC_DESC_DUP;
			} else if (!strcmp(optarg, "dup-same")) {
				gcfg.func_desc = FUNC_DESC_DUP_SAME;
			} else if (!strcmp(optarg, "v10")) {
				gcfg.func_desc = FUNC_DESC_V10;
			} else if (!strncmp(optarg, "len=", 4)) {
				gcfg.func_desc = FUNC_DESC_LEN;
				gcfg.func_desc_len =
					number(o, optarg + 4, 0, 0, 255);
			} else {
				usage("bad value for --%s", o);
			}
			break;
		case 'N':	/* alt0..altN-1 instead of --alt names */
			gcfg.num_alts = number(o, optarg, 0, 1,
					       GADGET_MAX_NUM_ALTS);
			break;
		case 'E':	/* STM32 ROM, blank application: 0x0a */
			mcfg.start_error = number(o, optarg, 0, 0, 0xff);
			break;
		case 'g':	/* STM32L4 ROM */
			mcfg.busy_stall_getstatus =
				number(o, optarg, 0, 0, ULONG_MAX);
			break;
		case 'n':
			mcfg.stall_busy_every =
				number(o, optarg, 0, 0, ULONG_MAX);
			break;
		case 'Q':
			mcfg.upload_ms = number(o, optarg, 0, 0, 60000);
			break;
		case 'C': mcfg.strict_clrstatus = 1; break;
		case 'U': mcfg.runtime = 1; break;
		case 'q':
			gcfg.dfu_pid = number(o, optarg, 1, 0, 0xffff);
			have_dfu_pid = 1;
			break;
		case 267:
			gcfg.dfu_serial = optarg;
			have_dfu_opt = 1;
			break;
		case 268:
			gcfg.dfu_no_serial = 1;
			have_dfu_opt = 1;
			break;
		case 269:
			gcfg.dfu_udc_driver = optarg;
			have_dfu_opt = mcfg.reenumerate = 1;
			break;
		case 270:
			gcfg.dfu_udc_device = optarg;
			have_dfu_opt = mcfg.reenumerate = 1;
			break;
		case 271:
			gcfg.reenum_ms = (int)number(o, optarg, 0, 0, 600000);
			have_dfu_opt = mcfg.reenumerate = 1;
			break;
		case 'L': mcfg.lagging_state = 1; break;
		case 'Y': mcfg.poll_always = 1; break;
		case 'j':
			mcfg.bad_state_at = number(o, optarg, 0, 0, LONG_MAX);
			break;
		case 'l': mcfg.leave_after_manifest = 1; break;
		case 'y': mcfg.upload_full = 1; break;
		case 'e': mcfg.stall_keeps_state = 1; break;
		case 'G': mcfg.stall_manifest = 1; break;
		case 'Z':
			opt_fuzz = 1;
			fuzz_seed = number(o, optarg, 0, 0, ULLONG_MAX);
			break;
		case 'R':
			fuzz_ms = number(o, optarg, 0, 1, 86400000);
			break;
		case 256: break;	/* applied before, by dfuse_preset() */
		case 257:
			dfuse_opts.erase_ms = number(o, optarg, 0, 0, 0xffffff);
			break;
		case 258:
			dfuse_opts.mass_erase_ms =
				number(o, optarg, 0, 0, 0xffffff);
			break;
		case 259:
			dfuse_opts.write_ms = number(o, optarg, 0, 0, 0xffffff);
			break;
		case 260: dfuse_blank = 1; break;
		case 261: dfuse_opts.protect = 1; break;
		case 262:
			dfuse_layout(optarg, argc, argv);
			break;
		case 266: gcfg.endpoint = 1; break;
		case 263: opt_apple = 1; break;
		case 264: opt_apple_accept = optarg; break;
		case 265: apple_cfg.recovery = 1; break;
		case 'w': emu_verbose = 1; break;
		case 'h':
			fputs(usage_text, stdout);
			exit(0);
		default:
			usage(NULL, NULL);
		}
	}
	if (optind < argc)
		usage("unexpected argument '%s'", argv[optind]);
	if ((opt_apple_accept || apple_cfg.recovery) && !opt_apple)
		usage("--apple-accept and --apple-recovery need --%s", "apple");
	if (opt_apple && (dfuse_profile || opt_fuzz || mcfg.runtime))
		usage("--apple does not combine with --%s",
		      dfuse_profile ? "dfuse" : opt_fuzz ? "fuzz" : "runtime");
	if (dfuse_profile && (mcfg.n_alts != dfuse_profile->n_alts ||
			      gcfg.num_alts || opt_fuzz))
		usage("--dfuse %s takes its alt settings from its profile "
		      "and does not fuzz", dfuse_profile->name);
	if ((dfuse_blank || dfuse_opts.protect) && !dfuse_profile)
		usage("--dfuse-blank and --dfuse-protected need --%s", "dfuse");
	if (dfuse_blank && !dfuse_profile->has_boot_error)
		usage("--dfuse %s has no blank-application state",
		      dfuse_profile->name);
	if (dfuse_opts.protect &&
	    !dfuse_has_command(dfuse_profile, 0x92))
		usage("--dfuse %s has no Read Unprotect (0x92)",
		      dfuse_profile->name);
	if (dfuse_blank)	/* errFIRMWARE, as the ROM with no application */
		mcfg.start_error = 0x0a;
	if (gcfg.num_alts) {
		if (mcfg.n_alts)
			usage("--alts and --alt %s do not combine",
			      gcfg.alt_names[0]);
		mcfg.n_alts = gcfg.num_alts;
	}
	if (mcfg.n_alts == 0)
		gcfg.alt_names[mcfg.n_alts++] = "Flash";
	if ((have_dfu_pid || have_dfu_opt) && !mcfg.runtime)
		usage("--dfu-pid, --dfu-serial, --dfu-no-serial, --dfu-udc-* and "
		      "--reenum-ms need --%s", "runtime");
	if (gcfg.dfu_serial && gcfg.dfu_no_serial)
		usage("--dfu-serial and --dfu-no-serial do not combine%s", "");
	if (opt_fuzz && have_dfu_opt)
		usage("--fuzz does not combine with --dfu-serial, --dfu-no-serial, "
		      "--dfu-udc-* and --reenum-ms%s", "");
	if (!have_dfu_pid)
		gcfg.dfu_pid = gcfg.pid;
	mcfg.detach_timeout = gcfg.detach_timeout;
}

/* Whole-file output through FILE.tmp and rename(), so that a reader sees
 * the old file or the new one, never half of one. */
static FILE *tmp_open(const char *path, char *tmp, size_t size)
{
	FILE *f;

	snprintf(tmp, size, "%s.tmp", path);
	f = fopen(tmp, "w");
	if (!f)
		fprintf(stderr, "dfu-emu: %s: %s\n", tmp, strerror(errno));
	return f;
}

static void tmp_commit(FILE *f, const char *tmp, const char *path)
{
	int bad = ferror(f);

	if (fclose(f) || bad || rename(tmp, path))
		fprintf(stderr, "dfu-emu: cannot write %s\n", path);
}

static void write_stats(void)
{
	char tmp[4096];
	FILE *f;

	if (!opt_stats || !(f = tmp_open(opt_stats, tmp, sizeof(tmp))))
		return;
	model_write_stats(&model, f);
	if (opt_fuzz)
		fuzz_write_stats(f);
	tmp_commit(f, tmp, opt_stats);
}

static void write_image(void)
{
	const uint8_t *data;
	char tmp[4096];
	size_t len;
	FILE *f;

	if (!opt_out || !(f = tmp_open(opt_out, tmp, sizeof(tmp))))
		return;
	model_image(&model, &data, &len);
	if (len && data)
		fwrite(data, 1, len, f);
	tmp_commit(f, tmp, opt_out);
}

static void on_events(void *ctx, unsigned events)
{
	FILE *f;

	(void)ctx;
	if (events & MODEL_EV_MANIFEST)
		write_image();
	if (events & (MODEL_EV_STATS | MODEL_EV_MANIFEST))
		write_stats();
	if ((events & GADGET_EV_CONFIGURED) && opt_ready) {
		f = fopen(opt_ready, "w");
		if (!f || fclose(f))
			fprintf(stderr, "dfu-emu: cannot create %s\n",
				opt_ready);
	}
}

/* Initial memory: the whole --image file. */
static void load_image(uint8_t **data, size_t *len)
{
	struct stat st;
	FILE *f;

	*data = NULL;
	*len = 0;
	if (!opt_image)
		return;
	f = fopen(opt_image, "rb");
	if (!f || fstat(fileno(f), &st) || !S_ISREG(st.st_mode))
		usage("cannot read --image %s", opt_image);
	if (!dfuse_profile &&
	    (unsigned long long)st.st_size > mcfg.mem_size)
		usage("--image %s is larger than --mem-size", opt_image);
	*len = (size_t)st.st_size;
	*data = malloc(*len ? *len : 1);
	if (!*data || fread(*data, 1, *len, f) != *len)
		usage("cannot read --image %s", opt_image);
	fclose(f);
}

/* --apple: the SecureROM's identity and the --apple-accept file. */
static void start_apple(void)
{
	struct stat st;
	FILE *f;

	apple_cfg.vid = have_vid ? gcfg.vid : APPLE_VID;
	apple_cfg.pid = have_pid ? gcfg.pid : APPLE_PID_DFU;
	apple_cfg.bcd_device = gcfg.bcd_device;
	apple_cfg.bcd_usb = gcfg.bcd_usb;
	apple_cfg.high_speed = gcfg.high_speed;
	apple_cfg.serial = have_serial ? gcfg.serial :
		"CPID:8015 CPRV:11 CPFM:03 SCEP:01 BDID:0E "
		"ECID:001A2B3C4D5E6F70 IBFL:3C SRTG:[iBoot-3332.0.0.1.23]";
	/* a 32-byte AP nonce and a 20-byte SEP nonce */
	apple_cfg.nonces =
		"NONC:5A1E7C0D3B9F24680ACE13579BDF02468ACE13579BDF0246"
		"8ACE13579BDF0246 SNON:0123456789ABCDEF0123456789ABCDEF01234567";
	apple_cfg.mem_size = mcfg.mem_size;
	if (opt_apple_accept) {
		f = fopen(opt_apple_accept, "rb");
		if (!f || fstat(fileno(f), &st) || !S_ISREG(st.st_mode))
			usage("cannot read --apple-accept %s", opt_apple_accept);
		apple_cfg.accept_len = (size_t)st.st_size;
		apple_accept = malloc(apple_cfg.accept_len + 1);
		if (!apple_accept || fread(apple_accept, 1,
					   apple_cfg.accept_len, f) !=
				     apple_cfg.accept_len)
			usage("cannot read --apple-accept %s", opt_apple_accept);
		fclose(f);
		apple_cfg.accept = apple_accept;
		apple_cfg.have_accept = 1;
	}
	apple_init(&apple_dev, &apple_cfg);
}

/* SIGTERM/SIGINT: while the loop waits in EVENT_FETCH, leave it at once
 * (checking a flag before the ioctl would race with the signal);
 * otherwise the loop sees the flag when the current request is done. */
static void on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
	if (fetch_waiting) {
		fetch_waiting = 0;
		siglongjmp(stop_env, 1);
	}
}

static uint64_t mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* One-shot SIGALRM in ms (at least 1, so that it is armed). */
static void arm_alarm(uint64_t ms)
{
	struct itimerval it;

	memset(&it, 0, sizeof(it));
	if (!ms)
		ms = 1;
	it.it_value.tv_sec = (time_t)(ms / 1000);
	it.it_value.tv_usec = (suseconds_t)(ms % 1000) * 1000;
	setitimer(ITIMER_REAL, &it, NULL);
}

/* --fuzz: SIGALRM ends the session, or at --fuzz-ms the whole run. */
static void on_alarm(int sig)
{
	if (mono_us() >= fuzz_end_us)
		on_signal(sig);
	else
		session_over = 1;	/* EVENT_FETCH returns EINTR */
}

/* --fuzz: a new device for each session, with a timer to end it. */
static void on_session(void *ctx)
{
	uint64_t now = mono_us(), left, ms;

	(void)ctx;
	fuzz_session(&gcfg, &mcfg);
	model_free(&model);
	model_init(&model, &mcfg, NULL, 0);
	write_stats();
	session_over = 0;
	left = now < fuzz_end_us ? (fuzz_end_us - now + 999) / 1000 : 0;
	ms = fuzz_session_ms();
	arm_alarm(ms && ms < left ? ms : left);
}

/* No SA_RESTART: the raw_gadget ioctls see EINTR; the stop signals wait. */
static void catch_signal(int sig, void (*handler)(int))
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = handler;
	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, SIGTERM);
	sigaddset(&sa.sa_mask, SIGINT);
	sigaction(sig, &sa, NULL);
}

static void start_fuzz(void)
{
	fuzz_init(fuzz_seed);
	fuzz_end_us = mono_us() + (uint64_t)fuzz_ms * 1000;
	gcfg.fuzz = 1;
	gcfg.on_session = on_session;
	gcfg.session_over = &session_over;
	catch_signal(SIGALRM, on_alarm);
}

/* --dfuse: the device's memory, with --image at the start of its flash.
 * Takes ownership of image. */
static void start_dfuse(uint8_t *image, size_t image_len)
{
	dfuse_opts.transfer_size = mcfg.transfer_size;
	if (dfuse_init(&dfuse_dev, dfuse_profile, &dfuse_opts))
		usage("cannot set up --dfuse %s", dfuse_profile->name);
	if (dfuse_load(&dfuse_dev, image, image_len))
		usage("--image %s is larger than the flash", opt_image);
	free(image);
}

int main(int argc, char **argv)
{
	enum gadget_exit ret;
	uint8_t *image;
	size_t image_len;

	gcfg.udc_driver = "dummy_udc";
	gcfg.udc_device = "dummy_udc.0";
	gcfg.high_speed = 1;
	gcfg.vid = 0x1209;
	gcfg.pid = 0xdf00;
	gcfg.bcd_device = 0x0100;
	gcfg.serial = "EMU0";
	gcfg.manufacturer = "dfu-emu";
	gcfg.product = "DFU emulator";
	gcfg.bcd_usb = 0x0200;
	gcfg.detach_timeout = 1000;
	gcfg.reenum_ms = -1;
	gcfg.dfu_version = 0x0110;
	gcfg.protocol = 0x02;
	gcfg.func_desc = FUNC_DESC_NORMAL;
	gcfg.on_events = on_events;
	gcfg.stop = &stop_flag;
	gcfg.fetch_waiting = &fetch_waiting;
	mcfg.attrs = DFU_ATTR_CAN_DNLOAD | DFU_ATTR_CAN_UPLOAD |
		     DFU_ATTR_MANIFEST_TOL;
	mcfg.transfer_size = 4096;
	mcfg.busy_polls = 1;
	mcfg.busy_ms = -1;
	mcfg.mem_size = 64 << 20;
	mcfg.strict_blocks = 1;
	mcfg.disconnect_at = -1;
	mcfg.disconnect_upload_at = -1;
	mcfg.start_error = -1;
	mcfg.bad_state_at = -1;

	dfuse_preset(argc, argv);
	parse_args(argc, argv);
	load_image(&image, &image_len);
	if (dfuse_profile) {
		start_dfuse(image, image_len);
		image = NULL;
		image_len = 0;
	}
	model_init(&model, &mcfg, image, image_len);
	if (dfuse_profile)
		model.dfuse = &dfuse_dev;
	if (opt_apple) {
		start_apple();
		model.apple = &apple_dev;
		gcfg.reattach_ms = APPLE_AWAY_MS;
	}
	write_stats();

	catch_signal(SIGTERM, on_signal);
	catch_signal(SIGINT, on_signal);
	if (opt_fuzz)
		start_fuzz();

	if (sigsetjmp(stop_env, 1) == 0)
		ret = gadget_run(&gcfg, &model);
	else
		ret = GADGET_STOPPED;
	write_stats();
	if (dfuse_profile) {
		write_image();		/* the flash as the run left it */
		dfuse_free(&dfuse_dev);
	}
	model_free(&model);
	if (opt_apple) {
		apple_free(&apple_dev);
		free(apple_accept);
	}
	emu_log("exit (%s)", ret == GADGET_FAILED ? "error" :
		ret == GADGET_DISCONNECT ? "disconnect" : "signal");
	return ret == GADGET_FAILED ? 1 : 0;
}
