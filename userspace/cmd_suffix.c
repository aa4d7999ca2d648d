// SPDX-License-Identifier: GPL-2.0
/*
 * cmd_suffix.c - dfuctl suffix add|remove|check FILE
 *
 * Adds, removes and shows the DFU suffix as dfu-util's dfu-suffix does
 * (same bytes, same option meanings), with sysexits.h exit codes: 65
 * (EX_DATAERR) for a file without a valid suffix where one is needed or
 * with one where none may be, 66 (EX_NOINPUT) for a file that cannot be read.
 *
 * Unlike dfu-suffix, add refuses a file whose end looks like a damaged
 * suffix (suffix_near_miss()): a second suffix after it would be valid, and
 * the damaged bytes would be flashed as firmware. remove --force cuts such
 * a suffix off; add --force adds one anyway, for bytes that are firmware.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "cmd_suffix.h"
#include "msg.h"
#include "dfuse.h"
#include "file.h"
#include "suffix.h"

enum action { ADD, REMOVE, CHECK };

static void usage(FILE *out)
{
	fputs("usage: dfuctl suffix add FILE [--vid HEX] [--pid HEX] [--did HEX] [--spec HEX] [--force]\n"
	      "       dfuctl suffix check FILE\n"
	      "       dfuctl suffix remove FILE [--force]\n"
	      "  add     append a 16-byte DFU suffix, as dfu-suffix --add does; an ID not\n"
	      "          given is 0xffff (any device), --spec (bcdDFU) defaults to 0100,\n"
	      "          011a marks an ST DfuSe file. Short options: -v -p -d -S\n"
	      "  check   show the suffix (and the layout of a DfuSe file)\n"
	      "  remove  cut a valid suffix off, all its bLength bytes\n"
	      "  --force add: even after bytes that look like a damaged suffix (they stay\n"
	      "          and are flashed as firmware); remove: cut off a damaged suffix\n"
	      "          (and any bytes after it)\n"
	      "Exit status: 0 done, 64 usage, 65 no valid suffix (add: already has one,\n"
	      "or the file ends in what looks like a damaged one),\n"
	      "66 cannot read the file, 73 cannot write it, 74 I/O error.\n",
	      out);
}

/* A 16-bit hex number, with or without 0x, as dfu-suffix reads IDs. */
static bool parse_hex16(const char *s, uint16_t *out)
{
	unsigned long v;
	char *end;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		s += 2;
	if (!isxdigit((unsigned char)s[0]))
		return false;
	errno = 0;
	v = strtoul(s, &end, 16);
	if (errno || *end || v > 0xffff)
		return false;
	*out = (uint16_t)v;
	return true;
}

static int open_error(const char *path, int err, bool writing)
{
	if (err == ENOENT) {
		say("%s: no such file: check the name\n", path);
		return EX_NOINPUT;
	}
	if (err == EINVAL || err == EISDIR) {
		say("%s: not a regular file: give the firmware file itself\n",
		    path);
		return EX_NOINPUT;
	}
	if (writing && (err == EACCES || err == EPERM || err == EROFS || err == ETXTBSY)) {
		say("%s: cannot write: %s: check its permissions, or work on a copy\n",
		    path, strerror(err));
		return EX_CANTCREAT;
	}
	if (err == EACCES || err == EPERM) {
		say("%s: cannot read: %s: check its permissions\n",
		    path, strerror(err));
		return EX_NOINPUT;
	}
	if (err == ENOMEM || err == EFBIG) {
		say("%s: too large to read into memory\n", path);
		return EX_OSERR;
	}
	say("%s: cannot read: %s\n", path, strerror(err));
	return EX_IOERR;
}

static const char *id_note(uint16_t v)
{
	return v == SUFFIX_ANY ? " (any)" : "";
}

static const char *bcd_dfu_note(uint16_t v)
{
	if (v == SUFFIX_BCD_DFUSE)
		return " (ST DfuSe)";
	if (v == 0x0100)
		return " (DFU 1.0)";
	if (v == 0x0110)
		return " (DFU 1.1)";
	return "";
}

static void print_name(const struct dfuse_target *t)
{
	size_t i;

	putchar('"');
	for (i = 0; i < t->name_len; i++)
		putchar(isprint(t->name[i]) ? t->name[i] : '?');
	putchar('"');
}

