// SPDX-License-Identifier: GPL-2.0
/*
 * pinio info [--json] [--attach PATH]: what PINIO_IOC_INFO reports (ABI
 * version, the store's kind, size, block size and DMA alignment, limits,
 * feature bits), as text or as one JSON object. With --attach the store is
 * PATH, attached read-only for the question: its limits are what a copy
 * to or from it must respect.
 */
#include <fcntl.h>
#include <getopt.h>

#include "tool.h"

static const struct {
	uint64_t bit;
	const char *name;
} features[] = {
	{ PINIO_FEAT_DIRECT, "direct" },
	{ PINIO_FEAT_BATCH, "batch" },
	{ PINIO_FEAT_BUFFERED, "buffered" },
	{ PINIO_FEAT_BOUNCE, "bounce" },
	{ PINIO_FEAT_NOWAIT, "nowait" },
	{ PINIO_FEAT_URING_CMD, "uring_cmd" },
	{ PINIO_FEAT_MMAP, "mmap" },
	{ PINIO_FEAT_ATTACH, "attach" },
};

#define NR_FEATURES	(sizeof(features) / sizeof(features[0]))

/* Feature names, space- or comma-separated; unknown bits as "bitN". */
static void print_features(uint64_t mask, bool json)
{
	const char *sep = "";
	uint64_t known = 0;
	size_t i;
	int b;

	for (i = 0; i < NR_FEATURES; i++) {
		known |= features[i].bit;
		if (!(mask & features[i].bit))
			continue;
		printf(json ? "%s\"%s\"" : "%s%s", sep, features[i].name);
		sep = json ? ", " : " ";
	}
	for (b = 0; b < 64; b++) {
		if (!(mask & ~known & (1ULL << b)))
			continue;
		printf(json ? "%s\"bit%d\"" : "%sbit%d", sep, b);
		sep = json ? ", " : " ";
	}
}

static const char *store_json(uint32_t store)
{
	switch (store) {
	case PINIO_STORE_RAM:
		return "ram";
	case PINIO_STORE_BDEV:
		return "bdev";
	case PINIO_STORE_FILE:
		return "file";
	}
	return "unknown";
}

static void print_json(const struct dev *d)
{
	const struct pinio_info *i = &d->info;

	printf("{\"device\": ");
	json_string(stdout, d->path);
	printf(", \"store\": \"%s\", \"attached\": ", store_json(i->store));
	if (d->store_path)
		json_string(stdout, d->store_path);
	else
		printf("null");
	printf(", \"abi_version\": %u, \"page_size\": %u, \"dev_size\": %llu, "
	       "\"block_size\": %u, \"dma_alignment\": %u, "
	       "\"attach_flags\": %u, "
	       "\"max_region_len\": %llu, \"max_regions\": %u, "
	       "\"max_batch\": %u, \"features_mask\": %llu, \"features\": [",
	       i->abi_version, i->page_size, (unsigned long long)i->dev_size,
	       i->block_size, i->dma_alignment, i->attach_flags,
	       (unsigned long long)i->max_region_len, i->max_regions,
	       i->max_batch, (unsigned long long)i->features);
	print_features(i->features, true);
	printf("]}\n");
}

static void print_text(const struct dev *d)
{
	const struct pinio_info *i = &d->info;
	char a[32], b[32];

	printf("device:       %s\n", d->path);
	printf("ABI version:  %u%s\n", i->abi_version,
	       i->abi_version == PINIO_ABI_VERSION ? "" :
	       " (this tool was built for another version)");
	if (d->store_path)
		printf("store:        %s %s (attached, %s)\n",
		       dev_store_kind(i->store), d->store_path,
		       i->attach_flags & PINIO_ATTACH_WRITE ? "read-write" :
		       "read-only");
	else
		printf("store:        %s (the driver's)\n",
		       dev_store_kind(i->store));
	printf("store size:   %s (%llu bytes)\n",
	       fmt_bytes(i->dev_size, a, sizeof(a)),
	       (unsigned long long)i->dev_size);
	printf("block size:   %u byte%s (direct transfers move multiples of it)\n",
	       i->block_size, i->block_size == 1 ? "" : "s");
	printf("DMA align:    %u byte%s\n", i->dma_alignment,
	       i->dma_alignment == 1 ? "" : "s");
	printf("page size:    %u bytes\n", i->page_size);
	printf("max region:   %s (%llu bytes) per registration\n",
	       fmt_bytes(i->max_region_len, b, sizeof(b)),
	       (unsigned long long)i->max_region_len);
	printf("max regions:  %u per open file\n", i->max_regions);
	printf("max batch:    %u segments\n", i->max_batch);
	printf("features:     ");
	print_features(i->features, false);
	printf(" (0x%llx)\n", (unsigned long long)i->features);
}

int cmd_info(struct tool *t, int argc, char **argv)
{
	static const struct option opts[] = {
		COMMON_LONGOPTS,
		{ "json", no_argument, NULL, 'j' },
		ATTACH_LONGOPT,
		{ NULL, 0, NULL, 0 },
	};
	const char *attach = NULL;
	bool json = false;
	struct dev d;
	int c, ret;

	while ((c = getopt_long(argc, argv, COMMON_SHORTOPTS "j"
				ATTACH_SHORTOPT, opts, NULL)) != -1) {
		if (common_option(t, c, optarg))
			continue;
		if (c == 'j')
			json = true;
		else if (c == 'a')
			attach = optarg;
		else
			return bad_option("info", c, argv);
	}
	if (optind < argc)
		return usage_error("info", "unexpected argument '%s'",
				   argv[optind]);
	ret = dev_open(t, &d, O_RDONLY);
	if (ret)
		return report_open_error(t, ret);
	if (attach) {
		ret = dev_attach(&d, attach, false);
		if (ret) {
			dev_close(&d);
			return ret;
		}
	}
	if (json)
		print_json(&d);
	else
		print_text(&d);
	dev_close(&d);
	return EXIT_OK;
}
