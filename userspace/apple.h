/* SPDX-License-Identifier: GPL-2.0 */
/*
 * apple.h - Apple devices in DFU mode (SecureROM, 05ac:1227) and recovery
 * mode (05ac:1280-1283): their USB IDs and the identity in their serial
 * number string
 *
 * The ROM's iSerialNumber is a list of KEY:VALUE fields separated by
 * spaces, e.g. "CPID:8015 CPRV:11 CPFM:03 SCEP:01 BDID:0E
 * ECID:001A2B3C4D5E6F70 IBFL:3C SRTG:[iBoot-3332.0.0.1.23]"; newer ROMs add
 * fields (SDOM:), recovery mode others (SRNM:[...], IMEI:[...]). A value in
 * square brackets runs to the closing bracket and may hold spaces.
 */
#ifndef DFUCTL_APPLE_H
#define DFUCTL_APPLE_H

#include <stddef.h>
#include <stdint.h>

#define APPLE_VID		0x05ac

enum apple_mode {
	APPLE_NONE = 0,		/* not an Apple DFU or recovery-mode ID */
	APPLE_DFU,		/* 05ac:1227, 05ac:1222: the SecureROM's DFU mode */
	APPLE_RECOVERY,		/* 05ac:1280-1283: iBoot's recovery mode, not DFU */
};

/* What the USB IDs vid:pid say. */
enum apple_mode apple_mode_of(uint16_t vid, uint16_t pid);

/* The fields dfuctl shows; "" when the serial lacks one. */
struct apple_id {
	char cpid[17];		/* chip ID, hex: "8015" */
	char bdid[17];		/* board ID, hex: "0E" */
	char ecid[33];		/* the chip's unique ID, hex: "001A2B3C4D5E6F70" */
	char srtg[128];		/* ROM tag without its brackets: "iBoot-3332.0.0.1.23" */
};

/*
 * Find the field key (exact, upper case: "ECID") in serial and copy its
 * value into buf (size bytes, truncated, brackets removed; bytes that are
 * not printable ASCII become '?'). Fields may come in any order; only
 * whole fields count, never text inside another field's value. The first
 * of repeated fields wins. Returns 1 when the field is there (its value
 * may be empty), 0 when not.
 */
int apple_serial_field(const char *serial, const char *key, char *buf, size_t size);

/*
 * Parse the identity out of serial into *id (all of it: missing fields
 * are ""). Returns the number of the four fields found (0: not an Apple
 * identity string).
 */
int apple_parse_serial(const char *serial, struct apple_id *id);

/*
 * One line for the user: "CPID 8015, BDID 0E, ECID 001A2B3C4D5E6F70, ROM
 * iBoot-3332.0.0.1.23", leaving out the fields that are missing, or
 * "identity unknown (no CPID, BDID, ECID or SRTG in the serial number)".
 * Returns buf.
 */
char *apple_id_str(const struct apple_id *id, char *buf, size_t size);

#endif
