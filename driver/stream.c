// SPDX-License-Identifier: GPL-2.0
/*
 * stream.c - one open file's downloads and uploads
 *
 * write() cuts the byte stream into wTransferSize blocks. While a DFU suffix
 * may end the stream, the last DFU_SUFFIX_MAX bytes stay in the buffer
 * behind the block being assembled. A commit (fsync(), the commit ioctl, or
 * the writer's close() under the policies that allow it) checks the suffix,
 * sends the rest and the zero-length DFU_DNLOAD and drives manifestation
 * (DFU 1.1, section 7). read() uploads until a short block (section 6.2).
 *
 * Every function here is called with io_mutex held. Those that move many
 * blocks drop it between two blocks, with the stream marked busy.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/crc32.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/uaccess.h>
#include "dfu.h"

/* The prefix of a DfuSe file (ST UM0391): "DfuSe", bVersion 1. */
static const u8 dfu_dfuse_prefix[] = { 'D', 'f', 'u', 'S', 'e', 0x01 };

/**
 * dfu_stream_init() - set up the stream of a file being opened
 * @s: the file's stream
 * @dfu: the device
 * @writable: the file is open for writing
 *
 * The stream takes the device's current defaults: the sysfs attributes alt
 * and commit.
 *
 * Context: process.
 */
void dfu_stream_init(struct dfu_stream *s, struct dfu_dev *dfu, bool writable)
{
	s->dfu = dfu;
	s->alt = READ_ONCE(dfu->def_alt);
	s->commit = READ_ONCE(dfu->def_commit);
	s->base = dfu->dfuse ? dfu_dfuse_base(dfu, s->alt) : 0;
	s->writable = writable;
	s->xfer = DFU_XFER_NONE;
}

/* A failed transfer's error is being returned: a later close need not repeat it. */
int dfu_stream_told(struct dfu_stream *s, int ret)
{
	if (ret && s->xfer == DFU_XFER_FAILED)
		s->told = true;
	return ret;
}

/*
 * Give up the transfer and return the device to dfuIDLE; Apple's ROM
 * ends its session instead, dropping the image.
 */
static int dfu_stream_cancel(struct dfu_stream *s, int err)
{
	struct dfu_dev *dfu = s->dfu;

	if (!dfu_gone(dfu) && dfu_apple(dfu))
		dfu_apple_abort(dfu);
	else if (!dfu_gone(dfu))
		dfu_stop(dfu);
	return dfu_stream_finish(s, err);
}

/*
 * A transfer failed. When the device reported the error it stays as it is,
 * in dfuERROR with its bStatus for the user to read; when the host gave up
 * (signal, refused image, bad buffer) the device is told with DFU_ABORT.
 * Apple's ROM is told in every case: a ROM left holding the image could
 * boot it at the next USB reset.
 */
int dfu_stream_fail(struct dfu_stream *s, int err)
{
	switch (err) {
	case -EINTR:
	case -EFAULT:
	case -EMEDIUMTYPE:
	case -EBADMSG:
	case -ENODATA:
		return dfu_stream_cancel(s, err);
	default:
		if (dfu_apple(s->dfu))
			return dfu_stream_cancel(s, err);
		return dfu_stream_finish(s, err);
	}
}

/* Start a download or upload at file position @pos, the device in dfuIDLE. */
int dfu_stream_begin(struct dfu_stream *s, bool upload, u64 pos)
{
	struct dfu_dev *dfu = s->dfu;
	u8 attrs = dfu->info.bmAttributes;
	int ret;

	if (dfu->info.mode != USB_DFU_MODE_DFU)
		return -EOPNOTSUPP;
	if (upload && !(attrs & DFU_FUNC_ATT_CAN_UPLOAD))
		return -EOPNOTSUPP;
	if (!upload && !(attrs & DFU_FUNC_ATT_CAN_DOWNLOAD))
		return -EROFS;
	if (dfu->owner)
		return -EBUSY;
	/* awake now, for the call: keep it so until the transfer ends */
	usb_autopm_get_interface_no_resume(dfu->intf);
	s->pm = true;
	WRITE_ONCE(s->xfer, DFU_XFER_ACTIVE);
	s->upload = upload;
	s->error = 0;
	s->eof = false;
	s->guard = !upload && (READ_ONCE(dfu_suffix_guard) ||
			       s->commit == USB_DFU_COMMIT_SUFFIX);
	s->flags = 0;
	s->block = 0;
	s->fill = 0;
	s->head = 0;
	s->crc = ~0U;
	s->bytes = 0;
	s->pos = pos;
	s->start = ktime_get();
	WRITE_ONCE(dfu->owner, s);
	ret = dfu_apple(dfu) ? dfu_apple_prepare(dfu) : dfu_prepare(dfu, s->alt);
	if (!ret && dfu->dfuse) {
		dfu_dfuse_begin(dfu, !upload && !s->dfuse_erased);
		s->dfuse_erased |= !upload;
		if (dfu_dfuse_learn(dfu, READ_ONCE(dfu_ctrl_timeout_ms)))
			ret = dfu_prepare(dfu, s->alt);
	}
	return ret ? dfu_stream_finish(s, ret) : 0;
}

