/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Kernel log parser: /dev/kmsg records to KmsgEvents (see kmsg.h for the
 * formats). Kept free of anything but libc so that the fuzz target can build
 * it with coverage instrumentation on its own.
 *
 * The scanners below never use sscanf(): its %x accepts signs, blanks and
 * "0x" in odd places and overflows silently, and the kernel's formats are
 * exact enough to be matched digit by digit.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "observers/kmsg.h"
#include "macro.h"
#include "pci-address.h"

/* ---- scanners over NUL-terminated text; each advances *p only on success ---- */

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* s without prefix, or NULL if s does not start with it */
static const char *after(const char *s, const char *prefix)
{
	size_t n = strlen(prefix);

	return strncmp(s, prefix, n) == 0 ? s + n : NULL;
}

static bool eat(const char **p, const char *lit)
{
	size_t n = strlen(lit);

	if (strncmp(*p, lit, n) != 0)
		return false;
	*p += n;
	return true;
}

static void eat_spaces(const char **p)
{
	while (is_space(**p))
		(*p)++;
}

/* Only blanks are left. */
static bool at_end(const char *p)
{
	eat_spaces(&p);
	return *p == 0;
}

/* min..max hex digits (max ≤ 16, so the value cannot overflow). */
static bool eat_hex(const char **p, unsigned min, unsigned max, uint64_t *ret)
{
	const char *q = *p;
	uint64_t v = 0;
	unsigned n = 0;
	int d;

	while ((d = unhexchar(*q)) >= 0) {
		if (++n > max)
			return false;
		v = v << 4 | (uint64_t)d;
		q++;
	}
	if (n < min)
		return false;
	*p = q;
	*ret = v;
	return true;
}

/* "0x" and 1..max hex digits: the kernel's "0x%llx". */
static bool eat_0x(const char **p, unsigned max, uint64_t *ret)
{
	const char *q = *p;

	if (!eat(&q, "0x") || !eat_hex(&q, 1, max, ret))
		return false;
	*p = q;
	return true;
}

/* "%#x"/"%#llx": "0x…", or a bare "0" for zero. */
static bool eat_alt_hex(const char **p, uint64_t *ret)
{
	if (eat_0x(p, 16, ret))
		return true;
	if (**p == '0' && unhexchar((*p)[1]) < 0 && (*p)[1] != 'x') {
		(*p)++;
		*ret = 0;
		return true;
	}
	return false;
}

static bool eat_dec(const char **p, unsigned max_digits, uint64_t max, uint64_t *ret)
{
	const char *q = *p;
	uint64_t v = 0;
	unsigned n = 0;

	while (*q >= '0' && *q <= '9') {
		uint64_t d = (uint64_t)(*q - '0');

		if (++n > max_digits || d > max || v > (max - d) / 10)
			return false;
		v = v * 10 + d;
		q++;
	}
	if (n == 0)
		return false;
	*p = q;
	*ret = v;
	return true;
}

/* Copies up to the end of the line, without surrounding blanks; truncates to fit. */
static void copy_trimmed(char *dst, size_t size, const char *src)
{
	size_t len;

	eat_spaces(&src);
	len = strlen(src);
	while (len > 0 && is_space(src[len - 1]))
		len--;
	if (len >= size)
		len = size - 1;
	memcpy(dst, src, len);
	dst[len] = 0;
}

/* Copies the token up to a blank, one of stops, or the end; false if empty or too long. */
static bool eat_token(const char **p, const char *stops, char *dst, size_t size)
{
	const char *q = *p;
	size_t len = 0;

	while (q[len] && !is_space(q[len]) && !strchr(stops, q[len]))
		len++;
	if (len == 0 || len >= size)
		return false;
	memcpy(dst, q, len);
	dst[len] = 0;
	*p = q + len;
	return true;
}

/*
 * The requester from "ssss:bb:dd.f", or "bb:dd.f" as VT-d and older AMD
 * kernels print it; false (e untouched) for anything else.
 */
static bool set_bdf(KmsgEvent *e, const char *s)
{
	PciAddress a;

	if (pci_address_parse(s, 0, &a) < 0)
		return false;
	e->has_bdf = true;
	e->has_segment = a.has_domain;
	e->segment = (uint16_t)a.domain; /* 4 digits: no PCI_ADDRESS_WIDE_DOMAIN */
	e->bus = a.bus;
	e->dev = a.dev;
	e->fn = a.fn;
	return true;
}

/* ---- records ---- */

/*
 * devkmsg_read() escapes control bytes, bytes ≥ 127 and the backslash itself
 * as "\xNN" (kernel/printk/printk.c msg_add_ext_text()), so "\x" always starts
 * an escape. "\x00" stays escaped: a NUL would cut the line short.
 */
static void unescape(char *s)
{
	char *w = s;

	for (const char *r = s; *r;) {
		if (r[0] == '\\' && r[1] == 'x' && unhexchar(r[2]) >= 0 && unhexchar(r[3]) >= 0) {
			int v = unhexchar(r[2]) << 4 | unhexchar(r[3]);

			if (v != 0) {
				*w++ = (char)v;
				r += 4;
				continue;
			}
		}
		*w++ = *r++;
	}
	*w = 0;
}

int kmsg_parse_record(char *buf, size_t n, KmsgRecord *ret)
{
	uint64_t prio, seq, ts;
	const char *p = buf;
	char *semi, *text, *nl;

	if (n == 0)
		return -EINVAL;
	buf[n] = 0; /* the caller's buffer has room for it (see kmsg.h) */
	/* "prio,seq,ts,flags[,…];" — later kernels may append fields before ';'. */
	semi = memchr(buf, ';', n);
	if (!semi)
		return -EINVAL;
	*semi = 0;
	if (!eat_dec(&p, 10, INT32_MAX, &prio) || !eat(&p, ",") ||
	    !eat_dec(&p, 20, UINT64_MAX, &seq) || !eat(&p, ",") ||
	    !eat_dec(&p, 20, UINT64_MAX, &ts) || !eat(&p, ","))
		return -EINVAL;
	text = semi + 1;
	nl = strchr(text, '\n'); /* the dictionary follows */
	if (nl)
		*nl = 0;
	unescape(text);
	*ret = (KmsgRecord){
		.prio = (int)(prio & 7),
		.seq = seq,
		.ts_usec = ts,
		.text = text,
	};
	return 0;
}

