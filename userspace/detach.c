// SPDX-License-Identifier: GPL-2.0
/*
 * detach.c - switch a run-time device to DFU mode and find it again
 *
 * Bootloaders often come back with another product ID, another serial
 * number or none. The device is found again as dfu-util users expect: on
 * its USB port first (a port holds one device); failing that, after the
 * detach delay, by the DFU-mode IDs of --device RUNTIME,DFU or by
 * --dfu-serial; without them, by an unchanged serial number. Only DFU-mode
 * nodes that were not there before the DETACH count, and whatever is not
 * exactly one device is an error that names the candidates: never a guess.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sysexits.h>
#include <time.h>
#include <linux/usb/dfu.h>

#include "clock.h"
#include "commands.h"
#include "detach.h"
#include "devlock.h"

/* wDetachTimeOut is at most 65535 ms; re-enumeration takes a few seconds more */
#define REENUM_MS	5000
/* the DETACH's wValue when the descriptor says 0 (dfu-util's 1000 ms) */
#define DETACH_DEFAULT_MS	1000

int detach_option(int c, const char *arg, int argc, char **argv, struct detach_opts *o)
{
	uint64_t v;

	switch (c) {
	case DETACH_OPT_DFU_SERIAL:
		if (!*arg)
			return usage_error("--dfu-serial wants the serial number the device shows in DFU mode");
		o->dfu_serial = arg;
		return 0;
	case DETACH_OPT_WAIT:
		/*
		 * "--wait 30" as well as "--wait=30": a word of digits only is
		 * the seconds (an IMAGE such as 1.bin or a NODE is not)
		 */
		if (!arg && optind < argc && *argv[optind] &&
		    argv[optind][strspn(argv[optind], "0123456789")] == 0)
			arg = argv[optind++];
		if (!arg) {
			o->wait_ms = DEV_FOREVER;
			return 0;
		}
		if (parse_number(arg, 86400, &v) || !v)
			return usage_error("--wait takes seconds, 1 to 86400, or nothing to wait without end");
		o->wait_ms = (long long)v * 1000;
		return 0;
	case DETACH_OPT_DELAY:
		if (parse_number(arg, 3600, &v) || !v)
			return usage_error("--detach-delay wants seconds, 1 to 3600");
		o->delay_ms = (int)v * 1000;
		return 0;
	default:
		return 1;
	}
}

/*
 * How to recognise the device in DFU mode after a manifestation reset it:
 * the USB port it is plugged into (a port holds one device); its serial
 * number and idProduct may change.
 */
void dfu_mode_filter(const struct dfu_dev_desc *d, const struct dev_filter *user,
		     struct dev_filter *f)
{
	memset(f, 0, sizeof(*f));
	f->mode = "dfu";
	f->path = d->usb_path;
	/* --device VID:PID,VID:PID names the DFU-mode IDs second */
	if (user && user->n_ids == 2) {
		f->n_ids = 2;
		f->vid[1] = user->vid[1];
		f->pid[1] = user->pid[1];
		f->wild[1] = user->wild[1];
		f->wild[0] = DEV_VID_NONE | DEV_PID_NONE;
	}
}

/* A USB device, by bus and device number: a re-enumerated one gets a new number. */
struct usb_id {
	unsigned int busnum, devnum;
};

struct refind {
	const char *cmd;
	const struct dfu_dev_desc *rt;	/* the run-time node, before the DETACH */
	const struct dev_filter *user;
	const struct detach_opts *o;
	struct usb_id *before;		/* the devices with a node before the DETACH */
	int n_before;
	long long window_end;		/* the end of the detach delay (now_ms()) */
	int dfu_ids;			/* --device gave DFU-mode IDs */
	struct dfu_dev_desc *out;
};

/* A DFU-mode node that was not there before the DETACH. */
static int is_new(const struct refind *r, const struct dfu_dev_desc *d)
{
	int i;

	if (strcmp(d->mode, "dfu"))
		return 0;
	for (i = 0; i < r->n_before; i++)
		if (r->before[i].busnum == d->busnum && r->before[i].devnum == d->devnum)
			return 0;
	return 1;
}

static int same_port(const struct dfu_dev_desc *a, const struct dfu_dev_desc *b)
{
	return !strcmp(a->usb_path, b->usb_path) ||
	       (*a->id_path && !strcmp(a->id_path, b->id_path));
}

/* Does d have the DFU-mode IDs and serial the user gave (if any)? */
static int wanted(const struct refind *r, const struct dfu_dev_desc *d)
{
	if (r->user && r->user->n_ids == 2 && !dev_ids_match(r->user, 1, d->vid, d->pid))
		return 0;
	return !r->o->dfu_serial || !strcmp(r->o->dfu_serial, d->serial);
}

