// SPDX-License-Identifier: GPL-2.0
/*
 * dfuctl - inspect and control a DFU interface through /dev/dfuN
 *
 *   dfuctl info|status|result|clear|abort|detach|reset [/dev/dfuN]
 *   dfuctl suffix add|remove|check FILE [options]
 *
 * Flashing needs no tool: cat firmware.bin > /dev/dfu0.
 * Exit codes follow sysexits.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sysexits.h>
#include <unistd.h>
#include <linux/usb/dfu.h>

#include "cmd_suffix.h"
#include "names.h"

static void usage(void)
{
	fputs("usage: dfuctl info|status|result|clear|abort|detach|reset [/dev/dfuN]\n"
	      "  info    descriptor fields of the DFU interface\n"
	      "  status  the device's DFU_GETSTATUS answer\n"
	      "  result  outcome of the last download or upload\n"
	      "  clear   leave dfuERROR (DFU_CLRSTATUS)\n"
	      "  abort   end a transfer, back to dfuIDLE (DFU_ABORT)\n"
	      "  detach  switch a run-time device to DFU mode (a new node appears)\n"
	      "  reset   USB reset, e.g. to start new firmware\n"
	      "  suffix  add, remove or check a file's DFU suffix (dfuctl suffix --help)\n"
	      "The node defaults to /dev/dfu0. To flash: cat firmware.bin > /dev/dfu0\n",
	      stderr);
}

static int open_node(const char *node)
{
	int fd = open(node, O_RDONLY);

	if (fd >= 0)
		return fd;
	if (errno == EACCES)
		fprintf(stderr, "dfuctl: %s: permission denied: run as root or join the group that owns the node\n",
			node);
	else if (errno == ENOENT)
		fprintf(stderr, "dfuctl: %s: no such device: is dfu.ko loaded and the device in DFU mode? (ls /sys/class/dfu)\n",
			node);
	else
		fprintf(stderr, "dfuctl: %s: %s\n", node, strerror(errno));
	return -1;
}

static int failed(const char *node, const char *what)
{
	fprintf(stderr, "dfuctl: %s: %s: %s\n", node, what, strerror(errno));
	return errno == ENODEV ? EX_UNAVAILABLE : EX_IOERR;
}

static int cmd_info(int fd, const char *node)
{
	struct dfu_info i;

	if (ioctl(fd, DFU_IOCTL_GET_INFO, &i))
		return failed(node, "DFU_IOCTL_GET_INFO");
	printf("device:        %04x:%04x bcdDevice %04x\n", i.idVendor, i.idProduct, i.bcdDevice);
	printf("mode:          %s\n", i.mode == DFU_MODE_DFU ? "DFU" : "run-time");
	printf("interface:     %u, alt setting %u of %u\n", i.bInterfaceNumber,
	       i.bAlternateSetting, i.bNumAltSettings);
	printf("DFU version:   %x.%02x\n", i.bcdDFUVersion >> 8, i.bcdDFUVersion & 0xff);
	printf("wTransferSize: %u bytes\n", i.wTransferSize);
	printf("detach:        %u ms\n", i.wDetachTimeOut);
	printf("bmAttributes:  0x%02x%s%s%s%s\n", i.bmAttributes,
	       i.bmAttributes & DFU_ATTR_CAN_DNLOAD ? " download" : "",
	       i.bmAttributes & DFU_ATTR_CAN_UPLOAD ? " upload" : "",
	       i.bmAttributes & DFU_ATTR_MANIFESTATION_TOLERANT ? " manifestation-tolerant" : "",
	       i.bmAttributes & DFU_ATTR_WILL_DETACH ? " will-detach" : "");
	return EX_OK;
}

static int cmd_status(int fd, const char *node)
{
	struct dfu_status s;

	if (ioctl(fd, DFU_IOCTL_GET_STATUS, &s))
		return failed(node, "DFU_IOCTL_GET_STATUS");
	printf("state %s, status %s, poll timeout %u ms, iString %u\n",
	       dfu_state_str(s.bState), dfu_status_str(s.bStatus), s.bwPollTimeout, s.iString);
	return EX_OK;
}

static int cmd_result(int fd, const char *node)
{
	struct dfu_result r;

	if (ioctl(fd, DFU_IOCTL_GET_RESULT, &r))
		return failed(node, "DFU_IOCTL_GET_RESULT");
	if (!r.error && !r.duration_us) {
		puts("no transfer yet");
		return EX_OK;
	}
	printf("%s: %llu bytes, %u blocks, %llu ms",
	       r.error ? strerror(-r.error) : "ok", (unsigned long long)r.bytes,
	       r.block, (unsigned long long)(r.duration_us / 1000));
	if (r.error)
		printf(", device %s (%s)", dfu_state_str(r.bState), dfu_status_str(r.bStatus));
	putchar('\n');
	return r.error ? EX_IOERR : EX_OK;
}

static int cmd_detach(int fd, const char *node)
{
	__u32 timeout = 0;	/* the driver picks min(wDetachTimeOut, 1000) */

	if (ioctl(fd, DFU_IOCTL_DETACH, &timeout)) {
		if (errno == EINVAL) {
			fprintf(stderr, "dfuctl: %s is already in DFU mode\n", node);
			return EX_USAGE;
		}
		return failed(node, "DFU_IOCTL_DETACH");
	}
	puts("detached: the device comes back in DFU mode as a new /dev/dfuN (ls /sys/class/dfu)");
	return EX_OK;
}

int main(int argc, char **argv)
{
	const char *node = argc > 2 ? argv[2] : "/dev/dfu0";
	unsigned long req = 0;
	int fd, ret;

	if (argc >= 2 && !strcmp(argv[1], "suffix"))
		return cmd_suffix(argc - 1, argv + 1);
	if (argc < 2 || argc > 3) {
		usage();
		return EX_USAGE;
	}
	if (strcmp(argv[1], "clear") == 0)
		req = DFU_IOCTL_CLR_STATUS;
	else if (strcmp(argv[1], "abort") == 0)
		req = DFU_IOCTL_ABORT;
	else if (strcmp(argv[1], "reset") == 0)
		req = DFU_IOCTL_RESET;
	else if (strcmp(argv[1], "info") && strcmp(argv[1], "status") &&
		 strcmp(argv[1], "result") && strcmp(argv[1], "detach")) {
		usage();
		return EX_USAGE;
	}
	fd = open_node(node);
	if (fd < 0)
		return errno == EACCES ? EX_NOPERM : EX_UNAVAILABLE;
	if (req)
		ret = ioctl(fd, req) ? failed(node, argv[1]) : EX_OK;
	else if (!strcmp(argv[1], "detach"))
		ret = cmd_detach(fd, node);
	else if (!strcmp(argv[1], "info"))
		ret = cmd_info(fd, node);
	else if (!strcmp(argv[1], "status"))
		ret = cmd_status(fd, node);
	else
		ret = cmd_result(fd, node);
	close(fd);
	return ret;
}
