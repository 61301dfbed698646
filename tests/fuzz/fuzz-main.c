/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A stand-in for libFuzzer where there is none (gcc, the default compiler):
 * runs the fuzz target on every seed file named on the command line, then on
 * mutations of them — bit flips, byte changes, insertions, deletions,
 * duplicated ranges, splices of two seeds and tokens from the libFuzzer
 * dictionary (-dict=FILE). Deterministic for a given seed, so a failure in CI
 * reproduces; under ASan/UBSan a bad access aborts the test. The input that
 * failed is written to PREFIXcrash-input (-artifact_prefix=PREFIX), which the
 * binary replays when named on the command line with -runs=0.
 *
 *   fuzz-TARGET [-dict=FILE] [-runs=N] [-seed=N] [-artifact_prefix=PREFIX] SEED_FILE…
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
/* Present when built with a sanitizer: it calls back before exiting on an error. */
extern void __sanitizer_set_death_callback(void (*callback)(void)) __attribute__((weak));

#define FUZZ_MAX_INPUT 65536

/* The input under test, for the crash handlers. */
static const uint8_t *current;
static size_t current_size;
static char artifact_path[4096] = "crash-input";

typedef struct Blob {
	uint8_t *data;
	size_t size;
} Blob;

typedef struct Blobs {
	Blob *v;
	size_t n;
} Blobs;

static uint64_t rng_state;

/* xorshift64*: small, fast, and the same sequence everywhere */
static uint64_t rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * UINT64_C(0x2545f4914f6cdd1d);
}

static size_t rng_below(size_t n)
{
	return n ? (size_t)(rng() % n) : 0;
}

static int blobs_add(Blobs *b, const uint8_t *data, size_t size)
{
	Blob *v = realloc(b->v, (b->n + 1) * sizeof(*v));
	uint8_t *copy = malloc(size ? size : 1);

	if (v)
		b->v = v;
	if (!v || !copy) {
		free(copy);
		return -ENOMEM;
	}
	memcpy(copy, data, size);
	b->v[b->n++] = (Blob){copy, size};
	return 0;
}

static int read_file(const char *path, Blob *ret)
{
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	uint8_t *buf;
	size_t n;

	if (!f)
		return -errno;
	buf = malloc(FUZZ_MAX_INPUT);
	if (!buf)
		return -ENOMEM;
	n = fread(buf, 1, FUZZ_MAX_INPUT, f);
	if (ferror(f)) {
		free(buf);
		return -EIO;
	}
	*ret = (Blob){buf, n};
	return 0;
}

/* libFuzzer dictionary lines: [name=]"token", with \\, \" and \xNN escapes. */
static int read_dict(const char *path, Blobs *tokens)
{
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	char line[1024];

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		uint8_t tok[sizeof(line)];
		size_t n = 0;
		char *p = strchr(line, '"');
		int r;

		if (line[0] == '#' || !p)
			continue;
		for (p++; *p && *p != '"'; p++) {
			unsigned v;

			if (p[0] == '\\' && p[1] == 'x' && sscanf(p + 2, "%2x", &v) == 1) {
				tok[n++] = (uint8_t)v;
				p += 3;
			} else if (p[0] == '\\' && p[1]) {
				tok[n++] = (uint8_t)p[1];
				p++;
			} else
				tok[n++] = (uint8_t)*p;
		}
		r = blobs_add(tokens, tok, n);
		if (r < 0)
			return r;
	}
	return 0;
}

/* One random edit of buf[0..*size), which has room for FUZZ_MAX_INPUT bytes. */
static void mutate(uint8_t *buf, size_t *size, const Blobs *seeds, const Blobs *tokens)
{
	size_t n = *size, at = rng_below(n + 1), len;

	switch (rng_below(8)) {
	case 0: /* flip a bit */
		if (n)
			buf[rng_below(n)] ^= (uint8_t)(1u << rng_below(8));
		break;
	case 1: /* an interesting byte */
		if (n) {
			static const char bytes[] = "\0\n ;,:[]x\\0f\x7f\xff\t\"";

			buf[rng_below(n)] = (uint8_t)bytes[rng_below(sizeof(bytes) - 1)];
		}
		break;
	case 2: /* insert a random byte */
		if (n < FUZZ_MAX_INPUT) {
			memmove(buf + at + 1, buf + at, n - at);
			buf[at] = (uint8_t)rng();
			n++;
		}
		break;
	case 3: /* delete a range */
		if (at < n) {
			len = 1 + rng_below(MIN(n - at, (size_t)64));
			memmove(buf + at, buf + at + len, n - at - len);
			n -= len;
		}
		break;
	case 4: /* duplicate a range */
		if (at < n) {
			len = MIN(1 + rng_below(MIN(n - at, (size_t)256)), FUZZ_MAX_INPUT - n);
			memmove(buf + at + len, buf + at, n - at);
			n += len;
		}
		break;
	case 5: /* splice: our head, another seed's tail */
		if (seeds->n) {
			const Blob *o = &seeds->v[rng_below(seeds->n)];
			size_t from = rng_below(o->size + 1);

			len = MIN(o->size - from, FUZZ_MAX_INPUT - at);
			memcpy(buf + at, o->data + from, len);
			n = at + len;
		}
		break;
	case 6: /* insert a dictionary token */
		if (tokens->n) {
			const Blob *t = &tokens->v[rng_below(tokens->n)];

			if (n + t->size <= FUZZ_MAX_INPUT) {
				memmove(buf + at + t->size, buf + at, n - at);
				memcpy(buf + at, t->data, t->size);
				n += t->size;
			}
		}
		break;
	default: /* truncate */
		n = at;
		break;
	}
	*size = n;
}

