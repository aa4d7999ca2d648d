// SPDX-License-Identifier: GPL-2.0
/*
 * flash_dfuse.c - flash an ST DfuSe device: a DfuSe file element by
 * element, or a raw image at an address
 *
 * On a DfuSe device /dev/dfuN is the memory of the file's alt setting
 * (dfu.ko speaks the DfuSe commands): this checks every element against
 * the memory map the driver shows in sysfs (dfuse_map) before anything is
 * sent, then, for each target of the file, opens the node once, selects
 * the target's alt (USB_DFU_IOCTL_SET_ALT), moves file position 0 to the
 * target's lowest element address (USB_DFU_IOCTL_DFUSE_SET_BASE) and
 * writes each element with pwrite() at its address minus that base. The
 * driver erases each sector the first time it is written, and only those.
 *
 * The file is committed (USB_DFU_IOCTL_COMMIT, commit policy explicit)
 * once per target: a commit ends the download, and the driver then has
 * the device leave DFU mode, unless the sysfs attribute dfuse_leave is 0,
 * when it stays in dfuIDLE. A file with several targets therefore has
 * dfuse_leave set to 0 for all but the last target and put back before
 * the last commit, so the device leaves once, at the end; --stay keeps it
 * 0 to the end. Both need write access to dfuse_leave (root), and put its
 * old value back whatever happens, short of dfuctl being killed.
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
#include "fleet.h"
#include "flash.h"
#include "image.h"
#include "progress.h"

#define BLOCKS_PER_WRITE	16

/* What goes where: one element of one target. */
struct job_element {
	uint32_t address;
	uint32_t size;
	const uint8_t *data;
	unsigned int element;	/* its index in the file's target */
};

struct job_target {
	unsigned int alt;
	unsigned int target;	/* its index in the file */
	uint32_t base;		/* its lowest element address */
	size_t first, n;	/* its elements in job.el */
};

struct job {
	int raw;		/* a raw image, not a DfuSe file */
	struct job_element *el;
	size_t n_el;
	struct job_target t[256];
	size_t n_t;
	uint64_t total;
};

int dfuse_dev_map(const struct dfu_dev_desc *d, struct dfuse_zone *z, size_t cap)
{
	unsigned int line = 0;
	int n = dfuse_map_parse(d->dfuse_map, z, cap, &line);

	if (n < 0)
		say("%s: cannot read line %u of its memory map (sysfs %s/dfuse_map): use the dfuctl that comes with the loaded dfu.ko\n",
		    d->node, line, d->sysname);
	else if (!n)
		say("%s: the driver shows an empty memory map (sysfs dfuse_map): the device's alt settings describe no memory; see dmesg\n",
		    d->node);
	return n > 0 ? n : -1;
}

void dfuse_print_zones(FILE *out, const char *indent, const struct dfuse_zone *z, size_t n,
		       int alt)
{
	char perms[4];
	size_t i;
	int any = 0;

	for (i = 0; i < n; i++) {
		if (alt >= 0 && z[i].alt != (unsigned int)alt)
			continue;
		dfuse_perms_str(z[i].perms, perms);
		fprintf(out, "%salt %u: 0x%08x-0x%08llx %u*%u %s %s\n", indent, z[i].alt,
			z[i].start, (unsigned long long)(dfuse_zone_end(&z[i]) - 1), z[i].count,
			z[i].size, perms, z[i].name);
		any = 1;
	}
	if (!any)
		fprintf(out, "%s(no memory for alt %d)\n", indent, alt);
}

/* The DfuSe meaning of errors of write(), pwrite() and the ioctls. */
static const char *dfuse_hint(int err)
{
	switch (err) {
	case ENOSPC:
		return "the data runs past the end of the alt's memory; nothing of this write was sent: check the addresses against dfuctl list";
	case ENXIO:
		return "the data falls in a gap of the alt's memory map; nothing of this write was sent: check the addresses against dfuctl list";
	case EROFS:
		return "the data falls in memory that is not writable; nothing of this write was sent: check the addresses against dfuctl list";
	case EACCES:
		return "the device is read-protected (bStatus errVENDOR): 'dfuctl unprotect --yes' removes the protection and wipes the chip";
	case EMEDIUMTYPE:
		return "the driver refused a DfuSe file written raw: this is a dfuctl bug, please report it";
	case EOPNOTSUPP:
	case ENOTTY:
		return "the loaded dfu.ko does not speak DfuSe: load the dfu.ko that comes with this dfuctl";
	default:
		return flash_write_hint(err);
	}
}

