// SPDX-License-Identifier: GPL-2.0
/*
 * dfu-emu: fuzz mode (--fuzz SEED), a device that answers the host driver
 * with whatever the PRNG says.  The descriptors stay well-formed enough
 * for usbcore to enumerate the device (one configuration, one DFU
 * interface of class FE/01), so that the driver's probe and its file
 * operations are what gets exercised.
 *
 * Every decision consumes the one PRNG stream in request order; nothing
 * depends on time except the length of sessions and of the whole run.
 */
#include <string.h>

#include "fuzz.h"
#include "log.h"

#define DT_DFU_FUNCTIONAL	0x21
#define STR_MAX			255
#define NEVER			(~0ul)

static uint64_t prng_state;

/* Counters for --stats. */
static struct {
	unsigned long requests, class_requests, stalls, disconnects;
	unsigned long reconnects, delays, random_replies, sessions;
	unsigned long broken_strings;
} st;

/* What the current session does; drawn by fuzz_session(). */
static struct {
	unsigned hostile;	/* % of class requests answered at random */
	unsigned long vanish_at;	/* control request index, or NEVER */
	int vanish_configured;	/* right after SET_CONFIGURATION */
	int vanish_first_class;	/* at the first class request (probe) */
	unsigned vanish_one_in;	/* per class request, 0: never */
	unsigned bad_strings;	/* % of string descriptors broken */
	unsigned stall_set_intf;	/* % of SET_INTERFACE stalled */
	unsigned delay_pct;	/* % of class requests answered late */
	int func_kind;		/* enum func_kind */
	unsigned func_len;	/* FK_RANDOM_LEN: its bLength */
	int func_junk;		/* another class descriptor before it */
	uint16_t transfer_size;	/* wTransferSize in the descriptor */
	unsigned long ctrl_seen, class_seen;
} s;

enum func_kind {
	FK_V11, FK_V10, FK_MISSING, FK_DUP_SAME, FK_DUP_DIFF, FK_RANDOM_LEN,
	FK_COUNT
};

/* splitmix64: tiny, and every seed (0 too) gives a good stream. */
static uint64_t rnd(void)
{
	uint64_t z = (prng_state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Uniform in [0, n); n > 0.  The modulo bias is irrelevant here. */
static uint32_t below(uint32_t n)
{
	return (uint32_t)(rnd() % n);
}

static uint32_t range(uint32_t lo, uint32_t hi)
{
	return lo + below(hi - lo + 1);
}

static int pct(unsigned p)
{
	return below(100) < p;
}

static int one_in(unsigned n)
{
	return below(n) == 0;
}

/* Index of a weighted choice among n weights. */
static unsigned pick(const unsigned *w, unsigned n)
{
	unsigned i, total = 0, r;

	for (i = 0; i < n; i++)
		total += w[i];
	r = below(total);
	for (i = 0; i < n - 1 && r >= w[i]; i++)
		r -= w[i];
	return i;
}

/* PICK(w0, w1, ...): index of a choice weighted w0, w1, ... */
#define PICK(...) pick((const unsigned[]){ __VA_ARGS__ },		\
		       sizeof((const unsigned[]){ __VA_ARGS__ }) /	\
		       sizeof(unsigned))

static void fill_random(uint8_t *p, size_t n)
{
	uint64_t v = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		if (i % 8 == 0)
			v = rnd();
		p[i] = (uint8_t)(v >> (8 * (i % 8)));
	}
}

void fuzz_init(uint64_t seed)
{
	prng_state = seed;
}

static uint16_t draw_transfer_size(void)
{
	switch (PICK(10, 8, 20, 25, 10, 10, 17)) {
	case 0: return 0;
	case 1: return 1;
	case 2: return (uint16_t)range(2, 512);
	case 3: return 4096;
	case 4: return 65535;
	case 5: return 1024;
	default: return (uint16_t)rnd();
	}
}

/* idVendor 0x1209 (pid.codes); idProduct anything but the three the test
 * module load gives quirks to (df01 poll, df02 ignore, df03 DFU mode). */
static uint16_t draw_pid(void)
{
	uint16_t pid;

	do
		pid = (uint16_t)rnd();
	while (pid >= 0xdf01 && pid <= 0xdf03);
	return pid;
}

static unsigned draw_alts(void)
{
	switch (PICK(45, 35, 12, 8)) {
	case 0: return 1;
	case 1: return range(2, 4);
	case 2: return range(5, 32);
	default: return range(33, GADGET_MAX_NUM_ALTS);
	}
}

