// SPDX-License-Identifier: GPL-2.0
/*
 * device.c - find /dev/dfuN nodes with libudev and choose one
 *
 * Everything comes from sysfs and the udev database, so listing needs no
 * permission on the nodes themselves.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>
#include <libudev.h>
#include <linux/usb/dfu.h>

#include "apple.h"
#include "clock.h"
#include "device.h"
#include "msg.h"
#include "text.h"

static void copy(char *dst, size_t size, const char *src)
{
	snprintf(dst, size, "%s", src ? src : "");
}

static unsigned int number(const char *s, int base)
{
	return s ? (unsigned int)strtoul(s, NULL, base) : 0;
}

/*
 * Keep no more lines of alt_names than num_alts, and no line that our copy
 * (size bytes) cut short: it could read as an alt setting the device does
 * not have. (The driver shows whole lines only; libudev drops the last
 * newline.)
 */
static void trim_alt_names(char *names, size_t size, long num_alts)
{
	size_t len = strlen(names);
	char *p = names;
	long n = 0;

	while (*p && n < num_alts) {
		char *nl = strchr(p, '\n');

		if (!nl) {
			if (len + 1 < size)
				p += strlen(p);	/* the last line, whole */
			break;
		}
		p = nl + 1;
		n++;
	}
	*p = 0;
}

static int describe(struct udev_device *dev, struct dfu_dev_desc *d, int with_state)
{
	struct udev_device *intf, *usb;
	struct udev_list_entry *e;
	unsigned int rt_vid, rt_pid;
	const char *rt;

	memset(d, 0, sizeof(*d));
	d->dialect = -1;
	intf = udev_device_get_parent_with_subsystem_devtype(dev, "usb", "usb_interface");
	usb = udev_device_get_parent_with_subsystem_devtype(dev, "usb", "usb_device");
	if (!intf || !usb || !udev_device_get_devnode(dev))
		return -1;
	copy(d->sysname, sizeof(d->sysname), udev_device_get_sysname(dev));
	copy(d->node, sizeof(d->node), udev_device_get_devnode(dev));
	copy(d->usb_path, sizeof(d->usb_path), udev_device_get_sysname(usb));
	copy(d->id_path, sizeof(d->id_path), udev_device_get_property_value(dev, "ID_PATH"));
	copy(d->serial, sizeof(d->serial), udev_device_get_sysattr_value(usb, "serial"));
	copy(d->mode, sizeof(d->mode), udev_device_get_sysattr_value(dev, "mode"));
	/* the state the driver last saw; "unknown" before any */
	if (with_state)
		copy(d->state, sizeof(d->state), udev_device_get_sysattr_value(dev, "state"));
	copy(d->version, sizeof(d->version), udev_device_get_sysattr_value(dev, "dfu_version"));
	copy(d->alt_names, sizeof(d->alt_names),
	     udev_device_get_sysattr_value(dev, "alt_names"));
	d->vid = number(udev_device_get_sysattr_value(usb, "idVendor"), 16);
	d->pid = number(udev_device_get_sysattr_value(usb, "idProduct"), 16);
	d->busnum = number(udev_device_get_sysattr_value(usb, "busnum"), 10);
	d->devnum = number(udev_device_get_sysattr_value(usb, "devnum"), 10);
	d->interface = number(udev_device_get_sysattr_value(intf, "bInterfaceNumber"), 16);
	d->transfer_size = number(udev_device_get_sysattr_value(dev, "transfer_size"), 10);
	d->alt = number(udev_device_get_sysattr_value(dev, "alt"), 10);
	d->num_alts = number(udev_device_get_sysattr_value(dev, "num_alts"), 10);
	trim_alt_names(d->alt_names, sizeof(d->alt_names), d->num_alts);
	d->attributes = number(udev_device_get_sysattr_value(dev, "attributes"), 16);
	/* "VVVV:PPPP", or an empty line when the device was not seen before */
	rt = udev_device_get_sysattr_value(dev, "runtime_id");
	if (rt && sscanf(rt, "%4x:%4x", &rt_vid, &rt_pid) == 2) {
		d->has_runtime_id = 1;
		d->runtime_vid = (uint16_t)rt_vid;
		d->runtime_pid = (uint16_t)rt_pid;
	}
	/* DfuSe interfaces only; reading the map sends nothing to the device */
	rt = udev_device_get_sysattr_value(dev, "dfuse_map");
	d->dfuse_leave = -1;
	if (rt) {
		d->dfuse = 1;
		copy(d->dfuse_map, sizeof(d->dfuse_map), rt);
		rt = udev_device_get_sysattr_value(dev, "dfuse_leave");
		if (rt)
			d->dfuse_leave = (int)number(rt, 10);
	}
	udev_list_entry_foreach(e, udev_device_get_devlinks_list_entry(dev)) {
		if (d->n_links == DEV_MAX_LINKS)
			break;
		copy(d->links[d->n_links++], sizeof(d->links[0]),
		     udev_list_entry_get_name(e));
	}
	return 0;
}

