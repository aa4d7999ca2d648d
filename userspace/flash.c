// SPDX-License-Identifier: GPL-2.0
/*
 * flash.c - validate an image, then write it to a DFU device and verify
 *
 * The kernel does the DFU protocol: this writes the image to /dev/dfuN in
 * large chunks (each write() returns once its blocks are on the device,
 * so progress is real), and close() reports manifestation.
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
#include "detach.h"
#include "flash.h"
#include "image.h"
#include "progress.h"

/* blocks per write(): large enough to cost nothing, small for progress */
#define BLOCKS_PER_WRITE	16
/* a device that reset itself after manifestation comes back within this */
#define REAPPEAR_MS		10000

/*
 * May the file go to the device with these IDs? A suffix naming another
 * device may still name its DFU-mode IDs, unknown before a detach: then
 * (later) nothing is said yet.
 */
static int judge(const char *path, const uint8_t *file, size_t len,
		 const struct image_ids *ids, int require_suffix, int later,
		 struct image_info *info)
{
	switch (image_check(file, len, ids, info)) {
	case IMAGE_ACCEPT:
		return EX_OK;
	case IMAGE_NO_SUFFIX:
		if (require_suffix)
			break;
		fprintf(stderr, "dfuctl: warning: %s: %s\n", path, info->message);
		return EX_OK;
	case IMAGE_REJECT:
		if (later)
			return EX_DATAERR;
		break;
	default:
		break;
	}
	fprintf(stderr, "dfuctl: %s: %s\n", path, info->message);
	return EX_DATAERR;
}

static const char *write_hint(int err)
{
	switch (err) {
	case EIO:
		return "the device reported an error; see dfuctl status and dmesg, then retry";
	case ETIMEDOUT:
		return "the device stopped answering; replug it and retry";
	case ENODEV:
		return "the device was unplugged or reset; plug it in and retry";
	case EROFS:
		return "this device or alt setting does not take downloads";
	case EOPNOTSUPP:
		return "this node cannot take an image (run-time mode, or DfuSe): try --detach";
	case EINTR:
		return "interrupted; the device is back in dfuIDLE, retry";
	default:
		return "retry, and see dmesg if it fails again";
	}
}

static int download(const struct dfu_dev_desc *d, const uint8_t *img, size_t len,
		    const struct flash_opts *o)
{
	size_t chunk = (size_t)(d->transfer_size ? d->transfer_size : 4096) * BLOCKS_PER_WRITE;
	struct progress p;
	size_t done = 0;
	int fd, ret;

	fd = open_dev(d, O_WRONLY, &ret);
	if (fd < 0)
		return ret;
	if (o->alt && (ret = set_alt(fd, d, o->alt))) {
		close(fd);
		return ret;
	}
	progress_start(&p, "download", len, o->quiet);
	while (done < len) {
		ssize_t n = write(fd, img + done, len - done < chunk ? len - done : chunk);

		if (n < 0) {
			int err = errno;

			fprintf(stderr, "\ndfuctl: %s: download failed after %zu bytes: %s: %s\n",
				d->node, done, strerror(err), write_hint(err));
			close(fd);
			return errno_exit(err);
		}
		done += (size_t)n;
		progress_update(&p, done);
	}
	if (close(fd)) {
		int err = errno;

		fprintf(stderr, "\ndfuctl: %s: the device did not take the image: %s: %s\n",
			d->node, strerror(err), write_hint(err));
		return errno_exit(err);
	}
	progress_end(&p, done);
	return EX_OK;
}

/*
 * The device after manifestation: a manifestation-tolerant one stays where
 * it was; others leave the bus (or get reset) and may come back in DFU
 * mode on the same port.
 */
static int find_again(const struct dfu_dev_desc *d, struct dfu_dev_desc *out)
{
	struct dev_filter f;

	dfu_mode_filter(d, NULL, &f);
	if ((d->attributes & USB_DFU_ATTR_MANIFESTATION_TOLERANT) && dev_find(&f, out) &&
	    out->busnum == d->busnum && out->devnum == d->devnum)
		return EX_OK;
	if (dev_wait(&f, d, REAPPEAR_MS, out) == EX_OK)
		return EX_OK;
	fprintf(stderr, "dfuctl: cannot verify: %s left DFU mode after manifestation (it runs its new firmware); the download itself succeeded\n",
		d->node);
	return EX_UNAVAILABLE;
}

