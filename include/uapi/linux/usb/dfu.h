/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * dfu.h - the user interface of the USB DFU class driver (/dev/dfuN)
 *
 * The names and numbers of states and status codes are those of the
 * USB Device Firmware Upgrade specification, revision 1.1, tables 6.1
 * (bStatus) and A.1 (bState).
 */

#ifndef _UAPI_LINUX_USB_DFU_H
#define _UAPI_LINUX_USB_DFU_H

#include <linux/types.h>

/* bState values, DFU 1.1 section 6.1.2 */
#define DFU_STATE_APP_IDLE		0
#define DFU_STATE_APP_DETACH		1
#define DFU_STATE_DFU_IDLE		2
#define DFU_STATE_DNLOAD_SYNC		3
#define DFU_STATE_DNBUSY		4
#define DFU_STATE_DNLOAD_IDLE		5
#define DFU_STATE_MANIFEST_SYNC		6
#define DFU_STATE_MANIFEST		7
#define DFU_STATE_MANIFEST_WAIT_RESET	8
#define DFU_STATE_UPLOAD_IDLE		9
#define DFU_STATE_ERROR			10

/* bStatus values, DFU 1.1 section 6.1.2 */
#define DFU_STATUS_OK			0x00
#define DFU_STATUS_ERR_TARGET		0x01
#define DFU_STATUS_ERR_FILE		0x02
#define DFU_STATUS_ERR_WRITE		0x03
#define DFU_STATUS_ERR_ERASE		0x04
#define DFU_STATUS_ERR_CHECK_ERASED	0x05
#define DFU_STATUS_ERR_PROG		0x06
#define DFU_STATUS_ERR_VERIFY		0x07
#define DFU_STATUS_ERR_ADDRESS		0x08
#define DFU_STATUS_ERR_NOTDONE		0x09
#define DFU_STATUS_ERR_FIRMWARE		0x0a
#define DFU_STATUS_ERR_VENDOR		0x0b
#define DFU_STATUS_ERR_USBR		0x0c
#define DFU_STATUS_ERR_POR		0x0d
#define DFU_STATUS_ERR_UNKNOWN		0x0e
#define DFU_STATUS_ERR_STALLEDPKT	0x0f

/* bmAttributes of the functional descriptor, DFU 1.1 section 4.1.3 */
#define DFU_ATTR_CAN_DNLOAD		0x01
#define DFU_ATTR_CAN_UPLOAD		0x02
#define DFU_ATTR_MANIFESTATION_TOLERANT	0x04
#define DFU_ATTR_WILL_DETACH		0x08

/* Values of struct dfu_info.mode */
#define DFU_MODE_RUNTIME		1
#define DFU_MODE_DFU			2

/**
 * struct dfu_status - the device's answer to DFU_GETSTATUS (DFU 1.1, 6.1.2)
 * @bStatus: result of the most recent request, a DFU_STATUS_* value
 * @bState: state the device entered after sending the answer, DFU_STATE_*
 * @iString: index of a string descriptor describing the status, 0 for none
 * @reserved: zero
 * @bwPollTimeout: time in milliseconds the host must wait before the next
 *	DFU_GETSTATUS (the 24-bit field of the request, widened)
 */
struct dfu_status {
	__u8 bStatus;
	__u8 bState;
	__u8 iString;
	__u8 reserved;
	__u32 bwPollTimeout;
};

/**
 * struct dfu_info - what the driver knows about a DFU interface
 * @idVendor: USB vendor ID of the device
 * @idProduct: USB product ID of the device
 * @bcdDevice: device release number
 * @wDetachTimeOut: from the functional descriptor, in milliseconds
 * @wTransferSize: bytes per DFU_DNLOAD and DFU_UPLOAD block the driver uses
 *	(the functional descriptor's value; 64 when that is 0, 1024 when 0xffff)
 * @bcdDFUVersion: from the functional descriptor; 0x0100 for a 7-byte
 *	DFU 1.0 descriptor, which has no such field
 * @bmAttributes: from the functional descriptor, DFU_ATTR_* bits
 * @bInterfaceNumber: the DFU interface's number
 * @bNumAltSettings: number of alternate settings (DFU targets)
 * @bAlternateSetting: the alternate setting read() and write() use
 * @mode: DFU_MODE_RUNTIME or DFU_MODE_DFU
 * @reserved: zero
 */
struct dfu_info {
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
	__u8 reserved[3];
};

/**
 * struct dfu_result - the outcome of the most recent download or upload
 * @error: 0 on success, otherwise the negative errno the transfer failed
 *	with (-EIO device error, -ENODEV unplugged, -EINTR interrupted,
 *	-ETIMEDOUT no answer or busy too long). An upload that the reader
 *	closes before the device's short block is a success: the driver
 *	sends DFU_ABORT and @bytes tells how much the device had sent.
 * @bStatus: device status after the failure (DFU_STATUS_OK on success)
 * @bState: device state after the transfer
 * @reserved: zero
 * @block: the block number (0-based, not wrapped) the transfer stopped at
 * @reserved2: zero
 * @bytes: bytes the device accepted (download) or sent (upload)
 * @duration_us: time from the first to the last request, in microseconds
 */
