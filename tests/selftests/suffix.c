// SPDX-License-Identifier: GPL-2.0
/*
 * suffix.c - DFU suffixes for the selftests' images.
 */
#include <stdlib.h>
#include <string.h>

#include "suffix.h"

unsigned int dfu_crc(const unsigned char *buf, size_t len)
{
	unsigned int crc = 0xffffffffu;
	size_t i;
	int k;

	for (i = 0; i < len; i++) {
		crc ^= buf[i];
		for (k = 0; k < 8; k++)
			crc = crc & 1 ? (crc >> 1) ^ 0xedb88320u : crc >> 1;
	}
	return crc;
}

unsigned char *dfu_suffixed(const unsigned char *payload, size_t plen,
			    unsigned int vid, unsigned int pid,
			    unsigned int bcd_dfu, size_t extra, size_t *len)
{
	size_t n = plen + extra + 16;
	unsigned char *f = malloc(n), *s;
	unsigned int crc;

	if (!f)
		return NULL;
	memcpy(f, payload, plen);
	memset(f + plen, 'M', extra);
	s = f + plen + extra;
	s[0] = 0xff;			/* bcdDevice: any */
	s[1] = 0xff;
	s[2] = pid & 0xff;
	s[3] = pid >> 8;
	s[4] = vid & 0xff;
	s[5] = vid >> 8;
	s[6] = bcd_dfu & 0xff;
	s[7] = bcd_dfu >> 8;
	memcpy(s + 8, "UFD", 3);
	s[11] = extra + 16;
	crc = dfu_crc(f, n - 4);
	s[12] = crc;
	s[13] = crc >> 8;
	s[14] = crc >> 16;
	s[15] = crc >> 24;
	*len = n;
	return f;
}