static int by_name(const void *a, const void *b)
{
	const struct dfu_dev_desc *x = a, *y = b;
	size_t lx = strlen(x->sysname), ly = strlen(y->sysname);

	/* dfu2 before dfu10 */
	return lx != ly ? (lx < ly ? -1 : 1) : strcmp(x->sysname, y->sysname);
}

/*
 * flags: SCAN_STATE reads each device's last seen state; SCAN_INITIALIZED
 * skips nodes udevd has not finished (mode, group, links).
 */
#define SCAN_STATE		1
#define SCAN_INITIALIZED	2

static int scan(struct udev *udev, struct dfu_dev_desc **list, int flags)
{
	struct udev_enumerate *en = udev_enumerate_new(udev);
	struct dfu_dev_desc *v = NULL, *nv;
	struct udev_list_entry *e;
	int n = 0;

	*list = NULL;
	if (!en || udev_enumerate_add_match_subsystem(en, "dfu") < 0 ||
	    ((flags & SCAN_INITIALIZED) && udev_enumerate_add_match_is_initialized(en) < 0) ||
	    udev_enumerate_scan_devices(en) < 0) {
		say("cannot list devices of class dfu through libudev\n");
		udev_enumerate_unref(en);
		return -1;
	}
	udev_list_entry_foreach(e, udev_enumerate_get_list_entry(en)) {
		struct udev_device *dev =
			udev_device_new_from_syspath(udev, udev_list_entry_get_name(e));

		if (!dev)
			continue;	/* gone meanwhile */
		nv = realloc(v, (n + 1) * sizeof(*v));
		if (!nv) {
			udev_device_unref(dev);
			break;
		}
		v = nv;
		if (!describe(dev, &v[n], flags & SCAN_STATE))
			n++;
		udev_device_unref(dev);
	}
	udev_enumerate_unref(en);
	if (n)
		qsort(v, n, sizeof(*v), by_name);
	*list = v;
	return n;
}

static int list_devices(struct dfu_dev_desc **list, int flags)
{
	struct udev *udev = udev_new();
	int n;

	*list = NULL;
	if (!udev) {
		say("libudev: %s\n", strerror(errno));
		return -1;
	}
	n = scan(udev, list, flags);
	udev_unref(udev);
	return n;
}

int dev_list(struct dfu_dev_desc **list)
{
	return list_devices(list, SCAN_STATE);
}

int dev_read_dialect(struct dfu_dev_desc *d)
{
	struct usb_dfu_info info;
	int fd = open(d->node, O_RDONLY | O_CLOEXEC);

	if (fd >= 0 && !ioctl(fd, USB_DFU_IOCTL_GET_INFO, &info))
		d->dialect = info.dialect;
	else if (d->dfuse)
		d->dialect = USB_DFU_DIALECT_DFUSE;
	else if (!strcmp(d->mode, "dfu") && apple_mode_of(d->vid, d->pid) == APPLE_DFU)
		d->dialect = USB_DFU_DIALECT_APPLE;
	else
		d->dialect = USB_DFU_DIALECT_DFU;
	if (fd >= 0)
		close(fd);
	return d->dialect;
}

/* Has the USB device usb a dfu class device below it (a DFU node)? */
static int has_dfu_node(struct udev *udev, struct udev_device *usb)
{
	struct udev_enumerate *en = udev_enumerate_new(udev);
	int found = 0;

	if (!en)
		return 0;
	if (udev_enumerate_add_match_subsystem(en, "dfu") >= 0 &&
	    udev_enumerate_add_match_parent(en, usb) >= 0 &&
	    udev_enumerate_scan_devices(en) >= 0)
		found = udev_enumerate_get_list_entry(en) != NULL;
	udev_enumerate_unref(en);
	return found;
}