/* On another port: does a rule tie d to the detached device? */
static int tied(const struct refind *r, const struct dfu_dev_desc *d)
{
	if (!wanted(r, d))
		return 0;
	if (r->dfu_ids || r->o->dfu_serial)
		return 1;
	return *r->rt->serial && !strcmp(r->rt->serial, d->serial);
}

/* Which rule tied d (on another port), for the message. */
static const char *tie_rule(const struct refind *r, const struct dfu_dev_desc *d, char *buf,
			    size_t size)
{
	char ids[32];

	if (r->dfu_ids)
		dev_ids_str(r->user, 1, ids, sizeof(ids));
	if (r->dfu_ids && r->o->dfu_serial)
		snprintf(buf, size, "by its DFU-mode IDs %s and serial \"%s\" (--device, --dfu-serial)",
			 ids, d->serial);
	else if (r->dfu_ids)
		snprintf(buf, size, "by its DFU-mode IDs %s (--device)", ids);
	else if (r->o->dfu_serial)
		snprintf(buf, size, "by its DFU-mode serial \"%s\" (--dfu-serial)", d->serial);
	else
		snprintf(buf, size, "by its serial number \"%s\", unchanged from run-time mode",
			 d->serial);
	return buf;
}

/* What the user gave for DFU mode, for messages: "--device's DFU-mode IDs 1209:df0d". */
static const char *wanted_str(const struct refind *r, char *buf, size_t size)
{
	char ids[32];

	if (r->user && r->user->n_ids == 2)
		dev_ids_str(r->user, 1, ids, sizeof(ids));
	if (r->user && r->user->n_ids == 2 && r->o->dfu_serial)
		snprintf(buf, size, "the DFU-mode IDs %s (--device) and serial \"%s\" (--dfu-serial)",
			 ids, r->o->dfu_serial);
	else if (r->user && r->user->n_ids == 2)
		snprintf(buf, size, "the DFU-mode IDs %s (--device)", ids);
	else
		snprintf(buf, size, "the DFU-mode serial \"%s\" (--dfu-serial)", r->o->dfu_serial);
	return buf;
}

static void print_rt(const struct refind *r)
{
	fprintf(stderr, "dfuctl %s: %s (%04x:%04x on USB port %s) was detached", r->cmd,
		r->rt->node, r->rt->vid, r->rt->pid, r->rt->usb_path);
}

static void print_choose(const struct refind *r)
{
	fprintf(stderr, "dfuctl %s: to use one of them, give its node (dfuctl %s ... /dev/dfuN), or name it with --dfu-serial S or --device %04x:%04x,DFU_VID:DFU_PID\n",
		r->cmd, r->cmd, r->rt->vid, r->rt->pid);
}

/* dev_watch(): the rules, in their order. */
static int look(const struct dfu_dev_desc *v, int n, void *arg)
{
	struct refind *r = arg;
	int i, on_port = 0, elsewhere = 0, hit = -1;
	char why[512];

	for (i = 0; i < n; i++) {
		if (!is_new(r, &v[i]) || !same_port(r->rt, &v[i]))
			continue;
		/* a port holds one device: this is it, and not what the user said */
		if (!wanted(r, &v[i])) {
			print_rt(r);
			fprintf(stderr, " and came back on the same USB port in DFU mode, but not with %s:\n",
				wanted_str(r, why, sizeof(why)));
			dev_print_candidate(&v[i]);
			fprintf(stderr, "dfuctl %s: nothing was sent to it: check the IDs and serial (dfuctl list), or give its node\n",
				r->cmd);
			return EX_USAGE;
		}
		on_port++;
		hit = i;
	}
	if (on_port == 1) {
		*r->out = v[hit];
		fprintf(stderr, "dfuctl %s: found %s (%04x:%04x) in DFU mode on the same USB port %s\n",
			r->cmd, v[hit].node, v[hit].vid, v[hit].pid, v[hit].usb_path);
		return EX_OK;
	}
	if (on_port > 1) {
		print_rt(r);
		fprintf(stderr, ", and %d DFU interfaces came back on its USB port:\n", on_port);
		for (i = 0; i < n; i++)
			if (is_new(r, &v[i]) && same_port(r->rt, &v[i]))
				dev_print_candidate(&v[i]);
		print_choose(r);
		return EX_USAGE;
	}
	/* on another port: only after the detach delay, and only one */
	if (now_ms() < r->window_end)
		return DEV_WATCH_MORE;
	for (i = 0; i < n; i++) {
		if (is_new(r, &v[i]) && tied(r, &v[i])) {
			elsewhere++;
			hit = i;
		}
	}
	if (elsewhere == 1) {
		*r->out = v[hit];
		fprintf(stderr, "dfuctl %s: found %s (%04x:%04x) in DFU mode on USB port %s, not on its port %s, %s\n",
			r->cmd, v[hit].node, v[hit].vid, v[hit].pid, v[hit].usb_path,
			r->rt->usb_path, tie_rule(r, &v[hit], why, sizeof(why)));
		return EX_OK;
	}
	if (elsewhere > 1) {
		print_rt(r);
		fprintf(stderr, "; no device came back on its port, and %d new DFU-mode devices elsewhere match %s:\n",
			elsewhere, r->dfu_ids || r->o->dfu_serial ? wanted_str(r, why, sizeof(why)) :
			"its serial number");
		for (i = 0; i < n; i++)
			if (is_new(r, &v[i]) && tied(r, &v[i]))
				dev_print_candidate(&v[i]);
		print_choose(r);
		return EX_USAGE;
	}
	return DEV_WATCH_MORE;
}

