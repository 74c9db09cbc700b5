/*
 * pipeline.h - one message through SPF, DKIM and DMARC into one verdict.
 *
 * Owns: the process-wide engine (resolver, SPF checker, DKIM library,
 * DMARC/PSL, alignment log) and the per-message check that the milter
 * adapter and the offline -t reader both feed, in SMTP order.  Lookups
 * start as early as their names are known: the SPF record at MAIL FROM,
 * the DMARC record and DKIM keys when the headers end, so they overlap.
 * Thread-safe: one engine shared, one am_check per message.
 */
#ifndef AM_PIPELINE_H
#define AM_PIPELINE_H

#include <stdbool.h>
#include <stddef.h>

#include "policy/conf.h"
#include "dns/resolver.h"
#include "auth/verdict.h"

typedef struct am_engine am_engine;
typedef struct am_check am_check;

/* Build the engine from the configuration; NULL with err. */
am_engine *am_engine_new(const struct am_conf *, char *err, size_t errlen);
/* The same over a resolver the caller made (tests); the engine takes it over. */
am_engine *am_engine_new_with_resolver(const struct am_conf *, am_resolver *, char *err, size_t errlen);
void	am_engine_free(am_engine *);
const struct am_conf *am_engine_conf(const am_engine *);
/* Open the configured alignment log (after dropping privileges); false with err. */
bool	am_engine_open_log(am_engine *, char *err, size_t errlen);
/* SIGHUP: reopen the alignment log. */
void	am_engine_reopen_log(am_engine *);
/* Write the syslog verdict line and the alignment-log record. */
void	am_engine_record(am_engine *, const struct am_verdict *);

/* Per message: envelope first (mail_from without <>; "" for the null sender). */
am_check *am_check_new(am_engine *, const char *client_ip, const char *helo, const char *mail_from);
void	am_check_set_queue_id(am_check *, const char *queue_id);
void	am_check_header(am_check *, const char *name, size_t namelen, const char *value, size_t valuelen);
void	am_check_eoh(am_check *);
void	am_check_body(am_check *, const unsigned char *buf, size_t len);
/* Finish; the verdict lives until am_check_free. */
const struct am_verdict *am_check_eom(am_check *);
void	am_check_free(am_check *);

#endif