size_t kmsg_stream_next(const char *buf, size_t n)
{
	size_t i = 0;

	for (;;) {
		const char *nl = memchr(buf + i, '\n', n - i);

		if (!nl)
			return n;
		i = (size_t)(nl - buf) + 1;
		if (i >= n || buf[i] != ' ')
			return i;
	}
}

/* ---- line classification ---- */

/* What may still follow the open event. */
typedef enum Group {
	GROUP_NONE,
	GROUP_VTD_FAULT,	/* dmar_fault_dump_ptes() */
	GROUP_AMD_DTE,		/* ILLEGAL_DEV_TABLE_ENTRY: DTE[0..3] */
	GROUP_AMD_CMD,		/* ILLEGAL_COMMAND_ERROR: CMD[0..3] */
	GROUP_AMD_NOT_ATTACHED, /* "Device not attached …": "  device=… domain=…" */
	GROUP_SMMU_EVENT,	/* 4 qwords, then (later kernels) the decoded lines */
	GROUP_SMMU_CMD,		/* "skipping command in error state:": 2 qwords */
	GROUP_SMMU_PRI,		/* "unexpected PRI request received:": one line */
} Group;

/* GROUP_SMMU_EVENT stage: the low bits count qwords. */
#define SMMU_STAGE_QWORDS  0x0f
#define SMMU_STAGE_DECODED 0x10
#define SMMU_STAGE_DETAIL  0x20
#define SMMU_EVENT_QWORDS  4 /* EVTQ_ENT_DWORDS */
#define SMMU_CMD_QWORDS	   2 /* CMDQ_ENT_DWORDS */
#define AMD_DUMP_WORDS	   4

/* Lines that continue an event rather than start one. */
typedef enum Member {
	MEMBER_NONE,
	MEMBER_VTD_DUMP_START, /* "Dump dmarN table entries for IOVA 0x…" */
	MEMBER_VTD_DUMP,
	MEMBER_VTD_PASID_ENTRY, /* "pasid table entry[i]: 0x…" */
	MEMBER_AMD_DTE,
	MEMBER_AMD_CMD,
	MEMBER_AMD_DEVICE,
	MEMBER_SMMU_QWORD,
	MEMBER_SMMU_DECODED, /* "event: … client: … sid: …": also stands alone */
	MEMBER_SMMU_DETAIL,  /* "unpriv data read s1 "…" stag: …" */
	MEMBER_SMMU_PRI,     /* "\tsid 0x….0x…: […] … access at iova 0x…" */
} Member;

typedef struct Line {
	KmsgEvent ev; /* the event this line starts, or the fields it contributes */
	Group opens;
	Member member;
	unsigned index;
	uint64_t value;
} Line;

/* SMMUv3 event IDs, from the architecture specification (IHI 0070) */
static const char *const smmu_event_names[] = {
	[0x01] = "F_UUT",
	[0x02] = "C_BAD_STREAMID",
	[0x03] = "F_STE_FETCH",
	[0x04] = "C_BAD_STE",
	[0x05] = "F_BAD_ATS_TREQ",
	[0x06] = "F_STREAM_DISABLED",
	[0x07] = "F_TRANSL_FORBIDDEN",
	[0x08] = "C_BAD_SUBSTREAMID",
	[0x09] = "F_CD_FETCH",
	[0x0a] = "C_BAD_CD",
	[0x0b] = "F_WALK_EABT",
	[0x10] = "F_TRANSLATION",
	[0x11] = "F_ADDR_SIZE",
	[0x12] = "F_ACCESS",
	[0x13] = "F_PERMISSION",
	[0x20] = "F_TLB_CONFLICT",
	[0x21] = "F_CFG_CONFLICT",
	[0x24] = "E_PAGE_REQUEST",
	[0x25] = "F_VMS_FETCH",
};

static const char *smmu_event_name(uint64_t id)
{
	if (id < ELEMENTSOF(smmu_event_names) && smmu_event_names[id])
		return smmu_event_names[id];
	return "UNKNOWN";
}

static uint32_t smmu_event_id(const char *name)
{
	for (size_t i = 0; i < ELEMENTSOF(smmu_event_names); i++)
		if (smmu_event_names[i] && streq(smmu_event_names[i], name))
			return (uint32_t)i;
	return 0;
}

/* Events whose record carries the faulting input address (qword 2) and RnW. */
static bool smmu_event_has_input(uint32_t id)
{
	switch (id) {
	case 0x01: /* F_UUT */
	case 0x05: /* F_BAD_ATS_TREQ */
	case 0x07: /* F_TRANSL_FORBIDDEN */
	case 0x0b: /* F_WALK_EABT */
	case 0x10: /* F_TRANSLATION */
	case 0x11: /* F_ADDR_SIZE */
	case 0x12: /* F_ACCESS */
	case 0x13: /* F_PERMISSION */
	case 0x20: /* F_TLB_CONFLICT */
		return true;
	default:
		return false;
	}
}

/* The fields of qword i of an SMMUv3 event record (arm-smmu-v3.h EVTQ_*). */
static void smmu_decode_qword(KmsgEvent *e, unsigned i)
{
	uint64_t q = e->raw[i];

	switch (i) {
	case 0:
		e->reason = (uint32_t)(q & 0xff);
		copy_trimmed(e->reason_text, sizeof(e->reason_text), smmu_event_name(e->reason));
		e->has_sid = true;
		e->sid = (uint32_t)(q >> 32);
		e->has_pasid = q & (1ULL << 11); /* SSV */
		e->pasid = e->has_pasid ? (uint32_t)(q >> 12) & 0xfffff : 0;
		break;
	case 1:
		if (smmu_event_has_input(e->reason))
			e->access =
				q & (1ULL << 35) ? FAULT_ACCESS_READ : FAULT_ACCESS_WRITE; /* RnW */
		/* S2: the fault was in stage 2, so qword 3 holds the IPA */
		e->has_ipa = e->reason >= 0x10 && e->reason <= 0x13 && (q & (1ULL << 39));
		break;
	case 2:
		if (smmu_event_has_input(e->reason))
			e->addr = q;
		break;
	case 3:
		e->ipa = e->has_ipa ? q & 0x000ffffffffff000ULL : 0; /* bits 51:12 */
		break;
	}
}

