// SPDX-License-Identifier: GPL-2.0
/*
 * dfu-emu: DFU 1.1 device model.  Follows the state table (§7 of the
 * protocol reference) for a DFU-mode device.  "stall_e" below is the
 * table's E: stall and enter dfuERROR with bStatus errSTALLEDPKT; a plain
 * stall leaves the state alone (used in dfuERROR and for malformed
 * requests).
 *
 * With --runtime the device starts in run-time mode (appIDLE, §6 and the
 * first two rows of §7): DETACH and a USB reset before the detach timer
 * runs out switch it to DFU mode; a USB reset in dfuMANIFEST-WAIT-RESET
 * switches it back.  The transport serves the descriptor set that
 * m->runtime_mode names.
 */
#include <stdlib.h>
#include <string.h>

#include "apple.h"
#include "log.h"
#include "model.h"

void model_init(struct dfu_model *m, const struct model_config *cfg,
		uint8_t *image, size_t image_len)
{
	memset(m, 0, sizeof(*m));
	m->cfg = *cfg;
	m->state = DFU_IDLE;
	m->status = DFU_STATUS_OK;
	m->pending_status = -1;
	m->pending_rule = -1;
	m->mem = image;
	m->mem_len = image_len;
	/* --start-error: like an STM32 ROM with a blank application, which
	 * comes up in dfuERROR/errFIRMWARE.  Only CLRSTATUS clears it; until
	 * then USB resets and SET_INTERFACE leave it in place. */
	if (cfg->start_error >= 0) {
		m->boot_error = 1;
		m->state = DFU_ERROR;
		m->status = (uint8_t)cfg->start_error;
	}
	if (cfg->runtime) {
		m->runtime_mode = 1;
		m->state = DFU_APP_IDLE;
		m->status = DFU_STATUS_OK;
	}
}

void model_free(struct dfu_model *m)
{
	free(m->stage);
	free(m->mem);
	free(m->pad);
	m->stage = m->mem = m->pad = NULL;
}

/* Drop whatever transfer is in progress (download or upload). */
static void abandon_transfer(struct dfu_model *m)
{
	m->stage_len = 0;
	m->busy_left = 0;
	m->manifest_done = 0;
	m->pending_status = -1;
	m->pending_rule = -1;
	m->next_block = 0;
	m->up_off = 0;
	m->up_blocks = 0;
	m->busy_stall_left = 0;
	m->manifest_stalling = 0;
	m->stuck = 0;
	if (m->dfuse)
		dfuse_cancel(m->dfuse);
}

/* The state DFU mode starts in: dfuIDLE, or the --start-error. */
static void dfu_start_state(struct dfu_model *m)
{
	if (m->boot_error) {
		m->state = DFU_ERROR;
		m->status = (uint8_t)m->cfg.start_error;
	} else {
		m->state = DFU_IDLE;
		m->status = DFU_STATUS_OK;
	}
}

/* Switch descriptor sets: to DFU mode (runtime = 0) or back to run-time
 * mode (runtime = 1, the new firmware runs). */
static unsigned switch_mode(struct dfu_model *m, int runtime)
{
	abandon_transfer(m);
	m->runtime_mode = runtime;
	m->alt = 0;
	m->deadline_us = 0;
	m->detach_deadline_us = 0;
	if (runtime) {
		m->state = DFU_APP_IDLE;
		m->status = DFU_STATUS_OK;
	} else {
		dfu_start_state(m);
	}
	emu_log("now in %s mode", runtime ? "run-time" : "DFU");
	return MODEL_EV_STATS | MODEL_EV_MODE;
}

/* --reenum-ms, --dfu-udc-*: the switch is a reboot, off the bus; the
 * transport calls model_reattach() when it comes back. */
static unsigned leave_to_switch(struct dfu_model *m)
{
	emu_log("leaving the bus to come back in %s mode",
		m->runtime_mode ? "DFU" : "run-time");
	return MODEL_EV_STATS | MODEL_EV_REATTACH;
}

static void enter_error(struct dfu_model *m, struct model_result *r,
			uint8_t status)
{
	abandon_transfer(m);
	m->state = DFU_ERROR;
	m->status = status;
	r->events |= MODEL_EV_STATS;
	emu_log("dfuERROR, bStatus 0x%02x", status);
}

static void stall(struct dfu_model *m, struct model_result *r)
{
	m->st.stalls++;
	r->action = MODEL_STALL;
}

/* The table's "E": stall, and enter dfuERROR unless already there (or
 * never, with --stall-keeps-state: TinyUSB, libopencm3). */
static void stall_e(struct dfu_model *m, struct model_result *r)
{
	stall(m, r);
	if (m->state != DFU_ERROR && !m->cfg.stall_keeps_state)
		enter_error(m, r, DFU_STATUS_ERR_STALLEDPKT);
}

