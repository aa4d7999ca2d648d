// SPDX-License-Identifier: GPL-2.0
/*
 * dfu-emu: raw_gadget transport and standard requests.
 *
 * raw_gadget queues one event per setup packet; the data stage does not
 * move until we queue a request on ep0: EP0_WRITE for an IN data stage,
 * EP0_READ for an OUT data stage (which also completes the transfer) or,
 * with length 0, to ACK a request without data; EP0_STALL refuses it.
 * Every control event must get exactly one of these, or raw_gadget stalls
 * all following setup packets.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include <linux/usb/ch9.h>
#include <linux/usb/raw_gadget.h>

#include "apple.h"
#include "fuzz.h"
#include "gadget.h"
#include "log.h"

/* Event types under our own names: they are enum constants, which #ifndef
 * cannot test, and Debian 12's 6.1 uapi header lacks 3-6. */
#define DFU_EMU_EVENT_CONNECT		1
#define DFU_EMU_EVENT_CONTROL		2
#define DFU_EMU_EVENT_SUSPEND		3
#define DFU_EMU_EVENT_RESUME		4
#define DFU_EMU_EVENT_RESET		5
#define DFU_EMU_EVENT_DISCONNECT	6

#define EP0_MAXPACKET		64
#define IO_MAX			65536
#define DT_DFU_FUNCTIONAL	0x21
#define CONFIG_VALUE		1
#define MAX_POWER		50	/* 100 mA, in 2 mA units */
#define STR_FIRST_ALT		4	/* 1-3: manufacturer, product, serial */
#define FUNC_DESC_MAX		528	/* longest block: --fuzz, duplicated */
#define DFU_PROTO_RUNTIME	0x01
#define REATTACH_DELAY_MS	200	/* off the bus this long on WillDetach */
#define FUZZ_OPEN_TRIES		20	/* --fuzz: raw_gadget failures in a row */

struct gadget {
	const struct gadget_config *cfg;
	struct dfu_model *m;
	int fd;
	int config;		/* bConfigurationValue, 0 = unconfigured */
	int ready_sent;
	uint8_t dev_desc[18];
	/* What follows the interface descriptor(s) in the configuration
	 * (func_len bytes, maybe 0) and what a class GET_DESCRIPTOR(0x21)
	 * answers (the first func_get_len bytes; 0: stall). */
	uint8_t func_desc[FUNC_DESC_MAX];
	size_t func_len, func_get_len;
	uint8_t conf_desc[9 + 9 * GADGET_MAX_NUM_ALTS + 7 + FUNC_DESC_MAX];
	size_t conf_len;
	uint8_t str_desc[2 + 2 * 126];
	uint8_t fuzz_str[256];	/* --fuzz: a broken string descriptor */
	struct usb_raw_ep_io *io;	/* IO_MAX bytes of data follow */
};

/* Fetched events: the header and the setup packet (a union, so that the
 * flexible array of usb_raw_event is not a struct member). */
static union {
	struct usb_raw_event ev;
	uint8_t raw[sizeof(struct usb_raw_event) +
		    sizeof(struct usb_ctrlrequest)];
} evbuf;

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = v & 0xff;
	p[1] = v >> 8;
}

/* EINTR ends it early: *stop is seen later. */
static void sleep_ms(uint32_t ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	if (ms)
		nanosleep(&ts, NULL);
}

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* Descriptor templates; the zeros at IDs and lengths are filled in below. */
static const uint8_t dev_tmpl[18] = {
	18, USB_DT_DEVICE, 0x00, 0x02,	/* bcdUSB 2.00 */
	0, 0, 0, EP0_MAXPACKET,		/* class in the interface */
	0, 0, 0, 0, 0, 0,		/* idVendor, idProduct, bcdDevice */
	1, 2, 3, 1,			/* strings, bNumConfigurations */
};
static const uint8_t qual_desc[10] = {
	10, USB_DT_DEVICE_QUALIFIER, 0x00, 0x02, 0, 0, 0, EP0_MAXPACKET, 1, 0,
};
static const uint8_t conf_tmpl[9] = {
	9, USB_DT_CONFIG, 0, 0, 1, CONFIG_VALUE, 0, 0x80, MAX_POWER,
};
/* Interface 0: class 0xfe, subclass 1, protocol 2 (DFU mode; --protocol
 * changes it) or 1 (run-time mode). */
