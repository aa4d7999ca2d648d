// SPDX-License-Identifier: GPL-2.0
/*
 * cmd_flash.c - dfuctl flash IMAGE [NODE] [options], and
 * dfuctl flash IMAGE --all [--jobs N] [--json]: every matching device at
 * once, each in a child process running the single-device flash (fleet.h)
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "commands.h"
#include "devlock.h"
#include "file.h"
#include "flash.h"
#include "fleet.h"

/* Read the whole image; EX_NOINPUT with a message when it cannot be read. */
int load_image(const char *path, uint8_t **buf, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), err;

	if (fd < 0) {
		say("%s: %s\n", path, strerror(errno));
		return EX_NOINPUT;
	}
	err = file_load(fd, buf, len);
	close(fd);
	if (err) {
		say("%s: %s\n", path,
		    err == EINVAL ? "not a regular file" : strerror(err));
		return EX_NOINPUT;
	}
	return EX_OK;
}

/*
 * The devices --all takes: every node that passes f. Run-time ones are
 * taken too: with --detach they are detached and found again, as by a
 * single flash --detach; without it, their job refuses them (EX_USAGE,
 * named), as a single flash does. Returns how many (0 after a message:
 * *ret is set), *jobs malloc'ed.
 */
static int all_devices(const struct dev_filter *f, struct fleet_job **jobs, int *ret)
{
	struct dfu_dev_desc *v;
	int i, n, k = 0;

	*jobs = NULL;
	n = dev_list(&v);
	if (n < 0) {
		*ret = EX_OSERR;
		return 0;
	}
	for (i = 0; i < n; i++)
		if (dev_matches(&v[i], f))
			k++;
	if (k)
		*jobs = calloc((size_t)k, sizeof(**jobs));
	if (k && !*jobs) {
		say("out of memory for %d devices\n", k);
		free(v);
		*ret = EX_OSERR;
		return 0;
	}
	for (i = 0, k = 0; i < n; i++)
		if (dev_matches(&v[i], f))
			(*jobs)[k++].dev = v[i];
	free(v);
	if (!k) {
		say("no DFU device matches%s; plug them in, or see what is there with: dfuctl list\n",
		    f->serial || f->path || f->n_ids ? " the --serial, --path or --device given" : "");
		*ret = EX_UNAVAILABLE;
	}
	return k;
}

struct flash_all {
	const char *path;
	const uint8_t *img;
	size_t len;
	const struct flash_opts *o;
};

/*
 * One device of --all, in its own process: the single-device flash, with
 * the port lock, of exactly this node on this USB port (with this serial):
 * a device unplugged and replaced meanwhile is not flashed instead.
 */
static int flash_job(struct fleet_job *j, void *arg)
{
	const struct flash_all *a = arg;
	struct flash_opts o = *a->o;
	struct devlock lock;
	int ret;

	o.quiet = 1;		/* the parent shows the progress */
	o.filter.node = j->dev.node;
	o.filter.path = j->dev.usb_path;
	o.filter.serial = *j->dev.serial ? j->dev.serial : NULL;
	ret = devlock_flash(&o.filter, &lock);
	if (!ret)
		ret = flash_image(a->path, a->img, a->len, &o);
	devlock_release(&lock);
	return ret;
}

/* dfuctl flash IMAGE --all: see fleet.h */
static int flash_all(const char *path, const uint8_t *img, size_t len, const struct flash_opts *o,
		     const struct fleet_opts *fo)
{
	struct flash_all a = { path, img, len, o };
	struct fleet_job *jobs;
	int n, ret = EX_OK, i;

	n = all_devices(&o->filter, &jobs, &ret);
	if (!n)
		return ret;
	ret = fleet_run(jobs, n, fo, flash_job, &a);
	for (i = 0; i < n; i++) {
		while (jobs[i].n_msgs)
			free(jobs[i].msgs[--jobs[i].n_msgs]);
		free(jobs[i].msgs);
	}
	free(jobs);
	return ret;
}