static void status_reply(struct dfu_model *m, struct model_result *r,
			 uint32_t poll_ms)
{
	/* --poll-always: Zephyr's fixed poll time, even when idle */
	if (m->cfg.poll_always && poll_ms < m->cfg.poll_ms)
		poll_ms = m->cfg.poll_ms;
	if (poll_ms > 0xffffff)
		poll_ms = 0xffffff;
	m->reply[0] = m->status;
	m->reply[1] = poll_ms & 0xff;
	m->reply[2] = (poll_ms >> 8) & 0xff;
	m->reply[3] = (poll_ms >> 16) & 0xff;
	m->reply[4] = (uint8_t)m->state;	/* the state entered now */
	m->reply[5] = 0;			/* iString */
	r->action = MODEL_REPLY;
	r->data = m->reply;
	r->len = 6;
}

/* Milliseconds until the deadline, rounded up so a host that waits exactly
 * that long is never early. */
static uint32_t remaining_ms(const struct dfu_model *m, uint64_t now_us)
{
	if (now_us >= m->deadline_us)
		return 0;
	return (uint32_t)((m->deadline_us - now_us + 999) / 1000);
}

/* Timer events, evaluated lazily at each request. */
static void run_timers(struct dfu_model *m, uint64_t now_us,
		       struct model_result *r)
{
	if (now_us < m->deadline_us || m->stuck)
		return;
	if (m->state == DFU_DNBUSY) {
		/* BMP does the work in the GETSTATUS completion and goes
		 * straight to dfuDNLOAD-IDLE */
		m->state = m->cfg.busy_to_idle && m->pending_status < 0 ?
			   DFU_DNLOAD_IDLE : DFU_DNLOAD_SYNC;
	} else if (m->state == DFU_MANIFEST) {
		/* The image was committed when dfuMANIFEST was entered. */
		if (m->cfg.attrs & DFU_ATTR_MANIFEST_TOL) {
			m->state = DFU_MANIFEST_SYNC;
		} else {
			m->state = DFU_MANIFEST_WAIT_RESET;
			r->events |= MODEL_EV_STATS;
		}
	}
}

/* The staged download becomes the device memory. */
static void commit_image(struct dfu_model *m, struct model_result *r)
{
	free(m->mem);
	m->mem = m->stage;
	m->mem_len = m->stage_len;
	m->stage = NULL;
	m->stage_len = m->stage_cap = 0;
	m->st.manifests++;
	m->st.image_bytes = m->mem_len;
	m->manifest_alt = m->alt;
	r->events |= MODEL_EV_MANIFEST | MODEL_EV_STATS;
	emu_log("manifest %zu bytes", m->mem_len);
}

/* DfuSe: the first GETSTATUS after a DNLOAD runs it (command or data
 * block) and answers dfuDNBUSY with the time it takes; its verdict comes
 * with the next GETSTATUS.  Returns 0 when there is nothing to run. */
static int dfuse_sync(struct dfu_model *m, uint64_t now_us,
		      struct model_result *r)
{
	struct dfuse_verdict v;

	if (!m->busy_left)
		return 0;
	m->busy_left = 0;
	dfuse_run(m->dfuse, &v);
	if (v.stall) {
		stall(m, r);
		enter_error(m, r, v.status);
		return 1;
	}
	if (v.status != DFU_STATUS_OK && m->pending_status < 0)
		m->pending_status = v.status;
	m->state = DFU_DNBUSY;
	m->deadline_us = now_us + (uint64_t)v.poll_ms * 1000;
	/* ST library, BMP: a failure that never leaves dfuDNBUSY */
	m->stuck = v.stuck;
	m->stuck_poll_ms = v.stuck_poll_ms;
	status_reply(m, r, v.poll_ms);
	r->events |= MODEL_EV_STATS;
	/* Read unprotect: the chip resets once this answer is out. */
	if (v.disconnect)
		r->events |= MODEL_EV_MANIFEST | MODEL_EV_REATTACH;
	return 1;
}

/* DfuSe leave: the zero-length DNLOAD ends in dfuMANIFEST, and the device
 * jumps to the application, leaving the bus once the answer is out. */
static void dfuse_manifest(struct dfu_model *m, struct model_result *r)
{
	dfuse_leave(m->dfuse);
	m->st.manifests++;
	m->manifest_alt = m->alt;
	m->state = DFU_MANIFEST;
	status_reply(m, r, m->cfg.manifest_poll_ms);	/* ST library: 1 */
	r->events |= MODEL_EV_MANIFEST | MODEL_EV_STATS | MODEL_EV_REATTACH;
}