/*
 * Between two blocks, let other calls on the device in (ioctls, other
 * files): a large write() or read() must not hold the device for minutes.
 * Returns 0 if the transfer goes on, else the error it ended with.
 */
int dfu_stream_yield(struct dfu_stream *s)
{
	struct dfu_dev *dfu = s->dfu;

	mutex_unlock(&dfu->io_mutex);
	cond_resched();
	mutex_lock(&dfu->io_mutex);
	if (s->xfer == DFU_XFER_ACTIVE && dfu->owner == s)
		return 0;
	return s->error ? s->error : -ECANCELED;
}

/* The image starts as a DfuSe file does: say why it is refused. */
static int dfu_stream_dfuse_file(struct dfu_dev *dfu)
{
	dev_err(&dfu->dev, "the image is a DfuSe file, %s: nothing sent\n",
		dfu->dfuse ? "whose elements dfuctl flash writes to their addresses" :
		"not an image for this plain DFU device");
	return -EMEDIUMTYPE;
}

/* Send the first @len bytes of the buffer as the next block. */
static int dfu_stream_send(struct dfu_stream *s, u32 len)
{
	struct dfu_dev *dfu = s->dfu;
	int ret;

	if (!s->block && !s->pos && s->fill >= sizeof(dfu_dfuse_prefix) &&
	    !memcmp(dfu->buf, dfu_dfuse_prefix, sizeof(dfu_dfuse_prefix)))
		return dfu_stream_dfuse_file(dfu);
	if (s->guard || dfu_apple(dfu))
		s->crc = crc32_le(s->crc, dfu->buf, len);
	if (dfu->dfuse)
		ret = dfu_dfuse_download(dfu, s->alt, s->base + s->pos, len);
	else
		ret = dfu_download_block(dfu, s->block, dfu->buf, len);
	if (ret)
		return ret;
	s->pos += len;
	s->bytes += len;
	s->block++;
	s->fill -= len;
	if (s->fill)
		memmove(dfu->buf, dfu->buf + len, s->fill);
	return 0;
}

/* Send all that waits in the buffer: the end of an image or of a DfuSe run. */
static int dfu_stream_drain(struct dfu_stream *s)
{
	int ret;

	while (s->fill) {
		ret = dfu_stream_send(s, min_t(u32, s->fill, s->dfu->info.wTransferSize));
		if (ret)
			return dfu_stream_fail(s, ret);
		if (s->fill) {
			ret = dfu_stream_yield(s);
			if (ret)
				return ret;
		}
	}
	return 0;
}

/*
 * DfuSe: may @count bytes be written at file position @pos? Checked before
 * anything is sent: the memory map, and a DfuSe file written raw (whose
 * prefix dfu_stream_send() checks again when fewer bytes came). Returns
 * 0, 1 when the bytes may still be the start of a prefix (nothing may be
 * erased ahead then), or the errno that refuses the call.
 */
static int dfu_stream_dfuse_check(struct dfu_stream *s, const char __user *ubuf,
				  u64 pos, size_t count)
{
	const size_t len = sizeof(dfu_dfuse_prefix);
	struct dfu_dev *dfu = s->dfu;
	bool active = s->xfer == DFU_XFER_ACTIVE;
	u8 head[sizeof(dfu_dfuse_prefix)];
	size_t n;
	int ret;

	ret = dfu_dfuse_check(dfu, s->alt, s->base + pos, count, DFUSE_WRITE);
	if (ret || pos >= len || (active && s->block))
		return ret;
	/* bytes before @pos are the buffer's, or not written */
	if (pos && !(active && !s->pos && s->fill == pos &&
		     !memcmp(dfu->buf, dfu_dfuse_prefix, pos)))
		return 0;
	n = min_t(size_t, count, len - pos);
	if (copy_from_user(head, ubuf, n))
		return -EFAULT;
	if (memcmp(head, dfu_dfuse_prefix + pos, n))
		return 0;
	if (pos + n < len)
		return 1;
	return dfu_stream_dfuse_file(dfu);
}