static int verify(const struct dfu_dev_desc *old, const uint8_t *img, size_t len,
		  const struct flash_opts *o)
{
	struct dfu_dev_desc d;
	uint8_t *buf = malloc(len ? len : 1);
	struct progress p;
	size_t done = 0, i;
	int fd, ret, err = 0;

	if (!buf)
		return EX_OSERR;
	ret = find_again(old, &d);
	if (ret)
		goto out;
	fd = open_dev(&d, O_RDONLY, &ret);
	if (fd < 0)
		goto out;
	if (o->alt && (ret = set_alt(fd, &d, o->alt))) {
		close(fd);
		goto out;
	}
	progress_start(&p, "verify", len, o->quiet);
	/* the device may hold more than the image: read just its length */
	while (done < len) {
		ssize_t n = read(fd, buf + done, len - done);

		if (n < 0)
			err = errno;
		if (n <= 0)
			break;
		done += (size_t)n;
		progress_update(&p, done);
	}
	close(fd);
	if (done < len) {
		fprintf(stderr, "\ndfuctl: verify: %s sent %zu of %zu bytes: %s\n", d.node, done,
			len, err ? strerror(err) : "the device ended the upload early");
		ret = err ? errno_exit(err) : EX_IOERR;
		goto out;
	}
	progress_end(&p, done);
	for (i = 0; i < len && buf[i] == img[i]; i++)
		;
	if (i < len) {
		fprintf(stderr, "dfuctl: verify failed: the device differs from the image at byte %zu; flash again\n",
			i);
		ret = EX_IOERR;
		goto out;
	}
	fprintf(stderr, "verify: %zu bytes match\n", len);
	ret = EX_OK;
out:
	free(buf);
	return ret;
}

int flash_image(const char *path, const uint8_t *file, size_t len, const struct flash_opts *o)
{
	struct dfu_dev_desc d, rt;
	struct image_info info;
	struct image_ids ids;
	int fd, ret, later;

	ret = dev_select(&o->filter, &d);
	if (ret)
		return ret;
	if (!strcmp(d.mode, "runtime") && !o->detach) {
		fprintf(stderr, "dfuctl: %s is in run-time mode: add --detach to switch it to DFU mode first\n",
			d.node);
		return EX_USAGE;
	}
	ids.runtime_vid = ids.dfu_vid = d.vid;
	ids.runtime_pid = ids.dfu_pid = d.pid;
	/* a file for another device, or a broken one, never reaches it */
	later = o->detach && !strcmp(d.mode, "runtime");
	ret = judge(path, file, len, &ids, o->require_suffix, later, &info);
	if (ret && !(later && info.verdict == IMAGE_REJECT))
		return ret;

	if (!strcmp(d.mode, "runtime")) {
		rt = d;
		fd = open_dev(&rt, O_RDONLY, &ret);
		if (fd < 0)
			return ret;
		ret = detach_and_wait(fd, &rt, &o->filter, &d);
		close(fd);
		if (ret)
			return ret;
		fprintf(stderr, "%s is in DFU mode as %s (%04x:%04x)\n", rt.node, d.node, d.vid, d.pid);
		/* a suffix for other IDs may name the DFU-mode ones: judge again */
		ids.dfu_vid = d.vid;
		ids.dfu_pid = d.pid;
		if (info.verdict == IMAGE_REJECT)
			ret = judge(path, file, len, &ids, o->require_suffix, 0, &info);
		if (ret) {
			fprintf(stderr, "dfuctl: nothing was written; %s stays in DFU mode (dfuctl reset %s restarts it)\n",
				d.node, d.node);
			return ret;
		}
	}
	ret = download(&d, file, info.payload_len, o);
	if (ret || !o->verify)
		return ret;
	if (!(d.attributes & USB_DFU_ATTR_CAN_UPLOAD)) {
		fprintf(stderr, "dfuctl: cannot verify: %s does not support upload (bitCanUpload is 0); the download itself succeeded\n",
			d.node);
		return EX_UNAVAILABLE;
	}
	return verify(&d, file, info.payload_len, o);
}
