// SPDX-License-Identifier: GPL-2.0
/*
 * usb.c - USB DFU class driver: module, match table, probe and disconnect
 *
 * Binds interfaces of class 0xFE (application specific), subclass 0x01
 * (Device Firmware Upgrade) and publishes each as /dev/dfuN. See
 * Documentation/usb/dfu.rst.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/slab.h>
#include "dfu.h"

/*
 * A parameter in milliseconds that takes only values in [min, max]: a
 * ctrl_timeout_ms of 0 would fail every request.
 */
static int dfu_param_set_ms(const char *val, const struct kernel_param *kp,
			    unsigned int min, unsigned int max)
{
	unsigned int ms;

	if (kstrtouint(val, 0, &ms) || ms < min || ms > max)
		return -EINVAL;
	WRITE_ONCE(*(unsigned int *)kp->arg, ms);
	return 0;
}

static int dfu_set_ctrl_timeout(const char *val, const struct kernel_param *kp)
{
	return dfu_param_set_ms(val, kp, 100, 600000);
}

static int dfu_set_busy_timeout(const char *val, const struct kernel_param *kp)
{
	return dfu_param_set_ms(val, kp, 100, 3600000);
}

static const struct kernel_param_ops dfu_ctrl_timeout_ops = {
	.set = dfu_set_ctrl_timeout,
	.get = param_get_uint,
};

static const struct kernel_param_ops dfu_busy_timeout_ops = {
	.set = dfu_set_busy_timeout,
	.get = param_get_uint,
};

unsigned int dfu_ctrl_timeout_ms = 40000;
module_param_cb(ctrl_timeout_ms, &dfu_ctrl_timeout_ops, &dfu_ctrl_timeout_ms, 0644);
MODULE_PARM_DESC(ctrl_timeout_ms,
		 "Time limit of one control request in ms, 100 to 600000; long enough for devices that erase inside the request (default 40000)");

unsigned int dfu_busy_timeout_ms = 120000;
module_param_cb(busy_timeout_ms, &dfu_busy_timeout_ops, &dfu_busy_timeout_ms, 0644);
MODULE_PARM_DESC(busy_timeout_ms,
		 "Time limit in ms, 100 to 3600000, for a device to finish one block or manifestation, bwPollTimeout waits included (default 120000)");

bool dfu_suffix_guard = true;
module_param_named(suffix_guard, dfu_suffix_guard, bool, 0644);
MODULE_PARM_DESC(suffix_guard,
		 "Strip a DFU suffix at the end of a written image and refuse to manifest an image whose suffix names another device (default Y)");

bool dfu_bind_runtime = true;
module_param_named(bind_runtime, dfu_bind_runtime, bool, 0644);
MODULE_PARM_DESC(bind_runtime,
		 "Bind run-time DFU interfaces too, for USB_DFU_IOCTL_DETACH (default Y); N leaves them to dfu-util and fwupd");

bool dfu_bind_apple = true;
module_param_named(bind_apple, dfu_bind_apple, bool, 0644);
MODULE_PARM_DESC(bind_apple,
		 "Bind Apple devices in DFU mode (05ac:1227) (default Y); N leaves them to irecovery and idevicerestore");

unsigned int dfu_default_commit = USB_DFU_COMMIT_CLOSE;

static int dfu_set_commit(const char *val, const struct kernel_param *kp)
{
	int commit = dfu_parse_commit(val);

	if (commit < 0)
		return commit;
	WRITE_ONCE(dfu_default_commit, commit);
	return 0;
}

static int dfu_get_commit(char *buf, const struct kernel_param *kp)
{
	return sysfs_emit(buf, "%s\n", dfu_commit_name(READ_ONCE(dfu_default_commit)));
}

static const struct kernel_param_ops dfu_commit_ops = {
	.set = dfu_set_commit,
	.get = dfu_get_commit,
};

module_param_cb(commit, &dfu_commit_ops, NULL, 0644);
MODULE_PARM_DESC(commit,
		 "Commit policy of devices bound from now on: close (default), suffix or explicit; see the sysfs attribute commit");

/*
 * The run-time devices the driver detached lately, by USB port: such a
 * device comes back in DFU mode on the same port with other IDs, and its
 * images may carry the run-time ones in their suffix (dfu-util accepts
 * either). The first DFU-mode device on that port within DFU_PORT_TTL
 * takes the record; no other device gets it.
 */
#define DFU_PORTS	16
#define DFU_PORT_TTL	(60 * HZ)

