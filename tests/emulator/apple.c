// SPDX-License-Identifier: GPL-2.0
/*
 * dfu-emu --apple: an Apple SecureROM in DFU mode (the protocol reference's
 * section 16, issue 13).
 *
 * DFU mode, 05ac:1227: interface 0 FE/01/00 without endpoints, a 7-byte DFU
 * 1.0 functional descriptor (download only, wDetachTimeOut 10,
 * wTransferSize 2048); string 1 holds the nonces, 2-4 manufacturer,
 * product and the identity (iSerialNumber).  DNLOAD data is appended
 * whatever its wValue; above 2048 bytes it stalls.  The GETSTATUS after a
 * block says dfuDNLOAD-IDLE with bwPollTimeout 50 ms.  The zero-length
 * DNLOAD enters dfuMANIFEST-SYNC, and only GETSTATUS moves it on: 7, then 8
 * (dfuMANIFEST-WAIT-RESET) for good.  A USB reset in state 8 checks what
 * came in: its last 16 bytes must be the DFU suffix (ff ff ff ff ac 05 00
 * 01 55 46 44 10 and dwCRC, the reflected CRC-32 from 0xffffffff with no
 * final inversion over everything before dwCRC), and with --apple-accept
 * the bytes before them must be that file.  Then the device leaves the
 * bus and comes back as recovery mode (05ac:1281: interface 0 FE/01/02
 * with a bulk OUT endpoint and no functional descriptor; it stalls every
 * class request) when the image boots, or as a fresh 1227 when it does
 * not.  A reset before state 8 changes nothing.  CLRSTATUS and ABORT end
 * the session: the device leaves and comes back as a fresh 1227.  UPLOAD,
 * DETACH and anything else stall, and a stall never changes the state
 * (the ROM has no dfuERROR here).
 *
 * Not known from the sources, chosen here: a zero-length DNLOAD in dfuIDLE
 * stalls; in states 6-8 it is acknowledged and changes nothing (irecovery
 * may send one more in state 8); a data DNLOAD in states 6-8 stalls.
 */
#include <stdlib.h>
#include <string.h>

#include "apple.h"
#include "log.h"

#define APPLE_POLL_MS		50	/* bwPollTimeout after a block */
#define APPLE_DETACH_TIMEOUT	10
#define APPLE_CONFIG_VALUE	1	/* gadget.c's CONFIG_VALUE */
#define APPLE_MAX_POWER		250	/* 500 mA, in 2 mA units */
#define APPLE_BULK_OUT		0x04	/* libirecovery's recovery endpoint */
#define DT_DFU_FUNCTIONAL	0x21

static const uint8_t suffix_magic[12] = {
	0xff, 0xff, 0xff, 0xff, 0xac, 0x05, 0x00, 0x01, 0x55, 0x46, 0x44, 0x10,
};

static uint32_t crc_table[256];

static void crc_init(void)
{
	uint32_t c;
	unsigned i, k;

	for (i = 0; i < 256; i++) {
		c = i;
		for (k = 0; k < 8; k++)
			c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
		crc_table[i] = c;
	}
}

/* From 0xffffffff, no final inversion: what the ROM compares dwCRC with. */
static uint32_t apple_crc(const uint8_t *p, size_t n)
{
	uint32_t c = 0xffffffffu;

	while (n--)
		c = crc_table[(c ^ *p++) & 0xff] ^ (c >> 8);
	return c;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = v & 0xff;
	p[1] = v >> 8;
}

void apple_init(struct apple *a, const struct apple_config *cfg)
{
	memset(a, 0, sizeof(*a));
	a->cfg = *cfg;
	a->state = DFU_IDLE;
	a->recovery_mode = cfg->recovery;
	a->next_recovery = cfg->recovery;
	a->new_session = 1;
	crc_init();
}

void apple_free(struct apple *a)
{
	free(a->buf);
	free(a->image);
	a->buf = a->image = NULL;
	a->len = a->cap = a->image_len = 0;
}