/*
 * DfuSe: @count bytes go to file position @pos. A jump ends the run: what
 * waits in the buffer goes first. Then every sector the bytes touch is
 * erased, all before the first block, so that the address pointer is set
 * once. Bytes held back as a possible suffix are erased when they are sent.
 */
static int dfu_stream_place(struct dfu_stream *s, u64 pos, size_t count)
{
	struct dfu_dev *dfu = s->dfu;
	int ret;

	if (s->pos + s->fill != pos) {
		ret = dfu_stream_drain(s);
		if (ret)
			return ret;
		s->pos = pos;
	}
	if (s->guard)
		count -= min_t(size_t, count, DFU_SUFFIX_MAX);
	ret = dfu_dfuse_erase(dfu, s->alt, s->base + pos, count, false);
	return ret ? dfu_stream_fail(s, ret) : 0;
}

/**
 * dfu_stream_write() - take bytes of the image being written
 * @s: the file's stream
 * @ubuf: the bytes, in user memory
 * @count: their number, not 0
 * @ppos: the file position, for a DfuSe device (NULL for the others)
 *
 * The first write after open() or a commit starts a new image. A DfuSe
 * device's bytes go to base + *@ppos, after a check that the memory map
 * has writable memory there (nothing is sent otherwise). Full blocks
 * go to the device as they come; the rest waits for more bytes or for the
 * commit. A fatal signal aborts the image. Any other signal makes the call
 * return early with what it took, and the image goes on with the next call.
 *
 * Context: process; io_mutex held, dropped and retaken between blocks.
 * Return: bytes taken (fewer than @count after a signal), -ERESTARTSYS for
 * a signal before any byte was taken, -EBUSY while another call of the
 * file is writing or the device is busy with another file, for DfuSe
 * -ENOSPC, -ENXIO or -EROFS (see USB_DFU_DIALECT_DFUSE), or the error that
 * ended the image.
 */
ssize_t dfu_stream_write(struct dfu_stream *s, const char __user *ubuf,
			 size_t count, loff_t *ppos)
{
	struct dfu_dev *dfu = s->dfu;
	u32 size = dfu->info.wTransferSize;
	u64 pos = dfu->dfuse ? *ppos : 0;
	size_t done = 0;
	int prefix = 0;
	u32 cap;
	int ret = 0;

	if (dfu->dfuse)
		dfu_stream_end_upload(s);
	if (s->busy || (s->xfer == DFU_XFER_ACTIVE && s->upload))
		return -EBUSY;
	if (s->xfer == DFU_XFER_FAILED)
		return dfu_stream_told(s, s->error);
	/* refused: nothing sent, and the image goes on */
	if (dfu->dfuse) {
		prefix = dfu_stream_dfuse_check(s, ubuf, pos, count);
		/* a DfuSe file begun in earlier writes: none of it is sent */
		if (prefix == -EMEDIUMTYPE && s->xfer == DFU_XFER_ACTIVE)
			return dfu_stream_told(s, dfu_stream_fail(s, prefix));
		if (prefix < 0)
			return prefix;
	}
	if (s->xfer != DFU_XFER_ACTIVE) {
		ret = dfu_stream_begin(s, false, pos);
		if (ret)
			return dfu_stream_told(s, ret);
	}
	WRITE_ONCE(s->writer_tgid, task_tgid_nr(current));
	s->busy = true;
	if (dfu->dfuse)
		ret = dfu_stream_place(s, pos, prefix ? 0 : count);
	cap = size + (s->guard ? DFU_SUFFIX_MAX : 0);
	while (!ret && done < count) {
		size_t n;

		if (s->fill == cap) {
			if (fatal_signal_pending(current)) {
				ret = dfu_stream_cancel(s, -EINTR);
				break;
			}
			if (signal_pending(current))
				break;
			ret = dfu_stream_send(s, size);
			if (ret) {
				ret = dfu_stream_fail(s, ret);
				break;
			}
			ret = dfu_stream_yield(s);
			if (ret)
				break;
		}
		n = min_t(size_t, count - done, cap - s->fill);
		if (copy_from_user(dfu->buf + s->fill, ubuf + done, n)) {
			ret = dfu_stream_fail(s, -EFAULT);
			break;
		}
		s->fill += n;
		done += n;
	}
	s->busy = false;
	if (ret)
		return dfu_stream_told(s, ret);
	if (dfu->dfuse)
		*ppos += done;
	return done ? done : -ERESTARTSYS;
}

/*
 * A valid DFU suffix for the device is dropped from the buffer: it is not
 * part of the image. Without one, the suffix commit policy refuses it.
 */
