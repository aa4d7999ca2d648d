// SPDX-License-Identifier: GPL-2.0
/*
 * dfuse.c - ST's DfuSe extension of DFU 1.1 (UM0424, bcdDFUVersion 0x011a)
 *
 * The DfuSe commands (DFU_DNLOAD block 0: Set Address Pointer, Erase, Read
 * Unprotect; DFU_UPLOAD block 0: Get Commands) and the address arithmetic
 * of data blocks: block n >= 2 of a run lands at the address pointer +
 * (n - 2) * wTransferSize, so every block of a run but the last is full.
 * The memory maps are dfuse_map.c's.
 *
 * stream.c calls this file for the blocks of a DfuSe device; the requests
 * are states.c's and proto.c's. Every function here but the probe-time
 * ones is called with io_mutex held.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bitmap.h>
#include <linux/kernel.h>
#include "dfu.h"

/* DfuSe commands: the first byte of DFU_DNLOAD block 0 (UM0424 6.1) */
#define DFUSE_CMD_SET_ADDRESS	0x21
#define DFUSE_CMD_ERASE		0x41
#define DFUSE_CMD_UNPROTECT	0x92

/* The first data block of a run; block 1 is reserved. */
#define DFUSE_FIRST_BLOCK	2
/* Time limit of each request that leaves DFU mode: the device may not answer. */
#define DFUSE_LEAVE_TIMEOUT_MS	2000U

/**
 * dfu_dfuse_begin() - a download or upload starts: no run yet
 * @dfu: a DfuSe device
 * @forget_erased: the first download of an open file: no sector erased
 *
 * Context: process; io_mutex held.
 */
void dfu_dfuse_begin(struct dfu_dev *dfu, bool forget_erased)
{
	struct dfuse *d = dfu->dfuse;

	if (forget_erased)
		bitmap_zero(d->erased, d->n_sectors);
	d->run = DFUSE_RUN_NONE;
	d->wrote = false;
}

/* A device that reports errVENDOR is read-protected: say so, and what to do. */
static int dfuse_errno(struct dfu_dev *dfu, int err)
{
	if ((err == -EIO || err == -EPIPE) &&
	    dfu->status.bStatus == USB_DFU_STATUS_ERR_VENDOR) {
		dev_err(&dfu->dev, "the device is read-protected (errVENDOR): dfuctl unprotect --yes lifts the protection and erases all of its flash\n");
		return -EACCES;
	}
	return err;
}

/*
 * Send a DfuSe command (DFU_DNLOAD block 0) of one byte, or of five with
 * an address, and wait out its bwPollTimeout until dfuDNLOAD-IDLE.
 */
static int dfuse_command(struct dfu_dev *dfu, u8 cmd, const u32 *addr)
{
	u8 *b = dfu->sbuf;
	int ret;

	b[0] = cmd;
	if (addr)
		put_unaligned_le32(*addr, b + 1);
	ret = dfu_download_block(dfu, 0, b, addr ? 5 : 1);
	/* a stuck command ends only with DFU_ABORT (Black Magic Probe) */
	if (ret == -ETIMEDOUT && dfu->status.bState == USB_DFU_STATE_DNBUSY &&
	    !dfu_abort(dfu))
		dfu_get_status(dfu, &dfu->status);
	return dfuse_errno(dfu, ret);
}

/*
 * Did a request fail because the device left the bus (leave, read
 * unprotect)? A stall or a timeout may also be a refusal: a device that
 * still answers DFU_GETSTATUS is there.
 */
static bool dfuse_left(struct dfu_dev *dfu, int err)
{
	struct usb_dfu_status st;

	if (err == -EPIPE || err == -ETIMEDOUT)
		return dfu_read_status(dfu, &st, DFUSE_LEAVE_TIMEOUT_MS, false);
	return dfu_left_bus(err);
}

/*
 * Does the device announce @cmd? A list that does not start with Get
 * Commands (0x00) is no list (Black Magic Probe answers with whatever its
 * buffer holds): then, as before the list is read, every command may be.
 */
