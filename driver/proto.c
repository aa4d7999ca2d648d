// SPDX-License-Identifier: GPL-2.0
/*
 * proto.c - DFU class requests and the host side of the DFU state machine
 *
 * Every function here is called with dfu_dev.io_mutex held and knows nothing
 * about files or streams. Requests go out on one preallocated control URB,
 * so that disconnect() can end a transfer in flight at once and no block
 * allocates.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/hrtimer.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include "dfu.h"

/*
 * A device that answers "busy, poll again in 0 ms" gets this many immediate
 * polls; after that the host waits DFU_ZERO_POLL_FLOOR_US between polls so
 * that a device that never finishes cannot keep the bus saturated.
 */
#define DFU_ZERO_POLLS_FREE	16
#define DFU_ZERO_POLL_FLOOR_US	1000
/* Poll time for devices whose bwPollTimeout is bogus (DFU_QUIRK_POLL_5MS). */
#define DFU_QUIRK_POLL_MS	5U
/* Stalled DFU_GETSTATUS requests in a row taken for "still busy". */
#define DFU_BUSY_STALLS_MAX	3
/* Timer slack for poll waits: small next to a 1 ms bwPollTimeout. */
#define DFU_POLL_SLACK_NS	(50 * NSEC_PER_USEC)
/*
 * DFU_ABORT ends a stream that is being given up, also by a dying process:
 * it is not killable, so it gets a short bound of its own.
 */
#define DFU_ABORT_TIMEOUT_MS	1000U

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

/*
 * Send one class request to the DFU interface (DFU 1.1, section 3) and wait
 * for it, at most @timeout_ms; a fatal signal ends the wait when @killable.
 * @data must be DMA-safe. Returns the bytes transferred, -ENODEV once the
 * device is unplugged, -ETIMEDOUT, -EINTR, -EPIPE for a stall, or another
 * USB error.
 */
static int dfu_request_timeout(struct dfu_dev *dfu, u8 request, u16 value,
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
	if (ret)
		return dfu_gone(dfu) ? -ENODEV : ret;

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
	if (dfu->urb->status)
		return dfu->urb->status;
	return dfu->urb->actual_length;
}

