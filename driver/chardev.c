// SPDX-License-Identifier: GPL-2.0
/*
 * chardev.c - the dfu class, /dev/dfuN and its file operations
 *
 * Argument and permission checks, locking and the errno of each call; the
 * transfers themselves are stream.c's. Each open file is a stream
 * (stream_open()): no seeking, and a download goes to the target its file
 * chose. A DfuSe device's file is its memory instead, and seeks.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/capability.h>
#include <linux/fs.h>
#include <linux/idr.h>
#include <linux/poll.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include "dfu.h"

static dev_t dfu_devt;
static DEFINE_IDA(dfu_ida);

static struct class dfu_class = {
	.name = "dfu",
	.dev_groups = dfu_groups,
};

/*
 * Keep the device awake for a call that may send requests. Taken before
 * io_mutex: a resume may call the driver's reset_resume, which takes it.
 */
static int dfu_pm_get(struct dfu_dev *dfu)
{
	int ret = usb_autopm_get_interface(dfu->intf);

	return ret ? dfu_errno(dfu, ret) : 0;
}

static void dfu_pm_put(struct dfu_dev *dfu)
{
	usb_autopm_put_interface(dfu->intf);
}

/*
 * The same for the closing calls, which must end the stream even when the
 * device cannot wake (it is unplugged): the reference stays balanced.
 */
static void dfu_pm_get_always(struct dfu_dev *dfu)
{
	if (dfu_pm_get(dfu))
		usb_autopm_get_interface_no_resume(dfu->intf);
}

/*
 * Take the device for a call: -ERESTARTSYS for a signal while another call
 * holds it, -EAGAIN instead of waiting for a file opened O_NONBLOCK,
 * -ENODEV once it is unplugged.
 */
static int dfu_lock(struct dfu_dev *dfu, struct file *file)
{
	if (file->f_flags & O_NONBLOCK) {
		if (!mutex_trylock(&dfu->io_mutex))
			return -EAGAIN;
	} else if (mutex_lock_interruptible(&dfu->io_mutex)) {
		return -ERESTARTSYS;
	}
	if (dfu_gone(dfu)) {
		mutex_unlock(&dfu->io_mutex);
		return -ENODEV;
	}
	return 0;
}

/* Both of the above, in their order. */
static int dfu_enter(struct dfu_dev *dfu, struct file *file)
{
	int ret = dfu_pm_get(dfu);

	if (ret)
		return ret;
	ret = dfu_lock(dfu, file);
	if (ret)
		dfu_pm_put(dfu);
	return ret;
}

/*
 * Leave the device; reset it if the image just manifested waits for a
 * reset (dfuMANIFEST-WAIT-RESET): that needs io_mutex free, as the
 * driver's pre_reset takes it, and the device awake.
 */
static void dfu_leave(struct dfu_dev *dfu)
{
	int ret;

	mutex_unlock(&dfu->io_mutex);
	if (test_and_clear_bit(DFU_FLAG_RESET, &dfu->flags)) {
		ret = dfu_usb_reset(dfu);
		/*
		 * The device lock was busy (usbfs, hub_wq) for the second
		 * usb_lock_device_for_reset() waits: usbcore's work item
		 * resets the device once it is free.
		 */
		if (ret && ret != -ENODEV) {
			dev_warn(&dfu->dev, "reset after manifestation failed (%d), queued\n",
				 ret);
			usb_queue_reset_device(dfu->intf);
		}
	}
	dfu_pm_put(dfu);
}

/* Requests that change the device's state need a writer, or an administrator. */
static bool dfu_may_change(struct file *file)
{
	return (file->f_mode & FMODE_WRITE) || capable(CAP_SYS_ADMIN);
}

