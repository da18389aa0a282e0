// SPDX-License-Identifier: GPL-2.0
/*
 * pinio(1): size parsing and formatting, timing, full reads and writes,
 * JSON strings.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tool.h"

/*
 * "4096", "0x1000", "64K", "16M", "1G", "2T" (also "16MiB"): bytes.
 * -EINVAL for anything else, -ERANGE when it does not fit 64 bits.
 */
int parse_size(const char *s, uint64_t *val)
{
	unsigned long long n;
	unsigned int shift = 0;
	char *end;

	if (!s || !isdigit((unsigned char)*s))
		return -EINVAL;	/* also refuses "-1", which strtoull takes */
	errno = 0;
	/* Base 10 or 0x hex; never octal, so "010" is ten. */
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		s += 2;
		if (!isxdigit((unsigned char)*s))
			return -EINVAL;
		n = strtoull(s, &end, 16);
	} else {
		n = strtoull(s, &end, 10);
	}
	if (errno)
		return -errno;
	if (*end) {
		static const char units[] = "KMGT";
		const char *u = strchr(units, toupper((unsigned char)*end));

		if (!u)
			return -EINVAL;
		shift = 10 * (u - units + 1);
		end++;
		if (!strcmp(end, "iB"))
			end += 2;
		if (*end)
			return -EINVAL;
	}
	if (shift && n > (~0ULL >> shift))
		return -ERANGE;
	*val = (uint64_t)n << shift;
	return 0;
}

/* "512 B", "16.0 MiB": a human size in @buf. */
const char *fmt_bytes(uint64_t n, char *buf, size_t len)
{
	static const char * const units[] = { "KiB", "MiB", "GiB", "TiB" };
	double v = n;
	int i = -1;

	if (n < KiB) {
		snprintf(buf, len, "%llu B", (unsigned long long)n);
		return buf;
	}
	while (v >= 1024 && i < 3) {
		v /= 1024;
		i++;
	}
	snprintf(buf, len, "%.1f %s", v, units[i]);
	return buf;
}

double rate_mib(uint64_t bytes, double secs)
{
	return secs > 0 ? bytes / (double)MiB / secs : 0;
}

double now_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Read until @len bytes or end of file: the count, or -errno. */
ssize_t read_full(int fd, void *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = read(fd, (char *)buf + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		done += n;
	}
	return done;
}

int write_full(int fd, const void *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = write(fd, (const char *)buf + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		done += n;
	}
	return 0;
}

/* @s as a JSON string, quotes included. */
void json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = *s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}
