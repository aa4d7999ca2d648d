/* SPDX-License-Identifier: GPL-2.0 */
/*
 * device.h - find /dev/dfuN nodes with libudev and choose one
 */
#ifndef DFUCTL_DEVICE_H
#define DFUCTL_DEVICE_H

#include <stdint.h>
#include <stddef.h>

#define DEV_MAX_LINKS	8

/* One DFU interface bound to dfu.ko, as sysfs and udev describe it. */
struct dfu_dev_desc {
	char sysname[32];	/* dfu0 */
	char node[64];		/* /dev/dfu0 */
	char usb_path[64];	/* USB port, as sysfs names it: 1-1.2 */
	char id_path[128];	/* udev's ID_PATH, "" without udevd */
	char serial[384];	/* iSerialNumber string (UTF-8), "" if none */
	char mode[16];		/* "dfu" or "runtime" */
	char state[32];		/* dfuIDLE, appIDLE... as last seen (dev_list only) */
	char version[16];	/* bcdDFUVersion, 0x0110 */
	char alt_names[4096];	/* "N name" lines */
	uint16_t vid, pid;
	/* the run-time IDs the driver saw on this port before a detach */
	int has_runtime_id;
	uint16_t runtime_vid, runtime_pid;
	unsigned int busnum, devnum;	/* devnum changes on re-enumeration */
	unsigned int interface, transfer_size, alt, num_alts, attributes;
	char links[DEV_MAX_LINKS][128];	/* /dev/dfu/by-... */
	unsigned int n_links;
	/* ST DfuSe: the driver shows the attribute dfuse_map */
	int dfuse;
	char dfuse_map[8192];	/* its lines: "ALT 0xSTART COUNT*SIZE PERMS NAME" */
	int dfuse_leave;	/* sysfs dfuse_leave: 1, 0, or -1 when unknown */
	/*
	 * USB_DFU_DIALECT_* after dev_read_dialect(), -1 before. Apple's
	 * SecureROM (USB_DFU_DIALECT_APPLE) identifies itself in serial.
	 */
	int dialect;
};

/*
 * How the driver speaks to d: USB_DFU_IOCTL_GET_INFO's dialect on the node
 * opened read-only (nothing is sent to the device), or, when the node
 * cannot be opened (no permission), what sysfs shows: USB_DFU_DIALECT_DFUSE
 * for a node with a memory map, USB_DFU_DIALECT_APPLE for Apple's DFU-mode
 * IDs (05ac:1227, 05ac:1222) in DFU mode. Sets and returns d->dialect.
 */
int dev_read_dialect(struct dfu_dev_desc *d);

/*
 * An Apple device in recovery mode (05ac:1280-1283, not DFU: dfu.ko never
 * binds it) or in DFU mode without a DFU node (dfu.ko's bind_apple=0, or
 * unbound, so that irecovery can claim it).
 */
struct apple_usb {
	char usb_path[64];	/* USB port, as sysfs names it: 1-1.2 */
	char serial[384];	/* iSerialNumber: the identity fields */
	uint16_t vid, pid;
	unsigned int busnum, devnum;
	char driver[32];	/* the driver of interface 0 ("usbfs": a libusb
				 * program such as irecovery), "" for none */
};

/*
 * The USB devices with Apple's DFU- or recovery-mode IDs that have no DFU
 * node, sorted by USB path. Returns how many (0 too), or -1 with a
 * message; *list is malloc'ed: free() it.
 */
int dev_list_apple(struct apple_usb **list);

/*
 * Wait up to timeout_ms for the USB port usb_path (1-1.2) to hold a device
 * other than the one with device number old_devnum: one that re-enumerated
 * after leaving the bus. Sleeps on kernel uevents, and looks at sysfs at
 * least every 250 ms. Returns EX_OK with *vid, *pid and *devnum of the new
 * device, EX_UNAVAILABLE on timeout, or EX_OSERR after a message.
 */
int dev_wait_port(const char *usb_path, unsigned int old_devnum, int timeout_ms,
		  uint16_t *vid, uint16_t *pid, unsigned int *devnum);

/* One line of the alt_names attribute: "N name". */
struct dev_alt {
	unsigned int num;	/* bAlternateSetting */
	char name[256];		/* iInterface string, "" if none */
};

/*
 * Read the alt_names line at *pos into *alt and advance *pos past it.
 * Returns 1, or 0 at the end of the list.
 */
int dev_next_alt(const char **pos, struct dev_alt *alt);

/*
 * The alt setting arg names, by number or by name, among alt_names.
 * Returns its number, or -1 when the device has no such alt setting.
 */
