// SPDX-License-Identifier: GPL-2.0
/* vectors.c - load the public DFU files of tests/vectors */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "vectors.h"

uint8_t *vector_load(const char *name, size_t *len)
{
	const char *dir = getenv("DFU_VECTORS");
	char path[4096];
	uint8_t *buf;
	long size = -1;
	FILE *f;

	if (!dir)
		dir = VECTOR_DIR;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "rb");
	if (!f)
		fail_msg("%s: %s", path, strerror(errno));
	if (!fseek(f, 0, SEEK_END))
		size = ftell(f);
	if (size < 0 || fseek(f, 0, SEEK_SET))
		fail_msg("%s: cannot find its size", path);
	buf = malloc((size_t)size + 1);
	assert_non_null(buf);
	if (fread(buf, 1, (size_t)size, f) != (size_t)size)
		fail_msg("%s: short read", path);
	fclose(f);
	*len = (size_t)size;
	return buf;
}