/* How the session breaks down: at enumeration, at probe, or later. */
static void draw_vanish_plan(void)
{
	s.vanish_at = NEVER;
	s.vanish_configured = 0;
	s.vanish_first_class = 0;
	s.vanish_one_in = 0;
	switch (PICK(12, 8, 8, 50, 22)) {
	case 0:	/* somewhere in enumeration: descriptors, strings */
		s.vanish_at = range(0, 30);
		break;
	case 1:
		s.vanish_configured = 1;
		break;
	case 2:	/* the probe's DFU_GETSTATUS */
		s.vanish_first_class = 1;
		break;
	case 3:
		s.vanish_one_in = range(40, 600);
		break;
	default:	/* only the session timer ends it */
		break;
	}
}

static void draw_model(struct model_config *m, unsigned n_alts)
{
	m->attrs = pct(50) ? (uint8_t)rnd() :
		   (uint8_t)(rnd() | DFU_ATTR_CAN_DNLOAD | DFU_ATTR_CAN_UPLOAD);
	/* The model takes any block the host sends; the descriptor says
	 * what the host should send. */
	m->transfer_size = 65535;
	m->poll_ms = PICK(60, 35, 5) == 0 ? 0 : range(1, 20);
	m->busy_ms = -1;
	m->busy_polls = range(0, 3);
	m->manifest_poll_ms = pct(70) ? 0 : range(1, 100);
	m->mem_size = 1u << 20;	/* bounded memory; errADDRESS beyond */
	m->strict_blocks = pct(50);
	m->n_alts = n_alts;
	m->disconnect_at = -1;
	m->disconnect_upload_at = -1;
	m->start_error = pct(10) ? (int)below(256) : -1;
	m->bad_state_at = -1;
	m->lagging_state = pct(15);
	m->stall_keeps_state = pct(20);
	m->strict_clrstatus = pct(15);
	m->leave_after_manifest = pct(10);
	m->runtime = 0;	/* the descriptors alone tell the driver the mode */
}

void fuzz_session(struct gadget_config *g, struct model_config *m)
{
	static const unsigned hostility[] = { 3, 15, 40, 80 };
	static const uint16_t versions[] = { 0x0100, 0x0110, 0x011a };
	unsigned v;

	st.sessions++;
	g->high_speed = !pct(20);
	g->vid = 0x1209;
	g->pid = draw_pid();
	g->dfu_pid = g->pid;
	g->bcd_device = (uint16_t)rnd();
	g->protocol = (uint8_t)PICK(8, 35, 50, 7);	/* 0..3 */
	v = PICK(25, 50, 8, 17);
	g->dfu_version = v < 3 ? versions[v] : (uint16_t)rnd();
	g->detach_timeout = (uint16_t)rnd();
	g->num_alts = draw_alts();
	draw_model(m, g->num_alts);
	m->detach_timeout = g->detach_timeout;

	s.transfer_size = draw_transfer_size();
	s.func_kind = (int)PICK(50, 15, 6, 8, 6, 15);
	s.func_len = PICK(30, 30, 40) == 2 ? below(256) : (pct(50) ? 7 : 9);
	s.func_junk = pct(8);
	s.hostile = hostility[below(4)];
	s.bad_strings = PICK(55, 30, 15) == 0 ? 0 : range(5, 60);
	s.stall_set_intf = pct(30) ? range(10, 100) : 0;
	s.delay_pct = PICK(50, 40, 10) == 0 ? 0 : range(2, 20);
	s.ctrl_seen = s.class_seen = 0;
	draw_vanish_plan();
	emu_log("fuzz session %lu: %04x:%04x proto %u ver %04x alts %u "
		"wTransferSize %u func %d hostile %u%%", st.sessions, g->vid,
		g->pid, g->protocol, g->dfu_version, g->num_alts,
		s.transfer_size, s.func_kind, s.hostile);
}

/* Session length in ms: long enough to enumerate (up to ~300 ms under
 * TCG), never the whole run, so that a device the driver cannot bind
 * (say, its functional descriptor sits after alt setting 128, which
 * usbcore drops) does not waste the seed.  This is the one decision
 * that depends on time, not on the request sequence. */
uint32_t fuzz_session_ms(void)
{
	return range(800, 3000);
}

