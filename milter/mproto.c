/*
 * mproto.c - the milter wire protocol (see mproto.h, which also says how
 * it fails and who may call it).
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <libmilter/mfdef.h>

/* Application-specific. */
#include "mproto.h"

/* No connect reply either: nothing to say there but "continue" or a pass-through. */
#define WANT_PROTOCOL	(AM_MPROTO_WANT_PROTOCOL | SMFIP_NR_CONN)

static uint32_t
get32(const char *p)
{
	const unsigned char *u = (const unsigned char *)p;

	return (uint32_t)u[0] << 24 | (uint32_t)u[1] << 16 | (uint32_t)u[2] << 8 | u[3];
}

static void
put32(struct am_buf *out, uint32_t v)
{
	char b[4] = { (char)(v >> 24), (char)(v >> 16), (char)(v >> 8), (char)v };

	am_buf_add(out, b, sizeof(b));
}

enum am_mframe
am_mproto_frame(const char *buf, size_t len, struct am_mpacket *pkt, size_t *used)
{
	uint32_t plen;

	*used = 0;
	if (len < MILTER_LEN_BYTES)
		return AM_MFRAME_NEED_MORE;
	plen = get32(buf);
	if (plen == 0 || plen > AM_MPROTO_MAX_PACKET)
		return AM_MFRAME_INVALID;
	if (len - MILTER_LEN_BYTES < plen) {
		*used = MILTER_LEN_BYTES + (size_t)plen;
		return AM_MFRAME_NEED_MORE;
	}
	pkt->cmd = (unsigned char)buf[MILTER_LEN_BYTES];
	pkt->data = buf + MILTER_LEN_BYTES + 1;
	pkt->len = plen - 1;
	*used = MILTER_LEN_BYTES + (size_t)plen;
	return AM_MFRAME_PACKET;
}

bool
am_mproto_parse_optneg(const struct am_mpacket *p, struct am_moptneg *o)
{
	if (p->cmd != SMFIC_OPTNEG || p->len < MILTER_OPTLEN)
		return false;
	o->version = get32(p->data);
	o->actions = get32(p->data + 4);
	o->protocol = get32(p->data + 8);
	return true;
}

bool
am_mproto_negotiate(const struct am_moptneg *mta, uint32_t need_actions,
    struct am_moptneg *ours, bool *symlist, char *err, size_t errlen)
{
	if (mta->version < 2) {
		snprintf(err, errlen, "the MTA speaks milter protocol version %u: 2 or later needed",
		    (unsigned)mta->version);
		return false;
	}
	if ((mta->actions & need_actions) != need_actions) {
		uint32_t missing = need_actions & ~mta->actions;

		snprintf(err, errlen, "the MTA does not allow%s%s%s (actions 0x%x offered, 0x%x needed): "
		    "cannot work", (missing & SMFIF_ADDHDRS) ? " adding headers" : "",
		    (missing & SMFIF_CHGHDRS) ? " changing headers" : "",
		    (missing & SMFIF_QUARANTINE) ? " quarantine (RejectFailures yes)" : "",
		    (unsigned)mta->actions, (unsigned)need_actions);
		return false;
	}
	ours->version = mta->version < AM_MPROTO_VERSION ? mta->version : AM_MPROTO_VERSION;
	*symlist = ours->version >= 6 && (mta->actions & SMFIF_SETSYMLIST) != 0;
	ours->actions = need_actions | (*symlist ? SMFIF_SETSYMLIST : 0);
	ours->protocol = mta->protocol & WANT_PROTOCOL;
	return true;
}

bool
am_mproto_wants_reply(unsigned char cmd, uint32_t protocol)
{
	switch (cmd) {
	case SMFIC_OPTNEG:
	case SMFIC_BODYEOB:
		return true;
	case SMFIC_CONNECT:
		return !(protocol & SMFIP_NR_CONN);
	case SMFIC_HELO:
		return !(protocol & SMFIP_NR_HELO);
	case SMFIC_MAIL:
		return !(protocol & SMFIP_NR_MAIL);
	case SMFIC_RCPT:
		return !(protocol & SMFIP_NR_RCPT);
	case SMFIC_DATA:
		return !(protocol & SMFIP_NR_DATA);
	case SMFIC_UNKNOWN:
		return !(protocol & SMFIP_NR_UNKN);
	case SMFIC_HEADER:
		return !(protocol & SMFIP_NR_HDR);
	case SMFIC_EOH:
		return !(protocol & SMFIP_NR_EOH);
	case SMFIC_BODY:
		return !(protocol & SMFIP_NR_BODY);
	default:			/* abort, macros, quit: never answered */
		return false;
	}
}