static bool dfuse_knows(struct dfu_dev *dfu, u8 cmd)
{
	struct dfuse *d = dfu->dfuse;

	if (!d->have_commands || !d->n_commands || d->commands[0])
		return true;
	return memchr(d->commands, cmd, d->n_commands);
}

/* Does a block at @addr go on the device's @run, with wBlockNum left? */
static bool dfuse_in_run(const struct dfuse *d, enum dfuse_run run, u32 addr)
{
	return d->run == run && addr == d->next_addr && d->next_block <= U16_MAX;
}

static int dfuse_set_address(struct dfu_dev *dfu, u32 addr)
{
	int ret = dfuse_command(dfu, DFUSE_CMD_SET_ADDRESS, &addr);

	if (ret)
		dev_err(&dfu->dev, "DfuSe Set Address 0x%08x failed (%d)\n",
			addr, ret);
	return ret;
}

/**
 * dfu_dfuse_erase() - erase the sectors that @len bytes at @addr touch
 * @dfu: a DfuSe device
 * @alt: bAlternateSetting, selected on the device
 * @addr: first byte
 * @len: bytes
 * @again: erase sectors this transfer erased already too
 *
 * Sectors that are not erasable, and without @again those this transfer
 * erased already, are skipped. Each Erase command is waited out as its
 * bwPollTimeout says. ST's USBD library moves the address pointer to the
 * sector it erases: the next data block sets it again.
 *
 * Context: process; io_mutex held.
 * Return: 0, -EACCES for a read-protected device, or a transfer error.
 */
int dfu_dfuse_erase(struct dfu_dev *dfu, u8 alt, u64 addr, u64 len, bool again)
{
	struct dfuse *d = dfu->dfuse;
	u64 end = addr + len;
	const struct dfuse_seg *g;
	int ret;

	while (addr < end && (g = dfu_dfuse_find(dfu, alt, addr))) {
		u32 k = div_u64(addr - g->start, g->size);
		u32 sector = g->start + k * g->size;

		addr = (u64)sector + g->size;
		if (!(g->perm & DFUSE_ERASE) ||
		    (!again && test_bit(g->first + k, d->erased)))
			continue;
		ret = dfu_dfuse_end_upload(dfu);
		if (ret)
			return ret;
		d->run = DFUSE_RUN_NONE;
		ret = dfuse_command(dfu, DFUSE_CMD_ERASE, &sector);
		if (ret) {
			dev_err(&dfu->dev, "DfuSe Erase of the sector at 0x%08x failed (%d)\n",
				sector, ret);
			return ret;
		}
		set_bit(g->first + k, d->erased);
	}
	return 0;
}

/**
 * dfu_dfuse_download() - write the first @len bytes of dfu->buf at @addr
 * @dfu: a DfuSe device
 * @alt: bAlternateSetting, selected on the device
 * @addr: where they go, checked with dfu_dfuse_check()
 * @len: bytes, 1 to wTransferSize
 *
 * Erases what the block touches that this transfer has not erased yet,
 * and sets the address pointer only when a new run starts: after a short
 * block, an erase, a jump, or before wBlockNum would wrap.
 *
 * Context: process; io_mutex held.
 * Return: 0, -EACCES for a read-protected device, or a transfer error.
 */
int dfu_dfuse_download(struct dfu_dev *dfu, u8 alt, u32 addr, u16 len)
{
	struct dfuse *d = dfu->dfuse;
	int ret;

	ret = dfu_dfuse_erase(dfu, alt, addr, len, false);
	if (ret)
		return ret;
	if (!dfuse_in_run(d, DFUSE_RUN_DOWN, addr)) {
		ret = dfuse_set_address(dfu, addr);
		if (ret)
			return ret;
		d->run = DFUSE_RUN_DOWN;
		d->next_block = DFUSE_FIRST_BLOCK;
	}
	ret = dfu_download_block(dfu, d->next_block, dfu->buf, len);
	if (ret) {
		d->run = DFUSE_RUN_NONE;
		return dfuse_errno(dfu, ret);
	}
	if (!d->wrote || addr < d->low)
		d->low = addr;
	d->wrote = true;
	d->next_block++;
	d->next_addr = addr + len;
	if (len != dfu->info.wTransferSize)
		d->run = DFUSE_RUN_NONE;
	return 0;
}

