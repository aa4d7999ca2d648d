// SPDX-License-Identifier: GPL-2.0
/*
 * desc.c - the DFU functional descriptor and what it tells about a device
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kernel.h>
#include <linux/slab.h>
#include <linux/string.h>
#include "dfu.h"

/*
 * Transfer sizes used when the descriptor says 0 or 0xffff, values that
 * devices report when they do not know (fwupd does the same).
 */
#define DFU_FALLBACK_TRANSFER_SIZE	64
#define DFU_UNKNOWN_TRANSFER_SIZE	0xffff
#define DFU_FALLBACK_LARGE_TRANSFER_SIZE	1024

/*
 * Look at every functional descriptor in one extra-descriptor buffer. The
 * first one found is kept in *@found; any other must be a byte-for-byte
 * copy of it. Only the two lengths the specifications define are taken.
 */
static int dfu_scan_functional(struct usb_interface *intf, const u8 *buf,
			       int len, const struct usb_dfu_functional_descriptor **found)
{
	const struct usb_descriptor_header *h;

	for (; len >= (int)sizeof(*h); buf += h->bLength, len -= h->bLength) {
		h = (const struct usb_descriptor_header *)buf;
		if (h->bLength < sizeof(*h) || h->bLength > len)
			break;	/* usbcore already warned about the rest */
		if (h->bDescriptorType != USB_DT_DFU_FUNCTIONAL)
			continue;
		if (h->bLength != DFU_FUNC_DESC_LEN_1_0 &&
		    h->bLength != sizeof(**found)) {
			dev_err(&intf->dev,
				"DFU functional descriptor of %u bytes: DFU 1.0 has %d, DFU 1.1 %zu\n",
				h->bLength, DFU_FUNC_DESC_LEN_1_0, sizeof(**found));
			return -EINVAL;
		}
		if (!*found) {
			*found = (const struct usb_dfu_functional_descriptor *)buf;
		} else if ((*found)->bLength != h->bLength ||
			   memcmp(*found, buf, h->bLength)) {
			dev_err(&intf->dev,
				"two DFU functional descriptors that differ\n");
			return -EINVAL;
		}
	}
	return 0;
}

/*
 * The functional descriptor: devices in DFU mode put it after the last
 * alternate setting, so usbcore files it with that one; DFU 1.0 devices
 * also place it at the configuration level. Look everywhere, and refuse
 * a malformed one or two that disagree rather than guess.
 */
static int dfu_find_functional(struct usb_interface *intf,
			       const struct usb_dfu_functional_descriptor **found)
{
	struct usb_host_config *config = interface_to_usbdev(intf)->actconfig;
	unsigned int i;
	int ret;

	*found = NULL;
	for (i = 0; i < intf->num_altsetting; i++) {
		struct usb_host_interface *alt = &intf->altsetting[i];

		ret = dfu_scan_functional(intf, alt->extra, alt->extralen, found);
		if (ret)
			return ret;
	}
	if (config)
		return dfu_scan_functional(intf, config->extra, config->extralen,
					   found);
	return 0;
}

/*
 * DFU mode or run-time mode? bInterfaceProtocol says 2 or 1, but DFU 1.0
 * devices and some ROMs (STM32) say 0 in both modes: then an interface
 * that is the only one of its configuration is in DFU mode, as a run-time
 * DFU interface sits beside the product's own functions. Devices that say
 * 1 in DFU mode (NXP LPC) need the DFU_QUIRK_FORCE_DFU quirk.
 */
static u8 dfu_decide_mode(struct usb_interface *intf, u32 quirks)
{
	struct usb_host_config *config = interface_to_usbdev(intf)->actconfig;
	u8 protocol = intf->cur_altsetting->desc.bInterfaceProtocol;

	if (protocol == 2 || (quirks & (DFU_QUIRK_FORCE_DFU | DFU_QUIRK_APPLE)))
		return USB_DFU_MODE_DFU;
	if (protocol == 0 && config && config->desc.bNumInterfaces == 1)
		return USB_DFU_MODE_DFU;
	return USB_DFU_MODE_RUNTIME;
}

