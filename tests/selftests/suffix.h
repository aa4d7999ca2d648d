/* SPDX-License-Identifier: GPL-2.0 */
/*
 * suffix.h - DFU suffixes (DFU 1.1, appendix B) for the selftests' images,
 * built without the code under test.
 */
#ifndef DFU_TEST_SUFFIX_H
#define DFU_TEST_SUFFIX_H

#include <stddef.h>

/* The suffix CRC: reflected CRC-32, initial 0xffffffff, no final xor. */
unsigned int dfu_crc(const unsigned char *buf, size_t len);
/*
 * payload, then extra bytes of metadata, then the 16 standard bytes naming
 * vid:pid (bcdDevice: any) with this bcdDFU; bLength = extra + 16. Returns
 * the file (caller frees), or NULL; *len gets its size.
 */
unsigned char *dfu_suffixed(const unsigned char *payload, size_t plen,
			    unsigned int vid, unsigned int pid,
			    unsigned int bcd_dfu, size_t extra, size_t *len);

#endif
