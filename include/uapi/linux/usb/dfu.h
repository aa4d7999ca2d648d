/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * dfu.h - the user interface of the USB DFU class driver (/dev/dfuN)
 *
 * The names of states and status codes are those of the USB Device
 * Firmware Upgrade specification, revision 1.1, section 6.1.2, under the
 * usb_dfu_ and USB_DFU_ prefixes that <linux/usb/functionfs.h> uses for
 * the functional descriptor, so that this header can sit beside a
 * program's own DFU definitions (dfu-util's).
 */

#ifndef _UAPI_LINUX_USB_DFU_H
#define _UAPI_LINUX_USB_DFU_H

#include <linux/types.h>

/* bState values, DFU 1.1 section 6.1.2 */
#define USB_DFU_STATE_APP_IDLE			0
#define USB_DFU_STATE_APP_DETACH		1
#define USB_DFU_STATE_DFU_IDLE			2
#define USB_DFU_STATE_DNLOAD_SYNC		3
#define USB_DFU_STATE_DNBUSY			4
#define USB_DFU_STATE_DNLOAD_IDLE		5
#define USB_DFU_STATE_MANIFEST_SYNC		6
#define USB_DFU_STATE_MANIFEST			7
#define USB_DFU_STATE_MANIFEST_WAIT_RESET	8
#define USB_DFU_STATE_UPLOAD_IDLE		9
#define USB_DFU_STATE_ERROR			10

/* bStatus values, DFU 1.1 section 6.1.2 */
#define USB_DFU_STATUS_OK			0x00
#define USB_DFU_STATUS_ERR_TARGET		0x01
#define USB_DFU_STATUS_ERR_FILE			0x02
#define USB_DFU_STATUS_ERR_WRITE		0x03
#define USB_DFU_STATUS_ERR_ERASE		0x04
#define USB_DFU_STATUS_ERR_CHECK_ERASED		0x05
#define USB_DFU_STATUS_ERR_PROG			0x06
#define USB_DFU_STATUS_ERR_VERIFY		0x07
#define USB_DFU_STATUS_ERR_ADDRESS		0x08
#define USB_DFU_STATUS_ERR_NOTDONE		0x09
#define USB_DFU_STATUS_ERR_FIRMWARE		0x0a
#define USB_DFU_STATUS_ERR_VENDOR		0x0b
#define USB_DFU_STATUS_ERR_USBR			0x0c
#define USB_DFU_STATUS_ERR_POR			0x0d
#define USB_DFU_STATUS_ERR_UNKNOWN		0x0e
#define USB_DFU_STATUS_ERR_STALLEDPKT		0x0f

/*
 * bmAttributes of the functional descriptor, DFU 1.1 section 4.1.3; the
 * same bits as DFU_FUNC_ATT_* in <linux/usb/functionfs.h> (Linux 6.12 and
 * later).
 */
#define USB_DFU_ATTR_CAN_DNLOAD			0x01
#define USB_DFU_ATTR_CAN_UPLOAD			0x02
#define USB_DFU_ATTR_MANIFESTATION_TOLERANT	0x04
#define USB_DFU_ATTR_WILL_DETACH		0x08

/* Values of struct usb_dfu_info.mode */
#define USB_DFU_MODE_RUNTIME			1
#define USB_DFU_MODE_DFU			2

/*
 * Values of struct usb_dfu_info.dialect: how the driver speaks to the
 * interface's DFU-mode firmware.
 * USB_DFU_DIALECT_DFU: DFU 1.0 or 1.1; write() sends an image, read()
 *	uploads one, and neither can seek.
 * USB_DFU_DIALECT_DFUSE: ST's DfuSe extension (UM0424; bcdDFUVersion
 *	0x011a, or a quirk): the file is the memory of the file's alternate
 *	setting as its memory-layout string describes it. File position P is
 *	address base + P, where the base is the start of the alt's first zone
 *	unless USB_DFU_IOCTL_DFUSE_SET_BASE moved it; lseek(), pread() and
 *	pwrite() work, and the file ends at the end of the alt's last zone.
 *	A write() erases each sector it touches the first time the open file
 *	touches it, before anything of that call is sent. It fails, with
 *	nothing sent and the image going on, with ENOSPC past the end of the
 *	map, ENXIO in a gap between zones and EROFS in a sector that is not
 *	writable; a read() in a gap or a sector that is not readable fails
 *	with ENXIO, and stops short of one. EACCES: the device is
 *	read-protected (bStatus errVENDOR). A read() leaves the upload open
 *	for the next one; a write() or a DfuSe ioctl on the same file ends it.
 * USB_DFU_DIALECT_APPLE: the SecureROM of an Apple device in DFU mode
 *	(05ac:1227): write() sends the image in 2048-byte blocks, and the
 *	commit appends the 16-byte suffix the ROM drops (dwCRC over the image
 *	and the suffix), drives manifestation to dfuMANIFEST-WAIT-RESET and
 *	resets the port. The ROM then checks the image and leaves the bus:
 *	it comes back as 05ac:1281 (recovery mode, not served by this driver)
 *	when it boots the image, as 05ac:1227 when it rejects it. A download
 *	that fails or is aborted is never booted: the ROM ends its DFU session
 *	and comes back in DFU mode. read() and USB_DFU_IOCTL_DETACH fail with
 *	EOPNOTSUPP.
 */