static void free_job(struct job *j)
{
	free(j->el);
	j->el = NULL;
}

/* One target of the file, or the raw image, as a job target. */
static int add_target(struct job *j, unsigned int alt, unsigned int target)
{
	if (j->n_t == sizeof(j->t) / sizeof(j->t[0]))
		return -1;
	j->t[j->n_t].alt = alt;
	j->t[j->n_t].target = target;
	j->t[j->n_t].first = j->n_el;
	j->t[j->n_t].n = 0;
	j->t[j->n_t].base = UINT32_MAX;
	j->n_t++;
	return 0;
}

static void add_element(struct job *j, uint32_t address, uint32_t size, const uint8_t *data,
			unsigned int element)
{
	struct job_target *t = &j->t[j->n_t - 1];
	struct job_element *e = &j->el[j->n_el++];

	e->address = address;
	e->size = size;
	e->data = data;
	e->element = element;
	t->n++;
	if (address < t->base)
		t->base = address;
	j->total += size;
}

/* The alt setting --alt names, or -1 after a message. */
static long want_alt(const struct dfu_dev_desc *d, const struct flash_opts *o)
{
	long alt = dev_find_alt(d->alt_names, o->alt);

	if (alt < 0)
		say("%s has no alt setting '%s'; it has:\n%s", d->node, o->alt,
		    d->alt_names);
	return alt;
}

/* The targets and elements of a DfuSe file, those of --alt only if given. */
static int plan_file(const char *path, const uint8_t *file, size_t len,
		     const struct dfu_dev_desc *d, const struct flash_opts *o, struct job *j)
{
	struct dfuse_file f;
	struct dfuse_target t;
	struct dfuse_element e;
	size_t off, count = 0;
	unsigned int i;
	uint32_t k;
	long alt = -1;

	if (o->has_address) {
		say("%s: --address is for raw images: a DfuSe file gives the address of each of its elements; flash it without --address\n",
		    path);
		return EX_USAGE;
	}
	if (o->alt && (alt = want_alt(d, o)) < 0)
		return EX_USAGE;
	if (dfuse_parse(file, len, &f)) {
		say("%s: internal error: the DfuSe file does not parse again\n", path);
		return EX_SOFTWARE;	/* image_check() passed it */
	}
	for (off = dfuse_first_target(&f), i = 0; i < f.n_targets; i++, off = t.next) {
		dfuse_target_at(&f, off, &t);
		count += t.n_elements;
	}
	j->el = calloc(count ? count : 1, sizeof(*j->el));
	if (!j->el)
		return EX_OSERR;
	for (off = dfuse_first_target(&f), i = 0; i < f.n_targets; i++, off = t.next) {
		dfuse_target_at(&f, off, &t);
		if (alt >= 0 && t.alt != alt)
			continue;
		if (add_target(j, t.alt, i))
			return EX_SOFTWARE;
		for (k = 0, off = t.elements; k < t.n_elements; k++, off = e.next) {
			dfuse_element_at(&f, off, &e);
			if (e.size)
				add_element(j, e.address, e.size, e.data, k);
		}
		if (!j->t[j->n_t - 1].n)
			j->n_t--;	/* nothing to write */
	}
	if (!j->n_t) {
		if (alt >= 0)
			say("%s: the DfuSe file has no data for alt %ld: choose another --alt, or none for all of its targets\n",
			    path, alt);
		else
			say("%s: the DfuSe file's elements are all empty: nothing to flash; use the image built for this device\n",
			    path);
		return EX_DATAERR;
	}
	return EX_OK;
}

