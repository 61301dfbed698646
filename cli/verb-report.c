/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * report: one self-contained HTML file about a run. No JavaScript, no
 * network, no external style or font: plots are inline SVG drawn here from
 * Run.Describe() and Run.GetTimeline(), so the file can be mailed, attached
 * to a bug or printed and look the same. The markup is well-formed XML
 * (xmllint --noout takes it).
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli-bus.h"
#include "config.h"
#include "cli-output.h"
#include "iommuctl.h"
#include "log.h"
#include "parse-util.h"

/* Plot geometry, in SVG user units (CSS px at 100%). */
#define PLOT_W	 760
#define PLOT_H	 220
#define MARGIN_L 70
#define MARGIN_R 16
#define MARGIN_T 14
#define MARGIN_B 36

/* One colour per thing plotted; the report test looks for these exact pixels. */
#define COLOR_REPLACEMENTS "#2b6cb0"
#define COLOR_LATENCY	   "#2f855a"
static const struct {
	const char *source, *color;
} source_colors[] = {
	{"model", "#c05621"},	{"dma-verify", "#c53030"}, {"kmsg", "#6b46c1"},
	{"iommufd", "#b7791f"}, {"tracefs", "#2c7a7b"},
};

static const char *source_color(const char *source)
{
	for (size_t i = 0; i < ELEMENTSOF(source_colors); i++)
		if (streq(source_colors[i].source, source))
			return source_colors[i].color;
	return "#4a5568";
}

/* Text and attribute values: the five characters XML reserves. */
static void put_escaped(FILE *f, const char *s)
{
	for (; s && *s; s++)
		switch (*s) {
		case '&':
			fputs("&amp;", f);
			break;
		case '<':
			fputs("&lt;", f);
			break;
		case '>':
			fputs("&gt;", f);
			break;
		case '"':
			fputs("&quot;", f);
			break;
		case '\'':
			fputs("&#39;", f);
			break;
		default:
			fputc(*s, f);
		}
}

static void tag_text(FILE *f, const char *tag, const char *text)
{
	fprintf(f, "<%s>", tag);
	put_escaped(f, text);
	fprintf(f, "</%s>", tag);
}

/* 1, 2, 5 × 10^k at or above v: round axis maxima. */
static double nice_ceil(double v)
{
	double p, m;

	if (v <= 0)
		return 1;
	p = pow(10, floor(log10(v)));
	m = v / p;
	return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
}

/* "1.5M", "20k", "0.3": axis labels that fit. */
static char *format_si(char *buf, size_t n, double v)
{
	static const char *const units[] = {"", "k", "M", "G", "T"};
	unsigned u = 0;

	while (fabs(v) >= 1000 && u + 1 < ELEMENTSOF(units)) {
		v /= 1000;
		u++;
	}
	snprintf(buf, n, v == floor(v) ? "%.0f%s" : "%.3g%s", v, units[u]);
	return buf;
}

static void plot_begin(FILE *f, const char *title, double ymax, const char *yunit)
{
	char buf[32];
	int iw = PLOT_W - MARGIN_L - MARGIN_R, ih = PLOT_H - MARGIN_T - MARGIN_B;

	fprintf(f,
		"<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"plot\" width=\"%d\" height=\"%d\" "
		"viewBox=\"0 0 %d %d\" role=\"img\"><title>",
		PLOT_W, PLOT_H, PLOT_W, PLOT_H);
	put_escaped(f, title);
	fputs("</title>", f);
	fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" stroke=\"#a0aec0\"/>",
		MARGIN_L, MARGIN_T, iw, ih);
	for (int i = 0; i <= 4; i++) {
		double y = MARGIN_T + ih - ih * i / 4.0;

		fprintf(f,
			"<line x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#e2e8f0\"/>"
			"<text x=\"%d\" y=\"%.1f\" class=\"tick\" text-anchor=\"end\">%s</text>",
			MARGIN_L, MARGIN_L + iw, y, y, MARGIN_L - 6, y + 4,
			format_si(buf, sizeof(buf), ymax * i / 4));
	}
	fprintf(f, "<text x=\"12\" y=\"%d\" class=\"unit\" transform=\"rotate(-90 12 %d)\" "
		   "text-anchor=\"middle\">",
		MARGIN_T + ih / 2, MARGIN_T + ih / 2);
	put_escaped(f, yunit);
	fputs("</text>", f);
}

