/*
 * mprotoutil.h - what the tests of the milter codec (milter/mproto.c) share:
 * the actions and protocol flags alignmilter negotiates, written out here
 * so a change in mproto.c shows as a failing test, and packets over string
 * literals.  Used by check_mproto.c and check_mproto_codec.c.
 */
#ifndef MPROTOUTIL_H
#define MPROTOUTIL_H

#include <stddef.h>
#include <stdint.h>

#include <libmilter/mfapi.h>
#include <libmilter/mfdef.h>

#include "milter/mproto.h"

/* What alignmilter asks for, as transport-native.c does. */
#define NEED		((uint32_t)(SMFIF_ADDHDRS | SMFIF_CHGHDRS))
/*
 * The protocol flags we take when offered (mproto.c's WANT_PROTOCOL, written
 * out).  NR_CONN too: am_session_connect only ever says accept or continue,
 * and a pass-through connection is handled in the session, not by the MTA.
 */
#define WANT		((uint32_t)(SMFIP_NORCPT | SMFIP_NOUNKNOWN | SMFIP_NODATA | \
			    SMFIP_NR_CONN | SMFIP_NR_HELO | SMFIP_NR_MAIL | SMFIP_NR_HDR | SMFIP_NR_EOH | \
			    SMFIP_NR_BODY | SMFIP_HDR_LEADSPC))

/* A packet over a string literal (its data may hold NULs: pass the length). */
static inline struct am_mpacket
pkt(unsigned char cmd, const char *data, size_t len)
{
	struct am_mpacket p = { cmd, data, len };

	return p;
}

#define PKT(cmd, lit)	pkt((cmd), (lit), sizeof(lit) - 1)

#endif