static const uint8_t intf_tmpl[9] = {
	9, USB_DT_INTERFACE, 0, 0, 0, 0xfe, 0x01, 0x02, 0,
};

/* A --runtime device serving its DFU-mode descriptors (--dfu-serial,
 * --dfu-no-serial and --dfu-udc-* apply). */
static int dfu_side(const struct gadget *g)
{
	return g->m->cfg.runtime && !g->m->runtime_mode;
}

/* Alt settings the current descriptor set has: one in run-time mode. */
static unsigned n_alts(const struct gadget *g)
{
	return g->m->runtime_mode ? 1 : g->m->cfg.n_alts;
}

/* The functional descriptor block, as --func-desc wants it. */
static void build_func_desc(struct gadget *g)
{
	const struct gadget_config *c = g->cfg;
	uint8_t d[9], *f = g->func_desc;
	size_t n;

	d[0] = 9;
	d[1] = DT_DFU_FUNCTIONAL;
	d[2] = g->m->cfg.attrs;
	put16(d + 3, c->detach_timeout);
	put16(d + 5, g->m->cfg.transfer_size);
	put16(d + 7, c->dfu_version);

	if (c->fuzz) {
		g->func_len = fuzz_func_desc(f, FUNC_DESC_MAX, d,
					     &g->func_get_len);
		return;
	}
	memset(f, 0, FUNC_DESC_MAX);
	switch (c->func_desc) {
	case FUNC_DESC_NORMAL:
		memcpy(f, d, 9);
		g->func_len = g->func_get_len = 9;
		break;
	case FUNC_DESC_MISSING:		/* not even for GET_DESCRIPTOR */
		g->func_len = g->func_get_len = 0;
		break;
	case FUNC_DESC_LEN:
		n = c->func_desc_len;
		if (n == 0) {
			/* Just a header claiming length 0 (Linux gives up
			 * on the rest of the configuration there). */
			f[1] = DT_DFU_FUNCTIONAL;
			n = 2;
		} else {
			/* The first min(N, 9) real bytes, zeros after. */
			memcpy(f, d, n < 9 ? n : 9);
			f[0] = (uint8_t)n;
		}
		g->func_len = g->func_get_len = n;
		break;
	case FUNC_DESC_DUP:
		memcpy(f, d, 9);
		memcpy(f + 9, d, 9);
		put16(f + 9 + 5, 32);	/* the second one's wTransferSize */
		g->func_len = 18;
		g->func_get_len = 9;
		break;
	case FUNC_DESC_DUP_SAME:
		memcpy(f, d, 9);
		memcpy(f + 9, d, 9);
		g->func_len = 18;
		g->func_get_len = 9;
		break;
	case FUNC_DESC_V10:
		memcpy(f, d, 7);
		f[0] = 7;
		g->func_len = g->func_get_len = 7;
		break;
	}
}

