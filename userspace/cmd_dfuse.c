// SPDX-License-Identifier: GPL-2.0
/*
 * cmd_dfuse.c - dfuctl dfuse pack OUT IN@ADDR... --device VID:PID: write
 * an ST DfuSe file (UM0391) from raw images, as dfu-util's dfuse-pack does.
 * The bytes come from dfuse_pack() (dfuse.c); this only reads the inputs
 * and writes the file.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "commands.h"
#include "dfuse.h"

#define PACK_USAGE "usage: dfuctl dfuse pack OUT.dfu IMAGE@ADDRESS... --device VID:PID [--alt N] [--name NAME] [--bcd-device BCD] [--image-size-with-suffix]"

/* A hex number of at most 4 digits (an ID), optionally with 0x. */
static int parse_id(const char *s, uint16_t *v)
{
	unsigned long n;
	char *end;

	if (!strncmp(s, "0x", 2) || !strncmp(s, "0X", 2))
		s += 2;
	if (!*s || strlen(s) > 4)
		return -1;
	n = strtoul(s, &end, 16);
	if (*end)
		return -1;
	*v = (uint16_t)n;
	return 0;
}

/* "VID:PID" in hex. */
static int parse_vid_pid(const char *s, uint16_t *vid, uint16_t *pid)
{
	char buf[16];
	const char *colon = strchr(s, ':');

	if (!colon || (size_t)(colon - s) >= sizeof(buf))
		return -1;
	memcpy(buf, s, (size_t)(colon - s));
	buf[colon - s] = 0;
	return parse_id(buf, vid) || parse_id(colon + 1, pid) ? -1 : 0;
}

/* Write len bytes to path through a temporary file renamed over it. */
static int write_out(const char *path, const uint8_t *buf, size_t len)
{
	size_t plen = strlen(path) + 16, done = 0;
	char *tmp = malloc(plen);
	int fd, err = 0;

	if (!tmp)
		return EX_OSERR;
	snprintf(tmp, plen, "%s.tmp%d", path, (int)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0) {
		say("%s: %s: check that its directory exists and is writable\n",
		    tmp, strerror(errno));
		free(tmp);
		return EX_CANTCREAT;
	}
	while (!err && done < len) {
		ssize_t n = write(fd, buf + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			err = errno;
		else
			done += (size_t)n;
	}
	if (close(fd) && !err)
		err = errno;
	if (!err && rename(tmp, path))
		err = errno;
	if (err) {
		say("%s: %s\n", path, strerror(err));
		unlink(tmp);
		free(tmp);
		return EX_IOERR;
	}
	free(tmp);
	return EX_OK;
}

static int pack(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "device", required_argument, 0, 'D' },
		{ "alt", required_argument, 0, 'a' },
		{ "name", required_argument, 0, 'n' },
		{ "bcd-device", required_argument, 0, 'b' },
		{ "image-size-with-suffix", no_argument, 0, 's' },
		{ 0 }
	};
	struct dfuse_pack_file f = { .bcd_device = 0xffff };
	struct dfuse_pack_target t = { 0 };
	struct dfuse_pack_element *el = NULL;
	uint8_t **data = NULL, *out = NULL;
	int c, i, n = 0, ret = EX_OK, have_device = 0;
	unsigned long alt;
	size_t len;
	char *end;
	enum dfuse_pack_err err;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'D':
			if (parse_vid_pid(optarg, &f.vid, &f.pid))
				return usage_error("--device wants VID:PID in hex, e.g. 0483:df11");
			have_device = 1;
			break;
		case 'a':
			alt = strtoul(optarg, &end, 10);
			if (!*optarg || *end || alt > 255)
				return usage_error("--alt wants the alt setting's number, 0 to 255");
			t.alt = (uint8_t)alt;
			break;
		case 'n':
			if (strlen(optarg) > DFUSE_NAME_LEN)
				return usage_error("--name has at most 255 bytes");
			t.name = optarg;
			break;
		case 'b':
			if (parse_id(optarg, &f.bcd_device))
				return usage_error("--bcd-device wants 4 hex digits, e.g. 0200 (ffff: any)");
			break;
		case 's':
			f.image_size_with_suffix = true;
			break;
		default:
			return usage_error(PACK_USAGE);
		}
	}
	if (argc - optind < 2)
		return usage_error(PACK_USAGE);
	if (!have_device)
		return usage_error("dfuse pack needs --device VID:PID: the DFU suffix names the device the file is for (dfu-util refuses a DfuSe file for other IDs)");
	n = argc - optind - 1;
	el = calloc((size_t)n, sizeof(*el));
	data = calloc((size_t)n, sizeof(*data));
	if (!el || !data) {
		ret = EX_OSERR;
		goto out;
	}
	for (i = 0; i < n; i++) {
		char *arg = argv[optind + 1 + i], *at = strrchr(arg, '@');
		uint64_t address;
		size_t size;

		if (!at || at == arg || parse_number(at + 1, UINT32_MAX, &address)) {
			say("'%s': each input is IMAGE@ADDRESS, e.g. fw.bin@0x08000000 (see dfuctl --help)\n",
			    arg);
			ret = EX_USAGE;
			goto out;
		}
		el[i].address = (uint32_t)address;
		*at = 0;
		ret = load_image(arg, &data[i], &size);
		*at = '@';
		if (ret)
			goto out;
		if (!size || size > UINT32_MAX) {
			say("%.*s: %s: pick the firmware image\n", (int)(at - arg), arg,
			    size ? "larger than 4 GiB" : "empty file");
			ret = EX_DATAERR;
			goto out;
		}
		el[i].size = (uint32_t)size;
		el[i].data = data[i];
	}
	t.n_elements = (uint32_t)n;
	t.elements = el;
	f.n_targets = 1;
	f.targets = &t;
	err = dfuse_pack(&f, NULL, 0, &len);
	if (!err) {
		out = malloc(len);
		err = out ? dfuse_pack(&f, out, len, &len) : DFUSE_PACK_SPACE;
	}
	if (err) {
		say("pack: %s\n", dfuse_pack_strerror(err));
		ret = err == DFUSE_PACK_SPACE ? EX_OSERR : EX_DATAERR;
		goto out;
	}
	ret = write_out(argv[optind], out, len);
	if (!ret)
		printf("%s: DfuSe file for %04x:%04x, alt %u, %d element%s, %zu bytes\n", argv[optind],
		       f.vid, f.pid, t.alt, n, n == 1 ? "" : "s", len);
out:
	for (i = 0; data && i < n; i++)
		free(data[i]);
	free(data);
	free(el);
	free(out);
	return ret;
}

int cmd_dfuse(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "pack"))
		return pack(argc - 1, argv + 1);
	return usage_error("usage: dfuctl dfuse pack OUT.dfu IMAGE@ADDRESS... --device VID:PID");
}