/**
 * dfu_dfuse_upload() - read @len bytes at @addr into dfu->buf
 * @dfu: a DfuSe device in dfuIDLE or dfuUPLOAD-IDLE
 * @addr: the first, readable as dfu_dfuse_readable() says
 * @len: bytes, 1 to wTransferSize
 *
 * A new run sets the address pointer (from dfuIDLE, through
 * dfuDNLOAD-IDLE, and back with DFU_ABORT), then reads from block 2.
 *
 * Context: process; io_mutex held.
 * Return: the bytes the device sent (fewer ends the memory), -EACCES for a
 * read-protected device, or a transfer error.
 */
int dfu_dfuse_upload(struct dfu_dev *dfu, u32 addr, u16 len)
{
	struct dfuse *d = dfu->dfuse;
	struct usb_dfu_status st;
	int ret;

	if (!dfuse_in_run(d, DFUSE_RUN_UP, addr)) {
		ret = dfu_dfuse_end_upload(dfu);
		if (ret)
			return ret;
		ret = dfuse_set_address(dfu, addr);
		if (!ret)
			ret = dfu_abort(dfu);
		if (ret)
			return ret;
		d->run = DFUSE_RUN_UP;
		d->next_block = DFUSE_FIRST_BLOCK;
	}
	ret = dfu_upload(dfu, d->next_block, len);
	if (ret < 0) {
		d->run = DFUSE_RUN_NONE;
		if (ret == -EPIPE && !dfu_gone(dfu))
			dfu_get_status(dfu, &st);
		return dfuse_errno(dfu, ret);
	}
	d->next_block++;
	d->next_addr = addr + ret;
	/* no block can follow, but the device is in dfuUPLOAD-IDLE */
	if (ret != dfu->info.wTransferSize)
		d->next_block = DFUSE_RUN_ENDED;
	return ret;
}

/**
 * dfu_dfuse_end_upload() - back to dfuIDLE after the reads of a transfer
 * @dfu: a DfuSe device
 *
 * Context: process; io_mutex held.
 * Return: 0 or the error of DFU_ABORT.
 */
int dfu_dfuse_end_upload(struct dfu_dev *dfu)
{
	struct dfuse *d = dfu->dfuse;

	if (d->run != DFUSE_RUN_UP)
		return 0;
	d->run = DFUSE_RUN_NONE;
	return dfu_abort(dfu);
}

/**
 * dfu_dfuse_leave() - leave DFU mode and run the new firmware
 * @dfu: a DfuSe device in dfuIDLE or dfuDNLOAD-IDLE
 * @base: the start address when the download wrote nothing
 *
 * Set Address to the lowest address the download wrote (dfu-util's
 * "-s ADDR:leave": the first address of a Black Magic Probe is its own
 * boot loader), then a zero-length DFU_DNLOAD and one DFU_GETSTATUS, which
 * answers dfuMANIFEST before the device resets (protocol reference 11). A
 * device that then drops off the bus or stops answering has left
 * (GD32VF103 leaves without answering); one that still answers with
 * another state has not.
 *
 * Context: process; io_mutex held.
 * Return: 0 once the device left or manifests, -EIO when it reports an
 * error or stays, or a transfer error.
 */