static void x_label(FILE *f, double x, const char *text)
{
	fprintf(f, "<text x=\"%.1f\" y=\"%d\" class=\"tick\" text-anchor=\"middle\">", x,
		PLOT_H - MARGIN_B + 16);
	put_escaped(f, text);
	fputs("</text>", f);
}

static void x_title(FILE *f, const char *text)
{
	fprintf(f, "<text x=\"%d\" y=\"%d\" class=\"unit\" text-anchor=\"middle\">",
		MARGIN_L + (PLOT_W - MARGIN_L - MARGIN_R) / 2, PLOT_H - 4);
	put_escaped(f, text);
	fputs("</text>", f);
}

/* Time axis labels for n buckets of width seconds. */
static void time_axis(FILE *f, size_t n, double width)
{
	int iw = PLOT_W - MARGIN_L - MARGIN_R;
	char buf[32];

	for (int i = 0; i <= 4; i++) {
		snprintf(buf, sizeof(buf), "%gs", n * width * i / 4);
		x_label(f, MARGIN_L + iw * i / 4.0, buf);
	}
	x_title(f, "time since the run started");
}

/* Replacements per second: one bar per bucket. */
static void plot_replacements(FILE *f, const JsonValue *tl)
{
	const JsonValue *buckets = json_value_get(tl, "buckets");
	double width = json_value_get_u64(tl, "bucket_usec", 1000000) / 1e6, ymax = 0;
	size_t n = json_value_size(buckets);
	int iw = PLOT_W - MARGIN_L - MARGIN_R, ih = PLOT_H - MARGIN_T - MARGIN_B;

	for (size_t i = 0; i < n; i++)
		ymax = fmax(ymax, json_value_get_u64(json_value_index(buckets, i), "replacements", 0) /
					  width);
	ymax = nice_ceil(ymax);
	plot_begin(f, "Replacements per second", ymax, "replacements/s");
	for (size_t i = 0; i < n; i++) {
		double v = json_value_get_u64(json_value_index(buckets, i), "replacements", 0) / width;
		double h = ih * v / ymax, bw = (double)iw / n;

		if (h > 0)
			fprintf(f, "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"%s\"/>",
				MARGIN_L + i * bw + bw * 0.05, MARGIN_T + ih - h, bw * 0.9, h,
				COLOR_REPLACEMENTS);
	}
	time_axis(f, n, width);
	fputs("</svg>\n", f);
}

/* Faults per second, bars stacked by source. */
static void plot_faults_over_time(FILE *f, const JsonValue *tl)
{
	const JsonValue *buckets = json_value_get(tl, "buckets");
	double width = json_value_get_u64(tl, "bucket_usec", 1000000) / 1e6, ymax = 0;
	size_t n = json_value_size(buckets);
	int iw = PLOT_W - MARGIN_L - MARGIN_R, ih = PLOT_H - MARGIN_T - MARGIN_B;

	for (size_t i = 0; i < n; i++) {
		const JsonValue *fa = json_value_get(json_value_index(buckets, i), "faults");
		double sum = 0;

		for (size_t k = 0; k < json_value_size(fa); k++) {
			uint64_t v = 0;

			(void)json_value_u64(json_value_member(fa, k, NULL), &v);
			sum += v;
		}
		ymax = fmax(ymax, sum / width);
	}
	ymax = nice_ceil(ymax);
	plot_begin(f, "Faults per second by source", ymax, "faults/s");
	for (size_t i = 0; i < n; i++) {
		const JsonValue *fa = json_value_get(json_value_index(buckets, i), "faults");
		double bw = (double)iw / n, y = MARGIN_T + ih;

		for (size_t k = 0; k < json_value_size(fa); k++) {
			const char *src;
			uint64_t v = 0;
			double h;

			(void)json_value_u64(json_value_member(fa, k, &src), &v);
			h = ih * (v / width) / ymax;
			if (h <= 0)
				continue;
			y -= h;
			fprintf(f, "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"%s\"/>",
				MARGIN_L + i * bw + bw * 0.05, y, bw * 0.9, h, source_color(src));
		}
	}
	time_axis(f, n, width);
	fputs("</svg>\n", f);
}

