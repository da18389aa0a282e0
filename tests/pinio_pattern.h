/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The shared disk pattern: the bytes a test writes to, or expects at, a
 * region of a disk, a pure function of the absolute disk offset of each byte
 * and a 32-bit seed. The guest tests, the durability writer and the host's
 * image checker (tests/host/pinio_imgcheck.c) all build this same code, so a
 * region written by one is checked by another byte for byte.
 *
 * Every byte depends on its disk offset and the seed: no two 8-byte-aligned
 * words of one seed are equal (so no 512-byte block, aligned or not to 8,
 * repeats anywhere on a disk), and below 32 GiB no word of one seed equals
 * the word at any offset of another seed. Data that lands at the wrong
 * offset, is torn, or comes from a stale or zeroed block does not match.
 *
 * Plain C99, no libc beyond <stddef.h>/<stdint.h>.
 */
#ifndef PINIO_PATTERN_H
#define PINIO_PATTERN_H

#include <stddef.h>
#include <stdint.h>

/* The pattern byte at absolute disk offset @off for @seed. */
uint8_t pinio_pattern_byte(uint64_t off, uint32_t seed);

/* Fill @buf (@len bytes) with the pattern of disk range [@disk_off, +@len). */
void pinio_pattern_fill(void *buf, size_t len, uint64_t disk_off,
			uint32_t seed);

/*
 * -1 if @buf holds the pattern of [@disk_off, +@len) for @seed, else the
 * index in @buf of the first byte that differs.
 */
long pinio_pattern_check(const void *buf, size_t len, uint64_t disk_off,
			 uint32_t seed);

#endif /* PINIO_PATTERN_H */
