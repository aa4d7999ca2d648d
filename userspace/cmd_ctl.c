// SPDX-License-Identifier: GPL-2.0
/*
 * cmd_ctl.c - dfuctl info|status|result|clear|abort|detach|reset: one
 * ioctl on one node. clear, abort, detach and reset change the device's
 * state: the driver wants the node opened for writing for them.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sysexits.h>
#include <unistd.h>
#include <linux/usb/dfu.h>

#include "apple.h"
#include "commands.h"
#include "detach.h"
#include "dfuse.h"
#include "names.h"

static int failed(const char *node, const char *what)
{
	int err = errno;

	say("%s: %s: %s\n", node, what, strerror(err));
	return errno_exit(err);
}

static const char *commit_str(unsigned int policy)
{
	switch (policy) {
	case USB_DFU_COMMIT_CLOSE:
		return "close";
	case USB_DFU_COMMIT_SUFFIX:
		return "suffix";
	case USB_DFU_COMMIT_EXPLICIT:
		return "explicit";
	default:
		return "unknown";
	}
}

static int do_info(int fd, const struct dfu_dev_desc *d)
{
	static struct dfuse_zone z[DFUSE_MAX_ZONES];
	const char *node = d->node;
	struct usb_dfu_info i;
	int nz;

	if (ioctl(fd, USB_DFU_IOCTL_GET_INFO, &i))
		return failed(node, "USB_DFU_IOCTL_GET_INFO");
	printf("device:        %04x:%04x bcdDevice %04x\n", i.idVendor, i.idProduct, i.bcdDevice);
	printf("mode:          %s\n", i.mode == USB_DFU_MODE_DFU ? "DFU" : "run-time");
	printf("interface:     %u, alt setting %u of %u\n", i.bInterfaceNumber,
	       i.bAlternateSetting, i.bNumAltSettings);
	printf("DFU version:   %x.%02x\n", i.bcdDFUVersion >> 8, i.bcdDFUVersion & 0xff);
	printf("wTransferSize: %u bytes\n", i.wTransferSize);
	printf("detach:        %u ms\n", i.wDetachTimeOut);
	printf("commit:        %s (the default of new opens: sysfs attribute commit)\n",
	       commit_str(i.commit));
	printf("bmAttributes:  0x%02x%s%s%s%s\n", i.bmAttributes,
	       i.bmAttributes & USB_DFU_ATTR_CAN_DNLOAD ? " download" : "",
	       i.bmAttributes & USB_DFU_ATTR_CAN_UPLOAD ? " upload" : "",
	       i.bmAttributes & USB_DFU_ATTR_MANIFESTATION_TOLERANT ? " manifestation-tolerant" : "",
	       i.bmAttributes & USB_DFU_ATTR_WILL_DETACH ? " will-detach" : "");
	printf("dialect:       %s\n", i.dialect == USB_DFU_DIALECT_DFUSE ? "ST DfuSe" :
	       i.dialect == USB_DFU_DIALECT_APPLE ? "Apple SecureROM (DFU mode)" : "DFU");
	if (i.dialect == USB_DFU_DIALECT_APPLE) {
		struct apple_id id;
		char line[256];

		apple_parse_serial(d->serial, &id);
		printf("apple:         Apple device in DFU mode: %s\n",
		       apple_id_str(&id, line, sizeof(line)));
		printf("serial:        %s\n", d->serial);
		printf("note:          the ROM boots only images signed for this device (its ECID); it has no upload and no detach\n");
		return EX_OK;
	}
	if (i.dialect != USB_DFU_DIALECT_DFUSE && !d->dfuse)
		return EX_OK;
	printf("leave:         %s (sysfs dfuse_leave)\n", d->dfuse_leave == 0 ?
	       "no: the device stays in DFU mode after a flash" :
	       "yes: the device runs its firmware after a flash");
	printf("memory map:\n");
	nz = dfuse_dev_map(d, z, DFUSE_MAX_ZONES);
	if (nz < 0)
		return EX_UNAVAILABLE;
	dfuse_print_zones(stdout, "  ", z, (size_t)nz, -1);
	return EX_OK;
}

static int do_status(int fd, const char *node)
{
	struct usb_dfu_status s;

	if (ioctl(fd, USB_DFU_IOCTL_GET_STATUS, &s))
		return failed(node, "USB_DFU_IOCTL_GET_STATUS");
	printf("state %s, status %s, poll timeout %u ms, iString %u\n",
	       dfu_state_str(s.bState), dfu_status_str(s.bStatus), s.bwPollTimeout, s.iString);
	return EX_OK;
}

static int do_result(int fd, const char *node)
{
	struct usb_dfu_result r;
	const char *what;

	if (ioctl(fd, USB_DFU_IOCTL_GET_RESULT, &r))
		return failed(node, "USB_DFU_IOCTL_GET_RESULT");
	what = r.flags & USB_DFU_RESULT_UPLOAD ? "upload" : "download";
	if (!r.error && !r.duration_us && !r.flags) {
		puts("no transfer yet");
		return EX_OK;
	}
	if (r.error)
		printf("%s failed: %s", what, strerror(-r.error));
	else if (r.flags & USB_DFU_RESULT_UNVERIFIED)
		printf("%s: sent, but the device did not confirm manifestation (it is not manifestation tolerant)",
		       what);
	else
		printf("%s: ok", what);
	printf(": %llu bytes, %u blocks, %llu ms", (unsigned long long)r.bytes, r.block,
	       (unsigned long long)(r.duration_us / 1000));
	if (r.flags & USB_DFU_RESULT_SUFFIX)
		printf(", DFU suffix checked and not sent");
	if (r.error)
		printf(", device %s (%s)", dfu_state_str(r.bState), dfu_status_str(r.bStatus));
	putchar('\n');
	return r.error ? EX_IOERR : EX_OK;
}

static int do_detach(int fd, struct dfu_dev_desc *d, const struct dev_filter *f,
		     const struct detach_opts *o, int ro_why)
{
	struct dfu_dev_desc dfu;
	int ret;

	if (dev_read_dialect(d) == USB_DFU_DIALECT_APPLE) {
		say("%s is an Apple device in DFU mode already, and its ROM has no DFU_DETACH: it leaves DFU mode only by booting an image (dfuctl flash IMAGE %s), or when the device is restarted (its button sequence)\n",
		    d->node, d->node);
		return EX_USAGE;
	}
	ret = detach_and_find(fd, d, f, o, ro_why, &dfu);

	if (ret == EX_OK)
		printf("%s is in DFU mode now as %s\n", d->node, dfu.node);
	return ret;
}

static const struct {
	const char *name;
	unsigned long req;	/* an ioctl without argument, or 0 */
	int control;		/* changes the device's state: needs write access */
} cmds[] = {
	{ "info", 0, 0 }, { "status", 0, 0 }, { "result", 0, 0 }, { "detach", 0, 1 },
	{ "clear", USB_DFU_IOCTL_CLR_STATUS, 1 }, { "abort", USB_DFU_IOCTL_ABORT, 1 },
	{ "reset", USB_DFU_IOCTL_RESET, 1 },
};