struct leftovers {
	struct refind *r;
	int found;
};

/* dev_watch(), once: the new DFU-mode nodes that no rule took. */
static int look_left(const struct dfu_dev_desc *v, int n, void *arg)
{
	struct leftovers *l = arg;
	int i;

	for (i = 0; i < n; i++) {
		if (!is_new(l->r, &v[i]))
			continue;
		if (!l->found++) {
			print_rt(l->r);
			fprintf(stderr, ", and did not come back on its port; nothing ties %s to it:\n",
				"these new DFU-mode devices");
		}
		dev_print_candidate(&v[i]);
	}
	return l->found;
}

/* The devices that have a node now (run-time ones too): not the detached one. */
static int snapshot(const struct dfu_dev_desc *v, int n, void *arg)
{
	struct refind *r = arg;
	int i;

	r->before = calloc((size_t)n + 1, sizeof(*r->before));
	if (!r->before) {
		fprintf(stderr, "dfuctl %s: out of memory\n", r->cmd);
		return EX_OSERR;
	}
	for (i = 0; i < n; i++) {
		r->before[i].busnum = v[i].busnum;
		r->before[i].devnum = v[i].devnum;
	}
	r->n_before = n;
	return EX_OK;
}

int detach_and_find(int fd, const struct dfu_dev_desc *rt, const struct dev_filter *user,
		    const struct detach_opts *o, int ro_why, struct dfu_dev_desc *out)
{
	struct refind r = { .rt = rt, .user = user, .o = o, .out = out };
	struct usb_dfu_info info;
	struct leftovers l = { &r, 0 };
	long long delay, total;
	__u32 timeout;
	int ret;

	r.cmd = o->cmd ? o->cmd : "detach";
	r.dfu_ids = user && user->n_ids == 2 &&
		    (user->wild[1] & (DEV_VID_ANY | DEV_PID_ANY)) != (DEV_VID_ANY | DEV_PID_ANY);
	if (ioctl(fd, USB_DFU_IOCTL_GET_INFO, &info))
		memset(&info, 0, sizeof(info));
	/* wValue: the time the device waits for the reset that follows */
	timeout = info.wDetachTimeOut ? info.wDetachTimeOut : DETACH_DEFAULT_MS;
	delay = o->delay_ms ? o->delay_ms : (long long)info.wDetachTimeOut + REENUM_MS;
	total = o->wait_ms == DEV_FOREVER ? DEV_FOREVER : o->wait_ms > delay ? o->wait_ms : delay;
	/* what is there before: nothing of it is the device in DFU mode */
	ret = dev_watch(snapshot, &r, 0);
	if (ret)
		return ret;
	if (ioctl(fd, USB_DFU_IOCTL_DETACH, &timeout)) {
		int err = errno;

		free(r.before);
		if (err == EINVAL) {
			fprintf(stderr, "dfuctl %s: %s is already in DFU mode\n", r.cmd, rt->node);
			return EX_USAGE;
		}
		return ctl_failed(rt, "detach", err, ro_why);
	}
	r.window_end = now_ms() + delay;
	ret = dev_watch(look, &r, total);
	/* found on another port: lock that one too before flashing it */
	if (ret == EX_OK) {
		ret = devlock_follow(out);
		if (ret)
			say("%s was detached: it stays in DFU mode as %s on USB port %s\n",
			    rt->node, out->node, out->usb_path);
	}
	if (ret == DEV_WATCH_TIMEOUT) {
		/* devices came, but nothing tied one to it: say which, and how to choose */
		if (dev_watch(look_left, &l, 0) > 0) {
			print_choose(&r);
			ret = EX_USAGE;
		} else {
			fprintf(stderr, "dfuctl %s: %s was detached but did not come back in DFU mode within %lld s; check dmesg and dfuctl list, or wait longer with --wait SECONDS\n",
				r.cmd, rt->node, (total + 999) / 1000);
			ret = EX_UNAVAILABLE;
		}
	}
	free(r.before);
	return ret;
}

int detach_and_wait(int fd, const struct dfu_dev_desc *rt, const struct dev_filter *user,
		    int ro_why, struct dfu_dev_desc *out)
{
	struct detach_opts o = { 0 };

	return detach_and_find(fd, rt, user, &o, ro_why, out);
}
