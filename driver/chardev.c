// SPDX-License-Identifier: GPL-2.0
/*
 * chardev.c - the dfu class, /dev/dfuN and its file operations
 *
 * write() cuts the byte stream into wTransferSize blocks; the end of the
 * stream (fsync() or close()) sends the last short block and the zero-length
 * DFU_DNLOAD and drives manifestation. read() uploads until a short block.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/crc32.h>
#include <linux/fs.h>
#include <linux/idr.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/wait_bit.h>
#include "dfu.h"

/* How long a transfer error may precede disconnect() on an unplug. */
#define DFU_UNPLUG_SETTLE_MS	250

static dev_t dfu_devt;
static DEFINE_IDA(dfu_ida);

static struct class dfu_class = {
	.name = "dfu",
	.dev_groups = dfu_groups,
};

/*
 * Errors as the caller sees them: a device's complaint is an I/O error, an
 * unplugged device is -ENODEV. An unplug shows first as a transfer error
 * (-EPROTO, -ESHUTDOWN...) and a moment later as disconnect(); wait that
 * moment, so that the call in flight also reports -ENODEV.
 */
static int dfu_user_error(struct dfu_dev *dfu, int err)
{
	if (err == -EPROTO || err == -EILSEQ || err == -ETIME || err == -ESHUTDOWN)
		wait_var_event_timeout(&dfu->flags, dfu_gone(dfu),
				       msecs_to_jiffies(DFU_UNPLUG_SETTLE_MS));
	if (dfu_gone(dfu))
		return -ENODEV;
	switch (err) {
	case -EINTR:
	case -ETIMEDOUT:
	case -ENOMEM:
	case -EFAULT:
	case -ECANCELED:
	case -EMEDIUMTYPE:
	case -ENODATA:
		return err;
	default:
		return usb_translate_errors(err);
	}
}

/* A failed transfer's error is being returned: later closes need not repeat it. */
static void dfu_told(struct dfu_file *df, int ret)
{
	if (ret && df->xfer == DFU_XFER_FAILED)
		df->told = true;
}

/* Bytes the device has taken (download) or sent (upload) so far. */
static u64 dfu_bytes(struct dfu_file *df)
{
	return df->upload ? df->pos + df->fill - df->head : df->sent;
}

/*
 * End a transfer: record its outcome for DFU_IOCTL_GET_RESULT and sysfs and
 * log one line, so that callers that ignore close() (busybox cat) can learn
 * it. @err is 0 or the error as proto.c returned it; the caller gets it
 * back as it should see it. The device's status is the last one it sent,
 * asked again only after a stall, which says nothing about the cause.
 */
static int dfu_finish(struct dfu_file *df, int err)
{
	struct dfu_dev *dfu = df->dfu;
	u64 bytes = dfu_bytes(df);
	struct dfu_result *r = &dfu->result;
	const char *what = df->upload ? "upload" : "download";
	u64 us = ktime_us_delta(ktime_get(), df->start);
	bool stalled = err == -EPIPE;
	struct dfu_status st;

	if (err)
		err = dfu_user_error(dfu, err);
	if (stalled && !dfu_gone(dfu))
		dfu_get_status(dfu, &st);

	memset(r, 0, sizeof(*r));
	r->error = err;
	r->block = df->block;
	r->bytes = bytes;
	r->duration_us = us;
	if (!dfu_gone(dfu)) {
		r->bStatus = dfu->status.bStatus;
		r->bState = dfu->status.bState;
	}

	if (!err && df->upload && !df->eof)
		dev_info(&dfu->dev, "upload stopped by the reader after %llu bytes in %llu ms\n",
			 bytes, div_u64(us, USEC_PER_MSEC));
	else if (!err)
		dev_info(&dfu->dev, "%s of %llu bytes done in %llu ms\n",
			 what, bytes, div_u64(us, USEC_PER_MSEC));
	else if (dfu_gone(dfu))
		dev_err(&dfu->dev, "%s failed at block %u after %llu bytes: device unplugged\n",
			what, df->block, bytes);
	else
		dev_err(&dfu->dev, "%s failed at block %u after %llu bytes: %pe, device %s (%s)\n",
			what, df->block, bytes, ERR_PTR(err),
			dfu_state_name(r->bState), dfu_status_name(r->bStatus));

	df->xfer = err ? DFU_XFER_FAILED : DFU_XFER_DONE;
	df->error = err;
	df->told = false;
	if (dfu->owner == df)
		dfu->owner = NULL;
	return err;
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
	struct dfu_file *df = dfu->owner;

	if (df)
		dfu_finish(df, -EIO);
}

