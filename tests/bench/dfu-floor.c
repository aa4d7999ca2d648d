// SPDX-License-Identifier: GPL-2.0
/*
 * dfu-floor: the floor of a DFU 1.1 transfer, the simplest possible host:
 * a loop of USBDEVFS_CONTROL requests on the device's usbfs node, with the
 * interface claimed (no kernel driver may hold it), no library, no
 * checks beyond the state the device reports, nothing but the requests.
 *
 * dfu-floor [--wait] download NODE INTF XFER FILE
 *	FILE (read before the clock starts) in DFU_DNLOAD blocks of XFER
 *	bytes, each followed by DFU_GETSTATUS until dfuDNLOAD-IDLE, then the
 *	zero-length DFU_DNLOAD and DFU_GETSTATUS through manifestation until
 *	dfuIDLE (or dfuMANIFEST-WAIT-RESET). Without --wait every
 *	DFU_GETSTATUS follows the last reply at once, whatever bwPollTimeout
 *	it gave (a device still busy answers dfuDNBUSY again: "early");
 *	with --wait the loop sleeps each bwPollTimeout the device asks for
 *	(clock_nanosleep to an absolute time, as dfu.ko does), counted from
 *	the reply.
 * dfu-floor upload NODE INTF XFER FILE
 *	DFU_UPLOAD blocks of XFER bytes until a short one, then FILE is
 *	written (after the clock stops).
 * NODE is /dev/bus/usb/BBB/DDD. Prints one line:
 *	floor OP total_us=T requests=R blocks=B busy=N early=E
 *	poll_ms=P slept_us=S bytes=N
 * poll_ms: the sum of the bwPollTimeouts the device asked for (those of
 * the replies that entered dfuDNBUSY or dfuMANIFEST, not the early ones);
 * slept_us: the time spent sleeping them (--wait). Exit 0, or 1 with a
 * message when a request fails or the device reports an error.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/usbdevice_fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

enum { DNLOAD = 1, UPLOAD = 2, GETSTATUS = 3 };
enum { S_IDLE = 2, S_DNBUSY = 4, S_DNLOAD_IDLE = 5, S_MANIFEST = 7,
	S_MANIFEST_WAIT_RESET = 8, S_ERROR = 10 };

static int fd, intf, wait_polls;
static long long requests, busy, early, poll_ms, slept_ns;

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int ctrl(int in, int req, int value, void *data, int len)
{
	struct usbdevfs_ctrltransfer c = {
		.bRequestType = (in ? 0x80 : 0) | 0x21,
		.bRequest = req,
		.wValue = value,
		.wIndex = intf,
		.wLength = len,
		.timeout = 5000,
		.data = data,
	};
	int ret = ioctl(fd, USBDEVFS_CONTROL, &c);

	requests++;
	if (ret < 0) {
		fprintf(stderr, "dfu-floor: request %d (wValue %d): %s\n", req, value,
			strerror(errno));
		exit(1);
	}
	return ret;
}

/* DFU_GETSTATUS until the device is in @want (or @want2); returns it */
static int status_until(int want, int want2)
{
	unsigned char st[6];
	int prev = -1;

	for (;;) {
		long long t, until;
		unsigned int p;

		if (ctrl(1, GETSTATUS, 0, st, 6) != 6) {
			fprintf(stderr, "dfu-floor: short DFU_GETSTATUS\n");
			exit(1);
		}
		t = now_ns();
		p = st[1] | st[2] << 8 | st[3] << 16;
		if (st[4] == S_ERROR || st[0] != 0) {
			fprintf(stderr, "dfu-floor: the device says bStatus %d, bState %d\n",
				st[0], st[4]);
			exit(1);
		}
		if (st[4] == want || st[4] == want2)
			return st[4];
		if (st[4] == S_DNBUSY)
			busy++;
		if ((st[4] == S_DNBUSY || st[4] == S_MANIFEST) && st[4] == prev) {
			early++;	/* asked again before it was done */
		} else if (st[4] == S_DNBUSY || st[4] == S_MANIFEST) {
			poll_ms += p;
			if (wait_polls && p) {
				struct timespec ts;

				until = t + p * 1000000LL;
				ts.tv_sec = until / 1000000000LL;
				ts.tv_nsec = until % 1000000000LL;
				while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL))
					;
				slept_ns += now_ns() - t;
			}
		}
		prev = st[4];
	}
}

