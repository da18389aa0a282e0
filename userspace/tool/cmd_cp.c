// SPDX-License-Identifier: GPL-2.0
/*
 * pinio cp [--buffered] [--size N] [--chunk N] [--attach PATH [--no-flush]]
 *	    SRC DST
 *
 * Copies between a file ('-' is stdin or stdout) and the device store; the
 * device side is written dev:OFFSET. By default each chunk goes through a
 * registered buffer (PINIO_IOC_WRITE/READ); --buffered uses pwrite/pread on
 * the device instead. Without --size, a copy to the device takes the whole
 * source and a copy from it runs to the end of the store.
 *
 * With --attach PATH the store is that block device or regular file
 * (PINIO_IOC_ATTACH; read-only for a copy from it): direct transfers are
 * then the device's own I/O into and out of the pinned buffer, so the
 * offset and the length must be multiples of its block size. A copy to an
 * attached store ends with PINIO_IOC_FLUSH (unless --no-flush), so the data
 * is durable when cp says it is done.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tool.h"

struct cp_opts {
	bool buffered;
	const char *attach;	/* --attach PATH */
	int flush;		/* --flush 1, --no-flush 0, else -1 */
	bool size_given;
	uint64_t size;
	uint64_t chunk;
	const char *file;	/* the non-device side */
	uint64_t off;		/* the device side's offset */
};

/* "dev:OFFSET" -> 1 and *off; a file name -> 0; a bad offset -> -EINVAL. */
static int parse_dev(const char *s, uint64_t *off)
{
	if (strncmp(s, "dev:", 4))
		return 0;
	*off = 0;
	if (!s[4])
		return 1;
	return parse_size(s + 4, off) ? -EINVAL : 1;
}

static void done_line(const struct tool *t, const struct cp_opts *o,
		      bool to_dev, uint64_t bytes, double secs)
{
	char sz[32];

	if (t->quiet)
		return;
	fprintf(stderr, "pinio: copied %s (%llu bytes) %s dev:%llu in %.3f s, %.1f MiB/s (%s%s%s)\n",
		fmt_bytes(bytes, sz, sizeof(sz)), (unsigned long long)bytes,
		to_dev ? "to" : "from", (unsigned long long)o->off, secs,
		rate_mib(bytes, secs), o->buffered ? "buffered" : "direct",
		o->attach ? ", attached " : "", o->attach ? o->attach : "");
}

/* Bytes left in a regular file from its current position, or 0. */
static uint64_t file_left(int fd)
{
	struct stat st;
	off_t pos;

	if (fstat(fd, &st) || !S_ISREG(st.st_mode))
		return 0;
	pos = lseek(fd, 0, SEEK_CUR);
	if (pos < 0 || pos > st.st_size)
		return 0;
	return st.st_size - pos;
}

static int no_room(const struct dev *d, const struct cp_opts *o)
{
	err_msg("%s: %s does not fit at offset %llu: the store holds %llu bytes (%s)",
		dev_store_name(d), o->file, (unsigned long long)o->off,
		(unsigned long long)d->info.dev_size, strerror(ENOSPC));
	if (d->info.store == PINIO_STORE_FILE)
		err_msg("a regular file's store is its size when attached: preallocate it, e.g. 'fallocate -l SIZE %s'",
			d->store_path);
	return EXIT_IO;
}

/* The source ended @n bytes into a chunk, not on a block boundary. */
static int partial_block(const struct dev *d, const struct cp_opts *o,
			 uint64_t done, size_t n)
{
	uint32_t bs = d->info.block_size;

	return usage_error("cp", "%s ended after %llu bytes, not a multiple of the %u-byte block size of %s (direct transfers on an attached store move whole blocks); the last %zu bytes were not copied",
			   o->file, (unsigned long long)(done + n), bs,
			   d->store_path, n % bs);
}

/* --attach: PINIO_IOC_FLUSH at the end of a copy to the store. */
static int flush_store(const struct tool *t, struct dev *d)
{
	double t0 = now_sec();
	int ret = pinio_flush(d->fd);

	if (ret)
		return report_dev_error(d, "PINIO_IOC_FLUSH", ret);
	if (!t->quiet)
		fprintf(stderr, "pinio: flushed %s in %.3f s: the data is durable\n",
			d->store_path, now_sec() - t0);
	return EXIT_OK;
}

