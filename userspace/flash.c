// SPDX-License-Identifier: GPL-2.0
/*
 * flash.c - validate an image, then write it to a DFU device and verify
 *
 * The kernel does the DFU protocol: this writes the image to /dev/dfuN in
 * large chunks (each write() returns once its blocks are on the device,
 * so progress is real), and USB_DFU_IOCTL_COMMIT ends the image and
 * reports manifestation. The file is opened with the commit policy
 * explicit (or suffix, for dfuctl recover when recovery.conf says so):
 * an image that was not written whole is never manifested.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/usb/dfu.h>

#include "apple.h"
#include "commands.h"
#include "detach.h"
#include "devlock.h"
#include "flash.h"
#include "fleet.h"
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
		 const struct image_ids *ids, const struct flash_opts *o, int later,
		 int dfuse_ok, struct image_info *info)
{
	switch (image_check(file, len, ids, info)) {
	case IMAGE_ACCEPT:
		return EX_OK;
	case IMAGE_DFUSE:
		/* a valid DfuSe file for a DfuSe device (or maybe one, after a detach) */
		if (info->dfuse_err == DFUSE_OK && dfuse_ok)
			return EX_OK;
		break;
	case IMAGE_NO_SUFFIX:
		if (o->commit_suffix) {
			say("%s: commit = suffix wants a DFU suffix that names the device, and the file has none, so the driver would never manifest it; nothing was sent: add one with 'dfuctl suffix add %s --vid %04x --pid %04x'\n",
			    path, path, ids->dfu_vid, ids->dfu_pid);
			return EX_DATAERR;
		}
		/* a damaged suffix would be flashed as firmware (image.c) */
		if (o->require_suffix || info->near)
			break;
		say("warning: %s: %s\n", path, info->message);
		return EX_OK;
	case IMAGE_REJECT:
		if (later)
			return EX_DATAERR;
		break;
	default:
		break;
	}
	say("%s: %s\n", path, info->message);
	return EX_DATAERR;
}

/* What to do after a write() or USB_DFU_IOCTL_COMMIT failed with err. */
const char *flash_write_hint(int err)
{
	switch (err) {
	case EIO:
		return "the device reported an error; nothing was manifested: see dfuctl status and dmesg, then flash again";
	case ETIMEDOUT:
		return "the device stopped answering; nothing was manifested: replug it and flash again";
	case ENODEV:
		return "the device was unplugged or reset: plug it in and flash again";
	case EROFS:
		return "this device or alt setting does not take downloads";
	case EOPNOTSUPP:
		return "this node is in run-time mode: switch the device to DFU mode first (--detach)";
	case EINTR:
		return "interrupted; nothing was manifested: flash again";
	case ECANCELED:
		return "the download was aborted (dfuctl abort, or another program's DFU_ABORT); nothing was manifested: flash again";
	case EBADMSG:
		return "the image does not end in a valid DFU suffix for this device, which the commit policy suffix requires; nothing was manifested: check the file with dfuctl suffix check";
	case EMEDIUMTYPE:
		return "the driver found an image for another device (its DFU suffix) or a DfuSe file; nothing was manifested: use the image built for this device";
	case ENODATA:
		return "the file is only a DFU suffix, with no firmware before it; nothing was manifested: pick the firmware image";
	case EBUSY:
		return "another call on this file was writing; nothing was manifested: flash again";
	default:
		return "retry, and see dmesg if it fails again";
	}
}

/*
 * Choose how the image is committed: never by close(), so that a dfuctl
 * that fails or is killed half-way leaves nothing manifested.
 */