/* Show the targets and elements of a DfuSe file; EX_DATAERR if it is malformed. */
static int show_dfuse(const char *path, const uint8_t *buf, size_t len)
{
	struct dfuse_element e;
	struct dfuse_target t;
	struct dfuse_file f;
	enum dfuse_err err = dfuse_parse(buf, len, &f);
	size_t off;
	uint32_t j;
	unsigned int i;

	if (err == DFUSE_ERR_PREFIX) {
		say("%s: the suffix's bcdDFU 0x011a marks an ST DfuSe file, "
		    "but the file does not start with \"DfuSe\": if it is a plain image, give it "
		    "a plain suffix ('dfuctl suffix remove', then 'dfuctl suffix add' without "
		    "--spec)\n", path);
		return EX_DATAERR;
	}
	if (err) {
		say("%s: DfuSe file, at offset %zu: %s\n", path,
		    f.err_offset, dfuse_strerror(err));
		return EX_DATAERR;
	}
	printf("  DfuSe      version %u, DFUImageSize %u, %u target%s\n", f.version,
	       f.image_size, f.n_targets, f.n_targets == 1 ? "" : "s");
	off = dfuse_first_target(&f);
	for (i = 0; i < f.n_targets; i++) {
		dfuse_target_at(&f, off, &t);
		printf("  target %u   alt %u, ", i, t.alt);
		print_name(&t);
		printf(", %u element%s, %u bytes\n", t.n_elements,
		       t.n_elements == 1 ? "" : "s", t.size);
		off = t.elements;
		for (j = 0; j < t.n_elements; j++) {
			dfuse_element_at(&f, off, &e);
			printf("    element %u  address 0x%08x, %u bytes\n", j, e.address, e.size);
			off = e.next;
		}
		off = t.next;
	}
	return EX_OK;
}

static int check(const char *path, const uint8_t *buf, size_t len)
{
	struct dfu_suffix s;
	enum suffix_err err = suffix_parse(buf, len, &s);

	if (err == SUFFIX_ERR_CRC)
		say("%s: CRC 0x%08x in the suffix, 0x%08x computed: %s\n",
		    path, s.dwCRC, suffix_crc(buf, len - 4), suffix_strerror(err));
	else if (err == SUFFIX_ERR_LENGTH_SMALL || err == SUFFIX_ERR_LENGTH_BIG)
		say("%s: bLength %u, file %zu bytes: %s\n",
		    path, s.bLength, len, suffix_strerror(err));
	else if (err)
		say("%s: %s\n", path, suffix_strerror(err));
	if (err)
		return EX_DATAERR;

	printf("%s: DFU suffix, %u bytes, CRC 0x%08x correct\n", path, s.bLength, s.dwCRC);
	printf("  idVendor   0x%04x%s\n", s.idVendor, id_note(s.idVendor));
	printf("  idProduct  0x%04x%s\n", s.idProduct, id_note(s.idProduct));
	printf("  bcdDevice  0x%04x%s\n", s.bcdDevice, id_note(s.bcdDevice));
	printf("  bcdDFU     0x%04x%s\n", s.bcdDFU, bcd_dfu_note(s.bcdDFU));
	printf("  payload    %zu bytes\n", len - s.bLength);
	if (s.bcdDFU == SUFFIX_BCD_DFUSE || dfuse_is_dfuse(buf, len))
		return show_dfuse(path, buf, len);
	return EX_OK;
}

static int add(const char *path, int fd, const uint8_t *buf, size_t len,
	       const struct dfu_suffix *fields, bool force)
{
	uint8_t tail[SUFFIX_LEN];
	struct dfu_suffix old;
	enum suffix_near near;
	size_t keep, end;
	ssize_t n;

	if (suffix_parse(buf, len, &old) == SUFFIX_OK) {
		say("%s already has a DFU suffix (for %04x:%04x): "
		    "remove it first with 'dfuctl suffix remove %s'\n",
		    path, old.idVendor, old.idProduct, path);
		return EX_DATAERR;
	}
	near = suffix_near_miss(buf, len, &keep, &end);
	if (near && !force) {
		say("%s: %s", path, suffix_near_str(near));
		if (near == SUFFIX_NEAR_DAMAGED &&
		    suffix_parse(buf, len, &old) == SUFFIX_ERR_CRC)
			fprintf(stderr, " (CRC 0x%08x in it, 0x%08x computed)", old.dwCRC,
				suffix_crc(buf, len - 4));
		else if (near == SUFFIX_NEAR_DAMAGED)
			fprintf(stderr, " (bLength %u, file %zu bytes)", old.bLength, len);
		fprintf(stderr, ". A second suffix after it would be valid, and these bytes would be flashed as firmware; nothing was changed: ");
		if (near == SUFFIX_NEAR_TRAILING)
			fprintf(stderr, "cut the %zu byte%s after the suffix off (truncate -s %zu %s) to keep it, or remove it and what follows with 'dfuctl suffix remove --force %s' before adding a new one\n",
				len - end, len - end == 1 ? "" : "s", end, path, path);
		else
			fprintf(stderr, "get a fresh copy of the file, or cut the damaged suffix off with 'dfuctl suffix remove --force %s' (%zu bytes left) and add it again; if those bytes are really firmware, add the suffix with --force\n",
				path, keep);
		return EX_DATAERR;
	}
	if (near)
		say("warning: %s: %s; adding a suffix after it anyway (--force)\n",
		    path, suffix_near_str(near));
	if (fields->bcdDFU != SUFFIX_BCD_DFUSE && dfuse_is_dfuse(buf, len))
		say("warning: %s starts like an ST DfuSe file: "
		    "a DfuSe suffix needs --spec 011a\n", path);
	suffix_build(buf, len, fields, tail);
	n = pwrite(fd, tail, sizeof(tail), (off_t)len);
	if (n != (ssize_t)sizeof(tail) || fsync(fd)) {
		int err = n < 0 ? errno : EIO;

		if (ftruncate(fd, (off_t)len))
			say("%s: could not undo a partial write: "
			    "cut it back to %zu bytes (truncate -s %zu)\n", path, len, len);
		say("%s: cannot write the suffix: %s\n", path,
		    strerror(err));
		return EX_IOERR;
	}
	printf("%s: DFU suffix added for %04x:%04x, bcdDevice %04x, bcdDFU %04x\n", path,
	       fields->idVendor, fields->idProduct, fields->bcdDevice, fields->bcdDFU);
	return EX_OK;
}