static void do_getstatus(struct dfu_model *m, uint64_t now_us,
			 struct model_result *r)
{
	switch (m->state) {
	case DFU_DNLOAD_SYNC:
		if (m->dfuse && dfuse_sync(m, now_us, r))
			break;
		if (m->pending_status >= 0) {
			/* --fail-status, or the block did not fit in memory */
			int rule = m->pending_rule;

			if (rule >= 0)
				m->cfg.fail[rule].fired = 1;
			enter_error(m, r, (uint8_t)m->pending_status);
			status_reply(m, r, 0);
		} else if (m->busy_left > 0) {
			m->busy_left--;
			m->state = DFU_DNBUSY;
			/* --busy-ms: done sooner than it says (a bogus poll time) */
			m->deadline_us = now_us + (uint64_t)(m->cfg.busy_ms >= 0 ?
				m->cfg.busy_ms : (long)m->cfg.poll_ms) * 1000;
			status_reply(m, r, m->cfg.poll_ms);
		} else {
			m->state = DFU_DNLOAD_IDLE;
			status_reply(m, r, 0);
		}
		break;
	case DFU_DNBUSY:
		if (m->stuck) {
			status_reply(m, r, m->stuck_poll_ms);
			break;
		}
		/* Still busy (run_timers() did not fire): the host did not
		 * wait the bwPollTimeout it was given. */
		m->st.early_polls++;
		emu_log("early GETSTATUS in dfuDNBUSY");
		status_reply(m, r, remaining_ms(m, now_us));
		break;
	case DFU_MANIFEST_SYNC:
		if (m->dfuse) {
			dfuse_manifest(m, r);
		} else if (!m->manifest_done) {
			commit_image(m, r);
			m->manifest_done = 1;
			m->state = DFU_MANIFEST;
			m->deadline_us = now_us +
				(uint64_t)m->cfg.manifest_poll_ms * 1000;
			status_reply(m, r, m->cfg.manifest_poll_ms);
			/* --stall-manifest: a device that starts its new
			 * firmware at once and answers nothing more, but
			 * stays on the bus until a reset. */
			if (m->cfg.stall_manifest) {
				m->state = DFU_MANIFEST_WAIT_RESET;
				m->manifest_stalling = 1;
				stall(m, r);
				break;
			}
			/* --leave-after-manifest: the STM32 ROM, the ST
			 * library and libopencm3 reset themselves here. */
			if (m->cfg.leave_after_manifest)
				r->events |= MODEL_EV_REATTACH;
		} else {
			/* Manifestation tolerant and done: back to idle. */
			m->manifest_done = 0;
			m->state = DFU_IDLE;
			r->events |= MODEL_EV_STATS;
			status_reply(m, r, 0);
		}
		break;
	case DFU_MANIFEST:
		status_reply(m, r, remaining_ms(m, now_us));
		break;
	default:	/* dfuIDLE, dfuDNLOAD-IDLE, dfuUPLOAD-IDLE, dfuERROR */
		status_reply(m, r, 0);
		break;
	}
}

static void do_dnload(struct dfu_model *m, uint16_t wValue, uint16_t wLength,
		      struct model_result *r)
{
	uint16_t expect = m->next_block;

	if (m->state == DFU_IDLE || m->cfg.dnload_any_state) {
		if (!(m->cfg.attrs & DFU_ATTR_CAN_DNLOAD))
			goto bad;
		if (wLength == 0 && !m->dfuse) {
			/* Nothing to end: stall like U-Boot does. */
			m->st.zero_len_in_idle++;
			emu_log("zero-length DNLOAD in dfuIDLE");
			goto bad;
		}
		expect = 0;	/* first block of a new download */
	} else if (m->state != DFU_DNLOAD_IDLE) {
		goto bad;
	}
	if (wLength > m->cfg.transfer_size)
		goto bad;
	/* DfuSe: block 1 is reserved (on the ROM); a zero-length DNLOAD is
	 * the leave, from dfuIDLE too. */
	if (m->dfuse && !dfuse_dnload_ok(m->dfuse, wValue, wLength))
		goto bad;
	/* U-Boot's rule: 0 first, then +1 modulo 65536, the final
	 * zero-length DNLOAD included. */
	if (m->cfg.strict_blocks && wValue != expect) {
		m->st.block_errors++;
		emu_log("DNLOAD wBlockNum %u, expected %u", wValue, expect);
		goto bad;
	}
	if (wLength == 0 && m->dfuse && m->cfg.leave_without_status) {
		/* GD32VF103: gone once the request is acknowledged */
		abandon_transfer(m);
		dfuse_leave(m->dfuse);
		m->st.manifests++;
		m->manifest_alt = m->alt;
		m->state = DFU_MANIFEST;
		r->action = MODEL_ACK;
		r->events |= MODEL_EV_MANIFEST | MODEL_EV_STATS |
			     MODEL_EV_REATTACH;
		return;
	}
	if (wLength == 0) {
		/* End of image; manifestation starts at the next GETSTATUS. */
		m->manifest_done = 0;
		m->state = DFU_MANIFEST_SYNC;
		r->action = MODEL_ACK;
		return;
	}
	m->dn_block = wValue;
	r->action = MODEL_NEED_DATA;
	r->len = wLength;
	return;
bad:
	stall_e(m, r);
}