static int dfu_open(struct inode *inode, struct file *file)
{
	struct dfu_dev *dfu = container_of(inode->i_cdev, struct dfu_dev, cdev);
	bool writer = file->f_mode & FMODE_WRITE;
	struct dfu_stream *s;
	int ret = 0;

	if (dfu_gone(dfu))
		return -ENODEV;
	if (writer && dfu->info.mode == USB_DFU_MODE_DFU &&
	    !(dfu->info.bmAttributes & DFU_FUNC_ATT_CAN_DOWNLOAD))
		return -EROFS;
	s = kzalloc(sizeof(*s), GFP_KERNEL);
	if (!s)
		return -ENOMEM;

	/* never behind a transfer: io_mutex is not taken */
	spin_lock(&dfu->lock);
	if (writer && dfu->has_writer)
		ret = -EBUSY;
	else if (writer)
		dfu->has_writer = true;
	spin_unlock(&dfu->lock);
	if (ret) {
		kfree(s);
		return ret;
	}
	get_device(&dfu->dev);
	dfu_stream_init(s, dfu, writer);
	file->private_data = s;
	return dfu->dfuse ? 0 : stream_open(inode, file);
}

/* A DfuSe device's file has the size of its alt's memory map. */
static loff_t dfu_llseek(struct file *file, loff_t offset, int whence)
{
	struct dfu_stream *s = file->private_data;
	struct dfu_dev *dfu = s->dfu;

	if (!dfu->dfuse)
		return -ESPIPE;
	return fixed_size_llseek(file, offset, whence,
				 dfu_dfuse_size(dfu, READ_ONCE(s->alt),
						READ_ONCE(s->base)));
}

static ssize_t dfu_write(struct file *file, const char __user *ubuf,
			 size_t count, loff_t *ppos)
{
	struct dfu_stream *s = file->private_data;
	struct dfu_dev *dfu = s->dfu;
	ssize_t ret;

	if (!count)
		return 0;
	ret = dfu_enter(dfu, file);
	if (ret)
		return ret;
	ret = dfu_stream_write(s, ubuf, count, ppos);
	dfu_leave(dfu);
	return ret;
}

static ssize_t dfu_read(struct file *file, char __user *ubuf, size_t count,
			loff_t *ppos)
{
	struct dfu_stream *s = file->private_data;
	struct dfu_dev *dfu = s->dfu;
	ssize_t ret;

	if (!count)
		return 0;
	/* Apple's ROM has no upload: say so without waiting for the device */
	if (dfu_apple(dfu))
		return -EOPNOTSUPP;
	ret = dfu_enter(dfu, file);
	if (ret)
		return ret;
	ret = dfu_stream_read(s, ubuf, count, ppos);
	dfu_leave(dfu);
	return ret;
}

static int dfu_fsync(struct file *file, loff_t start, loff_t end, int datasync)
{
	struct dfu_stream *s = file->private_data;
	struct dfu_dev *dfu = s->dfu;
	int ret;

	if (!(file->f_mode & FMODE_WRITE))
		return 0;
	ret = dfu_enter(dfu, file);
	if (ret)
		return ret;
	ret = dfu_stream_commit(s);
	dfu_leave(dfu);
	return ret;
}

/*
 * The image ends when the process that wrote it closes the file, so that
 * cat sees the result even where the shell holds the file too (dash), or
 * when the last holder closes it. Another holder's close must not cut the
 * image short.
 */
static int dfu_flush(struct file *file, fl_owner_t id)
{
	struct dfu_stream *s = file->private_data;
	struct dfu_dev *dfu = s->dfu;
	enum dfu_xfer xfer;
	int ret;

	if (!(file->f_mode & FMODE_WRITE))
		return 0;
	/* pairs with the release in dfu_stream_finish(), as in dfu_release() */
	xfer = smp_load_acquire(&s->xfer);
	if (xfer == DFU_XFER_NONE || xfer == DFU_XFER_DONE)
		return 0;
	if (file_count(file) > 1 && task_tgid_nr(current) != READ_ONCE(s->writer_tgid))
		return 0;
	dfu_pm_get_always(dfu);
	/*
	 * Behind another file's call on a slow device: a killed closer
	 * leaves the transfer to release(), which gives it up.
	 */
	if (mutex_lock_killable(&dfu->io_mutex)) {
		dfu_pm_put(dfu);
		return -EINTR;
	}
	ret = dfu_stream_close(s);
	dfu_leave(dfu);
	return ret;
}

