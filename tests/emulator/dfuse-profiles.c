// SPDX-License-Identifier: GPL-2.0
/*
 * dfu-emu --dfuse NAME: the DfuSe devices the emulator can be (the
 * protocol reference, sections 11-13).  Identity, layout strings, command
 * list, busy times and the personality of each stack; dfuse.c and model.c
 * carry the behaviour out.
 *
 * Where a value is not in the reference it is marked "chosen": the tests
 * must not depend on it being the real device's.
 */
#include <string.h>

#include "dfuse.h"

#define CMD_GET_COMMANDS	0x00
#define CMD_SET_ADDRESS		0x21
#define CMD_ERASE		0x41
#define CMD_READ_UNPROTECT	0x92

/* UPLOAD block 0 of the STM32 system-memory ROMs (F105/F107 and F4). */
static const uint8_t stm32_rom_commands[] = {
	CMD_GET_COMMANDS, CMD_SET_ADDRESS, CMD_ERASE, CMD_READ_UNPROTECT,
};

/* ST's USB device library, and the list the others are credited with
 * (BMP really answers block 0 with its control buffer, see dfuse.c). */
static const uint8_t st_lib_commands[] = {
	CMD_GET_COMMANDS, CMD_SET_ADDRESS, CMD_ERASE,
};

/* Option bytes of an F4 (RM0090 3.7.1): RDP 0xAA (level 0, readable) or
 * 0x55 (level 1, read protected), nWRP 0x0FFF (no sector write-protected),
 * USER 0xEC; the F4 ROM shows them at 0x1FFFC000 as 16 bytes.  The
 * device-feature alt reads as zeros: what the real one holds is not in
 * the reference.  Run again after a read unprotect. */
static void stm32f4_init_memory(struct dfuse *d)
{
	uint8_t optb[16] = {
		0xec, 0xaa, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0xff, 0x0f, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	};
	struct dfuse_map *m = &d->alt[1];

	if (d->protect)
		optb[1] = 0x55;
	if (m->len >= sizeof(optb))
		memcpy(m->mem, optb, sizeof(optb));
	memset(d->alt[3].mem, 0, d->alt[3].len);	/* device feature */
}

/* GD32VF103 option bytes at 0x1FFFF800 (its user manual's layout, as the
 * F1's): SPC 0xA5 / nSPC 0x5A (no security protection), USER 0xFF, the
 * data and write-protection bytes erased, each with its complement. */
static void gd32vf103_init_memory(struct dfuse *d)
{
	static const uint8_t optb[16] = {
		0xa5, 0x5a, 0xff, 0x00, 0xff, 0x00, 0xff, 0x00,
		0xff, 0x00, 0xff, 0x00, 0xff, 0x00, 0xff, 0x00,
	};
	struct dfuse_map *m = &d->alt[1];

	if (m->len >= sizeof(optb))
		memcpy(m->mem, optb, sizeof(optb));
}