static void set_client(KmsgEvent *e, const char *name)
{
	copy_trimmed(e->client, sizeof(e->client), name);
	(void)set_bdf(e, e->client);
}

/*
 * " Request device [bb:dd.f]" up to 6.x, " Request device [ssss:bb:dd.f]"
 * with the PCI segment in newer kernels (7.2's dmar_fault_do_one() prints
 * "%04x:%02x:%02x.%d" with iommu->segment first).
 */
static bool eat_vtd_requester(const char **p, KmsgEvent *e)
{
	const char *q = *p;
	uint64_t s = 0, b, d, f;
	bool segment = false;

	if (!eat(&q, " Request device [") || !eat_hex(&q, 1, 4, &b) || !eat(&q, ":") ||
	    !eat_hex(&q, 1, 2, &d))
		return false;
	if (eat(&q, ":")) {
		/* What was read as bus and device were segment and bus. */
		segment = true;
		s = b;
		b = d;
		if (!eat_hex(&q, 1, 2, &d))
			return false;
	} else if (b > 0xff)
		return false;
	if (!eat(&q, ".") || !eat_dec(&q, 1, 9, &f) || !eat(&q, "]"))
		return false;
	if (d > 0x1f || f > 7)
		return false;
	e->has_bdf = true;
	e->has_segment = segment;
	e->segment = (uint16_t)s;
	e->bus = (uint8_t)b;
	e->dev = (uint8_t)d;
	e->fn = (uint8_t)f;
	*p = q;
	return true;
}

/* "[fault reason 0x..] TEXT" */
static bool eat_vtd_reason(const char **p, KmsgEvent *e)
{
	uint64_t r;

	if (!eat(p, " [fault reason ") || !eat_0x(p, 2, &r) || !eat(p, "]"))
		return false;
	e->reason = (uint32_t)r;
	copy_trimmed(e->reason_text, sizeof(e->reason_text), *p);
	return true;
}

/* Lines dmar_fault_dump_ptes() and pgtable_walk() print after "Dump … table entries". */
static const char *const vtd_dump_prefixes[] = {
	"root table is not present",
	"scalable mode root entry: ",
	"root entry: ",
	"context table is not present",
	"context entry: ",
	"legacy mode page table is not present",
	"pasid directory table is not present",
	"pasid dir entry: ",
	"pasid table is not present",
	"scalable mode page table is not present",
	"pte level: ",
	"page table not present at level ",
};

/* p: the text after "DMAR: " */
static void classify_vtd(const char *p, Line *l)
{
	KmsgEvent *e = &l->ev;
	const char *q = p;
	uint64_t v;

	e->vendor = KMSG_VENDOR_VTD;

	if (eat(&q, "[INTR-REMAP]")) {
		if (eat_vtd_requester(&q, e) && eat(&q, " fault index ") && eat_0x(&q, 16, &v) &&
		    eat_vtd_reason(&q, e)) {
			e->kind = KMSG_KIND_INTR_FAULT;
			e->addr = v;
		}
		return;
	}

	if (eat(&q, "[DMA Read "))
		e->access = FAULT_ACCESS_READ;
	else if (eat(&q, "[DMA Write "))
		e->access = FAULT_ACCESS_WRITE;
	if (e->access != FAULT_ACCESS_UNKNOWN) {
		if (eat(&q, "PASID ")) {
			if (!eat_0x(&q, 8, &v))
				return;
			e->has_pasid = true;
			e->pasid = (uint32_t)v;
		} else if (!eat(&q, "NO_PASID"))
			return;
		if (eat(&q, "]") && eat_vtd_requester(&q, e) && eat(&q, " fault addr ") &&
		    eat_0x(&q, 16, &v) && eat_vtd_reason(&q, e)) {
			e->kind = KMSG_KIND_DMA_FAULT;
			e->addr = v;
			l->opens = GROUP_VTD_FAULT;
		}
		return;
	}

	if (eat(&q, "DRHD: handling fault status reg ")) {
		if (eat_hex(&q, 1, 8, &v) && at_end(q)) {
			e->kind = KMSG_KIND_STATUS;
			e->status = (uint32_t)v;
			e->lost = v & 1; /* PFO: fault records were dropped */
			copy_trimmed(e->reason_text, sizeof(e->reason_text), p);
		}
		return;
	}

	if (eat(&q, "VT-d detected ")) {
		/* qi_dump_fault(): an invalidation error or time-out */
		e->kind = KMSG_KIND_STATUS;
		copy_trimmed(e->reason_text, sizeof(e->reason_text), p);
		return;
	}

	if (eat(&q, "Dump ")) {
		if (eat_token(&q, "", e->iommu, sizeof(e->iommu)) &&
		    eat(&q, " table entries for IOVA ") && eat_0x(&q, 16, &l->value) && at_end(q))
			l->member = MEMBER_VTD_DUMP_START;
	} else if (eat(&q, "pasid table entry[")) {
		uint64_t i;

		if (eat_dec(&q, 1, KMSG_RAW_MAX - 1, &i) && eat(&q, "]: ") &&
		    eat_0x(&q, 16, &l->value) && at_end(q)) {
			l->member = MEMBER_VTD_PASID_ENTRY;
			l->index = (unsigned)i;
		}
	} else
		for (size_t i = 0; i < ELEMENTSOF(vtd_dump_prefixes); i++)
			if (eat(&q, vtd_dump_prefixes[i])) {
				l->member = MEMBER_VTD_DUMP;
				break;
			}
	if (l->member != MEMBER_NONE)
		copy_trimmed(e->reason_text, sizeof(e->reason_text), p);
}

