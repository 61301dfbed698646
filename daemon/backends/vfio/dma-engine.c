/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <endian.h>
#include <string.h>

#include "backends/vfio/dma-engine.h"
#include "macro.h"

const DmaEngineDriver *const dma_engine_drivers[] = {
	&dma_engine_edu,
	&dma_engine_nvme,
	NULL,
};

const DmaEngineDriver *dma_engine_find(const char *name)
{
	for (const DmaEngineDriver *const *d = dma_engine_drivers; *d; d++)
		if (streq_ptr((*d)->name, name))
			return *d;
	return NULL;
}

const DmaEngineDriver *dma_engine_match(uint16_t vendor, uint16_t device, uint32_t class)
{
	for (const DmaEngineDriver *const *d = dma_engine_drivers; *d; d++)
		if ((*d)->match(vendor, device, class))
			return *d;
	return NULL;
}

const char *dma_fault_reason_to_string(unsigned reason)
{
	switch (reason) {
	case DMA_FAULT_TIMEOUT:
		return "timeout";
	case DMA_FAULT_ENGINE:
		return "engine-error";
	case DMA_FAULT_MISMATCH:
		return "mismatch";
	case DMA_FAULT_NOT_WRITTEN:
		return "not-written";
	case DMA_FAULT_STALE:
		return "stale";
	case DMA_FAULT_STATUS:
		return "error-status";
	case DMA_FAULT_FATAL:
		return "controller-fatal";
	default:
		return "unknown";
	}
}

static uint64_t splitmix64(uint64_t x)
{
	x += UINT64_C(0x9E3779B97F4A7C15);
	x = (x ^ (x >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
	x = (x ^ (x >> 27)) * UINT64_C(0x94D049BB133111EB);
	return x ^ (x >> 31);
}

/* Word i of transfer seq's pattern: seq itself first, so a reader can tell whose data it has. */
static uint64_t pattern_word(uint64_t seq, size_t i)
{
	return i == 0 ? seq : splitmix64(seq * UINT64_C(0x100000001B3) ^ i);
}

static uint8_t pattern_byte(uint64_t seq, size_t k)
{
	return (uint8_t)(pattern_word(seq, k / 8) >> (8 * (k % 8)));
}

void dma_pattern_fill(uint8_t *buf, size_t len, uint64_t seq)
{
	for (size_t k = 0; k < len; k++)
		buf[k] = pattern_byte(seq, k);
}

void dma_pattern_poison(uint8_t *buf, size_t len, uint64_t seq)
{
	for (size_t k = 0; k < len; k++)
		buf[k] = (uint8_t)~pattern_byte(seq, k);
}

static bool holds(const uint8_t *buf, size_t len, uint64_t seq, uint8_t xor)
{
	for (size_t k = 0; k < len; k++)
		if (buf[k] != (uint8_t)(pattern_byte(seq, k) ^ xor))
			return false;
	return true;
}

bool dma_pattern_check(const uint8_t *buf, size_t len, uint64_t seq, DmaCheck *ret)
{
	DmaCheck c = {};
	uint64_t first = 0;
	size_t k;

	for (k = 0; k < len; k++)
		if (buf[k] != pattern_byte(seq, k))
			break;
	if (k == len) {
		if (ret)
			*ret = c;
		return true;
	}
	c.offset = k;
	c.expected = pattern_byte(seq, k);
	c.got = buf[k];

	if (holds(buf, len, seq, 0xff))
		c.reason = DMA_FAULT_NOT_WRITTEN;
	else {
		c.reason = DMA_FAULT_MISMATCH;
		/* An earlier transfer's data: the device copied what it read before, or nothing
		 * new. */
		if (len >= 8) {
			memcpy(&first, buf, sizeof(first));
			first = le64toh(first);
			if (first != 0 && first < seq && holds(buf, len, first, 0)) {
				c.reason = DMA_FAULT_STALE;
				c.stale_seq = first;
			}
		}
	}
	if (ret)
		*ret = c;
	return false;
}