/* The latency histogram: power-of-two bins on a log x axis, counts on a log y axis. */
static void plot_latency(FILE *f, const JsonValue *tl)
{
	const JsonValue *bins = json_value_get(tl, "latency_log2_ns");
	size_t n = json_value_size(bins);
	int iw = PLOT_W - MARGIN_L - MARGIN_R, ih = PLOT_H - MARGIN_T - MARGIN_B;
	unsigned lo = 64, hi = 0;
	uint64_t cmax = 1;
	char buf[32];

	for (size_t i = 0; i < n; i++) {
		const JsonValue *b = json_value_index(bins, i);
		uint64_t from = json_value_get_u64(b, "from_ns", 1);
		unsigned e = from ? 63u - (unsigned)__builtin_clzll(from) : 0;

		lo = e < lo ? e : lo;
		hi = e > hi ? e : hi;
		cmax = MAX(cmax, json_value_get_u64(b, "count", 0));
	}
	if (lo > hi)
		lo = hi = 0;
	/* y: decades of counts, 1 at the bottom. */
	double decades = ceil(log10((double)cmax));

	if (decades < 1)
		decades = 1;
	fprintf(f,
		"<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"plot\" width=\"%d\" height=\"%d\" "
		"viewBox=\"0 0 %d %d\" role=\"img\"><title>Replace latency histogram</title>",
		PLOT_W, PLOT_H, PLOT_W, PLOT_H);
	fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" stroke=\"#a0aec0\"/>",
		MARGIN_L, MARGIN_T, iw, ih);
	for (int d = 0; d <= (int)decades; d++) {
		double y = MARGIN_T + ih - ih * d / decades;

		fprintf(f,
			"<line x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#e2e8f0\"/>"
			"<text x=\"%d\" y=\"%.1f\" class=\"tick\" text-anchor=\"end\">%s</text>",
			MARGIN_L, MARGIN_L + iw, y, y, MARGIN_L - 6, y + 4,
			format_si(buf, sizeof(buf), pow(10, d)));
	}
	fprintf(f, "<text x=\"12\" y=\"%d\" class=\"unit\" transform=\"rotate(-90 12 %d)\" "
		   "text-anchor=\"middle\">replacements (log)</text>",
		MARGIN_T + ih / 2, MARGIN_T + ih / 2);
	unsigned nbins = hi - lo + 1;
	double bw = (double)iw / nbins;

	for (size_t i = 0; i < n; i++) {
		const JsonValue *b = json_value_index(bins, i);
		uint64_t from = json_value_get_u64(b, "from_ns", 1), c = json_value_get_u64(b, "count", 0);
		unsigned e = from ? 63u - (unsigned)__builtin_clzll(from) : 0;
		/* A bin of 1 still shows: log10(1 + c) puts it a sliver above the axis. */
		double h = ih * log10(1.0 + (double)c) / decades;

		fprintf(f, "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"%s\"/>",
			MARGIN_L + (e - lo) * bw + bw * 0.05, MARGIN_T + ih - h, bw * 0.9, h, COLOR_LATENCY);
	}
	for (unsigned e = lo; e <= hi; e += (nbins > 12 ? 2 : 1))
		x_label(f, MARGIN_L + (e - lo) * bw + bw / 2,
			format_duration_ns(buf, sizeof(buf), UINT64_C(1) << e));
	x_title(f, "replace latency (each bar: [t, 2t))");
	fputs("</svg>\n", f);
}