/* Room for len more bytes in the staging buffer (need <= mem_size). */
static int stage_reserve(struct dfu_model *m, size_t len)
{
	size_t need = m->stage_len + len;
	size_t cap = need <= m->cfg.mem_size / 2 ? 2 * need : m->cfg.mem_size;
	uint8_t *p;

	if (need <= m->stage_cap)
		return 0;
	p = realloc(m->stage, cap);
	if (!p)
		return -1;
	m->stage = p;
	m->stage_cap = cap;
	return 0;
}

void model_data(struct dfu_model *m, const uint8_t *data, size_t len,
		struct model_result *r)
{
	unsigned long index;
	unsigned i;

	if (m->apple) {
		apple_data(m->apple, data, len, r);
		return;
	}
	memset(r, 0, sizeof(*r));
	r->action = MODEL_ACK;
	if (m->state == DFU_IDLE) {	/* a new download starts */
		abandon_transfer(m);
		m->st.blocks = 0;
	}
	index = m->st.blocks++;
	m->stuck = 0;		/* BMP: a DNLOAD in dfuDNBUSY starts afresh */
	if (m->dfuse) {
		/* it runs at the next GETSTATUS */
		dfuse_stage(m->dfuse, m->alt, m->dn_block, data, len);
	} else if (len > m->cfg.mem_size - m->stage_len) {
		/* The device says so at the next GETSTATUS, as flash would. */
		m->pending_status = DFU_STATUS_ERR_ADDRESS;
		m->pending_rule = -1;
		emu_log("block %lu beyond --mem-size", index);
	} else if (stage_reserve(m, len) < 0) {
		m->pending_status = DFU_STATUS_ERR_WRITE;
		m->pending_rule = -1;
	} else {
		if (len)
			memcpy(m->stage + m->stage_len, data, len);
		m->stage_len += len;
	}
	for (i = 0; i < m->cfg.n_fail && m->pending_status < 0; i++) {
		if (!m->cfg.fail[i].fired && m->cfg.fail[i].block == index) {
			m->pending_status = m->cfg.fail[i].status;
			m->pending_rule = (int)i;
		}
	}
	m->next_block = (uint16_t)(m->dn_block + 1);
	m->busy_left = m->dfuse ? 1 : m->cfg.busy_polls;
	m->busy_stall_left = m->cfg.busy_stall_getstatus;
	m->state = DFU_DNLOAD_SYNC;
}

/* --upload-full: every frame is wLength bytes, erased flash (0xff) after
 * the image, up to --mem-size; past it, a stall with errADDRESS. */
static void upload_full_frame(struct dfu_model *m, uint16_t wLength,
			      struct model_result *r)
{
	size_t n = 0;

	if (wLength > m->cfg.mem_size - m->up_off) {
		stall(m, r);
		if (!m->cfg.stall_keeps_state)
			enter_error(m, r, DFU_STATUS_ERR_ADDRESS);
		return;
	}
	if (!m->pad)
		m->pad = malloc(m->cfg.transfer_size);
	if (!m->pad) {
		stall(m, r);
		return;
	}
	if (m->up_off < m->mem_len)
		n = m->mem_len - m->up_off < wLength ?
		    m->mem_len - m->up_off : wLength;
	if (n)
		memcpy(m->pad, m->mem + m->up_off, n);
	memset(m->pad + n, 0xff, wLength - n);
	r->action = MODEL_REPLY;
	r->data = m->pad;
	r->len = wLength;
	m->up_off += wLength;
	m->up_blocks++;
	m->state = DFU_UPLOAD_IDLE;
}

/* DfuSe UPLOAD: block 0 the command list, blocks >= 2 memory at the
 * address pointer.  On the ROM frames are full while there is memory and
 * a short one ends the upload; the other stacks say which state follows
 * (dfuse-stacks.c). */