struct dfu_port_id {
	int busnum;
	char devpath[16];
	u16 vid;
	u16 pid;
	unsigned long when;
};

static struct dfu_port_id dfu_ports[DFU_PORTS];
static unsigned int dfu_ports_next;
static DEFINE_MUTEX(dfu_ports_lock);

static struct dfu_port_id *dfu_port_find(struct usb_device *udev)
{
	unsigned int i;

	for (i = 0; i < DFU_PORTS; i++)
		if (dfu_ports[i].busnum == udev->bus->busnum &&
		    !strcmp(dfu_ports[i].devpath, udev->devpath))
			return &dfu_ports[i];
	return NULL;
}

/**
 * dfu_remember_detach() - note a run-time device's IDs before its detach
 * @dfu: a device in run-time mode, about to be sent DFU_DETACH
 *
 * Context: process.
 */
void dfu_remember_detach(struct dfu_dev *dfu)
{
	struct usb_device *udev = dfu->udev;
	struct dfu_port_id *p;

	mutex_lock(&dfu_ports_lock);
	p = dfu_port_find(udev);
	if (!p) {
		p = &dfu_ports[dfu_ports_next];
		dfu_ports_next = (dfu_ports_next + 1) % DFU_PORTS;
	}
	p->busnum = udev->bus->busnum;
	strscpy(p->devpath, udev->devpath, sizeof(p->devpath));
	p->vid = dfu->info.idVendor;
	p->pid = dfu->info.idProduct;
	p->when = jiffies;
	mutex_unlock(&dfu_ports_lock);
}

/* A DFU-mode device takes the run-time IDs detached on its port, if any. */
static void dfu_take_runtime_id(struct dfu_dev *dfu)
{
	struct dfu_port_id *p;

	mutex_lock(&dfu_ports_lock);
	p = dfu_port_find(dfu->udev);
	if (p && time_before(jiffies, p->when + DFU_PORT_TTL) &&
	    (p->vid != dfu->info.idVendor || p->pid != dfu->info.idProduct)) {
		dfu->runtime_vid = p->vid;
		dfu->runtime_pid = p->pid;
		dfu->has_runtime_id = true;
	}
	if (p)
		p->busnum = 0;	/* used up */
	mutex_unlock(&dfu_ports_lock);
}

/* bInterfaceProtocol: 0 DFU 1.0 (either mode), 1 run-time, 2 DFU mode */
static const struct usb_device_id dfu_ids[] = {
	{ USB_INTERFACE_INFO(USB_CLASS_APP_SPEC, USB_SUBCLASS_DFU, 0x00) },
	{ USB_INTERFACE_INFO(USB_CLASS_APP_SPEC, USB_SUBCLASS_DFU, 0x01) },
	{ USB_INTERFACE_INFO(USB_CLASS_APP_SPEC, USB_SUBCLASS_DFU, 0x02) },
	{ }
};
MODULE_DEVICE_TABLE(usb, dfu_ids);

/**
 * dfu_release_dev() - free a DFU device when its last reference is gone
 * @dev: the class device embedded in struct dfu_dev
 *
 * Context: any process context that drops the last reference: disconnect(),
 * the release of the last open file, or a failed probe.
 */
void dfu_release_dev(struct device *dev)
{
	struct dfu_dev *dfu = container_of(dev, struct dfu_dev, dev);

	dfu_dfuse_free(dfu);
	dfu_free_alt_names(dfu);
	usb_free_urb(dfu->urb);
	kfree(dfu->setup);
	kfree(dfu->buf);
	kfree(dfu->sbuf);
	usb_put_intf(dfu->intf);
	usb_put_dev(dfu->udev);
	kfree(dfu);
}

