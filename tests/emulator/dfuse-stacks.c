// SPDX-License-Identifier: GPL-2.0
/*
 * dfu-emu: the DfuSe commands, data blocks and uploads of two stacks
 * that are not the ROM (the protocol reference, sections 11-12).  The
 * state machine around them (which request is taken in which state) is
 * the model's, set from the profile (dfuse-profiles.c).
 *
 * ST's USB device library (STM32Cube usbd_dfu.c), stack "stusbd":
 * - The command or block runs after the GETSTATUS that answered dfuDNBUSY
 *   with the media callback's poll time: the erase time for anything whose
 *   first byte is 0x41, the write time for everything else (Set Address
 *   and Get Commands included).
 * - Set Address checks nothing.  Erase sets the pointer to its address
 *   before it erases, so a data block after it is written there unless
 *   the host sends Set Address again.
 * - Data block N goes to pointer + (N - 2) * 1024 (the library's fixed
 *   transfer size); block 1 is accepted and ignored.
 * - A failed erase or write (a write-protected sector, an address with no
 *   flash, a verify mismatch after programming unerased flash) is never
 *   reported: the library returns before it leaves dfuDNBUSY, so every
 *   GETSTATUS after it answers dfuDNBUSY with the same poll time.  ABORT
 *   does nothing there; CLRSTATUS enters dfuERROR/errUNKNOWN and a second
 *   one dfuIDLE.  An unknown 5-byte command does the same.
 * - Commands of another length (mass erase 0x41, 0x92) are accepted and do
 *   nothing (counted as dfuse_ignored).
 * - UPLOAD block 0: the 3-byte command list; the state becomes dfuIDLE
 *   when wLength > 3, else dfuUPLOAD-IDLE.  Block 1 stalls and sets the
 *   state to 0x0F (errSTALLEDPKT's value), which GETSTATUS and GETSTATE
 *   then report, bStatus unchanged.  Blocks >= 2: always wLength bytes
 *   from pointer + (N - 2) * 1024, 0xff where there is no flash.
 *
 * Black Magic Probe's DFU bootloader (libopencm3 usbdfu), stack "bmp":
 * - Every DNLOAD's first GETSTATUS answers dfuDNBUSY with 100 ms; the
 *   work is done then and the state goes straight to dfuDNLOAD-IDLE.
 * - A command (block 0) takes its address from bytes 1-4 of the control
 *   buffer, whatever its length: a 1-byte command reads what the last
 *   DNLOAD left there.  An address outside [application start, end of
 *   flash) hangs the command: it never leaves dfuDNBUSY, and every
 *   GETSTATUS after the first answers dfuDNBUSY with poll 0 (the loop
 *   the reference's quirk table names); only ABORT gets it out.
 *   Otherwise 0x41 erases the 1 KiB page and, like 0x21, sets the
 *   pointer; any other byte does nothing.
 * - Data block N goes to pointer + (N - 2) * 1024 (block 1: 1 KiB below
 *   the pointer) in half-words as the F1's flash does: a half-word that is
 *   not erased keeps its value (PGERR) unless 0x0000 is written, and the
 *   write-protected bootloader pages and addresses without flash keep
 *   theirs; nothing is reported (counted as dfuse_lost_bytes).
 * - UPLOAD block 0 and 1 answer wLength bytes of the control buffer
 *   (zeros at power-up, later what the last DNLOAD, GETSTATUS or UPLOAD
 *   put there; the real one also builds descriptors in it, which is not
 *   modelled); blocks >= 2 always wLength bytes of memory, 0xff where
 *   there is none, copied through that buffer.  It never answers short,
 *   whatever the host asked for.
 * - SET_INTERFACE (the ST library too) changes no DFU state.
 */
#include <string.h>

#include "dfuse-int.h"
#include "log.h"

/* --- ST's USB device library --------------------------------------------- */

static void stuck(struct dfuse *d, struct dfuse_verdict *v, const char *what)
{
	v->stuck = 1;
	v->stuck_poll_ms = v->poll_ms;
	emu_log("dfuse: %s failed: stuck in dfuDNBUSY", what);
	(void)d;
}

void dfuse_run_stusbd(struct dfuse *d, struct dfuse_map *map,
		      struct dfuse_verdict *v)
{
	const uint8_t *b = d->buf;
	uint64_t addr;

	v->poll_ms = d->len && b[0] == CMD_ERASE && d->pending_block == 0 ?
		     d->t.erase_ms : d->t.write_ms;
	if (d->pending_block == 0) {
		if (d->len == 1 && b[0] == CMD_GET_COMMANDS) {
			d->st.get_commands++;
		} else if (d->len == 5 && b[0] == CMD_SET_ADDRESS) {
			d->pointer = dfuse_le32(b + 1);
			d->st.set_address++;
			emu_log("dfuse: address 0x%08x", d->pointer);
		} else if (d->len == 5 && b[0] == CMD_ERASE) {
			d->pointer = dfuse_le32(b + 1);	/* the quirk */
			if (dfuse_erase_sector(d, map, d->pointer) != ST_OK)
				stuck(d, v, "erase");
		} else if (d->len == 5) {
			stuck(d, v, "unknown command");
		} else {
			d->st.ignored++;
			emu_log("dfuse: command 0x%02x, %zu bytes: ignored",
				d->len ? b[0] : 0, d->len);
		}
		return;
	}
	if (d->pending_block == 1) {
		d->st.ignored++;
		return;
	}
	addr = d->pointer +
	       (uint64_t)(d->pending_block - 2) * d->t.transfer_size;
	if (dfuse_check_range(map, addr, d->len, DFUSE_WRITE) != ST_OK ||
	    dfuse_program(map, addr, d->buf, d->len) != ST_OK) {
		stuck(d, v, "write");
		return;
	}
	d->st.writes++;
	d->st.write_bytes += d->len;
	emu_log("dfuse: write %zu bytes at 0x%08llx", d->len,
		(unsigned long long)addr);
}

