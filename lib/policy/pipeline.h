/*
 * pipeline.h - one message through SPF, DKIM and DMARC into one verdict.
 *
 * Owns: the process-wide pipeline (resolver, SPF checker, DKIM library,
 * DMARC/PSL, alignment log) and the per-message check that the milter
 * session and the offline -t reader both feed, in SMTP order.  Lookups
 * start as early as their names are known: the SPF record at MAIL FROM,
 * the DMARC record and DKIM keys when the headers end, so they overlap.
 *
 * Errors: am_pipeline_new() returns NULL with err (resolver, SPF, DKIM or
 * DMARC set-up), am_pipeline_open_log() false with err.  Per message
 * nothing fails as a call: every failure is in the verdict.  Logged
 * (am_log, LOG_INFO): the verdict line of each recorded message and a
 * reopened alignment log; failed writes are appendfile.c's to log.  Out of
 * memory aborts.
 *
 * Threads: one pipeline shared: built, opened and freed on the main
 * thread, its log reopened from there on SIGHUP, messages checked and
 * recorded from any thread; one am_pipeline_msg per message, used by one
 * thread at a time.
 */
#ifndef AM_PIPELINE_H
#define AM_PIPELINE_H

#include <stdbool.h>
#include <stddef.h>

#include "policy/conf.h"
#include "dns/resolver.h"
#include "auth/verdict.h"

typedef struct am_pipeline am_pipeline;
typedef struct am_pipeline_msg am_pipeline_msg;

/* Build the pipeline from the configuration; NULL with err. */
am_pipeline *am_pipeline_new(const struct am_conf *, char *err, size_t errlen);
/* The same over a resolver the caller made (tests); the pipeline takes it over. */
am_pipeline *am_pipeline_new_with_resolver(const struct am_conf *, am_resolver *, char *err, size_t errlen);
void	am_pipeline_free(am_pipeline *);
const struct am_conf *am_pipeline_conf(const am_pipeline *);
/* Open the configured alignment log (after dropping privileges); false with err. */
bool	am_pipeline_open_log(am_pipeline *, char *err, size_t errlen);
/* SIGHUP: reopen the alignment log. */
void	am_pipeline_reopen_log(am_pipeline *);
/* Write the syslog verdict line and the alignment-log record. */
void	am_pipeline_record(am_pipeline *, const struct am_verdict *);

/* Per message: envelope first (mail_from without <>; "" for the null sender). */
am_pipeline_msg *am_pipeline_msg_new(am_pipeline *, const char *client_ip, const char *helo, const char *mail_from);
void	am_pipeline_msg_set_queue_id(am_pipeline_msg *, const char *queue_id);
void	am_pipeline_msg_header(am_pipeline_msg *, const char *name, size_t namelen, const char *value, size_t valuelen);
void	am_pipeline_msg_eoh(am_pipeline_msg *);
void	am_pipeline_msg_body(am_pipeline_msg *, const unsigned char *buf, size_t len);
/* Finish; the verdict lives until am_pipeline_msg_free. */
const struct am_verdict *am_pipeline_msg_eom(am_pipeline_msg *);
void	am_pipeline_msg_free(am_pipeline_msg *);

#endif