int cmd_flash(int argc, char **argv)
{
	struct devlock lock;
	static const struct option opts[] = {
		{ "alt", required_argument, 0, 'a' },
		{ "detach", no_argument, 0, 'd' },
		{ "verify", no_argument, 0, 'v' },
		{ "quiet", no_argument, 0, 'q' },
		{ "require-suffix", no_argument, 0, 'r' },
		{ "address", required_argument, 0, 'A' },
		{ "stay", no_argument, 0, 's' },
		{ "timeout", required_argument, 0, 't' },
		{ "reset", no_argument, 0, 'R' },
		{ "all", no_argument, 0, 'L' },
		{ "jobs", required_argument, 0, 'j' },
		{ "json", no_argument, 0, 'J' },
		DETACH_OPTIONS, SELECT_OPTIONS, { 0 }
	};
	struct fleet_opts fo = { .done_word = "flashed" };
	struct flash_opts o = { 0 };
	int c, ret, all = 0, jobs_given = 0;
	uint8_t *img;
	size_t len;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'a': o.alt = optarg; break;
		case 'd': o.detach = 1; break;
		case 'v': o.verify = 1; break;
		case 'q': o.quiet = 1; break;
		case 'r': o.require_suffix = 1; break;
		case 's': o.stay = 1; break;
		case 'R': o.reset = 1; break;
		case 'L': all = 1; break;
		case 'J': fo.json = 1; break;
		case 'j': {
			uint64_t j;

			if (parse_number(optarg, 1024, &j) || !j)
				return usage_error("--jobs wants how many devices to flash at once, 1 to 1024");
			fo.jobs = (int)j;
			jobs_given = 1;
			break;
		}
		case 't': {
			uint64_t t;

			if (parse_number(optarg, 86400, &t) || !t)
				return usage_error("--timeout wants seconds, 1 to 86400");
			o.timeout_s = (int)t;
			break;
		}
		case 'A': {
			uint64_t a;

			if (parse_number(optarg, UINT32_MAX, &a))
				return usage_error("--address wants an address such as 0x08004000");
			o.address = (uint32_t)a;
			o.has_address = 1;
			break;
		}
		default:
			ret = detach_option(c, optarg, argc, argv, &o.find);
			if (ret == 1)
				ret = select_option(c, optarg, &o.filter);
			if (ret)
				return ret == 1 ? EX_USAGE : ret;
		}
	}
	if (argc - optind < 1 || argc - optind > 2)
		return usage_error("usage: dfuctl flash IMAGE [NODE | --all [--jobs N] [--json]] [--serial S] [--path P] [--device VID:PID[,VID:PID]] [--alt N|NAME] [--address ADDR] [--stay] [--detach [--dfu-serial S] [--detach-delay SECONDS]] [--wait [SECONDS]] [--reset] [--verify] [--require-suffix] [--timeout SECONDS] [--quiet]");
	if ((o.find.dfu_serial || o.find.delay_ms) && !o.detach)
		return usage_error("--dfu-serial and --detach-delay say how to find the device after --detach: add --detach");
	if (!all && (jobs_given || fo.json))
		return usage_error("--jobs and --json go with --all (flash every matching device at once)");
	if (all && argc - optind > 1)
		return usage_error("--all flashes every matching DFU device: give no NODE (--serial, --path and --device narrow the choice)");
	if (all && o.find.wait_ms)
		return usage_error("--all flashes the devices that are there when it starts: --wait does not combine with it");
	if (all && o.find.dfu_serial)
		return usage_error("--dfu-serial names one device's serial in DFU mode: it does not combine with --all");
	o.find.cmd = "flash";
	o.filter.node = argv[optind + 1];
	ret = load_image(argv[optind], &img, &len);
	if (ret)
		return ret;
	if (all) {
		fo.quiet = o.quiet;
		ret = flash_all(argv[optind], img, len, &o, &fo);
		free(img);
		return ret;
	}
	/* one writer per USB port: the recovery service steps aside (devlock.h) */
	ret = devlock_flash(&o.filter, &lock);
	if (!ret)
		ret = flash_image(argv[optind], img, len, &o);
	devlock_release(&lock);
	free(img);
	return ret;
}