static int dfu_stream_check_suffix(struct dfu_stream *s)
{
	struct dfu_dev *dfu = s->dfu;
	int len;

	len = dfu_suffix_check(dfu, dfu->buf, s->fill, s->crc);
	if (len < 0)
		return len;
	if (len) {
		s->fill -= len;
		s->flags |= USB_DFU_RESULT_SUFFIX;
		return 0;
	}
	if (s->commit != USB_DFU_COMMIT_SUFFIX)
		return 0;
	dev_err(&dfu->dev, "commit policy suffix: the image does not end in a valid DFU suffix (truncated or corrupted?): not manifested\n");
	return -EBADMSG;
}

/*
 * A DfuSe device leaves DFU mode to run the firmware it was given (the
 * lowest address written, or the base), unless the user chose (sysfs
 * dfuse_leave) that it stays, in dfuIDLE.
 */
static int dfu_stream_leave(struct dfu_stream *s)
{
	struct dfu_dev *dfu = s->dfu;
	int ret;

	if (!READ_ONCE(dfu->dfuse->leave))
		return dfu_stop(dfu);
	ret = dfu_dfuse_leave(dfu, s->base);
	if (!ret)
		s->flags |= USB_DFU_RESULT_LEFT;
	return ret;
}

/*
 * Apple: the rest of the image and the suffix the ROM drops, in its last
 * block when there is room, else in one more, as libirecovery sends them;
 * then the end of the image and the reset that makes the ROM check it.
 */
static int dfu_stream_apple_end(struct dfu_stream *s)
{
	struct dfu_dev *dfu = s->dfu;
	u32 size = dfu->info.wTransferSize;
	u32 len;
	int ret;

	while (s->fill) {
		len = min(s->fill, size);
		/* the suffix follows the image's last byte in the last block */
		if (len == s->fill && len + DFU_SUFFIX_LEN <= size)
			break;
		ret = dfu_stream_send(s, len);
		if (ret)
			return dfu_stream_fail(s, ret);
		ret = dfu_stream_yield(s);
		if (ret)
			return ret;
	}
	dfu_apple_suffix(dfu->buf + s->fill, crc32_le(s->crc, dfu->buf, s->fill));
	s->fill += DFU_SUFFIX_LEN;
	ret = dfu_stream_send(s, s->fill);
	if (ret)
		return dfu_stream_fail(s, ret);
	s->bytes -= DFU_SUFFIX_LEN;	/* bytes of the image, as for others */
	ret = dfu_apple_manifest(dfu, s->block);
	if (ret)
		return dfu_stream_fail(s, ret);
	s->flags |= USB_DFU_RESULT_LEFT;
	return dfu_stream_finish(s, 0);
}

/* Check the suffix, send the rest and the zero-length DFU_DNLOAD, manifest. */
static int dfu_stream_end(struct dfu_stream *s)
{
	struct dfu_dev *dfu = s->dfu;
	bool unverified;
	int ret;

	if (s->guard) {
		ret = dfu_stream_check_suffix(s);
		/* a suffix alone is no image: never manifest nothing */
		if (!ret && !s->bytes && !s->fill)
			ret = -ENODATA;
		if (ret)
			return dfu_stream_fail(s, ret);
	}
	if (dfu_apple(dfu))
		return dfu_stream_apple_end(s);
	ret = dfu_stream_drain(s);
	if (ret)
		return ret;
	if (dfu->dfuse)
		return dfu_stream_finish(s, dfu_stream_leave(s));
	ret = dfu_manifest(dfu, s->block, &unverified);
	if (!ret && unverified)
		s->flags |= USB_DFU_RESULT_UNVERIFIED;
	return dfu_stream_finish(s, ret);
}

/**
 * dfu_stream_commit() - end the image written so far and manifest it
 * @s: the file's stream
 *
 * What fsync() and USB_DFU_IOCTL_COMMIT do, under every commit policy;
 * under USB_DFU_COMMIT_SUFFIX the image must end in a valid suffix.
 *
 * Context: process; io_mutex held, dropped and retaken between blocks.
 * Return: 0 when the device manifested the image or nothing was written,
 * -EBUSY while another call of the file is writing, or the error the
 * image failed with (see struct usb_dfu_result for the values), again on
 * each call until a new image starts.
 */
int dfu_stream_commit(struct dfu_stream *s)
{
	int ret;

	if (s->busy)
		return -EBUSY;
	if (s->xfer == DFU_XFER_FAILED)
		return dfu_stream_told(s, s->error);
	if (s->xfer != DFU_XFER_ACTIVE || s->upload)
		return 0;
	s->busy = true;
	if (fatal_signal_pending(current))
		ret = dfu_stream_cancel(s, -EINTR);
	else
		ret = dfu_stream_end(s);
	s->busy = false;
	return dfu_stream_told(s, ret);
}