static void stall(struct apple *a, struct model_result *r)
{
	a->st.stalls++;
	r->action = MODEL_STALL;
}

static void status_reply(struct apple *a, struct model_result *r,
			 uint32_t poll_ms)
{
	a->reply[0] = DFU_STATUS_OK;
	a->reply[1] = poll_ms & 0xff;
	a->reply[2] = (poll_ms >> 8) & 0xff;
	a->reply[3] = (poll_ms >> 16) & 0xff;
	a->reply[4] = (uint8_t)a->state;
	a->reply[5] = 0;
	r->action = MODEL_REPLY;
	r->data = a->reply;
	r->len = 6;
}

static void dnload(struct apple *a, uint16_t wLength, struct model_result *r)
{
	if (wLength == 0) {
		a->st.zlp++;
		if (a->state == DFU_DNLOAD_IDLE) {
			a->state = DFU_MANIFEST_SYNC;	/* end of the image */
			emu_log("apple: end of image, %zu bytes", a->len);
		} else if (a->state == DFU_IDLE) {
			emu_log("apple: zero-length DNLOAD in dfuIDLE");
			stall(a, r);
		}
		return;	/* 6-8: acknowledged, nothing changes */
	}
	a->st.last_dnload = wLength;
	if (wLength > a->st.max_dnload)
		a->st.max_dnload = wLength;
	if (wLength > APPLE_TRANSFER_SIZE) {
		emu_log("apple: DNLOAD of %u bytes", wLength);
		stall(a, r);
		return;
	}
	if ((a->state != DFU_IDLE && a->state != DFU_DNLOAD_IDLE) ||
	    wLength > a->cfg.mem_size - a->len) {
		emu_log("apple: DNLOAD in state %d at %zu bytes", a->state,
			a->len);
		stall(a, r);
		return;
	}
	r->action = MODEL_NEED_DATA;
	r->len = wLength;
}

void apple_request(struct apple *a, uint8_t bmRequestType, uint8_t bRequest,
		   uint16_t wValue, uint16_t wLength, struct model_result *r)
{
	int in = (bmRequestType & 0x80) != 0;

	(void)wValue;	/* DNLOAD appends: the block number means nothing */
	memset(r, 0, sizeof(*r));
	r->action = MODEL_ACK;
	r->events = MODEL_EV_STATS;
	if (a->recovery_mode || a->leaving) {	/* not DFU */
		stall(a, r);
		return;
	}
	a->talked = 1;
	switch (bRequest) {
	case DFU_GETSTATUS:
		if (!in)
			break;
		a->st.getstatus++;
		/* the manifest states advance only here */
		if (a->state == DFU_MANIFEST_SYNC)
			a->state = DFU_MANIFEST;
		else if (a->state == DFU_MANIFEST)
			a->state = DFU_MANIFEST_WAIT_RESET;
		status_reply(a, r, a->state == DFU_DNLOAD_IDLE ?
			     APPLE_POLL_MS : 0);
		return;
	case DFU_GETSTATE:
		if (!in)
			break;
		a->reply[0] = (uint8_t)a->state;
		r->action = MODEL_REPLY;
		r->data = a->reply;
		r->len = 1;
		return;
	case DFU_DNLOAD:
		if (in)
			break;
		dnload(a, wLength, r);
		return;
	case DFU_CLRSTATUS:
	case DFU_ABORT:
		if (in)
			break;
		/* the ROM tears USB down and starts over */
		a->st.sessions_ended++;
		a->leaving = 1;
		a->next_recovery = 0;
		r->events |= MODEL_EV_REATTACH;
		emu_log("apple: %s in state %d: session ended",
			bRequest == DFU_ABORT ? "ABORT" : "CLRSTATUS",
			a->state);
		return;
	}
	emu_log("apple: stall request %02x %02x", bmRequestType, bRequest);
	stall(a, r);	/* UPLOAD, DETACH, the rest */
}

void apple_data(struct apple *a, const uint8_t *data, size_t len,
		struct model_result *r)
{
	size_t cap;
	uint8_t *p;