int dfu_dfuse_leave(struct dfu_dev *dfu, u32 base)
{
	struct dfuse *d = dfu->dfuse;
	struct usb_dfu_status st;
	int ret;

	ret = dfuse_set_address(dfu, d->wrote ? d->low : base);
	if (ret)
		return ret;
	d->run = DFUSE_RUN_NONE;
	ret = dfu_request_timeout(dfu, DFU_DNLOAD, DFUSE_FIRST_BLOCK, NULL, 0,
				  DFUSE_LEAVE_TIMEOUT_MS, false);
	if (ret < 0)
		return dfuse_left(dfu, ret) ? 0 : ret;
	ret = dfu_read_status(dfu, &st, DFUSE_LEAVE_TIMEOUT_MS, false);
	if (ret)
		return ret == -ETIMEDOUT || dfu_left_bus(ret) ? 0 : ret;
	switch (st.bState) {
	case USB_DFU_STATE_MANIFEST_WAIT_RESET:
		if (!(dfu->info.bmAttributes & DFU_FUNC_ATT_WILL_DETACH))
			set_bit(DFU_FLAG_RESET, &dfu->flags);
		fallthrough;
	case USB_DFU_STATE_MANIFEST_SYNC:
	case USB_DFU_STATE_MANIFEST:
		return 0;
	}
	dev_err(&dfu->dev, "device in %s (%s) when told to leave DFU mode: it stays in its boot loader\n",
		dfu_state_name(st.bState), dfu_status_name(st.bStatus));
	return -EIO;
}

/**
 * dfu_dfuse_special() - a DfuSe command outside a transfer: mass erase,
 *	read unprotect
 * @dfu: a DfuSe device in dfuIDLE
 * @unprotect: Read Unprotect (0x92) rather than mass erase (0x41 alone)
 *
 * A mass erase is polled for up to busy_timeout_ms (an STM32F405 takes up
 * to 32 s while it asks for 100 ms). Read Unprotect wipes the chip, which
 * then drops off the bus: that is success.
 *
 * Context: process; io_mutex held.
 * Return: 0, -EOPNOTSUPP when the device's command list lacks the command,
 * -EACCES for a read-protected device (mass erase), or a transfer error.
 */
int dfu_dfuse_special(struct dfu_dev *dfu, bool unprotect)
{
	u8 cmd = unprotect ? DFUSE_CMD_UNPROTECT : DFUSE_CMD_ERASE;
	int ret;

	if (!dfuse_knows(dfu, cmd)) {
		dev_err(&dfu->dev, "the device does not announce the DfuSe command 0x%02x\n",
			cmd);
		return -EOPNOTSUPP;
	}
	dfu->dfuse->run = DFUSE_RUN_NONE;
	ret = dfuse_command(dfu, cmd, NULL);
	if (ret && unprotect && dfuse_left(dfu, ret))
		ret = 0;
	if (!ret)
		dev_info(&dfu->dev, "DfuSe %s done\n",
			 unprotect ? "read unprotect" : "mass erase");
	return ret;
}

/**
 * dfu_dfuse_get_commands() - read the DfuSe command list (UPLOAD block 0)
 * @dfu: a DfuSe device in dfuIDLE, no transfer in progress
 * @timeout_ms: time limit of each request
 *
 * Kept in dfu->dfuse->commands for the sysfs attribute dfuse_commands,
 * which sends nothing itself. DFU_ABORT returns the device to dfuIDLE.
 *
 * Context: process; io_mutex held.
 * Return: 0 or a transfer error.
 */
static int dfu_dfuse_get_commands(struct dfu_dev *dfu, unsigned int timeout_ms)
{
	struct dfuse *d = dfu->dfuse;
	int ret;

	d->run = DFUSE_RUN_NONE;
	ret = dfu_request_timeout(dfu, DFU_UPLOAD, 0, dfu->buf,
				  min_t(u16, sizeof(d->commands),
					dfu->info.wTransferSize),
				  timeout_ms, true);
	if (ret < 0)
		return ret;
	memcpy(d->commands, dfu->buf, ret);
	d->n_commands = ret;
	/* sysfs reads the list without io_mutex once this is set */
	smp_store_release(&d->have_commands, true);
	ret = dfu_request_timeout(dfu, DFU_ABORT, 0, NULL, 0, timeout_ms, true);
	return ret < 0 ? ret : 0;
}

