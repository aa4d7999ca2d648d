/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dfu-emu --fuzz SEED: a hostile device for fuzzing the host driver.
 *
 * One PRNG stream, seeded by SEED, makes every decision: the descriptor
 * set of each session (a session lasts from a connect to a disconnect),
 * and for each control request whether it is delayed, stalled, answered
 * at random or by the model, or whether the device vanishes.  Decisions
 * are taken in the order the requests arrive, so a run is a function of
 * the seed and of the request sequence the host sends.
 */
#ifndef DFU_EMU_FUZZ_H
#define DFU_EMU_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <linux/usb/ch9.h>

#include "gadget.h"
#include "model.h"

/* What to do with a control request before it is handled. */
enum fuzz_verdict {
	FUZZ_GO,	/* handle it as usual */
	FUZZ_STALL,	/* refuse it */
	FUZZ_VANISH,	/* leave the bus without answering */
};

void fuzz_init(uint64_t seed);

/* A new session: draw descriptor fields into g and the model config. */
void fuzz_session(struct gadget_config *g, struct model_config *m);
/* How long the session stays on the bus at most (ms). */
uint32_t fuzz_session_ms(void);

/* Functional descriptor block of the session: d is the 9-byte DFU 1.1
 * descriptor the configuration would carry, f has room for cap bytes.
 * Returns its length; *get_len gets what GET_DESCRIPTOR(0x21) answers. */
size_t fuzz_func_desc(uint8_t *f, size_t cap, const uint8_t d[9],
		      size_t *get_len);

/* A string descriptor as it goes out: *d and *len the well-formed one (d NULL
 * for a stall); may point *d at buf (256 bytes) with a broken one, or set
 * it to NULL to stall. */
void fuzz_string(unsigned idx, const uint8_t **d, size_t *len, uint8_t *buf);

/* A DfuSe session (bcdDFUVersion 0x011a): the iInterface string of alt
 * setting alt, a memory layout drawn with the session (valid, lenient or
 * hostile); NULL in other sessions. */
const char *fuzz_alt_name(unsigned alt);

/* Any control request, before it is handled; *delay_ms: answer later. */
enum fuzz_verdict fuzz_control(const struct usb_ctrlrequest *c,
			       uint32_t *delay_ms);

/* SET_CONFIGURATION was just acknowledged: vanish now? */
int fuzz_vanish_after_configure(void);

/* A DFU class request the model answered with *r: keep it, or replace
 * it with a random answer, a stall or a disappearance. */
void fuzz_class_reply(struct model_result *r, uint8_t bRequestType,
		      uint8_t bRequest, uint16_t wLength);

/* Off the bus between sessions for this long (ms). */
uint32_t fuzz_pause_ms(void);

/* A session ended (disconnect) and the next one starts (reconnect). */
void fuzz_count_disconnect(void);
void fuzz_count_reconnect(void);

/* key=value counters, appended to --stats. */
void fuzz_write_stats(FILE *f);

#endif /* DFU_EMU_FUZZ_H */