/* The descriptor set of the model's current mode. */
static void build_descriptors(struct gadget *g)
{
	const struct gadget_config *c = g->cfg;
	int runtime = g->m->runtime_mode;
	uint8_t *d = g->dev_desc, *p;
	const uint8_t *func;
	unsigned i;

	if (g->m->apple) {	/* --apple: DFU or recovery mode */
		apple_device_desc(g->m->apple, d);
		g->conf_len = apple_config_desc(g->m->apple, g->conf_desc,
						&func, &g->func_len);
		if (g->func_len)
			memcpy(g->func_desc, func, g->func_len);
		g->func_get_len = g->func_len;
		return;
	}
	memcpy(d, dev_tmpl, sizeof(dev_tmpl));
	put16(d + 2, c->bcd_usb);	/* 1.00 on the STM32 ROM (--dfuse) */
	put16(d + 8, c->vid);
	/* --runtime: --pid in run-time mode, --dfu-pid in DFU mode. */
	put16(d + 10, g->m->cfg.runtime && !runtime ? c->dfu_pid : c->pid);
	put16(d + 12, c->bcd_device);
	if (dfu_side(g) && c->dfu_no_serial)
		d[16] = 0;			/* iSerialNumber: none */

	build_func_desc(g);

	/* DFU mode: one interface with one alt setting per memory target,
	 * each named by its iInterface (0 when the index would pass 255),
	 * and the functional descriptor after the last one, where real
	 * DFU-mode devices put it.  Run-time mode: one alt setting with
	 * protocol 1 and no name, the functional descriptor right after. */
	d = g->conf_desc;
	memcpy(d, conf_tmpl, sizeof(conf_tmpl));
	p = d + 9;
	for (i = 0; i < n_alts(g); i++, p += 9) {
		memcpy(p, intf_tmpl, sizeof(intf_tmpl));
		p[3] = (uint8_t)i;			/* bAlternateSetting */
		p[7] = runtime ? DFU_PROTO_RUNTIME : c->protocol;
		if (!runtime && STR_FIRST_ALT + i <= 255)
			p[8] = (uint8_t)(STR_FIRST_ALT + i);	/* iInterface */
	}
	memcpy(p, g->func_desc, g->func_len);
	p += g->func_len;
	if (c->endpoint) {
		/* --endpoint: bulk OUT 0x02 of the last alt setting, after
		 * its functional descriptor, never enabled; a DFU host must
		 * not take such an interface for DFU */
		static const uint8_t ep[7] = { 7, 5, 0x02, 0x02, 0x00, 0x02, 0 };
		uint8_t *last = p - g->func_len - 9;	/* last alt's */

		last[4] = 1;				/* bNumEndpoints */
		memcpy(p, ep, sizeof(ep));
		p += sizeof(ep);
	}
	g->conf_len = (size_t)(p - d);
	put16(d + 2, (uint16_t)g->conf_len);	/* wTotalLength */
}

/* String descriptor idx, or NULL to stall.  Text is taken as Latin-1. */
static const uint8_t *string_desc_text(struct gadget *g, unsigned idx,
				       size_t *len)
{
	char name[8];
	const char *s;
	size_t i, n;

	if (idx == 0) {
		static const uint8_t langs[] = { 4, USB_DT_STRING, 0x09, 0x04 };

		*len = sizeof(langs);
		return langs;
	}
	if (g->m->apple)
		s = apple_string(g->m->apple, idx);
	else if (idx == 1)
		s = g->cfg->manufacturer;
	else if (idx == 2)
		s = g->cfg->product;
	else if (idx == 3 && dfu_side(g) && g->cfg->dfu_no_serial)
		return NULL;
	else if (idx == 3 && dfu_side(g) && g->cfg->dfu_serial)
		s = g->cfg->dfu_serial;
	else if (idx == 3)
		s = g->cfg->serial;
	else if (idx - STR_FIRST_ALT < g->m->cfg.n_alts && g->cfg->fuzz &&
		 fuzz_alt_name(idx - STR_FIRST_ALT))
		s = fuzz_alt_name(idx - STR_FIRST_ALT);	/* DfuSe layouts */
	else if (idx - STR_FIRST_ALT < g->m->cfg.n_alts && g->cfg->num_alts) {
		snprintf(name, sizeof(name), "alt%u", idx - STR_FIRST_ALT);
		s = name;	/* --alts N */
	} else if (idx - STR_FIRST_ALT < g->m->cfg.n_alts)
		s = g->cfg->alt_names[idx - STR_FIRST_ALT];
	else
		return NULL;
	if (!s)
		return NULL;
	n = strlen(s);
	if (idx == 3 && g->cfg->serial_raw &&
	    !(dfu_side(g) && g->cfg->dfu_serial)) {
		/* --dfuse gd32vf103: the ROM sends its serial's bytes as
		 * they are, which a host reads as UTF-16 */
		if (n > sizeof(g->str_desc) - 2)
			n = sizeof(g->str_desc) - 2;
		g->str_desc[0] = (uint8_t)(2 + n);
		g->str_desc[1] = USB_DT_STRING;
		memcpy(g->str_desc + 2, s, n);
		*len = 2 + n;
		return g->str_desc;
	}
	if (n > 126)
		n = 126;
	g->str_desc[0] = (uint8_t)(2 + 2 * n);
	g->str_desc[1] = USB_DT_STRING;
	for (i = 0; i < n; i++)
		put16(g->str_desc + 2 + 2 * i, (uint8_t)s[i]);
	*len = 2 + 2 * n;
	return g->str_desc;
}