	memset(r, 0, sizeof(*r));
	r->action = MODEL_ACK;
	r->events = MODEL_EV_STATS;
	if (a->new_session) {
		a->new_session = 0;
		a->st.dnloads = 0;
		a->st.received = 0;
	}
	if (a->len + len > a->cap) {
		cap = a->cap ? a->cap : 65536;
		while (cap < a->len + len)
			cap *= 2;
		p = realloc(a->buf, cap);
		if (!p) {
			emu_log("apple: out of memory at %zu bytes", a->len);
			return;	/* lost: the CRC check will say so */
		}
		a->buf = p;
		a->cap = cap;
	}
	if (len)
		memcpy(a->buf + a->len, data, len);
	a->len += len;
	a->st.dnloads++;
	a->st.received += len;
	a->state = DFU_DNLOAD_IDLE;
}

/* A reset in state 8: check what came in; the device leaves either way. */
static void check_image(struct apple *a)
{
	const uint8_t *s;
	int boot;

	free(a->image);
	a->image = a->buf;
	a->image_len = a->len >= APPLE_SUFFIX_LEN ?
		       a->len - APPLE_SUFFIX_LEN : 0;
	if (a->len >= APPLE_SUFFIX_LEN) {
		s = a->buf + a->len - APPLE_SUFFIX_LEN;
		a->st.suffix_ok = !memcmp(s, suffix_magic, sizeof(suffix_magic));
		a->st.crc = (uint32_t)s[12] | (uint32_t)s[13] << 8 |
			    (uint32_t)s[14] << 16 | (uint32_t)s[15] << 24;
		a->st.crc_ok = apple_crc(a->buf, a->len - 4) == a->st.crc;
	} else {
		a->st.suffix_ok = a->st.crc_ok = 0;
		a->st.crc = 0;
	}
	boot = a->st.suffix_ok && a->st.crc_ok;
	if (boot && a->cfg.have_accept)
		boot = a->image_len == a->cfg.accept_len &&
		       (!a->image_len ||
			!memcmp(a->image, a->cfg.accept, a->image_len));
	if (boot)
		a->st.boots++;
	else
		a->st.rejects++;
	a->next_recovery = boot;
	emu_log("apple: %zu bytes, suffix %s, CRC 0x%08x %s: %s", a->len,
		a->st.suffix_ok ? "ok" : "bad", a->st.crc,
		a->st.crc_ok ? "ok" : "bad", boot ? "boots" : "rejected");
	a->buf = NULL;
	a->len = a->cap = 0;
}

unsigned apple_usb_reset(struct apple *a, int disconnect)
{
	if (disconnect)
		return 0;
	a->st.resets++;
	if (a->recovery_mode || a->leaving)
		return MODEL_EV_STATS;
	if (a->state == DFU_MANIFEST_WAIT_RESET) {
		a->st.resets_state8++;
		check_image(a);
		a->leaving = 1;
		return MODEL_EV_STATS | MODEL_EV_MANIFEST | MODEL_EV_REATTACH;
	}
	/* ignored; the enumeration's own resets come before any request */
	if (a->talked) {
		a->st.resets_early++;
		emu_log("apple: reset in state %d ignored", a->state);
	}
	return MODEL_EV_STATS;
}

unsigned apple_reattach(struct apple *a)
{
	a->leaving = 0;
	a->talked = 0;
	a->recovery_mode = a->next_recovery;
	a->state = DFU_IDLE;
	free(a->buf);
	a->buf = NULL;
	a->len = a->cap = 0;
	a->new_session = 1;
	a->st.reattaches++;
	emu_log("apple: back as 05ac:%04x", a->recovery_mode ?
		APPLE_PID_RECOVERY : a->cfg.pid);
	return MODEL_EV_STATS | MODEL_EV_MODE;
}

void apple_image(const struct apple *a, const uint8_t **data, size_t *len)
{
	*data = a->image;
	*len = a->image_len;
}

