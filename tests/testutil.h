/*
 * testutil.h - small helpers shared by the Check unit tests: reading a
 * file whole, and a strict JSON parser.
 */
#ifndef TESTUTIL_H
#define TESTUTIL_H

#include <stdbool.h>
#include <stddef.h>

/* The whole file, NUL-terminated (len excludes the NUL); NULL if unreadable. */
char	*tu_slurp(const char *path, size_t *len);

/*
 * A strict JSON parser (RFC 8259), to judge what the code under test
 * writes: independent of lib/policy/alignlog.c and lib/util/json.c, so
 * a mistake shared with the writer cannot hide.  Strings are decoded to
 * UTF-8 and may hold NULs (slen).
 */
enum jtype { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ };

struct jval {
	enum jtype type;
	bool	b;
	double	num;
	char	*str;			/* decoded, UTF-8, NUL-terminated */
	size_t	slen;			/* decoded length (may hold NULs) */
	size_t	n;			/* members/elements */
	char	**keys;			/* J_OBJ */
	size_t	*keylens;
	struct jval **items;
};

/* Exactly one JSON text in valid UTF-8; NULL with the reason in err. */
struct jval *json_parse(const char *s, size_t len, char *err, size_t errlen);
void	jfree(struct jval *);
/* The member key of object o; NULL when o is no object or has no such member. */
struct jval *jget(const struct jval *o, const char *key);
/* The string member key of o; NULL when absent or not a string. */
const char *jstr(const struct jval *o, const char *key);

#endif
