/*
 * report-enforce-text.c - alignmilter-report --enforce as text and as JSON
 * (report-enforce.h says how the family fails and who may call it).
 *
 * Owns: the layout of both: text for a person (domains not ready first,
 * each with its verdict line, then its largest sources and their hints'
 * fixes; the zone-file lines at the left margin, ready to paste), JSON
 * for a program (every source, the keys alignmilter-report(1) lists).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

/* Policy and renderers. */
#include "policy/alignlog.h"
#include "policy/ses.h"

/* Application-specific. */
#include "report-enforce.h"

/* Text from the log may hold control bytes: never pass them to a terminal. */
static void
add_printable(struct am_buf *b, const char *s)
{
	for (; *s != '\0'; s++)
		am_buf_addc(b, (unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s);
}

static const char *
plural(unsigned long n)
{
	return n == 1 ? "" : "s";
}

static void
policy_words(const struct am_edomain *d, struct am_buf *b)
{
	if (d->policy == AM_POLICY_UNSPEC) {
		am_buf_adds(b, "none (no DMARC record)");
		return;
	}
	am_buf_printf(b, "%s (%s=", am_dmarc_policy_name(d->policy), am_dmarc_policy_tag_name(d->tag));
	if (d->testing)
		am_buf_printf(b, ", t=y: %s applies",
		    am_dmarc_policy_name(am_dmarc_policy_lower(d->policy)));
	am_buf_addc(b, ')');
}

/* Shown: the first o.sources by volume, and every source that blocks. */
static bool
shown(const am_enforce *e, const struct am_edomain *d, size_t rank)
{
	return rank < e->o.sources || d->sources[d->order[rank]].blocks;
}

static void
text_source(const struct am_edomain *d, const struct am_esource *s, struct am_buf *b)
{
	const char *p, *end;

	am_buf_adds(b, "  source ");
	add_printable(b, s->label);
	am_buf_printf(b, ": %.1f%% of the mail (%lu), fails %.1f%% (%lu)",
	    am_enforce_pct_up(s->total, d->total), s->total, am_enforce_pct_up(s->fail, s->pass + s->fail),
	    s->fail);
	if (s->unknown)
		am_buf_printf(b, ", %lu unknown", s->unknown);
	if (s->blocks)
		am_buf_adds(b, " [blocks]");
	if (!s->has_hint) {
		am_buf_addc(b, '\n');
		return;
	}
	am_buf_printf(b, ", hint %s\n    fix: ", am_hint_name(s->hint));
	add_printable(b, s->fix[s->hint] ? s->fix[s->hint] : "");
	am_buf_addc(b, '\n');
	for (p = s->records[s->hint]; p != NULL && *p != '\0'; p = *end ? end + 1 : end) {
		if ((end = strchr(p, '\n')) == NULL)
			end = p + strlen(p);
		am_buf_printf(b, "%.*s\n", (int)(end - p), p);
	}
}

static void
text_domain(const am_enforce *e, const struct am_edomain *d, struct am_buf *b)
{
	char first[16], last[16];
	unsigned long more = 0, more_msgs = 0, more_fail = 0;
	size_t i;

	am_enforce_date(d->first_day, first);
	am_enforce_date(d->last_day, last);
	add_printable(b, d->domain[0] ? d->domain : "(no From domain)");
	am_buf_adds(b, ": ");
	add_printable(b, d->verdict);
	am_buf_adds(b, "\n  policy ");
	policy_words(d, b);
	am_buf_printf(b, "; %lu message%s %s to %s: %lu pass, %lu fail, %lu unknown\n", d->total,
	    plural(d->total), first, last, d->pass, d->fail, d->unknown);
	for (i = 0; i < d->nactive; i++) {
		const struct am_esource *s = &d->sources[d->order[i]];

		if (shown(e, d, i)) {
			text_source(d, s, b);
		} else {
			more++;
			more_msgs += s->total;
			more_fail += s->fail;
		}
	}
	if (more)
		am_buf_printf(b, "  and %lu more source%s: %.1f%% of the mail (%lu), %lu failing\n", more,
		    plural(more), am_enforce_pct_up(more_msgs, d->total), more_msgs, more_fail);
}

void
am_enforce_text(const am_enforce *e, struct am_buf *b)
{
	char from[16], to[16];
	size_t i;

	am_enforce_date(e->start_day, from);
	am_enforce_date(e->end_day, to);
	am_buf_printf(b, "Is it safe to enforce? %zu From domain%s, %s to %s (%u day%s)\n", e->nsorted,
	    plural(e->nsorted), from, to, e->o.window, plural(e->o.window));
	am_buf_printf(b, "ready: >= %g%% pass over >= %u day%s of mail, and no source of >= %g%% of "
	    "the mail failing more than %g%%\n", e->o.ready_pass, e->o.ready_days,
	    plural(e->o.ready_days), e->o.ready_source, 100.0 - e->o.ready_pass);
	am_buf_printf(b, "not ready %lu, not enough data %lu, ready %lu, enforcing %lu\n",
	    e->states[AM_ENF_NOT_READY], e->states[AM_ENF_NO_DATA], e->states[AM_ENF_READY],
	    e->states[AM_ENF_ENFORCING]);
	for (i = 0; i < e->nsorted; i++) {
		am_buf_addc(b, '\n');
		text_domain(e, e->sorted[i], b);
	}
}

/* ---- JSON ----------------------------------------------------------------- */

static void
json_str(struct am_buf *b, const char *s)
{
	am_json_string(b, s, strlen(s));
}

static void
json_lines(struct am_buf *b, const char *s)
{
	const char *end;

	am_buf_addc(b, '[');
	for (; s != NULL && *s != '\0'; s = *end ? end + 1 : end) {
		if ((end = strchr(s, '\n')) == NULL)
			end = s + strlen(s);
		am_json_string(b, s, (size_t)(end - s));
		if (*end != '\0')
			am_buf_adds(b, ", ");
	}
	am_buf_addc(b, ']');
}

static void
json_source(const struct am_edomain *d, const struct am_esource *s, struct am_buf *b)
{
	size_t h;
	bool first = true;

	am_buf_adds(b, "{\"source\": ");
	json_str(b, s->label);
	if (s->ses) {
		am_buf_adds(b, ", \"kind\": \"ses\", \"region\": ");
		json_str(b, s->region);
		am_buf_printf(b, ", \"mail_from\": \"%s\"", s->default_mail_from ? "default" : "custom");
	} else {
		am_buf_adds(b, ", \"kind\": \"network\", \"network\": ");
		json_str(b, s->network);
		am_buf_adds(b, ", \"helo_domain\": ");
		json_str(b, s->helo_domain);
	}
	am_buf_printf(b, ", \"messages\": %lu, \"pass\": %lu, \"fail\": %lu, \"unknown\": %lu, "
	    "\"volume_pct\": %.1f, \"fail_pct\": %.1f, \"blocks\": %s, \"hint\": ", s->total, s->pass,
	    s->fail, s->unknown, am_enforce_pct_up(s->total, d->total),
	    am_enforce_pct_up(s->fail, s->pass + s->fail), s->blocks ? "true" : "false");
	if (s->has_hint) {
		json_str(b, am_hint_name(s->hint));
		am_buf_adds(b, ", \"fix\": ");
		json_str(b, s->fix[s->hint] ? s->fix[s->hint] : "");
		am_buf_adds(b, ", \"records\": ");
		json_lines(b, s->records[s->hint]);
	} else {
		am_buf_adds(b, "null, \"fix\": null, \"records\": []");
	}
	am_buf_adds(b, ", \"hints\": {");
	for (h = 0; h < AM_HINT_COUNT; h++)
		if (s->hints[h]) {
			am_buf_adds(b, first ? "" : ", ");
			json_str(b, am_hint_name((enum am_hint)h));
			am_buf_printf(b, ": %lu", s->hints[h]);
			first = false;
		}
	am_buf_adds(b, "}}");
}

static void
json_domain(const struct am_edomain *d, struct am_buf *b)
{
	char first[16], last[16];
	size_t i;

	am_enforce_date(d->first_day, first);
	am_enforce_date(d->last_day, last);
	am_buf_adds(b, "{\"domain\": ");
	json_str(b, d->domain);
	am_buf_printf(b, ", \"state\": \"%s\", \"verdict\": ", am_enforce_state_name(d->state));
	json_str(b, d->verdict);
	am_buf_printf(b, ", \"record\": %s, \"policy\": \"%s\", \"policy_tag\": \"%s\", \"testing\": %s",
	    d->policy != AM_POLICY_UNSPEC ? "true" : "false",
	    am_dmarc_policy_name(d->policy == AM_POLICY_UNSPEC ? AM_POLICY_NONE : d->policy),
	    d->policy == AM_POLICY_UNSPEC ? "p" : am_dmarc_policy_tag_name(d->tag),
	    d->testing ? "true" : "false");
	if (d->next == AM_POLICY_UNSPEC)
		am_buf_adds(b, ", \"next\": null");
	else
		am_buf_printf(b, ", \"next\": \"%s\"", am_dmarc_policy_name(d->next));
	am_buf_printf(b, ", \"next_drops_testing\": %s, \"messages\": %lu, \"pass\": %lu, \"fail\": %lu, "
	    "\"unknown\": %lu, \"pass_pct\": %.1f, \"days\": %u, \"first\": \"%s\", \"last\": \"%s\", "
	    "\"blocking\": ", d->next_drops_testing ? "true" : "false", d->total, d->pass, d->fail,
	    d->unknown, am_enforce_pct_down(d->pass, d->pass + d->fail), d->days, first, last);
	if (d->blocker != NULL)
		json_str(b, d->blocker->label);
	else
		am_buf_adds(b, "null");
	am_buf_adds(b, ", \"sources\": [");
	for (i = 0; i < d->nactive; i++) {
		am_buf_adds(b, i ? ",\n    " : "\n    ");
		json_source(d, &d->sources[d->order[i]], b);
	}
	am_buf_adds(b, "]}");
}

void
am_enforce_json(const am_enforce *e, struct am_buf *b)
{
	char from[16], to[16];
	size_t i;

	am_enforce_date(e->start_day, from);
	am_enforce_date(e->end_day, to);
	am_buf_printf(b, "{\"window\": {\"days\": %u, \"from\": \"%s\", \"to\": \"%s\"}, "
	    "\"thresholds\": {\"pass_pct\": %g, \"days\": %u, \"source_pct\": %g}, "
	    "\"states\": {\"not-ready\": %lu, \"not-enough-data\": %lu, \"ready\": %lu, "
	    "\"enforcing\": %lu},\n\"domains\": [", e->o.window, from, to, e->o.ready_pass,
	    e->o.ready_days, e->o.ready_source, e->states[AM_ENF_NOT_READY], e->states[AM_ENF_NO_DATA],
	    e->states[AM_ENF_READY], e->states[AM_ENF_ENFORCING]);
	for (i = 0; i < e->nsorted; i++) {
		am_buf_adds(b, i ? ",\n  " : "\n  ");
		json_domain(e->sorted[i], b);
	}
	am_buf_adds(b, e->nsorted ? "\n]}\n" : "]}\n");
}