/*
 * DFU requests go over the control pipe only (DFU 1.1, 4.2.1): an
 * interface with endpoints is another protocol's under the DFU class code,
 * such as Apple's recovery mode (FE/01/02 with a bulk endpoint).
 */
static unsigned int dfu_count_endpoints(struct usb_interface *intf)
{
	unsigned int i, n = 0;

	for (i = 0; i < intf->num_altsetting; i++)
		n += intf->altsetting[i].desc.bNumEndpoints;
	return n;
}

/*
 * Apple's SecureROM in DFU mode has protocol 0 and a 7-byte DFU 1.0
 * descriptor (protocol reference, section 16); its IDs in another shape
 * are some other firmware, which is left alone.
 */
static int dfu_apple_shape(struct dfu_dev *dfu, struct usb_interface *intf,
			   const struct usb_dfu_functional_descriptor *desc)
{
	struct usb_dfu_info *info = &dfu->info;

	if (intf->cur_altsetting->desc.bInterfaceProtocol != 0 ||
	    desc->bLength != DFU_FUNC_DESC_LEN_1_0) {
		dev_info(&intf->dev, "not the shape of Apple's DFU mode (protocol 0, 7-byte descriptor): left alone\n");
		return -ENODEV;
	}
	info->dialect = USB_DFU_DIALECT_APPLE;
	info->wTransferSize = min_t(u16, info->wTransferSize,
				    DFU_APPLE_TRANSFER_SIZE);
	return 0;
}

/**
 * dfu_parse_descriptors() - fill @dfu->info from the interface's descriptors
 * @dfu: the device being probed
 * @intf: its DFU interface
 *
 * Accepts the 9-byte DFU 1.1 functional descriptor and the 7-byte DFU 1.0
 * one (DFU 1.1 section 4.1.3; 1.0 has no bcdDFUVersion), also repeated
 * identically, and applies the device's quirks, which must be in
 * @dfu->quirks. An interface with endpoints is not DFU unless a quirk
 * says so (DFU_QUIRK_ENDPOINTS).
 *
 * Context: probe.
 * Return: 0, or -ENODEV with one message logged when the interface has
 * endpoints, no functional descriptor, one of another length, or two that
 * differ, or a DFU_QUIRK_APPLE device is not in Apple's DFU-mode shape.
 */