/*
 * Is the caller dying of a signal, or exiting with a non-zero status with
 * the file still open? do_exit() sets PF_EXITING and stores the exit status
 * in exit_code before it closes the task's files; a close() the process
 * made itself never runs with PF_EXITING.
 */
static bool dfu_writer_failed(void)
{
	if (fatal_signal_pending(current))
		return true;
	return (current->flags & PF_EXITING) && current->exit_code;
}

/**
 * dfu_stream_close() - the writer closes the file: commit or abort
 * @s: the file's stream
 *
 * Commits under USB_DFU_COMMIT_CLOSE and USB_DFU_COMMIT_SUFFIX; aborts
 * under USB_DFU_COMMIT_EXPLICIT, and under every policy when the writer
 * is dying of a signal or exiting with a non-zero status.
 *
 * Context: process; io_mutex held, dropped and retaken between blocks.
 * Return: 0, -ECANCELED for an image closed without the explicit commit,
 * -EINTR for a failed writer's, -EBUSY while another thread writes the
 * file (its image is then aborted when the file is released), or the
 * error an image failed with that no call has returned yet.
 */
int dfu_stream_close(struct dfu_stream *s)
{
	int ret = 0;

	/* another thread is in the stream: the release will abort it */
	if (s->busy)
		return -EBUSY;
	if (s->xfer == DFU_XFER_ACTIVE && !s->upload) {
		s->busy = true;
		if (dfu_gone(s->dfu))
			ret = dfu_stream_finish(s, -ENODEV);
		else if (dfu_writer_failed())
			ret = dfu_stream_cancel(s, -EINTR);
		else if (s->commit == USB_DFU_COMMIT_EXPLICIT)
			ret = dfu_stream_cancel(s, -ECANCELED);
		else
			ret = dfu_stream_end(s);
		s->busy = false;
	} else if (s->xfer == DFU_XFER_FAILED && !s->told) {
		/* failed behind the writer's back: a reset, another's abort */
		ret = s->error;
	}
	return dfu_stream_told(s, ret);
}

/**
 * dfu_stream_release() - the file is gone: end what it left unfinished
 * @s: the file's stream
 *
 * A download is aborted, never manifested; an upload the reader stopped
 * early is a success (the reader has what it wanted), unless the device
 * was unplugged.
 *
 * Context: process; io_mutex held.
 */
void dfu_stream_release(struct dfu_stream *s)
{
	if (s->xfer != DFU_XFER_ACTIVE)
		return;
	if (dfu_gone(s->dfu))
		dfu_stream_finish(s, -ENODEV);
	else
		dfu_stream_cancel(s, s->upload ? 0 : -ECANCELED);
}

/**
 * dfu_stream_end_upload() - end the upload a DfuSe file's reads left open
 * @s: the file's stream
 *
 * A DfuSe device's read() leaves the upload open between calls (the next
 * read may go on where it stopped); a write() or a DfuSe command of the
 * same file ends it first, as a success. Nothing happens while another
 * call of the file is in the stream.
 *
 * Context: process; io_mutex held.
 */
void dfu_stream_end_upload(struct dfu_stream *s)
{
	if (!s->busy && s->xfer == DFU_XFER_ACTIVE && s->upload)
		dfu_stream_cancel(s, 0);
}

/**
 * dfu_stream_abort() - USB_DFU_IOCTL_ABORT: end any transfer of the device
 * @dfu: the device
 *
 * The transfer in progress, whichever file owns it, ends with -ECANCELED
 * and nothing is manifested: dfu_stop() returns the device to dfuIDLE.
 * Without a transfer, DFU_ABORT is sent as it is.
 *
 * Context: process; io_mutex held.
 * Return: 0 or the error of DFU_ABORT.
 */
int dfu_stream_abort(struct dfu_dev *dfu)
{
	if (!dfu->owner)
		return dfu_abort(dfu);
	dfu_stream_cancel(dfu->owner, -ECANCELED);
	return 0;
}

/**
 * dfu_abandon() - fail the transfer in progress without a request
 * @dfu: the device, just reset or resumed with its DFU state lost
 *
 * The owner's next call returns -EIO; nothing it wrote is manifested.
 *
 * Context: process; io_mutex held.
 */
void dfu_abandon(struct dfu_dev *dfu)
{
	if (dfu->owner)
		dfu_stream_finish(dfu->owner, -EIO);
}