static int by_usb_path(const void *a, const void *b)
{
	return strcmp(((const struct apple_usb *)a)->usb_path,
		      ((const struct apple_usb *)b)->usb_path);
}

/* The driver bound to interface 0 of the USB device usb, or "". */
static void interface_driver(struct udev *udev, struct udev_device *usb, char *buf, size_t size)
{
	const char *conf = udev_device_get_sysattr_value(usb, "bConfigurationValue");
	struct udev_device *intf;
	char name[96];

	copy(buf, size, "");
	if (!conf || !*conf)
		return;		/* not configured: no interface */
	snprintf(name, sizeof(name), "%.64s:%.8s.0", udev_device_get_sysname(usb), conf);
	intf = udev_device_new_from_subsystem_sysname(udev, "usb", name);
	if (!intf)
		return;
	copy(buf, size, udev_device_get_driver(intf));
	udev_device_unref(intf);
}

int dev_list_apple(struct apple_usb **list)
{
	struct udev *udev = udev_new();
	struct udev_enumerate *en = NULL;
	struct udev_list_entry *e;
	struct apple_usb *v = NULL, *nv;
	int n = 0;

	*list = NULL;
	if (udev)
		en = udev_enumerate_new(udev);
	if (!en || udev_enumerate_add_match_subsystem(en, "usb") < 0 ||
	    udev_enumerate_add_match_property(en, "DEVTYPE", "usb_device") < 0 ||
	    udev_enumerate_add_match_sysattr(en, "idVendor", "05ac") < 0 ||
	    udev_enumerate_scan_devices(en) < 0) {
		say("cannot list USB devices through libudev\n");
		udev_enumerate_unref(en);
		udev_unref(udev);
		return -1;
	}
	udev_list_entry_foreach(e, udev_enumerate_get_list_entry(en)) {
		struct udev_device *usb =
			udev_device_new_from_syspath(udev, udev_list_entry_get_name(e));
		uint16_t vid, pid;

		if (!usb)
			continue;	/* gone meanwhile */
		vid = (uint16_t)number(udev_device_get_sysattr_value(usb, "idVendor"), 16);
		pid = (uint16_t)number(udev_device_get_sysattr_value(usb, "idProduct"), 16);
		/* an Apple ID, and no DFU node: a bound DFU-mode device is listed as a node */
		if (!apple_mode_of(vid, pid) || has_dfu_node(udev, usb) ||
		    !(nv = realloc(v, (n + 1) * sizeof(*v)))) {
			udev_device_unref(usb);
			continue;
		}
		v = nv;
		memset(&v[n], 0, sizeof(v[n]));
		v[n].vid = vid;
		v[n].pid = pid;
		copy(v[n].usb_path, sizeof(v[n].usb_path), udev_device_get_sysname(usb));
		copy(v[n].serial, sizeof(v[n].serial), udev_device_get_sysattr_value(usb, "serial"));
		v[n].busnum = number(udev_device_get_sysattr_value(usb, "busnum"), 10);
		v[n].devnum = number(udev_device_get_sysattr_value(usb, "devnum"), 10);
		interface_driver(udev, usb, v[n].driver, sizeof(v[n].driver));
		n++;
		udev_device_unref(usb);
	}
	udev_enumerate_unref(en);
	udev_unref(udev);
	if (n)
		qsort(v, n, sizeof(*v), by_usb_path);
	*list = v;
	return n;
}

int dev_next_alt(const char **pos, struct dev_alt *alt)
{
	const char *p = *pos, *sp;
	size_t n = strcspn(p, "\n");

	if (!*p)
		return 0;
	*pos = p + n + (p[n] == '\n');
	alt->num = (unsigned int)strtoul(p, NULL, 10);
	sp = memchr(p, ' ', n);
	snprintf(alt->name, sizeof(alt->name), "%.*s",
		 sp ? (int)(n - (size_t)(sp + 1 - p)) : 0, sp ? sp + 1 : "");
	return 1;
}

long dev_find_alt(const char *alt_names, const char *arg)
{
	char *end;
	unsigned long num = strtoul(arg, &end, 10);
	int by_number = *arg && !*end;
	struct dev_alt a;

	/* alt settings need not be numbered 0..n-1: alt_names has them all */
	while (dev_next_alt(&alt_names, &a))
		if (by_number ? a.num == num : !strcmp(a.name, arg))
			return a.num;
	return -1;
}