/* A raw image: at --address, or the start of the alt's memory. */
static int plan_raw(const uint8_t *file, const struct image_info *info,
		    const struct dfu_dev_desc *d, const struct flash_opts *o,
		    const struct dfuse_zone *z, size_t nz, struct job *j)
{
	long alt = o->alt ? want_alt(d, o) : (long)d->alt;
	uint32_t address;

	if (alt < 0)
		return EX_USAGE;
	if (info->payload_len > UINT32_MAX) {
		say("the image is larger than 4 GiB, more than any DfuSe device holds\n");
		return EX_DATAERR;
	}
	j->raw = 1;
	if (o->has_address) {
		address = o->address;
	} else if (dfuse_map_base(z, nz, (unsigned int)alt, &address)) {
		say("%s: no --address: writing the image at 0x%08x, the start of alt %ld's memory\n",
		    d->node, address, alt);
	} else {
		say("%s: alt %ld has no memory in the device's map; the map is:\n",
		    d->node, alt);
		dfuse_print_zones(stderr, "  ", z, nz, -1);
		return EX_DATAERR;
	}
	j->el = calloc(1, sizeof(*j->el));
	if (!j->el)
		return EX_OSERR;
	add_target(j, (unsigned int)alt, 0);
	add_element(j, address, (uint32_t)info->payload_len, file, 0);
	return EX_OK;
}

/* Every element in writable memory of its alt, or a message: EX_DATAERR. */
static int check_map(const char *path, const struct job *j, const struct dfuse_zone *z, size_t nz)
{
	size_t i, k;
	uint64_t bad;
	int zone;
	char perms[4];

	for (i = 0; i < j->n_t; i++) {
		const struct job_target *t = &j->t[i];

		for (k = t->first; k < t->first + t->n; k++) {
			const struct job_element *e = &j->el[k];

			if (dfuse_map_covers(z, nz, t->alt, e->address, e->size, DFUSE_PERM_WRITE,
					     &bad, &zone))
				continue;
			if (j->raw)
				say("%s: the image (0x%08x-0x%08llx, %u bytes, alt %u)",
				    path, e->address,
				    (unsigned long long)e->address + e->size - 1, e->size, t->alt);
			else
				say("%s: target %u element %u (0x%08x-0x%08llx, %u bytes, alt %u)",
				    path, t->target, e->element, e->address,
				    (unsigned long long)e->address + e->size - 1, e->size, t->alt);
			if (zone < 0) {
				fprintf(stderr, " does not fit the device's memory: 0x%08llx is outside alt %u's memory",
					(unsigned long long)bad, t->alt);
			} else {
				dfuse_perms_str(z[zone].perms, perms);
				fprintf(stderr, " does not fit the device's memory: 0x%08llx is in %s, which is not writable (%s)",
					(unsigned long long)bad, z[zone].name, perms);
			}
			fprintf(stderr, "; nothing was sent. Alt %u's memory (sysfs dfuse_map):\n", t->alt);
			dfuse_print_zones(stderr, "  ", z, nz, (int)t->alt);
			fprintf(stderr, "%s\n", j->raw ?
				"Choose an --address (and --alt) where the image fits writable memory." :
				"Use the file built for this device (dfuctl suffix check shows its IDs).");
			return EX_DATAERR;
		}
	}
	return EX_OK;
}

/* Write "0" or "1" to the node's sysfs dfuse_leave; 0 or an errno. */
static int set_leave(const struct dfu_dev_desc *d, int leave)
{
	char path[128];
	int fd, err = 0;

	snprintf(path, sizeof(path), "/sys/class/dfu/%s/dfuse_leave", d->sysname);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return errno;
	if (write(fd, leave ? "1" : "0", 1) != 1)
		err = errno ? errno : EIO;
	if (close(fd) && !err)
		err = errno;
	return err;
}

/* One target: open, alt, base, every element, commit. */
static int write_target(const struct dfu_dev_desc *d, const struct job *j, size_t ti,
			const struct flash_opts *o, struct progress *p, uint64_t *done,
			struct usb_dfu_result *r, int *have_result)
{
	const struct job_target *t = &j->t[ti];
	size_t chunk = (size_t)(d->transfer_size ? d->transfer_size : 2048) * BLOCKS_PER_WRITE;
	struct flash_opts plain = *o;
	__u32 v;
	size_t k;
	int fd, ret, err;