static void dfuse_upload_frame(struct dfu_model *m, uint16_t wValue,
			       uint16_t wLength, struct model_result *r)
{
	struct dfuse_reply u;

	dfuse_upload(m->dfuse, m->alt, wValue, wLength, &u);
	if (u.stall) {
		stall(m, r);
		if (u.error)
			enter_error(m, r, u.status);
		else if (u.state >= 0)	/* ST library: bState 0x0f */
			m->state = (enum dfu_state)u.state;
		r->events |= MODEL_EV_STATS;
		return;
	}
	r->action = MODEL_REPLY;
	r->data = u.data;
	r->len = u.len;
	m->up_blocks++;
	if (u.state >= 0)
		m->state = (enum dfu_state)u.state;
	else
		m->state = u.len < wLength ? DFU_IDLE : DFU_UPLOAD_IDLE;
	if (m->state == DFU_IDLE) {
		m->st.uploads++;
		r->events |= MODEL_EV_STATS;
	}
}

static void do_upload(struct dfu_model *m, uint16_t wValue, uint16_t wLength,
		      struct model_result *r)
{
	size_t n;

	if (m->state == DFU_IDLE ||
	    (m->state == DFU_DNLOAD_IDLE && m->cfg.upload_after_dnload)) {
		if (!(m->cfg.attrs & DFU_ATTR_CAN_UPLOAD))
			goto bad;
		m->state = DFU_IDLE;	/* BMP: the download is over */
	} else if (m->state != DFU_UPLOAD_IDLE) {
		goto bad;
	}
	if (wLength > m->cfg.transfer_size)
		goto bad;
	if (m->state == DFU_IDLE) {
		m->up_off = 0;
		m->up_blocks = 0;
	}
	if (m->dfuse) {		/* wValue is an address, not a count */
		r->delay_ms = m->cfg.upload_ms;
		dfuse_upload_frame(m, wValue, wLength, r);
		return;
	}
	/* Hosts count wValue 0, 1, 2...; a mismatch is noted, not fatal. */
	if (wValue != (uint16_t)m->up_blocks) {
		m->st.upload_block_errors++;
		emu_log("UPLOAD wValue %u, expected %u", wValue,
			(unsigned)(uint16_t)m->up_blocks);
	}
	r->delay_ms = m->cfg.upload_ms;	/* --upload-ms: a slow device */
	if (m->cfg.upload_full) {
		upload_full_frame(m, wLength, r);
		return;
	}
	n = m->mem_len - m->up_off;
	if (n > wLength)
		n = wLength;
	r->action = MODEL_REPLY;
	r->data = m->mem ? m->mem + m->up_off : m->reply;
	r->len = n;
	m->up_off += n;
	m->up_blocks++;
	if (n < wLength) {
		/* A short frame (maybe 0 bytes) ends the upload. */
		m->state = DFU_IDLE;
		m->st.uploads++;
		r->events |= MODEL_EV_STATS;
		emu_log("upload done, %zu bytes", m->up_off);
	} else {
		m->state = DFU_UPLOAD_IDLE;
	}
	return;
bad:
	stall_e(m, r);
}

/* --stall REQ@N: N counts the blocks of the current download (UPLOAD: the
 * blocks served in the current upload).  A DNLOAD or UPLOAD arriving in
 * dfuIDLE starts a new transfer and so sees 0. */
static unsigned long fault_count(const struct dfu_model *m, int req)
{
	if (req == DFU_UPLOAD)
		return m->state == DFU_IDLE ? 0 : m->up_blocks;
	if (req == DFU_DNLOAD && m->state == DFU_IDLE)
		return 0;
	return m->st.blocks;
}

static int injected_stall(struct dfu_model *m, int req, unsigned long count)
{
	unsigned i;

	for (i = 0; i < m->cfg.n_stall; i++) {
		struct model_stall_rule *s = &m->cfg.stall[i];

		if (!s->fired && s->request == req && s->count == count) {
			s->fired = 1;
			return 1;
		}
	}
	return 0;
}

static void state_reply(struct dfu_model *m, struct model_result *r)
{
	m->reply[0] = (uint8_t)m->state;
	r->action = MODEL_REPLY;
	r->data = m->reply;
	r->len = 1;
}

static int is_in_request(uint8_t bRequest)
{
	return bRequest == DFU_UPLOAD || bRequest == DFU_GETSTATUS ||
	       bRequest == DFU_GETSTATE;
}