int flash_set_commit(int fd, const struct dfu_dev_desc *d, const struct flash_opts *o)
{
	__u32 policy = o->commit_suffix ? USB_DFU_COMMIT_SUFFIX : USB_DFU_COMMIT_EXPLICIT;
	int err;

	if (!ioctl(fd, USB_DFU_IOCTL_SET_COMMIT, &policy))
		return EX_OK;
	err = errno;
	if (err == ENOTTY || err == EINVAL) {
		say("%s: the loaded dfu.ko has no commit policies (USB_DFU_IOCTL_SET_COMMIT: %s); nothing was sent: load the dfu.ko that comes with this dfuctl\n",
		    d->node, strerror(err));
		return EX_UNAVAILABLE;
	}
	say("%s: choosing the commit policy: %s; nothing was sent: %s\n",
	    d->node, strerror(err), flash_write_hint(err));
	return errno_exit(err);
}

/*
 * Write the image and commit it; *r gets USB_DFU_IOCTL_GET_RESULT's answer
 * after the commit (zeroed when the driver gave none).
 */
static int download(const struct dfu_dev_desc *d, const uint8_t *img, size_t len,
		    const struct flash_opts *o, struct usb_dfu_result *res)
{
	size_t chunk = (size_t)(d->transfer_size ? d->transfer_size : 4096) * BLOCKS_PER_WRITE;
	struct usb_dfu_result r;
	struct progress p;
	size_t done = 0;
	int fd, ret, err, have_result;

	memset(res, 0, sizeof(*res));
	fd = open_dev(d, O_WRONLY, &ret);
	if (fd < 0)
		return ret;
	ret = flash_set_commit(fd, d, o);
	if (!ret && o->alt)
		ret = set_alt(fd, d, o->alt);
	if (ret) {
		close(fd);
		return ret;
	}
	progress_start(&p, "download", len, o->quiet);
	fleet_progress("download", 0, len);
	while (done < len) {
		ssize_t n = write(fd, img + done, len - done < chunk ? len - done : chunk);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = errno;
			say_nl("%s: download failed after %zu bytes: %s: %s\n",
				d->node, done, strerror(err), flash_write_hint(err));
			/* not committed: the driver aborts the image */
			close(fd);
			return errno_exit(err);
		}
		done += (size_t)n;
		progress_update(&p, done);
		fleet_progress("download", done, len);
	}
	/* the whole image is written: now, and only now, it may be manifested */
	if (ioctl(fd, USB_DFU_IOCTL_COMMIT)) {
		err = errno;
		say_nl("%s: the device did not take the image: %s: %s\n",
			d->node, strerror(err), flash_write_hint(err));
		close(fd);
		return errno_exit(err);
	}
	/* a device that left the bus to start its firmware has no result */
	have_result = !ioctl(fd, USB_DFU_IOCTL_GET_RESULT, &r);
	if (have_result)
		*res = r;
	if (close(fd)) {
		err = errno;
		say_nl("%s: after the image was committed, close() failed: %s: %s\n",
			d->node, strerror(err), flash_write_hint(err));
		return errno_exit(err);
	}
	progress_end(&p, done);
	if (have_result && (r.flags & USB_DFU_RESULT_UNVERIFIED))
		say("%s: %zu bytes sent, but the device did not confirm manifestation (it is not manifestation tolerant)\n",
		    d->node, done);
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
	say("cannot verify: %s left DFU mode after manifestation (it runs its new firmware); the download itself succeeded\n",
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
	fleet_progress("verify", 0, len);
	/* the device may hold more than the image: read just its length */
	while (done < len) {
		ssize_t n = read(fd, buf + done, len - done);

		if (n < 0)
			err = errno;
		if (n <= 0)
			break;
		done += (size_t)n;
		progress_update(&p, done);
		fleet_progress("verify", done, len);
	}
	close(fd);
	if (done < len) {
		say_nl("verify: %s sent %zu of %zu bytes: %s\n", d.node, done,
			len, err ? strerror(err) : "the device ended the upload early");
		ret = err ? errno_exit(err) : EX_IOERR;
		goto out;
	}
	progress_end(&p, done);
	for (i = 0; i < len && buf[i] == img[i]; i++)
		;
	if (i < len) {
		say("verify failed: the device differs from the image at byte %zu; flash again\n",
		    i);
		ret = EX_IOERR;
		goto out;
	}
	say("verify: %zu bytes match\n", len);
	ret = EX_OK;
out:
	free(buf);
	return ret;
}

