// SPDX-License-Identifier: GPL-2.0
/*
 * dfu-emu: ST DfuSe (the protocol reference, sections 11-13).
 *
 * The memory map is built from the layout strings the alt settings
 * announce, so what the host reads in iInterface is exactly what the
 * device enforces.  The address pointer is one for the device, as on the
 * ROM; an address must lie in the map of the selected alt setting.
 *
 * Errors, where the reference leaves a choice:
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
 */
#include <stdlib.h>
#include <string.h>

#include "dfuse.h"
#include "log.h"

#define CMD_GET_COMMANDS	0x00
#define CMD_SET_ADDRESS		0x21
#define CMD_ERASE		0x41
#define CMD_READ_UNPROTECT	0x92

#define ST_OK			0x00
#define ST_ERR_TARGET		0x01
#define ST_ERR_VERIFY		0x07
#define ST_ERR_ADDRESS		0x08
#define ST_ERR_STALLEDPKT	0x0f

#define ERASED			0xff

/* --- profiles ---------------------------------------------------------- */

/* UPLOAD block 0 of the STM32 system-memory ROMs (F105/F107 and F4). */
static const uint8_t stm32_rom_commands[] = {
	CMD_GET_COMMANDS, CMD_SET_ADDRESS, CMD_ERASE, CMD_READ_UNPROTECT,
};

/* Option bytes of an unprotected F4 (RM0090 3.7.1): RDP 0xAA (level 0,
 * readable), nWRP 0x0FFF (no sector write-protected), USER 0xEC; the F4
 * ROM shows them at 0x1FFFC000 as 16 bytes.  The device-feature alt reads
 * as zeros: what the real one holds is not in the reference. */
static void stm32f4_init_memory(struct dfuse *d)
{
	static const uint8_t optb[16] = {
		0xec, 0xaa, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0xff, 0x0f, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	};
	struct dfuse_map *m = &d->alt[1];

	if (m->len >= sizeof(optb))
		memcpy(m->mem, optb, sizeof(optb));
	memset(d->alt[3].mem, 0, d->alt[3].len);	/* device feature */
}

/* The STM32F4 (F405/F407/F415/F417) system-memory bootloader, as lsusb
 * shows it: the layout strings are the ROM's, two spaces and all. */
static const struct dfuse_profile profiles[] = {
	{
		.name = "stm32f4",
		.vid = 0x0483, .pid = 0xdf11, .bcd_device = 0x2200,
		.bcd_usb = 0x0100,
		.manufacturer = "STMicroelectronics",
		.product = "STM32  BOOTLOADER",
		.serial = "356A36743233",
		/* download, upload, WillDetach; not manifestation tolerant */
		.attrs = 0x0b, .protocol = 2,
		.detach_timeout = 255, .transfer_size = 2048,
		.n_alts = 4,
		.layouts = {
			"@Internal Flash  /0x08000000/04*016Kg,01*064Kg,07*128Kg",
			"@Option Bytes  /0x1FFFC000/01*016 e",
			"@OTP Memory /0x1FFF7800/01*512 e,01*016 e",
			"@Device Feature/0xFFFF0000/01*004 e",
		},
		.commands = stm32_rom_commands,
		.n_commands = sizeof(stm32_rom_commands),
		.init_memory = stm32f4_init_memory,
	},
};

const struct dfuse_profile *dfuse_find(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(profiles) / sizeof(profiles[0]); i++)
		if (!strcmp(profiles[i].name, name))
			return &profiles[i];
	return NULL;
}

const char *dfuse_names(void)
{
	return "stm32f4";
}

/* --- the memory map ----------------------------------------------------- */

static unsigned long parse_num(const char **s, int base)
{
	char *end;
	unsigned long v = strtoul(*s, &end, base);

	if (end == *s)
		return (unsigned long)-1;
	*s = end;
	return v;
}

/* "NN*SSS[mult][type]": leniently, since real strings break UM0290's
 * digit limits and some lack the multiplier. */