#define USB_DFU_DIALECT_DFU			0
#define USB_DFU_DIALECT_DFUSE			1
#define USB_DFU_DIALECT_APPLE			2

/*
 * Commit policies: when the end of what was written becomes an image the
 * device manifests (the zero-length DFU_DNLOAD of DFU 1.1, section 7.1).
 * Whatever the policy, nothing is manifested when the writer dies of a
 * signal, exits with a non-zero status without closing the file, or a
 * transfer fails; and fsync() or USB_DFU_IOCTL_COMMIT always commit.
 *
 * USB_DFU_COMMIT_CLOSE: close() by the writer commits (cat image > /dev/dfu0).
 * USB_DFU_COMMIT_SUFFIX: the image must end in a valid DFU suffix (DFU 1.1,
 *	appendix B: "UFD", dwCRC) naming this device; an image without one,
 *	truncated or corrupted, is never manifested, also not by fsync().
 * USB_DFU_COMMIT_EXPLICIT: only fsync() or USB_DFU_IOCTL_COMMIT commit;
 *	a close() before that aborts the image (DFU_ABORT) and fails with
 *	ECANCELED.
 */
#define USB_DFU_COMMIT_CLOSE			0
#define USB_DFU_COMMIT_SUFFIX			1
#define USB_DFU_COMMIT_EXPLICIT			2

/**
 * struct usb_dfu_status - the device's answer to DFU_GETSTATUS (DFU 1.1, 6.1.2)
 * @bStatus: result of the most recent request, a USB_DFU_STATUS_* value
 * @bState: state the device entered after sending the answer, USB_DFU_STATE_*
 * @iString: index of a string descriptor describing the status, 0 for none
 * @reserved: zero
 * @bwPollTimeout: time in milliseconds the host must wait before the next
 *	DFU_GETSTATUS (the 24-bit field of the request, widened)
 */
struct usb_dfu_status {
	__u8 bStatus;
	__u8 bState;
	__u8 iString;
	__u8 reserved;
	__u32 bwPollTimeout;
};

/**
 * struct usb_dfu_info - what the driver knows about a DFU interface and
 *	about the open file that asks
 * @idVendor: USB vendor ID of the device
 * @idProduct: USB product ID of the device
 * @bcdDevice: device release number
 * @wDetachTimeOut: from the functional descriptor, in milliseconds
 * @wTransferSize: bytes per DFU_DNLOAD and DFU_UPLOAD block the driver uses
 *	(the functional descriptor's value; 64 when that is 0, 1024 when 0xffff)
 * @bcdDFUVersion: from the functional descriptor; 0x0100 for a 7-byte
 *	DFU 1.0 descriptor, which has no such field
 * @bmAttributes: from the functional descriptor, USB_DFU_ATTR_* bits
 * @bInterfaceNumber: the DFU interface's number
 * @bNumAltSettings: number of alternate settings (DFU targets)
 * @bAlternateSetting: the alternate setting this file's read() and write()
 *	use (USB_DFU_IOCTL_SET_ALT; at open, the sysfs attribute alt)
 * @mode: USB_DFU_MODE_RUNTIME or USB_DFU_MODE_DFU
 * @commit: this file's commit policy, a USB_DFU_COMMIT_* value
 * @dialect: a USB_DFU_DIALECT_* value
 * @reserved: zero
 */
struct usb_dfu_info {
	__u16 idVendor;
	__u16 idProduct;
	__u16 bcdDevice;
	__u16 wDetachTimeOut;
	__u16 wTransferSize;
	__u16 bcdDFUVersion;
	__u8 bmAttributes;
	__u8 bInterfaceNumber;
	__u8 bNumAltSettings;
	__u8 bAlternateSetting;
	__u8 mode;
	__u8 commit;
	__u8 dialect;
	__u8 reserved;
};

