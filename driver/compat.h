/* SPDX-License-Identifier: GPL-2.0 */
/*
 * compat.h - every difference between the kernels the DFU driver builds on
 *
 * One shim per difference, each naming the version that changed. Feature
 * tests are preferred to version checks, because distributions backport.
 */

#ifndef _DFU_COMPAT_H
#define _DFU_COMPAT_H

#include <linux/usb/ch9.h>
#include <linux/usb/functionfs.h>

#include <linux/version.h>

/*
 * 6.12 moved asm/unaligned.h to linux/unaligned.h. A header cannot be
 * feature-tested without __has_include, which checkpatch cannot parse.
 */
#if KERNEL_VERSION(6, 12, 0) <= LINUX_VERSION_CODE
#include <linux/unaligned.h>
#else
#include <asm/unaligned.h>
#endif

/* 6.12 added the DFU class constants to the uapi ch9.h; older kernels lack them. */
#ifndef USB_DT_DFU_FUNCTIONAL
#define USB_DT_DFU_FUNCTIONAL		0x21
#endif

#ifndef USB_SUBCLASS_DFU
#define USB_SUBCLASS_DFU		0x01
#endif

/*
 * 6.12 added the DFU functional descriptor and its bmAttributes bits to the
 * uapi functionfs.h; the bits come with the structure.
 */
#ifndef DFU_FUNC_ATT_CAN_DOWNLOAD
struct usb_dfu_functional_descriptor {
	__u8 bLength;
	__u8 bDescriptorType;
	__u8 bmAttributes;
	__le16 wDetachTimeOut;
	__le16 wTransferSize;
	__le16 bcdDFUVersion;
} __packed;

#define DFU_FUNC_ATT_CAN_DOWNLOAD	BIT(0)
#define DFU_FUNC_ATT_CAN_UPLOAD		BIT(1)
#define DFU_FUNC_ATT_MANIFEST_TOLERANT	BIT(2)
#define DFU_FUNC_ATT_WILL_DETACH	BIT(3)
#endif

#endif /* _DFU_COMPAT_H */
