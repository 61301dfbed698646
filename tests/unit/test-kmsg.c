/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "observers/kmsg.h"
#include "pci-address.h"
#include "observers/uevent.h"
#include "check-run.h"

/*
 * The fixtures: NAME.txt holds /dev/kmsg records as `cat /dev/kmsg` saves
 * them ('#' lines are comments), NAME.expect the events the parser must make
 * of them, one kmsg_event_format() line each, in delivery order.
 */
static const char *const fixtures[] = {"vtd-qemu", "vtd", "amd", "smmuv3"};

typedef struct Lines {
	char **v;
	size_t n;
} Lines;

static void lines_add(Lines *l, const char *s)
{
	l->v = realloc(l->v, (l->n + 1) * sizeof(*l->v));
	ck_assert_ptr_nonnull(l->v);
	l->v[l->n] = strdup(s);
	ck_assert_ptr_nonnull(l->v[l->n]);
	l->n++;
}

static void lines_free(Lines *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	*l = (Lines){};
}

static char *read_fixture(const char *name, const char *suffix, size_t *ret_size)
{
	const char *dir = getenv("KMSG_FIXTURE_DIR");
	char path[4096];
	char *buf = NULL;
	size_t size = 0, n;
	FILE *f;

	ck_assert_msg(dir, "KMSG_FIXTURE_DIR is not set");
	snprintf(path, sizeof(path), "%s/%s%s", dir, name, suffix);
	f = fopen(path, "re");
	ck_assert_msg(f, "cannot open %s", path);
	do {
		buf = realloc(buf, size + 4096 + 1);
		ck_assert_ptr_nonnull(buf);
		n = fread(buf + size, 1, 4096, f);
		size += n;
	} while (n == 4096);
	ck_assert(!ferror(f));
	fclose(f);
	buf[size] = 0;
	*ret_size = size;
	return buf;
}

static void collect(const KmsgEvent *e, void *userdata)
{
	char line[1024];

	ck_assert_int_lt(kmsg_event_format(e, line, sizeof(line)), (int)sizeof(line));
	lines_add(userdata, line);
}

/* Feeds a saved kmsg stream through record splitting and the parser. */
static void parse_stream(const char *buf, size_t size, Lines *out)
{
	KmsgParser p;

	kmsg_parser_init(&p, collect, out);
	while (size > 0) {
		size_t n = kmsg_stream_next(buf, size);
		char *rec_buf;
		KmsgRecord rec;

		ck_assert_uint_gt(n, 0);
		if (buf[0] != '#' && buf[0] != '\n') {
			rec_buf = malloc(n + 1);
			ck_assert_ptr_nonnull(rec_buf);
			memcpy(rec_buf, buf, n);
			ck_assert_msg(kmsg_parse_record(rec_buf, n, &rec) == 0, "bad record: %.*s",
				      (int)n, buf);
			kmsg_parser_feed(&p, &rec);
			free(rec_buf); /* the parser must not hold on to it */
		}
		buf += n;
		size -= n;
	}
	kmsg_parser_flush(&p);
	ck_assert(!kmsg_parser_pending(&p, NULL));
}

