// SPDX-License-Identifier: GPL-2.0
/*
 * cmd_recover.c - dfuctl recover NODE [--config FILE]: flash a device
 * that appeared in DFU mode with the image /etc/dfu/recovery.conf names
 * for it. udev starts it (61-dfu-recovery.rules, dfu-recovery@.service);
 * its messages go to the journal.
 *
 * A device is flashed at most RECOVERY_TRIES times per boot, so that one
 * whose new image does not start (and returns in DFU mode) is not flashed
 * for ever.
 *
 * recovery.conf: one device per line, '#' starts a comment:
 *   VID:PID image=PATH [serial=SERIAL] [alt=N|NAME] [sha256=HEX] [verify=yes]
 * and, anywhere in the file, for every device:
 *   commit = suffix|explicit
 * suffix: the image goes to the driver with its DFU suffix under the
 * driver's commit policy suffix, which manifests it only if the suffix
 * is valid and names the device; an image without such a suffix is
 * refused before the device is opened. explicit (the default): dfuctl
 * strips the suffix and commits with USB_DFU_IOCTL_COMMIT.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>
#include <openssl/evp.h>

#include "commands.h"
#include "flash.h"

#define RECOVERY_CONF	"/etc/dfu/recovery.conf"
/*
 * A device whose new image fails to start may come back in DFU mode at
 * once: flash it at most this often per boot (the count lives in /run).
 */
#define RECOVERY_STATE	"/run/dfu"
#define RECOVERY_TRIES	3

struct recovery_entry {
	unsigned int vid, pid;
	char serial[128], alt[64], image[512], sha256[65];
	int verify;
};

/* What a line of recovery.conf is. */
enum line_kind { LINE_ENTRY, LINE_BLANK, LINE_SETTING, LINE_BAD, LINE_BAD_COMMIT };

/*
 * "commit = suffix|explicit" (spaces optional) at p: LINE_SETTING with
 * *commit_suffix set, LINE_BAD_COMMIT for another value, LINE_BAD if the
 * line is not a commit setting at all.
 */
static enum line_kind parse_commit(const char *p, int *commit_suffix)
{
	char value[32];
	int n = 0;

	p += strspn(p, " \t");
	if (strncmp(p, "commit", 6))
		return LINE_BAD;
	p += 6;
	p += strspn(p, " \t");
	if (*p++ != '=')
		return LINE_BAD;
	if (sscanf(p, " %31s %n", value, &n) != 1 || p[n])
		return LINE_BAD_COMMIT;
	if (!strcmp(value, "suffix"))
		*commit_suffix = 1;
	else if (!strcmp(value, "explicit"))
		*commit_suffix = 0;
	else
		return LINE_BAD_COMMIT;
	return LINE_SETTING;
}

/* Parse one line into *e (an entry) or *commit_suffix (a setting). */
static enum line_kind parse_line(char *line, struct recovery_entry *e, int *commit_suffix)
{
	char *tok, *save = NULL;
	int n;

	memset(e, 0, sizeof(*e));
	line[strcspn(line, "#\n")] = 0;
	if (strchr(line, '=') && !strncmp(line + strspn(line, " \t"), "commit", 6))
		return parse_commit(line, commit_suffix);
	tok = strtok_r(line, " \t", &save);
	if (!tok)
		return LINE_BLANK;
	if (sscanf(tok, "%4x:%4x%n", &e->vid, &e->pid, &n) != 2 || tok[n])
		return LINE_BAD;
	while ((tok = strtok_r(NULL, " \t", &save))) {
		if (!strncmp(tok, "image=", 6))
			snprintf(e->image, sizeof(e->image), "%s", tok + 6);
		else if (!strncmp(tok, "serial=", 7))
			snprintf(e->serial, sizeof(e->serial), "%s", tok + 7);
		else if (!strncmp(tok, "alt=", 4))
			snprintf(e->alt, sizeof(e->alt), "%s", tok + 4);
		else if (!strncmp(tok, "sha256=", 7) && strlen(tok + 7) == 64)
			snprintf(e->sha256, sizeof(e->sha256), "%s", tok + 7);
		else if (!strcmp(tok, "verify=yes"))
			e->verify = 1;
		else
			return LINE_BAD;
	}
	return *e->image ? LINE_ENTRY : LINE_BAD;
}

/*
 * The first entry for device d, and the commit setting (read from the
 * whole file, wherever it is); EX_OK, EX_UNAVAILABLE if d is not listed,
 * or EX_CONFIG after a message.
 */
static int find_entry(const char *conf, const struct dfu_dev_desc *d, struct recovery_entry *e,
		      int *commit_suffix)
{
	FILE *f = fopen(conf, "r");
	struct recovery_entry cur;
	char line[1024];
	int lineno = 0, found = 0;

	*commit_suffix = 0;
	if (!f) {
		fprintf(stderr, "dfuctl: recover: %s: %s\n", conf, strerror(errno));
		return EX_CONFIG;
	}
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		switch (parse_line(line, &cur, commit_suffix)) {
		case LINE_BAD:
			fprintf(stderr, "dfuctl: recover: %s:%d: not 'VID:PID image=PATH [serial=S] [alt=A] [sha256=HEX] [verify=yes]' or 'commit = suffix|explicit'\n",
				conf, lineno);
			fclose(f);
			return EX_CONFIG;
		case LINE_BAD_COMMIT:
			fprintf(stderr, "dfuctl: recover: %s:%d: commit wants 'suffix' or 'explicit'\n",
				conf, lineno);
			fclose(f);
			return EX_CONFIG;
		case LINE_ENTRY:
			if (!found && cur.vid == d->vid && cur.pid == d->pid &&
			    (!*cur.serial || !strcmp(cur.serial, d->serial))) {
				*e = cur;
				found = 1;
			}
			break;
		default:
			break;
		}
	}
	fclose(f);
	return found ? EX_OK : EX_UNAVAILABLE;
}