size_t fuzz_func_desc(uint8_t *f, size_t cap, const uint8_t d[9],
		      size_t *get_len)
{
	uint8_t one[9];
	size_t n = 0, len;

	memcpy(one, d, 9);
	one[5] = s.transfer_size & 0xff;
	one[6] = s.transfer_size >> 8;
	memset(f, 0, cap);
	if (s.func_junk) {	/* a class-specific descriptor of another kind */
		f[0] = (uint8_t)range(2, 16);
		f[1] = (uint8_t)range(0x22, 0x3f);
		fill_random(f + 2, f[0] - 2u);
		n = f[0];
	}
	switch (s.func_kind) {
	case FK_V11:
	case FK_DUP_SAME:
	case FK_DUP_DIFF:
		memcpy(f + n, one, 9);
		len = 9;
		break;
	case FK_V10:
		memcpy(f + n, one, 7);
		f[n] = 7;
		len = 7;
		break;
	case FK_RANDOM_LEN:
		/* The real fields first, random bytes after them. */
		len = s.func_len;
		memcpy(f + n, one, len < 9 ? len : 9);
		if (len > 9)
			fill_random(f + n + 9, len - 9);
		if (len < 2) {	/* usbcore skips the rest of the config */
			f[n + 1] = DT_DFU_FUNCTIONAL;
			len = 2;
		}
		f[n] = (uint8_t)s.func_len;
		break;
	default:	/* FK_MISSING */
		*get_len = 0;
		return n;
	}
	*get_len = len;
	if ((s.func_kind == FK_DUP_SAME || s.func_kind == FK_DUP_DIFF) &&
	    n + 2 * len <= cap) {
		memcpy(f + n + len, f + n, len);
		if (s.func_kind == FK_DUP_DIFF)
			fill_random(f + n + len + 2, len - 2);
		n += len;
	}
	return n + len;
}

void fuzz_string(unsigned idx, const uint8_t **d, size_t *len, uint8_t *buf)
{
	size_t n = *d ? *len : 0;

	if (!pct(s.bad_strings))
		return;
	st.broken_strings++;
	if (n)
		memcpy(buf, *d, n);
	*d = buf;
	switch (PICK(10, 10, 15, 15, 10, 15, 5, 10, 10)) {
	case 0:	/* bLength 0 */
		buf[0] = 0;
		buf[1] = USB_DT_STRING;
		*len = 2;
		break;
	case 1:	/* bLength 1: not even the type */
		buf[0] = 1;
		buf[1] = USB_DT_STRING;
		*len = pct(50) ? 1 : 2;
		break;
	case 2:	/* odd bLength: half a UTF-16 unit at the end */
		*len = n > 2 ? n - 1 : 3;
		buf[0] = (uint8_t)*len;
		buf[1] = USB_DT_STRING;
		break;
	case 3:	/* claims more than it sends */
		*len = n > 2 ? range(2, (uint32_t)n) : 2;
		buf[0] = (uint8_t)range((uint32_t)*len + 1, STR_MAX);
		buf[1] = USB_DT_STRING;
		break;
	case 4:	/* 255 bytes of anything */
		fill_random(buf, STR_MAX);
		buf[0] = STR_MAX;
		buf[1] = USB_DT_STRING;
		*len = STR_MAX;
		break;
	case 5:
		*d = NULL;	/* stall */
		break;
	case 6:	/* the wrong descriptor type */
		buf[1] = (uint8_t)below(256);
		if (!n)
			buf[0] = 2;
		*len = n ? n : 2;
		break;
	case 7:	/* nothing at all */
		*len = 0;
		break;
	default:	/* random bytes, random length */
		*len = below(STR_MAX + 1);
		fill_random(buf, *len);
		break;
	}
	emu_log("fuzz: broken string %u (%zu bytes)", idx, *len);
}

enum fuzz_verdict fuzz_control(const struct usb_ctrlrequest *c,
			       uint32_t *delay_ms)
{
	int standard = (c->bRequestType & USB_TYPE_MASK) == USB_TYPE_STANDARD;

	*delay_ms = 0;
	st.requests++;
	if (s.ctrl_seen++ == s.vanish_at) {
		emu_log("fuzz: vanish at request %lu", s.ctrl_seen - 1);
		return FUZZ_VANISH;
	}
	if (standard && c->bRequest == USB_REQ_SET_INTERFACE &&
	    pct(s.stall_set_intf)) {
		st.stalls++;
		return FUZZ_STALL;
	}
	/* Enumeration is slow enough under TCG: only rare, short delays. */
	if (standard && c->bRequest == USB_REQ_GET_DESCRIPTOR &&
	    one_in(200)) {
		st.delays++;
		*delay_ms = range(20, 400);
	}
	return FUZZ_GO;
}

int fuzz_vanish_after_configure(void)
{
	if (!s.vanish_configured)
		return 0;
	emu_log("fuzz: vanish after SET_CONFIGURATION");
	return 1;
}