void dfuse_upload_stusbd(struct dfuse *d, struct dfuse_map *map,
			 uint16_t block, uint16_t wLength,
			 struct dfuse_reply *r)
{
	uint64_t addr;

	if (block == 0) {
		r->data = d->p->commands;
		r->len = d->p->n_commands < wLength ? d->p->n_commands :
			 wLength;
		r->state = wLength > 3 ? DFUSE_STATE_IDLE :
			   DFUSE_STATE_UPLOAD_IDLE;
		return;
	}
	if (block == 1) {
		r->stall = 1;
		r->state = DFUSE_STATE_BOGUS;
		d->st.bogus_state++;
		return;
	}
	addr = d->pointer + (uint64_t)(block - 2) * d->t.transfer_size;
	r->len = dfuse_read_padded(d, map, addr, wLength);
	r->data = d->up;
	r->state = DFUSE_STATE_UPLOAD_IDLE;
}

/* --- Black Magic Probe ----------------------------------------------------- */

/* The application area: from the first writable sector of the map to its
 * end (BMP's app_address and max_address). */
static void app_area(const struct dfuse_map *map, uint64_t *start,
		     uint64_t *end)
{
	unsigned i;

	*start = *end = 0;
	for (i = 0; i < map->n_segs; i++) {
		const struct dfuse_seg *g = &map->seg[i];

		if ((g->perm & DFUSE_WRITE) && !*start)
			*start = g->start;
		*end = g->start + (uint64_t)g->sector * g->count;
	}
}

/* One F1 half-word: programmed when erased or when 0x0000 is written. */
static int program_half(struct dfuse_map *map, uint64_t addr,
			const uint8_t *data)
{
	struct dfuse_seg *g = dfuse_find_seg(map, addr);
	uint8_t *p;

	if (!g || !(g->perm & DFUSE_WRITE) ||
	    dfuse_find_seg(map, addr + 1) != g)
		return 0;
	p = g->mem + (addr - g->start);
	if ((p[0] != ERASED || p[1] != ERASED) && (data[0] || data[1]))
		return 0;
	p[0] = data[0];
	p[1] = data[1];
	return 1;
}

void dfuse_run_bmp(struct dfuse *d, struct dfuse_map *map,
		   struct dfuse_verdict *v)
{
	const uint8_t *b = d->buf;
	uint64_t start, end, addr;
	size_t i, lost = 0;

	v->poll_ms = d->pending_block == 0 && b[0] == CMD_ERASE ?
		     d->t.erase_ms : d->t.write_ms;
	if (d->pending_block == 0) {
		addr = dfuse_le32(b + 1);	/* stale bytes included */
		app_area(map, &start, &end);
		if (addr < start || addr >= end) {
			v->stuck = 1;
			v->stuck_poll_ms = 0;
			emu_log("dfuse: command 0x%02x at 0x%08llx outside "
				"the application: stuck", b[0],
				(unsigned long long)addr);
			return;
		}
		if (b[0] == CMD_ERASE)
			dfuse_erase_sector(d, map, (uint32_t)addr);
		if (b[0] == CMD_ERASE || b[0] == CMD_SET_ADDRESS) {
			d->pointer = (uint32_t)addr;
			d->st.set_address += b[0] == CMD_SET_ADDRESS;
		} else if (b[0] == CMD_GET_COMMANDS) {
			d->st.get_commands++;
		} else {
			d->st.ignored++;
		}
		return;
	}
	addr = d->pointer + (uint64_t)((int64_t)d->pending_block - 2) *
	       d->t.transfer_size;
	/* half-words; an odd length writes one stale byte more */
	for (i = 0; i < d->len; i += 2)
		if (!program_half(map, (addr + i) & 0xffffffffu, b + i))
			lost += 2;
	if (lost > d->len)
		lost = d->len;
	d->st.writes++;
	d->st.write_bytes += d->len - lost;
	d->st.lost_bytes += lost;
	emu_log("dfuse: write %zu bytes at 0x%08llx, %zu not programmed",
		d->len, (unsigned long long)addr, lost);
}

void dfuse_upload_bmp(struct dfuse *d, struct dfuse_map *map,
		      uint16_t block, uint16_t wLength,
		      struct dfuse_reply *r)
{
	uint64_t addr;

	r->state = DFUSE_STATE_UPLOAD_IDLE;
	if (block < 2) {
		r->data = d->buf;
		r->len = wLength;
		return;
	}
	addr = d->pointer + (uint64_t)(block - 2) * d->t.transfer_size;
	r->len = dfuse_read_padded(d, map, addr & 0xffffffffu, wLength);
	memcpy(d->buf, d->up, r->len);
	r->data = d->buf;
}
