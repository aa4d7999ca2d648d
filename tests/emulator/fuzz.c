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
 *
 * A session whose bcdDFUVersion is 0x011a (ST DfuSe) names its alt
 * settings with memory layouts, drawn with the session: valid maps (1-3
 * zones of 1-4 runs, sectors of 1 B to 128 KiB, up to 4096 of them,
 * letters a-g or none), lenient spellings of them (leading zeros, spaces,
 * K/M/B or no multiplier, 0X or no prefix, empty runs, a trailing '/'),
 * and hostile strings (32-bit overflows, zones that wrap past 4 GiB,
 * overlapping or descending zones, as many runs as the string holds, no
 * '/', '@' alone, 126 characters of digits and '*', layout soup).  The
 * string descriptor holds 126 characters at most, which bounds the runs
 * of one alt to about 30; many alts make hundreds per device.  The DfuSe
 * requests themselves get the random answers of any class request.
 */
#include <stdarg.h>
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
	unsigned long dfuse_sessions, dfuse_valid, dfuse_lenient;
	unsigned long dfuse_hostile;
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
	int dfuse;		/* bcdDFUVersion 0x011a: layouts[] hold names */
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

/* --- DfuSe memory layouts (bcdDFUVersion 0x011a sessions) ---------------- */

/* The longest iInterface a string descriptor holds (bLength 255: 126
 * UTF-16 units), as gadget.c sends it. */
#define LAYOUT_MAX		126
#define FOUR_GIB		0x100000000ull

static char layouts[GADGET_MAX_NUM_ALTS][LAYOUT_MAX + 1];

/* A layout being written: appends stop at LAYOUT_MAX; full tells that
 * one was cut. */
struct sb {
	char *p;
	size_t n;
	int full;
};