int dfu_parse_descriptors(struct dfu_dev *dfu, struct usb_interface *intf)
{
	struct usb_device *udev = interface_to_usbdev(intf);
	struct usb_host_interface *cur = intf->cur_altsetting;
	const struct usb_dfu_functional_descriptor *desc;
	struct usb_dfu_info *info = &dfu->info;
	unsigned int endpoints;

	endpoints = dfu_count_endpoints(intf);
	if (endpoints && !(dfu->quirks & DFU_QUIRK_ENDPOINTS)) {
		dev_info(&intf->dev, "interface %u has %u endpoints: not DFU, which uses the control pipe only; left alone\n",
			 cur->desc.bInterfaceNumber, endpoints);
		return -ENODEV;
	}
	if (dfu_find_functional(intf, &desc))
		return -ENODEV;
	if (!desc) {
		dev_err(&intf->dev,
			"no DFU functional descriptor (type 0x21) in interface %u\n",
			cur->desc.bInterfaceNumber);
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
	info->mode = dfu_decide_mode(intf, dfu->quirks);

	if (dfu->quirks & DFU_QUIRK_VERSION_1_1)
		info->bcdDFUVersion = 0x0110;
	if (dfu->quirks & DFU_QUIRK_NO_UPLOAD)
		info->bmAttributes &= ~DFU_FUNC_ATT_CAN_UPLOAD;

	if (!info->wTransferSize) {
		dev_warn(&intf->dev, "wTransferSize is 0, using %d bytes\n",
			 DFU_FALLBACK_TRANSFER_SIZE);
		info->wTransferSize = DFU_FALLBACK_TRANSFER_SIZE;
	} else if (info->wTransferSize == DFU_UNKNOWN_TRANSFER_SIZE) {
		dev_warn(&intf->dev, "wTransferSize is 0xffff, using %d bytes\n",
			 DFU_FALLBACK_LARGE_TRANSFER_SIZE);
		info->wTransferSize = DFU_FALLBACK_LARGE_TRANSFER_SIZE;
	}
	if (dfu->quirks & DFU_QUIRK_APPLE)
		return dfu_apple_shape(dfu, intf, desc);
	return 0;
}

/* Longest alt-setting name kept, in bytes (DfuSe memory maps run long). */
#define DFU_ALT_NAME_MAX	256

/**
 * dfu_read_alt_names() - read the iInterface string of every alt setting
 * @dfu: the device being probed; fills @dfu->alt_names
 * @intf: its DFU interface
 *
 * The names tell DFU targets apart ("Flash", "u-boot", a DfuSe memory map).
 * An alt setting without a string, or whose string cannot be read, gets "".
 *
 * Context: probe.
 * Return: 0 or -ENOMEM.
 */
int dfu_read_alt_names(struct dfu_dev *dfu, struct usb_interface *intf)
{
	struct usb_device *udev = interface_to_usbdev(intf);
	unsigned int i, n = intf->num_altsetting;
	unsigned char *p;
	char *buf;

	dfu->alt_names = kcalloc(n, sizeof(*dfu->alt_names), GFP_KERNEL);
	dfu->alt_nums = kcalloc(n, sizeof(*dfu->alt_nums), GFP_KERNEL);
	buf = kmalloc(DFU_ALT_NAME_MAX, GFP_KERNEL);
	if (!dfu->alt_names || !dfu->alt_nums || !buf)
		goto err;
	for (i = 0; i < n; i++) {
		struct usb_host_interface *alt = &intf->altsetting[i];
		int len = 0;

		dfu->alt_nums[i] = alt->desc.bAlternateSetting;
		if (alt->desc.iInterface)
			len = usb_string(udev, alt->desc.iInterface, buf,
					 DFU_ALT_NAME_MAX);
		dfu->alt_names[i] = kstrndup(buf, len > 0 ? len : 0, GFP_KERNEL);
		if (!dfu->alt_names[i])
			goto err;
		/* one name per line in sysfs: no line a device could forge */
		for (p = (unsigned char *)dfu->alt_names[i]; *p; p++)
			if (*p < 0x20 || *p == 0x7f)
				*p = '?';
	}
	kfree(buf);
	return 0;
err:
	kfree(buf);
	return -ENOMEM;
}

/**
 * dfu_free_alt_names() - free what dfu_read_alt_names() allocated
 * @dfu: the device
 *
 * Context: release of the device.
 */
void dfu_free_alt_names(struct dfu_dev *dfu)
{
	unsigned int i;

	kfree(dfu->alt_nums);
	if (!dfu->alt_names)
		return;
	for (i = 0; i < dfu->info.bNumAltSettings; i++)
		kfree(dfu->alt_names[i]);
	kfree(dfu->alt_names);
}

/**
 * dfu_has_alt() - does the interface have this alternate setting?
 * @dfu: the device
 * @alt: a bAlternateSetting number
 *
 * Context: any.
 * Return: true if one of the interface's alt settings has that number.
 */
bool dfu_has_alt(struct dfu_dev *dfu, unsigned int alt)
{
	unsigned int i;

	for (i = 0; i < dfu->info.bNumAltSettings; i++)
		if (dfu->alt_nums[i] == alt)
			return true;
	return false;
}

/**
 * dfu_find_alt() - the alternate setting a user named
 * @dfu: the device
 * @name: a bAlternateSetting number, or an alt setting's name as the
 *	sysfs attribute alt_names shows it (a trailing newline is ignored)
 *
 * Context: any.
 * Return: the bAlternateSetting, or -EINVAL if the interface has none such.
 */
int dfu_find_alt(struct dfu_dev *dfu, const char *name)
{
	unsigned int alt, i;

	if (!kstrtouint(name, 0, &alt))
		return dfu_has_alt(dfu, alt) ? alt : -EINVAL;
	for (i = 0; i < dfu->info.bNumAltSettings; i++)
		if (*dfu->alt_names[i] && sysfs_streq(name, dfu->alt_names[i]))
			return dfu->alt_nums[i];
	return -EINVAL;
}
