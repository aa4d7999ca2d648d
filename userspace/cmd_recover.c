// SPDX-License-Identifier: GPL-2.0
/*
 * cmd_recover.c - dfuctl recover NODE [--config FILE]: flash a device
 * that appeared in DFU mode with the image /etc/dfu/recovery.conf names
 * for it; dfuctl recover --check [--config FILE]: check that file, and the
 * images it names, without a device. udev starts recover NODE
 * (61-dfu-recovery.rules, dfu-recovery@.service); its messages go to the
 * journal.
 *
 * What recovery checks before anything reaches the device: every line of
 * recovery.conf (recovery_conf.c; one bad line and nothing is flashed),
 * that exactly one line names the device, the image's SHA-256 against the
 * line's mandatory sha256=, and a valid DFU suffix that names the device
 * (its DFU-mode IDs, or the run-time IDs the driver saw before a detach;
 * an ST DfuSe file for a DfuSe device). Apple's ROM is the one exception to
 * the suffix: its images carry none, and the ROM itself checks their
 * signature.
 *
 * A user's "dfuctl flash" holds the lock of the device's USB port
 * (devlock.c): recover then steps aside, and exits 0. A device is flashed
 * at most RECOVERY_TRIES times per boot (recovery_count.c), so that one
 * whose new image does not start (and returns in DFU mode) is not flashed
 * for ever.
 *
 * commit = suffix: the image goes to the driver with its DFU suffix under
 * the driver's commit policy suffix, which manifests it only if the suffix
 * is valid and names the device. explicit (the default): dfuctl strips the
 * suffix and commits with USB_DFU_IOCTL_COMMIT.
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
#include <linux/usb/dfu.h>

#include "apple.h"
#include "commands.h"
#include "devlock.h"
#include "flash.h"
#include "image.h"
#include "recovery_conf.h"
#include "recovery_count.h"

#define RECOVERY_CONF	"/etc/dfu/recovery.conf"
#define RECOVERY_TRIES	3
/*
 * A dfuctl recover of the same port that still holds the lock (it verifies,
 * and the device came back in DFU mode meanwhile): wait this long for it.
 */
#define RECOVER_WAIT_MS	(15 * 60 * 1000)
#define IMAGE_MAX	(1024L * 1024 * 1024)

#define P "dfuctl recover: "