/* The request as the state table has it, once fault injection passed. */
static void dispatch(struct dfu_model *m, uint8_t bRequest, uint16_t wValue,
		     uint16_t wLength, uint64_t now_us, struct model_result *r)
{
	enum dfu_state before;

	switch (bRequest) {
	case DFU_GETSTATUS:
		if (wLength != 6) {
			stall(m, r);
			break;
		}
		before = m->state;
		do_getstatus(m, now_us, r);
		/* --lagging-state (Zephyr): the state the request found */
		if (m->cfg.lagging_state)
			m->reply[4] = (uint8_t)before;
		/* --bad-state N: the ST library's bState 0x0f, once */
		if (m->cfg.bad_state_at >= 0 && !m->bad_state_fired &&
		    m->st.blocks == (unsigned long)m->cfg.bad_state_at + 1) {
			m->bad_state_fired = 1;
			m->reply[4] = 0x0f;
		}
		if (m->dfuse && r->action == MODEL_REPLY)
			dfuse_control_in(m->dfuse, r->data, r->len);
		break;
	case DFU_GETSTATE:	/* never changes state */
		if (wLength != 1)
			stall(m, r);
		else
			state_reply(m, r);
		break;
	case DFU_DNLOAD:
		do_dnload(m, wValue, wLength, r);
		break;
	case DFU_UPLOAD:
		do_upload(m, wValue, wLength, r);
		break;
	case DFU_ABORT:
		/* The table allows 2, 5, 9; 3 and 6 too, leniently (ST lib).
		 * --dfuse: the ST library ignores it elsewhere, libopencm3
		 * takes it anywhere. */
		if (m->state == DFU_IDLE || m->state == DFU_DNLOAD_IDLE ||
		    m->state == DFU_UPLOAD_IDLE ||
		    m->state == DFU_DNLOAD_SYNC ||
		    m->state == DFU_MANIFEST_SYNC ||
		    m->cfg.abort_policy == DFUSE_ABORT_ANYWHERE) {
			abandon_transfer(m);
			m->state = DFU_IDLE;
			m->status = DFU_STATUS_OK;
			m->st.aborts++;
			r->events |= MODEL_EV_STATS;
		} else if (m->cfg.abort_policy != DFUSE_ABORT_IGNORE) {
			stall_e(m, r);
		}
		break;
	case DFU_CLRSTATUS:
		if (m->state == DFU_ERROR) {
			abandon_transfer(m);
			m->state = DFU_IDLE;
			m->status = DFU_STATUS_OK;
			m->boot_error = 0;	/* --start-error is cleared */
			m->st.clrstatus++;
			r->events |= MODEL_EV_STATS;
		} else if (m->cfg.strict_clrstatus) {
			/* --strict-clrstatus, the ST USBD library: a stray
			 * CLRSTATUS succeeds but enters dfuERROR/errUNKNOWN. */
			enter_error(m, r, DFU_STATUS_ERR_UNKNOWN);
		} else if (m->cfg.clrstatus_ignored) {
			/* libopencm3: acknowledged, nothing happens */
		} else {
			stall_e(m, r);
		}
		break;
	default:	/* DETACH means nothing in DFU mode */
		stall_e(m, r);
		break;
	}
}

/* Run-time mode (appIDLE, appDETACH): the first two rows of §7's table. */
static void runtime_request(struct dfu_model *m, uint8_t bRequest,
			    uint16_t wValue, uint16_t wLength, uint64_t now_us,
			    struct model_result *r)
{
	uint16_t ms;

	/* Detach timer: without a USB reset in time, back to appIDLE. */
	if (m->state == DFU_APP_DETACH && now_us >= m->detach_deadline_us) {
		m->state = DFU_APP_IDLE;
		r->events |= MODEL_EV_STATS;
		emu_log("detach timer expired: appIDLE");
	}
	if (bRequest == DFU_GETSTATUS && wLength == 6) {
		status_reply(m, r, 0);		/* appIDLE/appDETACH, OK */
	} else if (bRequest == DFU_GETSTATE && wLength == 1) {
		state_reply(m, r);
	} else if (bRequest == DFU_DETACH && m->state == DFU_APP_IDLE) {
		ms = wValue < m->cfg.detach_timeout ? wValue :
		     m->cfg.detach_timeout;
		m->state = DFU_APP_DETACH;
		m->detach_deadline_us = now_us + (uint64_t)ms * 1000;
		m->st.detaches++;
		r->events |= MODEL_EV_STATS;
		/* WillDetach: the device leaves the bus by itself once the
		 * request is answered and returns in DFU mode. */
		if (m->cfg.attrs & DFU_ATTR_WILL_DETACH)
			r->events |= MODEL_EV_REATTACH;
		emu_log("DETACH, %u ms%s", ms, m->cfg.attrs &
			DFU_ATTR_WILL_DETACH ? ", detaching now" : "");
	} else {
		/* appIDLE: stall, state unchanged; appDETACH: stall and
		 * back to appIDLE (the table's "S -> 0"). */
		stall(m, r);
		if (m->state == DFU_APP_DETACH) {
			m->state = DFU_APP_IDLE;
			r->events |= MODEL_EV_STATS;
		}
	}
}

