/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Line-by-line lexer for the INI-style files: scenario files and
 * iommutestd.conf. It splits the text into numbered lines and says what
 * each one is: blank or a comment ('#' or ';' first), a "[Section]"
 * header, or a "Key=Value" assignment, with blanks trimmed. It reports
 * nothing itself: what is an error (a key outside any section, a line
 * too long, a malformed header) and how it is worded is the caller's, so
 * each file keeps its own rules and messages.
 *
 *     _cleanup_(ini_lexer_done) IniLexer lx = {};
 *     const IniLine *l;
 *
 *     ini_lexer_init(&lx, text, size, 0);
 *     while ((r = ini_lexer_next(&lx, &l)) > 0)
 *             ... l->number, l->type, l->key, l->value ...
 */

#include <stddef.h>

typedef enum IniFlags {
	/* A UTF-8 byte order mark before the first line is not part of it (some editors write one).
	 */
	INI_SKIP_BOM = 1 << 0,
} IniFlags;

typedef enum IniLineType {
	INI_BLANK,	   /* empty, only blanks, or a comment */
	INI_SECTION,	   /* "[Name]": section is Name, as written */
	INI_BAD_SECTION,   /* starts with '[' but does not end with ']' */
	INI_ASSIGNMENT,	   /* "Key=Value", split at the first '=': key (maybe empty) and value */
	INI_NO_ASSIGNMENT, /* anything else: text without an '=' */
} IniLineType;

typedef struct IniLine {
	unsigned number; /* from 1 */
	IniLineType type;
	/*
	 * The line as written, without its "\n" and one "\r" before it (files
	 * written on Windows end lines with CR LF). Not NUL-terminated: callers
	 * that check the bytes of every line, comments included, check these.
	 */
	const char *raw;
	size_t raw_len;
	/* NUL-terminated, up to a NUL in the line if it holds one; blanks are ' ', \t, \n, \v, \f,
	 * \r. */
	const char *text;    /* the whole line, trimmed */
	const char *section; /* INI_SECTION: between the brackets, not trimmed */
	const char *key;     /* INI_ASSIGNMENT: before the first '=', trimmed */
	const char *value;   /* INI_ASSIGNMENT: after it, trimmed */
} IniLine;

typedef struct IniLexer {
	const char *p, *end;
	unsigned number; /* of the last line returned; the line count at the end */
	char *buf;	 /* the current line's strings */
	size_t buf_size;
	IniLine line;
} IniLexer;

/*
 * text need not be NUL-terminated; it must outlive the lexer. A lexer that
 * was used takes ini_lexer_done() before it is initialised again.
 */
void ini_lexer_init(IniLexer *lx, const char *text, size_t size, IniFlags flags);
void ini_lexer_done(IniLexer *lx);

/*
 * The next line into *ret, valid until the next call: 1, or 0 at the end
 * of the text, -ENOMEM, or -EOVERFLOW when there are more lines than an
 * unsigned can number.
 */
int ini_lexer_next(IniLexer *lx, const IniLine **ret);

/*
 * Trims the blanks the lexer trims, in place; returns the start. For text
 * that follows the file's rules in another form (the scenario overrides).
 */
char *ini_trim(char *s);
