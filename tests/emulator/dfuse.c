// SPDX-License-Identifier: GPL-2.0
/*
 * dfu-emu: ST DfuSe (the protocol reference, sections 11-13): the memory
 * map, and the STM32 system-memory ROM's commands (AN3156), which the
 * GD32 ROM copies.  ST's USB device library and Black Magic Probe's
 * bootloader are in dfuse-stacks.c.
 *
 * The memory map is built from the layout strings the alt settings
 * announce (or, where the device lies about it, from the profile's
 * real_layouts), so what the host reads in iInterface is what the device
 * enforces.  The address pointer is one for the device, as on the ROM; an
 * address must lie in the map of the selected alt setting.
 *
 * Errors of the ROM, where the reference leaves a choice:
 * - Set Address or Erase outside the alt's map, Erase of a sector that is
 *   not erasable: errTARGET (AN3156's "address is wrong").
 * - A data block (DNLOAD wBlockNum >= 2) that does not lie in the map:
 *   errADDRESS (DFU 1.1: "address out of range"); in a sector that is not
 *   writable: errTARGET.
 * - Programming is what flash does: a bit can go from 1 to 0, never back
 *   without an erase, and the ROM verifies what it wrote, so a write over
 *   unerased bytes that needed a 0 -> 1 fails with errVERIFY (the F4's
 *   flash controller has no "not erased" error of its own, unlike the F1's
 *   PGERR).  The bytes keep what the AND gave, as on the chip.
 * - UPLOAD outside the readable map: stall, dfuERROR/errADDRESS; a read
 *   that starts inside and runs past the end answers short, which ends
 *   the upload (the ROM reads on into whatever the bus has there).
 * - A command byte or length the ROM does not know: the GETSTATUS that
 *   would run it stalls and the device enters dfuERROR/errSTALLEDPKT.
 * - Read protection (--dfuse-protected, RDP level 1): Set Address and Get
 *   Commands work; Erase, mass erase and data blocks fail with errVENDOR;
 *   UPLOAD of blocks >= 2 stalls with dfuERROR/errVENDOR.  Read Unprotect
 *   wipes the flash, lifts the protection and resets the chip.
 */
#include <stdlib.h>
#include <string.h>

#include "dfuse-int.h"
#include "log.h"

/* --- the memory map ----------------------------------------------------- */

/*
 * The layout string is read as the driver reads it (driver/dfuse_map.c),
 * so that the memory the device enforces is the map the host sees:
 * "@name/0xADDR/COUNT*SIZE[KMB][a-g],.../0xADDR/...": any number of
 * digits, spaces (isspace) before any number, '*', ',', '/' and the type
 * letter, a missing letter is a run without permissions, an empty run
 * ("000*128Kg") holds nothing, a '/' that no address follows ends the
 * map, and so does any other text after a zone.  Zones are sorted by
 * address.  What the driver would take as no map (no '@', no zone, runs
 * past 4 GiB, overlapping zones), and what the emulator cannot hold
 * (more than DFUSE_MAX_SEGS runs, no memory at all, more than
 * DFUSE_MAX_MEM bytes), is refused with a reason.
 */
static int layout_space(char c)
{
	return c == ' ' || (c >= '\t' && c <= '\r');
}

static const char *layout_skip(const char *p)
{
	while (layout_space(*p))
		p++;
	return p;
}

static int layout_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* A number after spaces, "0x" allowed in hex; *s moves past it.  0 when
 * there are no digits or it exceeds 32 bits. */