/* Start a download or upload from offset 0, with the device in dfuIDLE. */
static int dfu_begin(struct dfu_file *df, bool upload)
{
	struct dfu_dev *dfu = df->dfu;
	int ret;

	if (dfu->owner)
		return -EBUSY;
	df->xfer = DFU_XFER_ACTIVE;
	df->upload = upload;
	df->error = 0;
	df->pos = 0;
	df->block = 0;
	df->fill = 0;
	df->head = 0;
	df->eof = false;
	df->sent = 0;
	df->tail_len = 0;
	df->guard = !upload && dfu_suffix_guard;
	df->crc = ~0U;
	df->start = ktime_get();
	dfu->owner = df;
	ret = dfu_prepare(dfu);
	return ret ? dfu_finish(df, ret) : 0;
}

/* Give up a download or upload in progress and return the device to dfuIDLE. */
static void dfu_cancel(struct dfu_file *df, int err)
{
	if (!dfu_gone(df->dfu))
		dfu_abort(df->dfu);
	dfu_finish(df, err);
}

/*
 * Between two blocks of one write(), let status readers, DFU_IOCTL_ABORT
 * and resets in: a large write() to a slow device must not hold the device
 * for minutes. Returns 0 if the transfer goes on, else its error.
 */
static int dfu_between_blocks(struct dfu_file *df)
{
	struct dfu_dev *dfu = df->dfu;

	mutex_unlock(&dfu->io_mutex);
	mutex_lock(&dfu->io_mutex);
	if (df->xfer == DFU_XFER_ACTIVE && dfu->owner == df)
		return 0;
	return df->error ? df->error : -ECANCELED;
}

static int dfu_open(struct inode *inode, struct file *file)
{
	struct dfu_dev *dfu = container_of(inode->i_cdev, struct dfu_dev, cdev);
	struct dfu_file *df;
	int ret;

	df = kzalloc(sizeof(*df), GFP_KERNEL);
	if (!df)
		return -ENOMEM;
	df->dfu = dfu;

	ret = mutex_lock_interruptible(&dfu->io_mutex);
	if (ret)
		goto err_free;
	if (dfu_gone(dfu)) {
		ret = -ENODEV;
		goto err_unlock;
	}
	if (file->f_mode & FMODE_WRITE) {
		if (dfu_is_dfuse(dfu) || dfu->info.mode != DFU_MODE_DFU) {
			ret = -EOPNOTSUPP;
			goto err_unlock;
		}
		if (!(dfu->info.bmAttributes & DFU_ATTR_CAN_DNLOAD)) {
			ret = -EROFS;
			goto err_unlock;
		}
		if (dfu->has_writer) {
			ret = -EBUSY;
			goto err_unlock;
		}
		dfu->has_writer = true;
	}
	get_device(&dfu->dev);
	mutex_unlock(&dfu->io_mutex);

	file->private_data = df;
	return 0;

err_unlock:
	mutex_unlock(&dfu->io_mutex);
err_free:
	kfree(df);
	return ret;
}

/*
 * Append @n bytes to the block being assembled, from user memory @ubuf or
 * kernel memory @kbuf, and send every block that fills. Returns 0, or the
 * error that ended the transfer.
 */
