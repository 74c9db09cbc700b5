/*
 * metrics-verdict.c - one message's verdict into the metrics registry.
 *
 * Owns: the verdict-to-label mapping (see metrics-verdict.h).  Every label
 * value comes from a closed set: result and policy names, algorithm names
 * the registry lists, key-size buckets, hint names, SES regions from a
 * fixed list; anything else is "other".  Never a domain or an address.
 *
 * Errors: none.  Threads: any.
 */
#include "config.h"

#include <string.h>

#include "util/metrics.h"
#include "policy/metrics-verdict.h"
#include "policy/ses.h"

const char *
am_metrics_key_size(const char *algorithm, unsigned keybits)
{
	if (algorithm != NULL && strncmp(algorithm, "ed25519", 7) == 0)
		return "ed25519";
	if (keybits == 0)
		return "other";
	if (keybits < 1024)
		return "<1024";
	if (keybits == 1024 || keybits == 2048 || keybits == 4096)
		return keybits == 1024 ? "1024" : keybits == 2048 ? "2048" : "4096";
	return "other";
}

static void
count_dkim(const struct am_dkim_verdict *d)
{
	for (size_t i = 0; i < d->count && i < AM_DKIM_REPORT_MAX; i++) {
		const struct am_dkim_sig *s = &d->sig[i];

		am_metrics_inc(AM_MET_DKIM,
		    am_metrics_label(AM_MET_DKIM, 0, am_dkim_result_name(s->result)),
		    am_metrics_label(AM_MET_DKIM, 1, s->algorithm),
		    am_metrics_label(AM_MET_DKIM, 2, am_metrics_key_size(s->algorithm, s->keybits)));
	}
}

static void
count_ses(const struct am_ses_verdict *s)
{
	if (!s->is_ses)
		return;
	am_metrics_inc(AM_MET_SES, s->default_mail_from ? 0 : 1,
	    am_metrics_label(AM_MET_SES, 1, s->region[0] != '\0' ? s->region : "unknown"), 0);
}

void
am_metrics_count_verdict(const struct am_verdict *v, double verify_seconds)
{
	if (!am_metrics_on())
		return;
	am_metrics_inc(AM_MET_MESSAGES,
	    am_metrics_label(AM_MET_MESSAGES, 0, am_dmarc_result_name(v->dmarc.result)),
	    am_metrics_label(AM_MET_MESSAGES, 1, am_dmarc_policy_name(v->dmarc.disposition)), 0);
	am_metrics_count1(AM_MET_SPF, am_metrics_label(AM_MET_SPF, 0, am_spf_result_name(v->spf.result)));
	count_dkim(&v->dkim);
	for (unsigned h = 0; h < AM_HINT_COUNT; h++)
		if (v->hints & (1u << h))
			am_metrics_count1(AM_MET_HINTS,
			    am_metrics_label(AM_MET_HINTS, 0, am_hint_name((enum am_hint)h)));
	count_ses(&v->ses);
	am_metrics_observe(AM_MET_VERIFY_SECONDS, verify_seconds);
}