static int dfu_release(struct inode *inode, struct file *file)
{
	struct dfu_stream *s = file->private_data;
	struct dfu_dev *dfu = s->dfu;

	/*
	 * Only this file starts its transfers, and whoever ends one for it
	 * (an abort, a reset) publishes the end last: a transfer not active
	 * now stays so, and nobody touches the stream any more.
	 */
	if (smp_load_acquire(&s->xfer) == DFU_XFER_ACTIVE) {
		dfu_pm_get_always(dfu);
		mutex_lock(&dfu->io_mutex);
		dfu_stream_release(s);
		dfu_leave(dfu);
	}
	if (file->f_mode & FMODE_WRITE) {
		spin_lock(&dfu->lock);
		dfu->has_writer = false;
		spin_unlock(&dfu->lock);
	}
	kfree(s);
	put_device(&dfu->dev);
	return 0;
}

/* read() and write() block on the device as on a disk; poll() says so. */
static __poll_t dfu_poll(struct file *file, poll_table *wait)
{
	struct dfu_stream *s = file->private_data;
	struct dfu_dev *dfu = s->dfu;

	poll_wait(file, &dfu->wait, wait);
	if (dfu_gone(dfu))
		return EPOLLHUP | EPOLLERR;
	return EPOLLIN | EPOLLRDNORM | EPOLLOUT | EPOLLWRNORM;
}

/*
 * USB_DFU_IOCTL_DETACH and USB_DFU_IOCTL_RESET: the reset runs without
 * io_mutex, which the driver's own pre_reset takes, and with the device
 * awake, as usb_lock_device_for_reset() requires.
 */
static long dfu_ioctl_reset(struct file *file, unsigned int cmd,
			    u32 __user *uarg)
{
	struct dfu_stream *s = file->private_data;
	struct dfu_dev *dfu = s->dfu;
	bool reset = true;
	u32 timeout = 0;
	int ret;

	if (cmd == USB_DFU_IOCTL_DETACH && get_user(timeout, uarg))
		return -EFAULT;
	/* a transfer in progress refuses at once, not after its next block */
	if (READ_ONCE(dfu->owner))
		return -EBUSY;
	ret = dfu_enter(dfu, file);
	if (ret)
		return ret;
	if (dfu->owner) {
		ret = -EBUSY;
	} else if (cmd == USB_DFU_IOCTL_DETACH) {
		if (dfu->info.mode == USB_DFU_MODE_RUNTIME)
			dfu_remember_detach(dfu);
		ret = dfu_detach(dfu, timeout);
		reset = !(dfu->info.bmAttributes & DFU_FUNC_ATT_WILL_DETACH);
	}
	mutex_unlock(&dfu->io_mutex);
	if (!ret && reset) {
		ret = dfu_usb_reset(dfu);
		/* a detached device may leave before the reset: as intended */
		if (ret == -ENODEV && cmd == USB_DFU_IOCTL_DETACH)
			ret = 0;
	}
	dfu_pm_put(dfu);
	return ret ? dfu_errno(dfu, ret) : 0;
}

/* The ioctls that send requests: GET_STATUS, GET_STATE, CLR_STATUS, ABORT. */
static int dfu_ioctl_request(struct dfu_dev *dfu, unsigned int cmd,
			     struct usb_dfu_status *st, u8 *state)
{
	int ret;

	/* a transfer given up may have left the device busy */
	ret = dfu_wait_poll_timeout(dfu);
	if (ret)
		return dfu_errno(dfu, ret);
	switch (cmd) {
	case USB_DFU_IOCTL_GET_STATUS:
		ret = dfu_get_status(dfu, st);
		break;
	case USB_DFU_IOCTL_GET_STATE:
		ret = dfu_get_state(dfu, state);
		break;
	case USB_DFU_IOCTL_CLR_STATUS:
		ret = dfu->owner ? -EBUSY : dfu_clear_status(dfu);
		break;
	case USB_DFU_IOCTL_ABORT:
		ret = dfu_stream_abort(dfu);
		break;
	}
	return ret ? dfu_errno(dfu, ret) : 0;
}

