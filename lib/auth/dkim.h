/*
 * dkim.h - DKIM verification (RFC 6376, RFC 8463) with libopendkim.
 *
 * Owns: one shared DKIM_LIB whose DNS hooks query am_resolver, and the
 * per-message verifier that turns libopendkim's signature list into
 * struct am_dkim_verdict (including the key-not-found and
 * duplicated-suffix probes).
 *
 * Errors: am_dkim_lib_new() returns NULL with err.  Per message nothing
 * fails as a call: library and DNS failures become results and reasons
 * in the verdict.  The one log line is a warning at set-up when the key
 * cache cannot start (keycache.h).  Out of memory aborts.
 *
 * Threads: the library is shared by every thread once set up; one
 * am_dkim_msg per message, used by one thread at a time.
 *
 * Implemented by dkim.c (library, streaming), dkim-dns.c (DNS hooks) and
 * dkim-result.c (the verdict), which share dkim-int.h.
 */
#ifndef AM_DKIM_H
#define AM_DKIM_H

#include <stddef.h>

#include "dns/resolver.h"
#include "auth/verdict.h"

typedef struct am_dkim_lib am_dkim_lib;
typedef struct am_dkim_msg am_dkim_msg;

/* max_sigs: MaximumSignatures; NULL on error (err filled). */
am_dkim_lib *am_dkim_lib_new(am_resolver *, unsigned max_sigs, char *err, size_t errlen);
void	am_dkim_lib_free(am_dkim_lib *);

/* Per message.  Never NULL. */
am_dkim_msg *am_dkim_msg_new(am_dkim_lib *, const char *id);
/*
 * One header field: name without colon, value exactly as received after
 * the colon (leading space kept), folds as CRLF or bare LF (normalised
 * to CRLF here), no trailing line end.
 */
void	am_dkim_header(am_dkim_msg *, const char *name, const char *value, size_t valuelen);
/* End of headers: key lookups start here. */
void	am_dkim_eoh(am_dkim_msg *);
/* Body bytes as received (CRLF or bare LF line ends). */
void	am_dkim_body(am_dkim_msg *, const unsigned char *buf, size_t len);
/* Finish; fills out (count 0 and total 0 when unsigned). */
void	am_dkim_eom(am_dkim_msg *, struct am_dkim_verdict *out);
void	am_dkim_msg_free(am_dkim_msg *);

#endif
