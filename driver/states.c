// SPDX-License-Identifier: GPL-2.0
/*
 * states.c - the host side of the DFU state machine (DFU 1.1, section 6
 * and appendix A): waiting bwPollTimeout, polling a busy device, bringing
 * it to dfuIDLE, one download block, manifestation, and the way back from
 * a transfer given up.
 *
 * Every function here is called with dfu_dev.io_mutex held and knows
 * nothing about files or streams; the requests are proto.c's.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/hrtimer.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/wait.h>
#include "dfu.h"

/*
 * A device that answers "busy, poll again in 0 ms" gets this many immediate
 * polls; after that the host waits DFU_ZERO_POLL_FLOOR_US between polls so
 * that a device that never finishes cannot keep the bus saturated.
 */
#define DFU_ZERO_POLLS_FREE	16
#define DFU_ZERO_POLL_FLOOR_US	1000
/*
 * A DfuSe device busy with bwPollTimeout 0 this many times in a row is
 * stuck: Black Magic Probe loops so on a command outside its application
 * until DFU_ABORT (protocol reference 13; dfu-util gives up after 100).
 */
#define DFU_ZERO_POLLS_DFUSE	100
/* Poll time for devices whose bwPollTimeout is bogus (DFU_QUIRK_POLL_5MS). */
#define DFU_QUIRK_POLL_MS	5U
/* Stalled DFU_GETSTATUS requests in a row taken for "still busy". */
#define DFU_BUSY_STALLS_MAX	3
/* Timer slack for poll waits: small next to a 1 ms bwPollTimeout. */
#define DFU_POLL_SLACK_NS	(50 * NSEC_PER_USEC)
/*
 * dfu_stop() returns the device to dfuIDLE for a transfer that is given
 * up, also by a dying process: its waits are not killable, so they get a
 * short bound of their own.
 */
#define DFU_STOP_TIMEOUT_MS	1000U

/*
 * Wait until @until, with a small slack: an absolute hrtimer costs the
 * bwPollTimeout and little more, where msleep() and fsleep() add up to a
 * jiffy or twice the time. disconnect() and a USB reset end the wait, and
 * so does a fatal signal when @killable.
 */
