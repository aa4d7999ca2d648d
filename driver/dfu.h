/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dfu.h - private types of the USB DFU class driver
 *
 * Data flows one way: chardev.c (file operations) calls stream.c (one
 * download or upload: blocks, commit policy, result; suffix.c checks a DFU
 * suffix; dfuse.c speaks ST's DfuSe, apple.c Apple's SecureROM), which
 * calls states.c (the host side of the DFU state machine),
 * which sends proto.c's DFU requests to usbcore. usb.c owns the lifetime
 * of struct dfu_dev; sysfs.c only reads it.
 */

#ifndef _DFU_H
#define _DFU_H

#include <linux/cdev.h>
#include <linux/completion.h>
#include <linux/device.h>
#include <linux/ktime.h>
#include <linux/mutex.h>
#include <linux/spinlock.h>
#include <linux/usb.h>
#include <linux/wait.h>
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

/* DFU 1.0's functional descriptor ends before bcdDFUVersion */
#define DFU_FUNC_DESC_LEN_1_0	7

/*
 * ST's DfuSe (bcdDFUVersion 0x011a) reads DFU_DNLOAD block 0 as a command
 * (erase, read-unprotect): plain DFU transfers must never reach it.
 */
#define DFU_VERSION_DFUSE	0x011a

/* quirks: how a device deviates from DFU 1.1 (quirks.c) */
#define DFU_QUIRK_POLL_5MS	BIT(0)	/* bwPollTimeout is bogus: wait 5 ms */
#define DFU_QUIRK_IGNORE	BIT(1)	/* the interface speaks another protocol */
#define DFU_QUIRK_FORCE_DFU	BIT(2)	/* DFU mode whatever bInterfaceProtocol says */
#define DFU_QUIRK_VERSION_1_1	BIT(3)	/* bcdDFUVersion is wrong: DFU 1.1 */
#define DFU_QUIRK_NO_UPLOAD	BIT(4)	/* DFU_UPLOAD is broken */
#define DFU_QUIRK_DFUSE		BIT(5)	/* ST DfuSe, whatever bcdDFUVersion says */
#define DFU_QUIRK_APPLE		BIT(6)	/* Apple's SecureROM, in its DFU-mode shape */
#define DFU_QUIRK_ENDPOINTS	BIT(7)	/* DFU although the interface has endpoints */

/* DfuSe memory-layout permissions: the type letter & 7 (UM0424 4.3.2) */
#define DFUSE_READ		BIT(0)
#define DFUSE_ERASE		BIT(1)
#define DFUSE_WRITE		BIT(2)
#define DFUSE_ANY		(DFUSE_READ | DFUSE_ERASE | DFUSE_WRITE)
/* dfuse.next_block of a run that a short block ended: beyond wBlockNum */
#define DFUSE_RUN_ENDED		0x10000
/* Runs of equal sectors kept per device, all alt settings together */
#define DFUSE_MAX_SEGS		64
/* Sectors whose erasure is tracked per device (a 8 KiB bitmap) */
#define DFUSE_MAX_SECTORS	65536

/* bits of dfu_dev.flags */
#define DFU_FLAG_GONE		0	/* disconnect() has started */
#define DFU_FLAG_RESET		1	/* manifested: reset the device after the call */
#define DFU_FLAG_RESETTING	2	/* between pre_reset() and post_reset() */

/* dfu_dev.seen_state and seen_status before the device said anything */
#define DFU_UNKNOWN		(-1)

/**
 * struct dfuse_seg - a run of equal sectors in a DfuSe memory map
 * @start: address of the first sector
 * @size: bytes per sector, not 0
 * @count: sectors, not 0
 * @first: bit of the first sector in dfuse.erased
 * @perm: DFUSE_* bits
 */
struct dfuse_seg {
	u32 start;
	u32 size;
	u32 count;
	u32 first;
	u8 perm;
};