static const struct {
	const char *name;
	uint8_t code; /* event[1] bits 31:28 */
	KmsgKind kind;
} amd_events[] = {
	{"ILLEGAL_DEV_TABLE_ENTRY", 0x1, KMSG_KIND_DMA_FAULT},
	{"IO_PAGE_FAULT", 0x2, KMSG_KIND_DMA_FAULT},
	{"DEV_TAB_HARDWARE_ERROR", 0x3, KMSG_KIND_DMA_FAULT},
	{"PAGE_TAB_HARDWARE_ERROR", 0x4, KMSG_KIND_DMA_FAULT},
	{"ILLEGAL_COMMAND_ERROR", 0x5, KMSG_KIND_STATUS},
	{"COMMAND_HARDWARE_ERROR", 0x6, KMSG_KIND_STATUS},
	{"IOTLB_INV_TIMEOUT", 0x7, KMSG_KIND_STATUS},
	{"INVALID_DEVICE_REQUEST", 0x8, KMSG_KIND_DMA_FAULT},
	{"INVALID_PPR_REQUEST", 0x9, KMSG_KIND_STATUS},
	{"RMP_PAGE_FAULT", 0xd, KMSG_KIND_DMA_FAULT},
	{"RMP_HW_ERROR", 0xe, KMSG_KIND_DMA_FAULT},
	{"UNKNOWN", 0x0, KMSG_KIND_STATUS},
};

/* One "key=value" of an AMD event; false if a value we rely on is malformed. */
static bool amd_event_field(KmsgEvent *e, const char *key, const char *value)
{
	const char *q = value;
	uint64_t v;

	if (streq(key, "device"))
		return set_bdf(e, value);
	if (!eat_0x(&q, 16, &v) || *q)
		/* vmg_tag, tag, flags_rmp, spa and whatever later kernels add */
		return !(streq(key, "address") || streq(key, "domain") || streq(key, "pasid") ||
			 streq(key, "flags") || streq(key, "gpa"));
	if (streq(key, "address") || streq(key, "gpa"))
		e->addr = v;
	else if (streq(key, "domain")) {
		e->has_domain = true;
		e->domain = (uint32_t)v;
	} else if (streq(key, "pasid")) {
		e->has_pasid = true;
		e->pasid = (uint32_t)v;
	} else if (streq(key, "flags")) {
		e->has_flags = true;
		e->flags = (uint32_t)v;
	} else if (strncmp(key, "event[", 6) == 0 && key[6] >= '0' && key[6] <= '3' &&
		   streq(key + 7, "]")) {
		/* UNKNOWN: the raw event words */
		e->raw[key[6] - '0'] = v;
		e->n_raw = (uint8_t)MAX(e->n_raw, key[6] - '0' + 1);
	}
	return true;
}

/*
 * p: after "Event logged ["; driver, dev: the dev_err()/pci_err() prefix, if
 * any. dev_err(iommu->iommu.dev) names the IOMMU, whose class "iommu" stands
 * in for a driver; pci_err(pdev) names the device.
 */
static void classify_amd_event(const char *p, const char *driver, const char *dev, Line *l)
{
	KmsgEvent *e = &l->ev;
	const char *q = p;
	char name[32];
	size_t i;

	if (eat(&q, "Device not attached to domain properly]")) {
		/* amd_iommu_report_page_fault(): an IO_PAGE_FAULT of a device in no domain */
		e->kind = KMSG_KIND_DMA_FAULT;
		e->reason = 0x2;
		copy_trimmed(e->reason_text, sizeof(e->reason_text),
			     "Device not attached to domain properly");
		l->opens = GROUP_AMD_NOT_ATTACHED;
		return;
	}
	if (!eat_token(&q, "]", name, sizeof(name)))
		return;
	for (i = 0; i < ELEMENTSOF(amd_events); i++)
		if (streq(amd_events[i].name, name))
			break;
	if (i >= ELEMENTSOF(amd_events))
		return;

	/* key=value pairs, blank or ", " separated, up to ']' (UNKNOWN forgets it) */
	for (;;) {
		char key[16], value[64];

		eat_spaces(&q);
		if (*q == 0 || *q == ']')
			break;
		if (!eat_token(&q, "=", key, sizeof(key)) || !eat(&q, "=") ||
		    !eat_token(&q, "],", value, sizeof(value)))
			return;
		(void)eat(&q, ",");
		if (!amd_event_field(e, key, value))
			return;
	}

	e->reason = amd_events[i].code;
	copy_trimmed(e->reason_text, sizeof(e->reason_text), name);
	e->kind = amd_events[i].kind;
	if (e->reason == 0x0 && e->n_raw >= 2)
		e->reason = (uint32_t)(e->raw[1] >> 28) & 0xf;

	if (dev && streq(driver, "iommu"))
		copy_trimmed(e->iommu, sizeof(e->iommu), dev);
	else if (dev && !e->has_bdf)
		set_client(e, dev);

	if (e->has_flags && e->reason >= 0x1 && e->reason <= 0x4) {
		/* I: an interrupt request, not DMA; RW: write */
		if (e->flags & KMSG_AMD_FLAG_I)
			e->kind = KMSG_KIND_INTR_FAULT;
		else
			e->access = e->flags & KMSG_AMD_FLAG_RW ? FAULT_ACCESS_WRITE
								: FAULT_ACCESS_READ;
	} else if (e->has_flags && e->reason == 0x8)
		e->access = e->flags & KMSG_AMD_FLAG_RW ? FAULT_ACCESS_WRITE : FAULT_ACCESS_READ;

	if (e->has_flags && e->reason != 0x9) {
		bool gn = e->flags & KMSG_AMD_FLAG_GN;

		/* With GN clear the PASID field is not valid; with GN set IO_PAGE_FAULT's
		 * "domain" is PASID[15:0]. */
		if (e->has_pasid && !gn)
			e->has_pasid = false, e->pasid = 0;
		if (e->reason == 0x2 && e->has_domain && gn) {
			e->has_pasid = true;
			e->pasid = e->domain;
			e->has_domain = false;
			e->domain = 0;
		}
	}

	if (e->reason == 0x1)
		l->opens = GROUP_AMD_DTE;
	else if (e->reason == 0x5)
		l->opens = GROUP_AMD_CMD;
}

