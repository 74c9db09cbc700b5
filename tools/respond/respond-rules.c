/*
 * respond-rules.c - alignmilter-respond's pure decisions: is this
 * recipient the probe (and which reply address does its extension
 * encode), is an address a plausible mailbox, did the verdict
 * authenticate a reply domain, and may this message be answered at all
 * (RFC 3834).
 *
 * Owns: the probe address match and the "LOCAL=DOMAIN" extension
 * decoding, the mailbox syntax the reply goes to (RFC 5321 4.1.2,
 * stricter where sendmail(1) and Postfix would be at risk), the
 * authentication test of a reply domain, and the loop guards.
 *
 * Errors: none logged; a refusal comes with its reason (why, or the
 * returned string), which the caller logs.  Every input is a C string
 * read no further than its bound (strnlen), so an over-long one is
 * refused, never read past.
 *
 * Threads: pure functions; any thread.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "util/util.h"
#include "auth/verdict.h"

#include "respond.h"

/*
 * The longest ${original_recipient} considered: the probe's local part,
 * a delimiter and an encoded address (64 + 1 + 64 + 1 + 253) before '@'
 * and a domain; Postfix does not hold extensions to RFC 5321's 64
 * octets, so neither do we, but we do bound them.
 */
#define RCPT_MAX	(2 * AM_RSP_ADDR_MAX)
#define DELIMS_MAX	32	/* Postfix's recipient_delimiter is a few characters */
#define LOCAL_MAX	64	/* RFC 5321 4.5.3.1.1 */
#define DOMAIN_MAX	253	/* RFC 1035 2.3.4, in presentation form without the root dot */
#define LABEL_MAX	63

/* ---- addresses ----------------------------------------------------------- */

/* atext of RFC 5322 3.2.3, which RFC 5321 4.1.2's Atom is made of. */
static bool
is_atext(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return true;
	return c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL;
}

static bool
is_letdig(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/*
 * RFC 5321 4.1.2 Dot-string: Atom *("." Atom), at most 64 octets.  A
 * Quoted-string is refused: a reply address needs none, and one would
 * have to be re-quoted for sendmail(1) and the To: field.  A leading '-'
 * is refused as Postfix's allow_min_user = no does: it would read as an
 * option on a sendmail(1) command line.
 */
static bool
local_ok(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n > LOCAL_MAX || s[0] == '.' || s[0] == '-' || s[n - 1] == '.')
		return false;
	for (i = 0; i < n; i++) {
		if (s[i] == '.') {
			if (s[i - 1] == '.')
				return false;
		} else if (!is_atext((unsigned char)s[i]))
			return false;
	}
	return true;
}

/*
 * RFC 5321 4.1.2 Domain: sub-domain *("." sub-domain), sub-domain =
 * Let-dig [Ldh-str]; labels of at most 63 octets, the name at most 253.
 * Replies cross the Internet, so at least two labels and a top-level
 * label that is not all digits (RFC 3696 2: no dotted-quad lookalike);
 * no address literal, no trailing dot, ASCII only (A-labels are fine).
 */
static bool
domain_ok(const char *s, size_t n)
{
	size_t i, label = 0, labels = 1;
	bool tld_alpha = false;

	if (n == 0 || n > DOMAIN_MAX)
		return false;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '.') {
			if (label == 0 || s[i - 1] == '-')
				return false;
			label = 0;
			labels++;
			tld_alpha = false;
			continue;
		}
		if (c == '-') {
			if (label == 0)
				return false;
		} else if (!is_letdig(c))
			return false;
		if (++label > LABEL_MAX)
			return false;
		if (!(c >= '0' && c <= '9'))
			tld_alpha = true;
	}
	return label > 0 && s[n - 1] != '-' && labels >= 2 && tld_alpha;
}

bool
am_rsp_mailbox_ok(const char *addr)
{
	size_t n;
	const char *at;

	if (addr == NULL)
		return false;
	n = strnlen(addr, AM_RSP_ADDR_MAX + 1);
	if (n > AM_RSP_ADDR_MAX)
		return false;
	/* A Dot-string holds no '@': the first one must be the only one. */
	if ((at = memchr(addr, '@', n)) == NULL)
		return false;
	return local_ok(addr, (size_t)(at - addr)) && domain_ok(at + 1, n - (size_t)(at - addr) - 1);
}

