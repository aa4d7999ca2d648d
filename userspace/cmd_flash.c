// SPDX-License-Identifier: GPL-2.0
/*
 * cmd_flash.c - dfuctl flash IMAGE [NODE] [options]
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
		DETACH_OPTIONS, SELECT_OPTIONS, { 0 }
	};
	struct flash_opts o = { 0 };
	uint8_t *img;
	size_t len;
	int c, ret;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'a': o.alt = optarg; break;
		case 'd': o.detach = 1; break;
		case 'v': o.verify = 1; break;
		case 'q': o.quiet = 1; break;
		case 'r': o.require_suffix = 1; break;
		case 's': o.stay = 1; break;
		case 'R': o.reset = 1; break;
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
		return usage_error("usage: dfuctl flash IMAGE [NODE] [--serial S] [--path P] [--device VID:PID[,VID:PID]] [--alt N|NAME] [--address ADDR] [--stay] [--detach [--dfu-serial S] [--detach-delay SECONDS]] [--wait [SECONDS]] [--reset] [--verify] [--require-suffix] [--timeout SECONDS] [--quiet]");
	if ((o.find.dfu_serial || o.find.delay_ms) && !o.detach)
		return usage_error("--dfu-serial and --detach-delay say how to find the device after --detach: add --detach");
	o.find.cmd = "flash";
	o.filter.node = argv[optind + 1];
	ret = load_image(argv[optind], &img, &len);
	if (ret)
		return ret;
	/* one writer per USB port: the recovery service steps aside (devlock.h) */
	ret = devlock_flash(&o.filter, &lock);
	if (!ret)
		ret = flash_image(argv[optind], img, len, &o);
	devlock_release(&lock);
	free(img);
	return ret;
}