/* Faults by source, horizontal bars with their numbers. */
static void plot_faults_by_source(FILE *f, const JsonValue *d)
{
	const JsonValue *by = json_value_get(d, "faults_by_source");
	size_t n = json_value_size(by);
	uint64_t max = 1;
	int row = 26, h = MARGIN_T + (int)n * row + 10, iw = PLOT_W - 140 - 250;
	char buf[32];

	for (size_t i = 0; i < n; i++)
		max = MAX(max, json_value_get_u64(json_value_member(by, i, NULL), "total", 0));
	fprintf(f,
		"<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"plot\" width=\"%d\" height=\"%d\" "
		"viewBox=\"0 0 %d %d\" role=\"img\"><title>Faults by source</title>",
		PLOT_W, h, PLOT_W, h);
	for (size_t i = 0; i < n; i++) {
		const char *src;
		const JsonValue *v = json_value_member(by, i, &src);
		uint64_t total = json_value_get_u64(v, "total", 0),
			 during = json_value_get_u64(v, "during_replace", 0);
		double w = (double)iw * total / max, y = MARGIN_T + (double)i * row;

		fprintf(f, "<text x=\"130\" y=\"%.1f\" class=\"tick\" text-anchor=\"end\">", y + 15);
		put_escaped(f, src);
		fputs("</text>", f);
		if (w > 0)
			fprintf(f, "<rect x=\"140\" y=\"%.1f\" width=\"%.2f\" height=\"18\" fill=\"%s\"/>", y + 2,
				w < 2 ? 2 : w, source_color(src));
		fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" class=\"tick\">%s (%" PRIu64 " during replacement)</text>",
			146 + (w < 2 ? 2 : w), y + 15, format_si(buf, sizeof(buf), (double)total), during);
	}
	fputs("</svg>\n", f);
}

static void fact(FILE *f, const char *name, const char *value)
{
	fputs("<tr><th>", f);
	put_escaped(f, name);
	fputs("</th><td>", f);
	put_escaped(f, value);
	fputs("</td></tr>\n", f);
}

static void factf(FILE *f, const char *name, const char *fmt, ...) _printf_(3, 4);
static void factf(FILE *f, const char *name, const char *fmt, ...)
{
	_cleanup_free_ char *v = NULL;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&v, fmt, ap) < 0)
		v = NULL;
	va_end(ap);
	fact(f, name, strempty(v));
}

static void cell(FILE *f, const char *text)
{
	tag_text(f, "td", text);
}

static void cell_json(FILE *f, const JsonValue *v)
{
	char buf[64];

	cell(f, v ? format_json_number(buf, sizeof(buf), v) : "-");
}

static void table_points(FILE *f, const JsonValue *d)
{
	const JsonValue *pts = json_value_get(d, "attach_points");
	char buf[64];

	fputs("<table class=\"grid\"><thead><tr><th>point</th><th>replacements</th><th>errors</th>"
	      "<th>rate</th><th>p50</th><th>p99</th><th>max</th><th>faults</th>"
	      "<th>during replacement</th></tr></thead><tbody>\n",
	      f);
	for (size_t i = 0; i < json_value_size(pts); i++) {
		const JsonValue *p = json_value_index(pts, i), *lat = json_value_get(p, "latency_ns");

		fputs("<tr>", f);
		cell(f, json_value_get_string(p, "name", "-"));
		cell_json(f, json_value_get(p, "replacements"));
		cell_json(f, json_value_get(p, "errors"));
		cell(f, format_rate(buf, sizeof(buf), json_value_get_double(p, "rate", 0)));
		cell(f, format_latency(buf, sizeof(buf), lat, "p50"));
		cell(f, format_latency(buf, sizeof(buf), lat, "p99"));
		cell(f, format_latency(buf, sizeof(buf), lat, "max"));
		cell_json(f, json_value_get(p, "faults"));
		cell_json(f, json_value_get(p, "faults_during_replace"));
		fputs("</tr>\n", f);
	}
	fputs("</tbody></table>\n", f);
}

