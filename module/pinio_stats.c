// SPDX-License-Identifier: GPL-2.0
/*
 * Statistics in sysfs, one value per file under /sys/class/misc/pinio/stats/,
 * world-readable: sysfs is stable and needs no debugfs mount or root.
 */
#include <linux/device.h>
#include <linux/sysfs.h>

#include "pinio_drv.h"

atomic64_t pinio_stats[PINIO_NR_STATS];

static ssize_t pinio_stat_show(struct device *dev,
			       struct device_attribute *attr, char *buf);

/* Indexed by enum pinio_stat, so the show routine finds its counter. */
static struct device_attribute pinio_stat_attrs[PINIO_NR_STATS] = {
	[PINIO_STAT_DIRECT_READ_BYTES] =
		__ATTR(direct_read_bytes, 0444, pinio_stat_show, NULL),
	[PINIO_STAT_DIRECT_WRITE_BYTES] =
		__ATTR(direct_write_bytes, 0444, pinio_stat_show, NULL),
	[PINIO_STAT_BUFFERED_READ_BYTES] =
		__ATTR(buffered_read_bytes, 0444, pinio_stat_show, NULL),
	[PINIO_STAT_BUFFERED_WRITE_BYTES] =
		__ATTR(buffered_write_bytes, 0444, pinio_stat_show, NULL),
	[PINIO_STAT_REGISTRATIONS] =
		__ATTR(registrations, 0444, pinio_stat_show, NULL),
	[PINIO_STAT_PINNED_PAGES_TOTAL] =
		__ATTR(pinned_pages_total, 0444, pinio_stat_show, NULL),
	[PINIO_STAT_REGIONS] =
		__ATTR(regions, 0444, pinio_stat_show, NULL),
	[PINIO_STAT_PINNED_PAGES] =
		__ATTR(pinned_pages, 0444, pinio_stat_show, NULL),
};

static ssize_t pinio_stat_show(struct device *dev,
			       struct device_attribute *attr, char *buf)
{
	long long val = atomic64_read(&pinio_stats[attr - pinio_stat_attrs]);

	return sysfs_emit(buf, "%lld\n", val);
}

static struct attribute *pinio_stats_attrs[PINIO_NR_STATS + 1];

static const struct attribute_group pinio_stats_group = {
	.name = "stats",
	.attrs = pinio_stats_attrs,
};

const struct attribute_group *pinio_stats_groups[] = {
	&pinio_stats_group,
	NULL,
};

/* Fill the group's attribute list; call before the device is registered. */
void pinio_stats_init(void)
{
	int i;

	for (i = 0; i < PINIO_NR_STATS; i++)
		pinio_stats_attrs[i] = &pinio_stat_attrs[i].attr;
}