static int dfu_queue(struct dfu_file *df, const char __user *ubuf,
		     const u8 *kbuf, size_t n)
{
	struct dfu_dev *dfu = df->dfu;
	u32 size = dfu->info.wTransferSize;
	size_t done = 0;
	int ret;

	while (done < n) {
		size_t c = min_t(size_t, n - done, size - df->fill);
		u8 *dst = dfu->buf + df->fill;

		if (!ubuf)
			memcpy(dst, kbuf + done, c);
		else if (copy_from_user(dst, ubuf + done, c))
			goto fault;
		if (df->guard)
			df->crc = crc32_le(df->crc, dst, c);
		df->fill += c;
		done += c;
		if (df->fill < size)
			break;

		if (signal_pending(current)) {
			dfu_cancel(df, -EINTR);
			return -EINTR;
		}
		ret = dfu_download_block(dfu, df->block, size);
		if (ret)
			return dfu_finish(df, ret);
		df->sent += size;
		df->block++;
		df->fill = 0;
		if (done < n) {
			ret = dfu_between_blocks(df);
			if (ret)
				return ret;
		}
	}
	return 0;
fault:
	dfu_cancel(df, -EFAULT);
	return -EFAULT;
}

/*
 * With the suffix guard on, the last DFU_SUFFIX_MAX bytes of the stream
 * stay in @df->tail until the end shows whether they are a DFU suffix;
 * everything before them goes to the device as it comes.
 */
static int dfu_hold_back(struct dfu_file *df, const char __user *ubuf,
			 size_t count)
{
	size_t held = df->tail_len;
	size_t keep = min_t(size_t, DFU_SUFFIX_MAX, held + count);
	size_t release = held + count - keep;
	size_t from_tail = min(release, held);
	size_t from_user = release - from_tail;
	int ret;

	if (from_tail) {
		ret = dfu_queue(df, NULL, df->tail, from_tail);
		if (ret)
			return ret;
		held -= from_tail;
		memmove(df->tail, df->tail + from_tail, held);
		df->tail_len = held;
	}
	if (from_user) {
		ret = dfu_queue(df, ubuf, NULL, from_user);
		if (ret)
			return ret;
	}
	if (copy_from_user(df->tail + held, ubuf + from_user, count - from_user)) {
		dfu_cancel(df, -EFAULT);
		return -EFAULT;
	}
	df->tail_len = held + count - from_user;
	return 0;
}

/*
 * Does the stream end with a DFU suffix (DFU 1.1 appendix B: "UFD",
 * bLength >= 16, dwCRC over everything before it)? If so it is not part of
 * the image: *@image becomes the bytes of @df->tail before it, and its
 * idVendor and idProduct must name this device, 0xffff matching any.
 * Returns 0, or -EMEDIUMTYPE for an image made for another device.
 */
static int dfu_check_suffix(struct dfu_file *df, size_t *image)
{
	struct dfu_dev *dfu = df->dfu;
	const u8 *end = df->tail + df->tail_len;
	u16 vid, pid;
	u32 crc;
	u8 len;

	if (df->tail_len < DFU_SUFFIX_LEN || memcmp(end - 8, "UFD", 3))
		return 0;
	len = end[-5];
	if (len < DFU_SUFFIX_LEN || len > df->tail_len)
		return 0;
	crc = crc32_le(df->crc, df->tail, df->tail_len - 4);
	if (crc != (end[-4] | end[-3] << 8 | end[-2] << 16 | (u32)end[-1] << 24))
		return 0;

	pid = end[-14] | end[-13] << 8;
	vid = end[-12] | end[-11] << 8;
	if ((vid != 0xffff && vid != dfu->info.idVendor) ||
	    (pid != 0xffff && pid != dfu->info.idProduct)) {
		dev_err(&dfu->dev, "image is for %04x:%04x, not for this %04x:%04x: not manifested\n",
			vid, pid, dfu->info.idVendor, dfu->info.idProduct);
		return -EMEDIUMTYPE;
	}
	dev_info(&dfu->dev, "DFU suffix for %04x:%04x checked and removed (%u bytes)\n",
		 vid, pid, len);
	*image = df->tail_len - len;
	return 0;
}