static const struct dfuse_profile profiles[] = {
	/* The STM32F4 (F405/F407/F415/F417) system-memory bootloader, as
	 * lsusb shows it: the layout strings are the ROM's, two spaces and
	 * all. */
	{
		.name = "stm32f4", .stack = DFUSE_STACK_ROM,
		.vid = 0x0483, .pid = 0xdf11, .bcd_device = 0x2200,
		.bcd_usb = 0x0100,
		.manufacturer = "STMicroelectronics",
		.product = "STM32  BOOTLOADER",
		.serial = "356A36743233",
		/* download, upload, WillDetach; not manifestation tolerant */
		.attrs = 0x0b, .protocol = 2,
		.detach_timeout = 255, .transfer_size = 2048,
		.n_alts = 4,
		.layouts = {
			"@Internal Flash  /0x08000000/04*016Kg,01*064Kg,07*128Kg",
			"@Option Bytes  /0x1FFFC000/01*016 e",
			"@OTP Memory /0x1FFF7800/01*512 e,01*016 e",
			"@Device Feature/0xFFFF0000/01*004 e",
		},
		.commands = stm32_rom_commands,
		.n_commands = sizeof(stm32_rom_commands),
		.init_memory = stm32f4_init_memory,
		.erase_ms = 40, .mass_erase_ms = 100, .write_ms = 4,
		.abort = DFUSE_ABORT_TABLE,
		.has_boot_error = 1,
	},
	/* An application bootloader built on ST's USB device library
	 * (STM32Cube usbd_dfu.c with the F4 flash media of ST's
	 * DFU_Standalone example): the bootloader holds sectors 0-2, which
	 * the layout marks read-only and which are write-protected (a write
	 * or erase there fails in the flash controller); the application
	 * starts at 0x0800C000.  Poll times come from the media callback:
	 * erase 50 ms (the example's), write 5 ms (chosen: the example
	 * says 50, which makes a test of 100 blocks take 10 s), and Set
	 * Address and Get Commands report the write time. */
	{
		.name = "stusbd", .stack = DFUSE_STACK_STUSBD,
		.vid = 0x0483, .pid = 0xdf11, .bcd_device = 0x0200,
		.bcd_usb = 0x0200,
		.manufacturer = "STMicroelectronics",
		.product = "DFU in FS Mode",
		.serial = "206D35A5424D",	/* chosen: 12 hex digits */
		.attrs = 0x0b, .protocol = 2,
		.detach_timeout = 255, .transfer_size = 1024,
		.n_alts = 1,
		.layouts = {
			"@Internal Flash   /0x08000000/03*016Ka,01*016Kg,01*064Kg,07*128Kg",
		},
		.commands = st_lib_commands,
		.n_commands = sizeof(st_lib_commands),
		.erase_ms = 50, .mass_erase_ms = 50, .write_ms = 5,
		.manifest_poll_ms = 1,
		.abort = DFUSE_ABORT_IGNORE,
		.stall_keeps_state = 1, .strict_clrstatus = 1,
		.set_interface_keeps_state = 1,
	},
	/* Black Magic Probe's DFU bootloader (STM32F103, 64 KiB, 1 KiB
	 * pages, 8 KiB bootloader write-protected by its option bytes):
	 * a fixed 100 ms bwPollTimeout for every DNLOAD. */
	{
		.name = "bmp", .stack = DFUSE_STACK_BMP,
		.vid = 0x1d50, .pid = 0x6017, .bcd_device = 0x0100,
		.bcd_usb = 0x0200,
		.manufacturer = "Black Sphere Technologies",
		.product = "Black Magic Probe (Upgrade)",
		.serial = "7BB180B4",		/* chosen: 8 hex digits */
		.attrs = 0x0b, .protocol = 2,
		.detach_timeout = 255, .transfer_size = 1024,
		.n_alts = 1,
		.layouts = { "@Internal Flash   /0x08000000/8*001Ka,56*001Kg" },
		.commands = st_lib_commands,
		.n_commands = sizeof(st_lib_commands),
		.erase_ms = 100, .mass_erase_ms = 100, .write_ms = 100,
		.abort = DFUSE_ABORT_ANYWHERE,
		.stall_keeps_state = 1, .clrstatus_ignored = 1,
		.dnload_any_state = 1, .upload_after_dnload = 1,
		.busy_to_idle = 1, .set_interface_keeps_state = 1,
	},
	/* GigaDevice GD32VF103CBT6 ROM (Longan Nano): its alt 0 layout
	 * claims 512 pages of 2 KiB; the flash is 128 pages of 1 KiB.  The
	 * serial string is "3CBJ" in 8-bit bytes, not UTF-16: dfu-util reads
	 * it as UTF-8 for this VID:PID and fixes the layout from the part
	 * number (page 1 KiB, 'B' = 128 pages).  It leaves at the
	 * zero-length DNLOAD, without answering a GETSTATUS.  Busy times
	 * chosen (the STM32F4 ROM's); otherwise it behaves as the ST ROM
	 * it copies, on the real flash. */
	{
		.name = "gd32vf103", .stack = DFUSE_STACK_ROM,
		.vid = 0x28e9, .pid = 0x0189, .bcd_device = 0x1000,
		.bcd_usb = 0x0200,
		.manufacturer = "GigaDevice",
		.product = "GD32 USB DFU in FS Mode",
		.serial = "3CBJ", .serial_raw = 1,
		.attrs = 0x0b, .protocol = 2,
		.detach_timeout = 255, .transfer_size = 2048,
		.n_alts = 2,
		.layouts = {
			"@Internal Flash  /0x08000000/512*002Kg",
			"@Option Bytes  /0x1FFFF800/01*016 g",
		},
		.real_layouts = {
			"@Internal Flash  /0x08000000/128*001Kg",
		},
		.commands = st_lib_commands,
		.n_commands = sizeof(st_lib_commands),
		.init_memory = gd32vf103_init_memory,
		.erase_ms = 40, .mass_erase_ms = 100, .write_ms = 4,
		.abort = DFUSE_ABORT_TABLE,
		.leave_without_status = 1,
		.has_boot_error = 1,
	},
};

const struct dfuse_profile *dfuse_find(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(profiles) / sizeof(profiles[0]); i++)
		if (!strcmp(profiles[i].name, name))
			return &profiles[i];
	return NULL;
}

const char *dfuse_names(void)
{
	return "stm32f4, stusbd, bmp, gd32vf103";
}

int dfuse_has_command(const struct dfuse_profile *p, uint8_t cmd)
{
	return memchr(p->commands, cmd, p->n_commands) != NULL;
}
