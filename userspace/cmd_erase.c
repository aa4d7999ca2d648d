// SPDX-License-Identifier: GPL-2.0
/*
 * cmd_erase.c - the DfuSe commands without data:
 *   dfuctl erase [NODE] [--alt N|NAME] [--address A --length L | --mass]
 *   dfuctl unprotect [NODE] --yes
 * Each is one or a few ioctls on the node opened for writing; the sectors
 * come from the memory map the driver shows in sysfs (dfuse_map).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sysexits.h>
#include <unistd.h>
#include <linux/usb/dfu.h>

#include "commands.h"
#include "dfuse.h"

#define ERASE_USAGE "usage: dfuctl erase [NODE] [--alt N|NAME] [--address ADDR --length BYTES | --mass] [--serial S] [--path P] [--device VID:PID]"
#define UNPROTECT_USAGE "usage: dfuctl unprotect [NODE] --yes [--serial S] [--path P] [--device VID:PID]"

static const char *erase_hint(int err)
{
	switch (err) {
	case EACCES:
		return "the device is read-protected: 'dfuctl unprotect --yes' removes the protection (and wipes the chip)";
	case EPERM:
		return "this needs the node open for writing: see that no other program has it open (fuser -v NODE), or run as root";
	case EIO:
		return "the device reported an error: see dfuctl status and dmesg, then try again";
	case EINVAL:
		return "the range leaves the alt's memory: see the map with dfuctl info";
	case EOPNOTSUPP:
	case ENOTTY:
		return "the loaded dfu.ko does not speak DfuSe to this device: load the dfu.ko that comes with this dfuctl";
	case ENODEV:
		return "the device is gone (unplugged or reset); see dfuctl list";
	case ETIMEDOUT:
		return "the device did not finish in time (the module parameter busy_timeout_ms): replug it and try again";
	case EBUSY:
		return "a transfer is in progress: wait for it to end";
	default:
		return "see dmesg";
	}
}

static int failed(const struct dfu_dev_desc *d, const char *what, int err)
{
	say("%s: %s: %s: %s\n", d->node, what, strerror(err), erase_hint(err));
	return err == ENOTTY ? EX_UNAVAILABLE : errno_exit(err);
}

/* Choose the device; it must be a DfuSe one. */
static int select_dfuse(const struct dev_filter *f, const char *cmd, struct dfu_dev_desc *d)
{
	int ret = dev_select(f, d);

	if (ret)
		return ret;
	if (!d->dfuse) {
		say("%s: %s is a DfuSe command, and %04x:%04x is a plain DFU device (no memory map in sysfs dfuse_map): a plain DFU device erases what a new image replaces by itself\n",
		    d->node, cmd, d->vid, d->pid);
		return EX_USAGE;
	}
	return EX_OK;
}

/* Erase [address, address + length) with one ioctl; prints what it did. */
static int erase_range(int fd, const struct dfu_dev_desc *d, uint32_t address, uint64_t length,
		       const char *what)
{
	struct usb_dfu_dfuse_erase e = { .address = address, .length = (__u32)length };

	say("erasing 0x%08x-0x%08llx %s\n", address,
	    (unsigned long long)address + length - 1, what);
	if (ioctl(fd, USB_DFU_IOCTL_DFUSE_ERASE, &e))
		return failed(d, "USB_DFU_IOCTL_DFUSE_ERASE", errno);
	return EX_OK;
}

