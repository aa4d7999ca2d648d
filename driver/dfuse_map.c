// SPDX-License-Identifier: GPL-2.0
/*
 * dfuse_map.c - the memory maps of a DfuSe device (UM0424 section 4.3.2)
 *
 * Each alternate setting's iInterface string describes memory:
 * "@Internal Flash  /0x08000000/04*016Kg,01*064Kg,07*128Kg" is a name, a
 * zone at 0x08000000, and runs of sectors with their size and what they
 * allow (the type letter & 7: read, erase, write). The file of a DfuSe
 * device is this memory; dfuse.c sends the commands.
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

/* What a memory-layout letter allows: bit 0 read, bit 1 erase, bit 2 write. */
static u8 dfuse_perm(char c)
{
	return c >= 'a' && c <= 'g' ? (c - 'a' + 1) & 7 : 0;
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
	for (;;) {
		struct dfuse_seg *g = &d->segs[d->n_segs];
		u32 count, size;
		u64 bytes;

		/* more runs than the driver keeps: no map rather than half */
		if (d->n_segs == DFUSE_MAX_SEGS)
			return NULL;
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

/**
 * dfu_dfuse_find() - the run of sectors that holds an address
 * @dfu: a DfuSe device
 * @alt: bAlternateSetting
 * @addr: the address
 *
 * Context: any.
 * Return: the entry of the alt's map that holds @addr, or NULL.
 */
const struct dfuse_seg *dfu_dfuse_find(struct dfu_dev *dfu, u8 alt, u64 addr)
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
		g = dfu_dfuse_find(dfu, alt, addr);
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

	while ((g = dfu_dfuse_find(dfu, alt, addr)) && (g->perm & DFUSE_READ))
		addr = dfuse_seg_end(g);
	return addr - from;
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
		int nlen;

		/* an alt with a map has a name that starts with '@' */
		if (d->alt_seg[i] == d->alt_seg[i + 1])
			continue;
		nlen = strchrnul(name, '/') - name;

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