static void table_expectations(FILE *f, const JsonValue *d)
{
	const JsonValue *ex = json_value_get(d, "expectations");

	if (json_value_size(ex) == 0) {
		fputs("<p>The scenario sets no expectations (verdict none).</p>\n", f);
		return;
	}
	fputs("<table class=\"grid\"><thead><tr><th>expectation</th><th>wanted</th><th>actual</th>"
	      "<th>holds</th></tr></thead><tbody>\n",
	      f);
	for (size_t i = 0; i < json_value_size(ex); i++) {
		const JsonValue *e = json_value_index(ex, i);
		bool pass = json_value_get_bool(e, "pass", false);

		fputs("<tr>", f);
		cell(f, json_value_get_string(e, "key", "-"));
		cell(f, json_value_get_string(e, "expect", "-"));
		cell_json(f, json_value_get(e, "actual"));
		fprintf(f, "<td class=\"%s\">%s</td>", pass ? "pass" : "fail", pass ? "yes" : "no");
		fputs("</tr>\n", f);
	}
	fputs("</tbody></table>\n", f);
}

/* The model's used-bits analysis per transition next to what its writer did. */
static void table_transitions(FILE *f, const JsonValue *d)
{
	const JsonValue *tr = json_value_get(json_value_get(d, "backend_info"), "transitions");

	if (json_value_size(tr) == 0)
		return;
	fputs("<h2>Predicted and observed transitions</h2>\n"
	      "<p>What entry_sync's used-bits analysis predicts for each kind of replacement, next "
	      "to the paths the writer took and what the walker saw.</p>\n"
	      "<table class=\"grid\"><thead><tr><th>kind</th><th>predicted</th><th>critical "
	      "quanta</th><th>replacements</th><th>observed paths</th><th>faults</th>"
	      "<th>DMA errors</th></tr></thead><tbody>\n",
	      f);
	for (size_t i = 0; i < json_value_size(tr); i++) {
		const JsonValue *t = json_value_index(tr, i), *paths = json_value_get(t, "observed_paths");
		_cleanup_free_ char *observed = NULL;

		for (size_t k = 0; k < json_value_size(paths); k++) {
			const char *name;
			uint64_t v = 0;
			char *n;

			(void)json_value_u64(json_value_member(paths, k, &name), &v);
			if (!v)
				continue;
			if (asprintf(&n, "%s%s%s %" PRIu64, strempty(observed), observed ? ", " : "", name,
				     v) < 0)
				break;
			free(observed);
			observed = n;
		}
		fputs("<tr>", f);
		cell(f, json_value_get_string(t, "kind", "-"));
		cell(f, json_value_get_string(t, "predicted", "-"));
		cell_json(f, json_value_get(t, "critical_quanta"));
		cell_json(f, json_value_get(t, "replacements"));
		cell(f, observed ? observed : "none");
		cell_json(f, json_value_get(t, "faults"));
		cell_json(f, json_value_get(t, "dma_errors"));
		fputs("</tr>\n", f);
	}
	fputs("</tbody></table>\n", f);
}