/* The string descriptor as sent: --fuzz breaks some. */
static const uint8_t *string_desc(struct gadget *g, unsigned idx, size_t *len)
{
	const uint8_t *d = string_desc_text(g, idx, len);

	if (g->cfg->fuzz)
		fuzz_string(idx, &d, len, g->fuzz_str);
	return d;
}

static int ep0_io(struct gadget *g, unsigned long op, size_t len,
		  uint16_t flags)
{
	int rv;

	g->io->ep = 0;
	g->io->flags = flags;
	g->io->length = (uint32_t)len;
	rv = ioctl(g->fd, op, g->io);
	if (rv < 0) {
		int err = errno;

		emu_log("ep0 %s of %zu bytes failed: %s",
			op == USB_RAW_IOCTL_EP0_WRITE ? "write" : "read", len,
			strerror(err));
		/*
		 * A reset or disconnect that beats the reply makes the UDC
		 * refuse it (usb_ep_queue() fails with ESHUTDOWN), and then
		 * raw_gadget keeps the request pending and stalls every later
		 * SETUP: the device would never enumerate again. A stall
		 * drops the request. Where the request was queued and ended
		 * with ESHUTDOWN instead, nothing is pending and the stall
		 * fails with EBUSY, harmlessly.
		 */
		if (err == ESHUTDOWN)
			ioctl(g->fd, USB_RAW_IOCTL_EP0_STALL, 0);
		errno = err;
	}
	return rv;
}

static void ep0_ack(struct gadget *g)
{
	ep0_io(g, USB_RAW_IOCTL_EP0_READ, 0, 0);
}

static void ep0_stall(struct gadget *g)
{
	if (ioctl(g->fd, USB_RAW_IOCTL_EP0_STALL, 0) < 0)
		emu_log("ep0 stall failed: %s", strerror(errno));
}

/* IN data stage of at most wLength bytes. */
static void ep0_reply(struct gadget *g, const void *data, size_t len,
		      uint16_t wLength)
{
	uint16_t flags = 0;

	if (wLength == 0) {	/* raw_gadget sees no IN data stage */
		ep0_ack(g);
		return;
	}
	if (len > wLength)
		len = wLength;
	/* A short reply ending on a full packet needs a ZLP, or the host
	 * waits for more data until its URB times out. */
	if (len < wLength && len > 0 && len % EP0_MAXPACKET == 0)
		flags = USB_RAW_IO_FLAGS_ZERO;
	memcpy(g->io->data, data, len);
	ep0_io(g, USB_RAW_IOCTL_EP0_WRITE, len, flags);
}

static void notify(struct gadget *g, unsigned events)
{
	if (events && g->cfg->on_events)
		g->cfg->on_events(g->cfg->ctx, events);
}

static void get_descriptor(struct gadget *g, const struct usb_ctrlrequest *c,
			   uint16_t wValue, uint16_t wLength)
{
	const uint8_t *d = NULL;
	size_t len = 0;

	switch (wValue >> 8) {
	case USB_DT_DEVICE:
		d = g->dev_desc;
		len = sizeof(g->dev_desc);
		break;
	case USB_DT_CONFIG:
		if ((wValue & 0xff) == 0) {
			d = g->conf_desc;
			len = g->conf_len;
		}
		break;
	case USB_DT_STRING:
		d = string_desc(g, wValue & 0xff, &len);
		break;
	case USB_DT_DEVICE_QUALIFIER:	/* only a high-speed device has one */
		if (g->cfg->high_speed) {
			d = qual_desc;
			len = sizeof(qual_desc);
		}
		break;
	case DT_DFU_FUNCTIONAL:		/* dfu-util's fallback */
		if (g->func_get_len) {
			d = g->func_desc;
			len = g->func_get_len;
		}
		break;
	}
	if (!d || !(c->bRequestType & USB_DIR_IN)) {
		emu_log("stall GET_DESCRIPTOR 0x%04x", wValue);
		ep0_stall(g);
		return;
	}
	ep0_reply(g, d, len, wLength);
}