/*
 * --reset (dfu-util -R): the device d was flashed and is still in DFU mode
 * on its port, as a manifestation-tolerant device stays: a USB reset, so
 * that it leaves DFU mode (USB_DFU_IOCTL_RESET). A device that left (the
 * driver resets one that is not manifestation tolerant, a DfuSe device
 * leaves) needs none. Returns a sysexits code.
 */
static int reset_after(const struct dfu_dev_desc *d)
{
	struct dev_filter f = { .node = d->node, .mode = "dfu" };
	struct dfu_dev_desc now;
	int fd, ret, ro_why;

	if (!dev_find(&f, &now) || now.busnum != d->busnum || now.devnum != d->devnum) {
		fprintf(stderr, "dfuctl flash: --reset: %s already left DFU mode after the download (it was reset or left by itself): no reset needed\n",
			d->node);
		return EX_OK;
	}
	fd = open_ctl(&now, &ro_why, &ret);
	if (fd < 0)
		return ret;
	ret = EX_OK;
	if (ioctl(fd, USB_DFU_IOCTL_RESET) && errno != ENODEV)
		ret = ctl_failed(&now, "reset", errno, ro_why);
	close(fd);
	if (!ret)
		fprintf(stderr, "dfuctl flash: --reset: %s got a USB reset, to leave DFU mode and start its firmware\n",
			d->node);
	return ret;
}

/* --address and --stay on a device that is not DfuSe: EX_USAGE. */
static int dfuse_options(const struct dfu_dev_desc *d, const struct flash_opts *o)
{
	if (d->dfuse || (!o->has_address && !o->stay))
		return EX_OK;
	say("%s: %s is only for ST DfuSe devices (they show a memory map in sysfs dfuse_map), and %04x:%04x is a plain DFU device, whose image has no address: flash it without %s\n",
	    d->node, o->has_address ? "--address" : "--stay", d->vid, d->pid,
	    o->has_address ? "--address" : "--stay");
	return EX_USAGE;
}

/* The options that make no sense for Apple's ROM, and why: EX_USAGE, or EX_OK. */
static int apple_options(const struct dfu_dev_desc *d, const struct flash_opts *o)
{
	const char *opt = NULL, *why = NULL;

	if (o->verify) {
		opt = "--verify";
		why = "its ROM has no upload, so nothing can be read back; whether it booted the image is what dfuctl reports";
	} else if (o->require_suffix || o->commit_suffix) {
		opt = o->require_suffix ? "--require-suffix" : "commit = suffix";
		why = "its images (IMG4) carry no DFU suffix: the driver appends the one the ROM wants";
	} else if (o->has_address || o->stay) {
		opt = o->has_address ? "--address" : "--stay";
		why = "that is for ST DfuSe devices only";
	} else if (o->reset) {
		opt = "--reset";
		why = "the driver resets its ROM after the image, which is how the ROM boots it";
	}
	if (!opt)
		return EX_OK;
	say("%s is an Apple device in DFU mode, and %s does not apply: %s; nothing was sent\n",
	    d->node, opt, why);
	return EX_USAGE;
}

/*
 * An Apple device in DFU mode (USB_DFU_DIALECT_APPLE): the image goes whole,
 * as irecovery sends it, and the driver appends the ROM's suffix, ends the
 * image and resets the port (USB_DFU_RESULT_LEFT). The ROM checks the
 * image and leaves the bus: it comes back on the same port as 05ac:1281
 * (recovery mode) when it booted the image, as 05ac:1227 when it rejected
 * it. That is the outcome: EX_OK, EX_DATAERR, or EX_UNAVAILABLE when
 * nothing comes back within o->timeout_s.
 */