/*
 * One ID of --device at s: 1 to 4 hex digits, "*" (any), "-" (none), or
 * nothing (*given 0). Sets *v or the any/none bit in *wild. Returns the
 * character after it, or NULL.
 */
static const char *parse_id(const char *s, uint16_t *v, unsigned int *wild,
			    unsigned int any, unsigned int none, int *given)
{
	unsigned int n = 0;
	int i;

	*given = 1;
	if (*s == '*' || *s == '-') {
		*wild |= *s == '*' ? any : none;
		return s + 1;
	}
	for (i = 0; i < 4 && isxdigit((unsigned char)s[i]); i++)
		n = n * 16 + (unsigned int)(isdigit((unsigned char)s[i]) ? s[i] - '0' :
					    tolower((unsigned char)s[i]) - 'a' + 10);
	if (isxdigit((unsigned char)s[i]))
		return NULL;	/* more than four digits */
	if (!i) {
		*given = 0;
		*wild |= any;
		return s;
	}
	*v = (uint16_t)n;
	return s + i;
}

/* "VID:PID" at s into pair i of f; given[] says which IDs were written. */
static const char *parse_pair(const char *s, struct dev_filter *f, int i, int given[2])
{
	s = parse_id(s, &f->vid[i], &f->wild[i], DEV_VID_ANY, DEV_VID_NONE, &given[0]);
	if (!s || *s++ != ':')
		return NULL;
	return parse_id(s, &f->pid[i], &f->wild[i], DEV_PID_ANY, DEV_PID_NONE, &given[1]);
}

int dev_parse_ids(const char *s, struct dev_filter *f)
{
	const char *comma = strchr(s, ',');
	int given[2], rt_given = 0;

	f->n_ids = 0;
	memset(f->vid, 0, sizeof(f->vid));
	memset(f->pid, 0, sizeof(f->pid));
	memset(f->wild, 0, sizeof(f->wild));
	if (!comma) {
		s = parse_pair(s, f, 0, given);
		if (!s || *s)
			return -1;
		f->n_ids = 1;
		return 0;
	}
	if (comma == s) {
		f->wild[0] = DEV_VID_NONE | DEV_PID_NONE;	/* ",VID:PID": no run-time device */
	} else {
		rt_given = 1;
		s = parse_pair(s, f, 0, given);
		if (!s || s != comma)
			return -1;
	}
	s = comma + 1;
	if (!*s) {
		f->wild[1] = DEV_VID_ANY | DEV_PID_ANY;	/* "VID:PID,": any DFU-mode device */
	} else {
		s = parse_pair(s, f, 1, given);
		if (!s || *s)
			return -1;
		/* an ID left out in DFU mode is the run-time one (dfu-util) */
		if (!given[0] && rt_given) {
			f->wild[1] = (f->wild[1] & ~(unsigned int)DEV_VID_ANY) |
				     (f->wild[0] & (DEV_VID_ANY | DEV_VID_NONE));
			f->vid[1] = f->vid[0];
		}
		if (!given[1] && rt_given) {
			f->wild[1] = (f->wild[1] & ~(unsigned int)DEV_PID_ANY) |
				     (f->wild[0] & (DEV_PID_ANY | DEV_PID_NONE));
			f->pid[1] = f->pid[0];
		}
	}
	f->n_ids = 2;
	return 0;
}

int dev_ids_match(const struct dev_filter *f, int i, uint16_t vid, uint16_t pid)
{
	unsigned int w = f->wild[i];

	if (w & (DEV_VID_NONE | DEV_PID_NONE))
		return 0;
	return ((w & DEV_VID_ANY) || f->vid[i] == vid) && ((w & DEV_PID_ANY) || f->pid[i] == pid);
}

const char *dev_ids_str(const struct dev_filter *f, int i, char *buf, size_t size)
{
	unsigned int w = f->wild[i];
	char v[8], p[8];

	snprintf(v, sizeof(v), "%04x", f->vid[i]);
	snprintf(p, sizeof(p), "%04x", f->pid[i]);
	snprintf(buf, size, "%s:%s", w & DEV_VID_NONE ? "-" : w & DEV_VID_ANY ? "*" : v,
		 w & DEV_PID_NONE ? "-" : w & DEV_PID_ANY ? "*" : p);
	return buf;
}

