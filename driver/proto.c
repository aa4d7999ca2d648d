// SPDX-License-Identifier: GPL-2.0
/*
 * proto.c - the DFU class requests (DFU 1.1, section 3)
 *
 * Every function here is called with dfu_dev.io_mutex held and knows nothing
 * about files or streams. Requests go out on one preallocated control URB,
 * so that disconnect() can end a transfer in flight at once and no block
 * allocates. states.c drives the device through its states with them.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/completion.h>
#include "dfu.h"

/**
 * dfu_errno() - the errno a caller sees for an error of a request
 * @dfu: the device
 * @err: a negative errno from this file's functions or usbcore
 *
 * A device's complaint (stall, malformed answer, bus error) is -EIO, an
 * unplugged device -ENODEV; errors the driver chose itself pass as they
 * are. The one classifier of the driver. An unplug shows first as a bus
 * error (-EPROTO) and only later as disconnect(): the call in flight then
 * fails with -EIO, the next one with -ENODEV.
 *
 * Context: any.
 * Return: the negative errno for user space.
 */
int dfu_errno(struct dfu_dev *dfu, int err)
{
	if (dfu_gone(dfu) || err == -ESHUTDOWN)
		return -ENODEV;
	switch (err) {
	case -EINTR:
	case -ETIMEDOUT:
	case -ECANCELED:
	case -EFAULT:
	case -EBUSY:
	case -EAGAIN:
	case -EINVAL:
	case -EPERM:
	case -EBADF:
	case -EROFS:
	case -EMEDIUMTYPE:
	case -ENODATA:
	case -EBADMSG:
	case -EACCES:
	case -ENOSPC:
	case -ENXIO:
		return err;
	default:
		return usb_translate_errors(err);
	}
}

static void dfu_ctrl_complete(struct urb *urb)
{
	struct dfu_dev *dfu = urb->context;

	dfu->done_time = ktime_get();
	complete(&dfu->done);
}

static bool dfu_request_is_in(u8 request)
{
	return request == DFU_UPLOAD || request == DFU_GETSTATUS ||
	       request == DFU_GETSTATE;
}

/**
 * dfu_request_timeout() - send one class request to the DFU interface
 *	(DFU 1.1, section 3, table 3.2) and wait for it
 * @dfu: the device
 * @request: DFU_DNLOAD, DFU_GETSTATUS, ...; its direction follows
 * @value: wValue
 * @data: the data stage, DMA-safe (@dfu->buf or @dfu->sbuf), or NULL
 * @len: wLength, bytes of @data
 * @timeout_ms: the longest wait for the request to complete, in ms
 * @killable: a fatal signal ends the wait (the URB is killed)
 *
 * Context: process; io_mutex held.
 * Return: the bytes transferred, -ENODEV once the device is unplugged,
 * -EIO once a USB reset of the device is waiting, -ETIMEDOUT, -EINTR,
 * -EPIPE for a stall, or another USB error.
 */
int dfu_request_timeout(struct dfu_dev *dfu, u8 request, u16 value,
			void *data, u16 len, unsigned int timeout_ms,
			bool killable)
{
	unsigned long timeout = msecs_to_jiffies(timeout_ms);
	bool in = dfu_request_is_in(request);
	unsigned int pipe;
	long left;
	int ret;

	if (dfu_gone(dfu))
		return -ENODEV;
	if (dfu_resetting(dfu))
		return -EIO;

	dfu->setup->bRequestType = (in ? USB_DIR_IN : USB_DIR_OUT) |
				   USB_TYPE_CLASS | USB_RECIP_INTERFACE;
	dfu->setup->bRequest = request;
	dfu->setup->wValue = cpu_to_le16(value);
	dfu->setup->wIndex = cpu_to_le16(dfu->info.bInterfaceNumber);
	dfu->setup->wLength = cpu_to_le16(len);
	pipe = in ? usb_rcvctrlpipe(dfu->udev, 0) : usb_sndctrlpipe(dfu->udev, 0);
	usb_fill_control_urb(dfu->urb, dfu->udev, pipe, (u8 *)dfu->setup,
			     data, len, dfu_ctrl_complete, dfu);

	reinit_completion(&dfu->done);
	ret = usb_submit_urb(dfu->urb, GFP_KERNEL);
	if (ret) {
		if (dfu_gone(dfu))
			return -ENODEV;
		/* poisoned by a pre_reset() that began after the check above */
		return dfu_resetting(dfu) ? -EIO : ret;
	}

	/* disconnect() poisons the URB, which completes it at once */
	if (killable)
		left = wait_for_completion_killable_timeout(&dfu->done, timeout);
	else
		left = wait_for_completion_timeout(&dfu->done, timeout);
	if (left <= 0) {
		usb_kill_urb(dfu->urb);
		if (dfu_gone(dfu))
			return -ENODEV;
		return left ? -EINTR : -ETIMEDOUT;
	}
	if (dfu_gone(dfu))
		return -ENODEV;
	/* pre_reset() poisons the URB, too: the reset ends the request */
	if (dfu_resetting(dfu))
		return -EIO;
	if (dfu->urb->status)
		return dfu->urb->status;
	return dfu->urb->actual_length;
}

