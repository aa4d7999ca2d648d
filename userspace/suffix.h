/* SPDX-License-Identifier: GPL-2.0 */
/*
 * suffix.h - the DFU file suffix (DFU 1.1 appendix B)
 *
 * The last 16 bytes of a DFU file: bcdDevice, idProduct, idVendor, bcdDFU
 * (each 16-bit little endian), the signature "UFD", bLength and dwCRC. A
 * bLength above 16 means that many bytes in all, the extra ones just before
 * the 16. dwCRC is the CRC-32 that dfu-util computes over every byte of the
 * file but the last four: reflected, initial value 0xffffffff, no final XOR,
 * so the complement of zlib's crc32().
 *
 * Nothing here allocates: the functions read the caller's buffer.
 */
#ifndef DFUCTL_SUFFIX_H
#define DFUCTL_SUFFIX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SUFFIX_LEN		16	/* the standard fields */
#define SUFFIX_ANY		0xffff	/* an ID that matches every device */
#define SUFFIX_BCD_DFU_1_0	0x0100	/* bcdDFU that dfu-suffix writes by default */
#define SUFFIX_BCD_DFUSE	0x011a	/* bcdDFU of an ST DfuSe file */

struct dfu_suffix {
	uint16_t bcdDevice;
	uint16_t idProduct;
	uint16_t idVendor;
	uint16_t bcdDFU;
	uint8_t bLength;
	uint32_t dwCRC;
};

/* Why a buffer has no usable suffix; the first two mean "none at all". */
enum suffix_err {
	SUFFIX_OK = 0,
	SUFFIX_ERR_TOO_SHORT,		/* fewer than 16 bytes */
	SUFFIX_ERR_NO_SIGNATURE,	/* no "UFD" 8 bytes before the end */
	SUFFIX_ERR_LENGTH_SMALL,	/* bLength below 16 */
	SUFFIX_ERR_LENGTH_BIG,		/* bLength beyond the start of the file */
	SUFFIX_ERR_CRC,			/* dwCRC does not match the bytes */
	SUFFIX_ERR_COUNT
};

/* What is wrong and what to do, for an error of suffix_parse(). */
const char *suffix_strerror(enum suffix_err err);

/* True when @err says the buffer has no suffix, not a damaged one. */
bool suffix_absent(enum suffix_err err);

/* The DFU CRC of @len bytes (see above); @buf may be NULL when @len is 0. */
uint32_t suffix_crc(const uint8_t *buf, size_t len);

/*
 * Parse the suffix at the end of @buf. On SUFFIX_OK all of @out is set; on
 * the errors after the signature was found (length, CRC) @out holds the
 * fields as read, so that a message can show them; otherwise it is zeroed.
 */
enum suffix_err suffix_parse(const uint8_t *buf, size_t len, struct dfu_suffix *out);

/*
 * The length of @buf without its suffix (all bLength bytes, as dfu-suffix
 * removes them) in *@payload_len. Fails like suffix_parse(), and then leaves
 * *@payload_len alone.
 */
enum suffix_err suffix_remove(const uint8_t *buf, size_t len, size_t *payload_len);

/*
 * How the end of a buffer without a valid suffix still looks like one
 * (suffix_near_miss()). Adding a suffix after such bytes would hide them:
 * the new suffix is valid, and the damaged one is flashed as firmware.
 */
enum suffix_near {
	SUFFIX_NEAR_NONE = 0,	/* nothing like a suffix */
	SUFFIX_NEAR_DAMAGED,	/* "UFD" in place, but bLength or dwCRC wrong */
	SUFFIX_NEAR_TRAILING,	/* a valid suffix, then bytes after it */
	SUFFIX_NEAR_SIGNATURE,	/* 2 of the 3 signature bytes and bLength 16 */
};

/* How far past a valid suffix suffix_near_miss() looks for one: a 4 KiB page. */
#define SUFFIX_TRAILING_MAX	4096

/*
 * For a buffer in which suffix_parse() finds no valid suffix: do its last
 * bytes look like a damaged one? The checks, each unlikely by chance in
 * firmware (the odds for random bytes in brackets):
 *  - DAMAGED: the signature "UFD" where it belongs (2^-24), and a bLength
 *    or dwCRC that does not fit (what suffix_parse() calls damaged);
 *  - TRAILING: a whole valid suffix, CRC included (2^-56), that ends 1 to
 *    SUFFIX_TRAILING_MAX bytes before the end: padding or a newline added;
 *  - SIGNATURE: two of the three signature bytes in place and bLength 16
 *    (about 2^-30): one byte of the signature damaged.
 *  - CRC: the last 4 bytes are the DFU CRC of the ones before (2^-32), but
 *    there is no signature: a suffix whose signature was overwritten.
 * *@payload_len gets the length of the bytes before what looks like the
 * suffix: for DAMAGED, len - bLength when bLength fits, else len - 16; for
 * TRAILING, where that valid suffix starts; else len - 16. *@suffix_end
 * gets where it ends: len, but for TRAILING where the extra bytes start.
 * Both are left alone for SUFFIX_NEAR_NONE.
 */
enum suffix_near suffix_near_miss(const uint8_t *buf, size_t len, size_t *payload_len,
				  size_t *suffix_end);

/* One line: what suffix_near_miss() found. */
const char *suffix_near_str(enum suffix_near n);

/* dfu-suffix's defaults: every ID 0xffff, bcdDFU 0x0100, bLength 16. */
void suffix_init(struct dfu_suffix *s);

/*
 * Write to @out the 16 bytes that, appended to the @len bytes of @data, add
 * a suffix with the IDs, bcdDFU and bLength of @s (@s->dwCRC is ignored).
 * A bLength above 16 declares the last bLength - 16 bytes of @data to be
 * extra suffix bytes; bLength must be at least 16 and at most @len + 16.
 * Returns the dwCRC written.
 */
uint32_t suffix_build(const uint8_t *data, size_t len, const struct dfu_suffix *s,
		      uint8_t out[SUFFIX_LEN]);

/* Does the suffix ID @field accept @id (0xffff accepts any)? */
bool suffix_id_match(uint16_t field, uint16_t id);

/* Do both idVendor and idProduct of @s accept the device @vid:@pid? */
bool suffix_matches(const struct dfu_suffix *s, uint16_t vid, uint16_t pid);

#endif