/**
 * enum dfuse_run - what the device's address pointer is set up for
 * @DFUSE_RUN_NONE: nothing: the next block needs a Set Address
 * @DFUSE_RUN_DOWN: download blocks from dfuse.next_block at next_addr
 * @DFUSE_RUN_UP: upload blocks likewise; the device is in dfuUPLOAD-IDLE
 */
enum dfuse_run {
	DFUSE_RUN_NONE,
	DFUSE_RUN_DOWN,
	DFUSE_RUN_UP,
};

/**
 * struct dfuse - the DfuSe side of a device (dfuse_map.c, dfuse.c)
 * @segs: the memory maps of all alt settings, each sorted by address
 * @n_segs: entries in @segs
 * @n_sectors: sectors in @segs, bits in @erased
 * @erased: sectors the running download has erased
 * @run: what the address pointer is set up for; with @next_addr and
 *	@next_block guarded by io_mutex
 * @next_addr: the address the next block of the run is at
 * @next_block: its wBlockNum; DFUSE_RUN_ENDED after a short block
 * @low: the lowest address the running download has written
 * @wrote: the running download has written a block
 * @commands: the DfuSe command list (UPLOAD block 0), once read
 * @n_commands: bytes in @commands
 * @have_commands: @commands has been read
 * @tried_commands: dfu_dfuse_learn() has tried to read them
 * @leave: leave DFU mode after a download (sysfs dfuse_leave), read and
 *	written with READ_ONCE() and WRITE_ONCE()
 * @alt_seg: per alt setting (in alt_names order), its first entry in
 *	@segs; one more entry holds @n_segs
 */
struct dfuse {
	struct dfuse_seg segs[DFUSE_MAX_SEGS];
	unsigned int n_segs;
	unsigned int n_sectors;
	unsigned long *erased;
	enum dfuse_run run;
	u32 next_addr;
	u32 next_block;
	u32 low;
	bool wrote;
	u8 commands[16];
	u8 n_commands;
	bool have_commands;
	bool tried_commands;
	bool leave;
	u16 alt_seg[];
};

/**
 * struct dfu_dev - one DFU interface, published as /dev/dfuN
 * @udev: the USB device (referenced)
 * @intf: the DFU interface (referenced: the reset ioctls use it without
 *	io_mutex, and usb_lock_device_for_reset() fails once it is unbound)
 * @dev: the class device dfuN; its refcount owns this structure
 * @cdev: the character device
 * @id: N in dfuN, from the driver's IDA
 * @flags: DFU_FLAG_* bits, set without any lock
 * @info: descriptor fields, fixed at probe (bAlternateSetting and commit
 *	are a file's own, filled in by USB_DFU_IOCTL_GET_INFO)
 * @alt_names: iInterface string of each alternate setting ("" for none),
 *	in the order of the interface's altsetting array
 * @alt_nums: bAlternateSetting of each, in the same order (numbers may
 *	have gaps)
 * @quirks: DFU_QUIRK_* flags of the device
 * @dfuse: the memory maps and state of a DfuSe device, else NULL
 * @runtime_vid: idVendor of the run-time device the driver detached on
 *	this USB port (a DFU suffix may carry it), valid if @has_runtime_id
 * @runtime_pid: its idProduct
 * @has_runtime_id: such a device was seen
 * @def_alt: bAlternateSetting of files opened from now on (sysfs alt),
 *	read and written with READ_ONCE() and WRITE_ONCE()
 * @def_commit: commit policy of files opened from now on (sysfs commit),
 *	likewise
 * @wait: woken by disconnect(); poll waits and poll() sleep on it
 * @seen_state: the last bState the device reported, or DFU_UNKNOWN; what
 *	sysfs shows, written under io_mutex, read with READ_ONCE()
 * @seen_status: the last bStatus, likewise
 * @lock: guards @has_writer and @result, which are read without io_mutex
 * @has_writer: a file is open for writing
 * @result: outcome of the last download or upload
 * @io_mutex: serialises every request to the device and guards the
 *	fields below it
 * @urb: the control URB every DFU request uses, killed by disconnect()
 * @setup: the URB's setup packet
 * @buf: wTransferSize + DFU_SUFFIX_MAX bytes, DMA-safe: the blocks being
 *	downloaded, with the held-back tail, or the block being uploaded
 * @sbuf: small DMA-safe buffer for DFU_GETSTATUS and DFU_GETSTATE
 * @done: completed by the URB's completion handler
 * @done_time: when the URB completed; poll waits are measured from it
 * @status: the device's last answer to DFU_GETSTATUS
 * @owner: the stream whose download or upload is in progress, or NULL
 */