struct dfu_result {
	__s32 error;
	__u8 bStatus;
	__u8 bState;
	__u8 reserved[2];
	__u32 block;
	__u32 reserved2;
	__u64 bytes;
	__u64 duration_us;
};

/**
 * DOC: ioctl return values
 *
 * Each ioctl returns 0 on success. Besides the errors named with each:
 * ENODEV once the device is unplugged, EINTR when a signal arrives while
 * the call waits for another call on the device to finish, EFAULT for a
 * bad argument pointer, EIO when the device stalls a request or sends a
 * malformed answer, ETIMEDOUT when it does not answer within the
 * ctrl_timeout_ms module parameter, and ENOTTY for an ioctl number the
 * driver does not know.
 */

/**
 * DFU_IOCTL_MAGIC - the ioctl type of /dev/dfuN; no other driver uses 0xDF
 */
#define DFU_IOCTL_MAGIC			0xDF

/**
 * DFU_IOCTL_GET_STATUS - send DFU_GETSTATUS, return the device's answer
 *
 * Argument: &struct dfu_status, filled in.
 *
 * In run-time mode, where the request is optional, a device that stalls
 * it reads as bState appIDLE with bStatus OK.
 */
#define DFU_IOCTL_GET_STATUS	_IOR(DFU_IOCTL_MAGIC, 0x00, struct dfu_status)

/**
 * DFU_IOCTL_GET_STATE - send DFU_GETSTATE and return bState
 *
 * Argument: __u8, set to a DFU_STATE_* value. The request does not change
 * the device's state; a stall in run-time mode reads as appIDLE.
 */
#define DFU_IOCTL_GET_STATE	_IOR(DFU_IOCTL_MAGIC, 0x01, __u8)

/**
 * DFU_IOCTL_CLR_STATUS - leave dfuERROR
 *
 * Argument: none. Sends DFU_GETSTATUS, then DFU_CLRSTATUS only if the
 * device is in dfuERROR; in any other state nothing more is sent.
 */
#define DFU_IOCTL_CLR_STATUS	_IO(DFU_IOCTL_MAGIC, 0x02)

/**
 * DFU_IOCTL_ABORT - send DFU_ABORT, ending any transfer in progress
 *
 * Argument: none. DFU_ABORT is sent, which returns the device to dfuIDLE.
 * A download or upload in progress, whichever file it belongs to, ends:
 * its next call fails with ECANCELED and nothing is manifested.
 */
#define DFU_IOCTL_ABORT		_IO(DFU_IOCTL_MAGIC, 0x03)

/**
 * DFU_IOCTL_GET_INFO - descriptor fields and settings of this interface
 *
 * Argument: &struct dfu_info, filled in. Nothing is sent to the device.
 */
#define DFU_IOCTL_GET_INFO	_IOR(DFU_IOCTL_MAGIC, 0x04, struct dfu_info)

/**
 * DFU_IOCTL_GET_RESULT - the outcome of the most recent download or upload
 *
 * Argument: &struct dfu_result, filled in; all zero before the first
 * transfer. Nothing is sent to the device.
 */
#define DFU_IOCTL_GET_RESULT	_IOR(DFU_IOCTL_MAGIC, 0x05, struct dfu_result)

/**
 * DFU_IOCTL_SET_ALT - choose the alternate setting (DFU target) of later
 *	transfers
 *
 * Argument: __u32, the bAlternateSetting of one of the interface's
 * alternate settings (the numbers in the alt_names sysfs attribute).
 * EINVAL for any other number, EBUSY while a transfer is in progress.
 */
#define DFU_IOCTL_SET_ALT	_IOW(DFU_IOCTL_MAGIC, 0x06, __u32)

/**
 * DFU_IOCTL_DETACH - switch a device in run-time mode to DFU mode
 *
 * Argument: __u32, the wTimeout of DFU_DETACH in milliseconds; 0 means
 * the smaller of wDetachTimeOut and 1000. The driver sends DFU_DETACH and
 * then resets the device, unless it has DFU_ATTR_WILL_DETACH. The device
 * comes back in DFU mode as a new /dev/dfuN; this one goes away. EINVAL
 * in DFU mode, EBUSY while a transfer is in progress.
 */
#define DFU_IOCTL_DETACH	_IOW(DFU_IOCTL_MAGIC, 0x07, __u32)

/**
 * DFU_IOCTL_RESET - USB reset of the device
 *
 * Argument: none. What dfu-util -R does: after manifestation it starts the
 * new firmware. EBUSY while a transfer is in progress.
 */
#define DFU_IOCTL_RESET		_IO(DFU_IOCTL_MAGIC, 0x08)

#endif /* _UAPI_LINUX_USB_DFU_H */