/* Two domains of a and b octets equal, ASCII case-insensitively, ignoring one trailing dot. */
static bool
domain_eq(const char *a, size_t an, const char *b, size_t bn)
{
	if (an > 0 && a[an - 1] == '.')
		an--;
	if (bn > 0 && b[bn - 1] == '.')
		bn--;
	return an > 0 && an == bn && strncasecmp(a, b, an) == 0;
}

/* The last c in s[0..n), or NULL. */
static const char *
last_char(const char *s, size_t n, char c)
{
	while (n > 0) {
		if (s[--n] == c)
			return s + n;
	}
	return NULL;
}

/*
 * The extension ext[0..n) as "LOCAL=DOMAIN": the last '=' stands for '@'
 * (atext allows '=' in LOCAL, a domain holds none).  Written to encoded
 * only when the result is a plausible mailbox that fits, domain
 * lower-cased: a truncated or odd address must never become a reply
 * address.
 */
static void
decode_extension(const char *ext, size_t n, char *encoded, size_t encodedlen)
{
	char addr[AM_RSP_ADDR_MAX + 1];
	const char *eq = last_char(ext, n, '=');
	size_t ln, dn;

	if (eq == NULL || encoded == NULL)
		return;
	ln = (size_t)(eq - ext);
	dn = n - ln - 1;
	if (ln + 1 + dn > AM_RSP_ADDR_MAX || ln + 1 + dn >= encodedlen)
		return;
	memcpy(addr, ext, ln);
	addr[ln] = '@';
	memcpy(addr + ln + 1, eq + 1, dn);
	addr[ln + 1 + dn] = '\0';
	am_lowercase(addr + ln + 1);
	if (am_rsp_mailbox_ok(addr))
		memcpy(encoded, addr, ln + 1 + dn + 1);
}

/*
 * The probe's local part is compared case-insensitively: Postfix folds
 * case in its transport_maps lookups, so "Check@..." reaches us too; the
 * encoded local part keeps its case (RFC 5321 2.4: only its owner may
 * fold it).  Recipient delimiters work as Postfix's recipient_delimiter:
 * the character right after the base name, any one of delims, starts
 * the extension.
 */
bool
am_rsp_probe_match(const char *rcpt, const char *probe, const char *delims,
    char *encoded, size_t encodedlen)
{
	size_t rn, pn, rlocal, plocal, dn;
	const char *rat, *pat;

	if (encoded != NULL && encodedlen > 0)
		encoded[0] = '\0';
	if (rcpt == NULL || probe == NULL)
		return false;
	rn = strnlen(rcpt, RCPT_MAX + 1);
	pn = strnlen(probe, AM_RSP_ADDR_MAX + 1);
	if (rn > RCPT_MAX || pn > AM_RSP_ADDR_MAX)
		return false;
	if ((rat = last_char(rcpt, rn, '@')) == NULL || (pat = last_char(probe, pn, '@')) == NULL)
		return false;
	rlocal = (size_t)(rat - rcpt);
	plocal = (size_t)(pat - probe);
	if (plocal == 0 || rlocal < plocal)
		return false;
	if (!domain_eq(rat + 1, rn - rlocal - 1, pat + 1, pn - plocal - 1))
		return false;
	if (strncasecmp(rcpt, probe, plocal) != 0)
		return false;
	if (rlocal == plocal)
		return true;		/* the bare probe */
	dn = delims != NULL ? strnlen(delims, DELIMS_MAX) : 0;
	if (memchr(delims != NULL ? delims : "", rcpt[plocal], dn) == NULL)
		return false;		/* "checker@": another mailbox */
	if (encodedlen > 0)
		decode_extension(rcpt + plocal + 1, rlocal - plocal - 1, encoded, encodedlen);
	return true;
}

/* ---- authentication ------------------------------------------------------ */

/* s normalized into buf (lower case, no trailing dot); false when empty or too long. */
static bool
norm_domain(const char *s, char *buf, size_t len)
{
	if (s == NULL || strnlen(s, len) >= len)
		return false;
	am_strlcpy(buf, s, len);
	am_domain_normalize(buf);
	return buf[0] != '\0';
}