struct dfu_dev {
	struct usb_device *udev;
	struct usb_interface *intf;
	struct device dev;
	struct cdev cdev;
	int id;
	unsigned long flags;
	struct usb_dfu_info info;
	char **alt_names;
	u8 *alt_nums;
	u32 quirks;
	struct dfuse *dfuse;
	u16 runtime_vid;
	u16 runtime_pid;
	bool has_runtime_id;
	u8 def_alt;
	u8 def_commit;
	wait_queue_head_t wait;
	int seen_state;
	int seen_status;

	spinlock_t lock;	/* guards has_writer and result */
	bool has_writer;
	struct usb_dfu_result result;

	struct mutex io_mutex;	/* serialises requests, guards what follows */
	struct urb *urb;
	struct usb_ctrlrequest *setup;
	u8 *buf;
	u8 *sbuf;
	struct completion done;
	ktime_t done_time;
	struct usb_dfu_status status;
	struct dfu_stream *owner;
};

/**
 * enum dfu_xfer - where a stream's download or upload stands
 * @DFU_XFER_NONE: nothing sent yet
 * @DFU_XFER_ACTIVE: blocks are being transferred
 * @DFU_XFER_DONE: finished; an upload reads EOF, a write starts a new image
 * @DFU_XFER_FAILED: failed or aborted; calls return @dfu_stream.error
 */
enum dfu_xfer {
	DFU_XFER_NONE,
	DFU_XFER_ACTIVE,
	DFU_XFER_DONE,
	DFU_XFER_FAILED,
};

/**
 * struct dfu_stream - one open file's transfers (stream.c); fields are
 *	guarded by the device's io_mutex
 * @dfu: the device (a reference is held while the file is open)
 * @alt: bAlternateSetting this file's transfers use
 * @commit: this file's commit policy, USB_DFU_COMMIT_*
 * @writable: the file was opened for writing
 * @xfer: where the transfer stands
 * @upload: the transfer is an upload (read), not a download (write)
 * @busy: a call is working on the stream; it may drop io_mutex between
 *	blocks, and other calls on the same file get -EBUSY meanwhile
 * @error: the errno a failed transfer returns from later calls
 * @told: a call has returned @error to the file's user
 * @eof: upload: the device sent its short last block; what is left in
 *	dfu_dev.buf is the end of the image
 * @guard: download: hold back DFU_SUFFIX_MAX bytes and check a suffix
 * @pm: the stream holds an autosuspend reference on the interface
 * @flags: USB_DFU_RESULT_* bits for the result
 * @block: index of the next block, not wrapped
 * @base: DfuSe: the address file position 0 is
 * @pos: DfuSe: file position of the first byte in dfu_dev.buf
 * @dfuse_erased: DfuSe: the device's record of erased sectors is this
 *	file's (it erases each sector once per open file)
 * @fill: download: bytes waiting in dfu_dev.buf; upload: bytes in it
 * @head: upload: bytes of dfu_dev.buf already returned
 * @crc: download: CRC-32 of the bytes sent so far, as a suffix's dwCRC
 * @bytes: bytes the device has taken (download) or sent (upload)
 * @start: when the first request of the transfer was sent
 * @writer_tgid: thread group of the process that wrote last
 */
