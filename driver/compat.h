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

/* 6.12 added the DFU class constants to the uapi ch9.h; older kernels lack them. */
#ifndef USB_DT_DFU_FUNCTIONAL
#define USB_DT_DFU_FUNCTIONAL		0x21
#endif

#ifndef USB_SUBCLASS_DFU
#define USB_SUBCLASS_DFU		0x01
#endif

#endif /* _DFU_COMPAT_H */