static int dfu_probe(struct usb_interface *intf, const struct usb_device_id *id)
{
	struct usb_dfu_status st;
	struct dfu_dev *dfu;
	int ret;

	dfu = kzalloc(sizeof(*dfu), GFP_KERNEL);
	if (!dfu)
		return -ENOMEM;
	dfu->udev = usb_get_dev(interface_to_usbdev(intf));
	dfu->intf = usb_get_intf(intf);	/* the reset ioctls use it unlocked */
	mutex_init(&dfu->io_mutex);
	spin_lock_init(&dfu->lock);
	init_waitqueue_head(&dfu->wait);
	init_completion(&dfu->done);
	dfu->seen_state = DFU_UNKNOWN;
	dfu->seen_status = DFU_UNKNOWN;
	dfu_chardev_setup(dfu);

	dfu->quirks = dfu_quirks(dfu->udev);
	ret = -ENODEV;
	if (dfu->quirks & DFU_QUIRK_IGNORE)
		goto err_put;
	ret = dfu_parse_descriptors(dfu, intf);
	if (ret)
		goto err_put;
	ret = -ENODEV;
	if (dfu->info.mode == USB_DFU_MODE_RUNTIME && !READ_ONCE(dfu_bind_runtime))
		goto err_put;
	if (dfu_apple(dfu) && !READ_ONCE(dfu_bind_apple))
		goto err_put;
	ret = dfu_read_alt_names(dfu, intf);
	if (ret)
		goto err_put;
	if (dfu->info.mode == USB_DFU_MODE_DFU &&
	    (dfu->info.bcdDFUVersion == DFU_VERSION_DFUSE ||
	     (dfu->quirks & DFU_QUIRK_DFUSE))) {
		dfu->info.dialect = USB_DFU_DIALECT_DFUSE;
		ret = dfu_dfuse_init(dfu);
		if (ret)
			goto err_put;
	}
	dfu->def_commit = READ_ONCE(dfu_default_commit);
	if (dfu->info.mode == USB_DFU_MODE_DFU)
		dfu_take_runtime_id(dfu);

	ret = -ENOMEM;
	dfu->urb = usb_alloc_urb(0, GFP_KERNEL);
	dfu->setup = kmalloc(sizeof(*dfu->setup), GFP_KERNEL);
	dfu->buf = kmalloc(dfu->info.wTransferSize + DFU_SUFFIX_MAX, GFP_KERNEL);
	dfu->sbuf = kmalloc(DFU_GETSTATUS_LEN, GFP_KERNEL);
	if (!dfu->urb || !dfu->setup || !dfu->buf || !dfu->sbuf)
		goto err_put;

	/*
	 * What sysfs state and status show until the next request. Probe
	 * runs on the hub's thread: a device that does not answer may hold
	 * it for USB_CTRL_GET_TIMEOUT at most, not for ctrl_timeout_ms.
	 */
	if (dfu->info.mode == USB_DFU_MODE_DFU) {
		mutex_lock(&dfu->io_mutex);
		ret = dfu_read_status(dfu, &st, USB_CTRL_GET_TIMEOUT, true);
		/* a blank STM32 starts in dfuERROR: its first transfer asks */
		if (!ret && dfu->dfuse && st.bState == USB_DFU_STATE_DFU_IDLE)
			dfu_dfuse_learn(dfu, USB_CTRL_GET_TIMEOUT);
		mutex_unlock(&dfu->io_mutex);
	}

	usb_set_intfdata(intf, dfu);
	ret = dfu_chardev_add(dfu);
	if (ret) {
		usb_set_intfdata(intf, NULL);
		goto err_put;
	}

	if (dfu_apple(dfu))
		dfu_apple_log(dfu);
	dev_dbg(&dfu->dev, "DFU %x.%02x %s interface %u of %04x:%04x, %u alt settings, wTransferSize %u, bmAttributes 0x%02x\n",
		dfu->info.bcdDFUVersion >> 8, dfu->info.bcdDFUVersion & 0xff,
		dfu->info.mode == USB_DFU_MODE_DFU ? "DFU-mode" : "run-time",
		dfu->info.bInterfaceNumber, dfu->info.idVendor,
		dfu->info.idProduct, dfu->info.bNumAltSettings,
		dfu->info.wTransferSize, dfu->info.bmAttributes);
	return 0;

err_put:
	put_device(&dfu->dev);
	return ret;
}

/**
 * dfu_usb_reset() - reset the device, as dfu-util -R does
 * @dfu: the device
 *
 * After DFU_DETACH this brings a run-time device up in DFU mode; after
 * manifestation it starts the new firmware. A device that comes back with
 * other descriptors is re-enumerated: this interface is disconnected and a
 * new one probed, and that counts as success.
 *
 * Context: process; must not hold io_mutex, which pre_reset takes.
 * Return: 0, -ENODEV once unplugged, or an error of usb_reset_device().
 */
int dfu_usb_reset(struct dfu_dev *dfu)
{
	int ret;

	if (dfu_gone(dfu))
		return -ENODEV;
	ret = usb_lock_device_for_reset(dfu->udev, dfu->intf);
	if (ret)
		return ret == -EINTR ? -ENODEV : ret;	/* -EINTR: unbinding */
	/* unbound (and maybe bound again) while we waited: not ours to reset */
	if (dfu_gone(dfu) || usb_get_intfdata(dfu->intf) != dfu) {
		usb_unlock_device(dfu->udev);
		return -ENODEV;
	}
	ret = usb_reset_device(dfu->udev);
	usb_unlock_device(dfu->udev);
	return ret == -ENODEV ? 0 : ret;
}

