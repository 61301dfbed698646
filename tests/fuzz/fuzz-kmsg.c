/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Fuzz target for the kernel-log parser: the input is a saved /dev/kmsg
 * stream, taken apart with kmsg_stream_next() and kmsg_parse_record() and fed
 * to the stateful parser, whose events go through every consumer. Each record
 * gets its own exactly-sized buffer, freed right after it was fed, so a read
 * past a record or a pointer kept into one shows up under ASan.
 *
 * Built for libFuzzer with clang, or with fuzz-main.c's driver otherwise.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "observers/kmsg.h"
#include "pci-address.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool terminated(const char *s, size_t size)
{
	return memchr(s, 0, size) != NULL;
}

static void check_event(const KmsgEvent *e, void *userdata)
{
	size_t *records = userdata;
	char line[512];
	PciAddress a;
	int n;

	if ((unsigned)e->kind >= _KMSG_KIND_MAX || (unsigned)e->vendor >= _KMSG_VENDOR_MAX ||
	    (unsigned)e->access >= _FAULT_ACCESS_MAX || e->n_raw > KMSG_RAW_MAX ||
	    e->n_records == 0 || e->source != FAULT_SOURCE_KMSG)
		abort();
	if (!terminated(e->reason_text, sizeof(e->reason_text)) ||
	    !terminated(e->client, sizeof(e->client)) || !terminated(e->iommu, sizeof(e->iommu)) ||
	    !terminated(e->func, sizeof(e->func)))
		abort();
	if (e->has_bdf && (e->dev > 0x1f || e->fn > 7))
		abort();

	n = kmsg_event_format(e, line, sizeof(line));
	if (n < 0 || strlen(line) != MIN((size_t)n, sizeof(line) - 1))
		abort();
	(void)kmsg_event_matches_device(e, 0, 0, 3, 0);
	(void)pci_address_parse(e->client, 0, &a);
	*records += e->n_records;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t fed = 0, delivered = 0;
	KmsgParser p;

	kmsg_parser_init(&p, check_event, &delivered);
	while (size > 0) {
		size_t n = kmsg_stream_next((const char *)data, size);
		KmsgRecord rec;
		char *buf;

		if (n == 0 || n > size)
			abort();
		buf = malloc(n + 1);
		if (!buf)
			return 0;
		memcpy(buf, data, n);
		if (kmsg_parse_record(buf, n, &rec) >= 0) {
			kmsg_parser_feed(&p, &rec);
			fed++;
			/* close what is open now and then, as the daemon's timer does */
			if (n % 7 == 0)
				kmsg_parser_flush_until(&p, rec.seq);
		}
		free(buf);
		data += n;
		size -= n;
	}
	kmsg_parser_flush(&p);
	/* Every record ends up in exactly one event. */
	if (delivered != fed || kmsg_parser_pending(&p, NULL))
		abort();
	return 0;
}