/* p: after "AMD-Vi: " (tagged) or at "Event logged [" (older kernels); driver, dev as above. */
static void classify_amd(const char *p, const char *driver, const char *dev, bool tagged, Line *l)
{
	KmsgEvent *e = &l->ev;
	const char *q = p;
	uint64_t i, v;

	e->vendor = KMSG_VENDOR_AMD;
	if (eat(&q, "Event logged [")) {
		classify_amd_event(q, driver, dev, l);
		return;
	}
	if (!tagged)
		return;

	if (eat(&q, "DTE[") || eat(&q, "CMD[")) {
		bool dte = p[0] == 'D';

		if (eat_dec(&q, 1, AMD_DUMP_WORDS - 1, &i) && eat(&q, "]: ") &&
		    eat_hex(&q, dte ? 16 : 8, dte ? 16 : 8, &v) && at_end(q)) {
			l->member = dte ? MEMBER_AMD_DTE : MEMBER_AMD_CMD;
			l->index = (unsigned)i;
			l->value = v;
			copy_trimmed(e->reason_text, sizeof(e->reason_text), p);
		}
		return;
	}
	eat_spaces(&q);
	if (eat(&q, "device=")) {
		char bdf[16];

		if (eat_token(&q, "", bdf, sizeof(bdf)) && eat(&q, " domain=") &&
		    eat_0x(&q, 8, &v) && at_end(q) && set_bdf(e, bdf)) {
			e->has_domain = true;
			e->domain = (uint32_t)v;
			l->member = MEMBER_AMD_DEVICE;
			copy_trimmed(e->reason_text, sizeof(e->reason_text), p);
		}
		return;
	}

	if (streq(p, "IOMMU Event log restarting") || streq(p, "IOMMU event log overflow")) {
		/* the event log overflowed (amd_iommu_restart_log(), older kernels inline) */
		e->kind = KMSG_KIND_OVERFLOW;
		e->lost = true;
	} else if (streq(p, "No event written to event log")) {
		/* iommu_print_event() gave up waiting for an entry (erratum 732): one event lost */
		e->kind = KMSG_KIND_STATUS;
		e->lost = true;
	} else if (streq(p, "IOMMU PPR log restarting") || streq(p, "IOMMU GA log restarting"))
		e->kind = KMSG_KIND_STATUS;
	if (e->kind != KMSG_KIND_OTHER)
		copy_trimmed(e->reason_text, sizeof(e->reason_text), p);
}

static const struct {
	const char *text;
	KmsgKind kind;
	bool lost;
} smmu_messages[] = {
	{"EVTQ overflow detected -- events lost", KMSG_KIND_OVERFLOW, true},
	{"EVTQ write aborted -- events may have been lost", KMSG_KIND_OVERFLOW, true},
	{"PRIQ overflow detected -- requests lost", KMSG_KIND_STATUS, false},
	{"PRIQ write aborted -- events may have been lost", KMSG_KIND_STATUS, false},
	{"device has entered Service Failure Mode!", KMSG_KIND_STATUS, false},
	{"GERROR MSI write aborted", KMSG_KIND_STATUS, false},
	{"PRIQ MSI write aborted", KMSG_KIND_STATUS, false},
	{"EVTQ MSI write aborted", KMSG_KIND_STATUS, false},
	{"CMDQ MSI write aborted", KMSG_KIND_STATUS, false},
	{"retrying command fetch", KMSG_KIND_STATUS, false},
	{"CMDQ timeout", KMSG_KIND_STATUS, false},
};

/* "event: NAME client: DEV sid: … ssid: …[ iova: … ipa: …| fetch_addr: …]" */
static bool classify_smmu_decoded(const char *q, KmsgEvent *e)
{
	char name[32], client[64] = "";
	uint64_t sid, ssid, v;

	if (!eat_token(&q, "", name, sizeof(name)) || !eat(&q, " client: "))
		return false;
	if (eat(&q, "(unassigned sid)"))
		/* the kernel knows no device with this stream ID */
		snprintf(client, sizeof(client), "(unassigned sid)");
	else if (!eat_token(&q, "", client, sizeof(client)))
		return false;
	if (!eat(&q, " sid: ") || !eat_alt_hex(&q, &sid) || sid > UINT32_MAX ||
	    !eat(&q, " ssid: ") || !eat_alt_hex(&q, &ssid) || ssid > UINT32_MAX)
		return false;
	if (eat(&q, " iova: ")) {
		if (!eat_alt_hex(&q, &e->addr) || !eat(&q, " ipa: ") || !eat_alt_hex(&q, &v))
			return false;
		e->has_ipa = true;
		e->ipa = v;
	} else if (eat(&q, " fetch_addr: ")) {
		if (!eat_alt_hex(&q, &v))
			return false;
	}
	if (!at_end(q))
		return false;

	e->kind = KMSG_KIND_DMA_FAULT;
	e->reason = smmu_event_id(name);
	copy_trimmed(e->reason_text, sizeof(e->reason_text), name);
	e->has_sid = true;
	e->sid = (uint32_t)sid;
	/* arm_smmu_decode_event() prints 0 when SSV is clear */
	e->has_pasid = ssid != 0;
	e->pasid = (uint32_t)ssid;
	set_client(e, client);
	return true;
}

/* "%s %s %s %s \"%s\"%s%s stag: %#x" of arm_smmu_dump_event() */
static bool classify_smmu_detail(const char *q, Line *l)
{
	const char *quote;
	uint64_t stag;

	if (!eat(&q, "priv ") && !eat(&q, "unpriv "))
		return false;
	if (!eat(&q, "inst ") && !eat(&q, "data "))
		return false;
	if (eat(&q, "read "))
		l->value = FAULT_ACCESS_READ;
	else if (eat(&q, "write "))
		l->value = FAULT_ACCESS_WRITE;
	else
		return false;
	if ((!eat(&q, "s1 ") && !eat(&q, "s2 ")) || !eat(&q, "\"") || !(quote = strchr(q, '"')))
		return false;
	q = strstr(quote, " stag: ");
	if (!q)
		return false;
	q += strlen(" stag: ");
	return eat_alt_hex(&q, &stag) && at_end(q);
}

