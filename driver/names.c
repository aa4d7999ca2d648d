// SPDX-License-Identifier: GPL-2.0
/*
 * names.c - the names the kernel log and sysfs use: DFU 1.1 states and
 * status codes (section 6.1.2), the errnos a transfer ends with, and the
 * commit policies. Never CONFIG_SYMBOLIC_ERRNAME: the ABI must not depend
 * on the kernel's configuration.
 */

#include <linux/errno.h>
#include <linux/kernel.h>
#include <linux/string.h>
#include "dfu.h"

static const char * const dfu_state_names[] = {
	[USB_DFU_STATE_APP_IDLE]		= "appIDLE",
	[USB_DFU_STATE_APP_DETACH]		= "appDETACH",
	[USB_DFU_STATE_DFU_IDLE]		= "dfuIDLE",
	[USB_DFU_STATE_DNLOAD_SYNC]		= "dfuDNLOAD-SYNC",
	[USB_DFU_STATE_DNBUSY]		= "dfuDNBUSY",
	[USB_DFU_STATE_DNLOAD_IDLE]		= "dfuDNLOAD-IDLE",
	[USB_DFU_STATE_MANIFEST_SYNC]	= "dfuMANIFEST-SYNC",
	[USB_DFU_STATE_MANIFEST]		= "dfuMANIFEST",
	[USB_DFU_STATE_MANIFEST_WAIT_RESET]	= "dfuMANIFEST-WAIT-RESET",
	[USB_DFU_STATE_UPLOAD_IDLE]		= "dfuUPLOAD-IDLE",
	[USB_DFU_STATE_ERROR]		= "dfuERROR",
};

static const char * const dfu_status_names[] = {
	[USB_DFU_STATUS_OK]			= "OK",
	[USB_DFU_STATUS_ERR_TARGET]		= "errTARGET",
	[USB_DFU_STATUS_ERR_FILE]		= "errFILE",
	[USB_DFU_STATUS_ERR_WRITE]		= "errWRITE",
	[USB_DFU_STATUS_ERR_ERASE]		= "errERASE",
	[USB_DFU_STATUS_ERR_CHECK_ERASED]	= "errCHECK_ERASED",
	[USB_DFU_STATUS_ERR_PROG]		= "errPROG",
	[USB_DFU_STATUS_ERR_VERIFY]		= "errVERIFY",
	[USB_DFU_STATUS_ERR_ADDRESS]	= "errADDRESS",
	[USB_DFU_STATUS_ERR_NOTDONE]	= "errNOTDONE",
	[USB_DFU_STATUS_ERR_FIRMWARE]	= "errFIRMWARE",
	[USB_DFU_STATUS_ERR_VENDOR]		= "errVENDOR",
	[USB_DFU_STATUS_ERR_USBR]		= "errUSBR",
	[USB_DFU_STATUS_ERR_POR]		= "errPOR",
	[USB_DFU_STATUS_ERR_UNKNOWN]	= "errUNKNOWN",
	[USB_DFU_STATUS_ERR_STALLEDPKT]	= "errSTALLEDPKT",
};

/**
 * dfu_state_name() - the DFU 1.1 name of a bState value
 * @state: bState as reported by the device, or DFU_UNKNOWN
 *
 * Context: any.
 * Return: a static string such as "dfuIDLE", or "unknown".
 */
const char *dfu_state_name(int state)
{
	if (state < 0 || state >= ARRAY_SIZE(dfu_state_names))
		return "unknown";
	return dfu_state_names[state];
}

/**
 * dfu_status_name() - the DFU 1.1 name of a bStatus value
 * @status: bStatus as reported by the device, or DFU_UNKNOWN
 *
 * Context: any.
 * Return: a static string such as "errWRITE", or "unknown".
 */
const char *dfu_status_name(int status)
{
	if (status < 0 || status >= ARRAY_SIZE(dfu_status_names))
		return "unknown";
	return dfu_status_names[status];
}

static const struct {
	int err;
	const char *name;
} dfu_errnames[] = {
	{ -EIO, "-EIO" },
	{ -ENODEV, "-ENODEV" },
	{ -EINTR, "-EINTR" },
	{ -ETIMEDOUT, "-ETIMEDOUT" },
	{ -ECANCELED, "-ECANCELED" },
	{ -EMEDIUMTYPE, "-EMEDIUMTYPE" },
	{ -EBADMSG, "-EBADMSG" },
	{ -ENODATA, "-ENODATA" },
	{ -EFAULT, "-EFAULT" },
	{ -ENOMEM, "-ENOMEM" },
	{ -EBUSY, "-EBUSY" },
	{ -EOPNOTSUPP, "-EOPNOTSUPP" },
	{ -EROFS, "-EROFS" },
	{ -ENOSPC, "-ENOSPC" },
	{ -ENXIO, "-ENXIO" },
	{ -EACCES, "-EACCES" },
};

/**
 * dfu_errname() - the name of an errno a transfer can end with
 * @err: a negative errno
 *
 * Context: any.
 * Return: a static string such as "-EIO", or NULL for an errno the driver
 * does not name (print its number).
 */
const char *dfu_errname(int err)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(dfu_errnames); i++)
		if (dfu_errnames[i].err == err)
			return dfu_errnames[i].name;
	return NULL;
}

static const char * const dfu_commit_names[] = {
	[USB_DFU_COMMIT_CLOSE] = "close",
	[USB_DFU_COMMIT_SUFFIX] = "suffix",
	[USB_DFU_COMMIT_EXPLICIT] = "explicit",
};

/**
 * dfu_commit_name() - the name of a commit policy
 * @commit: a USB_DFU_COMMIT_* value
 *
 * Context: any.
 * Return: "close", "suffix" or "explicit".
 */
const char *dfu_commit_name(unsigned int commit)
{
	return dfu_commit_names[commit];
}

/**
 * dfu_parse_commit() - a commit policy by name
 * @buf: "close", "suffix" or "explicit", a trailing newline allowed
 *
 * Context: any.
 * Return: the USB_DFU_COMMIT_* value, or -EINVAL.
 */
int dfu_parse_commit(const char *buf)
{
	int i = sysfs_match_string(dfu_commit_names, buf);

	return i < 0 ? -EINVAL : i;
}