/* Returns 0, or GADGET_DISCONNECT when --fuzz vanishes after it. */
static int standard_request(struct gadget *g, const struct usb_ctrlrequest *c,
			    uint16_t wValue, uint16_t wIndex, uint16_t wLength)
{
	static const uint8_t zero2[2];
	uint8_t b;

	switch (c->bRequest) {
	case USB_REQ_GET_DESCRIPTOR:
		get_descriptor(g, c, wValue, wLength);
		return 0;
	case USB_REQ_SET_CONFIGURATION:
		if (wValue == CONFIG_VALUE) {
			if (ioctl(g->fd, USB_RAW_IOCTL_VBUS_DRAW, MAX_POWER) < 0 ||
			    ioctl(g->fd, USB_RAW_IOCTL_CONFIGURE, 0) < 0) {
				emu_log("configure failed: %s",
					strerror(errno));
				ep0_stall(g);
				return 0;
			}
		} else if (wValue != 0) {
			break;
		}
		g->config = wValue;
		g->m->alt = 0;	/* a new configuration starts at alt 0 */
		ep0_ack(g);
		emu_log("SET_CONFIGURATION %u", wValue);
		if (wValue && !g->ready_sent) {
			g->ready_sent = 1;
			notify(g, GADGET_EV_CONFIGURED);
		}
		if (g->cfg->fuzz && wValue && fuzz_vanish_after_configure())
			return GADGET_DISCONNECT;
		return 0;
	case USB_REQ_GET_CONFIGURATION:
		b = (uint8_t)g->config;
		ep0_reply(g, &b, 1, wLength);
		return 0;
	case USB_REQ_SET_INTERFACE:
		if (wIndex != 0 || wValue >= n_alts(g))
			break;
		notify(g, model_set_interface(g->m, wValue));
		ep0_ack(g);
		emu_log("SET_INTERFACE alt %u", wValue);
		return 0;
	case USB_REQ_GET_INTERFACE:
		if (wIndex != 0)
			break;
		b = (uint8_t)g->m->alt;
		ep0_reply(g, &b, 1, wLength);
		return 0;
	case USB_REQ_GET_STATUS:	/* dummy_hcd answers it itself */
		ep0_reply(g, zero2, 2, wLength);
		return 0;
	}
	emu_log("stall standard request %02x %02x", c->bRequestType,
		c->bRequest);
	ep0_stall(g);
	return 0;
}

/* A DFU class request; returns 0 to go on, else GADGET_DISCONNECT (the
 * emulator must vanish) or GADGET_REATTACH (leave and come back). */
static int dfu_request(struct gadget *g, const struct usb_ctrlrequest *c,
		       uint16_t wValue, uint16_t wIndex, uint16_t wLength)
{
	struct model_result r;
	int n;

	model_request(g->m, c->bRequestType, c->bRequest, wValue, wIndex,
		      wLength, now_us(), &r);
	if (g->cfg->fuzz)
		fuzz_class_reply(&r, c->bRequestType, c->bRequest, wLength);
	notify(g, r.events);
	sleep_ms(r.delay_ms);
	switch (r.action) {
	case MODEL_ACK:
		ep0_ack(g);
		break;
	case MODEL_STALL:
		ep0_stall(g);
		break;
	case MODEL_REPLY:
		ep0_reply(g, r.data, r.len, wLength);
		break;
	case MODEL_NEED_DATA:
		/* The model only changes state once the data is in. */
		n = ep0_io(g, USB_RAW_IOCTL_EP0_READ, r.len, 0);
		if (n >= 0) {
			model_data(g->m, g->io->data, (size_t)n, &r);
			notify(g, r.events);
		}
		break;
	case MODEL_DISCONNECT:
		return GADGET_DISCONNECT;
	}
	/* answered: now leave the bus (DETACH, manifestation) */
	return r.events & MODEL_EV_REATTACH ? GADGET_REATTACH : 0;
}