/* Settings of the file: its target and its commit policy. */
static int dfu_ioctl_set(struct dfu_stream *s, unsigned int cmd, u32 val)
{
	if (cmd == USB_DFU_IOCTL_SET_ALT) {
		if (!dfu_has_alt(s->dfu, val))
			return -EINVAL;
		if (s->busy || s->xfer == DFU_XFER_ACTIVE)
			return -EBUSY;
		WRITE_ONCE(s->alt, val);
		if (s->dfu->dfuse)
			WRITE_ONCE(s->base, dfu_dfuse_base(s->dfu, val));
		return 0;
	}
	if (val > USB_DFU_COMMIT_EXPLICIT)
		return -EINVAL;
	if (s->busy || (s->xfer == DFU_XFER_ACTIVE && !s->upload))
		return -EBUSY;
	WRITE_ONCE(s->commit, val);
	return 0;
}

static long dfu_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct dfu_stream *s = file->private_data;
	struct dfu_dev *dfu = s->dfu;
	void __user *uarg = (void __user *)arg;
	union {
		struct usb_dfu_status status;
		struct usb_dfu_info info;
		struct usb_dfu_result result;
		struct usb_dfu_dfuse_erase erase;
		u8 state;
	} u;
	bool io = true;
	size_t len = 0;
	u32 val = 0;
	int ret;

	memset(&u, 0, sizeof(u));
	switch (cmd) {
	case USB_DFU_IOCTL_GET_STATUS:
		len = sizeof(u.status);
		break;
	case USB_DFU_IOCTL_GET_STATE:
		len = sizeof(u.state);
		break;
	case USB_DFU_IOCTL_CLR_STATUS:
	case USB_DFU_IOCTL_ABORT:
		if (!dfu_may_change(file))
			return -EPERM;
		break;
	case USB_DFU_IOCTL_DETACH:
		/* Apple's ROM stalls it: it leaves DFU mode only with an image */
		if (dfu_apple(dfu))
			return -EOPNOTSUPP;
		fallthrough;
	case USB_DFU_IOCTL_RESET:
		if (!dfu_may_change(file))
			return -EPERM;
		return dfu_ioctl_reset(file, cmd, uarg);
	case USB_DFU_IOCTL_GET_INFO:
		/* nothing is sent: never waits, also works after an unplug */
		u.info = dfu->info;
		u.info.bAlternateSetting = READ_ONCE(s->alt);
		u.info.commit = READ_ONCE(s->commit);
		return copy_to_user(uarg, &u.info, sizeof(u.info)) ? -EFAULT : 0;
	case USB_DFU_IOCTL_GET_RESULT:
		spin_lock(&dfu->lock);
		u.result = dfu->result;
		spin_unlock(&dfu->lock);
		return copy_to_user(uarg, &u.result, sizeof(u.result)) ? -EFAULT : 0;
	case USB_DFU_IOCTL_SET_COMMIT:
		if (!s->writable)
			return -EBADF;
		fallthrough;
	case USB_DFU_IOCTL_SET_ALT:
		if (get_user(val, (u32 __user *)uarg))
			return -EFAULT;
		io = false;
		break;
	case USB_DFU_IOCTL_COMMIT:
		if (!s->writable)
			return -EBADF;
		break;
	case USB_DFU_IOCTL_DFUSE_ERASE:
	case USB_DFU_IOCTL_DFUSE_MASS_ERASE:
	case USB_DFU_IOCTL_DFUSE_UNPROTECT:
		if (!dfu_may_change(file))
			return -EPERM;
		fallthrough;
	case USB_DFU_IOCTL_DFUSE_SET_BASE:
		if (!dfu->dfuse)
			return -EOPNOTSUPP;
		if (copy_from_user(&u, uarg, _IOC_SIZE(cmd)))
			return -EFAULT;
		break;
	default:
		return -ENOTTY;
	}

	if (io)
		ret = dfu_enter(dfu, file);
	else
		ret = dfu_lock(dfu, file);
	if (ret)
		return ret;
	switch (cmd) {
	case USB_DFU_IOCTL_SET_ALT:
	case USB_DFU_IOCTL_SET_COMMIT:
		ret = dfu_ioctl_set(s, cmd, val);
		break;
	case USB_DFU_IOCTL_COMMIT:
		ret = dfu_stream_commit(s);
		break;
	case USB_DFU_IOCTL_DFUSE_SET_BASE:
	case USB_DFU_IOCTL_DFUSE_ERASE:
	case USB_DFU_IOCTL_DFUSE_MASS_ERASE:
	case USB_DFU_IOCTL_DFUSE_UNPROTECT:
		dfu_stream_end_upload(s);
		ret = dfu_dfuse_ioctl(s, cmd, &u);
		len = 0;
		break;
	default:
		ret = dfu_ioctl_request(dfu, cmd, &u.status, &u.state);
		break;
	}
	if (io)
		dfu_leave(dfu);
	else
		mutex_unlock(&dfu->io_mutex);
	if (!ret && len && copy_to_user(uarg, &u, len))
		ret = -EFAULT;
	return ret;
}