/* The SHA-256 of buf in lower-case hex (65 bytes); 0 on failure. */
static int sha256_hex(const uint8_t *buf, size_t len, char hex[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0, i;

	if (!EVP_Digest(buf, len, md, &mdlen, EVP_sha256(), NULL) || mdlen != 32)
		return 0;
	for (i = 0; i < mdlen; i++)
		sprintf(hex + 2 * i, "%02x", md[i]);
	return 1;
}

/* Read path whole; NULL with *err set to errno, or EFBIG. */
static uint8_t *read_image(const char *path, size_t *len, int *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	uint8_t *buf = NULL;
	struct stat st;
	size_t done = 0;
	ssize_t n;

	*err = 0;
	if (fd < 0 || fstat(fd, &st)) {
		*err = errno;
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		*err = EISDIR;
		goto fail;
	}
	if (st.st_size > IMAGE_MAX) {
		*err = EFBIG;
		goto fail;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		*err = ENOMEM;
		goto fail;
	}
	while (done < (size_t)st.st_size) {
		n = read(fd, buf + done, (size_t)st.st_size - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			*err = n ? errno : EIO;	/* shrank while read */
			goto fail;
		}
		done += (size_t)n;
	}
	close(fd);
	*len = done;
	return buf;
fail:
	if (fd >= 0)
		close(fd);
	free(buf);
	return NULL;
}

/* Parse conf whole; EX_OK, or the code after the messages. */
static int load_conf(const char *conf, struct rconf *c, int bad_code)
{
	FILE *f = fopen(conf, "re");
	int errors;

	memset(c, 0, sizeof(*c));
	if (!f) {
		fprintf(stderr, P "%s: %s: %s\n", conf, strerror(errno),
			errno == ENOENT ? "create it (see dfuctl(1), recover) or give --config FILE" :
			"check its permissions");
		return errno == ENOENT ? EX_NOINPUT : EX_NOPERM;
	}
	errors = rconf_parse(f, conf, P, c, stderr);
	fclose(f);
	if (errors < 0)
		return EX_OSERR;
	if (errors && bad_code == EX_CONFIG)
		fprintf(stderr, P "%s: %d error%s: nothing is flashed until the file is correct; check it with dfuctl recover --check --config %s\n",
			conf, errors, errors == 1 ? "" : "s", conf);
	else if (errors)
		fprintf(stderr, P "%s: %d error%s\n", conf, errors, errors == 1 ? "" : "s");
	return errors ? bad_code : EX_OK;
	return EX_OK;
}

/* --check: the file, then each image as recovery would judge it without a device. */
static int check(const char *conf)
{
	struct rconf c;
	size_t i, len;
	int ret, errors = 0, err;
	char hex[65];
	uint8_t *img;

	ret = load_conf(conf, &c, EX_DATAERR);
	if (ret) {
		rconf_free(&c);
		return ret;
	}
	for (i = 0; i < c.n; i++) {
		const struct rconf_entry *e = &c.entries[i];
		struct dfu_suffix s;
		enum suffix_err se;

		img = read_image(e->image, &len, &err);
		if (!img) {
			fprintf(stderr, P "%s:%d: image %s: %s\n", conf, e->lineno, e->image,
				strerror(err));
			errors++;
			continue;
		}
		if (!len) {
			fprintf(stderr, P "%s:%d: image %s is empty\n", conf, e->lineno, e->image);
			errors++;
		} else if (!sha256_hex(img, len, hex)) {
			fprintf(stderr, P "%s:%d: image %s: cannot compute its SHA-256\n", conf,
				e->lineno, e->image);
			errors++;
		} else if (strcmp(hex, e->sha256)) {
			fprintf(stderr, P "%s:%d: image %s: its SHA-256 is %s, not the line's sha256=: the image is damaged or replaced, or sha256= is out of date\n",
				conf, e->lineno, e->image, hex);
			errors++;
		} else if (apple_mode_of(e->vid, e->pid) != APPLE_DFU &&
			   (se = suffix_parse(img, len, &s)) != SUFFIX_OK) {
			if (suffix_absent(se))
				fprintf(stderr, P "%s:%d: image %s has no valid DFU suffix, and recovery flashes only images whose suffix names the device: dfuctl suffix add %s --vid %04x --pid %04x, then update sha256=\n",
					conf, e->lineno, e->image, e->image, e->vid, e->pid);
			else
				fprintf(stderr, P "%s:%d: image %s has no valid DFU suffix: %s\n",
					conf, e->lineno, e->image, suffix_strerror(se));
			errors++;
		}
		free(img);
	}
	if (errors) {
		fprintf(stderr, P "%s: %d error%s\n", conf, errors, errors == 1 ? "" : "s");
		ret = EX_DATAERR;
	} else {
		printf("%s: %zu device line%s, commit = %s: no errors\n", conf, c.n,
		       c.n == 1 ? "" : "s", c.commit_suffix ? "suffix" : "explicit");
	}
	rconf_free(&c);
	return ret;
}

/*
 * May img go to d in recovery? Its SHA-256 is the line's, and it has a
 * valid DFU suffix naming d (an Apple ROM excepted). EX_OK or EX_DATAERR.
 */
static int judge(const struct dfu_dev_desc *d, const struct rconf_entry *e, const char *conf,
		 const uint8_t *img, size_t len)
{
	struct image_info info;
	struct image_ids ids;
	char hex[65];

	if (!sha256_hex(img, len, hex)) {
		fprintf(stderr, P "%s: cannot compute the SHA-256 of %s; not flashing it\n", d->node,
			e->image);
		return EX_SOFTWARE;
	}
	if (strcmp(hex, e->sha256)) {
		fprintf(stderr, P "%s: SHA-256 differs from %s:%d's sha256=: the image is damaged or replaced; not flashing %s\n",
			e->image, conf, e->lineno, d->node);
		return EX_DATAERR;
	}
	ids.runtime_vid = ids.dfu_vid = d->vid;
	ids.runtime_pid = ids.dfu_pid = d->pid;
	if (d->has_runtime_id) {
		ids.runtime_vid = d->runtime_vid;
		ids.runtime_pid = d->runtime_pid;
	}
	switch (image_check(img, len, &ids, &info)) {
	case IMAGE_ACCEPT:
		return EX_OK;
	case IMAGE_DFUSE:
		if (d->dfuse && info.has_suffix && info.dfuse_err == DFUSE_OK)
			return EX_OK;
		break;
	default:
		break;
	}
	fprintf(stderr, P "%s: recovery flashes only an image with a valid DFU suffix that names the device (%04x:%04x), and this one is not: %s; not flashing %s\n",
		e->image, d->vid, d->pid, info.message, d->node);
	return EX_DATAERR;
}

/*
 * Take the lock of d's USB port. EX_OK with *l held (or l->fd -1 when no
 * lock can be kept); -1 when recover must step aside and exit 0.
 */
static int lock_port(struct dfu_dev_desc *d, struct devlock *l)
{
	struct devlock_holder h;
	struct dfu_dev_desc now;
	struct dev_filter f = { 0 };
	char who[64];

	long pid;

	switch (devlock_take(d->usb_path, DEVLOCK_RECOVER, 0, l, &h)) {
	case DEVLOCK_TAKEN:
		if (!devlock_user_flashed(l, d->busnum, d->devnum, &pid))
			return EX_OK;
		/* the flash ended before this recovery started: still theirs */
		fprintf(stderr, P "%s: a user flashed it (dfuctl flash, pid %ld) and it did not re-enumerate since: left to them; 'systemctl start dfu-recovery@%s.service' recovers it if it stays in DFU mode\n",
			d->node, pid, d->sysname);
		devlock_release(l);
		return -1;
	case DEVLOCK_NONE:
		fprintf(stderr, P "%s: warning: cannot take %s (is " DEVLOCK_DIR " there, a directory?): recovering without the lock a user's dfuctl flash takes\n",
			d->node, l->path);
		return EX_OK;
	default:
		break;
	}
	devlock_holder_str(&h, who, sizeof(who));
	if (!h.known || h.who != DEVLOCK_RECOVER) {
		fprintf(stderr, P "%s: a user is flashing it (%s holds %s): left to them; 'systemctl start dfu-recovery@%s.service' recovers it afterwards if it stays in DFU mode\n",
			d->node, who, l->path, d->sysname);
		return -1;
	}
	/* an earlier recovery of this port is still verifying: let it finish */
	fprintf(stderr, P "%s: %s still recovers USB port %s: waiting for it\n", d->node, who,
		d->usb_path);
	if (devlock_take(d->usb_path, DEVLOCK_RECOVER, RECOVER_WAIT_MS, l, &h) != DEVLOCK_TAKEN) {
		devlock_holder_str(&h, who, sizeof(who));
		fprintf(stderr, P "%s: %s still holds %s after %d s: left alone\n", d->node, who,
			l->path, RECOVER_WAIT_MS / 1000);
		return -1;
	}
	/* is the node still the device it was? */
	f.path = d->usb_path;
	f.mode = "dfu";
	if (!dev_find(&f, &now) || strcmp(now.sysname, d->sysname) || now.devnum != d->devnum) {
		fprintf(stderr, P "%s: left DFU mode (or the bus) while the other recovery ran: nothing to do\n",
			d->node);
		devlock_release(l);
		return -1;
	}
	return EX_OK;
}

static int recover(const char *node, const char *conf)
{
	const struct rconf_entry *e;
	struct flash_opts o = { 0 };
	struct devlock lock = { .fd = -1 };
	struct dfu_dev_desc d;
	char key[1400], state[512];
	struct rconf c;
	uint8_t *img = NULL;
	size_t len, n;
	int ret, tries, err;

	o.filter.node = node;
	o.quiet = 1;
	ret = dev_select(&o.filter, &d);
	if (ret)
		return ret;
	if (strcmp(d.mode, "dfu")) {
		fprintf(stderr, P "%s is in run-time mode: nothing to recover\n", d.node);
		return EX_OK;
	}
	ret = load_conf(conf, &c, EX_CONFIG);
	if (ret)
		goto out;
	n = rconf_find(&c, d.vid, d.pid, d.serial, &e);
	if (!n) {
		fprintf(stderr, P "%s (%04x:%04x serial \"%s\") is not listed in %s: left alone\n",
			d.node, d.vid, d.pid, d.serial, conf);
		goto out;
	}
	if (lock_port(&d, &lock)) {
		ret = EX_OK;
		goto out;
	}
	img = read_image(e->image, &len, &err);
	if (!img) {
		fprintf(stderr, P "%s (%s:%d): %s; not flashing %s\n", e->image, conf, e->lineno,
			strerror(err), d.node);
		ret = EX_NOINPUT;
		goto out;
	}
	if (dev_read_dialect(&d) == USB_DFU_DIALECT_APPLE) {
		/* no suffix: the ROM checks the image's signature itself */
		char hex[65];

		if (!sha256_hex(img, len, hex) || strcmp(hex, e->sha256)) {
			fprintf(stderr, P "%s: SHA-256 differs from %s:%d's sha256=: the image is damaged or replaced; not flashing %s\n",
				e->image, conf, e->lineno, d.node);
			ret = EX_DATAERR;
			goto out;
		}
	} else if ((ret = judge(&d, e, conf, img, len))) {
		goto out;
	}
	rcount_key(d.vid, d.pid, d.usb_path, d.serial, key, sizeof(key));
	tries = rcount_add(key, RECOVERY_TRIES, state, sizeof(state));
	if (tries > RECOVERY_TRIES) {
		fprintf(stderr, P "%s was flashed %d times since boot and is back in DFU mode: not again; check %s, then rm %s to retry\n",
			d.node, RECOVERY_TRIES, e->image, state);
		ret = EX_TEMPFAIL;
		goto out;
	}
	fprintf(stderr, P "flashing %s (%04x:%04x serial \"%s\", USB port %s) with %s (%s:%d), attempt %d of %d\n",
		d.node, d.vid, d.pid, d.serial, d.usb_path, e->image, conf, e->lineno, tries,
		RECOVERY_TRIES);
	/* this device and no other, should its node name be taken meanwhile */
	o.filter.path = d.usb_path;
	o.filter.serial = d.serial;
	o.filter.n_ids = 1;
	o.filter.vid[0] = d.vid;
	o.filter.pid[0] = d.pid;
	o.filter.mode = "dfu";
	o.alt = *e->alt ? e->alt : NULL;
	o.verify = e->verify;
	o.commit_suffix = c.commit_suffix;
	ret = flash_image(e->image, img, len, &o);
	fprintf(stderr, P "%s: %s\n", d.node, ret ? "failed" : "done");
out:
	devlock_release(&lock);
	free(img);
	rconf_free(&c);
	return ret;
}

int cmd_recover(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, 0, 'c' },
		{ "check", no_argument, 0, 'k' },
		{ 0 }
	};
	const char *conf = RECOVERY_CONF;
	int c, check_only = 0;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'c')
			conf = optarg;
		else if (c == 'k')
			check_only = 1;
		else
			return usage_error("usage: dfuctl recover NODE [--config FILE] | dfuctl recover --check [--config FILE]");
	}
	if (check_only) {
		if (argc != optind)
			return usage_error("recover --check takes no NODE: it checks the file and its images without a device");
		return check(conf);
	}
	if (argc - optind != 1)
		return usage_error("usage: dfuctl recover NODE [--config FILE] | dfuctl recover --check [--config FILE]");
	return recover(argv[optind], conf);
}