/* Bits of struct usb_dfu_result.flags */
/*
 * The device is not manifestation tolerant and stalled or left the bus
 * after the zero-length DFU_DNLOAD, as such a device may do to start its
 * new firmware (DFU 1.1, 7.2): the image was sent whole, but the device
 * never said that it manifested it.
 */
#define USB_DFU_RESULT_UNVERIFIED		0x01
/* The image ended in a DFU suffix for this device: checked and not sent. */
#define USB_DFU_RESULT_SUFFIX			0x02
/* The transfer was an upload (read), not a download (write). */
#define USB_DFU_RESULT_UPLOAD			0x04
/*
 * DfuSe: after the download, the device was told to leave DFU mode and
 * run its firmware (Set Address to the lowest address written, a
 * zero-length DFU_DNLOAD), and answered dfuMANIFEST or left the bus.
 * Without it (the sysfs attribute dfuse_leave is 0) the device stays in
 * its bootloader, in dfuIDLE.
 * Apple: the ROM reached dfuMANIFEST-WAIT-RESET, and the driver resets
 * its port as the call that committed returns; the ROM then checks the
 * image, and leaves the bus whatever it finds.
 */
#define USB_DFU_RESULT_LEFT			0x08

/**
 * struct usb_dfu_result - the outcome of the most recent download or upload
 * @error: 0 on success, otherwise the negative errno the transfer failed
 *	with (-EIO device error, -ENODEV unplugged, -EINTR the writer was
 *	killed or exited with a non-zero status, -ECANCELED aborted or not
 *	committed, -ETIMEDOUT no answer or busy too long, -EBADMSG no valid
 *	DFU suffix under USB_DFU_COMMIT_SUFFIX, -EMEDIUMTYPE an image for
 *	another device, -ENODATA a suffix and no image). An upload that the
 *	reader closes before the device's short block is a success: the
 *	driver sends DFU_ABORT and @bytes tells how much the device had sent.
 * @bStatus: device status after the failure (USB_DFU_STATUS_OK on success)
 * @bState: device state after the transfer
 * @reserved: zero
 * @block: the block number (0-based, not wrapped) the transfer stopped at
 * @flags: USB_DFU_RESULT_* bits
 * @bytes: bytes the device accepted (download) or sent (upload)
 * @duration_us: time from the first to the last request, in microseconds
 */
struct usb_dfu_result {
	__s32 error;
	__u8 bStatus;
	__u8 bState;
	__u8 reserved[2];
	__u32 block;
	__u32 flags;
	__u64 bytes;
	__u64 duration_us;
};

/**
 * DOC: ioctl return values
 *
 * Each ioctl returns 0 on success. Besides the errors named with each:
 * ENODEV once the device is unplugged (USB_DFU_IOCTL_GET_INFO and
 * USB_DFU_IOCTL_GET_RESULT, which send nothing, still answer), EINTR when
 * a signal arrives while the call waits for another call on the device to
 * finish, EAGAIN instead of that wait on a file opened O_NONBLOCK, EFAULT
 * for a bad argument pointer, EIO when the device stalls a request or
 * sends a malformed answer (or a USB reset fails), ETIMEDOUT when it does
 * not answer within the ctrl_timeout_ms module parameter, and ENOTTY for
 * an ioctl number the driver does not know. The ioctls that change the device's state
 * (USB_DFU_IOCTL_CLR_STATUS, _ABORT, _DETACH and _RESET) need a file
 * opened for writing, or CAP_SYS_ADMIN: EPERM otherwise.
 */

/**
 * USB_DFU_IOCTL_MAGIC - the ioctl type of /dev/dfuN; no other driver uses 0xDF
 */
#define USB_DFU_IOCTL_MAGIC		0xDF

/**
 * USB_DFU_IOCTL_GET_STATUS - send DFU_GETSTATUS, return the device's answer
 *
 * Argument: &struct usb_dfu_status, filled in.
 *
 * In run-time mode, where the request is optional, a device that stalls
 * it reads as bState appIDLE with bStatus OK. The answer also becomes
 * what the sysfs attributes state and status show.
 */
#define USB_DFU_IOCTL_GET_STATUS	_IOR(USB_DFU_IOCTL_MAGIC, 0x00, struct usb_dfu_status)