static const char report_style[] =
	"body{font-family:sans-serif;color:#1a202c;max-width:820px;margin:24px auto;padding:0 16px}"
	"h1{font-size:22px;margin-bottom:4px}h2{font-size:17px;margin-top:28px;border-bottom:1px "
	"solid #cbd5e0}"
	"table{border-collapse:collapse;font-size:13px}th,td{padding:3px 8px;text-align:left}"
	"table.grid th{background:#edf2f7}table.grid td,table.grid th{border:1px solid #cbd5e0}"
	"table.facts th{color:#4a5568;font-weight:normal}"
	".pass{color:#276749;font-weight:bold}.fail{color:#c53030;font-weight:bold}"
	"svg.plot{display:block;margin:8px 0;max-width:100%;height:auto}svg text{font-family:sans-serif}"
	"svg .tick{font-size:11px;fill:#4a5568}svg .unit{font-size:12px;fill:#2d3748}"
	"pre{background:#f7fafc;border:1px solid #e2e8f0;padding:8px;font-size:12px;"
	"white-space:pre-wrap}"
	".legend span{display:inline-block;margin-right:14px;font-size:12px}"
	".legend i{display:inline-block;width:10px;height:10px;margin-right:4px}"
	"@media print{body{margin:0;max-width:none}h2{break-after:avoid}svg,table{break-inside:"
	"avoid}}";

static int write_report(FILE *f, const JsonValue *d, const JsonValue *tl)
{
	const char *verdict = json_value_get_string(d, "verdict", "-");
	const char *state = json_value_get_string(d, "state", "-");
	char buf[64], when[64];

	fputs("<!DOCTYPE html>\n<html xmlns=\"http://www.w3.org/1999/xhtml\" lang=\"en\"><head>"
	      "<meta charset=\"utf-8\"/><title>",
	      f);
	fprintf(f, "iommutest run %" PRIu64 ": ", json_value_get_u64(d, "id", 0));
	put_escaped(f, json_value_get_string(d, "scenario", "?"));
	fprintf(f, "</title><style>%s</style></head><body>\n", report_style);

	fprintf(f, "<h1>Run %" PRIu64 ": ", json_value_get_u64(d, "id", 0));
	put_escaped(f, json_value_get_string(d, "scenario", "?"));
	fputs("</h1>\n", f);
	if (!isempty(json_value_get_string(d, "description", NULL)))
		tag_text(f, "p", json_value_get_string(d, "description", NULL));
	fputs("<table class=\"facts\">\n", f);
	factf(f, "Verdict", "%s (%s)", verdict, state);
	if (!isempty(json_value_get_string(d, "reason", NULL)))
		fact(f, "Failure", json_value_get_string(d, "reason", NULL));
	factf(f, "Backend, device", "%s, %s", json_value_get_string(d, "backend", "-"),
	      json_value_get_string(d, "device", "-"));
	fact(f, "Started",
	     format_timestamp_usec(when, sizeof(when), json_value_get_u64(d, "started_at_usec", 0)));
	fact(f, "Elapsed", format_usec(buf, sizeof(buf), json_value_get_u64(d, "elapsed_usec", 0)));
	factf(f, "Replacements", "%" PRIu64 " (%" PRIu64 " errors), %s",
	      json_value_get_u64(d, "replacements", 0), json_value_get_u64(d, "replace_errors", 0),
	      format_rate(buf, sizeof(buf), json_value_get_double(d, "rate", 0)));
	factf(f, "Faults", "%" PRIu64 " (%" PRIu64 " during replacement, %" PRIu64 " at rest)",
	      json_value_get_u64(d, "faults", 0), json_value_get_u64(d, "faults_during_replace", 0),
	      json_value_get_u64(d, "faults_at_rest", 0));
	factf(f, "DMA", "%" PRIu64 " transfers, %" PRIu64 " errors",
	      json_value_get_u64(d, "dma_transfers", 0), json_value_get_u64(d, "dma_errors", 0));
	fputs("</table>\n", f);

	fputs("<h2>Replacements per second</h2>\n", f);
	plot_replacements(f, tl);
	fputs("<h2>Faults per second</h2>\n<p class=\"legend\">", f);
	for (size_t i = 0; i < ELEMENTSOF(source_colors); i++) {
		fprintf(f, "<span><i style=\"background:%s\"></i>", source_colors[i].color);
		put_escaped(f, source_colors[i].source);
		fputs("</span>", f);
	}
	fputs("</p>\n", f);
	plot_faults_over_time(f, tl);
	fputs("<h2>Replace latency</h2>\n", f);
	plot_latency(f, tl);
	fputs("<h2>Faults by source</h2>\n", f);
	plot_faults_by_source(f, d);

	fputs("<h2>Attachment points</h2>\n", f);
	table_points(f, d);
	fputs("<h2>Expectations</h2>\n", f);
	table_expectations(f, d);
	table_transitions(f, d);

	fputs("<h2>Scenario</h2>\n", f);
	fputs("<p>From ", f);
	put_escaped(f, json_value_get_string(d, "source", "?"));
	fputs(":</p>\n<pre>", f);
	put_escaped(f, json_value_get_string(d, "scenario_text", ""));
	fputs("</pre>\n", f);
	if (!isempty(json_value_get_string(d, "overrides", NULL))) {
		fputs("<p>Overrides applied after it:</p>\n<pre>", f);
		put_escaped(f, json_value_get_string(d, "overrides", NULL));
		fputs("</pre>\n", f);
	}
	fputs("<p class=\"tick\">Written by iommuctl " PACKAGE_VERSION ".</p>\n</body></html>\n", f);
	return ferror(f) ? -EIO : 0;
}

