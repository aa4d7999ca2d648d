// SPDX-License-Identifier: GPL-2.0
/*
 * upload.c - read(): the stream layer's uploads (DFU 1.1, section 6.2)
 *
 * A plain DFU device sends its image block by block until a short block.
 * A DfuSe device's file is its memory: read() at a position reads the
 * address base + position, and the file ends where the memory map does.
 * Called with io_mutex held, like stream.c, whose helpers end a transfer.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/sched/signal.h>
#include <linux/uaccess.h>
#include "dfu.h"

/*
 * Fetch the next block into the buffer. A DfuSe device's reads stop at the
 * end of the map, which BMP never ends with a short block, and in a gap.
 */
static int dfu_stream_fetch(struct dfu_stream *s, u64 size)
{
	struct dfu_dev *dfu = s->dfu;
	u16 want = dfu->info.wTransferSize;
	u64 addr;
	int ret;

	if (!dfu->dfuse)
		return dfu_upload(dfu, s->block, want);
	s->pos += s->fill;
	s->fill = 0;
	addr = s->base + s->pos;
	/* read() stops where the readable memory does: never 0 here */
	want = min_t(u64, min_t(u64, want, size - s->pos),
		     dfu_dfuse_readable(dfu, s->alt, addr));
	if (!want)
		return -ENXIO;
	ret = dfu_dfuse_upload(dfu, addr, want);
	if (ret >= 0 && (ret < want || s->pos + ret == size))
		s->eof = true;
	return ret;
}

/**
 * dfu_stream_read() - return the next bytes of the device's image
 * @s: the file's stream
 * @ubuf: where they go, in user memory
 * @count: how many are wanted, not 0
 * @ppos: the file position, for a DfuSe device (NULL for the others)
 *
 * The first read() after open() starts the upload; after the device's
 * short block has been read, read() returns 0. A DfuSe device's read()
 * returns the memory at base + *@ppos, and 0 at the end of the map.
 * A signal makes the call return early with what it has.
 *
 * Context: process; io_mutex held, dropped and retaken between blocks.
 * Return: bytes read, 0 at the end of the image, -ERESTARTSYS for a signal
 * before any byte, -EBUSY while the file or the device is busy with
 * another transfer, -ENXIO for DfuSe memory that is not readable, or the
 * error that ended the upload.
 */
ssize_t dfu_stream_read(struct dfu_stream *s, char __user *ubuf, size_t count,
			loff_t *ppos)
{
	struct dfu_dev *dfu = s->dfu;
	bool fetched = false, interrupted = false;
	u64 size = 0, pos = 0, readable;
	size_t done = 0;
	int ret = 0;

	if (s->busy || (s->xfer == DFU_XFER_ACTIVE && !s->upload))
		return -EBUSY;
	if (dfu->dfuse) {
		pos = *ppos;
		size = dfu_dfuse_size(dfu, s->alt, s->base);
		if (pos >= size)
			return 0;
		/* a gap or memory that is not readable: refused, nothing sent */
		readable = dfu_dfuse_readable(dfu, s->alt, s->base + pos);
		if (!readable)
			return -ENXIO;
		count = min_t(u64, count, readable);
		/* a jump: what the buffer holds is not what is wanted */
		if (s->xfer == DFU_XFER_ACTIVE && pos != s->pos + s->head) {
			s->pos = pos;
			s->head = 0;
			s->fill = 0;
			s->eof = false;
		}
	}
	if (s->xfer == DFU_XFER_NONE ||
	    (s->xfer == DFU_XFER_DONE && (!s->upload || dfu->dfuse))) {
		ret = dfu_stream_begin(s, true, pos);
		if (ret)
			return dfu_stream_told(s, ret);
	}
	if (s->xfer == DFU_XFER_FAILED)
		return dfu_stream_told(s, s->error);
	if (s->xfer == DFU_XFER_DONE)
		return 0;

	s->busy = true;
	while (done < count) {
		size_t n;

		if (s->head == s->fill) {
			if (s->eof) {
				/* all of the image has been read */
				ret = dfu_stream_finish(s, 0);
				break;
			}
			if (signal_pending(current)) {
				interrupted = true;
				break;
			}
			if (fetched) {
				ret = dfu_stream_yield(s);
				if (ret)
					break;
			}
			ret = dfu_stream_fetch(s, size);
			if (ret < 0) {
				ret = dfu_stream_fail(s, ret);
				break;
			}
			fetched = true;
			s->block++;
			s->bytes += ret;
			s->head = 0;
			s->fill = ret;
			ret = 0;
			if (!dfu->dfuse && s->fill < dfu->info.wTransferSize)
				s->eof = true;
			if (s->eof) {
				/*
				 * The end of the image. The transfer stays
				 * this file's until its bytes are read: they
				 * are in the device's buffer.
				 */
				ret = dfu->dfuse ? dfu_dfuse_end_upload(dfu) :
						   dfu_end_upload(dfu);
				if (ret) {
					ret = dfu_stream_fail(s, ret);
					break;
				}
			}
			continue;
		}
		n = min_t(size_t, count - done, s->fill - s->head);
		if (copy_to_user(ubuf + done, dfu->buf + s->head, n)) {
			ret = -EFAULT;
			break;
		}
		s->head += n;
		done += n;
	}
	s->busy = false;
	if (dfu->dfuse)
		*ppos += done;
	if (done)
		return done;
	if (interrupted)
		return -ERESTARTSYS;
	return dfu_stream_told(s, ret);
}