/**
 * dfu_request() - dfu_request_timeout() within ctrl_timeout_ms, killable
 * @dfu: the device
 * @request: the DFU request
 * @value: wValue
 * @data: the data stage, DMA-safe, or NULL
 * @len: wLength
 *
 * Context: process; io_mutex held.
 * Return: as dfu_request_timeout().
 */
int dfu_request(struct dfu_dev *dfu, u8 request, u16 value, void *data,
		u16 len)
{
	return dfu_request_timeout(dfu, request, value, data, len,
				   READ_ONCE(dfu_ctrl_timeout_ms), true);
}

/* What the device said last, for sysfs, which never asks it. */
static void dfu_seen(struct dfu_dev *dfu, u8 state, int status)
{
	WRITE_ONCE(dfu->seen_state, state);
	if (status != DFU_UNKNOWN)
		WRITE_ONCE(dfu->seen_status, status);
}

/**
 * dfu_read_status() - send DFU_GETSTATUS (DFU 1.1, 6.1.2) and check the answer
 * @dfu: the device
 * @st: where the answer goes; it is also kept in @dfu->status, and what
 *	sysfs shows
 * @timeout_ms: the longest wait, in ms
 * @killable: a fatal signal ends the wait
 *
 * In run-time mode, where the request is optional, a stall reads as
 * appIDLE with bStatus OK.
 *
 * Context: process; io_mutex held.
 * Return: 0, -EPROTO for an answer that is not 6 bytes or has a bState
 * outside the spec, or an error of the transfer.
 */
int dfu_read_status(struct dfu_dev *dfu, struct usb_dfu_status *st,
		    unsigned int timeout_ms, bool killable)
{
	u8 *b = dfu->sbuf;
	int ret;

	ret = dfu_request_timeout(dfu, DFU_GETSTATUS, 0, b, DFU_GETSTATUS_LEN,
				  timeout_ms, killable);
	if (ret == -EPIPE && dfu->info.mode == USB_DFU_MODE_RUNTIME) {
		/* optional in run-time mode (DFU 1.1, 6.1.2): a stall means appIDLE */
		memset(st, 0, sizeof(*st));
		st->bState = USB_DFU_STATE_APP_IDLE;
		dfu->status = *st;
		dfu_seen(dfu, st->bState, st->bStatus);
		return 0;
	}
	if (ret < 0)
		return ret;
	if (ret != DFU_GETSTATUS_LEN || b[4] > USB_DFU_STATE_ERROR) {
		/* (probe asks before dfuN exists: then name the interface) */
		dev_warn_ratelimited(device_is_registered(&dfu->dev) ?
				     &dfu->dev : &dfu->intf->dev,
				     "malformed DFU_GETSTATUS answer (%d bytes, bState %u)\n",
				     ret, ret > 4 ? b[4] : 0);
		return -EPROTO;
	}
	st->bStatus = b[0];
	st->bwPollTimeout = b[1] | b[2] << 8 | b[3] << 16;
	st->bState = b[4];
	st->iString = b[5];
	st->reserved = 0;
	dfu->status = *st;
	dfu_seen(dfu, st->bState, st->bStatus);
	return 0;
}

/**
 * dfu_get_status() - send DFU_GETSTATUS (DFU 1.1, 6.1.2)
 * @dfu: the device
 * @st: where the answer goes; it is also kept in @dfu->status
 *
 * Context: process; io_mutex held.
 * Return: 0, -EPROTO for an answer that is not 6 bytes or has a bState
 * outside the spec, or an error of the transfer (-ENODEV, -ETIMEDOUT,
 * -EINTR, -EPIPE, ...).
 */