static int remove_suffix(const char *path, int fd, const uint8_t *buf, size_t len, bool force)
{
	enum suffix_near near = SUFFIX_NEAR_NONE;
	enum suffix_err err;
	size_t keep, end;

	err = suffix_remove(buf, len, &keep);
	if (err && force)
		near = suffix_near_miss(buf, len, &keep, &end);
	if (err && !near) {
		say("%s: nothing removed: %s%s\n", path, suffix_strerror(err),
		    force ? " (and nothing like a damaged one either)" : "");
		return EX_DATAERR;
	}
	if (ftruncate(fd, (off_t)keep) || fsync(fd)) {
		say("%s: cannot cut the suffix off: %s\n", path,
		    strerror(errno));
		return EX_IOERR;
	}
	if (near)
		printf("%s: %s: cut off %zu bytes (--force), %zu bytes left\n", path,
		       suffix_near_str(near), len - keep, keep);
	else
		printf("%s: DFU suffix removed (%zu bytes), %zu bytes left\n", path, len - keep, keep);
	return EX_OK;
}

int cmd_suffix(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "vid", required_argument, NULL, 'v' },
		{ "pid", required_argument, NULL, 'p' },
		{ "did", required_argument, NULL, 'd' },
		{ "spec", required_argument, NULL, 'S' },
		{ "force", no_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct dfu_suffix fields;
	bool ids_given = false, force = false;
	enum action action;
	const char *path;
	uint8_t *buf;
	size_t len;
	int c, fd, err, ret;

	if (argc < 2) {
		say("no action given: add, remove or check\n");
		usage(stderr);
		return EX_USAGE;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(stdout);
		return EX_OK;
	}
	if (!strcmp(argv[1], "add")) {
		action = ADD;
	} else if (!strcmp(argv[1], "remove")) {
		action = REMOVE;
	} else if (!strcmp(argv[1], "check")) {
		action = CHECK;
	} else {
		say("unknown action '%s'\n", argv[1]);
		usage(stderr);
		return EX_USAGE;
	}

	suffix_init(&fields);
	argc--;
	argv++;
	optind = 0;	/* glibc: start afresh, also when called twice */
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":v:p:d:S:h", opts, NULL)) != -1) {
		uint16_t *field = NULL;
		const char *name = NULL;

		switch (c) {
		case 'v':
			field = &fields.idVendor;
			name = "--vid";
			break;
		case 'p':
			field = &fields.idProduct;
			name = "--pid";
			break;
		case 'd':
			field = &fields.bcdDevice;
			name = "--did";
			break;
		case 'S':
			field = &fields.bcdDFU;
			name = "--spec";
			break;
		case 'h':
			usage(stdout);
			return EX_OK;
		case 'f':
			force = true;
			continue;
		case ':':
			say("%s needs a hex value\n", argv[optind - 1]);
			return EX_USAGE;
		default:
			say("unknown option '%s': see dfuctl suffix --help\n",
			    argv[optind - 1]);
			return EX_USAGE;
		}
		if (!parse_hex16(optarg, field)) {
			say("%s: '%s' is not a hex number from 0 to ffff\n",
			    name, optarg);
			return EX_USAGE;
		}
		ids_given = true;
	}
	if (optind != argc - 1) {
		say("suffix %s: give exactly one FILE\n", argv[0]);
		return EX_USAGE;
	}
	if (ids_given && action != ADD) {
		say("suffix %s: --vid, --pid, --did and --spec are for add only\n",
		    argv[0]);
		return EX_USAGE;
	}
	if (force && action == CHECK) {
		say("suffix check: --force is for add and remove only\n");
		return EX_USAGE;
	}
	path = argv[optind];

	fd = open(path, (action == CHECK ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (fd < 0)
		return open_error(path, errno, action != CHECK);
	err = file_load(fd, &buf, &len);
	if (err) {
		close(fd);
		return open_error(path, err, false);
	}
	if (action == ADD)
		ret = add(path, fd, buf, len, &fields, force);
	else if (action == REMOVE)
		ret = remove_suffix(path, fd, buf, len, force);
	else
		ret = check(path, buf, len);
	free(buf);
	if (close(fd) && ret == EX_OK) {
		say("%s: %s\n", path, strerror(errno));
		ret = EX_IOERR;
	}
	return ret;
}