/* The NUL-terminated string at data[*off], which must end inside len. */
static const char *
take_string(const char *data, size_t len, size_t *off)
{
	const char *s = data + *off, *nul;

	if (*off >= len || (nul = memchr(s, '\0', len - *off)) == NULL)
		return NULL;
	*off += (size_t)(nul - s) + 1;
	return s;
}

bool
am_mproto_parse_connect(const struct am_mpacket *p, struct am_mconnect *c)
{
	size_t off = 0;

	if ((c->hostname = take_string(p->data, p->len, &off)) == NULL || off >= p->len)
		return false;
	c->family = p->data[off++];
	c->port = 0;
	c->address = "";
	if (c->family == SMFIA_UNKNOWN)
		return true;
	if (c->family != SMFIA_UNIX && c->family != SMFIA_INET && c->family != SMFIA_INET6)
		return false;
	if (p->len - off < 2)
		return false;
	c->port = (unsigned)(unsigned char)p->data[off] << 8 | (unsigned char)p->data[off + 1];
	off += 2;
	if ((c->address = take_string(p->data, p->len, &off)) == NULL)
		return false;
	/* Sendmail writes IPv6 client addresses as "IPv6:2001:db8::1". */
	if (c->family == SMFIA_INET6 && strncasecmp(c->address, "IPv6:", 5) == 0)
		c->address += 5;
	return true;
}

bool
am_mproto_parse_string(const struct am_mpacket *p, const char **s)
{
	size_t off = 0;

	return (*s = take_string(p->data, p->len, &off)) != NULL;
}

bool
am_mproto_parse_header(const struct am_mpacket *p, const char **name, const char **value)
{
	size_t off = 0;

	return (*name = take_string(p->data, p->len, &off)) != NULL &&
	    (*value = take_string(p->data, p->len, &off)) != NULL;
}

bool
am_mproto_parse_macros(const struct am_mpacket *p, unsigned char *stage)
{
	if (p->cmd != SMFIC_MACRO || p->len < 1)
		return false;
	*stage = (unsigned char)p->data[0];
	return true;
}

/* "i" and "{i}" name the same macro. */
static bool
macro_name_is(const char *have, const char *want)
{
	size_t hl = strlen(have), wl = strlen(want);

	if (hl == wl && strcmp(have, want) == 0)
		return true;
	if (hl == wl + 2 && have[0] == '{' && have[hl - 1] == '}' && strncmp(have + 1, want, wl) == 0)
		return true;
	return wl == hl + 2 && want[0] == '{' && want[wl - 1] == '}' && strncmp(want + 1, have, hl) == 0;
}

const char *
am_mproto_macro(const char *data, size_t len, const char *name)
{
	const char *n, *v;
	size_t off = 1;			/* after the stage byte */

	while (off < len) {
		if ((n = take_string(data, len, &off)) == NULL || (v = take_string(data, len, &off)) == NULL)
			return NULL;
		if (macro_name_is(n, name))
			return v;
	}
	return NULL;
}

void
am_mproto_put(struct am_buf *out, unsigned char cmd, const void *data, size_t len)
{
	char c = (char)cmd;

	put32(out, (uint32_t)len + 1);
	am_buf_add(out, &c, 1);
	if (len > 0)
		am_buf_add(out, data, len);
}

void
am_mproto_put_optneg(struct am_buf *out, const struct am_moptneg *o, bool symlist)
{
	static const char eom_macros[] = "i";
	size_t len = MILTER_OPTLEN + (symlist ? 4 + sizeof(eom_macros) : 0);
	char c = SMFIC_OPTNEG;

	put32(out, (uint32_t)len + 1);
	am_buf_add(out, &c, 1);
	put32(out, o->version);
	put32(out, o->actions);
	put32(out, o->protocol);
	if (symlist) {
		put32(out, SMFIM_EOM);
		am_buf_add(out, eom_macros, sizeof(eom_macros));
	}
}

void
am_mproto_put_header(struct am_buf *out, unsigned char cmd, uint32_t index,
    const char *name, const char *value)
{
	size_t nl = strlen(name) + 1, vl = value != NULL ? strlen(value) + 1 : 1;
	char c = (char)cmd;

	put32(out, (uint32_t)(1 + 4 + nl + vl));
	am_buf_add(out, &c, 1);
	put32(out, index);
	am_buf_add(out, name, nl);
	am_buf_add(out, value != NULL ? value : "", vl);
}

void
am_mproto_put_string(struct am_buf *out, unsigned char cmd, const char *s)
{
	am_mproto_put(out, cmd, s, strlen(s) + 1);
}