/* p: after "DRIVER DEVICE: " of an SMMUv3; dev: the SMMU's device name. */
static void classify_smmu(const char *p, const char *dev, Line *l)
{
	KmsgEvent *e = &l->ev;
	const char *q = p;
	uint64_t v, w;

	e->vendor = KMSG_VENDOR_SMMUV3;
	copy_trimmed(e->iommu, sizeof(e->iommu), dev);

	if (eat(&q, "event 0x")) {
		if (eat_hex(&q, 1, 2, &v) && eat(&q, " received:") && at_end(q)) {
			e->kind = KMSG_KIND_DMA_FAULT;
			e->reason = (uint32_t)v;
			copy_trimmed(e->reason_text, sizeof(e->reason_text), smmu_event_name(v));
			l->opens = GROUP_SMMU_EVENT;
		}
		return;
	}
	if (eat(&q, "event: ")) {
		if (classify_smmu_decoded(q, e)) {
			l->member = MEMBER_SMMU_DECODED;
			l->opens = GROUP_SMMU_EVENT;
		}
		return;
	}
	eat_spaces(&q);
	if (q != p && eat(&q, "0x")) {
		/* "\t0x%016llx": a qword of the event or command just announced */
		if (eat_hex(&q, 16, 16, &l->value) && at_end(q)) {
			l->member = MEMBER_SMMU_QWORD;
			copy_trimmed(e->reason_text, sizeof(e->reason_text), p);
		}
		return;
	}
	if (q != p && eat(&q, "sid 0x")) {
		/* arm_smmu_handle_ppr(): "\tsid 0x%08x.0x%05x: [%u%s] …" */
		if (eat_hex(&q, 1, 8, &v) && eat(&q, ".0x") && eat_hex(&q, 1, 5, &w) &&
		    eat(&q, ": [")) {
			e->has_sid = true;
			e->sid = (uint32_t)v;
			e->has_pasid = true;
			e->pasid = (uint32_t)w;
			l->member = MEMBER_SMMU_PRI;
			copy_trimmed(e->reason_text, sizeof(e->reason_text), p);
		}
		return;
	}
	if (classify_smmu_detail(q, l)) {
		l->member = MEMBER_SMMU_DETAIL;
		copy_trimmed(e->reason_text, sizeof(e->reason_text), p);
		return;
	}

	if (eat(&q, "unexpected PRI request received:") && at_end(q)) {
		e->kind = KMSG_KIND_STATUS;
		l->opens = GROUP_SMMU_PRI;
	} else if (eat(&q, "skipping command in error state:") && at_end(q)) {
		e->kind = KMSG_KIND_STATUS;
		l->opens = GROUP_SMMU_CMD;
	} else if (eat(&q, "unexpected global error reported (")) {
		if (eat_0x(&q, 8, &v) && eat(&q, "), this could be serious") && at_end(q)) {
			e->kind = KMSG_KIND_STATUS;
			e->status = (uint32_t)v;
		}
	} else if (eat(&q, "CMDQ error (cons "))
		e->kind = KMSG_KIND_STATUS;
	else
		for (size_t i = 0; i < ELEMENTSOF(smmu_messages); i++)
			if (streq(p, smmu_messages[i].text)) {
				e->kind = smmu_messages[i].kind;
				e->lost = smmu_messages[i].lost;
				break;
			}
	if (e->kind != KMSG_KIND_OTHER)
		copy_trimmed(e->reason_text, sizeof(e->reason_text), p);
}

/* lib/ratelimit.c: "%s: %d callbacks suppressed", %s being the caller's __func__ */
static bool classify_ratelimit(const char *text, KmsgEvent *e)
{
	const char *q = text;
	size_t n = 0;
	uint64_t v;

	while ((q[n] >= 'a' && q[n] <= 'z') || (q[n] >= 'A' && q[n] <= 'Z') ||
	       (q[n] >= '0' && q[n] <= '9') || q[n] == '_')
		n++;
	if (n == 0 || n >= sizeof(e->func))
		return false;
	q += n;
	if (!eat(&q, ": ") || !eat_dec(&q, 10, INT32_MAX, &v) ||
	    !eat(&q, " callbacks suppressed") || !at_end(q))
		return false;
	memcpy(e->func, text, n);
	e->func[n] = 0;
	e->suppressed = (uint32_t)v;
	e->kind = KMSG_KIND_RATELIMIT;
	/* The limiters in front of the fault lines tell which family lost lines. */
	if (streq(e->func, "dmar_fault"))
		e->vendor = KMSG_VENDOR_VTD;
	else if (strncmp(e->func, "amd_iommu_", 10) == 0)
		e->vendor = KMSG_VENDOR_AMD;
	else if (strncmp(e->func, "arm_smmu_", 9) == 0)
		e->vendor = KMSG_VENDOR_SMMUV3;
	return true;
}

/*
 * dev_printk(): "DRIVER DEVICE: " — DRIVER has neither blanks nor colons,
 * DEVICE no blanks (PCI names have colons). Returns the rest, or NULL.
 */
static const char *eat_dev_prefix(const char *text, char *driver, size_t dsize, char *dev,
				  size_t devsize)
{
	const char *q = text, *colon;

	if (!eat_token(&q, ":", driver, dsize) || !eat(&q, " "))
		return NULL;
	for (colon = q; *colon && !is_space(*colon); colon++)
		if (colon[0] == ':' && colon[1] == ' ')
			break;
	if (colon == q || colon[0] != ':' || colon[1] != ' ' || (size_t)(colon - q) >= devsize)
		return NULL;
	memcpy(dev, q, (size_t)(colon - q));
	dev[colon - q] = 0;
	return colon + 2;
}

static void classify(const char *text, Line *l)
{
	char driver[32], dev[64];
	const char *p, *q;

	*l = (Line){};
	l->ev.source = FAULT_SOURCE_KMSG;

	if ((p = after(text, "DMAR: ")))
		classify_vtd(p, l);
	else if (classify_ratelimit(text, &l->ev))
		return;
	else if ((p = after(text, "AMD-Vi: ")))
		classify_amd(p, NULL, NULL, true, l);
	else if ((p = eat_dev_prefix(text, driver, sizeof(driver), dev, sizeof(dev)))) {
		if ((q = after(p, "AMD-Vi: ")))
			classify_amd(q, driver, dev, true, l);
		else if (after(p, "Event logged ["))
			/* AMD before the driver set dev_fmt */
			classify_amd(p, driver, dev, false, l);
		else if (strstr(driver, "smmu"))
			classify_smmu(p, dev, l);
	}

	if (l->ev.kind == KMSG_KIND_OTHER && l->member == MEMBER_NONE) {
		/* not ours: keep the whole line, for the record */
		*l = (Line){.ev = {.source = FAULT_SOURCE_KMSG}};
		copy_trimmed(l->ev.reason_text, sizeof(l->ev.reason_text), text);
	}
}

