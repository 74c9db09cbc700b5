/*
 * conf-int.h - what the conf*.c files share: conf.c reads the file and
 * owns the milter's keys, conf-tools.c the keys of the companion tools
 * (alignmilter-respond, alignmilter-report) and ReportingHost.  Not for
 * other modules: use policy/conf.h.
 *
 * Errors and threads: as conf.h.
 */
#ifndef AM_CONF_INT_H
#define AM_CONF_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "policy/conf.h"

/* ---- conf.c ---- */

/* Replace *slot with a copy of value. */
void	am_conf_set_string(char **slot, const char *value);
/* Decimal in [min, max]; false for anything else. */
bool	am_conf_parse_uint(const char *v, unsigned min, unsigned max, unsigned *out);
/* Bytes, or K/M (1024-based) with the suffix, at most max; false for anything else. */
bool	am_conf_parse_size(const char *v, unsigned long long max, size_t *out);
/* An absolute path into *slot; false with err naming key. */
bool	am_conf_set_path(char **slot, const char *key, const char *v, char *err, size_t errlen);

/* ---- conf-tools.c ---- */

/* The tools' defaults; host is the default AuthservID (the host name). */
void	am_conf_tools_defaults(struct am_conf *, const char *host);
void	am_conf_tools_free(struct am_conf *);
/* One of the tools' keys: 1 set, 0 a bad value (err), -1 not one of them. */
int	am_conf_tools_set(struct am_conf *, const char *key, const char *value, char *err, size_t errlen);

#endif