int cmd_ctl(int argc, char **argv)
{
	static const struct option opts[] = { DETACH_OPTIONS, SELECT_OPTIONS, { 0 } };
	const char *name = argv[0];
	struct detach_opts dopts = { .cmd = "detach" };
	struct dev_filter f = { 0 };
	struct dfu_dev_desc d;
	unsigned int i;
	int c, fd, ret, ro_why = 0;

	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(name, cmds[i].name))
			break;
	if (i == sizeof(cmds) / sizeof(cmds[0]))
		return usage_error("unknown command");
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		ret = detach_option(c, optarg, argc, argv, &dopts);
		/* --wait for every command; the others only find a detached device */
		if (!ret && c != DETACH_OPT_WAIT && strcmp(name, "detach"))
			return usage_error("--dfu-serial and --detach-delay are for dfuctl detach and dfuctl flash --detach");
		if (ret == 1)
			ret = select_option(c, optarg, &f);
		if (ret)
			return ret == 1 ? EX_USAGE : ret;
	}
	if (argc - optind > 1)
		return usage_error("one device node at most");
	f.node = argv[optind];
	ret = dev_select_wait(&f, dopts.wait_ms, &d);
	if (ret)
		return ret;
	/* ABORT, CLR_STATUS, DETACH and RESET need a file opened for writing */
	if (cmds[i].control)
		fd = open_ctl(&d, &ro_why, &ret);
	else
		fd = open_dev(&d, O_RDONLY, &ret);
	if (fd < 0)
		return ret;
	if (cmds[i].req) {
		ret = ioctl(fd, cmds[i].req) ? ctl_failed(&d, name, errno, ro_why) : EX_OK;
		if (!ret && cmds[i].req == USB_DFU_IOCTL_ABORT &&
		    dev_read_dialect(&d) == USB_DFU_DIALECT_APPLE)
			fprintf(stderr, "%s: DFU_ABORT ended the Apple ROM's DFU session: the device leaves the bus and comes back in DFU mode as a new node (dfuctl list)\n",
				d.node);
	} else if (!strcmp(name, "info"))
		ret = do_info(fd, &d);
	else if (!strcmp(name, "status"))
		ret = do_status(fd, d.node);
	else if (!strcmp(name, "result"))
		ret = do_result(fd, d.node);
	else
		ret = do_detach(fd, &d, &f, &dopts, ro_why);
	close(fd);
	return ret;
}
