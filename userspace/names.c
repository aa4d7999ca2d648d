// SPDX-License-Identifier: GPL-2.0
/* names.c - DFU 1.1 names of bState and bStatus values (DFU 1.1, 6.1.2) */
#include <linux/usb/dfu.h>

#include "names.h"

static const char *const states[] = {
	[DFU_STATE_APP_IDLE] = "appIDLE",
	[DFU_STATE_APP_DETACH] = "appDETACH",
	[DFU_STATE_DFU_IDLE] = "dfuIDLE",
	[DFU_STATE_DNLOAD_SYNC] = "dfuDNLOAD-SYNC",
	[DFU_STATE_DNBUSY] = "dfuDNBUSY",
	[DFU_STATE_DNLOAD_IDLE] = "dfuDNLOAD-IDLE",
	[DFU_STATE_MANIFEST_SYNC] = "dfuMANIFEST-SYNC",
	[DFU_STATE_MANIFEST] = "dfuMANIFEST",
	[DFU_STATE_MANIFEST_WAIT_RESET] = "dfuMANIFEST-WAIT-RESET",
	[DFU_STATE_UPLOAD_IDLE] = "dfuUPLOAD-IDLE",
	[DFU_STATE_ERROR] = "dfuERROR",
};

static const char *const statuses[] = {
	[DFU_STATUS_OK] = "OK",
	[DFU_STATUS_ERR_TARGET] = "errTARGET",
	[DFU_STATUS_ERR_FILE] = "errFILE",
	[DFU_STATUS_ERR_WRITE] = "errWRITE",
	[DFU_STATUS_ERR_ERASE] = "errERASE",
	[DFU_STATUS_ERR_CHECK_ERASED] = "errCHECK_ERASED",
	[DFU_STATUS_ERR_PROG] = "errPROG",
	[DFU_STATUS_ERR_VERIFY] = "errVERIFY",
	[DFU_STATUS_ERR_ADDRESS] = "errADDRESS",
	[DFU_STATUS_ERR_NOTDONE] = "errNOTDONE",
	[DFU_STATUS_ERR_FIRMWARE] = "errFIRMWARE",
	[DFU_STATUS_ERR_VENDOR] = "errVENDOR",
	[DFU_STATUS_ERR_USBR] = "errUSBR",
	[DFU_STATUS_ERR_POR] = "errPOR",
	[DFU_STATUS_ERR_UNKNOWN] = "errUNKNOWN",
	[DFU_STATUS_ERR_STALLEDPKT] = "errSTALLEDPKT",
};

const char *dfu_state_str(unsigned int state)
{
	return state < sizeof(states) / sizeof(states[0]) ? states[state] : "unknown";
}

const char *dfu_status_str(unsigned int status)
{
	return status < sizeof(statuses) / sizeof(statuses[0]) ? statuses[status] : "unknown";
}
