/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dfu-emu: raw_gadget transport.  Binds to a UDC through /dev/raw-gadget,
 * answers the standard requests from the descriptors below, and hands the
 * DFU class requests to the model.
 */
#ifndef DFU_EMU_GADGET_H
#define DFU_EMU_GADGET_H

#include <signal.h>
#include <stdint.h>

#include "model.h"

#define GADGET_MAX_ALTS		32	/* --alt NAME */
#define GADGET_MAX_NUM_ALTS	255	/* --alts N */
#define GADGET_EV_CONFIGURED	0x100u	/* beside the MODEL_EV_* bits */

/* --func-desc: the functional descriptor, or a malformed one. */
enum gadget_func_desc {
	FUNC_DESC_NORMAL,	/* 9 bytes, DFU 1.1 */
	FUNC_DESC_MISSING,	/* none at all */
	FUNC_DESC_LEN,		/* bLength func_desc_len, see build_func_desc */
	FUNC_DESC_DUP,		/* two, the second with wTransferSize 32 */
	FUNC_DESC_DUP_SAME,	/* two identical ones */
	FUNC_DESC_V10,		/* 7 bytes, DFU 1.0: no bcdDFUVersion */
};

struct gadget_config {
	const char *udc_driver;
	const char *udc_device;
	int high_speed;
	uint16_t vid, pid, bcd_device;
	const char *serial;
	int serial_raw;		/* serial in 8-bit bytes, not UTF-16 (GD32) */
	const char *manufacturer, *product;	/* strings 1 and 2 */
	uint16_t bcd_usb;
	const char *alt_names[GADGET_MAX_ALTS];	/* model's cfg.n_alts used */
	uint16_t detach_timeout;
	uint16_t dfu_version;
	uint8_t protocol;	/* bInterfaceProtocol in DFU mode (--protocol) */
	unsigned num_alts;	/* --alts N: alts named alt0.., 0: alt_names */
	uint16_t dfu_pid;	/* --runtime: idProduct in DFU mode */
	/* --runtime, DFU mode: its serial (NULL: serial), none at all
	 * (iSerialNumber 0), and the UDC it comes back on (NULL: udc_*) */
	const char *dfu_serial;
	int dfu_no_serial;
	const char *dfu_udc_driver, *dfu_udc_device;
	unsigned reattach_ms;	/* off the bus when leaving, 0: 200 ms */
	int reenum_ms;		/* off the bus from run-time to DFU mode,
				 * -1: reattach_ms */
	enum gadget_func_desc func_desc;	/* --func-desc */
	unsigned func_desc_len;	/* --func-desc len=N */
	int endpoint;		/* --endpoint: a bulk OUT endpoint in the last alt */

	/* Called before the request that caused them is answered. */
	void (*on_events)(void *ctx, unsigned events);
	void *ctx;

	/* --fuzz: fuzz.c shapes descriptors and answers; sessions end at
	 * random and the device comes back with new descriptors.
	 * on_session (may be NULL) runs before each session's descriptors
	 * are built; a timer sets *session_over to end a session. */
	int fuzz;
	void (*on_session)(void *ctx);
	volatile sig_atomic_t *session_over;

	/* Signal handling: the handler sets *stop; while *fetch_waiting is
	 * set the loop is blocked in EVENT_FETCH and may be jumped out of. */
	volatile sig_atomic_t *stop;
	volatile sig_atomic_t *fetch_waiting;
};

enum gadget_exit {
	GADGET_STOPPED,		/* *stop was set */
	GADGET_DISCONNECT,	/* the model asked to vanish */
	GADGET_FAILED,		/* raw_gadget error (reported on stderr) */
	GADGET_REATTACH,	/* internal: WillDetach, start a new session */
};

/* Opens /dev/raw-gadget, binds and serves until one of the above. */
enum gadget_exit gadget_run(const struct gadget_config *g,
			    struct dfu_model *m);

#endif /* DFU_EMU_GADGET_H */
