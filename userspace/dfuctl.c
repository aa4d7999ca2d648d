// SPDX-License-Identifier: GPL-2.0
/*
 * dfuctl - flash, back up and control USB DFU devices through /dev/dfuN
 *
 * The kernel driver (dfu.ko) speaks DFU; this helper checks an image
 * before it touches a device, finds the right device among several, shows
 * progress, verifies, and edits DFU suffixes. See dfuctl(1).
 * Exit codes follow sysexits.h.
 */
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include "cmd_suffix.h"
#include "commands.h"

static const char usage_text[] =
"usage: dfuctl COMMAND [ARGS]   (dfuctl --help, dfuctl --version)\n"
"  list [--json]                 every DFU device: IDs, serial, mode, state, alt settings,\n"
"                                the memory map of ST DfuSe devices, the chip of Apple\n"
"                                devices in DFU mode, and Apple devices in recovery mode\n"
"  flash IMAGE [NODE]            check IMAGE, then download it; options:\n"
"      --detach                  switch a run-time device to DFU mode first, then find\n"
"                                it again: same USB port, else --device's DFU-mode IDs\n"
"                                or --dfu-serial, else its unchanged serial\n"
"      --dfu-serial S            with --detach: its serial number in DFU mode\n"
"      --detach-delay SECONDS    with --detach: how long it may take to come back\n"
"                                (default wDetachTimeOut + 5 s)\n"
"      --wait [SECONDS]          wait for the device to appear (default: no end)\n"
"      --reset                   a USB reset at the end if it is still in DFU mode\n"
"      --verify                  upload afterwards and compare (DfuSe: with --stay)\n"
"      --alt N|NAME              the DFU target (alt setting), default the current one;\n"
"                                with a DfuSe file, only its targets for that alt\n"
"      --address ADDR            DfuSe devices: where a raw image goes (default: the\n"
"                                start of the alt's memory)\n"
"      --stay                    DfuSe devices: stay in DFU mode at the end (root)\n"
"      --require-suffix          refuse files without a DFU suffix\n"
"      --timeout SECONDS         Apple devices in DFU mode: how long to wait for the device\n"
"                                to come back after the image (default 30)\n"
"      --quiet                   no progress\n"
"  flash IMAGE --all [--jobs N] [--json] [options]\n"
"                                every matching device at once (--serial, --path and\n"
"                                --device choose them), each checked, locked and flashed\n"
"                                as alone; run-time ones with --detach only; a line per\n"
"                                device (--json: a JSON object), the failed ones named,\n"
"                                the worst exit code; --jobs N: at most N at once\n"
"  upload FILE [NODE] [--size BYTES] [--alt N|NAME] [--quiet]\n"
"                                back up the device's image into a new FILE\n"
"  upload --all DIR [--jobs N] [--json] [--size BYTES] [--alt N|NAME] [--quiet]\n"
"                                each matching device into a new DIR/SERIAL.bin\n"
"  info|status|result [NODE]     descriptor fields (and DfuSe memory map), DFU_GETSTATUS,\n"
"                                last transfer\n"
"  clear|abort|reset [NODE]      DFU_CLRSTATUS, DFU_ABORT, USB reset\n"
"  detach [NODE] [--dfu-serial S] [--detach-delay SECONDS]\n"
"                                switch a run-time device to DFU mode, find it again\n"
"  erase [NODE] [--alt N|NAME] [--address ADDR --length BYTES | --mass]\n"
"                                DfuSe: erase every erasable sector of the alt, those\n"
"                                of a range, or (--mass) all of the flash\n"
"  unprotect [NODE] --yes        DfuSe: remove read protection; WIPES ALL OF THE FLASH\n"
"  dfuse pack OUT IMAGE@ADDR... --device VID:PID [--alt N] [--name NAME]\n"
"            [--bcd-device BCD] [--image-size-with-suffix]\n"
"                                write a DfuSe file, one element per IMAGE\n"
"  recover NODE [--config FILE]  flash a listed device (/etc/dfu/recovery.conf)\n"
"  recover --check [--config FILE]\n"
"                                check recovery.conf and its images, no device\n"
"  suffix add|remove|check FILE [--force]\n"
"                                the DFU suffix, as dfu-suffix writes it\n"
"Devices: a NODE (/dev/dfu0, /dev/dfu/by-serial/...) or --serial S, --path P\n"
"(USB port such as 1-1.2, or udev ID_PATH), --device VID:PID[,VID:PID]\n"
"(run-time and DFU-mode IDs, as dfu-util -d: hex, * any, - none); with none,\n"
"the only DFU device. --wait [SECONDS]: wait for it to appear.\n"
"Exit codes: sysexits.h (64 usage, 65 bad image, 69 no device, 77 permission...).\n"
"To flash without checks: cat firmware.bin > /dev/dfu0\n";

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
} commands[] = {
	{ "list", cmd_list }, { "flash", cmd_flash }, { "upload", cmd_upload },
	{ "recover", cmd_recover }, { "suffix", cmd_suffix },
	{ "info", cmd_ctl }, { "status", cmd_ctl }, { "result", cmd_ctl },
	{ "clear", cmd_ctl }, { "abort", cmd_ctl }, { "reset", cmd_ctl },
	{ "detach", cmd_ctl }, { "erase", cmd_erase }, { "unprotect", cmd_unprotect },
	{ "dfuse", cmd_dfuse },
};

int main(int argc, char **argv)
{
	unsigned int i;

	if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		fputs(usage_text, stdout);
		return EX_OK;
	}
	if (argc >= 2 && !strcmp(argv[1], "--version")) {
		printf("dfuctl %s\n", DFUCTL_VERSION);
		return EX_OK;
	}
	for (i = 0; argc >= 2 && i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(argv[1], commands[i].name)) {
			dfuctl_cmd = commands[i].name;
			return commands[i].fn(argc - 1, argv + 1);
		}
	if (argc < 2)
		fputs("dfuctl: no command given\n", stderr);
	else
		fprintf(stderr, "dfuctl: unknown command '%s'\n", argv[1]);
	fputs(usage_text, stderr);
	return EX_USAGE;
}