/* Send the stream's last short block, the zero-length DFU_DNLOAD and manifest. */
static int dfu_download_end(struct dfu_file *df)
{
	struct dfu_dev *dfu = df->dfu;
	size_t image = df->tail_len;
	int ret = 0;

	if (df->guard) {
		ret = dfu_check_suffix(df, &image);
		if (ret) {
			dfu_cancel(df, ret);
			return ret;
		}
		df->tail_len = 0;
		ret = dfu_queue(df, NULL, df->tail, image);
		if (ret)
			return ret;
		/* a suffix alone is no image: never manifest nothing */
		if (!df->sent && !df->fill) {
			dfu_cancel(df, -ENODATA);
			return -ENODATA;
		}
	}
	if (df->fill) {
		ret = dfu_download_block(dfu, df->block, df->fill);
		if (!ret) {
			df->sent += df->fill;
			df->block++;
			df->fill = 0;
		}
	}
	if (!ret)
		ret = dfu_manifest(dfu, df->block);
	return dfu_finish(df, ret);
}

static ssize_t dfu_write(struct file *file, const char __user *ubuf,
			 size_t count, loff_t *ppos)
{
	struct dfu_file *df = file->private_data;
	struct dfu_dev *dfu = df->dfu;
	size_t done = 0;
	int ret;

	if (!count)
		return 0;
	ret = mutex_lock_interruptible(&dfu->io_mutex);
	if (ret)
		return ret;
	if (dfu_gone(dfu)) {
		ret = -ENODEV;
		goto out;
	}
	if (df->xfer == DFU_XFER_FAILED) {
		ret = df->error;
		goto out;
	}
	if (df->in_call || (df->xfer == DFU_XFER_ACTIVE && df->upload)) {
		ret = -EBUSY;
		goto out;
	}
	if (df->xfer != DFU_XFER_ACTIVE) {
		/* A new image starts at offset 0, as from open() or after fsync(). */
		ret = *ppos ? -ESPIPE : dfu_begin(df, false);
		if (ret)
			goto out;
	} else if (*ppos != df->pos) {
		ret = -ESPIPE;
		goto out;
	}

	df->writer_tgid = task_tgid_nr(current);
	df->in_call = true;
	if (df->guard)
		ret = dfu_hold_back(df, ubuf, count);
	else
		ret = dfu_queue(df, ubuf, NULL, count);
	df->in_call = false;
	if (ret)
		goto out;
	done = count;
	df->pos += count;
	*ppos = df->pos;
	ret = 0;
out:
	dfu_told(df, ret);
	mutex_unlock(&dfu->io_mutex);
	return ret ? ret : done;
}

static ssize_t dfu_read(struct file *file, char __user *ubuf, size_t count,
			loff_t *ppos)
{
	struct dfu_file *df = file->private_data;
	struct dfu_dev *dfu = df->dfu;
	size_t done = 0;
	int ret;

	if (!(dfu->info.bmAttributes & DFU_ATTR_CAN_UPLOAD) || dfu_is_dfuse(dfu) ||
	    dfu->info.mode != DFU_MODE_DFU)
		return -EOPNOTSUPP;
	if (!count)
		return 0;
	ret = mutex_lock_interruptible(&dfu->io_mutex);
	if (ret)
		return ret;
	if (dfu_gone(dfu)) {
		ret = -ENODEV;
		goto out;
	}
	if (df->in_call || (df->xfer == DFU_XFER_ACTIVE && !df->upload)) {
		ret = -EBUSY;
		goto out;
	}
	if (*ppos != df->pos || df->xfer == DFU_XFER_NONE) {
		/* Reading from offset 0 starts a new upload; no other seeks. */
		if (*ppos != 0) {
			ret = -ESPIPE;
			goto out;
		}
		if (df->xfer == DFU_XFER_ACTIVE)
			dfu_cancel(df, 0);
		ret = dfu_begin(df, true);
		if (ret)
			goto out;
	}
	if (df->xfer == DFU_XFER_FAILED) {
		ret = df->error;
		goto out;
	}

	while (done < count) {
		size_t n;

		if (df->head == df->fill) {
			if (df->xfer != DFU_XFER_ACTIVE)
				break;
			if (df->eof) {
				/* all of the image has been read */
				ret = dfu_finish(df, 0);
				break;
			}
			if (signal_pending(current)) {
				if (!done)
					ret = -EINTR;
				break;
			}
			ret = dfu_upload_block(dfu, df->block);
			if (ret < 0) {
				ret = dfu_finish(df, ret);
				break;
			}
			df->block++;
			df->head = 0;
			df->fill = ret;
			if (df->fill < dfu->info.wTransferSize) {
				/*
				 * The short block ends the image. The transfer
				 * stays this file's until its bytes are read:
				 * they are in the device's shared buffer.
				 */
				df->eof = true;
				ret = dfu_end_upload(dfu);
				if (ret) {
					ret = dfu_finish(df, ret);
					break;
				}
			}
			ret = 0;
			continue;
		}
		n = min_t(size_t, count - done, df->fill - df->head);
		if (copy_to_user(ubuf + done, dfu->buf + df->head, n)) {
			ret = -EFAULT;
			break;
		}
		df->head += n;
		done += n;
		df->pos += n;
	}
	*ppos = df->pos;
out:
	mutex_unlock(&dfu->io_mutex);
	return done ? done : ret;
}

