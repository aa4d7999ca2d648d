// SPDX-License-Identifier: GPL-2.0
/*
 * cmd_upload.c - dfuctl upload FILE [NODE] [options]: back up what the
 * device holds
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>
#include <linux/usb/dfu.h>

#include "commands.h"
#include "progress.h"

#define UPLOAD_CHUNK	(64 * 1024)

static int copy_out(int in, int out, const char *node, unsigned long long limit, int quiet)
{
	static unsigned char buf[UPLOAD_CHUNK];
	unsigned long long done = 0;
	struct progress p;

	progress_start(&p, "upload", limit ? limit : 0, quiet || !limit);
	while (!limit || done < limit) {
		size_t want = limit && limit - done < sizeof(buf) ? limit - done : sizeof(buf);
		ssize_t n = read(in, buf, want);

		if (n < 0) {
			int err = errno;

			fprintf(stderr, "\ndfuctl: %s: upload failed after %llu bytes: %s\n", node,
				done, strerror(err));
			return errno_exit(err);
		}
		if (!n)
			break;
		for (ssize_t w, off = 0; off < n; off += w) {
			w = write(out, buf + off, n - off);
			if (w < 0) {
				fprintf(stderr, "\ndfuctl: writing the backup: %s\n", strerror(errno));
				return EX_IOERR;
			}
		}
		done += (unsigned long long)n;
		progress_update(&p, done);
	}
	progress_end(&p, done);
	return EX_OK;
}

int cmd_upload(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "alt", required_argument, 0, 'a' },
		{ "size", required_argument, 0, 'z' },
		{ "quiet", no_argument, 0, 'q' },
		SELECT_OPTIONS, { 0 }
	};
	struct dev_filter f = { 0 };
	uint64_t limit = 0;
	const char *alt = NULL;
	struct dfu_dev_desc d;
	int c, ret, in, out, quiet = 0;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'a': alt = optarg; break;
		case 'q': quiet = 1; break;
		case 'z':
			if (parse_number(optarg, UINT64_MAX, &limit) || !limit)
				return usage_error("--size wants a number of bytes");
			break;
		default:
			ret = select_option(c, optarg, &f);
			if (ret)
				return ret == 1 ? EX_USAGE : ret;
		}
	}
	if (argc - optind < 1 || argc - optind > 2)
		return usage_error("usage: dfuctl upload FILE [NODE] [--size BYTES] [--alt N|NAME] [--quiet] [--serial S] [--path P] [--device VID:PID]");
	f.node = argv[optind + 1];
	ret = dev_select(&f, &d);
	if (ret)
		return ret;
	if (dev_read_dialect(&d) == USB_DFU_DIALECT_APPLE) {
		fprintf(stderr, "dfuctl: %s is an Apple device in DFU mode: its ROM has no upload (it only takes an image to boot, with dfuctl flash); nothing was read and %s was not created\n",
			d.node, argv[optind]);
		return EX_UNAVAILABLE;
	}
	in = open_dev(&d, O_RDONLY, &ret);
	if (in < 0)
		return ret;
	if (alt && (ret = set_alt(in, &d, alt))) {
		close(in);
		return ret;
	}
	/* never overwrite: a backup may be the only copy of the old firmware */
	out = open(argv[optind], O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (out < 0) {
		fprintf(stderr, "dfuctl: %s: %s%s\n", argv[optind], strerror(errno),
			errno == EEXIST ? ": choose a new file name, a backup is never overwritten" : "");
		close(in);
		return EX_CANTCREAT;
	}
	ret = copy_out(in, out, d.node, limit, quiet);
	close(in);
	if (close(out) && !ret) {
		fprintf(stderr, "dfuctl: %s: %s\n", argv[optind], strerror(errno));
		ret = EX_IOERR;
	}
	if (ret)
		unlink(argv[optind]);
	return ret;
}