static void put(struct sb *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void put(struct sb *b, const char *fmt, ...)
{
	va_list ap;
	int k;

	if (b->n >= LAYOUT_MAX) {
		b->full = 1;
		return;
	}
	va_start(ap, fmt);
	k = vsnprintf(b->p + b->n, LAYOUT_MAX + 1 - b->n, fmt, ap);
	va_end(ap);
	if (k > 0)
		b->n += (size_t)k;
	if (b->n > LAYOUT_MAX) {
		b->n = LAYOUT_MAX;
		b->full = 1;
	}
}

/* Undo what was put since n when it did not fit whole. */
static int did_not_fit(struct sb *b, size_t n)
{
	if (!b->full)
		return 0;
	b->n = n;
	b->p[n] = '\0';
	b->full = 0;
	return 1;
}

/* How a map is spelled: UM0424's form, or what real strings do too. */
struct spelling {
	int zeros;	/* leading zeros to this width (0: none) */
	int spaces;	/* % of the places where spaces may go that get one */
	int hex_form;	/* 0: 0x, 1: 0X, 2: no prefix */
	int lower;	/* lower-case hex digits */
	int b_suffix;	/* % of byte sizes written with 'B' */
	int empty_runs;	/* % chance of an empty run before a run */
	int no_letter;	/* % of runs without a type letter */
};

static void maybe_space(struct sb *b, const struct spelling *sp)
{
	if (sp->spaces && pct((unsigned)sp->spaces))
		put(b, "%.*s", (int)range(1, 3), "   ");
}

static void put_num(struct sb *b, const struct spelling *sp, uint64_t v)
{
	maybe_space(b, sp);
	put(b, "%0*llu", sp->zeros, (unsigned long long)v);
}

/* A run: "COUNT*SIZE[KMB][letter]". */
static void put_run(struct sb *b, const struct spelling *sp, uint32_t count,
		    uint32_t bytes, int letter)
{
	put_num(b, sp, count);
	maybe_space(b, sp);
	put(b, "*");
	if (bytes && bytes % (1024 * 1024) == 0 && pct(50)) {
		put_num(b, sp, bytes / (1024 * 1024));
		put(b, "M");
	} else if (bytes && bytes % 1024 == 0 && pct(85)) {
		put_num(b, sp, bytes / 1024);
		put(b, "K");
	} else {
		put_num(b, sp, bytes);
		if (pct((unsigned)sp->b_suffix))
			put(b, "B");
		else if (letter && pct(30))
			put(b, " ");	/* UM0424's "no multiplier" */
	}
	maybe_space(b, sp);
	if (letter)
		put(b, "%c", letter);
}

static void put_addr(struct sb *b, const struct spelling *sp, uint64_t a)
{
	static const char *const pre[] = { "0x", "0X", "" };

	maybe_space(b, sp);
	put(b, sp->lower ? "%s%08llx" : "%s%08llX", pre[sp->hex_form],
	    (unsigned long long)a);
	maybe_space(b, sp);
}

static const char *draw_mem_name(void)
{
	static const char *const names[] = {
		"Internal Flash  ", "Option Bytes  ", "OTP Memory ",
		"Device Feature", "Flash", "SRAM", "", "Internal Flash   ",
		"NOR Flash : M29W128F", "SPI Flash: W25Q64",
	};

	return names[below(sizeof(names) / sizeof(names[0]))];
}

/* A sector size from 1 B to 128 KiB, mostly the usual ones. */
static uint32_t draw_sector(void)
{
	static const uint32_t usual[] = {
		1024, 2048, 4096, 16384, 65536, 131072, 16, 4, 512, 256,
	};

	switch (PICK(55, 15, 30)) {
	case 0: return usual[below(sizeof(usual) / sizeof(usual[0]))];
	case 1: return range(1, 64);
	default: return range(1, 131072);
	}
}

static uint32_t draw_count(void)
{
	switch (PICK(50, 30, 20)) {
	case 0: return range(1, 8);
	case 1: return range(1, 128);
	default: return range(1, 4096);
	}
}

static int draw_letter(int missing_pct)
{
	return pct((unsigned)missing_pct) ? 0 : 'a' + (int)below(7);
}

struct zone {
	uint64_t addr;
	unsigned n;
	uint32_t count[4], size[4];
	int letter[4];
};

/* 1-3 zones of 1-4 runs in ascending order, ending at 4 GiB at most;
 * big: sectors of 1 or 2 MiB sometimes (for the 'M'). */
static unsigned draw_zones(struct zone *z, int no_letter_pct, int big)
{
	static const uint64_t bases[] = {
		0x08000000, 0x00000000, 0x1fff0000, 0x20000000, 0x90000000,
	};
	unsigned nz = range(1, 3), i, k;
	uint64_t addr = pct(70) ? bases[below(5)] :
			(uint64_t)(rnd() & 0xfffffc00u);

	for (i = 0; i < nz; i++) {
		if (i)		/* a gap, or none */
			addr += pct(30) ? 0 : (uint64_t)range(1, 1024) * 1024;
		if (addr >= FOUR_GIB)
			break;
		z[i].addr = addr;
		z[i].n = 0;
		for (k = range(1, 4); k; k--) {
			uint32_t size = draw_sector(), count = draw_count();

			if (big && one_in(8))
				size = range(1, 2) << 20;

			if (addr + size > FOUR_GIB)
				break;
			if (addr + (uint64_t)size * count > FOUR_GIB)
				count = (uint32_t)((FOUR_GIB - addr) / size);
			z[i].count[z[i].n] = count;
			z[i].size[z[i].n] = size;
			z[i].letter[z[i].n++] = draw_letter(no_letter_pct);
			addr += (uint64_t)size * count;
		}
		if (!z[i].n)
			break;
	}
	return i;
}

/* The zones, as many whole runs as fit in the string (a run that would
 * be cut ends the map; so does a zone without room for its first run). */
static void put_zones(struct sb *b, const struct spelling *sp,
		      const struct zone *z, unsigned nz, int descending)
{
	unsigned i, k;
	size_t n;

	for (i = 0; i < nz; i++) {
		const struct zone *y = &z[descending ? nz - 1 - i : i];
		size_t zone_n = b->n;

		put(b, "/");
		put_addr(b, sp, y->addr);
		put(b, "/");
		for (k = 0; k < y->n; k++) {
			n = k ? b->n : zone_n;
			if (k) {
				maybe_space(b, sp);
				put(b, ",");
			}
			if (sp->empty_runs && pct((unsigned)sp->empty_runs)) {
				put_run(b, sp, 0, draw_sector(),
					draw_letter(sp->no_letter));
				put(b, ",");
			}
			put_run(b, sp, y->count[k], y->size[k], y->letter[k]);
			if (did_not_fit(b, n))
				return;
		}
	}
}

/* A map as UM0424 spells it, or (lenient) as real devices do. */
static void draw_map(struct sb *b, int lenient, int descending)
{
	struct spelling sp = { .zeros = 0 };
	struct zone z[3];
	unsigned nz;
	size_t n;

	if (lenient) {
		sp.zeros = pct(50) ? (int)range(2, 5) : 0;
		sp.spaces = pct(50) ? (int)range(5, 40) : 0;
		sp.hex_form = (int)PICK(60, 20, 20);
		sp.lower = pct(40);
		sp.b_suffix = pct(50) ? 70 : 0;
		sp.empty_runs = pct(30) ? 25 : 0;
		sp.no_letter = pct(30) ? 50 : 0;
	} else {
		sp.zeros = pct(60) ? 3 : 0;	/* "04*016Kg" */
		sp.no_letter = 10;
	}
	nz = draw_zones(z, sp.no_letter, lenient);
	put(b, "@%s", draw_mem_name());
	if (!nz) {	/* nothing fitted below 4 GiB: an empty run */
		put(b, "/0x%08llX/0*1Kg", (unsigned long long)z[0].addr);
		return;
	}
	put_zones(b, &sp, z, nz, descending);
	n = b->n;
	if (lenient && one_in(8))
		put(b, pct(50) ? "/" : "  ");	/* a '/' or spaces that end it */
	did_not_fit(b, n);
}

static void fill_from(struct sb *b, const char *set, size_t n)
{
	size_t len = strlen(set);

	while (n-- && b->n < LAYOUT_MAX)
		put(b, "%c", set[below((uint32_t)len)]);
}

/* What a broken or malicious device might announce. */
static void draw_hostile(struct sb *b)
{
	static const char *const huge[] = {
		"4294967295*4294967295Kg", "4294967296*1Kg", "1*4294967296g",
		"4294967295*1Bg", "1*4194304Kg", "1*4096Mg", "65536*65536Bg",
		"99999999999999999999*1Kg", "1*18446744073709551617g",
		"4294967295*4294967295Mg",
	};
	static const struct spelling plain = { .zeros = 0 };
	struct zone z[3];
	unsigned nz, i;
	uint64_t a;

	switch (PICK(10, 12, 12, 10, 6, 6, 10, 10, 8, 8, 8)) {
	case 0:	/* counts and sizes past 32 bits or 4 GiB */
		put(b, "@Internal Flash  /0x%08X/", pct(50) ? 0x08000000u :
		    (uint32_t)rnd());
		if (pct(50))
			put(b, "04*016Kg,");
		put(b, "%s", huge[below(sizeof(huge) / sizeof(huge[0]))]);
		if (pct(30))
			put(b, ",01*064Kg");
		break;
	case 1:	/* zones near the top that end at or wrap past 4 GiB */
		a = 0xffffffffull - (pct(50) ? below(16) : below(0x40000));
		put(b, "@Device Feature/0x%08llX/", (unsigned long long)a);
		put_run(b, &plain, draw_count(), draw_sector(),
			draw_letter(10));
		if (pct(40)) {
			put(b, ",");
			put_run(b, &plain, draw_count(), draw_sector(),
				draw_letter(10));
		}
		if (pct(30))	/* a second zone at the very end */
			put(b, "/0xFFFFFFFF/1*1Bg");
		break;
	case 2:	/* overlapping zones: the same or an inner address */
		nz = draw_zones(z, 10, 0);
		if (!nz)
			break;
		put(b, "@Flash");
		put_zones(b, &plain, z, nz, pct(50));
		a = z[0].addr + (pct(50) ? 0 : below(z[0].size[0]));
		put(b, "/0x%08llX/", (unsigned long long)a);
		put_run(b, &plain, draw_count(), draw_sector(),
			draw_letter(10));
		break;
	case 3:	/* as many runs as fit */
		put(b, "@Flash/0x08000000/");
		for (i = 0; b->n < LAYOUT_MAX - 6; i++) {
			static const char *const small[] = {
				"1*1Kg", "0*0", "1*1a", "2*1Bg", "9*9e", "1*1",
				"001*001Kb",
			};

			put(b, "%s%s", i ? "," : "",
			    small[below(sizeof(small) / sizeof(small[0]))]);
		}
		break;
	case 4:	/* no '/' at all */
		put(b, "%s", pct(50) ? "@Internal Flash  " :
		    "Internal Flash 04*016Kg,01*064Kg");
		break;
	case 5:	/* '@' alone, or nothing after the first '/' */
		switch (below(5)) {
		case 0: put(b, "@"); break;
		case 1: put(b, "@/"); break;
		case 2: put(b, "@//"); break;
		case 3: put(b, "@/0x/"); break;
		default: put(b, "@Flash/0x08000000/"); break;
		}
		break;
	case 6:	/* the longest string: digits and '*' */
		if (pct(50))
			put(b, "@Flash/0x08000000/");
		else if (pct(50))
			put(b, "@");
		fill_from(b, pct(70) ? "0123456789*" : "0123456789*,/",
			  LAYOUT_MAX);
		break;
	case 7:	/* a good map with its zones in descending order */
		draw_map(b, pct(50), 1);
		break;
	case 8:	/* a good map without its '@' */
		draw_map(b, 0, 0);
		memmove(b->p, b->p + 1, b->n);
		b->n--;
		break;
	case 9:	/* more sectors than any map should need */
		put(b, "@Flash/0x%08X/%u*%uBg", pct(50) ? 0u : 0x08000000u,
		    range(4097, 1u << 20), range(1, 4));
		if (pct(50))
			put(b, ",%u*1a", range(60000, 70000));
		break;
	default:	/* the alphabet of layouts, at random */
		if (pct(70))
			put(b, "@");
		fill_from(b, "0123456789*/,@xXKMBabcdefgh ", range(1, LAYOUT_MAX));
		break;
	}
}

/* Each alt's iInterface, mostly a layout of one of the three kinds. */
static void draw_layouts(unsigned n_alts)
{
	unsigned i;

	st.dfuse_sessions++;
	for (i = 0; i < n_alts; i++) {
		struct sb b = { layouts[i], 0, 0 };

		switch (PICK(10, 35, 25, 30)) {
		case 0:	/* not a layout: alt%u, as other sessions */
			snprintf(layouts[i], sizeof(layouts[i]), "alt%u", i);
			continue;
		case 1:
			draw_map(&b, 0, 0);
			st.dfuse_valid++;
			break;
		case 2:
			draw_map(&b, 1, 0);
			st.dfuse_lenient++;
			break;
		default:
			draw_hostile(&b);
			st.dfuse_hostile++;
			break;
		}
		layouts[i][b.n] = '\0';
		emu_log("fuzz: alt %u \"%s\"", i, layouts[i]);
	}
}

const char *fuzz_alt_name(unsigned alt)
{
	return s.dfuse && alt < GADGET_MAX_NUM_ALTS ? layouts[alt] : NULL;
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
	s.dfuse = g->dfu_version == 0x011a;
	if (s.dfuse)
		draw_layouts(g->num_alts);
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
	fprintf(f, "fuzz_dfuse_sessions=%lu\nfuzz_dfuse_valid=%lu\n"
		"fuzz_dfuse_lenient=%lu\nfuzz_dfuse_hostile=%lu\n",
		st.dfuse_sessions, st.dfuse_valid, st.dfuse_lenient,
		st.dfuse_hostile);
}