	fd = open_dev(d, O_WRONLY, &ret);
	if (fd < 0)
		return ret;
	plain.commit_suffix = 0;	/* the driver checks no suffix in DfuSe */
	ret = flash_set_commit(fd, d, &plain);
	if (ret)
		goto out;
	v = t->alt;
	if (ioctl(fd, USB_DFU_IOCTL_SET_ALT, &v)) {
		err = errno;
		say("%s: selecting alt setting %u: %s; nothing was sent\n",
		    d->node, t->alt, strerror(err));
		ret = errno_exit(err);
		goto out;
	}
	v = t->base;
	if (ioctl(fd, USB_DFU_IOCTL_DFUSE_SET_BASE, &v)) {
		err = errno;
		say("%s: USB_DFU_IOCTL_DFUSE_SET_BASE 0x%08x: %s; nothing was sent: %s\n",
		    d->node, t->base, strerror(err), dfuse_hint(err));
		ret = err == ENOTTY || err == EOPNOTSUPP ? EX_UNAVAILABLE : errno_exit(err);
		goto out;
	}
	for (k = t->first; k < t->first + t->n; k++) {
		const struct job_element *e = &j->el[k];
		uint32_t off = 0;

		while (off < e->size) {
			size_t n = e->size - off < chunk ? e->size - off : chunk;
			ssize_t w = pwrite(fd, e->data + off, n,
					   (off_t)(e->address - t->base) + off);

			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0) {
				err = w < 0 ? errno : EIO;
				say_nl("%s: writing %s%u element %u at 0x%08llx failed: %s: %s\n",
					d->node, j->raw ? "the image, alt " : "target ",
					j->raw ? t->alt : t->target, e->element,
					(unsigned long long)e->address + off, strerror(err),
					dfuse_hint(err));
				/* not committed: the driver aborts the download */
				ret = errno_exit(err);
				goto out;
			}
			off += (uint32_t)w;
			*done += (uint64_t)w;
			progress_update(p, *done);
			fleet_progress("download", *done, j->total);
		}
	}
	if (ioctl(fd, USB_DFU_IOCTL_COMMIT)) {
		err = errno;
		say_nl("%s: the device did not take %s: %s: %s\n", d->node,
			j->raw ? "the image" : "the target", strerror(err), dfuse_hint(err));
		ret = errno_exit(err);
		goto out;
	}
	*have_result = !ioctl(fd, USB_DFU_IOCTL_GET_RESULT, r);
	ret = EX_OK;
out:
	if (close(fd) && !ret) {
		err = errno;
		say_nl("%s: after the download was committed, close() failed: %s: %s\n",
			d->node, strerror(err), dfuse_hint(err));
		ret = errno_exit(err);
	}
	return ret;
}

/* Read every element back (the device stayed in DFU mode) and compare. */
static int verify(const struct dfu_dev_desc *d, const struct job *j, const struct flash_opts *o)
{
	struct progress p;
	uint64_t done = 0;
	uint8_t *buf = malloc(64 * 1024);
	size_t ti, k;
	int fd = -1, ret = EX_OK, err;
	__u32 v;

	if (!buf)
		return EX_OSERR;
	progress_start(&p, "verify", j->total, o->quiet);
	fleet_progress("verify", 0, j->total);
	for (ti = 0; ti < j->n_t && !ret; ti++) {
		const struct job_target *t = &j->t[ti];

		fd = open_dev(d, O_RDONLY, &ret);
		if (fd < 0)
			break;
		v = t->alt;
		if (ioctl(fd, USB_DFU_IOCTL_SET_ALT, &v) ||
		    (v = t->base, ioctl(fd, USB_DFU_IOCTL_DFUSE_SET_BASE, &v))) {
			err = errno;
			say_nl("verify: %s: selecting alt %u at 0x%08x: %s\n",
				d->node, t->alt, t->base, strerror(err));
			ret = errno_exit(err);
		}
		for (k = t->first; k < t->first + t->n && !ret; k++) {
			const struct job_element *e = &j->el[k];
			uint32_t off = 0;

			while (off < e->size && !ret) {
				size_t n = e->size - off < 65536 ? e->size - off : 65536, i;
				ssize_t r = pread(fd, buf, n, (off_t)(e->address - t->base) + off);

				if (r < 0 && errno == EINTR)
					continue;
				if (r <= 0) {
					err = r < 0 ? errno : EIO;
					say_nl("verify: %s: reading 0x%08llx: %s: %s\n",
						d->node, (unsigned long long)e->address + off,
						r < 0 ? strerror(err) : "the device ended the upload early",
						dfuse_hint(err));
					ret = errno_exit(err);
					break;
				}
				for (i = 0; i < (size_t)r && buf[i] == e->data[off + i]; i++)
					;
				if (i < (size_t)r) {
					say_nl("verify failed: the device differs from the file at 0x%08llx; flash again\n",
						(unsigned long long)e->address + off + i);
					ret = EX_IOERR;
					break;
				}
				off += (uint32_t)r;
				done += (uint64_t)r;
				progress_update(&p, done);
				fleet_progress("verify", done, j->total);
			}
		}
		close(fd);
	}
	free(buf);
	if (!ret) {
		progress_end(&p, done);
		say("verify: %llu bytes match\n", (unsigned long long)done);
	}
	return ret;
}