/* Async-signal-safe: open(2) and write(2) only. */
static void save_current(void)
{
	static const char msg[] = ": the failing input is in ";
	int fd;

	if (!current)
		return;
	fd = open(artifact_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	(void)!write(fd, current, current_size);
	close(fd);
	(void)!write(STDERR_FILENO, program_invocation_short_name,
		     strlen(program_invocation_short_name));
	(void)!write(STDERR_FILENO, msg, sizeof(msg) - 1);
	(void)!write(STDERR_FILENO, artifact_path, strlen(artifact_path));
	(void)!write(STDERR_FILENO, "\n", 1);
	current = NULL;
}

static const int fatal_signals[] = {SIGABRT, SIGSEGV, SIGBUS, SIGFPE, SIGILL};

static void on_fatal_signal(int sig)
{
	save_current();
	signal(sig, SIG_DFL);
	raise(sig);
}

/* The target sees exactly size bytes: nothing after them to read by mistake. */
static void run(const uint8_t *data, size_t size)
{
	uint8_t *copy = malloc(size ? size : 1);

	if (!copy)
		abort();
	memcpy(copy, data, size);
	current = copy;
	current_size = size;
	LLVMFuzzerTestOneInput(copy, size);
	current = NULL;
	free(copy);
}

int main(int argc, char **argv)
{
	Blobs seeds = {}, tokens = {};
	uint64_t runs = 20000, seed = 0x6b6d7367;
	uint8_t *buf;
	int r;

	for (int i = 1; i < argc; i++) {
		Blob b;

		if (strncmp(argv[i], "-dict=", 6) == 0) {
			r = read_dict(argv[i] + 6, &tokens);
			if (r < 0) {
				fprintf(stderr, "%s: %s\n", argv[i] + 6, strerror(-r));
				return EXIT_FAILURE;
			}
		} else if (strncmp(argv[i], "-artifact_prefix=", 17) == 0)
			snprintf(artifact_path, sizeof(artifact_path), "%scrash-input",
				 argv[i] + 17);
		else if (strncmp(argv[i], "-runs=", 6) == 0)
			runs = strtoull(argv[i] + 6, NULL, 10);
		else if (strncmp(argv[i], "-seed=", 6) == 0)
			seed = strtoull(argv[i] + 6, NULL, 0);
		else {
			r = read_file(argv[i], &b);
			if (r < 0) {
				fprintf(stderr, "%s: %s\n", argv[i], strerror(-r));
				return EXIT_FAILURE;
			}
			seeds.v = realloc(seeds.v, (seeds.n + 1) * sizeof(*seeds.v));
			if (!seeds.v)
				return EXIT_FAILURE;
			seeds.v[seeds.n++] = b;
		}
	}

	for (size_t i = 0; i < ELEMENTSOF(fatal_signals); i++)
		signal(fatal_signals[i], on_fatal_signal);
	if (__sanitizer_set_death_callback)
		__sanitizer_set_death_callback(save_current);

	for (size_t i = 0; i < seeds.n; i++)
		run(seeds.v[i].data, seeds.v[i].size);

	rng_state = seed ? seed : 1;
	buf = malloc(FUZZ_MAX_INPUT);
	if (!buf)
		return EXIT_FAILURE;
	for (uint64_t i = 0; i < runs; i++) {
		size_t size = 0;

		if (seeds.n) {
			const Blob *s = &seeds.v[rng_below(seeds.n)];

			size = s->size;
			memcpy(buf, s->data, size);
		}
		for (size_t k = 1 + rng_below(8); k > 0; k--)
			mutate(buf, &size, &seeds, &tokens);
		run(buf, size);
	}

	printf("%s: %zu seeds and %" PRIu64 " mutations (seed %#" PRIx64 "), no crash\n", program_invocation_short_name,
	       seeds.n, runs, seed);
	free(buf);
	for (size_t i = 0; i < seeds.n; i++)
		free(seeds.v[i].data);
	for (size_t i = 0; i < tokens.n; i++)
		free(tokens.v[i].data);
	free(seeds.v);
	free(tokens.v);
	return EXIT_SUCCESS;
}
