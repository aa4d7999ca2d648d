/* SPDX-License-Identifier: GPL-2.0 */
/* file.h - read a whole firmware file into memory */
#ifndef DFUCTL_FILE_H
#define DFUCTL_FILE_H

#include <stddef.h>
#include <stdint.h>

/*
 * Read all of the regular file open on @fd (from offset 0) into a new
 * buffer *@buf of *@len bytes, to be freed by the caller. Returns 0, or an
 * errno: EINVAL when @fd is not a regular file, EFBIG when it does not fit
 * in memory, EIO when it changed size while being read.
 */
int file_load(int fd, uint8_t **buf, size_t *len);

#endif
