/* SPDX-License-Identifier: GPL-2.0 */
/*
 * devlock.h - one writer per USB port: dfuctl flash and dfuctl recover
 *
 * A user's "dfuctl flash --detach" and the recovery service must not both
 * flash a device: the DETACH makes the device re-appear in DFU mode, which
 * starts dfu-recovery@dfuN.service at once. Both take an flock(2) on
 * DEVLOCK_DIR/usb-PORT, keyed by the USB port (sysfs's 1-1.2), which stays
 * the same while the device re-enumerates in DFU mode and back. The holder
 * writes "flash PID" or "recover PID" into the file, so that the other can
 * say who holds it. recover steps aside for a user's flash; flash refuses
 * to start while recover holds it (EX_TEMPFAIL).
 *
 * DEVLOCK_DIR is mode 1770 root:dfu (sticky, like /tmp, for the members of
 * the group dfu, who create their port's file there; only they and root
 * can make the recovery service step aside). A user outside the group
 * flashes without the lock. udev/dfu-tmpfiles.conf creates it at boot and
 * dfuctl run as root creates it when it is missing. Lock files are never
 * removed (removing one races with a process that just opened it).
 */
#ifndef DFUCTL_DEVLOCK_H
#define DFUCTL_DEVLOCK_H

#include <stddef.h>

#include "device.h"

#define DEVLOCK_DIR	"/run/dfu/lock"
#define DEVLOCK_GROUP	"dfu"

enum devlock_who { DEVLOCK_FLASH, DEVLOCK_RECOVER };

struct devlock {
	int fd;			/* -1: not held */
	int writable;		/* fd may write the holder's name */
	enum devlock_who who;
	char port[64];		/* the USB port */
	char path[192];
	char prev[64];		/* what the file said when we took it */
};

enum devlock_result {
	DEVLOCK_TAKEN,		/* l->fd holds the lock */
	DEVLOCK_BUSY,		/* another process holds it: see holder */
	DEVLOCK_NONE,		/* no lock can be kept here (no DEVLOCK_DIR, and
				 * not root): l->fd is -1, go on without */
};

/* What the holder of a busy lock wrote: its kind and process id. */
struct devlock_holder {
	int known;		/* 0: it wrote nothing we could read */
	enum devlock_who who;
	long pid;
};

/*
 * Take the lock of USB port usb_path (1-1.2) for who, waiting up to
 * timeout_ms (0: try once). On DEVLOCK_BUSY, *h says who holds it.
 */
enum devlock_result devlock_take(const char *usb_path, enum devlock_who who, int timeout_ms,
				 struct devlock *l, struct devlock_holder *h);

/*
 * Drop the lock (exit() drops it too, but leaves the holder's name); l->fd
 * becomes -1. A dfuctl flash leaves "flashed PID BUSNUM DEVNUM" in the
 * file, the USB device it leaves on the port: the recovery that the DFU-mode
 * node of a short flash started may take the lock only after the flash
 * ended, and must still leave that device alone.
 */
void devlock_release(struct devlock *l);

/*
 * Did a dfuctl flash leave the lock (held in l) with the USB device
 * busnum/devnum on the port, the device not re-enumerated since? Then 1,
 * with its process id in *pid. (The next devlock_release() by a recover
 * removes that mark: a recovery started by hand afterwards goes on.)
 */
int devlock_user_flashed(const struct devlock *l, unsigned int busnum, unsigned int devnum,
			 long *pid);


/* "dfuctl recover (pid 123)", "dfuctl flash (pid 123)", or "another dfuctl" */
const char *devlock_holder_str(const struct devlock_holder *h, char *buf, size_t size);

/*
 * For dfuctl flash, before flash_image(): lock the port of the device f
 * chooses, when exactly one does (otherwise flash_image() reports it, and
 * l->fd stays -1). Returns EX_OK, or EX_TEMPFAIL after a message naming
 * the holder when another dfuctl (the recovery service, or another flash)
 * is flashing that device.
 */
int devlock_flash(const struct dev_filter *f, struct devlock *l);

/* How many more ports one flash may lock as its device moves */
#define DEVLOCK_MORE	3

/*
 * After devlock_flash(), when the device turns up on a port whose lock the
 * flash does not hold (it arrived during --wait, or came back on another
 * port after --detach): take that port's lock too, before anything is sent
 * to the device there. The locks are dropped with the first, by
 * devlock_release(). Without devlock_flash() (other commands), nothing.
 * Returns EX_OK, or EX_TEMPFAIL after a message as devlock_flash().
 */
int devlock_follow(const struct dfu_dev_desc *d);

#endif