static int parse_seg(const char **s, uint64_t start, struct dfuse_seg *g)
{
	unsigned long count = parse_num(s, 10), size;

	if (count == (unsigned long)-1 || **s != '*')
		return -1;
	(*s)++;
	size = parse_num(s, 10);
	if (size == (unsigned long)-1)
		return -1;
	if (**s == 'K')
		size *= 1024;
	else if (**s == 'M')
		size *= 1024 * 1024;
	if (**s == 'K' || **s == 'M' || **s == 'B' || **s == ' ')
		(*s)++;
	if (**s < 'a' || **s > 'g' || !size || size > 0xffffffffUL ||
	    count > 0xffffffffUL)
		return -1;
	g->start = start;
	g->sector = (uint32_t)size;
	g->count = (uint32_t)count;
	g->perm = (uint8_t)(**s & 7);
	(*s)++;
	return 0;
}

/* "@name/0xSTART/seg,seg[/0xSTART/seg...]" into map (no memory yet). */
static int parse_layout(const char *s, struct dfuse_map *map)
{
	uint64_t addr;

	s = strchr(s, '/');
	while (s && *s == '/') {
		s++;
		if (s[0] != '0' || (s[1] != 'x' && s[1] != 'X'))
			return -1;
		s += 2;
		addr = parse_num(&s, 16);
		if (*s++ != '/')
			return -1;
		do {
			struct dfuse_seg *g = &map->seg[map->n_segs];

			if (map->n_segs == DFUSE_MAX_SEGS ||
			    parse_seg(&s, addr, g))
				return -1;
			addr += (uint64_t)g->sector * g->count;
			map->n_segs++;
		} while (*s == ',' && s++);
	}
	return s && *s ? -1 : 0;
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

static struct dfuse_seg *find_seg(struct dfuse_map *map, uint64_t addr)
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

/* [addr, addr + len) lies in the map and has permission perm: ST_OK,
 * ST_ERR_ADDRESS (not all in the map) or ST_ERR_TARGET (permission). */
static uint8_t check_range(struct dfuse_map *map, uint64_t addr, size_t len,
			   uint8_t perm)
{
	while (len) {
		struct dfuse_seg *g = find_seg(map, addr);
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
	unsigned i;

	memset(d, 0, sizeof(*d));
	d->p = p;
	d->t = *o;
	d->pointer = 0x08000000;	/* the ROM's pointer before Set Address */
	for (i = 0; i < p->n_alts; i++) {
		if (parse_layout(p->layouts[i], &d->alt[i]) ||
		    alloc_map(&d->alt[i])) {
			fprintf(stderr, "dfu-emu: bad layout '%s'\n",
				p->layouts[i]);
			return -1;
		}
	}
	d->buf = malloc(o->transfer_size);
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

static uint32_t le32(const uint8_t *p)
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

/* Erase the sector that holds addr. */
static void erase_sector(struct dfuse *d, struct dfuse_map *map,
			 uint32_t addr, struct dfuse_verdict *v)
{
	struct dfuse_seg *g = find_seg(map, addr);
	uint64_t first;

	if (!g || !(g->perm & DFUSE_ERASE)) {
		v->status = ST_ERR_TARGET;
		return;
	}
	first = g->start + (addr - g->start) / g->sector * g->sector;
	memset(g->mem + (first - g->start), ERASED, g->sector);
	note_erase(d, (uint32_t)first);
	v->poll_ms = d->t.erase_ms;
	emu_log("dfuse: erase sector 0x%08x", (uint32_t)first);
}

/* Mass erase: every erasable sector of the internal flash (alt 0),
 * whichever alt is selected, as the chip's MER bit does. */
static void mass_erase(struct dfuse *d, struct dfuse_verdict *v)
{
	struct dfuse_map *map = &d->alt[0];
	unsigned i;

	for (i = 0; i < map->n_segs; i++)
		if (map->seg[i].perm & DFUSE_ERASE)
			memset(map->seg[i].mem, ERASED,
			       (size_t)map->seg[i].sector * map->seg[i].count);
	d->st.mass_erases++;
	v->poll_ms = d->t.mass_erase_ms;
	emu_log("dfuse: mass erase");
}

static void run_command(struct dfuse *d, struct dfuse_map *map,
			struct dfuse_verdict *v)
{
	const uint8_t *b = d->buf;

	if (d->len == 1 && b[0] == CMD_GET_COMMANDS) {
		d->st.get_commands++;
	} else if (d->len == 5 && b[0] == CMD_SET_ADDRESS) {
		if (!find_seg(map, le32(b + 1))) {
			v->status = ST_ERR_TARGET;
			return;
		}
		d->pointer = le32(b + 1);
		d->st.set_address++;
		emu_log("dfuse: address 0x%08x", d->pointer);
	} else if (d->len == 5 && b[0] == CMD_ERASE) {
		erase_sector(d, map, le32(b + 1), v);
	} else if (d->len == 1 && b[0] == CMD_ERASE) {
		mass_erase(d, v);
	} else if (d->len == 1 && b[0] == CMD_READ_UNPROTECT) {
		/* The option bytes go back to level 0, which wipes the
		 * flash, and the chip resets: it answers this one
		 * GETSTATUS and drops off the bus. */
		mass_erase(d, v);
		d->st.mass_erases--;	/* counted as what it is */
		d->st.unprotects++;
		v->disconnect = 1;
	} else {
		v->stall = 1;
		v->status = ST_ERR_STALLEDPKT;
		emu_log("dfuse: unknown command 0x%02x, %zu bytes",
			d->len ? b[0] : 0, d->len);
	}
}

/* Program len bytes at addr as flash does: AND, then verify. */
static uint8_t program(struct dfuse_map *map, uint64_t addr,
		       const uint8_t *data, size_t len)
{
	uint8_t status = ST_OK;

	while (len) {
		struct dfuse_seg *g = find_seg(map, addr);
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

	v->status = check_range(map, addr, d->len, DFUSE_WRITE);
	if (v->status == ST_OK)
		v->status = program(map, addr, d->buf, d->len);
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
	if (d->pending_block == 0)
		run_command(d, map, v);
	else
		write_block(d, map, v);	/* block 1 never gets here */
	if (v->status != ST_OK)
		d->st.errors++;
}

/* --- UPLOAD and leave -------------------------------------------------- */

long dfuse_upload(struct dfuse *d, unsigned alt, uint16_t block,
		  uint16_t wLength, const uint8_t **data, uint8_t *status)
{
	struct dfuse_map *map = &d->alt[alt];
	struct dfuse_seg *g;
	uint64_t addr, n = 0;

	if (block == 0) {
		*data = d->p->commands;
		return (long)(d->p->n_commands < wLength ?
			      d->p->n_commands : wLength);
	}
	if (block == 1) {		/* reserved */
		*status = ST_ERR_STALLEDPKT;
		return -1;
	}
	addr = d->pointer + (uint64_t)(block - 2) * d->t.transfer_size;
	/* As much as the readable map holds from addr, up to wLength. */
	while (n < wLength && (g = find_seg(map, addr + n)) &&
	       (g->perm & DFUSE_READ)) {
		uint64_t k = seg_end(g) - (addr + n);

		if (k > wLength - n)
			k = wLength - n;
		memcpy(d->up + n, g->mem + (addr + n - g->start), (size_t)k);
		n += k;
	}
	if (!n && wLength) {
		*status = ST_ERR_ADDRESS;
		return -1;
	}
	d->st.reads++;
	*data = d->up;
	return (long)n;
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
		"dfuse_write_bytes=%lu\ndfuse_reads=%lu\ndfuse_errors=%lu\n"
		"erased=", d->p->name, d->pointer, s->get_commands,
		s->set_address, s->erases, s->mass_erases, s->unprotects,
		s->leaves, s->writes, s->write_bytes, s->reads, s->errors);
	for (i = 0; i < s->n_erased; i++)
		fprintf(f, "%s0x%08x", i ? "," : "", s->erased[i]);
	fputc('\n', f);
}
