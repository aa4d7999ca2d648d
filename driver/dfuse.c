// SPDX-License-Identifier: GPL-2.0
/*
 * dfuse.c - ST's DfuSe extension of DFU 1.1 (UM0424, bcdDFUVersion 0x011a)
 *
 * The memory map each alternate setting announces in its iInterface string
 * (UM0424 section 4.3.2), the DfuSe commands (DFU_DNLOAD block 0: Set
 * Address Pointer, Erase, Read Unprotect; DFU_UPLOAD block 0: Get
 * Commands) and the address arithmetic of data blocks: block n >= 2 of a
 * run lands at the address pointer + (n - 2) * wTransferSize, so every
 * block of a run but the last is full.
 *
 * stream.c calls this file for the blocks of a DfuSe device; the requests
 * are states.c's and proto.c's. Every function here but the probe-time
 * ones is called with io_mutex held.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bitmap.h>
#include <linux/kernel.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/string.h>
#include <linux/sysfs.h>
#include "dfu.h"

/* DfuSe commands: the first byte of DFU_DNLOAD block 0 (UM0424 6.1) */
#define DFUSE_CMD_GET_COMMANDS	0x00
#define DFUSE_CMD_SET_ADDRESS	0x21
#define DFUSE_CMD_ERASE		0x41
#define DFUSE_CMD_UNPROTECT	0x92

/* The first data block of a run; block 1 is reserved. */
#define DFUSE_FIRST_BLOCK	2
/* Time limit of each request that leaves DFU mode: the device may not answer. */
#define DFUSE_LEAVE_TIMEOUT_MS	2000U

/* What a memory-layout letter allows: bit 0 read, bit 1 erase, bit 2 write. */
static u8 dfuse_perm(char c)
{
	return c >= 'a' && c <= 'g' ? (c - 'a' + 1) & 7 : 0;
}

static u64 dfuse_seg_end(const struct dfuse_seg *g)
{
	return (u64)g->start + (u64)g->size * g->count;
}

/* Index of bAlternateSetting @alt in the interface's altsetting array, or -1. */
static int dfuse_alt_index(struct dfu_dev *dfu, u8 alt)
{
	unsigned int i;

	for (i = 0; i < dfu->info.bNumAltSettings; i++)
		if (dfu->alt_nums[i] == alt)
			return i;
	return -1;
}

/* The map of one alt setting: its entries in d->segs, sorted by address. */
static void dfuse_alt_segs(struct dfu_dev *dfu, u8 alt,
			   const struct dfuse_seg **segs, unsigned int *n)
{
	struct dfuse *d = dfu->dfuse;
	int i = dfuse_alt_index(dfu, alt);

	*n = 0;
	*segs = d->segs;
	if (i < 0)
		return;
	*segs = d->segs + d->alt_seg[i];
	*n = d->alt_seg[i + 1] - d->alt_seg[i];
}

/*
 * A number at *s in @base, after spaces, with "0x" allowed in hex; *s
 * moves past it. False when there are no digits or it exceeds 32 bits.
 */