void model_request(struct dfu_model *m, uint8_t bmRequestType,
		   uint8_t bRequest, uint16_t wValue, uint16_t wIndex,
		   uint16_t wLength, uint64_t now_us, struct model_result *r)
{
	int in = (bmRequestType & 0x80) != 0;
	unsigned long count;

	if (m->apple) {
		apple_request(m->apple, bmRequestType, bRequest, wValue,
			      wLength, r);
		return;
	}
	memset(r, 0, sizeof(*r));
	r->action = MODEL_ACK;
	run_timers(m, now_us, r);

	if (bRequest >= DFU_NUM_REQUESTS || wIndex != 0 ||
	    in != is_in_request(bRequest)) {
		emu_log("bad class request %02x %02x wIndex %u",
			bmRequestType, bRequest, wIndex);
		stall(m, r);
		return;
	}
	/* Requests that read state, counted in any mode; the stats file is
	 * rewritten when they find the device idle, so that a test sees
	 * every one sent outside a transfer. */
	if (bRequest == DFU_GETSTATUS || bRequest == DFU_GETSTATE) {
		if (bRequest == DFU_GETSTATUS)
			m->st.getstatus++;
		else
			m->st.getstate++;
		if (m->runtime_mode || m->state == DFU_IDLE ||
		    m->state == DFU_ERROR)
			r->events |= MODEL_EV_STATS;
	}
	/* Counted with or without --strict-clrstatus, in any mode. */
	if (bRequest == DFU_CLRSTATUS && m->state != DFU_ERROR)
		m->st.stray_clrstatus++;
	if (m->runtime_mode) {
		runtime_request(m, bRequest, wValue, wLength, now_us, r);
		return;
	}
	if (bRequest == DFU_DNLOAD)
		m->st.dnload_requests++;
	if (bRequest == DFU_UPLOAD)
		m->st.upload_requests++;

	if (m->manifest_stalling) {
		stall(m, r);
		return;
	}
	/* Only a USB reset leaves dfuMANIFEST-WAIT-RESET; nothing else,
	 * not even fault injection, moves it. */
	if (m->state == DFU_MANIFEST_WAIT_RESET) {
		if (bRequest == DFU_GETSTATUS && wLength == 6)
			status_reply(m, r, 0);
		else if (bRequest == DFU_GETSTATE && wLength == 1)
			state_reply(m, r);
		else
			stall(m, r);
		return;
	}

	/* --stall-busy-getstatus N: the STM32L4 ROM stalls a GETSTATUS that
	 * comes while it is still busy with the block.  State and bStatus
	 * stay as they are; the host just has to ask again. */
	if (bRequest == DFU_GETSTATUS && m->busy_stall_left > 0) {
		m->busy_stall_left--;
		m->st.busy_stalls++;
		emu_log("busy: stall GETSTATUS");
		stall(m, r);
		return;
	}
	/* --stall-busy-every N: every Nth GETSTATUS while a block is in
	 * progress is stalled, never two in a row (for N > 1). */
	if (bRequest == DFU_GETSTATUS && m->cfg.stall_busy_every &&
	    (m->state == DFU_DNLOAD_SYNC || m->state == DFU_DNBUSY) &&
	    ++m->busy_getstatus % m->cfg.stall_busy_every == 0) {
		m->st.busy_stalls++;
		emu_log("busy: stall GETSTATUS (every %lu)",
			m->cfg.stall_busy_every);
		stall(m, r);
		return;
	}
	count = fault_count(m, bRequest);
	if (injected_stall(m, bRequest, count)) {
		emu_log("injected stall of request %u at %lu", bRequest,
			count);
		stall(m, r);
		enter_error(m, r, DFU_STATUS_ERR_STALLEDPKT);
		return;
	}
	if ((bRequest == DFU_DNLOAD && wLength > 0 &&
	     m->cfg.disconnect_at >= 0 &&
	     count == (unsigned long)m->cfg.disconnect_at) ||
	    (bRequest == DFU_DNLOAD && wLength == 0 &&
	     m->cfg.disconnect_manifest) ||
	    (bRequest == DFU_UPLOAD && m->cfg.disconnect_upload_at >= 0 &&
	     count == (unsigned long)m->cfg.disconnect_upload_at)) {
		emu_log("disconnect at request %u, block %lu", bRequest,
			count);
		r->action = MODEL_DISCONNECT;
		return;
	}
	dispatch(m, bRequest, wValue, wLength, now_us, r);
}

/* SET_INTERFACE: abandon everything and clear dfuERROR, as U-Boot does
 * (but not a --start-error, and in run-time mode nothing changes; nor
 * on the ST library and libopencm3, --dfuse stusbd and bmp). */
