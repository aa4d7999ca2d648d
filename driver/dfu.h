/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dfu.h - private types of the USB DFU class driver
 *
 * Data flows one way: chardev.c (files, byte streams) calls proto.c (DFU
 * requests and the host side of the state machine), which talks to usbcore.
 * usb.c owns the lifetime of struct dfu_dev; sysfs.c only reads it.
 */

#ifndef _DFU_H
#define _DFU_H

#include <linux/cdev.h>
#include <linux/completion.h>
#include <linux/device.h>
#include <linux/ktime.h>
#include <linux/mutex.h>
#include <linux/usb.h>
#include <uapi/linux/usb/dfu.h>

#include "compat.h"

/* DFU class-specific requests, DFU 1.1 section 3, table 3.2 */
#define DFU_DETACH		0
#define DFU_DNLOAD		1
#define DFU_UPLOAD		2
#define DFU_GETSTATUS		3
#define DFU_CLRSTATUS		4
#define DFU_GETSTATE		5
#define DFU_ABORT		6

#define DFU_GETSTATUS_LEN	6

/* DFU file suffix, DFU 1.1 appendix B: 16 bytes, bLength up to 255 */
#define DFU_SUFFIX_LEN		16
#define DFU_SUFFIX_MAX		255
#define DFU_MAX_DEVICES		256

/* quirks: how a device deviates from DFU 1.1 (quirks.c) */
#define DFU_QUIRK_POLL_5MS	BIT(0)	/* bwPollTimeout is bogus: wait 5 ms */
#define DFU_QUIRK_IGNORE	BIT(1)	/* the interface speaks another protocol */
#define DFU_QUIRK_FORCE_DFU	BIT(2)	/* DFU mode whatever bInterfaceProtocol says */
#define DFU_QUIRK_VERSION_1_1	BIT(3)	/* bcdDFUVersion is wrong: DFU 1.1 */
#define DFU_QUIRK_NO_UPLOAD	BIT(4)	/* DFU_UPLOAD is broken */

/* bits of dfu_dev.flags */
#define DFU_FLAG_GONE		0	/* disconnect() has started */

/**
 * struct dfu_functional_desc - the DFU functional descriptor (DFU 1.1, 4.1.3)
 * @bLength: 9 for DFU 1.1, 7 for DFU 1.0 (no @bcdDFUVersion)
 * @bDescriptorType: USB_DT_DFU_FUNCTIONAL
 * @bmAttributes: DFU_ATTR_* bits
 * @wDetachTimeOut: ms the device waits for a reset after DFU_DETACH
 * @wTransferSize: maximum bytes per DFU_DNLOAD or DFU_UPLOAD
 * @bcdDFUVersion: DFU release the device follows
 */
struct dfu_functional_desc {
	u8 bLength;
	u8 bDescriptorType;
	u8 bmAttributes;
	__le16 wDetachTimeOut;
	__le16 wTransferSize;
	__le16 bcdDFUVersion;
} __packed;

/* DFU 1.0's functional descriptor ends before bcdDFUVersion */
#define DFU_FUNC_DESC_LEN_1_0	7

/**
 * struct dfu_dev - one DFU interface, published as /dev/dfuN
 * @udev: the USB device (referenced)
 * @intf: the DFU interface (referenced: the reset ioctls use it without
 *	io_mutex, and usb_lock_device_for_reset() fails once it is unbound)
 * @dev: the class device dfuN; its refcount owns this structure
 * @cdev: the character device
 * @id: N in dfuN, from the driver's IDA
 * @flags: DFU_FLAG_* bits, set without @io_mutex
 * @info: descriptor fields and settings reported by DFU_IOCTL_GET_INFO
 * @alt_names: iInterface string of each alternate setting ("" for none),
 *	in the order of the interface's altsetting array
 * @alt_nums: bAlternateSetting of each, in the same order (numbers may
 *	have gaps)
 * @quirks: DFU_QUIRK_* flags of the device
 * @io_mutex: serialises every request to the device and guards the
 *	fields below it
 * @urb: the control URB every DFU request uses, killed by disconnect()
 * @setup: the URB's setup packet
 * @buf: wTransferSize bytes, DMA-safe: the block being downloaded or uploaded
 * @sbuf: small DMA-safe buffer for DFU_GETSTATUS and DFU_GETSTATE
 * @done: completed by the URB's completion handler
 * @done_time: when the URB completed; poll waits are measured from it
 * @status: the device's last answer to DFU_GETSTATUS
 * @owner: the open file whose download or upload is in progress, or NULL
 * @has_writer: a file is open for writing
 * @result: outcome of the last download or upload
 */
struct dfu_dev {
	struct usb_device *udev;
	struct usb_interface *intf;
	struct device dev;
	struct cdev cdev;
	int id;
	unsigned long flags;
	struct dfu_info info;
	char **alt_names;
	u8 *alt_nums;
	u32 quirks;