static int flash_apple(const char *path, const uint8_t *file, size_t len,
		       const struct dfu_dev_desc *d, const struct flash_opts *o)
{
	int wait_s = o->timeout_s ? o->timeout_s : FLASH_APPLE_WAIT_S, ret;
	struct usb_dfu_result r;
	struct image_info info;
	struct image_ids ids;
	struct apple_id id;
	unsigned int devnum;
	uint16_t vid, pid;
	char who[256];

	ret = apple_options(d, o);
	if (ret)
		return ret;
	if (!len) {
		say("%s: the file is empty; nothing was sent\n", path);
		return EX_DATAERR;
	}
	ids.runtime_vid = ids.dfu_vid = d->vid;
	ids.runtime_pid = ids.dfu_pid = d->pid;
	if (image_check(file, len, &ids, &info) != IMAGE_NO_SUFFIX && info.has_suffix)
		say("warning: %s ends in a DFU suffix (for %04x:%04x), which Apple's images do not have: it is sent whole, as irecovery sends it\n",
		    path, info.suffix.idVendor, info.suffix.idProduct);
	apple_parse_serial(d->serial, &id);
	say("%s: Apple device in DFU mode: %s\n", d->node,
	    apple_id_str(&id, who, sizeof(who)));
	ret = download(d, file, len, o, &r);
	if (ret)
		return ret;
	if (!(r.flags & USB_DFU_RESULT_LEFT))
		say("warning: %s: the driver does not say that it reset the ROM in dfuMANIFEST-WAIT-RESET (no USB_DFU_RESULT_LEFT): is the loaded dfu.ko older than this dfuctl? Waiting for the device anyway\n",
		    d->node);
	say("%s: image sent and the port reset; the ROM checks it now: waiting up to %d s for the device on USB port %s\n",
	    d->node, wait_s, d->usb_path);
	ret = dev_wait_port(d->usb_path, d->devnum, wait_s * 1000, &vid, &pid, &devnum);
	if (ret == EX_UNAVAILABLE) {
		say("%s: no device came back on USB port %s within %d s after the image: see dmesg and lsusb. A device that shows nothing may run an image without USB, or be stuck: put it into DFU mode again (its button sequence) and flash again; --timeout SECONDS waits longer\n",
		    d->node, d->usb_path, wait_s);
		return EX_UNAVAILABLE;
	}
	if (ret)
		return ret;
	switch (apple_mode_of(vid, pid)) {
	case APPLE_RECOVERY:
		say("%s: booted the image (now in recovery mode, %04x:%04x)\n", d->node,
		    vid, pid);
		say("%s: recovery mode is not DFU and dfu.ko does not serve it: continue with irecovery or idevicerestore\n",
		    d->node);
		return EX_OK;
	case APPLE_DFU:
		say("%s: rejected the image (back in DFU mode): the ROM boots only images signed for this device (ECID %s); use an image signed for it (idevicerestore gets them signed for the ECID)\n",
		    d->node, *id.ecid ? id.ecid : "unknown");
		return EX_DATAERR;
	default:
		say("%s: booted the image: the ROM left DFU mode and the device is now %04x:%04x on USB port %s (neither DFU nor recovery mode)\n",
		    d->node, vid, pid, d->usb_path);
		return EX_OK;
	}
}

