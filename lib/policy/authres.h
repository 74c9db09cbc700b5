/*
 * authres.h - rendering the RFC 8601 Authentication-Results header.
 *
 * Owns: the exact header format of alignmilter(8) "Authentication-Results",
 * and quoting of every value that came from the message or the DNS so the
 * header stays well formed.  (Reading the authserv-id of a received field
 * is message-ids.c's, auth/message.h.)
 *
 * Errors: none: rendering cannot fail and logs nothing.  Out of memory
 * aborts (am_buf).
 *
 * Threads: any; pure functions into the caller's buffer.
 */
#ifndef AM_AUTHRES_H
#define AM_AUTHRES_H

#include "util/util.h"
#include "auth/verdict.h"

#define AM_AUTHRES_NAME "Authentication-Results"

/*
 * The field value, starting with the space after the colon, folded with
 * "\n\t" between results, no final line end.
 */
void	am_authres_render(const struct am_verdict *, const char *authserv_id, struct am_buf *out);

#endif