/* The same file: a node given by one of its udev links matches too. */
static int same_node(const char *a, const char *b)
{
	struct stat sa, sb;

	if (!strcmp(a, b))
		return 1;
	return !stat(a, &sa) && !stat(b, &sb) && S_ISCHR(sa.st_mode) &&
	       sa.st_rdev == sb.st_rdev;
}

int dev_matches(const struct dfu_dev_desc *d, const struct dev_filter *f)
{
	int id_ok = !f->n_ids;

	if (f->node && !same_node(f->node, d->node))
		return 0;
	if (f->serial && strcmp(f->serial, d->serial))
		return 0;
	if (f->path && strcmp(f->path, d->usb_path) && strcmp(f->path, d->id_path))
		return 0;
	if (f->mode && strcmp(f->mode, d->mode))
		return 0;
	/* one pair: either mode; two: the run-time pair, or the DFU-mode one */
	if (f->n_ids == 1)
		id_ok = dev_ids_match(f, 0, d->vid, d->pid);
	else if (f->n_ids == 2)
		id_ok = dev_ids_match(f, !strcmp(d->mode, "dfu"), d->vid, d->pid);
	return id_ok;
}

void dev_print_candidate(const struct dfu_dev_desc *d)
{
	char esc[4 * sizeof(d->serial)];

	fprintf(stderr, "  %s  %04x:%04x  serial \"%s\"  path %s  %s mode\n",
		d->node, d->vid, d->pid, text_escape(esc, sizeof(esc), d->serial), d->usb_path,
		d->mode);
}

int dev_find(const struct dev_filter *f, struct dfu_dev_desc *out)
{
	struct dfu_dev_desc *v;
	int i, n = list_devices(&v, 0), hits = 0;

	for (i = 0; i < n; i++)
		if (dev_matches(&v[i], f) && !hits++)
			*out = v[i];
	free(v);
	return hits == 1;
}

/* After "no DFU device matches": the Apple devices that have no node, and why. */
static void apple_hint(void)
{
	struct apple_usb *a;
	int i, n = dev_list_apple(&a);

	for (i = 0; i < n; i++) {
		if (apple_mode_of(a[i].vid, a[i].pid) == APPLE_RECOVERY)
			say("the Apple device on USB port %s (%04x:%04x) is in recovery mode, which is not DFU and not served by dfu.ko: use irecovery or idevicerestore\n",
			    a[i].usb_path, a[i].vid, a[i].pid);
		else
			say("the Apple device on USB port %s (%04x:%04x) is in DFU mode but has no DFU node (dfu.ko's bind_apple is N, or it was unbound): irecovery owns it; see dfuctl list\n",
			    a[i].usb_path, a[i].vid, a[i].pid);
	}
	free(a);
}

int dev_select(const struct dev_filter *f, struct dfu_dev_desc *out)
{
	struct dfu_dev_desc *v;
	int i, n, hits = 0;

	n = list_devices(&v, 0);
	if (n < 0)
		return EX_OSERR;
	for (i = 0; i < n; i++)
		if (dev_matches(&v[i], f) && !hits++)
			*out = v[i];
	if (hits > 1) {
		say("%d DFU devices match; choose one with a node, --serial or --path:\n",
		    hits);
		for (i = 0; i < n; i++)
			if (dev_matches(&v[i], f))
				dev_print_candidate(&v[i]);
	} else if (!hits && f->node && access(f->node, F_OK)) {
		say("%s: no such device: is dfu.ko loaded and the device plugged in? (dfuctl list)\n",
		    f->node);
	} else if (!hits) {
		say("no DFU device matches%s; plug it in, or see what is there with: dfuctl list\n",
		    n ? "" : " (none is bound to dfu.ko)");
		apple_hint();
	}
	free(v);
	return hits == 1 ? EX_OK : hits ? EX_USAGE : EX_UNAVAILABLE;
}

/* A sysfs attribute of the USB port's device as a number; -1 when absent. */
static long port_attr(const char *usb_path, const char *attr, int base)
{
	char path[PATH_MAX], buf[32];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/sys/bus/usb/devices/%s/%s", usb_path, attr);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	return strtol(buf, NULL, base);
}

/*
 * A libudev monitor of one subsystem, and the wait on it that dev_wait_port()
 * and dev_watch() share: each round looks at sysfs afresh, and an event only
 * ends the wait early, so a missed or absent event costs at most 250 ms.
 */