static int copy_loop_to_dev(const struct tool *t, struct dev *d,
			    struct chunk *c, const struct cp_opts *o, int in,
			    uint64_t total)
{
	uint64_t room = d->info.dev_size - o->off, done = 0;
	struct progress p;
	double t0 = now_sec();
	char probe;
	ssize_t n;
	size_t want;
	int ret;

	progress_start(&p, t, "pinio cp", total);
	for (;;) {
		want = c->len;
		if (o->size_given && o->size - done < want)
			want = o->size - done;
		if (room - done < want)
			want = room - done;
		if (!want && (o->size_given || read_full(in, &probe, 1) == 0))
			break;
		if (!want) {
			progress_end(&p);
			return no_room(d, o);
		}
		n = read_full(in, c->p, want);
		if (n < 0) {
			progress_end(&p);
			err_msg("cannot read %s: %s", o->file, strerror((int)-n));
			return EXIT_IO;
		}
		if (n == 0)
			break;
		if (!o->buffered && d->info.block_size > 1 &&
		    n % d->info.block_size) {
			/*
			 * The source ended mid-block (a pipe, or short of
			 * --size): copy the whole blocks, then say why not
			 * the rest.
			 */
			size_t whole = n - n % d->info.block_size;

			ret = whole ? dev_xfer(d, c, true, o->off + done,
					       whole) : 0;
			if (ret) {
				progress_end(&p);
				return report_dev_error(d, "PINIO_IOC_WRITE",
							ret);
			}
			if (o->size_given) {
				done += whole;
				break;	/* "ended after" below */
			}
			progress_end(&p);
			return partial_block(d, o, done, n);
		}
		ret = dev_xfer(d, c, true, o->off + done, n);
		if (ret) {
			progress_end(&p);
			return report_dev_error(d, o->buffered ? "pwrite" :
						"PINIO_IOC_WRITE", ret);
		}
		done += n;
		progress_update(&p, done);
		if ((size_t)n < want)
			break;	/* end of the source */
	}
	progress_end(&p);
	if (o->size_given && done < o->size) {
		err_msg("%s ended after %llu of the %llu bytes asked for",
			o->file, (unsigned long long)done,
			(unsigned long long)o->size);
		return EXIT_IO;
	}
	done_line(t, o, true, done, now_sec() - t0);
	return EXIT_OK;
}

static int cp_to_dev(const struct tool *t, const struct cp_opts *o)
{
	bool is_std = !strcmp(o->file, "-");
	uint64_t total, room;
	struct chunk c;
	struct dev d;
	int in, ret;

	ret = dev_open(t, &d, O_RDWR);
	if (ret)
		return report_open_error(t, ret);
	if (o->attach) {
		ret = dev_attach(&d, o->attach, true);
		if (ret)
			goto out_dev;
	}
	ret = dev_range(&d, "cp", o->off, &room, false);
	if (!ret && !o->buffered)
		ret = dev_aligned(&d, "cp", "offset", o->off);
	if (!ret && !o->buffered)
		ret = dev_aligned(&d, "cp", "chunk size", o->chunk);
	if (ret)
		goto out_dev;
	in = is_std ? STDIN_FILENO : open(o->file, O_RDONLY | O_CLOEXEC);
	if (in < 0) {
		err_msg("cannot open %s: %s", o->file, strerror(errno));
		ret = EXIT_IO;
		goto out_dev;
	}
	total = o->size_given ? o->size : file_left(in);
	if (total > room) {
		ret = no_room(&d, o);
		goto out_in;
	}
	if (!o->buffered) {
		ret = dev_aligned(&d, "cp", o->size_given ? "size" :
				  "source length", total);
		if (ret)
			goto out_in;
	}
	ret = chunk_get(&d, &c, total && total < o->chunk ? total : o->chunk,
			o->buffered ? 0 : PINIO_REG_USER_TO_DEV);
	if (ret)
		goto out_in;
	ret = copy_loop_to_dev(t, &d, &c, o, in, total);
	if (!ret && o->attach && o->flush)
		ret = flush_store(t, &d);
	chunk_put(&d, &c);
out_in:
	if (!is_std)
		close(in);
out_dev:
	dev_close(&d);
	return ret;
}

