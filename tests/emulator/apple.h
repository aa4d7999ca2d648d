/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dfu-emu --apple: an Apple SecureROM in DFU mode (05ac:1227, the protocol
 * reference's section 16), and the recovery-mode device (05ac:1281) it
 * becomes when it boots an image.
 *
 * The model (model.c) hands this file every DFU class request, the data
 * of each DNLOAD and each USB reset when it has an Apple device; the
 * transport (gadget.c) asks it for the descriptors and strings of the
 * current mode.  A reset in dfuMANIFEST-WAIT-RESET and a CLRSTATUS or
 * ABORT make the device leave the bus (MODEL_EV_REATTACH); apple_reattach()
 * then says which device comes back.
 */
#ifndef DFU_EMU_APPLE_H
#define DFU_EMU_APPLE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "model.h"

#define APPLE_VID		0x05ac
#define APPLE_PID_DFU		0x1227
#define APPLE_PID_RECOVERY	0x1281
#define APPLE_TRANSFER_SIZE	2048
#define APPLE_SUFFIX_LEN	16
#define APPLE_DESC_MAX		64	/* configuration descriptor bytes */
/* Off the bus this long when it leaves: longer than the host's wait for a
 * device to come back from a port reset (HUB_RESET_TIMEOUT, 800 ms plus
 * the poll intervals), or Linux takes the reset as a success and keeps
 * the old device when the descriptors are the same (a rejected image). */
#define APPLE_AWAY_MS		1500

struct apple_config {
	uint16_t vid, pid;		/* DFU mode: 05ac:1227 (or --pid) */
	uint16_t bcd_device, bcd_usb;
	int high_speed;			/* bulk wMaxPacketSize in recovery */
	const char *serial;		/* the identity, iSerialNumber */
	const char *nonces;		/* string 1 */
	const uint8_t *accept;		/* --apple-accept: the signed image */
	size_t accept_len;
	int have_accept;
	int recovery;			/* --apple-recovery: start as 1281 */
	size_t mem_size;		/* most bytes one session may receive */
};

struct apple_stats {
	unsigned long dnloads, max_dnload, last_dnload, received, zlp;
	unsigned long resets, resets_state8, resets_early, boots, rejects;
	unsigned long sessions_ended, stalls, getstatus, reattaches;
	int suffix_ok, crc_ok;
	uint32_t crc;
};

struct apple {
	struct apple_config cfg;
	int recovery_mode;	/* serving 05ac:1281 */
	int next_recovery;	/* the device that comes back after leaving */
	int leaving;		/* left the bus, apple_reattach() to come */
	int talked;		/* a class request since it came on the bus */
	int new_session;	/* the next data DNLOAD zeroes the counts */
	int state;		/* enum dfu_state */
	uint8_t *buf;		/* received this session, suffix included */
	size_t len, cap;
	uint8_t *image;		/* --out: the last checked image */
	size_t image_len;
	uint8_t reply[6];
	struct apple_stats st;
};

/* Copies cfg; accept stays the caller's. */
void apple_init(struct apple *a, const struct apple_config *cfg);
void apple_free(struct apple *a);

/* The model's model_request(), model_data(), model_usb_reset() and
 * model_reattach() for an Apple device. */
void apple_request(struct apple *a, uint8_t bmRequestType, uint8_t bRequest,
		   uint16_t wValue, uint16_t wLength, struct model_result *r);
void apple_data(struct apple *a, const uint8_t *data, size_t len,
		struct model_result *r);
unsigned apple_usb_reset(struct apple *a, int disconnect);
unsigned apple_reattach(struct apple *a);

/* The image of the last reset in dfuMANIFEST-WAIT-RESET (--out). */
void apple_image(const struct apple *a, const uint8_t **data, size_t *len);
void apple_write_stats(const struct apple *a, FILE *f);

/* Descriptors of the current mode: the device descriptor (18 bytes), the
 * configuration (returns its length, at most APPLE_DESC_MAX) and the DFU
 * functional descriptor within it (*func_len 0 in recovery mode). */
void apple_device_desc(const struct apple *a, uint8_t d[18]);
size_t apple_config_desc(const struct apple *a, uint8_t *d,
			 const uint8_t **func, size_t *func_len);
/* String idx (not 0) of the current mode, or NULL. */
const char *apple_string(const struct apple *a, unsigned idx);

#endif /* DFU_EMU_APPLE_H */
