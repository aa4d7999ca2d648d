// SPDX-License-Identifier: GPL-2.0
/*
 * The layout of every struct and ioctl number of <linux/usb/dfu.h>,
 * asserted at compile time. tests/cross.sh compiles this file (-c, nothing
 * is linked or run) for x86_64 (-m64), i386 (-m32), arm64 and armhf: it
 * builds only where every size, offset and ioctl number is the one written
 * here, so a 32-bit program and the 64-bit kernel agree on each byte and
 * .compat_ioctl = compat_ptr_ioctl needs no translation.
 *
 * The numbers are those of the header's natural layout: every field at a
 * multiple of its size, explicit reserved bytes where a gap would be, and
 * each struct's size a multiple of its largest field, so that i386's 4-byte
 * alignment of __u64 inside structs changes nothing. Alignment of a whole
 * struct is not asserted: it is 4 on i386 and 8 on x86_64 for
 * struct usb_dfu_result, and the ioctls copy sizeof bytes whatever it is.
 *
 * tests/cross.sh also checks that every struct field and every
 * USB_DFU_IOCTL_* of the header appears here: a field added to the
 * header without a line below fails that check.
 */
#include <stddef.h>
#include <linux/ioctl.h>
#include <linux/usb/dfu.h>

#define SIZE(type, size) \
	_Static_assert(sizeof(type) == (size), "sizeof(" #type ") is not " #size)
#define FIELD(type, field, offset, size) \
	_Static_assert(offsetof(type, field) == (offset), \
		       "offsetof(" #type ", " #field ") is not " #offset); \
	_Static_assert(sizeof(((type *)0)->field) == (size), \
		       "sizeof(" #type "." #field ") is not " #size)
#define IOCTL(cmd, value) \
	_Static_assert((cmd) == (value), #cmd " is not " #value)

SIZE(struct usb_dfu_status, 8);
FIELD(struct usb_dfu_status, bStatus, 0, 1);
FIELD(struct usb_dfu_status, bState, 1, 1);
FIELD(struct usb_dfu_status, iString, 2, 1);
FIELD(struct usb_dfu_status, reserved, 3, 1);
FIELD(struct usb_dfu_status, bwPollTimeout, 4, 4);

SIZE(struct usb_dfu_info, 20);
FIELD(struct usb_dfu_info, idVendor, 0, 2);
FIELD(struct usb_dfu_info, idProduct, 2, 2);
FIELD(struct usb_dfu_info, bcdDevice, 4, 2);
FIELD(struct usb_dfu_info, wDetachTimeOut, 6, 2);
FIELD(struct usb_dfu_info, wTransferSize, 8, 2);
FIELD(struct usb_dfu_info, bcdDFUVersion, 10, 2);
FIELD(struct usb_dfu_info, bmAttributes, 12, 1);
FIELD(struct usb_dfu_info, bInterfaceNumber, 13, 1);
FIELD(struct usb_dfu_info, bNumAltSettings, 14, 1);
FIELD(struct usb_dfu_info, bAlternateSetting, 15, 1);
FIELD(struct usb_dfu_info, mode, 16, 1);
FIELD(struct usb_dfu_info, commit, 17, 1);
FIELD(struct usb_dfu_info, dialect, 18, 1);
FIELD(struct usb_dfu_info, reserved, 19, 1);

SIZE(struct usb_dfu_result, 32);
FIELD(struct usb_dfu_result, error, 0, 4);
FIELD(struct usb_dfu_result, bStatus, 4, 1);
FIELD(struct usb_dfu_result, bState, 5, 1);
FIELD(struct usb_dfu_result, reserved, 6, 2);
FIELD(struct usb_dfu_result, block, 8, 4);
FIELD(struct usb_dfu_result, flags, 12, 4);
FIELD(struct usb_dfu_result, bytes, 16, 8);
FIELD(struct usb_dfu_result, duration_us, 24, 8);

SIZE(struct usb_dfu_dfuse_erase, 8);
FIELD(struct usb_dfu_dfuse_erase, address, 0, 4);
FIELD(struct usb_dfu_dfuse_erase, length, 4, 4);

/*
 * _IOC(dir, 0xDF, nr, size) of <asm-generic/ioctl.h>, which x86, arm and
 * arm64 share: dir << 30 (read 2, write 1) | size << 16 | 0xDF << 8 | nr.
 * compat_ptr_ioctl() passes the command on unchanged, so a 32-bit program
 * must compute the very same numbers.
 */
IOCTL(USB_DFU_IOCTL_GET_STATUS, 0x8008DF00u);
IOCTL(USB_DFU_IOCTL_GET_STATE, 0x8001DF01u);
IOCTL(USB_DFU_IOCTL_CLR_STATUS, 0x0000DF02u);
IOCTL(USB_DFU_IOCTL_ABORT, 0x0000DF03u);
IOCTL(USB_DFU_IOCTL_GET_INFO, 0x8014DF04u);
IOCTL(USB_DFU_IOCTL_GET_RESULT, 0x8020DF05u);
IOCTL(USB_DFU_IOCTL_SET_ALT, 0x4004DF06u);
IOCTL(USB_DFU_IOCTL_DETACH, 0x4004DF07u);
IOCTL(USB_DFU_IOCTL_RESET, 0x0000DF08u);
IOCTL(USB_DFU_IOCTL_SET_COMMIT, 0x4004DF09u);
IOCTL(USB_DFU_IOCTL_COMMIT, 0x0000DF0Au);
IOCTL(USB_DFU_IOCTL_DFUSE_SET_BASE, 0x4004DF0Bu);
IOCTL(USB_DFU_IOCTL_DFUSE_ERASE, 0x4008DF0Cu);
IOCTL(USB_DFU_IOCTL_DFUSE_MASS_ERASE, 0x4004DF0Du);
IOCTL(USB_DFU_IOCTL_DFUSE_UNPROTECT, 0x4004DF0Eu);