/* Returns 0, or the gadget_exit that ends the session. */
static int control(struct gadget *g, const struct usb_ctrlrequest *c)
{
	uint16_t wValue = le16toh(c->wValue), wIndex = le16toh(c->wIndex);
	uint16_t wLength = le16toh(c->wLength);
	uint8_t type = c->bRequestType & USB_TYPE_MASK;
	uint8_t recip = c->bRequestType & USB_RECIP_MASK;
	uint32_t delay_ms;

	if (g->cfg->fuzz) {
		switch (fuzz_control(c, &delay_ms)) {
		case FUZZ_VANISH:
			return GADGET_DISCONNECT;
		case FUZZ_STALL:
			ep0_stall(g);
			return 0;
		case FUZZ_GO:
			sleep_ms(delay_ms);
			break;
		}
	}
	if (type == USB_TYPE_STANDARD) {
		return standard_request(g, c, wValue, wIndex, wLength);
	} else if (type == USB_TYPE_CLASS && recip == USB_RECIP_INTERFACE) {
		/* 0xA1/6 is GET_DESCRIPTOR; DFU's bRequest 6 (ABORT) is OUT. */
		if ((c->bRequestType & USB_DIR_IN) &&
		    c->bRequest == USB_REQ_GET_DESCRIPTOR)
			get_descriptor(g, c, wValue, wLength);
		else
			return dfu_request(g, c, wValue, wIndex, wLength);
	} else {
		emu_log("stall request %02x %02x", c->bRequestType,
			c->bRequest);
		ep0_stall(g);
	}
	return 0;
}

/* On the UDC of the current mode (--dfu-udc-* in DFU mode). */
static int gadget_open(struct gadget *g)
{
	const struct gadget_config *c = g->cfg;
	const char *driver = c->udc_driver, *device = c->udc_device;
	struct usb_raw_init init;

	if (dfu_side(g) && c->dfu_udc_driver)
		driver = c->dfu_udc_driver;
	if (dfu_side(g) && c->dfu_udc_device)
		device = c->dfu_udc_device;
	emu_log("on UDC %s (%s)", device, driver);
	if (strlen(driver) >= UDC_NAME_LENGTH_MAX ||
	    strlen(device) >= UDC_NAME_LENGTH_MAX) {
		fprintf(stderr, "dfu-emu: UDC name too long\n");
		return -1;
	}
	g->fd = open("/dev/raw-gadget", O_RDWR);
	if (g->fd < 0) {
		perror("dfu-emu: /dev/raw-gadget");
		return -1;
	}
	memset(&init, 0, sizeof(init));
	strcpy((char *)init.driver_name, driver);
	strcpy((char *)init.device_name, device);
	init.speed = c->high_speed ? USB_SPEED_HIGH : USB_SPEED_FULL;
	if (ioctl(g->fd, USB_RAW_IOCTL_INIT, &init) < 0) {
		perror("dfu-emu: USB_RAW_IOCTL_INIT");
		return -1;
	}
	if (ioctl(g->fd, USB_RAW_IOCTL_RUN, 0) < 0) {
		perror("dfu-emu: USB_RAW_IOCTL_RUN (is the UDC there?)");
		return -1;
	}
	return 0;
}

static enum gadget_exit event_loop(struct gadget *g)
{
	const struct gadget_config *c = g->cfg;
	struct usb_ctrlrequest ctrl;
	unsigned events;
	int rv;

	for (;;) {
		*c->fetch_waiting = 1;
		if (*c->stop) {
			*c->fetch_waiting = 0;
			return GADGET_STOPPED;
		}
		/* --fuzz: the session timer ran out (a race with the signal
		 * only makes the session last until the next event). */
		if (c->session_over && *c->session_over) {
			*c->fetch_waiting = 0;
			*c->session_over = 0;
			emu_log("fuzz: session over");
			return GADGET_DISCONNECT;
		}
		evbuf.ev.type = 0;
		evbuf.ev.length = sizeof(ctrl);
		rv = ioctl(g->fd, USB_RAW_IOCTL_EVENT_FETCH, &evbuf.ev);
		*c->fetch_waiting = 0;
		if (rv < 0) {
			if (errno == EINTR)
				continue;
			perror("dfu-emu: USB_RAW_IOCTL_EVENT_FETCH");
			return GADGET_FAILED;
		}
		switch (evbuf.ev.type) {
		case DFU_EMU_EVENT_CONNECT:
			emu_log("connected");
			break;
		case DFU_EMU_EVENT_CONTROL:
			memcpy(&ctrl, evbuf.ev.data, sizeof(ctrl));
			rv = control(g, &ctrl);
			if (rv)
				return (enum gadget_exit)rv;
			break;
		case DFU_EMU_EVENT_RESET:
		case DFU_EMU_EVENT_DISCONNECT:
			emu_log("USB %s in state %d", evbuf.ev.type ==
				DFU_EMU_EVENT_RESET ? "reset" : "disconnect",
				g->m->state);
			g->config = 0;
			events = model_usb_reset(g->m, evbuf.ev.type ==
						 DFU_EMU_EVENT_DISCONNECT,
						 now_us());
			/* Mode switch: the host re-reads the descriptors after
			 * the reset, sees them changed and re-enumerates. */
			if (events & MODEL_EV_MODE)
				build_descriptors(g);
			notify(g, events);
			/* --apple: the ROM leaves the bus after a reset in
			 * dfuMANIFEST-WAIT-RESET and comes back as another
			 * device (model_reattach()) */
			if (events & MODEL_EV_REATTACH)
				return GADGET_REATTACH;
			break;
		case DFU_EMU_EVENT_SUSPEND:
		case DFU_EMU_EVENT_RESUME:
			emu_log("USB %s", evbuf.ev.type ==
				DFU_EMU_EVENT_SUSPEND ? "suspend" : "resume");
			if (evbuf.ev.type == DFU_EMU_EVENT_SUSPEND)
				notify(g, model_suspend(g->m));
			break;
		default:
			emu_log("unknown raw_gadget event %u",
				evbuf.ev.type);
			break;
		}
	}
}

