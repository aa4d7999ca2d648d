// SPDX-License-Identifier: GPL-2.0
/* file.c - read a whole firmware file into memory */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "file.h"

int file_load(int fd, uint8_t **buf, size_t *len)
{
	struct stat st;
	size_t size, done = 0;
	uint8_t *p;
	ssize_t n;

	if (fstat(fd, &st))
		return errno;
	if (!S_ISREG(st.st_mode))
		return EINVAL;
	if ((uintmax_t)st.st_size >= SIZE_MAX)
		return EFBIG;
	size = (size_t)st.st_size;
	p = malloc(size + 1);	/* + 1: never malloc(0), and room to see growth */
	if (!p)
		return ENOMEM;
	while (done <= size) {
		n = pread(fd, p + done, size + 1 - done, (off_t)done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int err = errno;

			free(p);
			return err;
		}
		if (!n)
			break;
		done += (size_t)n;
	}
	if (done != size) {
		free(p);
		return EIO;
	}
	*buf = p;
	*len = size;
	return 0;
}
