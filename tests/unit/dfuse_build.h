/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dfuse_build.h - write ST DfuSe files (UM0391 v1.1a) for the tests
 *
 * Written from the format description, independently of the parser, so
 * that the tests and the fuzz seeds have valid files to start from.
 */
#ifndef TESTS_DFUSE_BUILD_H
#define TESTS_DFUSE_BUILD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct build_element {
	uint32_t address;
	const uint8_t *data;
	uint32_t size;
};

struct build_target {
	uint8_t alt;
	const char *name;		/* NULL: bTargetNamed 0 */
	const struct build_element *elements;
	uint32_t n_elements;
};

struct build_file {
	const struct build_target *targets;
	uint8_t n_targets;
	uint16_t vid, pid, did;
	bool size_without_suffix;	/* DFUImageSize as fwupd writes it */
	size_t extra_suffix;		/* bytes of zeros in the suffix before its 16 */
};

/*
 * Write @f to @out (@cap bytes); returns its length, or 0 when it does not
 * fit. The suffix has bcdDFU 0x011a and a correct CRC.
 */
size_t dfuse_build(uint8_t *out, size_t cap, const struct build_file *f);

/*
 * Recompute the CRC of the suffix at the end of the @len bytes of @buf after
 * a test changed other bytes, so that only the change is wrong.
 */
void reseal(uint8_t *buf, size_t len);

/*
 * The DfuSe vector of dfu-protocol.md section 11: alt 0 named "ST...", one
 * element DE AD BE EF at 0x08000000, suffix 0483:df11 bcdDevice 0, 313 bytes.
 */
size_t dfuse_build_st(uint8_t *out, size_t cap);

#endif
