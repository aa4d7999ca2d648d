// SPDX-License-Identifier: GPL-2.0
/*
 * result.c - the end of a download or upload: its outcome, for
 * USB_DFU_IOCTL_GET_RESULT and the sysfs attribute last_result, and the
 * one kernel-log line that hosts ignoring close() (busybox cat) still
 * leave behind. Called by stream.c and upload.c with io_mutex held.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/ktime.h>
#include "dfu.h"

/* One kernel-log line per transfer: the audit trail of hosts that ignore close(). */
static void dfu_stream_log(struct dfu_stream *s, const struct usb_dfu_result *r,
			   int usb_err)
{
	struct device *dev = &s->dfu->dev;
	const char *what = s->upload ? "upload" : "download";
	u64 ms = div_u64(r->duration_us, USEC_PER_MSEC);
	const char *name = dfu_errname(r->error);

	if (!r->error && s->upload && !s->eof)
		dev_info(dev, "upload stopped by the reader after %llu bytes in %llu ms\n",
			 r->bytes, ms);
	else if (!r->error && (r->flags & USB_DFU_RESULT_UNVERIFIED))
		dev_info(dev, "download of %llu bytes sent in %llu ms, unverified: the device is not manifestation tolerant and did not report its manifestation\n",
			 r->bytes, ms);
	else if (!r->error && (r->flags & USB_DFU_RESULT_LEFT) && dfu_apple(s->dfu))
		dev_info(dev, "image of %llu bytes sent in %llu ms and the port reset: the ROM checks it now, and comes back as 05ac:1281 (recovery mode) if it boots it, in DFU mode if not\n",
			 r->bytes, ms);
	else if (!r->error && (r->flags & USB_DFU_RESULT_LEFT))
		dev_info(dev, "download of %llu bytes done in %llu ms; the device left DFU mode to run it\n",
			 r->bytes, ms);
	else if (!r->error)
		dev_info(dev, "%s of %llu bytes done in %llu ms\n", what, r->bytes, ms);
	else if (r->error == -ENODEV)
		dev_err(dev, "%s failed at block %u after %llu bytes: device unplugged\n",
			what, r->block, r->bytes);
	else if (r->error == -EINTR && !s->upload)
		dev_err(dev, "download aborted at block %u after %llu bytes: the writer was killed or exited with an error; nothing manifested\n",
			r->block, r->bytes);
	else if (r->error == -ECANCELED && !s->upload)
		dev_err(dev, "download aborted at block %u after %llu bytes: cancelled or closed without a commit; nothing manifested\n",
			r->block, r->bytes);
	else if (usb_err != r->error)
		dev_err(dev, "%s failed at block %u after %llu bytes: %s (%d, USB %d), device %s (%s)\n",
			what, r->block, r->bytes, name ? name : "error", r->error,
			usb_err, dfu_state_name(r->bState),
			dfu_status_name(r->bStatus));
	else
		dev_err(dev, "%s failed at block %u after %llu bytes: %s (%d), device %s (%s)\n",
			what, r->block, r->bytes, name ? name : "error", r->error,
			dfu_state_name(r->bState), dfu_status_name(r->bStatus));
	if (r->error && !s->upload && dfu_apple(s->dfu))
		dev_info(dev, "nothing booted: Apple's ROM drops a partial image when its DFU session ends (DFU_ABORT or DFU_CLRSTATUS: it leaves the bus and comes back in DFU mode)\n");
}

/**
 * dfu_stream_finish() - end a transfer: record its outcome and log it
 * @s: the stream whose transfer ends
 * @err: 0, or the error as proto.c returned it
 *
 * The device's status recorded is the last one it sent, asked again only
 * after a stall, which says nothing about the cause. The stream gives up
 * the device (dfu_dev.owner) and its autosuspend reference.
 *
 * Context: process; io_mutex held.
 * Return: @err as user space should see it (dfu_errno()).
 */
int dfu_stream_finish(struct dfu_stream *s, int err)
{
	struct dfu_dev *dfu = s->dfu;
	struct usb_dfu_result r = {};
	struct usb_dfu_status st;
	int usb_err = err;

	if (err == -EPIPE && !dfu_gone(dfu))
		dfu_get_status(dfu, &st);
	if (err)
		err = dfu_errno(dfu, err);

	r.error = err;
	r.block = s->block;
	r.flags = s->flags | (s->upload ? USB_DFU_RESULT_UPLOAD : 0);
	r.bytes = s->bytes;
	r.duration_us = ktime_us_delta(ktime_get(), s->start);
	/* the last the device said, also when it is gone */
	r.bStatus = dfu->status.bStatus;
	r.bState = dfu->status.bState;
	spin_lock(&dfu->lock);
	dfu->result = r;
	spin_unlock(&dfu->lock);
	dfu_stream_log(s, &r, usb_err);

	s->error = err;
	s->told = false;
	if (dfu->owner == s)
		WRITE_ONCE(dfu->owner, NULL);	/* read unlocked: dfu_ioctl_reset() */
	/* the call that holds io_mutex holds the device awake as well */
	if (s->pm)
		usb_autopm_put_interface_no_suspend(dfu->intf);
	s->pm = false;
	/*
	 * Last: a file closing in another thread may free the stream as soon
	 * as it sees the transfer is over (dfu_release()).
	 */
	smp_store_release(&s->xfer, err ? DFU_XFER_FAILED : DFU_XFER_DONE);
	return err;
}
