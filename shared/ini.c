/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ini.h"
#include "macro.h"

#define UTF8_BOM "\xef\xbb\xbf"

/* isspace() in the C locale, whatever the locale is. */
static bool is_blank(char c)
{
	return c && strchr(" \t\n\v\f\r", c);
}

char *ini_trim(char *s)
{
	char *e;

	while (is_blank(*s))
		s++;
	e = s + strlen(s);
	while (e > s && is_blank(e[-1]))
		e--;
	*e = 0;
	return s;
}

void ini_lexer_init(IniLexer *lx, const char *text, size_t size, IniFlags flags)
{
	*lx = (IniLexer){
		.p = text,
		.end = text + size,
	};
	if ((flags & INI_SKIP_BOM) && size >= strlen(UTF8_BOM) &&
	    memcmp(text, UTF8_BOM, strlen(UTF8_BOM)) == 0)
		lx->p += strlen(UTF8_BOM);
}

void ini_lexer_done(IniLexer *lx)
{
	lx->buf = mfree(lx->buf);
	lx->buf_size = 0;
}

int ini_lexer_next(IniLexer *lx, const IniLine **ret)
{
	const char *nl;
	IniLine *l = &lx->line;
	size_t len, n;
	char *s, *eq;

	/* A final "\n" ends the last line; it does not start an empty one. */
	if (lx->p >= lx->end)
		return 0;
	if (lx->number == UINT_MAX)
		return -EOVERFLOW;

	nl = memchr(lx->p, '\n', (size_t)(lx->end - lx->p));
	len = (size_t)((nl ?: lx->end) - lx->p);
	*l = (IniLine){
		.number = ++lx->number,
		.raw = lx->p,
	};
	lx->p = nl ? nl + 1 : lx->end;
	if (len > 0 && l->raw[len - 1] == '\r')
		len--;
	l->raw_len = len;

	/* Room for the trimmed line and, after it, a copy to cut into section or key and value. */
	if (len > (SIZE_MAX - 2) / 2)
		return -ENOMEM;
	if (2 * len + 2 > lx->buf_size) {
		char *b = realloc(lx->buf, 2 * len + 2);

		if (!b)
			return -ENOMEM;
		lx->buf = b;
		lx->buf_size = 2 * len + 2;
	}
	memcpy(lx->buf, l->raw, len);
	lx->buf[len] = 0;

	s = ini_trim(lx->buf);
	l->text = s;
	n = strlen(s);
	if (n == 0 || s[0] == '#' || s[0] == ';')
		l->type = INI_BLANK;
	else if (s[0] == '[') {
		if (n < 2 || s[n - 1] != ']')
			l->type = INI_BAD_SECTION;
		else {
			/* text keeps its brackets; section is the copy without them. */
			char *name = s + n + 1;

			memmove(name, s + 1, n - 2);
			name[n - 2] = 0;
			l->type = INI_SECTION;
			l->section = name;
		}
	} else {
		eq = strchr(s, '=');
		l->type = eq ? INI_ASSIGNMENT : INI_NO_ASSIGNMENT;
		if (eq) {
			/* key and value are cut from the copy, so text stays whole. */
			char *k = s + n + 1, *v;

			memcpy(k, s, n + 1);
			v = k + (eq - s);
			*v++ = 0;
			l->key = ini_trim(k);
			l->value = ini_trim(v);
		}
	}
	*ret = l;
	return 1;
}