/* ---- the stateful part ---- */

void kmsg_parser_init(KmsgParser *p, kmsg_event_cb_t cb, void *userdata)
{
	*p = (KmsgParser){.cb = cb, .userdata = userdata};
}

bool kmsg_parser_pending(const KmsgParser *p, uint64_t *ret_seq)
{
	if (p->n_open == 0)
		return false;
	if (ret_seq)
		*ret_seq = p->open[p->n_open - 1].ev.seq;
	return true;
}

static void close_slot(KmsgParser *p, unsigned i)
{
	KmsgEvent ev = p->open[i].ev;

	/* the callback may feed more records; leave the slots consistent first */
	memmove(&p->open[i], &p->open[i + 1], (p->n_open - i - 1) * sizeof(p->open[0]));
	p->n_open--;
	p->cb(&ev, p->userdata);
}

void kmsg_parser_flush_until(KmsgParser *p, uint64_t seq)
{
	for (unsigned i = 0; i < p->n_open;)
		if (p->open[i].ev.seq <= seq)
			close_slot(p, i);
		else
			i++;
}

void kmsg_parser_flush(KmsgParser *p)
{
	while (p->n_open > 0)
		close_slot(p, 0);
}

/*
 * The open event a line of e's IOMMU would belong to. SMMUv3 lines name
 * their SMMU; VT-d and AMD fault lines do not name the unit, so those
 * families have one open event each.
 */
static int find_slot(const KmsgParser *p, const KmsgEvent *e)
{
	for (unsigned i = 0; i < p->n_open; i++) {
		const KmsgEvent *o = &p->open[i].ev;

		if (o->vendor == e->vendor &&
		    (e->vendor != KMSG_VENDOR_SMMUV3 || streq(o->iommu, e->iommu)))
			return (int)i;
	}
	return -1;
}

/* Folds l into the open event s if it continues it. */
static bool merge(KmsgParserSlot *s, const Line *l)
{
	KmsgEvent *o = &s->ev;
	const KmsgEvent *e = &l->ev;
	unsigned qwords = s->stage & SMMU_STAGE_QWORDS;

	switch (l->member) {
	case MEMBER_VTD_DUMP_START:
		/* The IOVA ties the dump to its fault. */
		if (s->group != GROUP_VTD_FAULT || s->stage != 0 || l->value != o->addr)
			return false;
		memcpy(o->iommu, e->iommu, sizeof(o->iommu));
		s->stage = 1;
		return true;
	case MEMBER_VTD_DUMP:
		return s->group == GROUP_VTD_FAULT && s->stage == 1;
	case MEMBER_VTD_PASID_ENTRY:
		if (s->group != GROUP_VTD_FAULT || s->stage != 1 || l->index >= KMSG_RAW_MAX)
			return false;
		o->raw[l->index] = l->value;
		o->n_raw = (uint8_t)MAX(o->n_raw, l->index + 1);
		return true;
	case MEMBER_AMD_DTE:
	case MEMBER_AMD_CMD:
		if (s->group != (l->member == MEMBER_AMD_DTE ? GROUP_AMD_DTE : GROUP_AMD_CMD) ||
		    l->index != s->stage || s->stage >= AMD_DUMP_WORDS)
			return false;
		o->raw[s->stage++] = l->value;
		o->n_raw = (uint8_t)s->stage;
		return true;
	case MEMBER_AMD_DEVICE:
		if (s->group != GROUP_AMD_NOT_ATTACHED || s->stage != 0)
			return false;
		o->has_bdf = true;
		o->has_segment = e->has_segment;
		o->segment = e->segment;
		o->bus = e->bus;
		o->dev = e->dev;
		o->fn = e->fn;
		o->has_domain = true;
		o->domain = e->domain;
		s->stage = 1;
		return true;
	case MEMBER_SMMU_QWORD:
		if (s->group == GROUP_SMMU_EVENT && !(s->stage & SMMU_STAGE_DECODED) &&
		    qwords < SMMU_EVENT_QWORDS) {
			o->raw[qwords] = l->value;
			o->n_raw = (uint8_t)(qwords + 1);
			smmu_decode_qword(o, qwords);
			s->stage++;
			return true;
		}
		if (s->group == GROUP_SMMU_CMD && qwords < SMMU_CMD_QWORDS) {
			o->raw[qwords] = l->value;
			o->n_raw = (uint8_t)(qwords + 1);
			s->stage++;
			return true;
		}
		return false;
	case MEMBER_SMMU_DECODED:
		if (s->group != GROUP_SMMU_EVENT || (s->stage & SMMU_STAGE_DECODED) ||
		    (o->n_raw > 0 && o->sid != e->sid))
			return false;
		if (o->n_raw == 0) {
			/* the record was not printed: take the decoded values */
			o->sid = e->sid;
			o->has_sid = true;
			o->has_pasid = e->has_pasid;
			o->pasid = e->pasid;
		}
		if (o->n_raw < 3)
			o->addr = e->addr;
		/* The header named the event already, and knows IDs the kernel calls UNKNOWN. */
		o->has_ipa = e->has_ipa;
		o->ipa = e->ipa;
		memcpy(o->client, e->client, sizeof(o->client));
		o->has_bdf = e->has_bdf;
		o->has_segment = e->has_segment;
		o->segment = e->segment;
		o->bus = e->bus;
		o->dev = e->dev;
		o->fn = e->fn;
		s->stage |= SMMU_STAGE_DECODED;
		return true;
	case MEMBER_SMMU_DETAIL:
		if (s->group != GROUP_SMMU_EVENT || !(s->stage & SMMU_STAGE_DECODED) ||
		    (s->stage & SMMU_STAGE_DETAIL))
			return false;
		o->access = (FaultAccess)l->value;
		s->stage |= SMMU_STAGE_DETAIL;
		return true;
	case MEMBER_SMMU_PRI:
		if (s->group != GROUP_SMMU_PRI || s->stage != 0)
			return false;
		o->has_sid = true;
		o->sid = e->sid;
		o->has_pasid = true;
		o->pasid = e->pasid;
		s->stage = 1;
		return true;
	case MEMBER_NONE:
		break;
	}
	return false;
}