static bool dfuse_number(const char **s, unsigned int base, u32 *val)
{
	const char *p = skip_spaces(*s);
	bool any = false;
	u64 n = 0;
	int v;

	if (base == 16 && p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
		p += 2;
	while ((v = hex_to_bin(*p)) >= 0 && v < base) {
		n = min_t(u64, n * base + v, (u64)U32_MAX + 1);
		any = true;
		p++;
	}
	*s = p;
	*val = n;
	return any && n <= U32_MAX;
}

/*
 * Parse "NN*SSSmt" runs of sectors until the end of a zone. Lenient, as
 * real strings break UM0424's limits ("064*0002Kg", "000*128Kg"): any
 * number of digits, spaces anywhere, and a missing type letter reads as
 * no permission. Returns where the zone ends, or NULL for a map that
 * cannot be right.
 */
static const char *dfuse_parse_zone(struct dfuse *d, const char *p, u64 addr,
				    bool feature)
{
	while (d->n_segs < DFUSE_MAX_SEGS) {
		struct dfuse_seg *g = &d->segs[d->n_segs];
		u32 count, size;
		u64 bytes;

		if (!dfuse_number(&p, 10, &count))
			return NULL;
		p = skip_spaces(p);
		if (*p != '*')
			return NULL;
		p++;
		if (!dfuse_number(&p, 10, &size))
			return NULL;
		bytes = size;
		if (*p == 'K')
			bytes *= SZ_1K;
		else if (*p == 'M')
			bytes *= SZ_1M;
		if (*p == 'K' || *p == 'M' || *p == 'B')
			p++;
		p = skip_spaces(p);
		g->perm = feature ? DFUSE_READ | DFUSE_WRITE : dfuse_perm(*p);
		if (*p >= 'a' && *p <= 'g')
			p++;
		/* the 32-bit address pointer reaches no further */
		if (bytes > U32_MAX || addr + bytes * count > SZ_4G)
			return NULL;
		g->start = addr;
		g->size = bytes;
		g->count = count;
		addr += bytes * count;
		if (bytes && count)
			d->n_segs++;
		p = skip_spaces(p);
		if (*p != ',')
			break;
		p++;
	}
	return p;
}

static int dfuse_seg_cmp(const void *a, const void *b)
{
	const struct dfuse_seg *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

/*
 * "@Internal Flash  /0x08000000/04*016Kg,01*064Kg,07*128Kg": a name, then
 * zones, each an address and runs of sectors. The entries of the alt go
 * to d->segs, sorted; an alt whose string is no map, or whose zones
 * overlap, gets none.
 */
static void dfuse_parse_alt(struct dfu_dev *dfu, unsigned int i)
{
	struct dfuse *d = dfu->dfuse;
	const char *s = dfu->alt_names[i];
	unsigned int first = d->n_segs, k;
	const char *p = strchr(s, '/');
	u64 sectors = d->n_sectors;
	bool feature, bad;
	u32 addr;

	d->alt_seg[i] = first;
	if (s[0] != '@' || !p)
		goto out;
	/* dfu-util's rule: the F4's "Device Feature" is read and write */
	feature = !strncmp(s + 1, "Device Feature", 14);
	while (p && *p == '/') {
		p++;
		if (!dfuse_number(&p, 16, &addr))
			break;		/* a '/' that ends the string */
		p = skip_spaces(p);
		p = *p == '/' ? dfuse_parse_zone(d, p + 1, addr, feature) : NULL;
	}
	sort(d->segs + first, d->n_segs - first, sizeof(*d->segs),
	     dfuse_seg_cmp, NULL);
	bad = !p;
	for (k = first + 1; k < d->n_segs && !bad; k++)
		bad = d->segs[k].start < dfuse_seg_end(&d->segs[k - 1]);
	for (k = first; k < d->n_segs && !bad; k++) {
		d->segs[k].first = sectors;
		sectors += d->segs[k].count;
		bad = sectors > DFUSE_MAX_SECTORS;
	}
	if (bad) {
		dev_warn(&dfu->intf->dev, "alt setting %u: cannot use the DfuSe memory map \"%s\"\n",
			 dfu->alt_nums[i], s);
		d->n_segs = first;
	} else {
		d->n_sectors = sectors;
	}
out:
	d->alt_seg[i + 1] = d->n_segs;
}

/**
 * dfu_dfuse_init() - read the DfuSe memory maps of a device being probed
 * @dfu: the device, with its alt-setting names read
 *
 * Context: probe.
 * Return: 0 or -ENOMEM.
 */
int dfu_dfuse_init(struct dfu_dev *dfu)
{
	unsigned int i, n = dfu->info.bNumAltSettings;
	struct dfuse *d;

	d = kzalloc(struct_size(d, alt_seg, n + 1), GFP_KERNEL);
	if (!d)
		return -ENOMEM;
	dfu->dfuse = d;
	d->leave = true;
	for (i = 0; i < n; i++)
		dfuse_parse_alt(dfu, i);
	d->erased = bitmap_zalloc(max(d->n_sectors, 1U), GFP_KERNEL);
	return d->erased ? 0 : -ENOMEM;
}

/**
 * dfu_dfuse_free() - free what dfu_dfuse_init() allocated
 * @dfu: the device
 *
 * Context: any.
 */
void dfu_dfuse_free(struct dfu_dev *dfu)
{
	if (!dfu->dfuse)
		return;
	bitmap_free(dfu->dfuse->erased);
	kfree(dfu->dfuse);
	dfu->dfuse = NULL;
}

/**
 * dfu_dfuse_base() - the address file position 0 is, by default
 * @dfu: a DfuSe device
 * @alt: bAlternateSetting
 *
 * Context: any.
 * Return: the start of the alt's first zone, 0 for an alt without a map.
 */
u32 dfu_dfuse_base(struct dfu_dev *dfu, u8 alt)
{
	const struct dfuse_seg *g;
	unsigned int n;

	dfuse_alt_segs(dfu, alt, &g, &n);
	return n ? g[0].start : 0;
}

/**
 * dfu_dfuse_size() - bytes of the file: from @base to the end of the map
 * @dfu: a DfuSe device
 * @alt: bAlternateSetting
 * @base: the address file position 0 is
 *
 * Context: any.
 * Return: the size, 0 when @base lies beyond the map or the alt has none.
 */
u64 dfu_dfuse_size(struct dfu_dev *dfu, u8 alt, u32 base)
{
	const struct dfuse_seg *g;
	unsigned int n;
	u64 end;

	dfuse_alt_segs(dfu, alt, &g, &n);
	end = n ? dfuse_seg_end(&g[n - 1]) : 0;
	return end > base ? end - base : 0;
}

/* The entry of the alt's map that holds @addr, or NULL. */
static const struct dfuse_seg *dfuse_find(struct dfu_dev *dfu, u8 alt, u64 addr)
{
	const struct dfuse_seg *g;
	unsigned int n, k;

	dfuse_alt_segs(dfu, alt, &g, &n);
	for (k = 0; k < n; k++)
		if (addr >= g[k].start && addr < dfuse_seg_end(&g[k]))
			return &g[k];
	return NULL;
}

/**
 * dfu_dfuse_check() - may @len bytes at @addr be written (or read)?
 * @dfu: a DfuSe device
 * @alt: bAlternateSetting
 * @addr: first byte
 * @len: bytes
 * @perm: DFUSE_WRITE or DFUSE_READ
 *
 * Context: any.
 * Return: 0; -ENOSPC past the end of the map, -ENXIO in a gap between
 * zones or for an alt without a map, -EROFS in a sector that is not writable (-ENXIO when @perm is
 * DFUSE_READ and it is not readable).
 */
int dfu_dfuse_check(struct dfu_dev *dfu, u8 alt, u64 addr, u64 len, u8 perm)
{
	u64 end = addr + len;
	const struct dfuse_seg *g;
	unsigned int n;

	while (addr < end) {
		g = dfuse_find(dfu, alt, addr);
		if (!g) {
			dfuse_alt_segs(dfu, alt, &g, &n);
			return n && addr >= dfuse_seg_end(&g[n - 1]) ?
			       -ENOSPC : -ENXIO;
		}
		if (!(g->perm & perm))
			return perm == DFUSE_WRITE ? -EROFS : -ENXIO;
		addr = dfuse_seg_end(g);
	}
	return 0;
}

/**
 * dfu_dfuse_readable() - bytes that can be read in one run from @addr
 * @dfu: a DfuSe device
 * @alt: bAlternateSetting
 * @addr: first byte
 *
 * Context: any.
 * Return: the bytes up to the first gap or unreadable sector, 0 when @addr
 * itself is not readable.
 */
u64 dfu_dfuse_readable(struct dfu_dev *dfu, u8 alt, u64 addr)
{
	const struct dfuse_seg *g;
	u64 from = addr;

	while ((g = dfuse_find(dfu, alt, addr)) && (g->perm & DFUSE_READ))
		addr = dfuse_seg_end(g);
	return addr - from;
}

/**
 * dfu_dfuse_begin() - a download or upload starts: nothing erased, no run
 * @dfu: a DfuSe device
 *
 * Context: process; io_mutex held.
 */
void dfu_dfuse_begin(struct dfu_dev *dfu)
{
	struct dfuse *d = dfu->dfuse;

	bitmap_zero(d->erased, d->n_sectors);
	d->run = DFUSE_RUN_NONE;
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
	return dfuse_errno(dfu, ret);
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

	while (addr < end && (g = dfuse_find(dfu, alt, addr))) {
		u32 k = div_u64(addr - g->start, g->size);
		u32 sector = g->start + k * g->size;

		addr = (u64)sector + g->size;
		if (!(g->perm & DFUSE_ERASE) ||
		    (!again && test_bit(g->first + k, d->erased)))
			continue;
		if (d->run == DFUSE_RUN_UP) {
			ret = dfu_abort(dfu);
			if (ret)
				return ret;
		}
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
	if (d->run != DFUSE_RUN_DOWN || addr != d->next_addr ||
	    d->next_block > U16_MAX) {
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

	if (d->run != DFUSE_RUN_UP || addr != d->next_addr ||
	    d->next_block > U16_MAX) {
		if (d->run == DFUSE_RUN_UP) {
			ret = dfu_abort(dfu);
			if (ret)
				return ret;
		}
		d->run = DFUSE_RUN_NONE;
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
	if (ret != dfu->info.wTransferSize)
		d->run = DFUSE_RUN_NONE;
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
 * dfu_dfuse_leave() - leave DFU mode and run the firmware at @addr
 * @dfu: a DfuSe device in dfuIDLE or dfuDNLOAD-IDLE
 * @addr: the start address, the base of the download
 *
 * Set Address, then a zero-length DFU_DNLOAD and one DFU_GETSTATUS, which
 * answers dfuMANIFEST before the device resets (protocol reference 11).
 * Some devices (GD32VF103) leave without answering: a device that drops
 * off the bus or stops answering has left too.
 *
 * Context: process; io_mutex held.
 * Return: 0, or -EIO when the device reports an error, or a transfer error.
 */
int dfu_dfuse_leave(struct dfu_dev *dfu, u32 addr)
{
	struct usb_dfu_status st;
	int ret;

	ret = dfuse_set_address(dfu, addr);
	if (ret)
		return ret;
	dfu->dfuse->run = DFUSE_RUN_NONE;
	ret = dfu_request_timeout(dfu, DFU_DNLOAD, DFUSE_FIRST_BLOCK, NULL, 0,
				  DFUSE_LEAVE_TIMEOUT_MS, false);
	if (ret >= 0)
		ret = dfu_read_status(dfu, &st, DFUSE_LEAVE_TIMEOUT_MS, false);
	if (ret == -ETIMEDOUT || dfu_left_bus(ret))
		return 0;
	if (ret)
		return ret;
	if (st.bStatus == USB_DFU_STATUS_OK && st.bState != USB_DFU_STATE_ERROR)
		return 0;
	dev_err(&dfu->dev, "device in %s (%s) when told to leave DFU mode\n",
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
 * Return: 0, -EACCES for a read-protected device (mass erase), or a
 * transfer error.
 */
int dfu_dfuse_special(struct dfu_dev *dfu, bool unprotect)
{
	int ret;

	dfu->dfuse->run = DFUSE_RUN_NONE;
	ret = dfuse_command(dfu, unprotect ? DFUSE_CMD_UNPROTECT : DFUSE_CMD_ERASE,
			    NULL);
	if (unprotect && (ret == -ETIMEDOUT || dfu_left_bus(ret)))
		ret = 0;
	if (!ret)
		dev_info(&dfu->dev, "DfuSe %s done\n",
			 unprotect ? "read unprotect" : "mass erase");
	return ret;
}

/**
 * dfu_dfuse_get_commands() - read the DfuSe command list (UPLOAD block 0)
 * @dfu: a DfuSe device in dfuIDLE, no transfer in progress
 *
 * Kept in dfu->dfuse->commands for the sysfs attribute dfuse_commands.
 *
 * Context: process; io_mutex held.
 * Return: 0 or a transfer error.
 */
static int dfu_dfuse_get_commands(struct dfu_dev *dfu)
{
	struct dfuse *d = dfu->dfuse;
	int ret;

	d->run = DFUSE_RUN_NONE;
	ret = dfu_upload(dfu, 0, min_t(u16, sizeof(d->commands),
				       dfu->info.wTransferSize));
	if (ret < 0)
		return ret;
	memcpy(d->commands, dfu->buf, ret);
	d->n_commands = ret;
	WRITE_ONCE(d->have_commands, true);
	return dfu_end_upload(dfu);
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
 * dfu_dfuse_commands() - make sure the DfuSe command list has been read
 * @dfu: a DfuSe device
 *
 * The first call reads it (UPLOAD block 0) with the device in dfuIDLE;
 * later calls send nothing.
 *
 * Context: process; takes io_mutex.
 * Return: 0, -EOPNOTSUPP for a device that cannot upload, -EBUSY during a
 * transfer, -EINTR for a signal while waiting for the device, or a
 * transfer error.
 */
int dfu_dfuse_commands(struct dfu_dev *dfu)
{
	int ret;

	if (READ_ONCE(dfu->dfuse->have_commands))
		return 0;
	if (!(dfu->info.bmAttributes & DFU_FUNC_ATT_CAN_UPLOAD))
		return -EOPNOTSUPP;
	ret = usb_autopm_get_interface(dfu->intf);
	if (ret)
		return dfu_errno(dfu, ret);
	if (mutex_lock_interruptible(&dfu->io_mutex)) {
		usb_autopm_put_interface(dfu->intf);
		return -EINTR;
	}
	if (dfu_gone(dfu))
		ret = -ENODEV;
	else if (dfu->owner)
		ret = -EBUSY;
	else if (!dfu->dfuse->have_commands)
		ret = dfu_prepare(dfu, READ_ONCE(dfu->def_alt));
	if (!ret && !dfu->dfuse->have_commands)
		ret = dfu_dfuse_get_commands(dfu);
	mutex_unlock(&dfu->io_mutex);
	usb_autopm_put_interface(dfu->intf);
	return ret ? dfu_errno(dfu, ret) : 0;
}

/**
 * dfu_dfuse_show_map() - the sysfs attribute dfuse_map
 * @dfu: a DfuSe device
 * @buf: the sysfs page
 *
 * One line per run of equal sectors of each alt setting: bAlternateSetting,
 * start address, count*size in bytes, permissions (r, e, w or -) and the
 * name of the map.
 *
 * Context: process.
 * Return: bytes written to @buf.
 */
ssize_t dfu_dfuse_show_map(struct dfu_dev *dfu, char *buf)
{
	struct dfuse *d = dfu->dfuse;
	unsigned int i, k;
	int len = 0;

	for (i = 0; i < dfu->info.bNumAltSettings; i++) {
		const char *name = dfu->alt_names[i] + 1;
		int nlen = strchrnul(name, '/') - name;

		while (nlen && name[nlen - 1] == ' ')
			nlen--;
		for (k = d->alt_seg[i]; k < d->alt_seg[i + 1]; k++) {
			const struct dfuse_seg *g = &d->segs[k];

			len += sysfs_emit_at(buf, len, "%u 0x%08x %u*%u %c%c%c %.*s\n",
					     dfu->alt_nums[i], g->start,
					     g->count, g->size,
					     g->perm & DFUSE_READ ? 'r' : '-',
					     g->perm & DFUSE_ERASE ? 'e' : '-',
					     g->perm & DFUSE_WRITE ? 'w' : '-',
					     nlen, name);
		}
	}
	return len;
}