/**
 * dfu_dfuse_ioctl() - the DfuSe ioctls of a file
 * @s: the file's stream
 * @cmd: USB_DFU_IOCTL_DFUSE_SET_BASE, _ERASE, _MASS_ERASE or _UNPROTECT
 * @arg: the argument, copied in: a __u32, or for _ERASE a struct
 *	usb_dfu_dfuse_erase
 *
 * The commands bring the device to dfuIDLE in the file's alt setting
 * first, and back to dfuIDLE after (but for Read Unprotect, after which
 * the device is gone). See the uapi header for each.
 *
 * Context: process; io_mutex held.
 * Return: 0, -EINVAL for a wrong argument, -EBUSY during a transfer,
 * -EACCES for a read-protected device, or a transfer error.
 */
int dfu_dfuse_ioctl(struct dfu_stream *s, unsigned int cmd, const void *arg)
{
	const struct usb_dfu_dfuse_erase *e = arg;
	struct dfu_dev *dfu = s->dfu;
	u32 val = *(const u32 *)arg;
	int ret;

	switch (cmd) {
	case USB_DFU_IOCTL_DFUSE_SET_BASE:
		if (s->busy || s->xfer == DFU_XFER_ACTIVE)
			return -EBUSY;
		if (dfu_dfuse_check(dfu, s->alt, val, 1, DFUSE_ANY))
			return -EINVAL;
		WRITE_ONCE(s->base, val);
		return 0;
	case USB_DFU_IOCTL_DFUSE_ERASE:
		if (!e->length ||
		    dfu_dfuse_check(dfu, s->alt, e->address, e->length, DFUSE_ANY))
			return -EINVAL;
		break;
	case USB_DFU_IOCTL_DFUSE_MASS_ERASE:
		if (val != USB_DFU_DFUSE_MASS_ERASE_CONFIRM)
			return -EINVAL;
		break;
	default:
		if (val != USB_DFU_DFUSE_UNPROTECT_CONFIRM)
			return -EINVAL;
		break;
	}
	if (dfu->owner)
		return -EBUSY;
	ret = dfu_prepare(dfu, s->alt);
	if (ret)
		return dfu_errno(dfu, ret);
	dfu->dfuse->run = DFUSE_RUN_NONE;
	if (cmd == USB_DFU_IOCTL_DFUSE_ERASE)
		ret = dfu_dfuse_erase(dfu, s->alt, e->address, e->length, true);
	else
		ret = dfu_dfuse_special(dfu, cmd == USB_DFU_IOCTL_DFUSE_UNPROTECT);
	if (!ret && cmd != USB_DFU_IOCTL_DFUSE_UNPROTECT)
		ret = dfu_stop(dfu);
	return ret ? dfu_errno(dfu, ret) : 0;
}

/**
 * dfu_dfuse_learn() - read the DfuSe command list, once per device
 * @dfu: a DfuSe device in dfuIDLE
 * @timeout_ms: time limit of each request (probe runs on the hub's thread)
 *
 * At probe, or at the first transfer of a device that was not in dfuIDLE
 * then (a blank STM32 starts in dfuERROR). Only tried once: a device that
 * fails it is left as it is, for the caller's dfu_prepare().
 *
 * Context: process; io_mutex held.
 * Return: 0, or the error of the attempt made now (the device may then
 * be in dfuERROR).
 */
int dfu_dfuse_learn(struct dfu_dev *dfu, unsigned int timeout_ms)
{
	struct dfuse *d = dfu->dfuse;

	if (d->tried_commands ||
	    !(dfu->info.bmAttributes & DFU_FUNC_ATT_CAN_UPLOAD))
		return 0;
	d->tried_commands = true;
	return dfu_dfuse_get_commands(dfu, timeout_ms);
}
