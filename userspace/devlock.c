// SPDX-License-Identifier: GPL-2.0
/*
 * devlock.c - one writer per USB port: dfuctl flash and dfuctl recover
 * (see devlock.h)
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "devlock.h"

static const char *const who_name[] = { "flash", "recover" };

/* DEVLOCK_DIR, made when missing and we may; 0, or -1 when there is none. */
static int lock_dir(void)
{
	struct stat st;

	if (!stat(DEVLOCK_DIR, &st))
		return S_ISDIR(st.st_mode) ? 0 : -1;
	if (mkdir("/run/dfu", 0755) && errno != EEXIST)
		return -1;
	if (mkdir(DEVLOCK_DIR, 01777)) {
		if (errno != EEXIST)
			return -1;
	} else if (chmod(DEVLOCK_DIR, 01777)) {	/* past the umask */
		return -1;
	}
	return 0;
}

/*
 * Open the port's file: never through a symbolic link, and without O_CREAT
 * when it exists (in a sticky directory, fs.protected_regular refuses even
 * root an O_CREAT open of another user's file). Read-only when it is not
 * ours to write (flock() works on that too). Returns the fd or -1.
 */
static int open_lock(const char *path, int *writable)
{
	int fd, i;

	for (i = 0; i < 4; i++) {
		*writable = 1;
		fd = open(path, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 && errno == EACCES) {
			*writable = 0;
			fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		}
		if (fd >= 0 || errno != ENOENT)
			return fd;
		fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
		if (fd >= 0) {
			/* anyone who flashes this port writes its name in it */
			if (fchmod(fd, 0666)) {
				close(fd);
				return -1;
			}
			return fd;
		}
		if (errno != EEXIST)
			return -1;
	}
	return -1;
}

static void read_holder(int fd, struct devlock_holder *h)
{
	char buf[64], kind[16];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);

	memset(h, 0, sizeof(*h));
	if (n <= 0)
		return;
	buf[n] = 0;
	if (sscanf(buf, "%15s %ld", kind, &h->pid) != 2 || h->pid <= 0)
		return;
	if (!strcmp(kind, who_name[DEVLOCK_FLASH]))
		h->who = DEVLOCK_FLASH;
	else if (!strcmp(kind, who_name[DEVLOCK_RECOVER]))
		h->who = DEVLOCK_RECOVER;
	else
		return;
	h->known = 1;
}

enum devlock_result devlock_take(const char *usb_path, enum devlock_who who, int timeout_ms,
				 struct devlock *l, struct devlock_holder *h)
{
	long long end = now_ms() + timeout_ms;
	char name[96];
	size_t i, j = 0;
	int writable, len;

	l->fd = -1;
	l->who = who;
	l->prev[0] = 0;
	snprintf(l->port, sizeof(l->port), "%s", usb_path);
	memset(h, 0, sizeof(*h));
	/* sysfs port names are digits, '-' and '.': anything else escaped */
	for (i = 0; usb_path[i] && j + 4 < sizeof(name); i++) {
		unsigned char c = (unsigned char)usb_path[i];

		if ((c >= '0' && c <= '9') || c == '-' || c == '.')
			name[j++] = (char)c;
		else
			j += (size_t)sprintf(name + j, "%%%02x", c);
	}
	name[j] = 0;
	snprintf(l->path, sizeof(l->path), DEVLOCK_DIR "/usb-%s", name);
	if (!*usb_path || lock_dir())
		return DEVLOCK_NONE;
	l->fd = open_lock(l->path, &writable);
	l->writable = writable;
	if (l->fd < 0)
		return DEVLOCK_NONE;
	while (flock(l->fd, LOCK_EX | LOCK_NB)) {
		if (errno == EINTR)
			continue;
		if (errno != EWOULDBLOCK) {
			close(l->fd);
			l->fd = -1;
			return DEVLOCK_NONE;
		}
		if (now_ms() >= end) {
			read_holder(l->fd, h);
			close(l->fd);
			l->fd = -1;
			return DEVLOCK_BUSY;
		}
		usleep(100 * 1000);
	}
	len = (int)pread(l->fd, l->prev, sizeof(l->prev) - 1, 0);
	l->prev[len > 0 ? len : 0] = 0;
	if (writable) {
		char buf[32];

		len = snprintf(buf, sizeof(buf), "%s %ld\n", who_name[who], (long)getpid());
		if (ftruncate(l->fd, 0) || pwrite(l->fd, buf, (size_t)len, 0) != len) {
			/* the lock holds; only the name of its holder is missing */
		}
	}
	return DEVLOCK_TAKEN;
}

/* The sysfs attribute name (busnum, devnum) of the USB device on port; 0 or -1. */
static int port_attr(const char *port, const char *name, unsigned int *v)
{
	char path[160];
	FILE *f;
	int ok;

	snprintf(path, sizeof(path), "/sys/bus/usb/devices/%s/%s", port, name);
	f = fopen(path, "re");
	if (!f)
		return -1;
	ok = fscanf(f, "%u", v) == 1;
	fclose(f);
	return ok ? 0 : -1;
}

/* Replace the file's text by text ("" empties it). */
static void set_text(struct devlock *l, const char *text)
{
	size_t n = strlen(text);

	if (!l->writable || ftruncate(l->fd, 0))
		return;
	if (n && pwrite(l->fd, text, n, 0) != (ssize_t)n) {
		/* a name that could not be written: the next holder reads none */
	}
}

void devlock_release(struct devlock *l)
{
	unsigned int busnum, devnum;
	char buf[64];

	if (l->fd < 0)
		return;
	/* a stale "flash PID" or "recover PID" must not mislead */
	buf[0] = 0;
	if (l->who == DEVLOCK_FLASH && !port_attr(l->port, "busnum", &busnum) &&
	    !port_attr(l->port, "devnum", &devnum))
		snprintf(buf, sizeof(buf), "flashed %ld %u %u\n", (long)getpid(), busnum, devnum);
	set_text(l, buf);
	close(l->fd);
	l->fd = -1;
}

int devlock_user_flashed(const struct devlock *l, unsigned int busnum, unsigned int devnum,
			 long *pid)
{
	unsigned int b, d;

	return sscanf(l->prev, "flashed %ld %u %u", pid, &b, &d) == 3 && b == busnum &&
	       d == devnum;
}

const char *devlock_holder_str(const struct devlock_holder *h, char *buf, size_t size)
{
	if (!h->known)
		snprintf(buf, size, "another dfuctl");
	else
		snprintf(buf, size, "dfuctl %s (pid %ld)", who_name[h->who], h->pid);
	return buf;
}

int devlock_flash(const struct dev_filter *f, struct devlock *l)
{
	struct devlock_holder h;
	struct dfu_dev_desc d;
	char who[64];

	l->fd = -1;
	if (!dev_find(f, &d))
		return EX_OK;
	if (devlock_take(d.usb_path, DEVLOCK_FLASH, 0, l, &h) != DEVLOCK_BUSY)
		return EX_OK;
	devlock_holder_str(&h, who, sizeof(who));
	if (h.known && h.who == DEVLOCK_RECOVER)
		fprintf(stderr, "dfuctl flash: %s (USB port %s) is being recovered by %s, started by dfu-recovery@.service: nothing was sent; wait until it ends (journalctl -u 'dfu-recovery@*'), then flash again\n",
			d.node, d.usb_path, who);
	else
		fprintf(stderr, "dfuctl flash: %s (USB port %s) is being flashed by %s: nothing was sent; wait until it ends, then flash again\n",
			d.node, d.usb_path, who);
	return EX_TEMPFAIL;
}