static int dfu_request(struct dfu_dev *dfu, u8 request, u16 value,
		       void *data, u16 len)
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
	u8 *b = dfu->sbuf;
	int ret;

	ret = dfu_request(dfu, DFU_GETSTATUS, 0, b, DFU_GETSTATUS_LEN);
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
		dev_warn_ratelimited(&dfu->dev,
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
 * Not killable, so that a dying writer still stops its image, but bounded
 * by DFU_ABORT_TIMEOUT_MS.
 *
 * Context: process; io_mutex held.
 * Return: 0 or a transfer error.
 */
int dfu_abort(struct dfu_dev *dfu)
{
	int ret;

	ret = dfu_request_timeout(dfu, DFU_ABORT, 0, NULL, 0,
				  min(READ_ONCE(dfu_ctrl_timeout_ms),
				      DFU_ABORT_TIMEOUT_MS), false);
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

/*
 * Wait until @until, with a small slack: an absolute hrtimer costs the
 * bwPollTimeout and little more, where msleep() and fsleep() add up to a
 * jiffy or twice the time. A fatal signal or disconnect() ends the wait.
 */
static int dfu_sleep_until(struct dfu_dev *dfu, ktime_t until)
{
	DEFINE_WAIT(wait);
	int ret = 0;

	for (;;) {
		prepare_to_wait(&dfu->wait, &wait, TASK_KILLABLE);
		if (dfu_gone(dfu)) {
			ret = -ENODEV;
			break;
		}
		if (fatal_signal_pending(current)) {
			ret = -EINTR;
			break;
		}
		if (!ktime_before(ktime_get(), until))
			break;
		schedule_hrtimeout_range(&until, DFU_POLL_SLACK_NS,
					 HRTIMER_MODE_ABS);
	}
	finish_wait(&dfu->wait, &wait);
	return ret;
}

/*
 * Wait the poll timeout the device asked for, counted from the completion
 * of the DFU_GETSTATUS that reported it: DFU 1.1 (6.1.2) forbids asking
 * earlier. A wait that would end after @deadline fails at once.
 */
static int dfu_poll_wait(struct dfu_dev *dfu, u32 poll_ms, ktime_t deadline,
			 unsigned int *zero_polls)
{
	ktime_t until;

	if (!poll_ms) {
		if (++*zero_polls <= DFU_ZERO_POLLS_FREE)
			return 0;
		until = ktime_add_us(ktime_get(), DFU_ZERO_POLL_FLOOR_US);
	} else {
		until = ktime_add_ms(dfu->done_time, poll_ms);
	}
	if (ktime_after(until, deadline)) {
		dev_err(&dfu->dev, "device asks to wait %u ms, beyond busy_timeout_ms (%u ms)\n",
			poll_ms, READ_ONCE(dfu_busy_timeout_ms));
		return -ETIMEDOUT;
	}
	return dfu_sleep_until(dfu, until);
}

/* States in which the device is still working on a block or manifestation. */
static bool dfu_state_busy(u8 state)
{
	return state == USB_DFU_STATE_DNLOAD_SYNC || state == USB_DFU_STATE_DNBUSY ||
	       state == USB_DFU_STATE_MANIFEST_SYNC || state == USB_DFU_STATE_MANIFEST;
}

/*
 * Poll DFU_GETSTATUS while the device reports a busy or synchronising state,
 * waiting bwPollTimeout between polls, for at most busy_timeout_ms.
 * The first answer after a request may still name the previous state
 * (Zephyr), so this loops on the state, not on a count of polls.
 */
static int dfu_wait_while_busy(struct dfu_dev *dfu, struct usb_dfu_status *st)
{
	unsigned int busy_ms = READ_ONCE(dfu_busy_timeout_ms);
	ktime_t deadline = ktime_add_ms(ktime_get(), busy_ms);
	unsigned int zero_polls = 0, stalls = 0;
	u32 poll_ms;
	int ret;

	for (;;) {
		ret = dfu_get_status(dfu, st);
		/*
		 * Some devices (STM32L4 ROM) stall a DFU_GETSTATUS that comes
		 * while they are busy: wait the last poll time and ask again,
		 * a few times in a row, as dfu-util does.
		 */
		if (ret == -EPIPE && ++stalls <= DFU_BUSY_STALLS_MAX) {
			ret = dfu_poll_wait(dfu, max(dfu->status.bwPollTimeout,
						     DFU_QUIRK_POLL_MS),
					    deadline, &zero_polls);
			if (ret)
				return ret;
			continue;
		}
		if (ret)
			return ret;
		stalls = 0;
		if (st->bStatus != USB_DFU_STATUS_OK ||
		    st->bState == USB_DFU_STATE_ERROR)
			return -EIO;
		if (!dfu_state_busy(st->bState))
			return 0;
		if (ktime_after(ktime_get(), deadline)) {
			dev_err(&dfu->dev, "device busy in %s for more than %u ms\n",
				dfu_state_name(st->bState), busy_ms);
			return -ETIMEDOUT;
		}
		poll_ms = dfu->quirks & DFU_QUIRK_POLL_5MS ?
			  DFU_QUIRK_POLL_MS : st->bwPollTimeout;
		ret = dfu_poll_wait(dfu, poll_ms, deadline, &zero_polls);
		if (ret)
			return ret;
	}
}

/**
 * dfu_prepare() - bring the device to dfuIDLE before a download or upload
 * @dfu: the device
 * @alt: the bAlternateSetting the transfer uses
 *
 * Selects the alternate setting (SET_INTERFACE resets device-side block
 * counters, which some devices need), then leaves dfuERROR with
 * DFU_CLRSTATUS or an unfinished transfer with DFU_ABORT, as DFU 1.1
 * section 6.1 allows.
 *
 * Context: process; io_mutex held.
 * Return: 0 once the device reports dfuIDLE, -EIO if it is in another state,
 * or a transfer error.
 */
int dfu_prepare(struct dfu_dev *dfu, u8 alt)
{
	struct usb_dfu_status st;
	int ret;

	ret = usb_set_interface(dfu->udev, dfu->info.bInterfaceNumber, alt);
	if (ret)
		return dfu_gone(dfu) ? -ENODEV : ret;

	ret = dfu_get_status(dfu, &st);
	if (ret)
		return ret;
	/* left busy by an interrupted transfer: let it finish first */
	if (dfu_state_busy(st.bState)) {
		ret = dfu_wait_while_busy(dfu, &st);
		if (ret && ret != -EIO)
			return ret;
	}
	switch (st.bState) {
	case USB_DFU_STATE_DFU_IDLE:
		return 0;
	case USB_DFU_STATE_ERROR:
		ret = dfu_request(dfu, DFU_CLRSTATUS, 0, NULL, 0);
		break;
	case USB_DFU_STATE_DNLOAD_IDLE:
	case USB_DFU_STATE_UPLOAD_IDLE:
		ret = dfu_abort(dfu);
		break;
	default:
		break;
	}
	if (ret < 0)
		return ret;

	ret = dfu_get_status(dfu, &st);
	if (ret)
		return ret;
	if (st.bState != USB_DFU_STATE_DFU_IDLE) {
		dev_err(&dfu->dev, "device stays in %s (%s), not dfuIDLE\n",
			dfu_state_name(st.bState), dfu_status_name(st.bStatus));
		return -EIO;
	}
	return 0;
}

/**
 * dfu_download_block() - send one DFU_DNLOAD block and wait for the device
 *	to take it (DFU 1.1, 6.1.1 and A.2.5 to A.2.7)
 * @dfu: the device
 * @block: block index; the wBlockNum sent is its low 16 bits
 * @len: bytes at the start of @dfu->buf to send, at most wTransferSize,
 *	not 0
 *
 * Context: process; io_mutex held.
 * Return: 0 once the device reports dfuDNLOAD-IDLE; -EIO if it reports an
 * error, stays in another state, or takes fewer bytes (bStatus and bState
 * are then in @dfu->status); -ETIMEDOUT; -EINTR for a fatal signal;
 * -ENODEV; or another transfer error.
 */
int dfu_download_block(struct dfu_dev *dfu, u32 block, u16 len)
{
	struct usb_dfu_status st;
	int ret;

	ret = dfu_request(dfu, DFU_DNLOAD, block & 0xffff, dfu->buf, len);
	if (ret < 0)
		return ret;
	if (ret != len)
		return -EIO;
	ret = dfu_wait_while_busy(dfu, &st);
	if (ret)
		return ret;
	if (st.bState != USB_DFU_STATE_DNLOAD_IDLE) {
		dev_err(&dfu->dev, "device in %s after block %u, expected dfuDNLOAD-IDLE\n",
			dfu_state_name(st.bState), block);
		return -EIO;
	}
	return 0;
}

/* Transfer errors of a device that dropped off the bus, as one may to reboot. */
static bool dfu_left_bus(int err)
{
	return err == -ENODEV || err == -ESHUTDOWN || err == -EPROTO ||
	       err == -EILSEQ || err == -ETIME || err == -EPIPE;
}

/**
 * dfu_manifest() - end the image and drive manifestation (DFU 1.1, 7.1)
 * @dfu: the device
 * @block: index of the next block; its low 16 bits go in the zero-length
 *	DFU_DNLOAD, as devices that check block succession (U-Boot) require
 * @unverified: set when the device did not confirm manifestation
 *
 * A manifestation-tolerant device is polled back to dfuIDLE. A device that
 * is not tolerant may go to dfuMANIFEST-WAIT-RESET, where it gets a USB
 * reset unless it has bitWillDetach, or stall or leave the bus to run its
 * new firmware (DFU 1.1, 7.2): that is success, but unverified.
 *
 * Context: process; io_mutex held.
 * Return: 0 on success, -EIO if the device reports an error or stalls the
 * end of the image or ends in an unexpected state, -ETIMEDOUT, or another
 * transfer error.
 */
int dfu_manifest(struct dfu_dev *dfu, u32 block, bool *unverified)
{
	bool tolerant = dfu->info.bmAttributes & DFU_FUNC_ATT_MANIFEST_TOLERANT;
	struct usb_dfu_status st;
	int ret;

	*unverified = false;
	ret = dfu_request(dfu, DFU_DNLOAD, block & 0xffff, NULL, 0);
	if (ret == -EPIPE)
		return ret;	/* the device refuses the image (errNOTDONE) */
	if (ret >= 0)
		ret = dfu_wait_while_busy(dfu, &st);
	if (ret) {
		/* a device rebooting into its new firmware may stall or leave */
		if (!tolerant && dfu_left_bus(ret)) {
			*unverified = true;
			return 0;
		}
		return ret;
	}
	if (st.bState == USB_DFU_STATE_DFU_IDLE)
		return 0;
	if (st.bState == USB_DFU_STATE_MANIFEST_WAIT_RESET) {
		/* the device waits for a reset to run its new firmware */
		if (!(dfu->info.bmAttributes & DFU_FUNC_ATT_WILL_DETACH))
			usb_queue_reset_device(dfu->intf);
		return 0;
	}
	dev_err(&dfu->dev, "device in %s after manifestation\n",
		dfu_state_name(st.bState));
	return -EIO;
}

/**
 * dfu_upload_block() - read one block with DFU_UPLOAD (DFU 1.1, 6.2)
 * @dfu: the device
 * @block: block index; the wValue sent is its low 16 bits
 *
 * Asks for wTransferSize bytes into @dfu->buf; a shorter answer ends the
 * upload.
 *
 * Context: process; io_mutex held.
 * Return: the number of bytes received, or a transfer error.
 */
int dfu_upload_block(struct dfu_dev *dfu, u32 block)
{
	return dfu_request(dfu, DFU_UPLOAD, block & 0xffff, dfu->buf,
			   dfu->info.wTransferSize);
}

/**
 * dfu_end_upload() - make sure the device is back in dfuIDLE after an upload
 * @dfu: the device
 *
 * A short block returns a conforming device to dfuIDLE; some (Zephyr) stay
 * in dfuUPLOAD-IDLE and get a DFU_ABORT.
 *
 * Context: process; io_mutex held.
 * Return: 0 or a transfer error.
 */
int dfu_end_upload(struct dfu_dev *dfu)
{
	u8 state;
	int ret;

	ret = dfu_get_state(dfu, &state);
	if (ret)
		return ret;
	return state == USB_DFU_STATE_UPLOAD_IDLE ? dfu_abort(dfu) : 0;
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