/* Mostly none; sometimes up to a few hundred ms; rarely past the 5 s
 * that usbcore and the driver's probe allow a control request. */
static uint32_t draw_delay(void)
{
	if (!pct(s.delay_pct))
		return 0;
	st.delays++;
	switch (PICK(80, 17, 3)) {
	case 0: return range(1, 300);
	case 1: return range(300, 1500);
	default: return range(5200, 7000);
	}
}

/* 24 bits of bwPollTimeout: mostly small; the maximum stays rare, as the
 * host honours it until it gives up or is killed. */
static uint32_t draw_poll(void)
{
	if (one_in(50))
		return pct(50) ? 0xffffff : (uint32_t)rnd() & 0xffffff;
	switch (PICK(60, 35, 5)) {
	case 0: return 0;
	case 1: return range(1, 20);
	default: return range(21, 2000);
	}
}

static void random_status(uint8_t *b, uint16_t wLength, size_t *len)
{
	uint32_t poll = draw_poll();

	b[0] = pct(70) ? (uint8_t)below(16) : (uint8_t)rnd();
	b[1] = poll & 0xff;
	b[2] = (poll >> 8) & 0xff;
	b[3] = (poll >> 16) & 0xff;
	b[4] = pct(70) ? (uint8_t)below(11) : (uint8_t)rnd();
	b[5] = pct(80) ? 0 : (uint8_t)rnd();
	*len = pct(75) ? 6 : below(6);
	(void)wLength;
}

static size_t random_upload_len(uint16_t wLength)
{
	switch (PICK(15, 35, 15, 10, 25)) {
	case 0: return 0;
	case 1: return wLength;
	case 2: return wLength ? wLength - 1u : 0;
	case 3: return wLength ? 1 : 0;
	default: return below((uint32_t)wLength + 1);
	}
}

/* An IN data stage of our own making. */
static void random_in_reply(struct model_result *r, uint8_t bRequest,
			    uint16_t wLength)
{
	static uint8_t buf[65536];

	switch (bRequest) {
	case DFU_GETSTATUS:
		random_status(buf, wLength, &r->len);
		break;
	case DFU_GETSTATE:
		buf[0] = pct(70) ? (uint8_t)below(11) : (uint8_t)rnd();
		r->len = pct(85) ? 1 : 0;
		break;
	default:	/* UPLOAD, or anything else that reads */
		r->len = random_upload_len(wLength);
		fill_random(buf, r->len);
		break;
	}
	r->action = MODEL_REPLY;
	r->data = buf;
}

void fuzz_class_reply(struct model_result *r, uint8_t bRequestType,
		      uint8_t bRequest, uint16_t wLength)
{
	/* The direction decides what may be faked: an IN data stage, or
	 * for OUT only an ACK without data or a stall. */
	int in = (bRequestType & USB_DIR_IN) != 0;

	st.class_requests++;
	s.class_seen++;
	if ((s.vanish_first_class && s.class_seen == 1) ||
	    (s.vanish_one_in && one_in(s.vanish_one_in))) {
		emu_log("fuzz: vanish at class request %u", bRequest);
		r->action = MODEL_DISCONNECT;
		return;
	}
	r->delay_ms = draw_delay();
	if (!pct(s.hostile))
		return;		/* the model's own answer */
	if (pct(25)) {
		st.stalls++;
		r->action = MODEL_STALL;
		return;
	}
	if (in) {
		st.random_replies++;
		random_in_reply(r, bRequest, wLength);
	} else if (wLength == 0 && r->action != MODEL_NEED_DATA) {
		/* DETACH, CLRSTATUS, ABORT, the final DNLOAD: a plain ACK,
		 * whatever the model made of it (no data stage to fake). */
		r->action = MODEL_ACK;
	}
}

uint32_t fuzz_pause_ms(void)
{
	return range(10, 400);
}

void fuzz_count_disconnect(void)
{
	st.disconnects++;
}

void fuzz_count_reconnect(void)
{
	st.reconnects++;
}

void fuzz_write_stats(FILE *f)
{
	fprintf(f, "fuzz_requests=%lu\nfuzz_class_requests=%lu\n"
		"fuzz_stalls=%lu\nfuzz_disconnects=%lu\nfuzz_reconnects=%lu\n"
		"fuzz_delays=%lu\nfuzz_random_replies=%lu\nfuzz_sessions=%lu\n"
		"fuzz_broken_strings=%lu\n",
		st.requests, st.class_requests, st.stalls, st.disconnects,
		st.reconnects, st.delays, st.random_replies, st.sessions,
		st.broken_strings);
}