unsigned model_set_interface(struct dfu_model *m, unsigned alt)
{
	m->alt = alt;
	m->st.set_interface++;
	if (m->runtime_mode || m->cfg.set_interface_keeps_state)
		return MODEL_EV_STATS;
	abandon_transfer(m);
	if (m->boot_error) {
		dfu_start_state(m);
	} else {
		m->state = DFU_IDLE;
		m->status = DFU_STATUS_OK;
	}
	return MODEL_EV_STATS;
}

/* USB reset (or disconnect): back to dfuIDLE.  From dfuMANIFEST-WAIT-RESET
 * this is the normal way out; the image is already in memory.  Elsewhere a
 * download in progress is lost (it is only staged).
 * With --runtime: a reset in dfuMANIFEST-WAIT-RESET starts the new firmware
 * (run-time mode), and in run-time mode a reset in appDETACH before the
 * detach deadline enters DFU mode (with cfg.reenumerate both leave the bus
 * first and switch in model_reattach()); any other reset or disconnect
 * leaves run-time mode in appIDLE.  A pending --start-error survives
 * resets. */
unsigned model_usb_reset(struct dfu_model *m, int disconnect,
			 uint64_t now_us)
{
	int was_wait_reset = m->state == DFU_MANIFEST_WAIT_RESET;

	if (m->apple)
		return apple_usb_reset(m->apple, disconnect);
	if (!disconnect)
		m->st.resets++;
	if (m->runtime_mode) {
		if (!disconnect && m->state == DFU_APP_DETACH &&
		    now_us < m->detach_deadline_us)
			return m->cfg.reenumerate ? leave_to_switch(m) :
			       switch_mode(m, 0);
		m->state = DFU_APP_IDLE;
		m->status = DFU_STATUS_OK;
		m->alt = 0;
		return MODEL_EV_STATS;
	}
	if (!disconnect && was_wait_reset && m->cfg.runtime)
		return m->cfg.reenumerate ? leave_to_switch(m) :
		       switch_mode(m, 1);
	abandon_transfer(m);
	m->state = DFU_IDLE;
	m->status = DFU_STATUS_OK;
	if (m->boot_error)
		dfu_start_state(m);
	m->alt = 0;
	m->deadline_us = 0;
	return MODEL_EV_STATS;
}

unsigned model_suspend(struct dfu_model *m)
{
	m->st.suspends++;
	return MODEL_EV_STATS;
}

/* Back on the bus: a DETACH ends in DFU mode; a device that left after
 * manifestation runs its new firmware (run-time mode, with --runtime).
 * Counted in the stats as reattaches. */
unsigned model_reattach(struct dfu_model *m)
{
	if (m->apple)
		return apple_reattach(m->apple);
	m->st.reattaches++;
	return switch_mode(m, !m->runtime_mode && m->cfg.runtime);
}

void model_image(const struct dfu_model *m, const uint8_t **data,
		 size_t *len)
{
	if (m->dfuse) {
		dfuse_image(m->dfuse, data, len);
		return;
	}
	if (m->apple) {
		apple_image(m->apple, data, len);
		return;
	}
	*data = m->mem;
	*len = m->mem_len;
}

void model_write_stats(const struct dfu_model *m, FILE *f)
{
	const struct model_stats *s = &m->st;

	if (m->apple) {
		apple_write_stats(m->apple, f);
		return;
	}
	fprintf(f, "state=%d\nstatus=%u\nmanifests=%lu\nimage_bytes=%lu\n"
		"dnload_requests=%lu\nblocks=%lu\nearly_polls=%lu\n"
		"aborts=%lu\nclrstatus=%lu\nset_interface=%lu\nalt=%u\n"
		"uploads=%lu\nupload_requests=%lu\nblock_errors=%lu\n"
		"upload_block_errors=%lu\nzero_len_in_idle=%lu\nstalls=%lu\n"
		"resets=%lu\nbusy_stalls=%lu\nstray_clrstatus=%lu\n"
		"detaches=%lu\nmode=%s\ngetstatus=%lu\ngetstate=%lu\n"
		"manifest_alt=%u\nsuspends=%lu\nreattaches=%lu\n",
		(int)m->state, m->status, s->manifests, s->image_bytes,
		s->dnload_requests, s->blocks, s->early_polls, s->aborts,
		s->clrstatus, s->set_interface, m->alt, s->uploads,
		s->upload_requests, s->block_errors, s->upload_block_errors,
		s->zero_len_in_idle, s->stalls, s->resets, s->busy_stalls,
		s->stray_clrstatus, s->detaches,
		m->runtime_mode ? "runtime" : "dfu", s->getstatus,
		s->getstate, m->manifest_alt, s->suspends, s->reattaches);
	if (m->dfuse)
		dfuse_write_stats(m->dfuse, f);
}