int flash_dfuse(const char *path, const uint8_t *file, size_t len, const struct image_info *info,
		const struct dfu_dev_desc *d, const struct flash_opts *o)
{
	static struct dfuse_zone z[DFUSE_MAX_ZONES];
	static struct job j;
	struct usb_dfu_result r;
	struct progress p;
	uint64_t done = 0;
	int nz, ret, have_result = 0, leave_now, changed = 0, err, stay;
	size_t ti;

	memset(&j, 0, sizeof(j));
	nz = dfuse_dev_map(d, z, DFUSE_MAX_ZONES);
	if (nz < 0)
		return EX_UNAVAILABLE;
	if (info->dfuse)
		ret = plan_file(path, file, len, d, o, &j);
	else
		ret = plan_raw(file, info, d, o, z, (size_t)nz, &j);
	if (!ret)
		ret = check_map(path, &j, z, (size_t)nz);
	if (ret)
		goto out;
	/* the device stays in DFU mode at the end: --stay, or dfuse_leave 0 */
	stay = o->stay || d->dfuse_leave == 0;
	if (o->verify && !stay) {
		say("%s: --verify reads the device back, but a DfuSe device leaves DFU mode at the end of the flash: add --stay (it needs root), and restart the device afterwards\n",
		    d->node);
		ret = EX_USAGE;
		goto out;
	}
	/* several targets, or --stay: the device must not leave at each commit */
	if ((j.n_t > 1 || o->stay) && d->dfuse_leave != 0) {
		err = set_leave(d, 0);
		if (err) {
			say("%s: %s: %s needs the device to stay in DFU mode %s, which takes writing 0 to /sys/class/dfu/%s/dfuse_leave: %s; nothing was sent. Run as root%s\n",
			    d->node, path, o->stay ? "--stay" : "this file",
			    o->stay ? "after the flash" : "between its targets", d->sysname,
			    strerror(err),
			    o->stay ? "" : ", or flash one target at a time with --alt N (the device leaves after each)");
			ret = err == EACCES || err == EPERM ? EX_NOPERM : EX_OSERR;
			goto out;
		}
		changed = 1;
	}
	if (j.n_t > 1)
		say("%s: %zu targets; the device stays in DFU mode between them\n",
		    d->node, j.n_t);
	progress_start(&p, "download", j.total, o->quiet);
	fleet_progress("download", 0, j.total);
	for (ti = 0; ti < j.n_t; ti++) {
		leave_now = ti + 1 == j.n_t && changed && !o->stay;
		/* the last commit: dfuse_leave as it was, so the device leaves */
		if (leave_now) {
			err = set_leave(d, 1);
			if (err) {
				say_nl("%s: putting dfuse_leave back to 1: %s\n",
					d->node, strerror(err));
				ret = EX_OSERR;
				goto out;
			}
			changed = 0;
		}
		ret = write_target(d, &j, ti, o, &p, &done, &r, &have_result);
		if (ret)
			goto out;
	}
	progress_end(&p, done);
	if (have_result && (r.flags & USB_DFU_RESULT_LEFT))
		say("%s: the device left DFU mode to run its firmware\n", d->node);
	else
		say("%s: the device stays in DFU mode (%s)\n", d->node,
		    o->stay ? "--stay" : "sysfs dfuse_leave is 0");
	if (o->verify)
		ret = verify(d, &j, o);
out:
	if (changed && (err = set_leave(d, d->dfuse_leave != 0))) {
		say("%s: putting dfuse_leave back to %d: %s: write it by hand (echo %d > /sys/class/dfu/%s/dfuse_leave)\n",
		    d->node, d->dfuse_leave != 0, strerror(err), d->dfuse_leave != 0, d->sysname);
		if (!ret)
			ret = EX_OSERR;
	}
	free_job(&j);
	return ret;
}