/*
 * Is the current process dying of a signal (not calling exit())? Threads
 * of a process that calls exit_group() are killed too, but with the
 * group's exit code, which has no signal number in it.
 */
static bool dfu_killed(void)
{
	return (current->flags & PF_EXITING) &&
	       (READ_ONCE(current->signal->group_exit_code) & 0x7f);
}

/* End an unfinished download: finish it, or cancel it if the writer was killed. */
static int dfu_end_stream(struct dfu_file *df)
{
	if (df->upload || df->xfer != DFU_XFER_ACTIVE)
		return 0;
	/*
	 * A process killed by a signal closes its files on the way out; its
	 * image is incomplete and must not be manifested.
	 */
	if (dfu_killed()) {
		dfu_cancel(df, -EINTR);
		return -EINTR;
	}
	return dfu_download_end(df);
}

static int dfu_fsync(struct file *file, loff_t start, loff_t end, int datasync)
{
	struct dfu_file *df = file->private_data;
	struct dfu_dev *dfu = df->dfu;
	int ret;

	if (!(file->f_mode & FMODE_WRITE))
		return 0;
	mutex_lock(&dfu->io_mutex);
	if (dfu_gone(dfu))
		ret = -ENODEV;
	else if (df->in_call)
		ret = -EBUSY;
	else if (df->xfer == DFU_XFER_FAILED)
		ret = df->error;
	else
		ret = dfu_end_stream(df);
	dfu_told(df, ret);
	mutex_unlock(&dfu->io_mutex);
	return ret;
}

static int dfu_flush(struct file *file, fl_owner_t id)
{
	struct dfu_file *df = file->private_data;
	struct dfu_dev *dfu = df->dfu;
	int ret = 0;

	/*
	 * The image ends when the process that wrote it closes the file, so
	 * that cat sees the result even where the shell holds the file too
	 * (dash), or when the last holder closes it. Another holder's close
	 * must not cut the image short.
	 */
	if (!(file->f_mode & FMODE_WRITE))
		return 0;
	if (file_count(file) > 1 && task_tgid_nr(current) != df->writer_tgid)
		return 0;
	mutex_lock(&dfu->io_mutex);
	/* another thread is writing this file: its last close ends the image */
	if (df->in_call) {
		mutex_unlock(&dfu->io_mutex);
		return 0;
	}
	if (df->xfer == DFU_XFER_ACTIVE && !df->upload) {
		if (dfu_gone(dfu))
			ret = dfu_finish(df, -ENODEV);
		else
			ret = dfu_end_stream(df);
	} else if (df->xfer == DFU_XFER_FAILED && !df->told) {
		/* failed behind the writer's back: a reset, another's abort */
		ret = df->error;
	}
	dfu_told(df, ret);
	mutex_unlock(&dfu->io_mutex);
	return ret;
}