static void open_slot(KmsgParser *p, const Line *l)
{
	KmsgParserSlot *s;

	if (p->n_open >= KMSG_PARSER_SLOTS)
		close_slot(p, 0);
	s = &p->open[p->n_open++];
	s->ev = l->ev;
	s->group = l->opens;
	/* A decoded SMMUv3 line standing alone: its record qwords were not printed before it. */
	s->stage = l->member == MEMBER_SMMU_DECODED ? SMMU_STAGE_DECODED | SMMU_EVENT_QWORDS : 0;
}

void kmsg_parser_feed(KmsgParser *p, const KmsgRecord *rec)
{
	Line l;
	int i;

	classify(rec->text, &l);
	l.ev.seq = rec->seq;
	l.ev.ts_usec = rec->ts_usec;
	l.ev.n_records = 1;

	if (l.ev.kind == KMSG_KIND_OTHER && l.member == MEMBER_NONE) {
		p->cb(&l.ev, p->userdata);
		return;
	}

	i = find_slot(p, &l.ev);
	if (l.member != MEMBER_NONE && i >= 0 && merge(&p->open[i], &l)) {
		p->open[i].ev.n_records++;
		return;
	}
	/* Anything else from this IOMMU ends what it had open. */
	if (i >= 0)
		close_slot(p, (unsigned)i);
	if (l.opens != GROUP_NONE)
		open_slot(p, &l);
	else if (l.member != MEMBER_NONE) {
		/* A continuation without its event: never counted as one. */
		l.ev.kind = KMSG_KIND_DETAIL;
		p->cb(&l.ev, p->userdata);
	} else
		p->cb(&l.ev, p->userdata);
}

/* ---- consumers ---- */

const char *kmsg_kind_to_string(KmsgKind k)
{
	static const char *const table[_KMSG_KIND_MAX] = {
		[KMSG_KIND_OTHER] = "other",	       [KMSG_KIND_DMA_FAULT] = "dma-fault",
		[KMSG_KIND_INTR_FAULT] = "intr-fault", [KMSG_KIND_STATUS] = "status",
		[KMSG_KIND_RATELIMIT] = "ratelimit",   [KMSG_KIND_OVERFLOW] = "overflow",
		[KMSG_KIND_DETAIL] = "detail",
	};

	return (unsigned)k < _KMSG_KIND_MAX ? table[k] : "?";
}

const char *kmsg_vendor_to_string(KmsgVendor v)
{
	static const char *const table[_KMSG_VENDOR_MAX] = {
		[KMSG_VENDOR_NONE] = "-",
		[KMSG_VENDOR_VTD] = "vtd",
		[KMSG_VENDOR_AMD] = "amd",
		[KMSG_VENDOR_SMMUV3] = "smmuv3",
	};

	return (unsigned)v < _KMSG_VENDOR_MAX ? table[v] : "?";
}

bool kmsg_event_matches_device(const KmsgEvent *e, uint16_t segment, uint8_t bus, uint8_t dev,
			       uint8_t fn)
{
	if (e->has_bdf)
		return e->bus == bus && e->dev == dev && e->fn == fn &&
		       (!e->has_segment || e->segment == segment);
	/* A client the kernel named (or said it does not know) is not a PCI function. */
	if (e->vendor == KMSG_VENDOR_SMMUV3 && e->has_sid && !e->client[0])
		return e->sid == ((uint32_t)bus << 8 | (uint32_t)dev << 3 | fn);
	return false;
}

_printf_(4, 5) static void append(char *buf, size_t n, int *len, const char *fmt, ...)
{
	size_t at = (size_t)*len;
	va_list ap;
	int k;

	va_start(ap, fmt);
	k = vsnprintf(at < n ? buf + at : NULL, at < n ? n - at : 0, fmt, ap);
	va_end(ap);
	if (k > 0)
		*len += k;
}

int kmsg_event_format(const KmsgEvent *e, char *buf, size_t n)
{
	static const char *const access[_FAULT_ACCESS_MAX] = {"-", "read", "write"};
	char device[PCI_ADDRESS_STRING_MAX] = "-", pasid[16] = "-";
	int len;

	if (e->has_bdf)
		pci_address_format(&(PciAddress){.domain = e->segment,
						 .bus = e->bus,
						 .dev = e->dev,
						 .fn = e->fn & 7u,
						 .has_domain = e->has_segment},
				   device);
	if (e->has_pasid)
		snprintf(pasid, sizeof(pasid), "0x%" PRIx32, e->pasid);

	len = snprintf(buf, n, "%" PRIu64 " %s %s %s %s 0x%" PRIx64 " %s 0x%" PRIx32, e->seq,
		       kmsg_kind_to_string(e->kind), kmsg_vendor_to_string(e->vendor), device,
		       pasid, e->addr,
		       (unsigned)e->access < _FAULT_ACCESS_MAX ? access[e->access] : "?",
		       e->reason);
	if (len < 0)
		return len;
	if (e->has_sid)
		append(buf, n, &len, " sid=0x%" PRIx32, e->sid);
	if (e->client[0])
		append(buf, n, &len, " client=%s", e->client);
	if (e->iommu[0])
		append(buf, n, &len, " iommu=%s", e->iommu);
	if (e->has_ipa)
		append(buf, n, &len, " ipa=0x%" PRIx64, e->ipa);
	if (e->has_flags)
		append(buf, n, &len, " flags=0x%" PRIx32, e->flags);
	if (e->has_domain)
		append(buf, n, &len, " domain=0x%" PRIx32, e->domain);
	if (e->status)
		append(buf, n, &len, " status=0x%" PRIx32, e->status);
	if (e->lost)
		append(buf, n, &len, " lost");
	if (e->kind == KMSG_KIND_RATELIMIT)
		append(buf, n, &len, " func=%s suppressed=%" PRIu32, e->func, e->suppressed);
	if (e->n_records > 1)
		append(buf, n, &len, " records=%u", e->n_records);
	for (unsigned i = 0; i < MIN(e->n_raw, (unsigned)KMSG_RAW_MAX); i++)
		append(buf, n, &len, "%s%" PRIx64, i == 0 ? " raw=" : ",", e->raw[i]);
	append(buf, n, &len, " |%s%s", e->reason_text[0] ? " " : "", e->reason_text);
	return len;
}