int cmd_erase(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "alt", required_argument, 0, 'a' },
		{ "address", required_argument, 0, 'A' },
		{ "length", required_argument, 0, 'L' },
		{ "mass", no_argument, 0, 'm' },
		SELECT_OPTIONS, { 0 }
	};
	static struct dfuse_zone z[DFUSE_MAX_ZONES];
	const char *alt_arg = NULL;
	struct dev_filter f = { 0 };
	struct dfu_dev_desc d;
	uint64_t address = 0, length = 0, bad;
	int c, ret, fd, nz, i, mass = 0, has_address = 0, has_length = 0, zone, n = 0;
	long alt;
	__u32 v;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'a': alt_arg = optarg; break;
		case 'm': mass = 1; break;
		case 'A':
			if (parse_number(optarg, UINT32_MAX, &address))
				return usage_error("--address wants an address such as 0x08004000");
			has_address = 1;
			break;
		case 'L':
			if (parse_number(optarg, UINT32_MAX, &length) || !length)
				return usage_error("--length wants a number of bytes, 1 to 0xffffffff");
			has_length = 1;
			break;
		default:
			ret = select_option(c, optarg, &f);
			if (ret)
				return ret == 1 ? EX_USAGE : ret;
		}
	}
	if (argc - optind > 1)
		return usage_error(ERASE_USAGE);
	if (has_address != has_length)
		return usage_error("--address and --length go together: the range to erase");
	if (mass && (has_address || alt_arg))
		return usage_error("--mass erases all of the flash: without --address, --length or --alt");
	f.node = argv[optind];
	ret = select_dfuse(&f, "erase", &d);
	if (ret)
		return ret;
	nz = dfuse_dev_map(&d, z, DFUSE_MAX_ZONES);
	if (nz < 0)
		return EX_UNAVAILABLE;
	alt = alt_arg ? dev_find_alt(d.alt_names, alt_arg) : (long)d.alt;
	if (alt < 0) {
		say("%s has no alt setting '%s'; it has:\n%s", d.node, alt_arg,
		    d.alt_names);
		return EX_USAGE;
	}
	if (has_address && !dfuse_map_covers(z, (size_t)nz, (unsigned int)alt, (uint32_t)address,
					     length, 0, &bad, &zone)) {
		say("%s: 0x%08llx-0x%08llx leaves alt %ld's memory at 0x%08llx; nothing was erased. Alt %ld's memory:\n",
		    d.node, (unsigned long long)address,
		    (unsigned long long)(address + length - 1), alt, (unsigned long long)bad, alt);
		dfuse_print_zones(stderr, "  ", z, (size_t)nz, (int)alt);
		return EX_DATAERR;
	}
	if (!mass && !has_address) {
		for (i = 0; i < nz; i++)
			n += z[i].alt == (unsigned long)alt && (z[i].perms & DFUSE_PERM_ERASE);
		if (!n) {
			say("%s: alt %ld has no erasable memory; its map:\n", d.node,
			    alt);
			dfuse_print_zones(stderr, "  ", z, (size_t)nz, (int)alt);
			return EX_USAGE;
		}
	}
	fd = open_dev(&d, O_WRONLY, &ret);
	if (fd < 0)
		return ret;
	if (mass) {
		v = USB_DFU_DFUSE_MASS_ERASE_CONFIRM;
		say("a mass erase of all of the flash (this takes up to a minute)\n");
		if (ioctl(fd, USB_DFU_IOCTL_DFUSE_MASS_ERASE, &v))
			ret = failed(&d, "USB_DFU_IOCTL_DFUSE_MASS_ERASE", errno);
		goto out;
	}
	v = (__u32)alt;
	if (ioctl(fd, USB_DFU_IOCTL_SET_ALT, &v)) {
		ret = failed(&d, "selecting the alt setting", errno);
		goto out;
	}
	if (has_address) {
		ret = erase_range(fd, &d, (uint32_t)address, length,
				  "(every erasable sector it touches)");
		goto out;
	}
	for (i = 0; i < nz && !ret; i++) {
		char what[DFUSE_ZONE_NAME_LEN + 64];

		if (z[i].alt != (unsigned long)alt || !(z[i].perms & DFUSE_PERM_ERASE))
			continue;
		snprintf(what, sizeof(what), "%s, %u sector%s of %u bytes", z[i].name, z[i].count,
			 z[i].count == 1 ? "" : "s", z[i].size);
		ret = erase_range(fd, &d, z[i].start, dfuse_zone_end(&z[i]) - z[i].start, what);
	}
out:
	close(fd);
	if (!ret)
		say("%s: erased\n", d.node);
	return ret;
}

int cmd_unprotect(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "yes", no_argument, 0, 'y' },
		SELECT_OPTIONS, { 0 }
	};
	struct dev_filter f = { 0 };
	struct dfu_dev_desc d;
	int c, ret, fd, yes = 0;
	__u32 v = USB_DFU_DFUSE_UNPROTECT_CONFIRM;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'y') {
			yes = 1;
			continue;
		}
		ret = select_option(c, optarg, &f);
		if (ret)
			return ret == 1 ? EX_USAGE : ret;
	}
	if (argc - optind > 1)
		return usage_error(UNPROTECT_USAGE);
	if (!yes) {
		say("unprotect removes the device's read protection, and to do so the device ERASES ALL OF ITS FLASH (firmware and data) and resets its option bytes; it then resets and comes back as a new node. Nothing was sent. If that is what you want: dfuctl unprotect --yes%s%s\n",
		    argv[optind] ? " " : "", argv[optind] ? argv[optind] : "");
		return EX_USAGE;
	}
	f.node = argv[optind];
	ret = select_dfuse(&f, "unprotect", &d);
	if (ret)
		return ret;
	fd = open_dev(&d, O_WRONLY, &ret);
	if (fd < 0)
		return ret;
	if (ioctl(fd, USB_DFU_IOCTL_DFUSE_UNPROTECT, &v))
		ret = failed(&d, "USB_DFU_IOCTL_DFUSE_UNPROTECT", errno);
	close(fd);
	if (!ret)
		fprintf(stderr, "%s: read protection removed: the device wiped its flash and resets; it comes back as a new node (dfuctl list)\n",
			d.node);
	return ret;
}
