// SPDX-License-Identifier: GPL-2.0
/*
 * recovery_count.c - how often dfuctl recover flashed a device since boot
 * (see recovery_count.h)
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/evp.h>

#include "recovery_count.h"

#define MAX_PROBE	8

void rcount_key(uint16_t vid, uint16_t pid, const char *usb_path, const char *serial,
		char *key, size_t size)
{
	size_t j = (size_t)snprintf(key, size, "%04x:%04x port=%s serial=", vid, pid, usb_path);
	const unsigned char *s = (const unsigned char *)serial;

	for (; *s && j + 4 < size; s++) {
		if (*s > 0x20 && *s < 0x7f && *s != '%' && *s != '\\')
			key[j++] = (char)*s;
		else
			j += (size_t)snprintf(key + j, size - j, "%%%02X", *s);
	}
	if (j < size)
		key[j] = 0;
}

/* Read "KEY\nCOUNT\n" from fd: the count, -1 when the key is another one. */
static int read_count(int fd, const char *key)
{
	char buf[2048], *nl;
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);

	if (n <= 0)
		return 0;	/* new */
	buf[n] = 0;
	nl = strchr(buf, '\n');
	if (!nl)
		return 0;	/* cut short by a crash: start again */
	*nl = 0;
	if (strcmp(buf, key))
		return -1;
	return atoi(nl + 1);
}

int rcount_add(const char *key, int max, char *path, size_t size)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	char hex[2 * EVP_MAX_MD_SIZE + 1], buf[2048];
	unsigned int mdlen = 0, i;
	int fd, n = -1, probe, len;

	if (!EVP_Digest(key, strlen(key), md, &mdlen, EVP_sha256(), NULL)) {
		fprintf(stderr, "dfuctl recover: cannot compute the SHA-256 of the attempt counter's key: no count is kept\n");
		return 0;
	}
	for (i = 0; i < mdlen; i++)
		sprintf(hex + 2 * i, "%02x", md[i]);
	if ((mkdir("/run/dfu", 0755) && errno != EEXIST) ||
	    (mkdir(RCOUNT_DIR, 0755) && errno != EEXIST)) {
		fprintf(stderr, "dfuctl recover: %s: %s: no count of attempts is kept\n", RCOUNT_DIR,
			strerror(errno));
		return 0;
	}
	for (probe = 0; probe < MAX_PROBE; probe++) {
		snprintf(path, size, RCOUNT_DIR "/%s-%d", hex, probe);
		fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
		if (fd < 0)
			break;
		while (flock(fd, LOCK_EX) && errno == EINTR)
			;
		n = read_count(fd, key);
		if (n >= 0)
			break;
		close(fd);	/* another device's: the next name */
		fd = -1;
	}
	if (fd < 0) {
		fprintf(stderr, "dfuctl recover: %s: %s: no count of attempts is kept\n", path,
			probe == MAX_PROBE ? "every name is another device's" : strerror(errno));
		return 0;
	}
	if (n >= max) {
		close(fd);
		return max + 1;	/* refused: not an attempt */
	}
	n++;
	/* never shorter than what it replaces: no truncation needed */
	len = snprintf(buf, sizeof(buf), "%s\n%d\n", key, n);
	if (len >= (int)sizeof(buf) || pwrite(fd, buf, (size_t)len, 0) != len) {
		fprintf(stderr, "dfuctl recover: %s: cannot write the count: no count of attempts is kept\n",
			path);
		n = 0;
	}
	close(fd);	/* and its lock */
	return n;
}
