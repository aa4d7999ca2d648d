// SPDX-License-Identifier: GPL-2.0
/*
 * devlock.c - one writer per USB port: dfuctl flash and dfuctl recover
 * (see devlock.h)
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
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
#include "msg.h"

static const char *const who_name[] = { "flash", "recover" };

/*
 * DEVLOCK_DIR, made when missing and we may (root): 1770 root:dfu, or 0755
 * root's only where there is no group dfu. 0, or -1 when there is none.
 */
static int lock_dir(void)
{
	struct group *g;
	struct stat st;
	mode_t mode;

	if (!stat(DEVLOCK_DIR, &st))
		return S_ISDIR(st.st_mode) ? 0 : -1;
	if (mkdir("/run/dfu", 0755) && errno != EEXIST)
		return -1;
	g = getgrnam(DEVLOCK_GROUP);
	mode = g ? 01770 : 0755;
	if (mkdir(DEVLOCK_DIR, mode)) {
		if (errno != EEXIST)
			return -1;
		return 0;
	}
	/* past the umask; the group before the mode opens it to the group */
	if ((g && chown(DEVLOCK_DIR, 0, g->gr_gid)) || chmod(DEVLOCK_DIR, mode)) {
		rmdir(DEVLOCK_DIR);	/* not left half made for the next run */
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
			/* everyone who may flash this port writes its name in it */
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

/*
 * The flash's lock (devlock_flash()), and those of the ports its device
 * turned up on later (devlock_follow()): all dropped with the first.
 */
static struct devlock *flash_lock;
static struct devlock more_locks[DEVLOCK_MORE];
static int n_more;

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

	if (l == flash_lock) {
		flash_lock = NULL;
		while (n_more > 0)
			devlock_release(&more_locks[--n_more]);
	}
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

/* Has this process the lock of port? */
static int holding(const char *port)
{
	int i;

	if (flash_lock->fd >= 0 && !strcmp(flash_lock->port, port))
		return 1;
	for (i = 0; i < n_more; i++)
		if (!strcmp(more_locks[i].port, port))
			return 1;
	return 0;
}

/* Lock d's port for a flash, l to keep it: EX_OK, or EX_TEMPFAIL after a message. */
static int lock_for_flash(const struct dfu_dev_desc *d, struct devlock *l)
{
	struct devlock_holder h;
	char who[64];

	if (devlock_take(d->usb_path, DEVLOCK_FLASH, 0, l, &h) != DEVLOCK_BUSY)
		return EX_OK;
	devlock_holder_str(&h, who, sizeof(who));
	if (h.known && h.who == DEVLOCK_RECOVER)
		say("%s (USB port %s) is being recovered by %s, started by dfu-recovery@.service: nothing was sent; wait until it ends (journalctl -u 'dfu-recovery@*'), then flash again\n",
		    d->node, d->usb_path, who);
	else
		say("%s (USB port %s) is being flashed by %s: nothing was sent; wait until it ends, then flash again\n",
		    d->node, d->usb_path, who);
	return EX_TEMPFAIL;
}

int devlock_flash(const struct dev_filter *f, struct devlock *l)
{
	struct dfu_dev_desc d;

	l->fd = -1;
	l->who = DEVLOCK_FLASH;
	l->port[0] = 0;
	flash_lock = l;
	n_more = 0;
	if (!dev_find(f, &d))
		return EX_OK;
	return lock_for_flash(&d, l);
}

int devlock_follow(const struct dfu_dev_desc *d)
{
	int ret;

	if (!flash_lock || !*d->usb_path || holding(d->usb_path))
		return EX_OK;
	if (n_more == DEVLOCK_MORE) {
		say("%s (USB port %s): the device moved more than %d times; nothing was sent to it\n",
		    d->node, d->usb_path, DEVLOCK_MORE);
		return EX_SOFTWARE;
	}
	ret = lock_for_flash(d, &more_locks[n_more]);
	if (!ret && more_locks[n_more].fd >= 0)
		n_more++;
	return ret;
}