static int dfu_sleep_until(struct dfu_dev *dfu, ktime_t until, bool killable)
{
	DEFINE_WAIT(wait);
	int ret = 0;

	for (;;) {
		prepare_to_wait(&dfu->wait, &wait,
				killable ? TASK_KILLABLE : TASK_UNINTERRUPTIBLE);
		if (dfu_gone(dfu)) {
			ret = -ENODEV;
			break;
		}
		if (dfu_resetting(dfu)) {
			ret = -EIO;
			break;
		}
		if (killable && fatal_signal_pending(current)) {
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
	return dfu_sleep_until(dfu, until, true);
}

/* The bwPollTimeout to honour: the device's, or the quirk's for a bogus one. */
static u32 dfu_poll_ms(struct dfu_dev *dfu, u32 ms)
{
	return dfu->quirks & DFU_QUIRK_POLL_5MS ? DFU_QUIRK_POLL_MS : ms;
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
			poll_ms = dfu_poll_ms(dfu, dfu->status.bwPollTimeout);
			ret = dfu_poll_wait(dfu, max(poll_ms, DFU_QUIRK_POLL_MS),
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
		if (dfu->dfuse && !st->bwPollTimeout &&
		    zero_polls >= DFU_ZERO_POLLS_DFUSE) {
			dev_err(&dfu->dev, "device still in %s after %u polls it asked for at once: stuck\n",
				dfu_state_name(st->bState), zero_polls);
			return -ETIMEDOUT;
		}
		if (ktime_after(ktime_get(), deadline)) {
			dev_err(&dfu->dev, "device busy in %s for more than %u ms\n",
				dfu_state_name(st->bState), busy_ms);
			return -ETIMEDOUT;
		}
		ret = dfu_poll_wait(dfu, dfu_poll_ms(dfu, st->bwPollTimeout),
				    deadline, &zero_polls);
		if (ret)
			return ret;
	}
}

/**
 * dfu_wait_poll_timeout() - wait out the bwPollTimeout of a busy device
 * @dfu: the device
 *
 * A device that last said it was busy (a transfer given up in dfuDNBUSY)
 * may get no request before its bwPollTimeout has passed (DFU 1.1, 6.1.2).
 * Killable, and bounded by busy_timeout_ms.
 *
 * Context: process; io_mutex held.
 * Return: 0, -EINTR, -ENODEV, or -ETIMEDOUT for a wait beyond the bound.
 */
int dfu_wait_poll_timeout(struct dfu_dev *dfu)
{
	ktime_t deadline = ktime_add_ms(ktime_get(), READ_ONCE(dfu_busy_timeout_ms));
	unsigned int zero_polls = 0;

	if (!dfu_state_busy(dfu->status.bState))
		return 0;
	return dfu_poll_wait(dfu, dfu_poll_ms(dfu, dfu->status.bwPollTimeout),
			     deadline, &zero_polls);
}

/**
 * dfu_stop() - return the device to dfuIDLE from a transfer given up
 * @dfu: the device, left by the transfer in any state
 *
 * Waits out a busy state (DFU 1.1 allows no request but DFU_GETSTATUS
 * there, and that only after bwPollTimeout), then sends DFU_ABORT from
 * dfuDNLOAD-IDLE or dfuUPLOAD-IDLE, and reads the status it ends in. A
 * device in dfuERROR keeps its bStatus for the user to read. Not killable,
 * as a dying writer uses it, but bounded by DFU_STOP_TIMEOUT_MS; a device
 * still busy then is cleaned up by the next transfer's dfu_prepare().
 *
 * Context: process; io_mutex held.
 * Return: 0, -ETIMEDOUT, or a transfer error.
 */
int dfu_stop(struct dfu_dev *dfu)
{
	unsigned int ms = min(READ_ONCE(dfu_ctrl_timeout_ms), DFU_STOP_TIMEOUT_MS);
	ktime_t deadline = ktime_add_ms(ktime_get(), DFU_STOP_TIMEOUT_MS);
	struct usb_dfu_status st = dfu->status;
	ktime_t until;
	int ret;

	for (;;) {
		if (dfu_state_busy(st.bState)) {
			/* no back-to-back polls of a device that asks 0 ms */
			until = st.bwPollTimeout ?
				ktime_add_ms(dfu->done_time,
					     dfu_poll_ms(dfu, st.bwPollTimeout)) :
				ktime_add_us(ktime_get(), DFU_ZERO_POLL_FLOOR_US);
			if (ktime_after(until, deadline))
				return -ETIMEDOUT;
			ret = dfu_sleep_until(dfu, until, false);
			if (ret)
				return ret;
		}
		ret = dfu_read_status(dfu, &st, ms, false);
		if (ret)
			return ret;
		if (!dfu_state_busy(st.bState))
			break;
	}
	if (st.bState != USB_DFU_STATE_DNLOAD_IDLE &&
	    st.bState != USB_DFU_STATE_UPLOAD_IDLE)
		return 0;
	ret = dfu_request_timeout(dfu, DFU_ABORT, 0, NULL, 0, ms, false);
	if (ret < 0)
		return ret;
	/* what the result and sysfs report: dfuIDLE, if the device obeyed */
	return dfu_read_status(dfu, &st, ms, false);
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

	ret = dfu_wait_poll_timeout(dfu);
	if (ret)
		return ret;
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
 * @data: the bytes, in DMA-safe memory (@dfu->buf, or @dfu->sbuf for a
 *	DfuSe command)
 * @len: bytes of @data to send, at most wTransferSize, not 0
 *
 * Context: process; io_mutex held.
 * Return: 0 once the device reports dfuDNLOAD-IDLE; -EIO if it reports an
 * error, stays in another state, or takes fewer bytes (bStatus and bState
 * are then in @dfu->status); -ETIMEDOUT; -EINTR for a fatal signal;
 * -ENODEV; or another transfer error.
 */
int dfu_download_block(struct dfu_dev *dfu, u32 block, void *data, u16 len)
{
	struct usb_dfu_status st;
	int ret;

	ret = dfu_request(dfu, DFU_DNLOAD, block & 0xffff, data, len);
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

/**
 * dfu_left_bus() - is @err what a request to a device that just left the
 *	bus to run its firmware fails with?
 * @err: a transfer error
 *
 * Context: any.
 * Return: true for the errors of a device that is gone or resetting.
 */
bool dfu_left_bus(int err)
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
 * is not tolerant may go to dfuMANIFEST-WAIT-RESET, where it needs a USB
 * reset unless it has bitWillDetach (DFU_FLAG_RESET asks the caller for
 * it), or stall or leave the bus to run its new firmware (DFU 1.1, 7.2):
 * success, but unverified. The zero-length DFU_DNLOAD itself must go
 * through: the image is whole only once the device has it. A fatal signal
 * after that ends the wait, not the manifestation: unverified too.
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
	/* a stall of this request is the device refusing the image (errNOTDONE) */
	ret = dfu_request(dfu, DFU_DNLOAD, block & 0xffff, NULL, 0);
	if (ret < 0)
		return ret;
	ret = dfu_wait_while_busy(dfu, &st);
	if (ret == -EINTR || (ret && !tolerant && dfu_left_bus(ret))) {
		*unverified = true;
		return 0;
	}
	if (ret)
		return ret;
	if (st.bState == USB_DFU_STATE_DFU_IDLE)
		return 0;
	if (st.bState == USB_DFU_STATE_MANIFEST_WAIT_RESET) {
		/* the device waits for a reset to run its new firmware */
		if (!(dfu->info.bmAttributes & DFU_FUNC_ATT_WILL_DETACH))
			set_bit(DFU_FLAG_RESET, &dfu->flags);
		return 0;
	}
	dev_err(&dfu->dev, "device in %s after manifestation\n",
		dfu_state_name(st.bState));
	return -EIO;
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