static int sha256_ok(const uint8_t *buf, size_t len, const char *want)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0, i;
	char hex[2 * EVP_MAX_MD_SIZE + 1];

	if (!EVP_Digest(buf, len, md, &mdlen, EVP_sha256(), NULL))
		return 0;
	for (i = 0; i < mdlen; i++)
		sprintf(hex + 2 * i, "%02x", md[i]);
	for (i = 0; want[i]; i++)
		if (tolower((unsigned char)want[i]) != hex[i])
			return 0;
	return i == 2 * mdlen;
}

/*
 * Count one more attempt for d in RECOVERY_STATE/recover-VID-PID-SERIAL
 * (the USB port for a device without a serial). Returns the attempts so
 * far, this one included, or 0 when no count can be kept (then recovery
 * goes on: flashing matters more than the limit).
 */
static int count_attempt(const struct dfu_dev_desc *d, char *path, size_t size)
{
	const char *id = *d->serial ? d->serial : d->usb_path;
	char key[384], buf[16] = "";
	int fd, n = 0, i;

	snprintf(key, sizeof(key), "%s", id);
	for (i = 0; key[i]; i++)
		if (!isalnum((unsigned char)key[i]) && key[i] != '-' && key[i] != '.')
			key[i] = '_';
	snprintf(path, size, RECOVERY_STATE "/recover-%04x-%04x-%s", d->vid, d->pid, key);
	if (mkdir(RECOVERY_STATE, 0755) && errno != EEXIST)
		return 0;
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return 0;
	if (read(fd, buf, sizeof(buf) - 1) > 0)
		n = atoi(buf);
	n++;
	i = snprintf(buf, sizeof(buf), "%d\n", n);
	if (pwrite(fd, buf, i, 0) != i)
		n = 0;
	close(fd);
	return n;
}

int cmd_recover(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, 0, 'c' }, { 0 }
	};
	const char *conf = RECOVERY_CONF;
	struct flash_opts o = { 0 };
	struct recovery_entry e;
	struct dfu_dev_desc d;
	char state[512];
	uint8_t *img;
	size_t len;
	int c, ret, tries, commit_suffix;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c != 'c')
			return EX_USAGE;
		conf = optarg;
	}
	if (argc - optind != 1)
		return usage_error("usage: dfuctl recover NODE [--config FILE]");
	o.filter.node = argv[optind];
	o.quiet = 1;
	ret = dev_select(&o.filter, &d);
	if (ret)
		return ret;
	if (strcmp(d.mode, "dfu")) {
		fprintf(stderr, "dfuctl: recover: %s is in run-time mode: nothing to recover\n", d.node);
		return EX_OK;
	}
	ret = find_entry(conf, &d, &e, &commit_suffix);
	if (ret == EX_UNAVAILABLE) {
		fprintf(stderr, "dfuctl: recover: %s (%04x:%04x serial \"%s\") is not listed in %s: left alone\n",
			d.node, d.vid, d.pid, d.serial, conf);
		return EX_OK;
	}
	if (ret)
		return ret;
	ret = load_image(e.image, &img, &len);
	if (ret)
		return ret;
	if (*e.sha256 && !sha256_ok(img, len, e.sha256)) {
		fprintf(stderr, "dfuctl: recover: %s: SHA-256 differs from %s's sha256=: the image is damaged or replaced; not flashing %s\n",
			e.image, conf, d.node);
		free(img);
		return EX_DATAERR;
	}
	tries = count_attempt(&d, state, sizeof(state));
	if (tries > RECOVERY_TRIES) {
		fprintf(stderr, "dfuctl: recover: %s was flashed %d times since boot and is back in DFU mode: not again; check %s, then rm %s to retry\n",
			d.node, RECOVERY_TRIES, e.image, state);
		free(img);
		return EX_TEMPFAIL;
	}
	fprintf(stderr, "dfuctl: recover: flashing %s (%04x:%04x serial \"%s\") with %s\n", d.node,
		d.vid, d.pid, d.serial, e.image);
	/* this device and no other, should its node name be taken meanwhile */
	o.filter.path = d.usb_path;
	o.filter.serial = d.serial;
	o.filter.n_ids = 1;
	o.filter.vid[0] = d.vid;
	o.filter.pid[0] = d.pid;
	o.filter.mode = "dfu";
	o.alt = *e.alt ? e.alt : NULL;
	o.verify = e.verify;
	o.commit_suffix = commit_suffix;
	ret = flash_image(e.image, img, len, &o);
	free(img);
	fprintf(stderr, "dfuctl: recover: %s: %s\n", d.node, ret ? "failed" : "done");
	return ret;
}