static void dfu_disconnect(struct usb_interface *intf)
{
	struct dfu_dev *dfu = usb_get_intfdata(intf);

	/* Calls in progress see this and fail with -ENODEV from here on. */
	set_bit(DFU_FLAG_GONE, &dfu->flags);
	/* end poll waits; poll() reports the hang-up */
	wake_up_all(&dfu->wait);
	/* End a request in flight now and refuse new ones. */
	usb_poison_urb(dfu->urb);
	dfu_chardev_del(dfu);

	/* Wait for the call holding the device to leave it. */
	mutex_lock(&dfu->io_mutex);
	mutex_unlock(&dfu->io_mutex);

	usb_set_intfdata(intf, NULL);
	dev_dbg(&intf->dev, "DFU interface disconnected\n");
	put_device(&dfu->dev);
}

/*
 * After a reset the device is in dfuIDLE or its run-time firmware, and
 * what it last said (a busy state, a long bwPollTimeout) no longer holds.
 */
static void dfu_forget_status(struct dfu_dev *dfu)
{
	memset(&dfu->status, 0, sizeof(dfu->status));
	WRITE_ONCE(dfu->seen_state, DFU_UNKNOWN);
	WRITE_ONCE(dfu->seen_status, DFU_UNKNOWN);
}

/*
 * A USB reset (ours, another interface's driver's, or usbfs's) returns a
 * DFU-mode device to dfuIDLE or to its run-time firmware. A call that holds
 * io_mutex is ended first, as cdc-wdm does: its request or poll wait fails
 * with -EIO (the transfer has lost its blocks), so the reset waits for no
 * slow device. Our requests are held off until post_reset().
 */
static int dfu_pre_reset(struct usb_interface *intf)
{
	struct dfu_dev *dfu = usb_get_intfdata(intf);

	set_bit(DFU_FLAG_RESETTING, &dfu->flags);
	wake_up_all(&dfu->wait);
	usb_poison_urb(dfu->urb);
	mutex_lock(&dfu->io_mutex);
	return 0;
}

static int dfu_post_reset(struct usb_interface *intf)
{
	struct dfu_dev *dfu = usb_get_intfdata(intf);

	dfu_abandon(dfu);
	dfu_forget_status(dfu);
	usb_unpoison_urb(dfu->urb);
	clear_bit(DFU_FLAG_RESETTING, &dfu->flags);
	mutex_unlock(&dfu->io_mutex);
	return 0;
}

/*
 * No URB outlives a request, so there is nothing to stop for suspend: a
 * transfer in progress holds an autosuspend reference, and a system sleep
 * freezes its writer between two blocks. A resume that had to reset the
 * device lost the transfer in progress.
 */
static int dfu_suspend(struct usb_interface *intf, pm_message_t message)
{
	return 0;
}

static int dfu_resume(struct usb_interface *intf)
{
	return 0;
}

static int dfu_reset_resume(struct usb_interface *intf)
{
	struct dfu_dev *dfu = usb_get_intfdata(intf);

	mutex_lock(&dfu->io_mutex);
	dfu_abandon(dfu);
	dfu_forget_status(dfu);
	mutex_unlock(&dfu->io_mutex);
	return 0;
}

static struct usb_driver dfu_driver = {
	.name = "dfu",
	.probe = dfu_probe,
	.disconnect = dfu_disconnect,
	.pre_reset = dfu_pre_reset,
	.post_reset = dfu_post_reset,
	.suspend = dfu_suspend,
	.resume = dfu_resume,
	.reset_resume = dfu_reset_resume,
	.id_table = dfu_ids,
	.supports_autosuspend = 1,
};

static int __init dfu_init(void)
{
	int ret;

	ret = dfu_chardev_init();
	if (ret)
		return ret;
	ret = usb_register(&dfu_driver);
	if (ret)
		dfu_chardev_exit();
	return ret;
}
module_init(dfu_init);

static void __exit dfu_exit(void)
{
	usb_deregister(&dfu_driver);
	dfu_chardev_exit();
}
module_exit(dfu_exit);

MODULE_DESCRIPTION("USB Device Firmware Upgrade (DFU) class driver");
MODULE_LICENSE("GPL");
/* DFU_VERSION is the file VERSION (driver/Kbuild); in-tree builds have none */
#ifdef DFU_VERSION
MODULE_VERSION(DFU_VERSION);
#endif
