/*
 * json.h - a small, strict JSON reader (RFC 8259) for one document,
 * e.g. one line of the alignment log.
 *
 * Owns: turning untrusted bytes into a read-only tree, or refusing them
 * with a reason and byte offset.  Strict means: exactly one value with
 * optional white space around it, no trailing commas, no comments, no
 * leading zeros, valid UTF-8 everywhere, escapes only as RFC 8259 lists
 * them, surrogate pairs paired.  Bounded: nesting depth and value count
 * are limited, so no input can exhaust the stack or memory.
 * "\u0000" is refused so that every decoded string is a C string.
 * Duplicate object keys are kept; readers that care (alignlog-read.c) detect
 * them while walking the members.
 *
 * Errors: nothing is logged; am_json_parse() returns NULL with "offset N:
 * reason" in err, the accessors NULL or false.  Out of memory aborts.
 *
 * Threads: any; a document belongs to its caller, read-only once parsed.
 */
#ifndef AM_JSON_H
#define AM_JSON_H

#include <stdbool.h>
#include <stddef.h>

#define AM_JSON_MAX_DEPTH	64
#define AM_JSON_MAX_VALUES	65536

enum am_json_type {
	AM_JSON_NULL = 0,
	AM_JSON_FALSE,
	AM_JSON_TRUE,
	AM_JSON_NUMBER,
	AM_JSON_STRING,
	AM_JSON_ARRAY,
	AM_JSON_OBJECT,
};

struct am_json {
	enum am_json_type type;
	const char *key;		/* member name inside an object, else NULL */
	const char *str;		/* STRING: decoded UTF-8; NUMBER: its text */
	size_t	len;			/* bytes in str */
	double	num;			/* NUMBER */
	size_t	count;			/* ARRAY/OBJECT: elements or members */
	const struct am_json *child;	/* ARRAY/OBJECT: first element or member */
	const struct am_json *next;	/* next sibling in the parent */
};

struct am_json_doc;

/*
 * Parse text[0..len).  On success returns a document (free it with
 * am_json_free); on failure NULL and a reason such as
 * "offset 17: expected ':'" in err.
 */
struct am_json_doc *am_json_parse(const char *text, size_t len, char *err, size_t errlen);
const struct am_json *am_json_root(const struct am_json_doc *);
void	am_json_free(struct am_json_doc *);

/* First member called key of obj, or NULL (also when obj is no object). */
const struct am_json *am_json_member(const struct am_json *obj, const char *key);
/* The number as an integer in [min, max]; false if not such an integer. */
bool	am_json_int(const struct am_json *, long min, long max, long *out);
/* "null", "string", ... for messages. */
const char *am_json_type_name(enum am_json_type);

#endif