int main(int argc, char **argv)
{
	long long t0, t1, blocks = 0, bytes = 0;
	unsigned char *buf = NULL;
	size_t len = 0, cap = 0;
	const char *op, *file;
	int xfer, claim, up;
	FILE *f;

	if (argc > 1 && !strcmp(argv[1], "--wait")) {
		wait_polls = 1;
		argv++;
		argc--;
	}
	if (argc != 6 || (strcmp(argv[1], "download") && strcmp(argv[1], "upload"))) {
		fprintf(stderr, "usage: dfu-floor [--wait] download|upload NODE INTF XFER FILE\n");
		return 64;
	}
	op = argv[1];
	up = !strcmp(op, "upload");
	intf = atoi(argv[3]);
	xfer = atoi(argv[4]);
	file = argv[5];
	if (xfer < 1 || xfer > 65535) {
		fprintf(stderr, "dfu-floor: XFER 1..65535\n");
		return 64;
	}
	fd = open(argv[2], O_RDWR);
	if (fd < 0) {
		perror(argv[2]);
		return 1;
	}
	claim = intf;
	if (ioctl(fd, USBDEVFS_CLAIMINTERFACE, &claim) < 0) {
		fprintf(stderr, "dfu-floor: claim interface %d: %s (is dfu.ko bound?)\n",
			intf, strerror(errno));
		return 1;
	}
	if (!up) {
		f = fopen(file, "r");
		if (!f) {
			perror(file);
			return 1;
		}
		for (;;) {
			size_t n;

			if (len == cap) {
				cap = cap ? 2 * cap : 1 << 20;
				buf = realloc(buf, cap);
				if (!buf)
					return 71;
			}
			n = fread(buf + len, 1, cap - len, f);
			if (!n)
				break;
			len += n;
		}
		fclose(f);
		t0 = now_ns();
		while ((size_t)bytes < len) {
			int n = len - bytes < (size_t)xfer ? (int)(len - bytes) : xfer;

			ctrl(0, DNLOAD, blocks & 0xffff, buf + bytes, n);
			status_until(S_DNLOAD_IDLE, -1);
			bytes += n;
			blocks++;
		}
		ctrl(0, DNLOAD, blocks & 0xffff, NULL, 0);
		status_until(S_IDLE, S_MANIFEST_WAIT_RESET);
		t1 = now_ns();
	} else {
		t0 = now_ns();
		for (;;) {
			int n;

			if (cap - len < (size_t)xfer) {
				cap = cap ? 2 * cap : 1 << 20;
				buf = realloc(buf, cap);
				if (!buf)
					return 71;
			}
			n = ctrl(1, UPLOAD, blocks & 0xffff, buf + len, xfer);
			len += n;
			blocks++;
			if (n < xfer)
				break;
		}
		t1 = now_ns();
		bytes = len;
		f = fopen(file, "w");
		if (!f || fwrite(buf, 1, len, f) != len || fclose(f)) {
			perror(file);
			return 1;
		}
	}
	claim = intf;
	ioctl(fd, USBDEVFS_RELEASEINTERFACE, &claim);
	printf("floor %s total_us=%lld requests=%lld blocks=%lld busy=%lld early=%lld poll_ms=%lld slept_us=%lld bytes=%lld\n",
	       op, (t1 - t0) / 1000, requests, blocks, busy, early, poll_ms,
	       slept_ns / 1000, bytes);
	free(buf);
	return 0;
}