struct dfu_stream {
	struct dfu_dev *dfu;
	u8 alt;
	u8 commit;
	bool writable;
	enum dfu_xfer xfer;
	bool upload;
	bool busy;
	int error;
	bool told;
	bool eof;
	bool guard;
	bool pm;
	u32 flags;
	u32 block;
	u32 base;
	u64 pos;
	bool dfuse_erased;
	u32 fill;
	u32 head;
	u32 crc;
	u64 bytes;
	ktime_t start;
	pid_t writer_tgid;
};

/* The SecureROM of an Apple device in DFU mode (apple.c) */
static inline bool dfu_apple(struct dfu_dev *dfu)
{
	return dfu->info.dialect == USB_DFU_DIALECT_APPLE;
}

static inline bool dfu_gone(struct dfu_dev *dfu)
{
	return test_bit(DFU_FLAG_GONE, &dfu->flags);
}

/* A USB reset is waiting for io_mutex, or running: requests fail at once. */
static inline bool dfu_resetting(struct dfu_dev *dfu)
{
	return test_bit(DFU_FLAG_RESETTING, &dfu->flags);
}

/* desc.c */
int dfu_parse_descriptors(struct dfu_dev *dfu, struct usb_interface *intf);
int dfu_read_alt_names(struct dfu_dev *dfu, struct usb_interface *intf);
void dfu_free_alt_names(struct dfu_dev *dfu);
int dfu_find_alt(struct dfu_dev *dfu, const char *name);
bool dfu_has_alt(struct dfu_dev *dfu, unsigned int alt);

/* quirks.c */
u32 dfu_quirks(struct usb_device *udev);

/* proto.c */
int dfu_request_timeout(struct dfu_dev *dfu, u8 request, u16 value,
			void *data, u16 len, unsigned int timeout_ms,
			bool killable);
int dfu_request(struct dfu_dev *dfu, u8 request, u16 value, void *data,
		u16 len);
int dfu_read_status(struct dfu_dev *dfu, struct usb_dfu_status *st,
		    unsigned int timeout_ms, bool killable);
int dfu_get_status(struct dfu_dev *dfu, struct usb_dfu_status *st);
int dfu_get_state(struct dfu_dev *dfu, u8 *state);
int dfu_clear_status(struct dfu_dev *dfu);
int dfu_abort(struct dfu_dev *dfu);
int dfu_upload(struct dfu_dev *dfu, u32 block, u16 len);
int dfu_detach(struct dfu_dev *dfu, u32 timeout_ms);
int dfu_errno(struct dfu_dev *dfu, int err);
const char *dfu_state_name(int state);
const char *dfu_status_name(int status);

/* states.c */
int dfu_stop(struct dfu_dev *dfu);
int dfu_wait_poll_timeout(struct dfu_dev *dfu);
int dfu_prepare(struct dfu_dev *dfu, u8 alt);
int dfu_download_block(struct dfu_dev *dfu, u32 block, void *data, u16 len);
bool dfu_left_bus(int err);
int dfu_manifest(struct dfu_dev *dfu, u32 block, bool *unverified);
int dfu_end_upload(struct dfu_dev *dfu);

static inline u64 dfuse_seg_end(const struct dfuse_seg *g)
{
	return (u64)g->start + (u64)g->size * g->count;
}

/* dfuse_map.c */
int dfu_dfuse_init(struct dfu_dev *dfu);
void dfu_dfuse_free(struct dfu_dev *dfu);
u32 dfu_dfuse_base(struct dfu_dev *dfu, u8 alt);
u64 dfu_dfuse_size(struct dfu_dev *dfu, u8 alt, u32 base);
int dfu_dfuse_check(struct dfu_dev *dfu, u8 alt, u64 addr, u64 len, u8 perm);
u64 dfu_dfuse_readable(struct dfu_dev *dfu, u8 alt, u64 addr);
const struct dfuse_seg *dfu_dfuse_find(struct dfu_dev *dfu, u8 alt, u64 addr);
ssize_t dfu_dfuse_show_map(struct dfu_dev *dfu, char *buf);