struct watch {
	struct udev *udev;
	struct udev_monitor *mon;
};

/* Watch subsystem (devtype: NULL for any) from source, "udev" or "kernel". */
static int watch_open(struct watch *w, const char *source, const char *subsystem,
		      const char *devtype)
{
	if (!w->udev)
		w->udev = udev_new();
	w->mon = w->udev ? udev_monitor_new_from_netlink(w->udev, source) : NULL;
	if (!w->mon || udev_monitor_filter_add_match_subsystem_devtype(w->mon, subsystem,
								       devtype) < 0 ||
	    udev_monitor_enable_receiving(w->mon) < 0) {
		say("cannot watch for %s devices through libudev: %s\n", subsystem,
		    strerror(errno));
		return -1;
	}
	return 0;
}

static void watch_close(struct watch *w)
{
	udev_monitor_unref(w->mon);
	w->mon = NULL;
}

/*
 * Sleep until an event or 250 ms, at most until end (now_ms(); -1: no
 * end), and drain the events. Returns 1 if end has passed, 0 to look
 * again, -1 after a message (what: for it).
 */
static int watch_wait(struct watch *w, long long end, const char *what)
{
	struct pollfd pfd = { .fd = udev_monitor_get_fd(w->mon), .events = POLLIN };
	struct udev_device *dev;
	long long left = 250;

	if (end >= 0) {
		left = end - now_ms();
		if (left <= 0)
			return 1;
	}
	if (poll(&pfd, 1, left > 250 ? 250 : (int)left) < 0 && errno != EINTR) {
		say("waiting for %s: %s\n", what, strerror(errno));
		return -1;
	}
	while ((dev = udev_monitor_receive_device(w->mon)))
		udev_device_unref(dev);
	return 0;
}

int dev_wait_port(const char *usb_path, unsigned int old_devnum, int timeout_ms,
		  uint16_t *vid, uint16_t *pid, unsigned int *devnum)
{
	struct watch w = { 0 };
	long long end = now_ms() + timeout_ms;
	int ret = EX_OSERR, gone = 0, r;

	/* the kernel's events: no need to wait for udevd, sysfs is read here */
	if (watch_open(&w, "kernel", "usb", "usb_device"))
		goto out;
	do {
		long num = port_attr(usb_path, "devnum", 10), v, p;

		/*
		 * A device other than the old one: another device number, or
		 * the port was seen empty (the number could come round again).
		 */
		if (num < 0) {
			gone = 1;
		} else if (num != (long)old_devnum || gone) {
			v = port_attr(usb_path, "idVendor", 16);
			p = port_attr(usb_path, "idProduct", 16);
			/* both, and still the same device */
			if (v >= 0 && p >= 0 && port_attr(usb_path, "devnum", 10) == num) {
				*vid = (uint16_t)v;
				*pid = (uint16_t)p;
				*devnum = (unsigned int)num;
				ret = EX_OK;
				goto out;
			}
		}
		r = watch_wait(&w, end, "a USB device");
	} while (!r);
	ret = r > 0 ? EX_UNAVAILABLE : EX_OSERR;
out:
	watch_close(&w);
	udev_unref(w.udev);
	return ret;
}

/* How many dfu nodes udevd has not finished (udev_device_get_is_initialized). */
static int count_unfinished(struct udev *udev)
{
	struct udev_enumerate *en = udev_enumerate_new(udev);
	struct udev_list_entry *e;
	int n = 0;

	if (!en || udev_enumerate_add_match_subsystem(en, "dfu") < 0 ||
	    udev_enumerate_scan_devices(en) < 0) {
		udev_enumerate_unref(en);
		return 0;
	}
	udev_list_entry_foreach(e, udev_enumerate_get_list_entry(en)) {
		struct udev_device *dev =
			udev_device_new_from_syspath(udev, udev_list_entry_get_name(e));

		if (dev && !udev_device_get_is_initialized(dev))
			n++;
		udev_device_unref(dev);
	}
	udev_enumerate_unref(en);
	return n;
}

/*
 * How long a node may wait for udevd before dev_watch() concludes that
 * udevd is not running (stopped, with /run/udev left behind) and takes the
 * nodes as the kernel made them. udevd finishes a node in milliseconds.
 */
#define UDEVD_GRACE_MS	3000