/*
 * DMARC's pass for domain (it was the From domain and the From field was
 * sound), else an SPF or DKIM pass for a domain inside org: what
 * authenticates the reply domain without DMARC's alignment mode, so
 * aspf=s, adkim=s and a broken Easy DKIM next to a working custom MAIL
 * FROM still get their answer (issue 17).  org widens the test only when
 * it holds domain and has two labels at least: a caller's mistake must
 * not widen it to a public suffix.  SPF of the HELO name (a null MAIL
 * FROM) names a host, not a sender: it does not count.
 */
bool
am_rsp_authenticated(const struct am_verdict *v, const char *domain, const char *org,
    char *why, size_t whylen)
{
	char d[AM_DOMAIN_MAX], o[AM_DOMAIN_MAX];
	size_t i, n;

	if (why != NULL && whylen > 0)
		why[0] = '\0';
	if (v == NULL || !norm_domain(domain, d, sizeof(d))) {
		if (why != NULL)
			snprintf(why, whylen, "no reply domain");
		return false;
	}
	if (!norm_domain(org, o, sizeof(o)) || !am_domain_is_under(d, o) || strchr(o, '.') == NULL)
		am_strlcpy(o, d, sizeof(o));

	if (v->dmarc.result == AM_DMARC_PASS && v->from_status == AM_FROM_OK &&
	    strcasecmp(v->from_domain, d) == 0) {
		if (why != NULL)
			snprintf(why, whylen, "dmarc=pass for %s", d);
		return true;
	}
	if (v->spf.result == AM_SPF_PASS && !v->spf.helo_identity && v->spf.domain[0] != '\0' &&
	    am_domain_is_under(v->spf.domain, o)) {
		if (why != NULL)
			snprintf(why, whylen, "spf=pass for %s, inside %s", v->spf.domain, o);
		return true;
	}
	n = v->dkim.count < AM_DKIM_REPORT_MAX ? v->dkim.count : AM_DKIM_REPORT_MAX;
	for (i = 0; i < n; i++) {
		const struct am_dkim_sig *s = &v->dkim.sig[i];

		if (s->result == AM_DKIM_PASS && s->verified && s->domain[0] != '\0' &&
		    am_domain_is_under(s->domain, o)) {
			if (why != NULL)
				snprintf(why, whylen, "dkim=pass for d=%s, inside %s", s->domain, o);
			return true;
		}
	}
	if (why != NULL)
		snprintf(why, whylen, "nothing authenticated %s: dmarc=%s, spf=%s%s%s, "
		    "no passing DKIM signature inside %s", d,
		    am_dmarc_result_name(v->dmarc.result), am_spf_result_name(v->spf.result),
		    v->spf.domain[0] != '\0' ? " for " : "", v->spf.domain, o);
	return false;
}

/* ---- loop guards --------------------------------------------------------- */

/* Field value without leading blanks, its first token ends at blank, ';' or '(' (CFWS). */
static bool
token_is(const char *value, const char *word)
{
	size_t n = strlen(word);

	while (*value == ' ' || *value == '\t')
		value++;
	if (strncasecmp(value, word, n) != 0)
		return false;
	return value[n] == '\0' || value[n] == ' ' || value[n] == '\t' || value[n] == ';' ||
	    value[n] == '(' || value[n] == '\r' || value[n] == '\n';
}

/*
 * The local part of an address written as "addr", "<addr>" or
 * "Name <addr>" (a From value), into buf; "" when there is none.  Enough
 * to recognize the role names below, not a full RFC 5322 parser: the
 * From domain the verdict names was read by lib/auth.
 */