long dev_find_alt(const char *alt_names, const char *arg);

/* dfu-util's wildcards in an ID of --device, bits of dev_filter.wild[] */
#define DEV_VID_ANY	0x1	/* "*", or left out */
#define DEV_PID_ANY	0x2
#define DEV_VID_NONE	0x4	/* "-": matches nothing */
#define DEV_PID_NONE	0x8

/* What the user asked for; unset fields match anything. */
struct dev_filter {
	const char *node;	/* a node or link path */
	const char *serial;
	const char *path;	/* USB port (1-1.2) or udev ID_PATH */
	/*
	 * --device: one pair (n_ids 1) matches a device in either mode; two
	 * (n_ids 2) are the run-time IDs (pair 0, for run-time nodes) and
	 * the DFU-mode IDs (pair 1, for DFU-mode nodes), as dfu-util -d.
	 * wild[i] has the DEV_*_ANY/NONE bits of pair i (0: exact IDs).
	 */
	int n_ids;
	uint16_t vid[2], pid[2];
	unsigned int wild[2];
	const char *mode;	/* "dfu" or "runtime", or NULL */
};

/*
 * Every DFU node, sorted by name, with the DFU state the driver last saw
 * (sysfs state: no request reaches the device). Returns the number found
 * (0 too), or -1 with a message when libudev fails. *list is malloc'ed;
 * free() it.
 */
int dev_list(struct dfu_dev_desc **list);

/*
 * Parse --device "VID:PID[,VID:PID]" into f, as dfu-util -d reads it: each
 * ID 1 to 4 hex digits (no 0x, no sign), "*" for any, "-" for none, or left
 * out (any; in the DFU-mode pair: the run-time pair's value). An empty
 * run-time pair (",VID:PID") matches no run-time device, an empty DFU-mode
 * pair ("VID:PID,") any DFU-mode device. Returns 0 or -1.
 */
int dev_parse_ids(const char *s, struct dev_filter *f);

/* Does pair i of f (dev_parse_ids()) match vid:pid? */
int dev_ids_match(const struct dev_filter *f, int i, uint16_t vid, uint16_t pid);

/* Pair i of f as the user wrote it, wildcards included ("1209:*"). */
const char *dev_ids_str(const struct dev_filter *f, int i, char *buf, size_t size);

/* One line on stderr for a list of candidates: node, IDs, serial, port, mode. */
void dev_print_candidate(const struct dfu_dev_desc *d);

/* Does d pass the filter? */
int dev_matches(const struct dfu_dev_desc *d, const struct dev_filter *f);

/* Is exactly one device passing f there? Then *out has it. Says nothing. */
int dev_find(const struct dev_filter *f, struct dfu_dev_desc *out);

/*
 * Choose exactly one device. Returns a sysexits code: EX_OK with *out
 * filled, EX_UNAVAILABLE when nothing matches, EX_USAGE when the choice is
 * ambiguous (the candidates are listed on stderr).
 */
int dev_select(const struct dev_filter *f, struct dfu_dev_desc *out);

/*
 * Wait up to timeout_ms for a node that passes f and is not old (when
 * given): a device re-enumerating after DETACH or manifestation gets a new
 * USB device number. Sleeps on a udev monitor, not a fixed time. Returns
 * EX_OK with *out filled, EX_UNAVAILABLE on timeout, or EX_OSERR.
 */
int dev_wait(const struct dev_filter *f, const struct dfu_dev_desc *old,
	     int timeout_ms, struct dfu_dev_desc *out);

/* timeout_ms of dev_watch() and dev_select_wait(): no end */
#define DEV_FOREVER	(-1)

/*
 * Look at the DFU nodes now and again at each udev event, at least every
 * 250 ms, until look() returns anything but DEV_WATCH_MORE, or timeout_ms
 * (DEV_FOREVER: none) has passed. look() gets the nodes (those udevd has
 * finished, when udevd runs) and arg. Returns look()'s answer,
 * DEV_WATCH_TIMEOUT, or EX_OSERR after a message. Nothing is sent to any
 * device.
 */
#define DEV_WATCH_MORE		(-1)
#define DEV_WATCH_TIMEOUT	(-2)
int dev_watch(int (*look)(const struct dfu_dev_desc *v, int n, void *arg), void *arg,
	      long long timeout_ms);

/*
 * dev_select(), but when no device matches, wait up to timeout_ms
 * (DEV_FOREVER: without end; 0: not at all) for one to appear (dfu-util
 * -w). Says so on stderr once when it starts to wait.
 */
int dev_select_wait(const struct dev_filter *f, long long timeout_ms, struct dfu_dev_desc *out);

#endif