static int dfu_release(struct inode *inode, struct file *file)
{
	struct dfu_file *df = file->private_data;
	struct dfu_dev *dfu = df->dfu;

	mutex_lock(&dfu->io_mutex);
	if (df->xfer == DFU_XFER_ACTIVE)
		/* a reader may stop early: it has what it wanted */
		dfu_cancel(df, df->upload ? 0 : -ECANCELED);
	if (file->f_mode & FMODE_WRITE)
		dfu->has_writer = false;
	mutex_unlock(&dfu->io_mutex);

	kfree(df);
	put_device(&dfu->dev);
	return 0;
}

/*
 * DFU_IOCTL_DETACH and DFU_IOCTL_RESET: the reset runs without io_mutex,
 * which the driver's own pre_reset takes.
 */
static long dfu_ioctl_reset(struct dfu_dev *dfu, unsigned int cmd,
			    u32 __user *uarg)
{
	bool reset = true;
	u32 timeout = 0;
	int ret;

	if (cmd == DFU_IOCTL_DETACH && get_user(timeout, uarg))
		return -EFAULT;
	ret = mutex_lock_interruptible(&dfu->io_mutex);
	if (ret)
		return ret;
	if (dfu_gone(dfu)) {
		ret = -ENODEV;
	} else if (dfu->owner) {
		ret = -EBUSY;
	} else if (cmd == DFU_IOCTL_DETACH) {
		ret = dfu_detach(dfu, timeout);
		reset = !(dfu->info.bmAttributes & DFU_ATTR_WILL_DETACH);
	}
	mutex_unlock(&dfu->io_mutex);
	if (!ret && reset) {
		ret = dfu_usb_reset(dfu);
		/* a detached device may leave before the reset: as intended */
		if (ret == -ENODEV && cmd == DFU_IOCTL_DETACH)
			ret = 0;
	}
	return ret;
}

static long dfu_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct dfu_file *df = file->private_data;
	struct dfu_dev *dfu = df->dfu;
	void __user *uarg = (void __user *)arg;
	union {
		struct dfu_status status;
		struct dfu_info info;
		struct dfu_result result;
		u8 state;
	} u;
	size_t len = 0;
	u32 alt = 0;
	int ret;

	switch (cmd) {
	case DFU_IOCTL_GET_STATUS:
	case DFU_IOCTL_GET_STATE:
	case DFU_IOCTL_CLR_STATUS:
	case DFU_IOCTL_ABORT:
	case DFU_IOCTL_GET_INFO:
	case DFU_IOCTL_GET_RESULT:
		break;
	case DFU_IOCTL_SET_ALT:
		if (get_user(alt, (__u32 __user *)uarg))
			return -EFAULT;
		break;
	case DFU_IOCTL_DETACH:
	case DFU_IOCTL_RESET:
		return dfu_ioctl_reset(dfu, cmd, uarg);
	default:
		return -ENOTTY;
	}

	memset(&u, 0, sizeof(u));
	ret = mutex_lock_interruptible(&dfu->io_mutex);
	if (ret)
		return ret;
	if (dfu_gone(dfu)) {
		ret = -ENODEV;
		goto out;
	}
	switch (cmd) {
	case DFU_IOCTL_GET_STATUS:
		ret = dfu_get_status(dfu, &u.status);
		len = sizeof(u.status);
		break;
	case DFU_IOCTL_GET_STATE:
		ret = dfu_get_state(dfu, &u.state);
		len = sizeof(u.state);
		break;
	case DFU_IOCTL_CLR_STATUS:
		ret = dfu_clear_status(dfu);
		break;
	case DFU_IOCTL_ABORT:
		/* The transfer in progress, whoever owns it, ends here. */
		if (dfu->owner)
			dfu_cancel(dfu->owner, -ECANCELED);
		else
			ret = dfu_abort(dfu);
		break;
	case DFU_IOCTL_GET_INFO:
		u.info = dfu->info;
		len = sizeof(u.info);
		break;
	case DFU_IOCTL_GET_RESULT:
		u.result = dfu->result;
		len = sizeof(u.result);
		break;
	case DFU_IOCTL_SET_ALT:
		ret = dfu_set_alt(dfu, alt);
		goto out;
	}
	if (ret)
		ret = dfu_user_error(dfu, ret);
