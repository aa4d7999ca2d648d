// SPDX-License-Identifier: GPL-2.0
/*
 * sysfs.c - attributes of /sys/class/dfu/dfuN, described in
 * Documentation/ABI/testing/sysfs-class-dfu
 */

#include <linux/kernel.h>
#include <linux/string.h>
#include <linux/sysfs.h>
#include "dfu.h"

/* The last bState the device reported: nothing is sent to the device. */
static ssize_t state_show(struct device *dev, struct device_attribute *attr,
			  char *buf)
{
	struct dfu_dev *dfu = dev_get_drvdata(dev);

	return sysfs_emit(buf, "%s\n", dfu_state_name(READ_ONCE(dfu->seen_state)));
}
static DEVICE_ATTR_RO(state);

/* The last bStatus the device reported: nothing is sent to the device. */
static ssize_t status_show(struct device *dev, struct device_attribute *attr,
			   char *buf)
{
	struct dfu_dev *dfu = dev_get_drvdata(dev);

	return sysfs_emit(buf, "%s\n", dfu_status_name(READ_ONCE(dfu->seen_status)));
}
static DEVICE_ATTR_RO(status);

static ssize_t last_result_show(struct device *dev,
				struct device_attribute *attr, char *buf)
{
	struct dfu_dev *dfu = dev_get_drvdata(dev);
	struct usb_dfu_result r;
	const char *name;

	spin_lock(&dfu->lock);
	r = dfu->result;
	spin_unlock(&dfu->lock);
	if (!r.error && !r.duration_us)
		return sysfs_emit(buf, "none\n");
	if (!r.error)
		return sysfs_emit(buf, "%s %llu\n",
				  r.flags & USB_DFU_RESULT_UNVERIFIED ?
				  "unverified" : "ok", r.bytes);
	name = dfu_errname(r.error);
	if (name)
		return sysfs_emit(buf, "%s %llu %s %s\n", name, r.bytes,
				  dfu_state_name(r.bState),
				  dfu_status_name(r.bStatus));
	return sysfs_emit(buf, "%d %llu %s %s\n", r.error, r.bytes,
			  dfu_state_name(r.bState), dfu_status_name(r.bStatus));
}
static DEVICE_ATTR_RO(last_result);

#define DFU_INFO_ATTR(_name, _fmt, _field)				\
static ssize_t _name##_show(struct device *dev,				\
			    struct device_attribute *attr, char *buf)	\
{									\
	struct dfu_dev *dfu = dev_get_drvdata(dev);			\
									\
	return sysfs_emit(buf, _fmt "\n", dfu->info._field);		\
}									\
static DEVICE_ATTR_RO(_name)

DFU_INFO_ATTR(transfer_size, "%u", wTransferSize);
DFU_INFO_ATTR(attributes, "0x%02x", bmAttributes);
DFU_INFO_ATTR(detach_timeout, "%u", wDetachTimeOut);
DFU_INFO_ATTR(dfu_version, "0x%04x", bcdDFUVersion);
DFU_INFO_ATTR(num_alts, "%u", bNumAltSettings);

/* The target of files opened from now on; open files keep theirs. */
static ssize_t alt_show(struct device *dev, struct device_attribute *attr,
			char *buf)
{
	struct dfu_dev *dfu = dev_get_drvdata(dev);

	return sysfs_emit(buf, "%u\n", READ_ONCE(dfu->def_alt));
}

/* Takes the alt setting's number, or its name as alt_names shows it. */
static ssize_t alt_store(struct device *dev, struct device_attribute *attr,
			 const char *buf, size_t count)
{
	struct dfu_dev *dfu = dev_get_drvdata(dev);
	int alt = dfu_find_alt(dfu, buf);

	if (alt < 0)
		return alt;
	WRITE_ONCE(dfu->def_alt, alt);
	return count;
}
static DEVICE_ATTR_RW(alt);

/* The commit policy of files opened from now on; open files keep theirs. */
static ssize_t commit_show(struct device *dev, struct device_attribute *attr,
			   char *buf)
{
	struct dfu_dev *dfu = dev_get_drvdata(dev);

	return sysfs_emit(buf, "%s\n", dfu_commit_name(READ_ONCE(dfu->def_commit)));
}

static ssize_t commit_store(struct device *dev, struct device_attribute *attr,
			    const char *buf, size_t count)
{
	struct dfu_dev *dfu = dev_get_drvdata(dev);
	int commit = dfu_parse_commit(buf);

	if (commit < 0)
		return commit;
	WRITE_ONCE(dfu->def_commit, commit);
	return count;
}
static DEVICE_ATTR_RW(commit);

/* The run-time device seen on this port before the switch to DFU mode. */
static ssize_t runtime_id_show(struct device *dev,
			       struct device_attribute *attr, char *buf)
{
	struct dfu_dev *dfu = dev_get_drvdata(dev);

	if (!dfu->has_runtime_id)
		return sysfs_emit(buf, "\n");
	return sysfs_emit(buf, "%04x:%04x\n", dfu->runtime_vid, dfu->runtime_pid);
}
static DEVICE_ATTR_RO(runtime_id);