static int cp_from_dev(const struct tool *t, const struct cp_opts *o)
{
	bool is_std = !strcmp(o->file, "-");
	uint64_t len = o->size, done = 0;
	struct progress p;
	struct chunk c;
	struct dev d;
	double t0;
	int out, ret;
	size_t n;

	ret = dev_open(t, &d, O_RDONLY);
	if (ret)
		return report_open_error(t, ret);
	if (o->attach) {
		ret = dev_attach(&d, o->attach, false);
		if (ret)
			goto out_dev;
	}
	ret = dev_range(&d, "cp", o->off, &len, o->size_given);
	if (!ret && !o->buffered)
		ret = dev_aligned(&d, "cp", "offset", o->off);
	if (!ret && !o->buffered)
		ret = dev_aligned(&d, "cp", "size", len);
	if (!ret && !o->buffered)
		ret = dev_aligned(&d, "cp", "chunk size", o->chunk);
	if (ret)
		goto out_dev;
	ret = chunk_get(&d, &c, len < o->chunk ? len : o->chunk,
			o->buffered ? 0 : PINIO_REG_DEV_TO_USER);
	if (ret)
		goto out_dev;
	out = is_std ? STDOUT_FILENO :
	      open(o->file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
	if (out < 0) {
		err_msg("cannot create %s: %s", o->file, strerror(errno));
		ret = EXIT_IO;
		goto out_chunk;
	}
	t0 = now_sec();
	progress_start(&p, t, "pinio cp", len);
	for (; done < len; done += n) {
		n = len - done < c.len ? len - done : c.len;
		ret = dev_xfer(&d, &c, false, o->off + done, n);
		if (ret) {
			progress_end(&p);
			ret = report_dev_error(&d, o->buffered ? "pread" :
					       "PINIO_IOC_READ", ret);
			goto out_file;
		}
		ret = write_full(out, c.p, n);
		if (ret) {
			progress_end(&p);
			err_msg("cannot write %s: %s", o->file, strerror(-ret));
			ret = EXIT_IO;
			goto out_file;
		}
		progress_update(&p, done + n);
	}
	progress_end(&p);
	if (!is_std && close(out)) {
		out = -1;
		err_msg("cannot write %s: %s", o->file, strerror(errno));
		ret = EXIT_IO;
		goto out_chunk;
	}
	out = -1;
	done_line(t, o, false, done, now_sec() - t0);
	ret = EXIT_OK;
out_file:
	if (!is_std && out >= 0)
		close(out);
out_chunk:
	chunk_put(&d, &c);
out_dev:
	dev_close(&d);
	return ret;
}

int cmd_cp(struct tool *t, int argc, char **argv)
{
	static const struct option opts[] = {
		COMMON_LONGOPTS,
		{ "buffered", no_argument, NULL, 'b' },
		{ "size", required_argument, NULL, 'n' },
		{ "chunk", required_argument, NULL, 'c' },
		ATTACH_LONGOPT,
		{ "flush", no_argument, NULL, 'F' },
		{ "no-flush", no_argument, NULL, 'N' },
		{ NULL, 0, NULL, 0 },
	};
	struct cp_opts o = { .chunk = DEFAULT_CHUNK, .flush = -1 };
	uint64_t src_off, dst_off;
	int c, src, dst;

	while ((c = getopt_long(argc, argv, COMMON_SHORTOPTS "bn:c:"
				ATTACH_SHORTOPT, opts, NULL)) != -1) {
		if (common_option(t, c, optarg))
			continue;
		switch (c) {
		case 'b':
			o.buffered = true;
			break;
		case 'n':
			if (parse_size(optarg, &o.size))
				return usage_error("cp", "bad size '%s'", optarg);
			o.size_given = true;
			break;
		case 'c':
			if (parse_size(optarg, &o.chunk) || !o.chunk)
				return usage_error("cp", "bad chunk size '%s'",
						   optarg);
			break;
		case 'a':
			o.attach = optarg;
			break;
		case 'F':
		case 'N':
			o.flush = c == 'F';
			break;
		default:
			return bad_option("cp", c, argv);
		}
	}
	if (argc - optind != 2)
		return usage_error("cp", "need SRC and DST, got %d argument%s",
				   argc - optind, argc - optind == 1 ? "" : "s");
	src = parse_dev(argv[optind], &src_off);
	dst = parse_dev(argv[optind + 1], &dst_off);
	if (src < 0 || dst < 0)
		return usage_error("cp", "bad device offset in '%s'",
				   argv[optind + (src < 0 ? 0 : 1)]);
	if (src == dst)
		return usage_error("cp", "exactly one of SRC and DST must be the device, written dev:OFFSET");
	if (o.flush >= 0 && !o.attach)
		return usage_error("cp", "--%s needs --attach: the driver's RAM is never durable",
				   o.flush ? "flush" : "no-flush");
	if (o.flush >= 0 && src)
		return usage_error("cp", "--%s applies to a copy to the device only",
				   o.flush ? "flush" : "no-flush");
	if (src) {
		o.off = src_off;
		o.file = argv[optind + 1];
		return cp_from_dev(t, &o);
	}
	o.flush = o.flush != 0;
	o.off = dst_off;
	o.file = argv[optind];
	return cp_to_dev(t, &o);
}