void apple_write_stats(const struct apple *a, FILE *f)
{
	const struct apple_stats *s = &a->st;

	fprintf(f, "apple_mode=%s\napple_state=%d\napple_dnloads=%lu\n"
		"apple_max_dnload=%lu\napple_last_dnload=%lu\n"
		"apple_received=%lu\napple_zlp=%lu\napple_suffix_ok=%d\n"
		"apple_crc=0x%08x\napple_crc_ok=%d\napple_resets_state8=%lu\n"
		"apple_resets_early=%lu\napple_boots=%lu\napple_rejects=%lu\n"
		"apple_sessions_ended=%lu\napple_stalls=%lu\n"
		"apple_getstatus=%lu\napple_resets=%lu\napple_reattaches=%lu\n",
		a->recovery_mode ? "recovery" : "dfu", a->state, s->dnloads,
		s->max_dnload, s->last_dnload, s->received, s->zlp,
		s->suffix_ok, s->crc, s->crc_ok, s->resets_state8,
		s->resets_early, s->boots, s->rejects, s->sessions_ended,
		s->stalls, s->getstatus, s->resets, s->reattaches);
}

void apple_device_desc(const struct apple *a, uint8_t d[18])
{
	static const uint8_t tmpl[18] = {
		18, 1, 0, 0, 0, 0, 0, 64,	/* class in the interface */
		0, 0, 0, 0, 0, 0,		/* IDs, bcdDevice */
		2, 3, 4, 1,	/* string 1 is the nonces */
	};

	memcpy(d, tmpl, sizeof(tmpl));
	put16(d + 2, a->cfg.bcd_usb);
	put16(d + 8, a->recovery_mode ? APPLE_VID : a->cfg.vid);
	put16(d + 10, a->recovery_mode ? APPLE_PID_RECOVERY : a->cfg.pid);
	put16(d + 12, a->cfg.bcd_device);
}

size_t apple_config_desc(const struct apple *a, uint8_t *d,
			 const uint8_t **func, size_t *func_len)
{
	static const uint8_t conf[9] = {
		9, 2, 0, 0, 1, APPLE_CONFIG_VALUE, 0, 0x80, APPLE_MAX_POWER,
	};
	static const uint8_t intf[9] = { 9, 4, 0, 0, 0, 0xfe, 0x01, 0x00, 0 };
	uint8_t *p = d;

	memcpy(p, conf, sizeof(conf));
	p += sizeof(conf);
	memcpy(p, intf, sizeof(intf));
	if (a->recovery_mode) {
		p[4] = 1;		/* bNumEndpoints */
		p[7] = 0x02;		/* "DFU mode" protocol: it is not */
		p += sizeof(intf);
		p[0] = 7;
		p[1] = 5;		/* USB_DT_ENDPOINT */
		p[2] = APPLE_BULK_OUT;
		p[3] = 0x02;		/* bulk */
		put16(p + 4, a->cfg.high_speed ? 512 : 64);
		p[6] = 0;
		p += 7;
		*func = NULL;
		*func_len = 0;
	} else {
		p += sizeof(intf);
		*func = p;
		p[0] = 7;		/* DFU 1.0: no bcdDFUVersion */
		p[1] = DT_DFU_FUNCTIONAL;
		p[2] = DFU_ATTR_CAN_DNLOAD;
		put16(p + 3, APPLE_DETACH_TIMEOUT);
		put16(p + 5, APPLE_TRANSFER_SIZE);
		p += 7;
		*func_len = 7;
	}
	put16(d + 2, (uint16_t)(p - d));	/* wTotalLength */
	return (size_t)(p - d);
}

const char *apple_string(const struct apple *a, unsigned idx)
{
	switch (idx) {
	case 1:
		return a->cfg.nonces;
	case 2:
		return "Apple Inc.";
	case 3:
		return a->recovery_mode ? "Apple Mobile Device (Recovery Mode)" :
		       "Apple Mobile Device (DFU Mode)";
	case 4:
		return a->cfg.serial;
	}
	return NULL;
}