int dfu_get_status(struct dfu_dev *dfu, struct usb_dfu_status *st)
{
	return dfu_read_status(dfu, st, READ_ONCE(dfu_ctrl_timeout_ms), true);
}

/**
 * dfu_get_state() - send DFU_GETSTATE, which never changes the state
 * @dfu: the device
 * @state: where bState goes
 *
 * Context: process; io_mutex held.
 * Return: 0, -EPROTO for a malformed answer, or a transfer error.
 */
int dfu_get_state(struct dfu_dev *dfu, u8 *state)
{
	int ret;

	ret = dfu_request(dfu, DFU_GETSTATE, 0, dfu->sbuf, 1);
	if (ret == -EPIPE && dfu->info.mode == USB_DFU_MODE_RUNTIME) {
		*state = USB_DFU_STATE_APP_IDLE;
		dfu_seen(dfu, *state, DFU_UNKNOWN);
		return 0;
	}
	if (ret < 0)
		return ret;
	if (ret != 1 || dfu->sbuf[0] > USB_DFU_STATE_ERROR)
		return -EPROTO;
	*state = dfu->sbuf[0];
	dfu_seen(dfu, *state, DFU_UNKNOWN);
	return 0;
}

/**
 * dfu_abort() - send DFU_ABORT: back to dfuIDLE from dfuDNLOAD-IDLE or
 *	dfuUPLOAD-IDLE (DFU 1.1, 6.1.4)
 * @dfu: the device
 *
 * Context: process; io_mutex held.
 * Return: 0 or a transfer error.
 */
int dfu_abort(struct dfu_dev *dfu)
{
	int ret = dfu_request(dfu, DFU_ABORT, 0, NULL, 0);

	return ret < 0 ? ret : 0;
}

/**
 * dfu_clear_status() - leave dfuERROR with DFU_CLRSTATUS (DFU 1.1, 6.1.3)
 * @dfu: the device
 *
 * Sends DFU_GETSTATUS first and DFU_CLRSTATUS only if the device is in
 * dfuERROR: some devices (the ST library) treat a CLRSTATUS in any other
 * state as an error.
 *
 * Context: process; io_mutex held.
 * Return: 0 or a transfer error.
 */
int dfu_clear_status(struct dfu_dev *dfu)
{
	struct usb_dfu_status st;
	int ret;

	ret = dfu_get_status(dfu, &st);
	if (ret || st.bState != USB_DFU_STATE_ERROR)
		return ret;
	ret = dfu_request(dfu, DFU_CLRSTATUS, 0, NULL, 0);
	return ret < 0 ? ret : 0;
}

/**
 * dfu_upload() - read one block with DFU_UPLOAD (DFU 1.1, 6.2)
 * @dfu: the device
 * @block: block index; the wValue sent is its low 16 bits
 * @len: wLength, at most wTransferSize
 *
 * The bytes go to @dfu->buf; a shorter answer ends the upload.
 *
 * Context: process; io_mutex held.
 * Return: the number of bytes received, or a transfer error.
 */
int dfu_upload(struct dfu_dev *dfu, u32 block, u16 len)
{
	return dfu_request(dfu, DFU_UPLOAD, block & 0xffff, dfu->buf, len);
}

/**
 * dfu_detach() - ask a run-time device to switch to DFU mode (DFU 1.1, 5.1)
 * @dfu: a device in run-time mode
 * @timeout_ms: wValue, the time the device waits for the reset that
 *	follows; 0 for min(wDetachTimeOut, 1000), as dfu-util uses
 *
 * Errors of the request itself are not fatal: devices that restart at
 * once may stall it or vanish (fwupd ignores them too). The caller resets
 * the device unless it has bitWillDetach.
 *
 * Context: process; io_mutex held.
 * Return: 0, also when the device left at once; -EINVAL if the device is
 * not in run-time mode.
 */
int dfu_detach(struct dfu_dev *dfu, u32 timeout_ms)
{
	int ret;

	if (dfu->info.mode != USB_DFU_MODE_RUNTIME)
		return -EINVAL;
	if (!timeout_ms)
		timeout_ms = min_t(u32, dfu->info.wDetachTimeOut, 1000);
	ret = dfu_request(dfu, DFU_DETACH, min_t(u32, timeout_ms, 0xffff), NULL, 0);
	if (ret < 0)
		dev_info(&dfu->dev, "DFU_DETACH: %s (%d), as devices that restart at once do\n",
			 dfu_gone(dfu) ? "device left" : "failed", ret);
	return 0;
}