static ssize_t alt_names_show(struct device *dev,
			      struct device_attribute *attr, char *buf)
{
	struct dfu_dev *dfu = dev_get_drvdata(dev);
	unsigned int i;
	int len = 0;

	/*
	 * Whole lines only: a line cut at PAGE_SIZE ("1" of "17 Flash")
	 * would read as another alt setting.
	 */
	for (i = 0; i < dfu->info.bNumAltSettings; i++) {
		if (len + snprintf(NULL, 0, "%u %s\n", dfu->alt_nums[i],
				   dfu->alt_names[i]) >= PAGE_SIZE)
			break;
		len += sysfs_emit_at(buf, len, "%u %s\n", dfu->alt_nums[i],
				     dfu->alt_names[i]);
	}
	return len;
}
static DEVICE_ATTR_RO(alt_names);

static ssize_t quirks_show(struct device *dev, struct device_attribute *attr,
			   char *buf)
{
	struct dfu_dev *dfu = dev_get_drvdata(dev);

	return sysfs_emit(buf, "0x%x\n", dfu->quirks);
}
static DEVICE_ATTR_RO(quirks);

static ssize_t mode_show(struct device *dev, struct device_attribute *attr,
			 char *buf)
{
	struct dfu_dev *dfu = dev_get_drvdata(dev);

	return sysfs_emit(buf, "%s\n",
			  dfu->info.mode == USB_DFU_MODE_DFU ? "dfu" : "runtime");
}
static DEVICE_ATTR_RO(mode);

static struct attribute *dfu_attrs[] = {
	&dev_attr_state.attr,
	&dev_attr_status.attr,
	&dev_attr_last_result.attr,
	&dev_attr_transfer_size.attr,
	&dev_attr_attributes.attr,
	&dev_attr_detach_timeout.attr,
	&dev_attr_dfu_version.attr,
	&dev_attr_alt.attr,
	&dev_attr_alt_names.attr,
	&dev_attr_num_alts.attr,
	&dev_attr_mode.attr,
	&dev_attr_quirks.attr,
	&dev_attr_commit.attr,
	&dev_attr_runtime_id.attr,
	NULL,
};

static const struct attribute_group dfu_group = {
	.attrs = dfu_attrs,
};

/* DfuSe: the memory map of every alt setting; nothing is sent. */
static ssize_t dfuse_map_show(struct device *dev, struct device_attribute *attr,
			      char *buf)
{
	return dfu_dfuse_show_map(dev_get_drvdata(dev), buf);
}
static DEVICE_ATTR_RO(dfuse_map);

/*
 * DfuSe: the command list the device announces (UPLOAD block 0), read at
 * probe or at the first transfer; "unknown" before. Nothing is sent.
 */
static ssize_t dfuse_commands_show(struct device *dev,
				   struct device_attribute *attr, char *buf)
{
	struct dfu_dev *dfu = dev_get_drvdata(dev);
	struct dfuse *d = dfu->dfuse;
	unsigned int i;
	int len = 0;

	/* pairs with the release in dfu_dfuse_get_commands() */
	if (!smp_load_acquire(&d->have_commands))
		return sysfs_emit(buf, "unknown\n");
	for (i = 0; i < d->n_commands; i++)
		len += sysfs_emit_at(buf, len, "%s%02x", i ? " " : "",
				     d->commands[i]);
	return len + sysfs_emit_at(buf, len, "\n");
}
static DEVICE_ATTR_RO(dfuse_commands);

/* DfuSe: 1 to leave DFU mode after a download, 0 to stay in the bootloader. */
static ssize_t dfuse_leave_show(struct device *dev,
				struct device_attribute *attr, char *buf)
{
	struct dfu_dev *dfu = dev_get_drvdata(dev);

	return sysfs_emit(buf, "%d\n", READ_ONCE(dfu->dfuse->leave));
}

static ssize_t dfuse_leave_store(struct device *dev,
				 struct device_attribute *attr,
				 const char *buf, size_t count)
{
	struct dfu_dev *dfu = dev_get_drvdata(dev);
	bool leave;
	int ret = kstrtobool(buf, &leave);

	if (ret)
		return ret;
	WRITE_ONCE(dfu->dfuse->leave, leave);
	return count;
}
static DEVICE_ATTR_RW(dfuse_leave);

static struct attribute *dfu_dfuse_attrs[] = {
	&dev_attr_dfuse_map.attr,
	&dev_attr_dfuse_commands.attr,
	&dev_attr_dfuse_leave.attr,
	NULL,
};

static umode_t dfu_dfuse_visible(struct kobject *kobj, struct attribute *attr,
				 int n)
{
	struct dfu_dev *dfu = dev_get_drvdata(kobj_to_dev(kobj));

	return dfu->dfuse ? attr->mode : 0;
}

static const struct attribute_group dfu_dfuse_group = {
	.attrs = dfu_dfuse_attrs,
	.is_visible = dfu_dfuse_visible,
};

const struct attribute_group *dfu_groups[] = {
	&dfu_group,
	&dfu_dfuse_group,
	NULL,
};