out:
	mutex_unlock(&dfu->io_mutex);
	if (!ret && len && copy_to_user(uarg, &u, len))
		ret = -EFAULT;
	return ret;
}

static const struct file_operations dfu_fops = {
	.owner = THIS_MODULE,
	.open = dfu_open,
	.read = dfu_read,
	.write = dfu_write,
	.fsync = dfu_fsync,
	.flush = dfu_flush,
	.release = dfu_release,
	.unlocked_ioctl = dfu_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = default_llseek,
};

/**
 * dfu_chardev_setup() - initialise the class device embedded in @dfu
 * @dfu: a new device
 *
 * From here on the class device's reference count owns @dfu: put_device()
 * frees it through dfu_release_dev().
 *
 * Context: process.
 */
void dfu_chardev_setup(struct dfu_dev *dfu)
{
	device_initialize(&dfu->dev);
	dfu->dev.class = &dfu_class;
	dfu->dev.release = dfu_release_dev;
	dfu->id = -1;
	dev_set_drvdata(&dfu->dev, dfu);
	cdev_init(&dfu->cdev, &dfu_fops);
	dfu->cdev.owner = THIS_MODULE;
}

/**
 * dfu_chardev_add() - publish @dfu as /dev/dfuN with the lowest free N
 * @dfu: a device set up by dfu_chardev_setup(), fully initialised
 *
 * The node can be opened as soon as this returns, so everything it uses
 * must be ready before.
 *
 * Context: process.
 * Return: 0, -ENOSPC when all DFU_MAX_DEVICES numbers are taken, or an
 * error from the driver core.
 */
int dfu_chardev_add(struct dfu_dev *dfu)
{
	int ret;

	ret = ida_alloc_max(&dfu_ida, DFU_MAX_DEVICES - 1, GFP_KERNEL);
	if (ret < 0)
		return ret;
	dfu->id = ret;
	dfu->dev.parent = &dfu->intf->dev;
	dfu->dev.devt = MKDEV(MAJOR(dfu_devt), dfu->id);
	ret = dev_set_name(&dfu->dev, "dfu%d", dfu->id);
	if (!ret)
		ret = cdev_device_add(&dfu->cdev, &dfu->dev);
	if (ret) {
		ida_free(&dfu_ida, dfu->id);
		dfu->id = -1;
	}
	return ret;
}

/**
 * dfu_chardev_del() - remove /dev/dfuN and free N for the next device
 * @dfu: a device published by dfu_chardev_add()
 *
 * Files still open keep @dfu alive; their calls fail with -ENODEV.
 *
 * Context: process.
 */
void dfu_chardev_del(struct dfu_dev *dfu)
{
	cdev_device_del(&dfu->cdev, &dfu->dev);
	ida_free(&dfu_ida, dfu->id);
}

/**
 * dfu_chardev_init() - register the dfu class and its device numbers
 *
 * Context: module init.
 * Return: 0 or an error from the driver core.
 */
int dfu_chardev_init(void)
{
	int ret;

	ret = alloc_chrdev_region(&dfu_devt, 0, DFU_MAX_DEVICES, "dfu");
	if (ret)
		return ret;
	ret = class_register(&dfu_class);
	if (ret)
		unregister_chrdev_region(dfu_devt, DFU_MAX_DEVICES);
	return ret;
}

/**
 * dfu_chardev_exit() - undo dfu_chardev_init()
 *
 * Context: module exit, after the USB driver is deregistered.
 */
void dfu_chardev_exit(void)
{
	class_unregister(&dfu_class);
	unregister_chrdev_region(dfu_devt, DFU_MAX_DEVICES);
	ida_destroy(&dfu_ida);
}