static int layout_number(const char **s, int base, uint32_t *val)
{
	const char *p = layout_skip(*s);
	uint64_t n = 0;
	int any = 0, v;

	if (base == 16 && p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
		p += 2;
	while ((v = layout_digit(*p)) >= 0 && v < base) {
		n = n * (uint64_t)base + (uint64_t)v;
		if (n > 0x100000000ull)
			n = 0x100000000ull;
		any = 1;
		p++;
	}
	*s = p;
	*val = (uint32_t)n;
	return any && n <= 0xffffffffull;
}

/* The runs of one zone from addr; returns where the zone ends, or NULL
 * with *why set. */
static const char *layout_zone(const char *p, uint64_t addr,
			       struct dfuse_map *map, const char **why)
{
	for (;;) {
		uint32_t count, size;
		uint64_t bytes;
		uint8_t perm = 0;

		if (!layout_number(&p, 10, &count)) {
			*why = "a run is not COUNT*SIZE (COUNT a 32-bit number)";
			return NULL;
		}
		p = layout_skip(p);
		if (*p != '*') {
			*why = "a run has no '*' after its count";
			return NULL;
		}
		p++;
		if (!layout_number(&p, 10, &size)) {
			*why = "a run's SIZE is not a 32-bit number";
			return NULL;
		}
		bytes = size;
		if (*p == 'K')
			bytes *= 1024;
		else if (*p == 'M')
			bytes *= 1024 * 1024;
		if (*p == 'K' || *p == 'M' || *p == 'B')
			p++;
		p = layout_skip(p);
		if (*p >= 'a' && *p <= 'g')
			perm = (uint8_t)((*p++ - 'a' + 1) & 7);
		if (bytes > 0xffffffffull ||
		    addr + bytes * count > 0x100000000ull) {
			*why = "a run ends past 4 GiB (or its sector size does not fit 32 bits)";
			return NULL;
		}
		if (bytes && count) {
			struct dfuse_seg *g = &map->seg[map->n_segs];

			if (map->n_segs == DFUSE_MAX_SEGS) {
				*why = "more runs than the emulator holds (64)";
				return NULL;
			}
			g->start = addr;
			g->sector = (uint32_t)bytes;
			g->count = count;
			g->perm = perm;
			map->n_segs++;
		}
		addr += bytes * count;
		p = layout_skip(p);
		if (*p != ',')
			return p;
		p++;
	}
}

static int seg_cmp(const void *a, const void *b)
{
	const struct dfuse_seg *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

/* s into map's runs, sorted (no memory yet): 0, or -1 with *why set. */
static int parse_layout(const char *s, struct dfuse_map *map,
			const char **why)
{
	const char *p = strchr(s, '/');
	uint64_t total = 0;
	unsigned zones = 0, i;
	uint32_t addr;

	memset(map, 0, sizeof(*map));
	if (s[0] != '@' || !p) {
		*why = "a layout is \"@NAME/0xADDRESS/COUNT*SIZE[KMB][a-g],...\"";
		return -1;
	}
	while (p && *p == '/') {
		p++;
		if (!layout_number(&p, 16, &addr))
			break;		/* a '/' that ends the string */
		p = layout_skip(p);
		if (*p != '/') {
			*why = "a zone's address is not followed by '/'";
			return -1;
		}
		p = layout_zone(p + 1, addr, map, why);
		if (!p)
			return -1;
		zones++;
	}
	if (!zones) {
		*why = "no zone: '/' is not followed by an address";
		return -1;
	}
	qsort(map->seg, map->n_segs, sizeof(map->seg[0]), seg_cmp);
	for (i = 0; i < map->n_segs; i++) {
		if (i && map->seg[i].start < map->seg[i - 1].start +
		    (uint64_t)map->seg[i - 1].sector * map->seg[i - 1].count) {
			*why = "zones overlap";
			return -1;
		}
		total += (uint64_t)map->seg[i].sector * map->seg[i].count;
	}
	if (!total) {
		*why = "it describes no memory (every run is empty)";
		return -1;
	}
	if (total > DFUSE_MAX_MEM) {
		*why = "more memory than the emulator holds (64 MiB)";
		return -1;
	}
	return 0;
}

int dfuse_layout_check(const char *s, const char **why)
{
	struct dfuse_map map;

	return parse_layout(s, &map, why);
}

/* One block for the map's segments, erased. */
static int alloc_map(struct dfuse_map *map)
{
	size_t off = 0;
	unsigned i;

	for (i = 0; i < map->n_segs; i++)
		map->len += (size_t)map->seg[i].sector * map->seg[i].count;
	map->mem = malloc(map->len ? map->len : 1);
	if (!map->mem)
		return -1;
	memset(map->mem, ERASED, map->len);
	for (i = 0; i < map->n_segs; i++) {
		map->seg[i].mem = map->mem + off;
		off += (size_t)map->seg[i].sector * map->seg[i].count;
	}
	return 0;
}

struct dfuse_seg *dfuse_find_seg(struct dfuse_map *map, uint64_t addr)
{
	unsigned i;

	for (i = 0; i < map->n_segs; i++) {
		struct dfuse_seg *g = &map->seg[i];

		if (addr >= g->start &&
		    addr < g->start + (uint64_t)g->sector * g->count)
			return g;
	}
	return NULL;
}

static uint64_t seg_end(const struct dfuse_seg *g)
{
	return g->start + (uint64_t)g->sector * g->count;
}

uint8_t dfuse_check_range(struct dfuse_map *map, uint64_t addr, size_t len,
			  uint8_t perm)
{
	while (len) {
		struct dfuse_seg *g = dfuse_find_seg(map, addr);
		uint64_t n;

		if (!g)
			return ST_ERR_ADDRESS;
		if (!(g->perm & perm))
			return ST_ERR_TARGET;
		n = seg_end(g) - addr;
		if (n > len)
			n = len;
		addr += n;
		len -= (size_t)n;
	}
	return ST_OK;
}


int dfuse_init(struct dfuse *d, const struct dfuse_profile *p,
	       const struct dfuse_options *o)
{
	size_t total = 0;
	unsigned i, k;

	memset(d, 0, sizeof(*d));
	d->p = p;
	d->t = *o;
	d->protect = o->protect;
	d->pointer = 0x08000000;	/* the ROM's pointer before Set Address */
	for (i = 0; i < p->n_alts; i++) {
		const char *s = p->real_layouts[i] ? p->real_layouts[i] :
				p->layouts[i];
		const char *why = "out of memory";

		if (parse_layout(s, &d->alt[i], &why) ||
		    alloc_map(&d->alt[i])) {
			fprintf(stderr, "dfu-emu: layout of alt %u, '%s': %s\n",
				i, s, why);
			return -1;
		}
		for (k = 0; k < d->alt[i].n_segs; k++)
			emu_log("dfuse: alt %u: 0x%08llx %u*%u perm %u", i,
				(unsigned long long)d->alt[i].seg[k].start,
				d->alt[i].seg[k].count, d->alt[i].seg[k].sector,
				d->alt[i].seg[k].perm);
		total += d->alt[i].len;
		if (total > DFUSE_MAX_MEM) {
			fprintf(stderr, "dfu-emu: the alt settings' layouts "
				"hold more than 64 MiB\n");
			return -1;
		}
	}
	/* zeroed: BMP answers UPLOAD block 0 with what it holds */
	d->buf = calloc(1, o->transfer_size);
	d->up = malloc(o->transfer_size);
	if (!d->buf || !d->up)
		return -1;
	if (p->init_memory)
		p->init_memory(d);
	return 0;
}

void dfuse_free(struct dfuse *d)
{
	unsigned i;

	for (i = 0; i < DFUSE_MAX_ALTS; i++)
		free(d->alt[i].mem);
	free(d->buf);
	free(d->up);
	memset(d, 0, sizeof(*d));
}

int dfuse_load(struct dfuse *d, const uint8_t *data, size_t len)
{
	if (len > d->alt[0].len)
		return -1;
	memcpy(d->alt[0].mem, data, len);
	return 0;
}

/* --- DNLOAD: commands and data blocks ---------------------------------- */

/* The ROM stalls block 1 (reserved); the ST library ignores it, BMP
 * writes it below the pointer (its formula, (1 - 2) * 1024). */
int dfuse_dnload_ok(const struct dfuse *d, uint16_t block, uint16_t len)
{
	return !(d->p->stack == DFUSE_STACK_ROM && block == 1 && len);
}

/* Bytes past len keep the last DNLOAD's: BMP reads them. */
void dfuse_stage(struct dfuse *d, unsigned alt, uint16_t block,
		 const uint8_t *data, size_t len)
{
	if (len > d->t.transfer_size)
		len = d->t.transfer_size;	/* the model refused more */
	memcpy(d->buf, data, len);
	d->len = len;
	d->pending = 1;
	d->pending_alt = alt;
	d->pending_block = block;
}

void dfuse_cancel(struct dfuse *d)
{
	d->pending = 0;
}

uint32_t dfuse_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static void note_erase(struct dfuse *d, uint32_t addr)
{
	d->st.erases++;
	if (d->st.n_erased < DFUSE_MAX_ERASED)
		d->st.erased[d->st.n_erased++] = addr;
}

uint8_t dfuse_erase_sector(struct dfuse *d, struct dfuse_map *map,
			   uint32_t addr)
{
	struct dfuse_seg *g = dfuse_find_seg(map, addr);
	uint64_t first;

	if (!g || !(g->perm & DFUSE_ERASE))
		return ST_ERR_TARGET;
	first = g->start + (addr - g->start) / g->sector * g->sector;
	memset(g->mem + (first - g->start), ERASED, g->sector);
	note_erase(d, (uint32_t)first);
	emu_log("dfuse: erase sector 0x%08x", (uint32_t)first);
	return ST_OK;
}

/* Mass erase: every erasable sector of the internal flash (alt 0),
 * whichever alt is selected, as the chip's MER bit does. */
static void mass_erase(struct dfuse *d)
{
	struct dfuse_map *map = &d->alt[0];
	unsigned i;

	for (i = 0; i < map->n_segs; i++)
		if (map->seg[i].perm & DFUSE_ERASE)
			memset(map->seg[i].mem, ERASED,
			       (size_t)map->seg[i].sector * map->seg[i].count);
	emu_log("dfuse: mass erase");
}

/* Read protection refuses what would touch the flash: errVENDOR. */
static int denied(struct dfuse *d, struct dfuse_verdict *v)
{
	if (!d->protect)
		return 0;
	v->status = ST_ERR_VENDOR;
	d->st.denied++;
	emu_log("dfuse: read protected: errVENDOR");
	return 1;
}

static void run_command(struct dfuse *d, struct dfuse_map *map,
			struct dfuse_verdict *v)
{
	const uint8_t *b = d->buf;

	if (d->len == 1 && b[0] == CMD_GET_COMMANDS) {
		d->st.get_commands++;
	} else if (d->len == 5 && b[0] == CMD_SET_ADDRESS) {
		if (!dfuse_find_seg(map, dfuse_le32(b + 1))) {
			v->status = ST_ERR_TARGET;
			return;
		}
		d->pointer = dfuse_le32(b + 1);
		d->st.set_address++;
		emu_log("dfuse: address 0x%08x", d->pointer);
	} else if (d->len == 5 && b[0] == CMD_ERASE) {
		if (denied(d, v))
			return;
		v->status = dfuse_erase_sector(d, map, dfuse_le32(b + 1));
		if (v->status == ST_OK)
			v->poll_ms = d->t.erase_ms;
	} else if (d->len == 1 && b[0] == CMD_ERASE) {
		if (denied(d, v))
			return;
		mass_erase(d);
		d->st.mass_erases++;
		v->poll_ms = d->t.mass_erase_ms;
	} else if (d->len == 1 && b[0] == CMD_READ_UNPROTECT &&
		   dfuse_has_command(d->p, CMD_READ_UNPROTECT)) {
		/* The option bytes go back to level 0, which wipes the
		 * flash, and the chip resets: it answers this one
		 * GETSTATUS and drops off the bus. */
		mass_erase(d);
		d->protect = 0;
		if (d->p->init_memory)
			d->p->init_memory(d);	/* option bytes: RDP 0xAA */
		d->st.unprotects++;
		v->poll_ms = d->t.mass_erase_ms;
		v->disconnect = 1;
	} else {
		v->stall = 1;
		v->status = ST_ERR_STALLEDPKT;
		emu_log("dfuse: unknown command 0x%02x, %zu bytes",
			d->len ? b[0] : 0, d->len);
	}
}

uint8_t dfuse_program(struct dfuse_map *map, uint64_t addr,
		      const uint8_t *data, size_t len)
{
	uint8_t status = ST_OK;

	while (len) {
		struct dfuse_seg *g = dfuse_find_seg(map, addr);
		uint8_t *p = g->mem + (addr - g->start);
		size_t n = seg_end(g) - addr < len ?
			   (size_t)(seg_end(g) - addr) : len;
		size_t i;

		for (i = 0; i < n; i++) {
			p[i] &= data[i];
			if (p[i] != data[i])
				status = ST_ERR_VERIFY;
		}
		addr += n;
		data += n;
		len -= n;
	}
	return status;
}

static void write_block(struct dfuse *d, struct dfuse_map *map,
			struct dfuse_verdict *v)
{
	uint64_t addr = d->pointer +
		(uint64_t)(d->pending_block - 2) * d->t.transfer_size;

	if (denied(d, v))
		return;
	v->status = dfuse_check_range(map, addr, d->len, DFUSE_WRITE);
	if (v->status == ST_OK)
		v->status = dfuse_program(map, addr, d->buf, d->len);
	v->poll_ms = d->t.write_ms;
	if (v->status == ST_OK) {
		d->st.writes++;
		d->st.write_bytes += d->len;
	}
	emu_log("dfuse: write %zu bytes at 0x%08llx: status %u", d->len,
		(unsigned long long)addr, v->status);
}

void dfuse_run(struct dfuse *d, struct dfuse_verdict *v)
{
	struct dfuse_map *map = &d->alt[d->pending_alt];

	memset(v, 0, sizeof(*v));
	if (!d->pending)
		return;
	d->pending = 0;
	if (d->p->stack == DFUSE_STACK_STUSBD)
		dfuse_run_stusbd(d, map, v);
	else if (d->p->stack == DFUSE_STACK_BMP)
		dfuse_run_bmp(d, map, v);
	else if (d->pending_block == 0)
		run_command(d, map, v);
	else
		write_block(d, map, v);	/* block 1 never gets here */
	if (v->status != ST_OK)
		d->st.errors++;
	if (v->stuck)
		d->st.stuck++;
}

/* --- UPLOAD and leave -------------------------------------------------- */

size_t dfuse_read_padded(struct dfuse *d, struct dfuse_map *map,
			 uint64_t addr, size_t len)
{
	size_t n = 0;

	while (n < len) {
		struct dfuse_seg *g = dfuse_find_seg(map, addr + n);
		uint64_t k;

		if (!g || !(g->perm & DFUSE_READ)) {
			d->up[n++] = ERASED;
			d->st.pad_bytes++;
			continue;
		}
		k = seg_end(g) - (addr + n);
		if (k > len - n)
			k = len - n;
		memcpy(d->up + n, g->mem + (addr + n - g->start), (size_t)k);
		n += (size_t)k;
	}
	return len;
}

/* The ROM: block 0 the command list, 1 reserved, >= 2 memory, short at
 * the end of the readable map. */
static void upload_rom(struct dfuse *d, struct dfuse_map *map,
		       uint16_t block, uint16_t wLength,
		       struct dfuse_reply *r)
{
	struct dfuse_seg *g;
	uint64_t addr, n = 0;

	if (block == 0) {
		r->data = d->p->commands;
		r->len = d->p->n_commands < wLength ? d->p->n_commands :
			 wLength;
		return;
	}
	r->stall = r->error = 1;
	if (block == 1) {		/* reserved */
		r->status = ST_ERR_STALLEDPKT;
		return;
	}
	if (d->protect) {
		r->status = ST_ERR_VENDOR;
		d->st.denied++;
		return;
	}
	addr = d->pointer + (uint64_t)(block - 2) * d->t.transfer_size;
	/* As much as the readable map holds from addr, up to wLength. */
	while (n < wLength && (g = dfuse_find_seg(map, addr + n)) &&
	       (g->perm & DFUSE_READ)) {
		uint64_t k = seg_end(g) - (addr + n);

		if (k > wLength - n)
			k = wLength - n;
		memcpy(d->up + n, g->mem + (addr + n - g->start), (size_t)k);
		n += k;
	}
	if (!n && wLength) {
		r->status = ST_ERR_ADDRESS;
		return;
	}
	r->stall = r->error = 0;
	r->data = d->up;
	r->len = (size_t)n;
}

void dfuse_upload(struct dfuse *d, unsigned alt, uint16_t block,
		  uint16_t wLength, struct dfuse_reply *r)
{
	struct dfuse_map *map = &d->alt[alt];

	memset(r, 0, sizeof(*r));
	r->state = -1;
	if (d->p->stack == DFUSE_STACK_STUSBD)
		dfuse_upload_stusbd(d, map, block, wLength, r);
	else if (d->p->stack == DFUSE_STACK_BMP)
		dfuse_upload_bmp(d, map, block, wLength, r);
	else
		upload_rom(d, map, block, wLength, r);
	if (!r->stall && block >= 2) {
		d->st.reads++;
		d->st.read_bytes += r->len;
	}
}

void dfuse_control_in(struct dfuse *d, const uint8_t *data, size_t len)
{
	if (d->p->stack == DFUSE_STACK_BMP && len <= d->t.transfer_size)
		memcpy(d->buf, data, len);
}

void dfuse_leave(struct dfuse *d)
{
	d->st.leaves++;
	emu_log("dfuse: leave (jump to 0x%08x)", d->pointer);
}

void dfuse_image(const struct dfuse *d, const uint8_t **data, size_t *len)
{
	*data = d->alt[0].mem;
	*len = d->alt[0].len;
}

void dfuse_write_stats(const struct dfuse *d, FILE *f)
{
	const struct dfuse_stats *s = &d->st;
	unsigned i;

	fprintf(f, "dfuse=%s\naddress=0x%08x\nget_commands=%lu\n"
		"set_address=%lu\nerases=%lu\nmass_erases=%lu\n"
		"unprotects=%lu\nleaves=%lu\ndfuse_writes=%lu\n"
		"dfuse_write_bytes=%lu\ndfuse_reads=%lu\ndfuse_errors=%lu\n",
		d->p->name, d->pointer, s->get_commands,
		s->set_address, s->erases, s->mass_erases, s->unprotects,
		s->leaves, s->writes, s->write_bytes, s->reads, s->errors);
	fprintf(f, "dfuse_read_bytes=%lu\ndfuse_pad_bytes=%lu\n"
		"dfuse_protected=%d\ndfuse_denied=%lu\ndfuse_stuck=%lu\n"
		"dfuse_ignored=%lu\ndfuse_lost_bytes=%lu\n"
		"dfuse_bogus_state=%lu\nerased=",
		s->read_bytes, s->pad_bytes, d->protect, s->denied, s->stuck,
		s->ignored, s->lost_bytes, s->bogus_state);
	for (i = 0; i < s->n_erased; i++)
		fprintf(f, "%s0x%08x", i ? "," : "", s->erased[i]);
	fputc('\n', f);
}
