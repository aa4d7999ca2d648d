// SPDX-License-Identifier: GPL-2.0
/* names.c - DFU 1.1 names of bState and bStatus values (DFU 1.1, 6.1.2) */
#include <linux/usb/dfu.h>

#include "names.h"

static const char *const states[] = {
	[USB_DFU_STATE_APP_IDLE] = "appIDLE",
	[USB_DFU_STATE_APP_DETACH] = "appDETACH",
	[USB_DFU_STATE_DFU_IDLE] = "dfuIDLE",
	[USB_DFU_STATE_DNLOAD_SYNC] = "dfuDNLOAD-SYNC",
	[USB_DFU_STATE_DNBUSY] = "dfuDNBUSY",
	[USB_DFU_STATE_DNLOAD_IDLE] = "dfuDNLOAD-IDLE",
	[USB_DFU_STATE_MANIFEST_SYNC] = "dfuMANIFEST-SYNC",
	[USB_DFU_STATE_MANIFEST] = "dfuMANIFEST",
	[USB_DFU_STATE_MANIFEST_WAIT_RESET] = "dfuMANIFEST-WAIT-RESET",
	[USB_DFU_STATE_UPLOAD_IDLE] = "dfuUPLOAD-IDLE",
	[USB_DFU_STATE_ERROR] = "dfuERROR",
};

static const char *const statuses[] = {
	[USB_DFU_STATUS_OK] = "OK",
	[USB_DFU_STATUS_ERR_TARGET] = "errTARGET",
	[USB_DFU_STATUS_ERR_FILE] = "errFILE",
	[USB_DFU_STATUS_ERR_WRITE] = "errWRITE",
	[USB_DFU_STATUS_ERR_ERASE] = "errERASE",
	[USB_DFU_STATUS_ERR_CHECK_ERASED] = "errCHECK_ERASED",
	[USB_DFU_STATUS_ERR_PROG] = "errPROG",
	[USB_DFU_STATUS_ERR_VERIFY] = "errVERIFY",
	[USB_DFU_STATUS_ERR_ADDRESS] = "errADDRESS",
	[USB_DFU_STATUS_ERR_NOTDONE] = "errNOTDONE",
	[USB_DFU_STATUS_ERR_FIRMWARE] = "errFIRMWARE",
	[USB_DFU_STATUS_ERR_VENDOR] = "errVENDOR",
	[USB_DFU_STATUS_ERR_USBR] = "errUSBR",
	[USB_DFU_STATUS_ERR_POR] = "errPOR",
	[USB_DFU_STATUS_ERR_UNKNOWN] = "errUNKNOWN",
	[USB_DFU_STATUS_ERR_STALLEDPKT] = "errSTALLEDPKT",
};

const char *dfu_state_str(unsigned int state)
{
	return state < sizeof(states) / sizeof(states[0]) ? states[state] : "unknown";
}

const char *dfu_status_str(unsigned int status)
{
	return status < sizeof(statuses) / sizeof(statuses[0]) ? statuses[status] : "unknown";
}