/**
 * USB_DFU_IOCTL_GET_STATE - send DFU_GETSTATE and return bState
 *
 * Argument: __u8, set to a USB_DFU_STATE_* value. The request does not
 * change the device's state; a stall in run-time mode reads as appIDLE.
 */
#define USB_DFU_IOCTL_GET_STATE		_IOR(USB_DFU_IOCTL_MAGIC, 0x01, __u8)

/**
 * USB_DFU_IOCTL_CLR_STATUS - leave dfuERROR
 *
 * Argument: none. Sends DFU_GETSTATUS, then DFU_CLRSTATUS only if the
 * device is in dfuERROR; in any other state nothing more is sent. EPERM
 * without write access; EBUSY while a transfer is in progress.
 */
#define USB_DFU_IOCTL_CLR_STATUS	_IO(USB_DFU_IOCTL_MAGIC, 0x02)

/**
 * USB_DFU_IOCTL_ABORT - send DFU_ABORT, ending any transfer in progress
 *
 * Argument: none. Returns the device to dfuIDLE: DFU_ABORT is sent (after
 * the bwPollTimeout of a busy device). A download or upload in progress,
 * whichever file it belongs to, ends: its next call fails with ECANCELED
 * and nothing is manifested. EPERM without write access.
 */
#define USB_DFU_IOCTL_ABORT		_IO(USB_DFU_IOCTL_MAGIC, 0x03)

/**
 * USB_DFU_IOCTL_GET_INFO - descriptor fields, and this file's settings
 *
 * Argument: &struct usb_dfu_info, filled in. Nothing is sent to the device.
 */
#define USB_DFU_IOCTL_GET_INFO		_IOR(USB_DFU_IOCTL_MAGIC, 0x04, struct usb_dfu_info)

/**
 * USB_DFU_IOCTL_GET_RESULT - the outcome of the most recent download or upload
 *
 * Argument: &struct usb_dfu_result, filled in; all zero before the first
 * transfer. Nothing is sent to the device.
 */
#define USB_DFU_IOCTL_GET_RESULT	_IOR(USB_DFU_IOCTL_MAGIC, 0x05, struct usb_dfu_result)

/**
 * USB_DFU_IOCTL_SET_ALT - choose the alternate setting (DFU target) of this
 *	file's later transfers
 *
 * Argument: __u32, the bAlternateSetting of one of the interface's
 * alternate settings (the numbers in the alt_names sysfs attribute).
 * The choice belongs to this open file only: other files, and the sysfs
 * attribute alt that sets the default of later opens, are not changed, so
 * it is allowed on a file opened read-only. EINVAL for any other number,
 * EBUSY while this file has a transfer in progress.
 */
#define USB_DFU_IOCTL_SET_ALT		_IOW(USB_DFU_IOCTL_MAGIC, 0x06, __u32)

/**
 * USB_DFU_IOCTL_DETACH - switch a device in run-time mode to DFU mode
 *
 * Argument: __u32, the wTimeout of DFU_DETACH in milliseconds; 0 means
 * the smaller of wDetachTimeOut and 1000. The driver sends DFU_DETACH and
 * then resets the device, unless it has USB_DFU_ATTR_WILL_DETACH. The
 * device comes back in DFU mode as a new /dev/dfuN; this one goes away.
 * EINVAL in DFU mode, EBUSY while a transfer is in progress, EPERM
 * without write access.
 */
#define USB_DFU_IOCTL_DETACH		_IOW(USB_DFU_IOCTL_MAGIC, 0x07, __u32)

/**
 * USB_DFU_IOCTL_RESET - USB reset of the device
 *
 * Argument: none. What dfu-util -R does: after manifestation it starts the
 * new firmware. EBUSY while a transfer is in progress, EPERM without
 * write access.
 */
#define USB_DFU_IOCTL_RESET		_IO(USB_DFU_IOCTL_MAGIC, 0x08)

/**
 * USB_DFU_IOCTL_SET_COMMIT - choose this file's commit policy
 *
 * Argument: __u32, a USB_DFU_COMMIT_* value. A file starts with the
 * device's default, the sysfs attribute commit. EINVAL for another value,
 * EBUSY while this file has a download in progress, EBADF on a file not
 * opened for writing.
 */
#define USB_DFU_IOCTL_SET_COMMIT	_IOW(USB_DFU_IOCTL_MAGIC, 0x09, __u32)

