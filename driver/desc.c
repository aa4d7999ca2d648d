// SPDX-License-Identifier: GPL-2.0
/*
 * desc.c - the DFU functional descriptor and what it tells about a device
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include "dfu.h"

/* Transfer size used when the descriptor says 0 (fwupd does the same). */
#define DFU_FALLBACK_TRANSFER_SIZE	64

static struct dfu_functional_desc *dfu_find_functional(struct usb_interface *intf)
{
	struct usb_host_config *config = interface_to_usbdev(intf)->actconfig;
	struct dfu_functional_desc *desc;
	unsigned int i;

	/*
	 * Devices in DFU mode put it after the last alternate setting, so
	 * usbcore files it with that one; DFU 1.0 devices also place it at
	 * the configuration level. Look everywhere.
	 */
	for (i = 0; i < intf->num_altsetting; i++) {
		struct usb_host_interface *alt = &intf->altsetting[i];

		if (!__usb_get_extra_descriptor(alt->extra, alt->extralen,
						USB_DT_DFU_FUNCTIONAL, (void **)&desc,
						DFU_FUNC_DESC_MIN_LEN))
			return desc;
	}
	if (config && !__usb_get_extra_descriptor(config->extra, config->extralen,
						  USB_DT_DFU_FUNCTIONAL, (void **)&desc,
						  DFU_FUNC_DESC_MIN_LEN))
		return desc;
	return NULL;
}

/**
 * dfu_parse_descriptors() - fill @dfu->info from the interface's descriptors
 * @dfu: the device being probed
 * @intf: its DFU interface
 *
 * Accepts the 9-byte DFU 1.1 functional descriptor and the 7-byte DFU 1.0
 * one (DFU 1.1 section 4.1.3; 1.0 has no bcdDFUVersion).
 *
 * Context: probe.
 * Return: 0, or -ENODEV with one error logged when the interface has no
 * usable functional descriptor.
 */
int dfu_parse_descriptors(struct dfu_dev *dfu, struct usb_interface *intf)
{
	struct usb_device *udev = interface_to_usbdev(intf);
	struct usb_host_interface *cur = intf->cur_altsetting;
	struct dfu_functional_desc *desc = dfu_find_functional(intf);
	struct dfu_info *info = &dfu->info;

	if (!desc) {
		dev_err(&intf->dev,
			"no DFU functional descriptor (type 0x21, at least %d bytes) in interface %u\n",
			DFU_FUNC_DESC_MIN_LEN, cur->desc.bInterfaceNumber);
		return -ENODEV;
	}

	info->idVendor = le16_to_cpu(udev->descriptor.idVendor);
	info->idProduct = le16_to_cpu(udev->descriptor.idProduct);
	info->bcdDevice = le16_to_cpu(udev->descriptor.bcdDevice);
	info->bmAttributes = desc->bmAttributes;
	info->wDetachTimeOut = le16_to_cpu(desc->wDetachTimeOut);
	info->wTransferSize = le16_to_cpu(desc->wTransferSize);
	info->bcdDFUVersion = desc->bLength >= sizeof(*desc) ?
			      le16_to_cpu(desc->bcdDFUVersion) : 0x0100;
	info->bInterfaceNumber = cur->desc.bInterfaceNumber;
	info->bNumAltSettings = intf->num_altsetting;
	info->bAlternateSetting = 0;
	info->mode = DFU_MODE_DFU;

	if (!info->wTransferSize) {
		dev_warn(&intf->dev, "wTransferSize is 0, using %d bytes\n",
			 DFU_FALLBACK_TRANSFER_SIZE);
		info->wTransferSize = DFU_FALLBACK_TRANSFER_SIZE;
	}
	return 0;
}