	struct mutex io_mutex;	/* serialises requests, guards what follows */
	struct urb *urb;
	struct usb_ctrlrequest *setup;
	u8 *buf;
	u8 *sbuf;
	struct completion done;
	ktime_t done_time;
	struct dfu_status status;
	struct dfu_file *owner;
	bool has_writer;
	struct dfu_result result;
};

/**
 * enum dfu_xfer - where an open file's download or upload stands
 * @DFU_XFER_NONE: nothing sent yet
 * @DFU_XFER_ACTIVE: blocks are being transferred
 * @DFU_XFER_DONE: finished; an upload reads EOF
 * @DFU_XFER_FAILED: failed or aborted; writes return @dfu_file.error
 */
enum dfu_xfer {
	DFU_XFER_NONE,
	DFU_XFER_ACTIVE,
	DFU_XFER_DONE,
	DFU_XFER_FAILED,
};

/**
 * struct dfu_file - per-open state
 * @dfu: the device (a reference is held while the file is open)
 * @xfer: where the transfer stands
 * @upload: the transfer is an upload (read), not a download (write)
 * @error: the errno a failed transfer returns from later calls
 * @told: a call has returned @error to the file's user
 * @in_call: a read() or write() on this file is under way (it may drop
 *	io_mutex between blocks); other calls on the file wait their turn
 * @eof: upload: the device sent its short last block; what is left in
 *	dfu_dev.buf is the end of the image
 * @pos: bytes of the stream consumed (download) or returned (upload)
 * @block: index of the next block, not wrapped
 * @fill: download: bytes waiting in dfu_dev.buf; upload: bytes in it
 * @head: upload: bytes of dfu_dev.buf already returned
 * @sent: download: bytes the device has taken
 * @guard: download: hold back a possible DFU suffix and check it at the end
 * @crc: download: CRC-32 of the bytes sent so far, as the suffix's dwCRC
 * @tail_len: download: bytes held back in @tail
 * @tail: download: the stream's last bytes, which may be a DFU suffix
 * @start: when the first request of the transfer was sent
 * @writer_tgid: thread group of the process that wrote last
 */
struct dfu_file {
	struct dfu_dev *dfu;
	enum dfu_xfer xfer;
	bool upload;
	int error;
	bool told;
	bool in_call;
	bool eof;
	loff_t pos;
	u32 block;
	u32 fill;
	u32 head;
	u64 sent;
	bool guard;
	u32 crc;
	u32 tail_len;
	u8 tail[DFU_SUFFIX_MAX];
	ktime_t start;
	pid_t writer_tgid;
};

/*
 * ST's DfuSe (bcdDFUVersion 0x011a) reads DFU_DNLOAD block 0 as a command
 * (erase, read-unprotect): plain DFU transfers must never reach it.
 */
#define DFU_VERSION_DFUSE	0x011a

static inline bool dfu_is_dfuse(struct dfu_dev *dfu)
{
	return dfu->info.bcdDFUVersion == DFU_VERSION_DFUSE;
}

static inline bool dfu_gone(struct dfu_dev *dfu)
{
	return test_bit(DFU_FLAG_GONE, &dfu->flags);
}

/* desc.c */
int dfu_parse_descriptors(struct dfu_dev *dfu, struct usb_interface *intf);
int dfu_read_alt_names(struct dfu_dev *dfu, struct usb_interface *intf);
void dfu_free_alt_names(struct dfu_dev *dfu);
int dfu_set_alt(struct dfu_dev *dfu, unsigned int alt);

/* quirks.c */
u32 dfu_quirks(struct usb_device *udev);

/* proto.c */
int dfu_get_status(struct dfu_dev *dfu, struct dfu_status *st);
int dfu_get_state(struct dfu_dev *dfu, u8 *state);
int dfu_clear_status(struct dfu_dev *dfu);
int dfu_abort(struct dfu_dev *dfu);
int dfu_prepare(struct dfu_dev *dfu);
int dfu_download_block(struct dfu_dev *dfu, u32 block, u16 len);
int dfu_manifest(struct dfu_dev *dfu, u32 block);
int dfu_upload_block(struct dfu_dev *dfu, u32 block);
int dfu_end_upload(struct dfu_dev *dfu);
int dfu_detach(struct dfu_dev *dfu, u32 timeout_ms);
const char *dfu_state_name(u8 state);
const char *dfu_status_name(u8 status);

/* chardev.c */
int dfu_chardev_init(void);
void dfu_chardev_exit(void);
void dfu_chardev_setup(struct dfu_dev *dfu);
int dfu_chardev_add(struct dfu_dev *dfu);
void dfu_chardev_del(struct dfu_dev *dfu);
void dfu_abandon(struct dfu_dev *dfu);

/* usb.c */
void dfu_release_dev(struct device *dev);
int dfu_usb_reset(struct dfu_dev *dfu);

/* sysfs.c */
extern const struct attribute_group *dfu_groups[];

/* usb.c: module parameters */
extern unsigned int dfu_ctrl_timeout_ms;
extern unsigned int dfu_busy_timeout_ms;
extern unsigned int dfu_max_poll_ms;
extern bool dfu_suffix_guard;
extern bool dfu_bind_runtime;

#endif /* _DFU_H */