/**
 * USB_DFU_IOCTL_COMMIT - end the image written so far and manifest it
 *
 * Argument: none. The same as fsync(): sends the last block and the
 * zero-length DFU_DNLOAD and waits for manifestation (DFU 1.1, 7.1);
 * returns the outcome. Under USB_DFU_COMMIT_SUFFIX the image must end in
 * a valid DFU suffix for this device (EBADMSG, EMEDIUMTYPE). 0 when
 * nothing was written since the last commit. EBADF on a file not opened
 * for writing, EBUSY while another call on this file is writing.
 */
#define USB_DFU_IOCTL_COMMIT		_IO(USB_DFU_IOCTL_MAGIC, 0x0a)

/**
 * USB_DFU_IOCTL_DFUSE_SET_BASE - the address that file position 0 is,
 *	for this file's DfuSe transfers
 * Argument: __u32, an address in the memory map of the file's alternate
 * setting. A file starts with the start of its alt's first zone, and
 * USB_DFU_IOCTL_SET_ALT goes back to that. EINVAL for an address outside
 * the map, EBUSY while this file has a transfer in progress, EOPNOTSUPP
 * on a device that does not speak DfuSe.
 */
#define USB_DFU_IOCTL_DFUSE_SET_BASE	_IOW(USB_DFU_IOCTL_MAGIC, 0x0b, __u32)

/**
 * struct usb_dfu_dfuse_erase - a range of DfuSe memory to erase
 * @address: first byte
 * @length: bytes, not 0; every erasable sector the range touches is erased
 */
struct usb_dfu_dfuse_erase {
	__u32 address;
	__u32 length;
};

/**
 * USB_DFU_IOCTL_DFUSE_ERASE - erase sectors with the DfuSe Erase command
 * Argument: &struct usb_dfu_dfuse_erase. One Erase command (DFU_DNLOAD
 * block 0, 0x41 and the address) for each erasable sector of the file's
 * alternate setting that the range touches, each waited out as its
 * bwPollTimeout says; sectors that are not erasable are skipped. EINVAL
 * for a range that is empty or leaves the map, EACCES for a
 * read-protected device, EIO when the device reports an error, EBUSY
 * while a transfer is in progress, EPERM without write access,
 * EOPNOTSUPP on a device that does not speak DfuSe.
 */
#define USB_DFU_IOCTL_DFUSE_ERASE	_IOW(USB_DFU_IOCTL_MAGIC, 0x0c, struct usb_dfu_dfuse_erase)

/* The argument of USB_DFU_IOCTL_DFUSE_MASS_ERASE: "MASS" */
#define USB_DFU_DFUSE_MASS_ERASE_CONFIRM	0x4d415353
/* The argument of USB_DFU_IOCTL_DFUSE_UNPROTECT: "WIPE" */
#define USB_DFU_DFUSE_UNPROTECT_CONFIRM		0x57495045

/**
 * USB_DFU_IOCTL_DFUSE_MASS_ERASE - erase all of the device's flash
 * Argument: __u32, USB_DFU_DFUSE_MASS_ERASE_CONFIRM (EINVAL otherwise).
 * Sends the DfuSe mass erase (DFU_DNLOAD block 0, 0x41 alone) and polls
 * the device until it is done, for up to the busy_timeout_ms module
 * parameter: an STM32F405 takes up to 32 s while it asks for 100 ms. Only
 * a fatal signal ends the wait (EINTR); the erase goes on in the device.
 * Errors as for USB_DFU_IOCTL_DFUSE_ERASE, and EOPNOTSUPP when the
 * device's command list (sysfs dfuse_commands) lacks the command.
 */
#define USB_DFU_IOCTL_DFUSE_MASS_ERASE	_IOW(USB_DFU_IOCTL_MAGIC, 0x0d, __u32)

/**
 * USB_DFU_IOCTL_DFUSE_UNPROTECT - remove read protection: wipes the chip
 * Argument: __u32, USB_DFU_DFUSE_UNPROTECT_CONFIRM (EINVAL otherwise).
 * Sends the DfuSe Read Unprotect command (0x92). The device erases all of
 * its flash, resets its option bytes and drops off the bus; it comes back
 * as a new /dev/dfuN, and this one goes away. 0 once the device has taken
 * the command and left; EIO when it refuses it and stays. Errors as for
 * USB_DFU_IOCTL_DFUSE_MASS_ERASE.
 */
#define USB_DFU_IOCTL_DFUSE_UNPROTECT	_IOW(USB_DFU_IOCTL_MAGIC, 0x0e, __u32)

#endif /* _UAPI_LINUX_USB_DFU_H */