int verb_report(int argc, char *argv[], void *userdata)
{
	_cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	_cleanup_(json_value_freep) JsonValue *d = NULL, *tl = NULL;
	_cleanup_free_ char *path = NULL, *tmp = NULL;
	const char *tl_text;
	sd_bus *bus = userdata;
	FILE *f = stdout;
	int r, k;

	r = bus_resolve_run(bus, argv[1], &path, NULL);
	if (r < 0)
		return r;
	r = bus_describe(bus, path, RUN_INTERFACE, "Failed to describe run", NULL, &d);
	if (r < 0)
		return r;
	r = sd_bus_call_method(bus, BUS_NAME, path, RUN_INTERFACE, "GetTimeline", &error, &reply, "");
	if (r < 0)
		return log_bus_error(&error, r, "Failed to get the run's timeline");
	r = sd_bus_message_read(reply, "s", &tl_text);
	if (r < 0)
		return log_error_errno(r, "Failed to parse the timeline reply: %m");
	r = json_parse_string(tl_text, &tl, NULL);
	if (r < 0)
		return log_error_errno(r, "The daemon's timeline is not JSON: %m");

	if (arg_output && !streq(arg_output, "-")) {
		/* Written next to the target and renamed: never a half report under its name. */
		if (asprintf(&tmp, "%s.XXXXXX", arg_output) < 0)
			return log_oom();
		int fd = mkstemp(tmp);

		if (fd < 0)
			return log_error_errno(errno, "Failed to create %s: %m", tmp);
		f = fdopen(fd, "w");
		if (!f) {
			r = log_error_errno(errno, "Failed to open %s: %m", tmp);
			close(fd);
			(void)unlink(tmp);
			return r;
		}
	}
	r = write_report(f, d, tl);
	if (f != stdout) {
		k = fchmod(fileno(f), 0644) < 0 ? -errno : 0;
		if (fclose(f) != 0 && r >= 0)
			r = -errno;
		if (r >= 0)
			r = k;
		if (r >= 0 && rename(tmp, arg_output) < 0)
			r = -errno;
		if (r < 0) {
			(void)unlink(tmp);
			return log_error_errno(r, "Failed to write %s: %m", arg_output);
		}
		if (!arg_quiet)
			log_info("Wrote %s.", arg_output);
	} else if (r < 0 || fflush(stdout) != 0)
		return log_error_errno(r < 0 ? r : -EIO, "Failed to write the report: %m");
	return 0;
}