static void
local_of(const char *s, char *buf, size_t len)
{
	const char *lt, *start, *end, *at;
	size_t n = strnlen(s, RCPT_MAX);

	buf[0] = '\0';
	start = s;
	end = s + n;
	if ((lt = last_char(s, n, '<')) != NULL) {
		start = lt + 1;
		if ((end = memchr(start, '>', n - (size_t)(start - s))) == NULL)
			end = s + n;
	}
	while (start < end && (*start == ' ' || *start == '\t'))
		start++;
	if ((at = last_char(start, (size_t)(end - start), '@')) != NULL)
		end = at;
	while (end > start && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	if ((size_t)(end - start) >= len)
		return;
	memcpy(buf, start, (size_t)(end - start));
	buf[end - start] = '\0';
}

static bool
ends_with(const char *s, size_t n, const char *suffix)
{
	size_t k = strlen(suffix);

	return n >= k && strncasecmp(s + n - k, suffix, k) == 0;
}

/*
 * A role address that mail software, not a person, reads: RFC 5230
 * (Sieve vacation) 4.6 names MAILER-DAEMON, LISTSERV, majordomo, owner-*
 * and *-request; Mailman adds *-bounces (and *-owner), VERP-extended
 * with "+...", so suffixes are matched before a '+'.
 */
static bool
role_address(const char *addr)
{
	char local[AM_RSP_ADDR_MAX + 1];
	const char *plus;
	size_t n;

	local_of(addr, local, sizeof(local));
	if (local[0] == '\0')
		return false;
	if (strcasecmp(local, "mailer-daemon") == 0)
		return true;
	if (strcasecmp(local, "listserv") == 0 || strcasecmp(local, "majordomo") == 0)
		return true;
	if (strncasecmp(local, "owner-", 6) == 0)
		return true;
	n = (plus = strchr(local, '+')) != NULL ? (size_t)(plus - local) : strlen(local);
	if (ends_with(local, n, "-request"))
		return true;
	if (ends_with(local, n, "-bounces"))
		return true;
	if (ends_with(local, n, "-owner"))
		return true;
	return false;
}

/* RFC 2369 and RFC 2919 fields: a message carrying one came through a list. */
static const char *const list_fields[] = {
	"List-Id", "List-Unsubscribe", "List-Post", "List-Help", "List-Subscribe",
	"List-Owner", "List-Archive",
};

/*
 * In order: RFC 3834 section 2 (MUST NOT answer a null return path;
 * SHOULD NOT answer an Auto-Submitted other than "no", field of section
 * 5; MAY refuse Precedence bulk/list/junk and list mail), RFC 5230 4.6
 * (list fields, role senders), so the reason names the strongest rule.
 * The reasons are static strings for the caller's log.
 */
const char *
am_rsp_loop_guard(const char *sender, const struct am_rsp_header *h, size_t n)
{
	size_t i, k;

	if (sender == NULL || sender[0] == '\0' || strcmp(sender, "<>") == 0)
		return "null envelope sender (RFC 3834 section 2)";
	for (i = 0; i < n && h != NULL; i++) {
		if (h[i].name != NULL && h[i].value != NULL &&
		    strcasecmp(h[i].name, "Auto-Submitted") == 0 && !token_is(h[i].value, "no"))
			return "Auto-Submitted other than \"no\" (RFC 3834 sections 2 and 5)";
	}
	for (i = 0; i < n && h != NULL; i++) {
		if (h[i].name == NULL || h[i].value == NULL)
			continue;
		if (strcasecmp(h[i].name, "Precedence") == 0 && (token_is(h[i].value, "bulk") ||
		    token_is(h[i].value, "list") || token_is(h[i].value, "junk")))
			return "Precedence bulk, list or junk (RFC 3834 section 2)";
		for (k = 0; k < sizeof(list_fields) / sizeof(list_fields[0]); k++) {
			if (strcasecmp(h[i].name, list_fields[k]) == 0)
				return k == 0 ? "List-Id: list mail (RFC 3834 section 2, RFC 2919)" :
				    "a List-* field: list mail (RFC 5230 4.6, RFC 2369)";
		}
	}
	if (role_address(sender))
		return "envelope sender is a role address: MAILER-DAEMON, list server, owner-, "
		    "-request or -bounces (RFC 5230 4.6)";
	for (i = 0; i < n && h != NULL; i++) {
		if (h[i].name != NULL && h[i].value != NULL && strcasecmp(h[i].name, "From") == 0 &&
		    role_address(h[i].value))
			return "From is a role address: MAILER-DAEMON, list server, owner-, "
			    "-request or -bounces (RFC 5230 4.6)";
	}
	return NULL;
}
