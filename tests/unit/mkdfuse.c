// SPDX-License-Identifier: GPL-2.0
/*
 * mkdfuse.c - write the DfuSe vector of dfu-protocol.md section 11 to FILE,
 * for the CLI test and as a fuzz seed: mkdfuse FILE
 */
#include <stdio.h>

#include "dfuse_build.h"

int main(int argc, char **argv)
{
	uint8_t buf[512];
	size_t len = dfuse_build_st(buf, sizeof(buf));
	FILE *f;

	if (argc != 2 || !len) {
		fputs("usage: mkdfuse FILE\n", stderr);
		return 64;
	}
	f = fopen(argv[1], "wb");
	if (!f || fwrite(buf, 1, len, f) != len || fclose(f)) {
		perror(argv[1]);
		return 73;
	}
	return 0;
}
