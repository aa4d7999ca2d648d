/* SPDX-License-Identifier: GPL-2.0 */
/* fuzz.h - what the fuzzers share: their assertion and a CRC fix-up */
#ifndef TESTS_FUZZ_H
#define TESTS_FUZZ_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "suffix.h"

/* A broken property is a crash, for libFuzzer to report and keep. */
#define CHECK(cond)							\
	do {								\
		if (!(cond)) {						\
			fprintf(stderr, "%s:%d: property broken: %s\n",	\
				__FILE__, __LINE__, #cond);		\
			abort();					\
		}							\
	} while (0)

/*
 * A copy of the @len bytes of @data whose last four bytes are the CRC of
 * the others, or NULL when @len is below 16: almost every mutation breaks
 * the CRC, and a parser that stops there never sees the rest mutated.
 */
static inline uint8_t *crc_fixed_copy(const uint8_t *data, size_t len)
{
	uint8_t *copy;
	uint32_t crc;

	if (len < SUFFIX_LEN)
		return NULL;
	copy = malloc(len);
	CHECK(copy != NULL);
	memcpy(copy, data, len);
	crc = suffix_crc(copy, len - 4);
	copy[len - 4] = (uint8_t)crc;
	copy[len - 3] = (uint8_t)(crc >> 8);
	copy[len - 2] = (uint8_t)(crc >> 16);
	copy[len - 1] = (uint8_t)(crc >> 24);
	return copy;
}

#endif