/* dfuse.c */
void dfu_dfuse_begin(struct dfu_dev *dfu, bool forget_erased);
int dfu_dfuse_erase(struct dfu_dev *dfu, u8 alt, u64 addr, u64 len, bool again);
int dfu_dfuse_download(struct dfu_dev *dfu, u8 alt, u32 addr, u16 len);
int dfu_dfuse_upload(struct dfu_dev *dfu, u32 addr, u16 len);
int dfu_dfuse_end_upload(struct dfu_dev *dfu);
int dfu_dfuse_leave(struct dfu_dev *dfu, u32 addr);
int dfu_dfuse_special(struct dfu_dev *dfu, bool unprotect);
int dfu_dfuse_ioctl(struct dfu_stream *s, unsigned int cmd, const void *arg);
int dfu_dfuse_learn(struct dfu_dev *dfu, unsigned int timeout_ms);

/* apple.c */
/* The largest block Apple's ROM takes: a longer DFU_DNLOAD stalls. */
#define DFU_APPLE_TRANSFER_SIZE	2048
void dfu_apple_suffix(u8 *out, u32 crc);
void dfu_apple_abort(struct dfu_dev *dfu);
int dfu_apple_prepare(struct dfu_dev *dfu);
int dfu_apple_manifest(struct dfu_dev *dfu, u32 block);
void dfu_apple_log(struct dfu_dev *dfu);

/* suffix.c */
int dfu_suffix_check(struct dfu_dev *dfu, const u8 *buf, u32 fill, u32 crc);

/* stream.c */
void dfu_stream_init(struct dfu_stream *s, struct dfu_dev *dfu, bool writable);
ssize_t dfu_stream_write(struct dfu_stream *s, const char __user *ubuf,
			 size_t count, loff_t *ppos);
int dfu_stream_commit(struct dfu_stream *s);
int dfu_stream_close(struct dfu_stream *s);
void dfu_stream_release(struct dfu_stream *s);
int dfu_stream_abort(struct dfu_dev *dfu);
void dfu_abandon(struct dfu_dev *dfu);
const char *dfu_errname(int err);
/* stream.c, for upload.c */
int dfu_stream_begin(struct dfu_stream *s, bool upload, u64 pos);
int dfu_stream_yield(struct dfu_stream *s);
int dfu_stream_finish(struct dfu_stream *s, int err);
int dfu_stream_fail(struct dfu_stream *s, int err);
int dfu_stream_told(struct dfu_stream *s, int ret);
void dfu_stream_end_upload(struct dfu_stream *s);

/* upload.c */
ssize_t dfu_stream_read(struct dfu_stream *s, char __user *ubuf, size_t count,
			loff_t *ppos);

/* chardev.c */
int dfu_chardev_init(void);
void dfu_chardev_exit(void);
void dfu_chardev_setup(struct dfu_dev *dfu);
int dfu_chardev_add(struct dfu_dev *dfu);
void dfu_chardev_del(struct dfu_dev *dfu);

/* usb.c */
void dfu_release_dev(struct device *dev);
int dfu_usb_reset(struct dfu_dev *dfu);
void dfu_remember_detach(struct dfu_dev *dfu);

/* sysfs.c */
extern const struct attribute_group *dfu_groups[];
int dfu_parse_commit(const char *buf);
const char *dfu_commit_name(unsigned int commit);

/* usb.c: module parameters, read with READ_ONCE() */
extern unsigned int dfu_ctrl_timeout_ms;
extern unsigned int dfu_busy_timeout_ms;
extern bool dfu_suffix_guard;
extern bool dfu_bind_runtime;
extern bool dfu_bind_apple;
extern unsigned int dfu_default_commit;

#endif /* _DFU_H */