static const struct file_operations dfu_fops = {
	.owner = THIS_MODULE,
	.open = dfu_open,
	.llseek = dfu_llseek,
	.read = dfu_read,
	.write = dfu_write,
	.poll = dfu_poll,
	.fsync = dfu_fsync,
	.flush = dfu_flush,
	.release = dfu_release,
	.unlocked_ioctl = dfu_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
};

/**
 * dfu_chardev_setup() - initialise the class device embedded in @dfu
 * @dfu: a new device
 *
 * From here on the class device's reference count owns @dfu: put_device()
 * frees it through dfu_release_dev().
 *
 * Context: process.
 */
void dfu_chardev_setup(struct dfu_dev *dfu)
{
	device_initialize(&dfu->dev);
	dfu->dev.class = &dfu_class;
	dfu->dev.release = dfu_release_dev;
	dfu->id = -1;
	dev_set_drvdata(&dfu->dev, dfu);
	cdev_init(&dfu->cdev, &dfu_fops);
	dfu->cdev.owner = THIS_MODULE;
}

/**
 * dfu_chardev_add() - publish @dfu as /dev/dfuN with the lowest free N
 * @dfu: a device set up by dfu_chardev_setup(), fully initialised
 *
 * The node can be opened as soon as this returns, so everything it uses
 * must be ready before.
 *
 * Context: process.
 * Return: 0, -ENOSPC when all DFU_MAX_DEVICES numbers are taken, or an
 * error from the driver core.
 */
int dfu_chardev_add(struct dfu_dev *dfu)
{
	int ret;

	ret = ida_alloc_max(&dfu_ida, DFU_MAX_DEVICES - 1, GFP_KERNEL);
	if (ret < 0)
		return ret;
	dfu->id = ret;
	dfu->dev.parent = &dfu->intf->dev;
	dfu->dev.devt = MKDEV(MAJOR(dfu_devt), dfu->id);
	ret = dev_set_name(&dfu->dev, "dfu%d", dfu->id);
	if (!ret)
		ret = cdev_device_add(&dfu->cdev, &dfu->dev);
	if (ret) {
		ida_free(&dfu_ida, dfu->id);
		dfu->id = -1;
	}
	return ret;
}

/**
 * dfu_chardev_del() - remove /dev/dfuN and free N for the next device
 * @dfu: a device published by dfu_chardev_add()
 *
 * Files still open keep @dfu alive; their calls fail with -ENODEV.
 *
 * Context: process.
 */
void dfu_chardev_del(struct dfu_dev *dfu)
{
	cdev_device_del(&dfu->cdev, &dfu->dev);
	ida_free(&dfu_ida, dfu->id);
}

/**
 * dfu_chardev_init() - register the dfu class and its device numbers
 *
 * Context: module init.
 * Return: 0 or an error from the driver core.
 */
int dfu_chardev_init(void)
{
	int ret;

	ret = alloc_chrdev_region(&dfu_devt, 0, DFU_MAX_DEVICES, "dfu");
	if (ret)
		return ret;
	ret = class_register(&dfu_class);
	if (ret)
		unregister_chrdev_region(dfu_devt, DFU_MAX_DEVICES);
	return ret;
}

/**
 * dfu_chardev_exit() - undo dfu_chardev_init()
 *
 * Context: module exit, after the USB driver is deregistered.
 */
void dfu_chardev_exit(void)
{
	class_unregister(&dfu_class);
	unregister_chrdev_region(dfu_devt, DFU_MAX_DEVICES);
	ida_destroy(&dfu_ida);
}