int dev_watch(int (*look)(const struct dfu_dev_desc *v, int n, void *arg), void *arg,
	      long long timeout_ms)
{
	struct watch w = { 0 };
	long long end = timeout_ms == DEV_FOREVER ? -1 : now_ms() + timeout_ms;
	long long unfinished_since = 0;
	int udevd = !access("/run/udev/control", F_OK);
	int ret, r;

	/*
	 * With udevd running, wait for its events and take only the nodes it
	 * has finished, so that a node found has its permissions and links;
	 * without it, the kernel's events.
	 */
	if (watch_open(&w, udevd ? "udev" : "kernel", "dfu", NULL)) {
		ret = EX_OSERR;
		goto out;
	}
	/* the monitor runs first, so an arrival before a scan is not lost */
	for (;;) {
		struct dfu_dev_desc *v;
		int n = scan(w.udev, &v, udevd ? SCAN_INITIALIZED : 0);

		if (n < 0) {
			ret = EX_OSERR;
			break;
		}
		ret = look(v, n, arg);
		free(v);
		if (ret != DEV_WATCH_MORE)
			break;
		/* a node udevd has left unfinished too long: udevd is gone */
		if (udevd && count_unfinished(w.udev) > 0) {
			if (!unfinished_since) {
				unfinished_since = now_ms();
			} else if (now_ms() - unfinished_since > UDEVD_GRACE_MS) {
				say("udevd has not finished a new DFU node in %d s (is systemd-udevd running?): taking the nodes as the kernel made them\n",
				    UDEVD_GRACE_MS / 1000);
				udevd = 0;
				watch_close(&w);
				if (watch_open(&w, "kernel", "dfu", NULL)) {
					ret = EX_OSERR;
					break;
				}
				continue;
			}
		} else {
			unfinished_since = 0;
		}
		/* the events only wake us: each round looks at the whole list */
		r = watch_wait(&w, end, "devices");
		if (r) {
			ret = r > 0 ? DEV_WATCH_TIMEOUT : EX_OSERR;
			break;
		}
	}
out:
	watch_close(&w);
	udev_unref(w.udev);
	return ret;
}

struct new_match {
	const struct dev_filter *f;
	const struct dfu_dev_desc *old;
	struct dfu_dev_desc *out;
};

/* dev_watch(): the first node that passes f and is not old. */
static int look_new(const struct dfu_dev_desc *v, int n, void *arg)
{
	struct new_match *m = arg;
	int i;

	for (i = 0; i < n; i++) {
		if (!dev_matches(&v[i], m->f))
			continue;
		if (m->old && v[i].busnum == m->old->busnum && v[i].devnum == m->old->devnum)
			continue;
		*m->out = v[i];
		return EX_OK;
	}
	return DEV_WATCH_MORE;
}

int dev_wait(const struct dev_filter *f, const struct dfu_dev_desc *old,
	     int timeout_ms, struct dfu_dev_desc *out)
{
	struct new_match m = { f, old, out };
	int ret = dev_watch(look_new, &m, timeout_ms);

	return ret == DEV_WATCH_TIMEOUT ? EX_UNAVAILABLE : ret;
}

int dev_select_wait(const struct dev_filter *f, long long timeout_ms, struct dfu_dev_desc *out)
{
	struct new_match m = { f, NULL, out };
	struct dfu_dev_desc *v;
	int i, n, ret;

	if (!timeout_ms)
		return dev_select(f, out);
	n = list_devices(&v, 0);
	for (i = 0; i < n && !dev_matches(&v[i], f); i++)
		;
	free(v);
	/* one there (or several: dev_select() says which) */
	if (n < 0 || i < n)
		return dev_select(f, out);
	if (timeout_ms == DEV_FOREVER)
		say("no DFU device matches yet: waiting for one to appear (--wait; Ctrl-C stops)\n");
	else
		say("no DFU device matches yet: waiting up to %lld s for one to appear (--wait)\n",
		    (timeout_ms + 999) / 1000);
	ret = dev_watch(look_new, &m, timeout_ms);
	if (ret != EX_OK && ret != DEV_WATCH_TIMEOUT)
		return ret;
	if (ret == DEV_WATCH_TIMEOUT)
		say("waited %lld s (--wait)\n", (timeout_ms + 999) / 1000);
	/* the final choice, with its messages: also when two arrived at once */
	return dev_select(f, out);
}