int flash_image(const char *path, const uint8_t *file, size_t len, const struct flash_opts *o)
{
	struct dfu_dev_desc d, rt;
	struct usb_dfu_result res;
	struct image_info info;
	struct image_ids ids;
	int fd, ret, later, ro_why;

	ret = dev_select_wait(&o->filter, o->find.wait_ms, &d);
	/* a device that arrived during --wait: the lock of its port too */
	if (!ret)
		ret = devlock_follow(&d);
	if (ret)
		return ret;
	if (!strcmp(d.mode, "runtime") && !o->detach) {
		say("%s is in run-time mode: add --detach to switch it to DFU mode first\n",
		    d.node);
		return EX_USAGE;
	}
	if (!strcmp(d.mode, "dfu") && dev_read_dialect(&d) == USB_DFU_DIALECT_APPLE)
		return flash_apple(path, file, len, &d, o);
	/* (a run-time device shows what it is after the detach) */
	if (strcmp(d.mode, "runtime") && (ret = dfuse_options(&d, o)))
		return ret;
	ids.runtime_vid = ids.dfu_vid = d.vid;
	ids.runtime_pid = ids.dfu_pid = d.pid;
	/* the driver's suffix check takes the run-time IDs it saw too */
	if (d.has_runtime_id) {
		ids.runtime_vid = d.runtime_vid;
		ids.runtime_pid = d.runtime_pid;
	}
	/*
	 * A file for another device, or a broken one, never reaches it, and
	 * a run-time device is not detached for it: the suffix must name its
	 * run-time IDs, or DFU-mode IDs that --device RUNTIME,DFU allows (the
	 * real ones are checked again after the detach).
	 */
	later = o->detach && !strcmp(d.mode, "runtime");
	ret = judge(path, file, len, &ids, o, later, d.dfuse || later, &info);
	if (ret && later && info.verdict == IMAGE_REJECT &&
	    !(o->filter.n_ids == 2 &&
	      dev_ids_match(&o->filter, 1, info.suffix.idVendor, info.suffix.idProduct))) {
		char given[32];

		if (o->filter.n_ids == 2)
			say("%s: the image is for %04x:%04x, but %s is %04x:%04x in run-time mode and %s in DFU mode (--device); nothing was sent, the device was not detached: use the image built for this device\n",
			    path, info.suffix.idVendor, info.suffix.idProduct, d.node, d.vid,
			    d.pid, dev_ids_str(&o->filter, 1, given, sizeof(given)));
		else
			say("%s: the image is for %04x:%04x, but %s is %04x:%04x in run-time mode, and its DFU-mode IDs are not known before the detach; nothing was sent, the device was not detached: use the image built for this device, or, if %04x:%04x is this device in DFU mode, say so with --device %04x:%04x,%04x:%04x\n",
			    path, info.suffix.idVendor, info.suffix.idProduct, d.node, d.vid,
			    d.pid, info.suffix.idVendor, info.suffix.idProduct, d.vid, d.pid,
			    info.suffix.idVendor, info.suffix.idProduct);
		return ret;
	}
	if (ret && !(later && info.verdict == IMAGE_REJECT))
		return ret;

	if (!strcmp(d.mode, "runtime")) {
		rt = d;
		fd = open_ctl(&rt, &ro_why, &ret);
		if (fd < 0)
			return ret;
		ret = detach_and_find(fd, &rt, &o->filter, &o->find, ro_why, &d);
		close(fd);
		if (ret)
			return ret;
		/* a suffix for other IDs may name the DFU-mode ones: judge again */
		ids.dfu_vid = d.vid;
		ids.dfu_pid = d.pid;
		if (info.verdict == IMAGE_REJECT || info.verdict == IMAGE_DFUSE)
			ret = judge(path, file, len, &ids, o, 0, d.dfuse, &info);
		if (ret) {
			say("nothing was written; %s stays in DFU mode (dfuctl reset %s restarts it)\n",
			    d.node, d.node);
			return ret;
		}
	}
	if (d.dfuse) {
		ret = flash_dfuse(path, file, len, &info, &d, o);
		return ret || !o->reset ? ret : reset_after(&d);
	}
	ret = dfuse_options(&d, o);
	if (ret)
		return ret;
	/*
	 * Under the suffix policy the driver checks the suffix again and does
	 * not send it; otherwise it is stripped here.
	 */
	ret = download(&d, file, o->commit_suffix ? len : info.payload_len, o, &res);
	if (!ret && o->verify && !(d.attributes & USB_DFU_ATTR_CAN_UPLOAD)) {
		say("cannot verify: %s does not support upload (bitCanUpload is 0); the download itself succeeded\n",
		    d.node);
		ret = EX_UNAVAILABLE;
	} else if (!ret && o->verify) {
		ret = verify(&d, file, info.payload_len, o);
	}
	return ret || !o->reset ? ret : reset_after(&d);
}
