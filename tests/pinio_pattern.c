// SPDX-License-Identifier: GPL-2.0
/*
 * The shared disk pattern (see pinio_pattern.h).
 *
 * Byte at offset o is byte (o % 8) of the 64-bit word
 *	mix64(o / 8 + ((uint64_t)seed << 32))
 * where mix64 is the splitmix64 finalizer, a bijection of 64-bit integers.
 * For one seed distinct word indices give distinct words; across seeds the
 * inputs are distinct while o / 8 < 2^32 (offsets below 32 GiB).
 */
#include "pinio_pattern.h"

static uint64_t pinio_mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return x;
}

static uint64_t pinio_pattern_word(uint64_t word, uint32_t seed)
{
	return pinio_mix64(word + ((uint64_t)seed << 32));
}

uint8_t pinio_pattern_byte(uint64_t off, uint32_t seed)
{
	return (uint8_t)(pinio_pattern_word(off >> 3, seed) >> (8 * (off & 7)));
}

void pinio_pattern_fill(void *buf, size_t len, uint64_t disk_off,
			uint32_t seed)
{
	uint8_t *p = buf;
	uint64_t w = 0;
	size_t i;

	for (i = 0; i < len; i++) {
		uint64_t off = disk_off + i;
		unsigned int b = off & 7;

		if (b == 0 || i == 0)
			w = pinio_pattern_word(off >> 3, seed);
		p[i] = (uint8_t)(w >> (8 * b));
	}
}

long pinio_pattern_check(const void *buf, size_t len, uint64_t disk_off,
			 uint32_t seed)
{
	const uint8_t *p = buf;
	uint64_t w = 0;
	size_t i;

	for (i = 0; i < len; i++) {
		uint64_t off = disk_off + i;
		unsigned int b = off & 7;

		if (b == 0 || i == 0)
			w = pinio_pattern_word(off >> 3, seed);
		if (p[i] != (uint8_t)(w >> (8 * b)))
			return (long)i;
	}
	return -1;
}
