// SPDX-License-Identifier: GPL-2.0
/*
 * quirks.c - devices that deviate from DFU 1.1, by VID:PID
 *
 * The entries come from what dfu-util and fwupd know about real devices
 * (see the protocol reference's list of quirks). More can be added at
 * load time with the quirks= module parameter, as usb-storage does:
 *
 *	quirks=VID:PID:FLAGS[,VID:PID:FLAGS...]
 *
 * with VID and PID in hex and FLAGS letters: p (bwPollTimeout is bogus:
 * wait 5 ms), i (ignore the interface), d (in DFU mode whatever
 * bInterfaceProtocol says), v (bcdDFUVersion is wrong: DFU 1.1), u (upload
 * is broken), s (ST DfuSe), a (Apple's SecureROM in DFU mode), e (a DFU
 * interface although it has endpoints). An entry given there replaces the
 * table's for that VID:PID.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kernel.h>
#include <linux/moduleparam.h>
#include <linux/string.h>
#include "dfu.h"

static char dfu_quirks_param[256];
module_param_string(quirks, dfu_quirks_param, sizeof(dfu_quirks_param), 0444);
MODULE_PARM_DESC(quirks, "Extra quirks: VID:PID:FLAGS[,...]; FLAGS from p (5 ms poll), i (ignore), d (DFU mode), v (DFU 1.1), u (no upload), s (ST DfuSe), a (Apple DFU mode), e (DFU with endpoints)");

struct dfu_quirk_entry {
	u16 vid;
	u16 pid_first;
	u16 pid_last;
	u32 flags;
};

static const struct dfu_quirk_entry dfu_quirk_table[] = {
	/* Openmoko Freerunner and relatives: bogus bwPollTimeout */
	{ 0x1d50, 0x5117, 0x5126, DFU_QUIRK_POLL_5MS },
	{ 0x1457, 0x5117, 0x5126, DFU_QUIRK_POLL_5MS },
	/* OpenPCD, SIMtrace, OpenPICC */
	{ 0x16c0, 0x0762, 0x0762, DFU_QUIRK_POLL_5MS },
	{ 0x16c0, 0x076b, 0x076c, DFU_QUIRK_POLL_5MS },
	/* Siemens PXM40, PXM50 */
	{ 0x0908, 0x02c4, 0x02c5, DFU_QUIRK_POLL_5MS },
	/* M-Audio Transit */
	{ 0x0763, 0x2806, 0x2806, DFU_QUIRK_POLL_5MS },
	/* LeafLabs Maple: wrong DFU version */
	{ 0x1eaf, 0x0003, 0x0003, DFU_QUIRK_VERSION_1_1 },
	/* NXP LPC boot loader: protocol 1 in DFU mode */
	{ 0x1fc9, 0x000c, 0x000c, DFU_QUIRK_FORCE_DFU },
	/* Jabra headsets: protocol 0 in DFU mode, broken upload */
	{ 0x0b0e, 0x0411, 0x0411, DFU_QUIRK_FORCE_DFU | DFU_QUIRK_NO_UPLOAD },
	{ 0x0b0e, 0x0421, 0x0421, DFU_QUIRK_FORCE_DFU | DFU_QUIRK_NO_UPLOAD },
	{ 0x0b0e, 0x0971, 0x0971, DFU_QUIRK_FORCE_DFU | DFU_QUIRK_NO_UPLOAD },
	{ 0x0b0e, 0x0982, 0x0982, DFU_QUIRK_FORCE_DFU | DFU_QUIRK_NO_UPLOAD },
	/* STM32 ROM: protocol 0 in DFU mode */
	{ 0x0483, 0xdf11, 0xdf11, DFU_QUIRK_FORCE_DFU },
	/* FPC fingerprint readers: the interface speaks another protocol */
	{ 0x10a5, 0x9800, 0x9800, DFU_QUIRK_IGNORE },
	{ 0x10a5, 0xd805, 0xd805, DFU_QUIRK_IGNORE },
	{ 0x10a5, 0xffe0, 0xffe1, DFU_QUIRK_IGNORE },
	/* GigaDevice GD32VF103 ROM: DfuSe */
	{ 0x28e9, 0x0189, 0x0189, DFU_QUIRK_DFUSE },
	/* Apple SecureROM in DFU mode (1222: the oldest devices) */
	{ 0x05ac, 0x1222, 0x1222, DFU_QUIRK_APPLE },
	{ 0x05ac, 0x1227, 0x1227, DFU_QUIRK_APPLE },
	/* Apple recovery mode (iBoot): FE/01/02, but Apple's own protocol */
	{ 0x05ac, 0x1280, 0x1283, DFU_QUIRK_IGNORE },
};

static u32 dfu_quirk_letters(const char *s, size_t len)
{
	u32 flags = 0;

	for (; len; s++, len--) {
		switch (*s) {
		case 'p':
			flags |= DFU_QUIRK_POLL_5MS;
			break;
		case 'i':
			flags |= DFU_QUIRK_IGNORE;
			break;
		case 'd':
			flags |= DFU_QUIRK_FORCE_DFU;
			break;
		case 'v':
			flags |= DFU_QUIRK_VERSION_1_1;
			break;
		case 'u':
			flags |= DFU_QUIRK_NO_UPLOAD;
			break;
		case 's':
			flags |= DFU_QUIRK_DFUSE;
			break;
		case 'a':
			flags |= DFU_QUIRK_APPLE;
			break;
		case 'e':
			flags |= DFU_QUIRK_ENDPOINTS;
			break;
		}
	}
	return flags;
}

/* The flags quirks= gives for vid:pid, or -1 if it names neither. */
static s64 dfu_quirks_from_param(u16 vid, u16 pid)
{
	const char *p = dfu_quirks_param;

	while (*p) {
		size_t len = strcspn(p, ",");
		unsigned int v, d;
		int n = 0;

		if (sscanf(p, "%4x:%4x:%n", &v, &d, &n) != 2 || !n || n > len)
			pr_warn_once("quirks=: cannot parse \"%.*s\", want VID:PID:FLAGS in hex\n",
				     (int)len, p);
		else if (v == vid && d == pid)
			return dfu_quirk_letters(p + n, len - n);
		p += len;
		if (*p == ',')
			p++;
	}
	return -1;
}

/**
 * dfu_quirks() - the quirks of a device
 * @udev: the device
 *
 * Context: probe.
 * Return: DFU_QUIRK_* flags, from the quirks= parameter if it names the
 * device, else from the built-in table; 0 for a well-behaved device.
 */
u32 dfu_quirks(struct usb_device *udev)
{
	u16 vid = le16_to_cpu(udev->descriptor.idVendor);
	u16 pid = le16_to_cpu(udev->descriptor.idProduct);
	s64 param = dfu_quirks_from_param(vid, pid);
	unsigned int i;

	if (param >= 0)
		return param;
	for (i = 0; i < ARRAY_SIZE(dfu_quirk_table); i++) {
		const struct dfu_quirk_entry *q = &dfu_quirk_table[i];

		if (q->vid == vid && pid >= q->pid_first && pid <= q->pid_last)
			return q->flags;
	}
	return 0;
}