START_TEST(test_fixture)
{
	const char *name = fixtures[_i];
	Lines got = {}, want = {};
	size_t size, i;
	char *txt, *expect, *line, *save = NULL;

	txt = read_fixture(name, ".txt", &size);
	parse_stream(txt, size, &got);
	free(txt);

	expect = read_fixture(name, ".expect", &size);
	for (line = strtok_r(expect, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		if (line[0] != '#')
			lines_add(&want, line);
	free(expect);

	for (i = 0; i < got.n && i < want.n; i++)
		ck_assert_msg(streq(got.v[i], want.v[i]),
			      "%s.expect event %zu:\n got: %s\nwant: %s", name, i + 1, got.v[i],
			      want.v[i]);
	ck_assert_msg(got.n == want.n, "%s: %zu events, %zu expected; first extra: %s", name, got.n,
		      want.n, got.n > want.n ? got.v[want.n] : want.v[got.n]);
	lines_free(&got);
	lines_free(&want);
}
END_TEST

typedef struct Collected {
	KmsgEvent ev[8];
	size_t n;
} Collected;

static void keep(const KmsgEvent *e, void *userdata)
{
	Collected *c = userdata;

	ck_assert_uint_lt(c->n, ELEMENTSOF(c->ev));
	c->ev[c->n++] = *e;
}

static void feed_text(KmsgParser *p, uint64_t seq, const char *text)
{
	KmsgRecord rec = {.seq = seq, .ts_usec = seq * 10, .prio = 3, .text = text};

	kmsg_parser_feed(p, &rec);
}

/* One line alone, closed at once: the event it makes. */
static KmsgEvent parse_one(const char *text)
{
	Collected c = {};
	KmsgParser p;

	kmsg_parser_init(&p, keep, &c);
	feed_text(&p, 1, text);
	kmsg_parser_flush(&p);
	ck_assert_uint_eq(c.n, 1);
	return c.ev[0];
}

START_TEST(test_fields)
{
	KmsgEvent e;

	e = parse_one("DMAR: [DMA Write PASID 0x1f] Request device [3a:1f.7] fault addr "
		      "0xfffff000 [fault reason 0x05] PTE Write access is not set  ");
	ck_assert_int_eq(e.kind, KMSG_KIND_DMA_FAULT);
	ck_assert_int_eq(e.vendor, KMSG_VENDOR_VTD);
	ck_assert_int_eq(e.source, FAULT_SOURCE_KMSG);
	ck_assert_int_eq(e.access, FAULT_ACCESS_WRITE);
	ck_assert(e.has_pasid);
	ck_assert_uint_eq(e.pasid, 0x1f);
	ck_assert(e.has_bdf && !e.has_segment);
	ck_assert_uint_eq(e.bus, 0x3a);
	ck_assert_uint_eq(e.dev, 0x1f);
	ck_assert_uint_eq(e.fn, 7);
	ck_assert_uint_eq(e.addr, 0xfffff000);
	ck_assert_uint_eq(e.reason, 0x05);
	ck_assert_str_eq(e.reason_text, "PTE Write access is not set");
	ck_assert_uint_eq(e.seq, 1);
	ck_assert_uint_eq(e.ts_usec, 10);
	ck_assert_uint_eq(e.n_records, 1);

	/* 7.2 prints the PCI segment too. */
	e = parse_one("DMAR: [DMA Read NO_PASID] Request device [0001:3a:1f.7] fault addr "
		      "0x100000 [fault reason 0x58] SM: Error attempting to access PASID Table "
		      "Entry");
	ck_assert_int_eq(e.kind, KMSG_KIND_DMA_FAULT);
	ck_assert_int_eq(e.access, FAULT_ACCESS_READ);
	ck_assert(!e.has_pasid);
	ck_assert(e.has_bdf && e.has_segment);
	ck_assert_uint_eq(e.segment, 1);
	ck_assert_uint_eq(e.bus, 0x3a);
	ck_assert_uint_eq(e.dev, 0x1f);
	ck_assert_uint_eq(e.fn, 7);
	ck_assert_uint_eq(e.addr, 0x100000);
	ck_assert_uint_eq(e.reason, 0x58);
	e = parse_one("DMAR: [DMA Write PASID 0x5] Request device [0000:00:03.0] fault addr 0x0 "
		      "[fault reason 0x06] PTE Read access is not set");
	ck_assert_int_eq(e.kind, KMSG_KIND_DMA_FAULT);
	ck_assert(e.has_pasid && e.pasid == 5);
	ck_assert(e.has_bdf && e.has_segment && e.segment == 0 && e.dev == 3);
	e = parse_one("DMAR: [INTR-REMAP] Request device [0000:00:1f.0] fault index 0x2 "
		      "[fault reason 0x25] Blocked a compatibility format interrupt request");
	ck_assert_int_eq(e.kind, KMSG_KIND_INTR_FAULT);
	ck_assert(e.has_bdf && e.has_segment && e.dev == 0x1f);
	/* Neither form: a bus beyond 8 bits, a device beyond 5 bits, a short or long segment. */
	e = parse_one("DMAR: [DMA Read NO_PASID] Request device [100:03.0] fault addr 0x0 "
		      "[fault reason 0x06] x");
	ck_assert_int_ne(e.kind, KMSG_KIND_DMA_FAULT);
	e = parse_one("DMAR: [DMA Read NO_PASID] Request device [0000:00:20.0] fault addr 0x0 "
		      "[fault reason 0x06] x");
	ck_assert_int_ne(e.kind, KMSG_KIND_DMA_FAULT);
	e = parse_one("DMAR: [DMA Read NO_PASID] Request device [00000:00:03.0] fault addr 0x0 "
		      "[fault reason 0x06] x");
	ck_assert_int_ne(e.kind, KMSG_KIND_DMA_FAULT);

	e = parse_one("dmar_fault: 12 callbacks suppressed");
	ck_assert_int_eq(e.kind, KMSG_KIND_RATELIMIT);
	ck_assert_str_eq(e.func, "dmar_fault");
	ck_assert_uint_eq(e.suppressed, 12);

	e = parse_one("DMAR: DRHD: handling fault status reg 402");
	ck_assert_int_eq(e.kind, KMSG_KIND_STATUS);
	ck_assert_uint_eq(e.status, 0x402);
	ck_assert(!e.lost);

	e = parse_one("vfio-pci 0001:3a:00.1: AMD-Vi: Event logged [IO_PAGE_FAULT domain=0x0002 "
		      "address=0xfffffffff000 flags=0x0020]");
	ck_assert_int_eq(e.kind, KMSG_KIND_DMA_FAULT);
	ck_assert(e.has_bdf && e.has_segment);
	ck_assert_uint_eq(e.segment, 1);
	ck_assert_uint_eq(e.bus, 0x3a);
	ck_assert_uint_eq(e.fn, 1);
	ck_assert(e.has_domain && e.has_flags);
	ck_assert_uint_eq(e.addr, 0xfffffffff000);

	e = parse_one("arm-smmu-v3 arm-smmu-v3.0.auto: event: F_ADDR_SIZE client: pl011 sid: 0x2 "
		      "ssid: 0 iova: 0 ipa: 0");
	ck_assert_int_eq(e.kind, KMSG_KIND_DMA_FAULT);
	ck_assert_uint_eq(e.reason, 0x11);
	ck_assert_str_eq(e.client, "pl011");
	ck_assert(!e.has_bdf && e.has_sid && !e.has_pasid);

	e = parse_one("");
	ck_assert_int_eq(e.kind, KMSG_KIND_OTHER);
	ck_assert_int_eq(e.vendor, KMSG_VENDOR_NONE);
}
END_TEST

START_TEST(test_record)
{
	char buf[512];
	const char *raw =
		"3,1234,5678901,-;DMAR: [DMA Read NO_PASID] Request device [00:03.0] fault "
		"addr 0x100000 [fault reason 0x59] SM: Present bit in PASID Table Entry is "
		"clear\n SUBSYSTEM=pci\n DEVICE=+pci:0000:00:03.0\n";
	KmsgRecord rec;

	strcpy(buf, raw);
	ck_assert_int_eq(kmsg_parse_record(buf, strlen(raw), &rec), 0);
	ck_assert_int_eq(rec.prio, 3);
	ck_assert_uint_eq(rec.seq, 1234);
	ck_assert_uint_eq(rec.ts_usec, 5678901);
	ck_assert_ptr_null(strchr(rec.text, '\n'));
	ck_assert_str_eq(parse_one(rec.text).reason_text,
			 "SM: Present bit in PASID Table Entry is clear");

	/* Newer kernels append fields before ';' (e.g. the caller id). */
	strcpy(buf, "6,7,8,-,caller=T1;hello\n");
	ck_assert_int_eq(kmsg_parse_record(buf, strlen(buf), &rec), 0);
	ck_assert_str_eq(rec.text, "hello");

	/* The kernel's escapes; \x00 stays escaped rather than cutting the line. */
	strcpy(buf, "6,9,10,-;a\\x09b\\x5cc\\x00d\\xzz\\x4");
	ck_assert_int_eq(kmsg_parse_record(buf, strlen(buf), &rec), 0);
	ck_assert_str_eq(rec.text, "a\tb\\c\\x00d\\xzz\\x4");

	/* Not read past n, even without a NUL. */
	memcpy(buf, "6,1,2,-;abcdef", 14);
	ck_assert_int_eq(kmsg_parse_record(buf, 10, &rec), 0);
	ck_assert_str_eq(rec.text, "ab");

	strcpy(buf, "garbage without header");
	ck_assert_int_eq(kmsg_parse_record(buf, strlen(buf), &rec), -EINVAL);
	strcpy(buf, "1,2;short");
	ck_assert_int_eq(kmsg_parse_record(buf, strlen(buf), &rec), -EINVAL);
	strcpy(buf, "1,99999999999999999999999,3,-;overflow");
	ck_assert_int_eq(kmsg_parse_record(buf, strlen(buf), &rec), -EINVAL);
	strcpy(buf, "-1,2,3,-;negative");
	ck_assert_int_eq(kmsg_parse_record(buf, strlen(buf), &rec), -EINVAL);
	ck_assert_int_eq(kmsg_parse_record(buf, 0, &rec), -EINVAL);
}
END_TEST

START_TEST(test_stream)
{
	static const char first[] = "6,1,0,-;a\n SUBSYSTEM=pci\n DEVICE=+pci:x\n";
	static const char s[] = "6,1,0,-;a\n SUBSYSTEM=pci\n DEVICE=+pci:x\n6,2,0,-;b\n6,3,0,-;c";
	const size_t n = strlen(first);

	ck_assert_uint_eq(kmsg_stream_next(s, strlen(s)), n);
	ck_assert_uint_eq(kmsg_stream_next(s + n, strlen(s) - n), strlen("6,2,0,-;b\n"));
	ck_assert_uint_eq(kmsg_stream_next("6,3,0,-;c", 9), 9);
	ck_assert_uint_eq(kmsg_stream_next("\n\n", 2), 1);
	ck_assert_uint_eq(kmsg_stream_next("x\n ", 3), 3);
	ck_assert_uint_eq(kmsg_stream_next("", 0), 0);
}
END_TEST

START_TEST(test_match)
{
	KmsgEvent e;

	/* VT-d lines carry no segment: any segment matches. */
	e = parse_one("DMAR: [DMA Read NO_PASID] Request device [00:03.0] fault addr 0x0 "
		      "[fault reason 0x06] x");
	ck_assert(kmsg_event_matches_device(&e, 0, 0, 3, 0));
	ck_assert(kmsg_event_matches_device(&e, 2, 0, 3, 0));
	ck_assert(!kmsg_event_matches_device(&e, 0, 0, 3, 1));
	/* ... up to 6.x; newer ones print it, and then it must match. */
	e = parse_one("DMAR: [DMA Read NO_PASID] Request device [0000:00:03.0] fault addr 0x0 "
		      "[fault reason 0x06] x");
	ck_assert(kmsg_event_matches_device(&e, 0, 0, 3, 0));
	ck_assert(!kmsg_event_matches_device(&e, 2, 0, 3, 0));
	ck_assert(!kmsg_event_matches_device(&e, 0, 0, 3, 1));

	e = parse_one("AMD-Vi: Event logged [IO_PAGE_FAULT device=0001:00:03.0 domain=0x0002 "
		      "address=0x1000 flags=0x0020]");
	ck_assert(kmsg_event_matches_device(&e, 1, 0, 3, 0));
	ck_assert(!kmsg_event_matches_device(&e, 0, 0, 3, 0));

	/* SMMUv3 without a client: stream ID = requester ID. */
	e = parse_one("arm-smmu-v3 arm-smmu-v3.0.auto: event 0x10 received:");
	ck_assert(!kmsg_event_matches_device(&e, 0, 0, 1, 0)); /* no stream ID yet */
	e.has_sid = true;
	e.sid = 0x0108;
	ck_assert(kmsg_event_matches_device(&e, 0, 1, 1, 0));
	ck_assert(!kmsg_event_matches_device(&e, 0, 0, 1, 0));

	/* A client the kernel named wins over the stream ID. */
	e = parse_one("arm-smmu-v3 arm-smmu-v3.0.auto: event: C_BAD_STE client: (unassigned sid) "
		      "sid: 0x8 ssid: 0");
	ck_assert(!kmsg_event_matches_device(&e, 0, 0, 1, 0));
	e = parse_one("arm-smmu-v3 arm-smmu-v3.0.auto: event: C_BAD_STE client: 0000:00:02.0 "
		      "sid: 0x8 ssid: 0");
	ck_assert(!kmsg_event_matches_device(&e, 0, 0, 1, 0));
	ck_assert(kmsg_event_matches_device(&e, 0, 0, 2, 0));

	e = parse_one("dmar_fault: 1 callbacks suppressed");
	ck_assert(!kmsg_event_matches_device(&e, 0, 0, 0, 0));
}
END_TEST

START_TEST(test_open_events)
{
	Collected c = {};
	KmsgParser p;
	uint64_t seq;
	char line[96];

	kmsg_parser_init(&p, keep, &c);
	ck_assert(!kmsg_parser_pending(&p, &seq));

	/* One open event per SMMU; the oldest goes when a fifth SMMU needs a slot. */
	for (unsigned i = 0; i < KMSG_PARSER_SLOTS + 1; i++) {
		snprintf(line, sizeof(line), "arm-smmu-v3 smmu%u: event 0x10 received:", i);
		feed_text(&p, 10 + i, line);
	}
	ck_assert_uint_eq(c.n, 1);
	ck_assert_uint_eq(c.ev[0].seq, 10);
	ck_assert(kmsg_parser_pending(&p, &seq));
	ck_assert_uint_eq(seq, 10 + KMSG_PARSER_SLOTS);

	/* Lines that are no IOMMU's close nothing. */
	feed_text(&p, 20, "usb 1-1: new high-speed USB device number 2 using xhci_hcd");
	ck_assert_uint_eq(c.n, 2);
	ck_assert_int_eq(c.ev[1].kind, KMSG_KIND_OTHER);

	kmsg_parser_flush_until(&p, 12);
	ck_assert_uint_eq(c.n, 4);
	ck_assert_uint_eq(c.ev[2].seq, 11);
	ck_assert_uint_eq(c.ev[3].seq, 12);
	kmsg_parser_flush(&p);
	ck_assert_uint_eq(c.n, 6);
	ck_assert(!kmsg_parser_pending(&p, NULL));
}
END_TEST

START_TEST(test_format)
{
	KmsgEvent e = parse_one("DMAR: [DMA Read PASID 0x3] Request device [00:03.0] fault addr "
				"0x1000 [fault reason 0x06] PTE Read access is not set");
	char full[256], small[16];
	int n = kmsg_event_format(&e, full, sizeof(full));

	ck_assert_str_eq(full, "1 dma-fault vtd 00:03.0 0x3 0x1000 read 0x6 | PTE Read access is "
			       "not set");
	ck_assert_int_eq(n, (int)strlen(full));
	/* Truncated like snprintf(): NUL terminated, full length returned. */
	memset(small, 'x', sizeof(small));
	ck_assert_int_eq(kmsg_event_format(&e, small, sizeof(small)), n);
	ck_assert_uint_eq(strlen(small), sizeof(small) - 1);
	ck_assert(strncmp(small, full, sizeof(small) - 1) == 0);
	ck_assert_int_eq(kmsg_event_format(&e, NULL, 0), n);

	ck_assert_str_eq(kmsg_kind_to_string(KMSG_KIND_OVERFLOW), "overflow");
	ck_assert_str_eq(kmsg_kind_to_string(_KMSG_KIND_MAX), "?");
	ck_assert_str_eq(kmsg_vendor_to_string(KMSG_VENDOR_SMMUV3), "smmuv3");
}
END_TEST

START_TEST(test_bdf)
{
	PciAddress a;

	/* The kernel log's forms: a 4-digit segment or none. */
	ck_assert_int_eq(pci_address_parse("0000:00:03.0", 0, &a), 0);
	ck_assert_uint_eq(a.domain, 0);
	ck_assert_uint_eq(a.dev, 3);
	ck_assert_int_eq(pci_address_parse("0001:3a:1f.7", 0, &a), 0);
	ck_assert_uint_eq(a.domain, 1);
	ck_assert_uint_eq(a.bus, 0x3a);
	ck_assert_uint_eq(a.dev, 0x1f);
	ck_assert_uint_eq(a.fn, 7);
	ck_assert_int_eq(pci_address_parse("FFFF:3A:00.0", 0, &a), 0);
	ck_assert_uint_eq(a.domain, 0xffff);
	ck_assert_int_eq(pci_address_parse("00:03.0", 0, &a), 0);
	ck_assert_uint_eq(a.domain, 0);
	ck_assert(!a.has_domain);
	ck_assert_int_eq(pci_address_parse("00:20.0", 0, &a), -EINVAL);
	ck_assert_int_eq(pci_address_parse("00:03.8", 0, &a), -EINVAL);
	ck_assert_int_eq(pci_address_parse("model0", 0, &a), -EINVAL);
	ck_assert_int_eq(pci_address_parse("0000:00:03.0x", 0, &a), -EINVAL);
	ck_assert_int_eq(pci_address_parse(" 0:03.0", 0, &a), -EINVAL);
	ck_assert_int_eq(pci_address_parse("-1:03.0", 0, &a), -EINVAL);
	ck_assert_int_eq(pci_address_parse("00000:00:03.0", 0, &a), -EINVAL);
	ck_assert_int_eq(pci_address_parse("", 0, &a), -EINVAL);
}
END_TEST

START_TEST(test_uevent)
{
	static const char msg[] = "unbind@/devices/pci0000:00/0000:00:03.0\0ACTION=unbind\0"
				  "DEVPATH=/devices/pci0000:00/0000:00:03.0\0SUBSYSTEM=pci\0"
				  "PCI_SLOT_NAME=0000:00:03.0\0SEQNUM=1234";
	static const char udev[] = "libudev\0\xfe\xed\xca\xfe";
	static const char noheader[] = "ACTION=add\0DEVPATH=/x\0";
	Uevent e;

	ck_assert_int_eq(uevent_parse(msg, sizeof(msg), &e), 0);
	ck_assert_str_eq(e.action, "unbind");
	ck_assert_str_eq(e.subsystem, "pci");
	ck_assert_ptr_null(e.driver);
	ck_assert_str_eq(uevent_pci_address(&e), "0000:00:03.0");
	/* The last field without its NUL is ignored, not read past the end. */
	ck_assert_int_eq(uevent_parse(msg, sizeof(msg) - 1, &e), 0);
	ck_assert_int_eq(uevent_parse(udev, sizeof(udev) - 1, &e), -EINVAL);
	ck_assert_int_eq(uevent_parse(noheader, sizeof(noheader), &e), -EINVAL);
	ck_assert_int_eq(uevent_parse("x", 1, &e), -EINVAL);

	e = (Uevent){.action = "remove", .devpath = "/devices/virtual/net/lo", .subsystem = "net"};
	ck_assert_ptr_null(uevent_pci_address(&e));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("kmsg");
	TCase *tc = tcase_create("parse");

	tcase_add_loop_test(tc, test_fixture, 0, ELEMENTSOF(fixtures));
	tcase_add_test(tc, test_fields);
	tcase_add_test(tc, test_record);
	tcase_add_test(tc, test_stream);
	tcase_add_test(tc, test_match);
	tcase_add_test(tc, test_open_events);
	tcase_add_test(tc, test_format);
	tcase_add_test(tc, test_bdf);
	tcase_add_test(tc, test_uevent);
	suite_add_tcase(s, tc);
	return check_run(s);
}
