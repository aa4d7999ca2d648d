// SPDX-License-Identifier: GPL-2.0
/*
 * sysfs.c - attributes of /sys/class/dfu/dfuN, described in
 * Documentation/ABI/testing/sysfs-class-dfu
 */

#include <linux/err.h>
#include <linux/kernel.h>
#include <linux/string.h>
#include <linux/sysfs.h>
#include "dfu.h"

static ssize_t state_show(struct device *dev, struct device_attribute *attr,
			  char *buf)
{
	struct dfu_dev *dfu = dev_get_drvdata(dev);
	u8 state;
	int ret;

	ret = mutex_lock_interruptible(&dfu->io_mutex);
	if (ret)
		return ret;
	ret = dfu_gone(dfu) ? -ENODEV : dfu_get_state(dfu, &state);
	mutex_unlock(&dfu->io_mutex);
	if (ret)
		return dfu_gone(dfu) ? -ENODEV : -EIO;
	return sysfs_emit(buf, "%s\n", dfu_state_name(state));
}
static DEVICE_ATTR_RO(state);

static ssize_t status_show(struct device *dev, struct device_attribute *attr,
			   char *buf)
{
	struct dfu_dev *dfu = dev_get_drvdata(dev);
	struct dfu_status st;
	int ret;

	ret = mutex_lock_interruptible(&dfu->io_mutex);
	if (ret)
		return ret;
	ret = dfu_gone(dfu) ? -ENODEV : dfu_get_status(dfu, &st);
	mutex_unlock(&dfu->io_mutex);
	if (ret)
		return dfu_gone(dfu) ? -ENODEV : -EIO;
	return sysfs_emit(buf, "%s\n", dfu_status_name(st.bStatus));
}
static DEVICE_ATTR_RO(status);

static ssize_t last_result_show(struct device *dev,
				struct device_attribute *attr, char *buf)
{
	struct dfu_dev *dfu = dev_get_drvdata(dev);
	struct dfu_result r;
	int ret;

	ret = mutex_lock_interruptible(&dfu->io_mutex);
	if (ret)
		return ret;
	r = dfu->result;
	mutex_unlock(&dfu->io_mutex);
	if (!r.error && !r.duration_us)
		return sysfs_emit(buf, "none\n");
	if (!r.error)
		return sysfs_emit(buf, "ok %llu\n", r.bytes);
	return sysfs_emit(buf, "%pe %llu %s %s\n", ERR_PTR(r.error), r.bytes,
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

static ssize_t alt_show(struct device *dev, struct device_attribute *attr,
			char *buf)
{
	struct dfu_dev *dfu = dev_get_drvdata(dev);

	return sysfs_emit(buf, "%u\n", READ_ONCE(dfu->info.bAlternateSetting));
}

/* Takes the alt setting's number, or its name as alt_names shows it. */
static ssize_t alt_store(struct device *dev, struct device_attribute *attr,
			 const char *buf, size_t count)
{
	struct dfu_dev *dfu = dev_get_drvdata(dev);
	unsigned int alt, i;
	int ret;

	if (kstrtouint(buf, 0, &alt)) {
		alt = UINT_MAX;
		for (i = 0; i < dfu->info.bNumAltSettings; i++)
			if (*dfu->alt_names[i] && sysfs_streq(buf, dfu->alt_names[i]))
				alt = dfu->alt_nums[i];
	}
	ret = mutex_lock_interruptible(&dfu->io_mutex);
	if (ret)
		return ret;
	ret = dfu_gone(dfu) ? -ENODEV : dfu_set_alt(dfu, alt);
	mutex_unlock(&dfu->io_mutex);
	return ret ? ret : count;
}
static DEVICE_ATTR_RW(alt);

static ssize_t alt_names_show(struct device *dev,
			      struct device_attribute *attr, char *buf)
{
	struct dfu_dev *dfu = dev_get_drvdata(dev);
	unsigned int i;
	int len = 0;

	for (i = 0; i < dfu->info.bNumAltSettings; i++)
		len += sysfs_emit_at(buf, len, "%u %s\n", dfu->alt_nums[i],
				     dfu->alt_names[i]);
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
			  dfu->info.mode == DFU_MODE_DFU ? "dfu" : "runtime");
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
	NULL,
};

static const struct attribute_group dfu_group = {
	.attrs = dfu_attrs,
};

const struct attribute_group *dfu_groups[] = {
	&dfu_group,
	NULL,
};