enum gadget_exit gadget_run(const struct gadget_config *cfg,
			    struct dfu_model *m)
{
	struct timespec reattach_delay;
	unsigned away_ms;
	struct gadget g;
	enum gadget_exit ret = GADGET_FAILED;
	unsigned open_failures = 0;

	memset(&g, 0, sizeof(g));
	g.cfg = cfg;
	g.m = m;
	g.fd = -1;
	g.io = malloc(sizeof(*g.io) + IO_MAX);
	if (!g.io) {
		perror("dfu-emu: malloc");
		return GADGET_FAILED;
	}
	for (;;) {
		/* not after a failed open: the same device tries again */
		if (cfg->on_session && !open_failures)
			cfg->on_session(cfg->ctx);
		build_descriptors(&g);
		ret = GADGET_FAILED;
		if (gadget_open(&g) == 0) {
			open_failures = 0;
			ret = event_loop(&g);
		} else {
			open_failures++;
		}
		if (g.fd >= 0)
			close(g.fd);	/* the host sees an unplug */
		g.fd = -1;
		if (cfg->fuzz && ret != GADGET_STOPPED &&
		    open_failures < FUZZ_OPEN_TRIES) {
			/* Every end of a session is a disconnect; come
			 * back after a random pause as another device. */
			/* The UDC may still be held by the last run: a fixed
			 * pause, since the number of tries is not the seed's. */
			if (!open_failures)
				fuzz_count_disconnect();
			sleep_ms(open_failures ? REATTACH_DELAY_MS :
				 fuzz_pause_ms());
			if (*cfg->stop) {
				ret = GADGET_STOPPED;
				break;
			}
			if (!open_failures)
				fuzz_count_reconnect();
			g.config = 0;
			g.ready_sent = 0;
			continue;
		}
		if (ret != GADGET_REATTACH)
			break;
		/* WillDetach (or a reset after DETACH with --reenum-ms or
		 * --dfu-udc-*): off the bus for a moment, then a new session
		 * with the DFU-mode descriptors, on the DFU-mode UDC (--apple:
		 * as the device the ROM comes back as).  --reenum-ms: how
		 * long, on the way from run-time to DFU mode. */
		if (m->runtime_mode && m->cfg.runtime && cfg->reenum_ms >= 0)
			away_ms = (unsigned)cfg->reenum_ms;
		else
			away_ms = cfg->reattach_ms ? cfg->reattach_ms :
				  REATTACH_DELAY_MS;
		reattach_delay.tv_sec = away_ms / 1000;
		reattach_delay.tv_nsec = (away_ms % 1000) * 1000000L;
		emu_log("off the bus for %u ms", away_ms);
		nanosleep(&reattach_delay, NULL);	/* EINTR: see *stop */
		if (*cfg->stop) {
			ret = GADGET_STOPPED;
			break;
		}
		g.config = 0;
		notify(&g, model_reattach(m));
	}
	free(g.io);
	return ret;
}
