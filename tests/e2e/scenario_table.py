#!/usr/bin/python3
"""scenario_table.py - what each end-to-end scenario sends and expects.

Owns: the scenario table of scenarios.py (which imports it; run that, not
this): per scenario the client, HELO, envelope, From, DKIM signatures and
tampering (send, for send.py), and what alignmilter's contract says must
come out (expect, asserted by scenarios.py's check_* functions); which
scenarios run in the RejectFailures variant, with what overrides.  The
DNS they rely on is zones.py's.

The RFC 9989 scenarios ("bis-*") live in zone bis.example, which has no
DMARC record of its own: one at _dmarc.bis.example would become the
organizational domain of every name below it (RFC 9989 (draft-41) section
4.10.2, step 3) and be the record found for all of them (4.10.1).  The
section numbers are draft-ietf-dmarc-dmarcbis-41's, which may differ from
the RFC's.

The malformed-From scenarios ("spoof-*", "from-undisclosed", issue 16)
spoof bank.example.com (p=reject) from attacker.example.

No errors, no threads: data only.
"""
SES_HINTS = {"ses-default-mail-from", "ses-no-easy-dkim"}


def fid(region):
    return "1.%s.ZHVtbXlmZWVkYmFja2lk=:AmazonSES" % region


# --------------------------------------------------------------- scenarios
#
# send: arguments for send.py.  expect:
#   reply     "250" (default) or e.g. "550 5.7.1": prefix of the reply
#   held      True: accepted into Postfix's hold queue, not delivered
#   spf       (result, "mailfrom"|"helo", domain)
#   dkim      [(result, d, s, alg)] in any order; [] means dkim=none
#   reply_text    a text the end-of-DATA reply must hold
#   dmarc     (result, p or None, dis or None, header.from domain; "": no header.from)
#   dmarc_comment a text one of the dmarc result's comments must hold
#   policy_dmarc  the A-R property policy.dmarc (RFC 9989 (draft-41) 9.1):
#             its value, or None: absent
#   log       dict of alignment-log expectations (see check_log); its
#             author_domains, when stated, is the record's list, else the
#             record must lack the key (one clean From domain)
# python3-dkim's view of the delivered copy is derived from dkim.
SCENARIOS = [
    dict(name="ses-default",
         what="SES, default MAIL FROM, Easy DKIM, p=none",
         send=dict(addr="192.0.2.10", helo="a8-10.smtp-out.amazonses.com",
                   mail_from="0100018c4a1b2c3d-11111111-2222-3333-4444-555555555555-000000@us-east-1.amazonses.com",
                   from_="Shop <news@ses-default.example.com>", feedback_id=fid("us-east-1"), html=True,
                   sign=["ses-default.example.com:sesdefault1tok", "amazonses.com:224i4yxa"]),
         expect=dict(spf=("pass", "mailfrom", "us-east-1.amazonses.com"),
                     dkim=[("pass", "ses-default.example.com", "sesdefault1tok", "rsa-sha256"),
                           ("pass", "amazonses.com", "224i4yxa", "rsa-sha256")],
                     dmarc=("pass", "none", "none", "ses-default.example.com"),
                     log=dict(spf_aligned=False, dkim_aligned={"ses-default.example.com": True, "amazonses.com": False},
                              policy="none", disposition="none", adkim="r", aspf="r",
                              ses=("us-east-1", "default"),
                              hints_exact=["ses-default-mail-from", "dmarc-single-mechanism", "dmarc-policy-none"]))),
    dict(name="ses-custom",
         what="SES, custom MAIL FROM mail.<domain>, Easy DKIM, p=quarantine",
         send=dict(addr="192.0.2.11", helo="a8-11.smtp-out.amazonses.com",
                   mail_from="0100018c4a1b2c3d-aaaa-000000@mail.ses-custom.example.com",
                   from_="Orders <orders@ses-custom.example.com>", feedback_id=fid("us-east-1"), html=True,
                   sign=["ses-custom.example.com:sescustom1tok", "amazonses.com:224i4yxa"]),
         expect=dict(spf=("pass", "mailfrom", "mail.ses-custom.example.com"),
                     dkim=[("pass", "ses-custom.example.com", "sescustom1tok", "rsa-sha256"),
                           ("pass", "amazonses.com", "224i4yxa", "rsa-sha256")],
                     dmarc=("pass", "quarantine", "none", "ses-custom.example.com"),
                     policy_dmarc="quarantine",
                     log=dict(spf_aligned=True, dkim_aligned={"ses-custom.example.com": True, "amazonses.com": False},
                              policy="quarantine", disposition="none",
                              policy_tag="p", testing=False, psd="u", discovery="treewalk",
                              published={"p": "quarantine"}, record_domain="ses-custom.example.com",
                              org_domain="ses-custom.example.com",
                              ses=("us-east-1", "custom"), hints_exact=[]))),
    dict(name="strict",
         what="SES, custom MAIL FROM bounce.<domain> under aspf=s, p=reject",
         send=dict(addr="198.51.100.20", helo="a7-20.smtp-out.eu-west-1.amazonses.com",
                   mail_from="0102018c-bbbb-000000@bounce.strict.example.com",
                   from_="Alerts <alerts@strict.example.com>", feedback_id=fid("eu-west-1"),
                   sign=["strict.example.com:strict1tok", "amazonses.com:224i4yxa"]),
         expect=dict(spf=("pass", "mailfrom", "bounce.strict.example.com"),
                     dkim=[("pass", "strict.example.com", "strict1tok", "rsa-sha256"),
                           ("pass", "amazonses.com", "224i4yxa", "rsa-sha256")],
                     dmarc=("pass", "reject", "none", "strict.example.com"),
                     log=dict(spf_aligned=False, dkim_aligned={"strict.example.com": True},
                              policy="reject", disposition="none", aspf="s",
                              ses=("eu-west-1", "custom"),
                              hints_exact=["aspf-strict-subdomain", "dmarc-single-mechanism"]))),
    dict(name="strict-broken",
         what="as strict, body modified after signing: DMARC fails under p=reject",
         send=dict(addr="198.51.100.20", helo="a7-20.smtp-out.eu-west-1.amazonses.com",
                   mail_from="0102018c-cccc-000000@bounce.strict.example.com",
                   from_="Alerts <alerts@strict.example.com>", feedback_id=fid("eu-west-1"),
                   sign=["strict.example.com:strict1tok", "amazonses.com:224i4yxa"], tamper=True),
         expect=dict(spf=("pass", "mailfrom", "bounce.strict.example.com"),
                     dkim=[("fail", "strict.example.com", "strict1tok", "rsa-sha256"),
                           ("fail", "amazonses.com", "224i4yxa", "rsa-sha256")],
                     dmarc=("fail", "reject", "reject", "strict.example.com"),
                     # aligned means identifier alignment: the broken Easy DKIM
                     # signature still aligns (RFC 7489 3.1.1), it failed.
                     log=dict(spf_aligned=False, dkim_aligned={"strict.example.com": True, "amazonses.com": False},
                              policy="reject", disposition="reject", aspf="s",
                              ses=("eu-west-1", "custom"),
                              hints_include=["aspf-strict-subdomain", "dkim-aligned-signature-failed"],
                              hints_exclude=["dmarc-single-mechanism", "dmarc-policy-none", "ses-no-easy-dkim"])),
         variants=("normal",)),
    dict(name="tamper",
         what="own signer, forwarded: body modified, SPF passes for the forwarder only, p=reject",
         send=dict(addr="203.0.113.30", helo="mail.forwarder.example.org",
                   mail_from="list-bounces@forwarder.example.org",
                   from_="Billing <billing@tamper.example.com>",
                   sign=["tamper.example.com:sel1"], tamper=True, html=True),
         expect=dict(spf=("pass", "mailfrom", "forwarder.example.org"),
                     dkim=[("fail", "tamper.example.com", "sel1", "rsa-sha256")],
                     dmarc=("fail", "reject", "reject", "tamper.example.com"),
                     log=dict(spf_aligned=False, dkim_aligned={"tamper.example.com": True},
                              policy="reject", disposition="reject", ses=None,
                              hints_exact=["dkim-aligned-signature-failed"])),
         reject=dict(reply="550 5.7.1")),
    dict(name="spf-fail-aligned",
         what="own domain as MAIL FROM from a server its SPF does not list; DKIM intact, p=reject",
         send=dict(addr="198.51.100.77", helo="mail.ed.example.org",
                   mail_from="me@ed.example.org", from_="Ed <me@ed.example.org>",
                   sign=["ed.example.org:ed1"]),
         expect=dict(spf=("fail", "mailfrom", "ed.example.org"),
                     dkim=[("pass", "ed.example.org", "ed1", "ed25519-sha256")],
                     dmarc=("pass", "reject", "none", "ed.example.org"),
                     # SPF failed for an aligned domain: aligned, fail; DMARC passes on DKIM.
                     log=dict(spf_aligned=True, dkim_aligned={"ed.example.org": True},
                              policy="reject", disposition="none", ses=None,
                              hints_exact=["dmarc-single-mechanism"]))),
    dict(name="noeasydkim",
         what="SES without Easy DKIM: only the amazonses.com signature, p=none",
         send=dict(addr="192.0.2.12", helo="a8-12.smtp-out.amazonses.com",
                   mail_from="0100018c-dddd-000000@us-east-1.amazonses.com",
                   from_="hello@noeasydkim.example.com", feedback_id=fid("us-east-1"),
                   sign=["amazonses.com:224i4yxa"]),
         expect=dict(spf=("pass", "mailfrom", "us-east-1.amazonses.com"),
                     dkim=[("pass", "amazonses.com", "224i4yxa", "rsa-sha256")],
                     dmarc=("fail", "none", "none", "noeasydkim.example.com"),
                     log=dict(spf_aligned=False, dkim_aligned={"amazonses.com": False},
                              policy="none", disposition="none", ses=("us-east-1", "default"),
                              hints_exact=["ses-default-mail-from", "ses-no-easy-dkim", "dmarc-policy-none"]))),
    dict(name="dupsuffix",
         what="Easy DKIM CNAME published at <sel>._domainkey.<d>.<d>",
         send=dict(addr="192.0.2.13", helo="a8-13.smtp-out.amazonses.com",
                   mail_from="0100018c-eeee-000000@us-east-1.amazonses.com",
                   from_="team@dupsuffix.example.com", feedback_id=fid("us-east-1"),
                   sign=["dupsuffix.example.com:dupsuffix1tok", "amazonses.com:224i4yxa"]),
         expect=dict(spf=("pass", "mailfrom", "us-east-1.amazonses.com"),
                     dkim=[("permerror", "dupsuffix.example.com", "dupsuffix1tok", "rsa-sha256"),
                           ("pass", "amazonses.com", "224i4yxa", "rsa-sha256")],
                     dmarc=("fail", "none", "none", "dupsuffix.example.com"),
                     # ses-no-easy-dkim is left open: Easy DKIM was set up, only mis-published.
                     # The signature aligns but is a permerror (no key), not a broken one.
                     log=dict(spf_aligned=False, dkim_aligned={"dupsuffix.example.com": True, "amazonses.com": False},
                              policy="none", disposition="none", ses=("us-east-1", "default"),
                              hints_include=["ses-default-mail-from", "dkim-key-not-found",
                                             "dkim-cname-duplicated-suffix", "dmarc-policy-none"],
                              hints_exclude=["dmarc-single-mechanism", "dkim-aligned-signature-failed"]))),
    dict(name="ed25519-ipv6",
         what="ed25519-sha256 signature, client 2001:db8:ed::25 via ::1, p=reject",
         send=dict(host="::1", addr="2001:db8:ed::25", helo="mail.ed.example.org",
                   mail_from="me@ed.example.org", from_="Ed <me@ed.example.org>",
                   sign=["ed.example.org:ed1"]),
         expect=dict(spf=("pass", "mailfrom", "ed.example.org"),
                     dkim=[("pass", "ed.example.org", "ed1", "ed25519-sha256")],
                     dmarc=("pass", "reject", "none", "ed.example.org"),
                     log=dict(client_ip="2001:db8:ed::25", helo="mail.ed.example.org",
                              spf_aligned=True, dkim_aligned={"ed.example.org": True},
                              policy="reject", disposition="none", ses=None, hints_exact=[]))),
    dict(name="nodmarc",
         what="no DMARC record at the domain nor its organizational domain",
         send=dict(addr="203.0.113.31", helo="mail.nodmarc.example.org",
                   mail_from="a@nodmarc.example.org", from_="a@nodmarc.example.org",
                   sign=["nodmarc.example.org:sel1"]),
         expect=dict(spf=("pass", "mailfrom", "nodmarc.example.org"),
                     dkim=[("pass", "nodmarc.example.org", "sel1", "rsa-sha256")],
                     dmarc=("none", None, None, "nodmarc.example.org"),
                     policy_dmarc=None,
                     # RFC 9989 (draft-41) 4.10.2: a walk without records makes
                     # the domain its own organizational domain.
                     log=dict(spf_aligned=True, dkim_aligned={"nodmarc.example.org": True},
                              org_domain="nodmarc.example.org",
                              absent=["record_domain", "policy_tag", "testing", "psd", "discovery", "published"],
                              ses=None, hints_exact=["dmarc-no-record"]))),
    dict(name="orgdomain",
         what="From sub.example.net: policy from example.net (p=none; sp=reject), unaligned",
         send=dict(addr="203.0.113.32", helo="mail.forwarder.example.org",
                   mail_from="bounce@forwarder.example.org", from_="news@sub.example.net"),
         expect=dict(spf=("pass", "mailfrom", "forwarder.example.org"),
                     dkim=[],
                     dmarc=("fail", "reject", "reject", "sub.example.net"),
                     policy_dmarc="reject",
                     # RFC 9989 (draft-41) 4.10.1: an existing subdomain under
                     # its organizational domain's record gets sp=.
                     log=dict(spf_aligned=False, policy="reject", disposition="reject", ses=None,
                              policy_tag="sp", discovery="treewalk", published={"p": "none", "sp": "reject"},
                              record_domain="example.net", org_domain="example.net",
                              hints_exclude=["dmarc-no-record"] + sorted(SES_HINTS)))),
    dict(name="nullsender",
         what="MAIL FROM:<>: SPF on the HELO name, which aligns with From",
         send=dict(addr="203.0.113.40", helo="mx.null.example.org", mail_from="",
                   from_="Mail Delivery System <MAILER-DAEMON@null.example.org>"),
         expect=dict(spf=("pass", "helo", "mx.null.example.org"),
                     dkim=[],
                     dmarc=("pass", "reject", "none", "null.example.org"),
                     log=dict(mail_from="", spf_aligned=True, policy="reject", disposition="none", ses=None,
                              hints_exact=["dmarc-single-mechanism"]))),
    dict(name="forged-ar",
         what="inbound Authentication-Results forging our authserv-id are removed, others kept",
         send=dict(addr="203.0.113.41", helo="mail.forged.example.org",
                   mail_from="a@forged.example.org", from_="a@forged.example.org",
                   sign=["forged.example.org:sel1"],
                   header=["Authentication-Results: mx.e2e.example;\r\n\tdkim=pass header.d=bank.example.com"],
                   header_after_sign=["Authentication-Results: other.example; spf=pass smtp.mailfrom=other.example",
                                      "Authentication-Results: MX.E2E.Example 1; spf=pass smtp.mailfrom=bank.example.com"]),
         expect=dict(spf=("pass", "mailfrom", "forged.example.org"),
                     dkim=[("pass", "forged.example.org", "sel1", "rsa-sha256")],
                     dmarc=("pass", "none", "none", "forged.example.org"),
                     forged=dict(gone="bank.example.com", kept="other.example"),
                     log=dict(spf_aligned=True, ses=None, hints_include=["dmarc-policy-none"]))),
    # RFC 8601 section 5: only a trusted MTA's fields under our authserv-id
    # survive; passing a client unchecked (IgnoreHosts) is not trusting it.
    dict(name="forged-ar-ignored",
         what="an IgnoreHosts client (127.0.0.1, e.g. webmail) plants dmarc=pass under our authserv-id: removed",
         send=dict(addr="127.0.0.1", helo="webmail.e2e.example",
                   mail_from="a@forged.example.org", from_="a@forged.example.org",
                   header=["Authentication-Results: mx.e2e.example; dmarc=pass header.from=bank.example.com",
                           "Authentication-Results: mx.e2e.example.; spf=pass smtp.mailfrom=bank.example.com",
                           "Authentication-Results: mx.e2e.example/1; dkim=pass header.d=bank.example.com",
                           "Authentication-Results: (unterminated mx.e2e.example; dmarc=pass header.from=bank.example.com",
                           "Authentication-Results: other.example; spf=pass smtp.mailfrom=other.example"]),
         expect=dict(unchecked=True, forged=dict(gone="bank.example.com", kept="other.example")),
         offline=False),
    dict(name="servfail",
         what="_dmarc.<domain> answers SERVFAIL: dmarc=temperror, no org-domain fallback",
         send=dict(addr="203.0.113.33", helo="mail.servfail.example.net",
                   mail_from="a@servfail.example.net", from_="a@servfail.example.net",
                   sign=["servfail.example.net:sel1"]),
         expect=dict(spf=("pass", "mailfrom", "servfail.example.net"),
                     dkim=[("pass", "servfail.example.net", "sel1", "rsa-sha256")],
                     dmarc=("temperror", None, None, "servfail.example.net"),
                     log=dict(ses=None, hints_exclude=["dmarc-no-record", "dmarc-policy-none"]))),
    # RejectFailures yes only:
    dict(name="quarantine",
         what="RejectFailures: DMARC fail under p=quarantine goes to Postfix's hold queue",
         send=dict(addr="203.0.113.34", helo="mail.forwarder.example.org",
                   mail_from="list-bounces@forwarder.example.org",
                   from_="Orders <orders@ses-custom.example.com>",
                   sign=["ses-custom.example.com:sescustom1tok"], tamper=True),
         expect=dict(held=True,
                     spf=("pass", "mailfrom", "forwarder.example.org"),
                     dkim=[("fail", "ses-custom.example.com", "sescustom1tok", "rsa-sha256")],
                     dmarc=("fail", "quarantine", "quarantine", "ses-custom.example.com"),
                     policy_dmarc="quarantine",
                     log=dict(spf_aligned=False, policy="quarantine", disposition="quarantine", testing=False)),
         variants=("reject",)),
]


# ---------------------------------------------------- RFC 9989 (bis.example)
#
# Records (zones.py): _dmarc.np "p=quarantine; sp=none; np=reject",
# _dmarc.testing "p=reject; t=y", _dmarc.psd "p=reject; psd=y",
# _dmarc.n "p=none" and _dmarc.dept.n "p=reject; psd=n",
# _dmarc.rua-only "rua=..." (no p=), _dmarc.no-p "sp=reject" (no p=, no rua).
# Unless said otherwise a message arrives through a forwarder: SPF passes
# for forwarder.example.org only, no DKIM, so DMARC fails.
BIS = "bis.example"
FWD_SPF = ("pass", "mailfrom", "forwarder.example.org")


def forwarded(addr, from_):
    return dict(addr=addr, helo="mail.forwarder.example.org",
                mail_from="bounce@forwarder.example.org", from_=from_)


def bis_log(record_domain, org_domain, published, policy_tag="p", psd="u", testing=False, **kw):
    """A record was found by the tree walk: the keys it puts in the log."""
    return dict(record_domain=record_domain, org_domain=org_domain, published=published,
                policy_tag=policy_tag, psd=psd, testing=testing, discovery="treewalk", ses=None, **kw)


NP_PUBLISHED = {"p": "quarantine", "sp": "none", "np": "reject"}
BIS_SCENARIOS = [
    # 4.7 np, 4.10.1, 3.2.13: a subdomain that does not exist (NXDOMAIN,
    # RFC 8020) under an inherited record gets np=.
    dict(name="bis-np",
         what="RFC 9989 np=: From ghost.np.bis.example, a name that does not exist, under p=quarantine; "
              "sp=none; np=reject",
         send=forwarded("203.0.113.50", "Support <support@ghost.np.%s>" % BIS),
         expect=dict(spf=FWD_SPF, dkim=[],
                     dmarc=("fail", "reject", "reject", "ghost.np." + BIS),
                     policy_dmarc="reject",
                     log=bis_log("np." + BIS, "np." + BIS, NP_PUBLISHED, policy_tag="np",
                                 spf_aligned=False, policy="reject", disposition="reject")),
         reject=dict(reply="550 5.7.1")),
    # 4.10.1: an existing subdomain (it has an A record) gets sp=, not np=.
    dict(name="bis-np-existing",
         what="RFC 9989 sp=: From www.np.bis.example, which exists, under the same record: sp=none",
         send=forwarded("203.0.113.51", "Web <web@www.np.%s>" % BIS),
         expect=dict(spf=FWD_SPF, dkim=[],
                     dmarc=("fail", "none", "none", "www.np." + BIS),
                     policy_dmarc="none",
                     log=bis_log("np." + BIS, "np." + BIS, NP_PUBLISHED, policy_tag="sp",
                                 spf_aligned=False, policy="none", disposition="none"))),
    # 4.7 t=y: a failing message gets the next lower policy; the A-R
    # comment keeps p= as published, policy.dmarc is the policy after t=
    # (9.1).  RejectFailures therefore holds it instead of rejecting it.
    dict(name="bis-testing",
         what="RFC 9989 t=y: p=reject; t=y fails: disposition quarantine, not reject",
         send=forwarded("203.0.113.52", "Alerts <alerts@testing.%s>" % BIS),
         expect=dict(spf=FWD_SPF, dkim=[],
                     dmarc=("fail", "reject", "quarantine", "testing." + BIS),
                     policy_dmarc="quarantine",
                     log=bis_log("testing." + BIS, "testing." + BIS, {"p": "reject"}, testing=True,
                                 spf_aligned=False, policy="reject", disposition="quarantine")),
         reject=dict(held=True)),
    # 4.10.2 step 2: psd=y on a name other than the walk's start makes the
    # name one label below it the organizational domain, for the author
    # domain and for mail.shop.psd.bis.example alike: they align.  4.10.1:
    # the PSD's record applies to a domain without one of its own.
    dict(name="bis-psd-y",
         what="RFC 9989 psd=y: From shop.psd.bis.example, SPF passes for mail.shop.psd.bis.example: "
              "the same organizational domain",
         send=dict(addr="203.0.113.53", helo="mail.shop.psd." + BIS,
                   mail_from="bounce@mail.shop.psd." + BIS, from_="Shop <orders@shop.psd.%s>" % BIS),
         expect=dict(spf=("pass", "mailfrom", "mail.shop.psd." + BIS), dkim=[],
                     dmarc=("pass", "reject", "none", "shop.psd." + BIS),
                     policy_dmarc="reject",
                     log=bis_log("psd." + BIS, "shop.psd." + BIS, {"p": "reject"}, psd="y",
                                 spf_aligned=True, policy="reject", disposition="none"))),
    # The same walk gives other.psd.bis.example an organizational domain of
    # its own: a sibling's SPF and DKIM passes do not align.  (By a Public
    # Suffix List both would be under bis.example and align.)
    dict(name="bis-psd-y-sibling",
         what="RFC 9989 psd=y: From shop.psd.bis.example, SPF and DKIM pass only for the sibling "
              "other.psd.bis.example: fail",
         send=dict(addr="203.0.113.54", helo="other.psd." + BIS,
                   mail_from="bounce@other.psd." + BIS, from_="Shop <orders@shop.psd.%s>" % BIS,
                   sign=["other.psd.%s:sel1" % BIS]),
         expect=dict(spf=("pass", "mailfrom", "other.psd." + BIS),
                     dkim=[("pass", "other.psd." + BIS, "sel1", "rsa-sha256")],
                     dmarc=("fail", "reject", "reject", "shop.psd." + BIS),
                     policy_dmarc="reject",
                     log=bis_log("psd." + BIS, "shop.psd." + BIS, {"p": "reject"}, psd="y",
                                 spf_aligned=False, dkim_aligned={"other.psd." + BIS: False},
                                 policy="reject", disposition="reject")),
         reject=dict(reply="550 5.7.1")),
    # 4.10.2 step 1: psd=n makes dept.n.bis.example its own organizational
    # domain; n.bis.example's is n.bis.example (its own record, psd=u, the
    # fewest labels): they do not align.  Without psd=n the fewest-labels
    # rule would give dept.n.bis.example n.bis.example too, and by a Public
    # Suffix List both would be under bis.example: aligned either way.
    dict(name="bis-psd-n",
         what="RFC 9989 psd=n: From dept.n.bis.example, SPF and DKIM pass for n.bis.example: "
              "different organizational domains, fail",
         send=dict(addr="203.0.113.55", helo="n." + BIS, mail_from="bounce@n." + BIS,
                   from_="Dept <dept@dept.n.%s>" % BIS, sign=["n.%s:sel1" % BIS]),
         expect=dict(spf=("pass", "mailfrom", "n." + BIS),
                     dkim=[("pass", "n." + BIS, "sel1", "rsa-sha256")],
                     dmarc=("fail", "reject", "reject", "dept.n." + BIS),
                     policy_dmarc="reject",
                     log=bis_log("dept.n." + BIS, "dept.n." + BIS, {"p": "reject"}, psd="n",
                                 spf_aligned=False, dkim_aligned={"n." + BIS: False},
                                 policy="reject", disposition="reject")),
         reject=dict(reply="550 5.7.1")),
    # 4.7 p, 4.10.1: no valid p= but a valid rua: act as p=none.
    dict(name="bis-rua-only",
         what="RFC 9989: a record without p= but with a valid rua= acts as p=none",
         send=forwarded("203.0.113.56", "Info <info@rua-only.%s>" % BIS),
         expect=dict(spf=FWD_SPF, dkim=[],
                     dmarc=("fail", "none", "none", "rua-only." + BIS),
                     policy_dmarc="none",
                     log=bis_log("rua-only." + BIS, "rua-only." + BIS, {"p": "none"},
                                 spf_aligned=False, policy="none", disposition="none"))),
    # 4.10.1: no valid p= and no rua: no DMARC processing, whatever sp= says.
    dict(name="bis-no-p",
         what="RFC 9989: a record without p= and without rua= (but sp=reject): no DMARC processing",
         send=forwarded("203.0.113.57", "Info <info@no-p.%s>" % BIS),
         expect=dict(spf=FWD_SPF, dkim=[],
                     dmarc=("none", None, None, "no-p." + BIS),
                     policy_dmarc=None,
                     # The record was found, and is void.
                     log=dict(spf_aligned=False, policy="none", disposition="none", ses=None,
                              record_domain="no-p." + BIS, discovery="treewalk"))),
]
SCENARIOS += BIS_SCENARIOS


# ------------------------------------------- malformed From (issue 16 item 1)
#
# An attacker sends from its own domain attacker.example (203.0.113.0/24:
# SPF passes and aligns for it, its DKIM key signs, _dmarc.attacker.example
# p=none) a message whose From a mail client shows as bank.example.com
# (_dmarc.bank p=reject), written so the strict RFC 5322 reader refuses it
# or finds more than one author.  RFC 7489 6.6.1 and RFC 9989 (draft-41)
# 11.5 let a receiver evaluate every author domain and apply the strictest
# policy: bank.example.com's fail under p=reject decides, whatever the
# attacker's own domain passes.  Under RejectFailures each is refused with
# 550 5.7.1; without it delivered with dmarc=fail header.from=bank.  The
# log names the author domains (docs/alignment-log.md "author_domains")
# and keeps the deciding one as from_domain, so the aggregate report
# reaches the bank (tools.py).  A From with no readable domain at all is
# refused as malformed (RejectMalformedFrom, on by default) and otherwise
# gets dmarc=permerror without header.from.
BANK = "bank.example.com"
ATTACKER = "attacker.example"
ATTACKER_SPF = ("pass", "mailfrom", ATTACKER)
ATTACKER_DKIM = [("pass", ATTACKER, "sel1", "rsa-sha256")]


def spoof(addr, from_, header=(), sign=True):
    return dict(addr=addr, helo="mail." + ATTACKER, mail_from="bounce@" + ATTACKER, from_=from_,
                header=list(header), sign=["%s:sel1" % ATTACKER] if sign else [])


def spoof_expect(authors, comment, dkim=ATTACKER_DKIM):
    """The bank's p=reject decides: fail, its record, its alignment (none)."""
    return dict(spf=ATTACKER_SPF, dkim=dkim,
                dmarc=("fail", "reject", "reject", BANK), policy_dmarc="reject",
                dmarc_comment=comment,
                log=dict(author_domains=authors, spf_aligned=False,
                         dkim_aligned={ATTACKER: False} if dkim else {},
                         policy="reject", disposition="reject", record_domain=BANK, org_domain=BANK,
                         policy_tag="p", discovery="treewalk", ses=None,
                         hints_include=["from-header-invalid"]))


# RejectFailures: the bank's DMARC reject, its text naming the domain.
SPOOF_REJECT = dict(reply="550 5.7.1", reply_text="DMARC policy of %s (p=reject)" % BANK)

MALFORMED_FROM_SCENARIOS = [
    # RFC 5322 3.4: a display name with "," must be quoted; unquoted, the
    # strict reader sees the mailbox list "PayPal" , "Inc. <...>".
    dict(name="spoof-comma",
         what="malformed From (unquoted comma in the display name) spoofing a p=reject domain",
         send=spoof("203.0.113.60", "PayPal, Inc. <service@%s>" % BANK),
         expect=spoof_expect([BANK], "malformed From: the strictest author domain decides"),
         reject=SPOOF_REJECT),
    # RFC 5322 3.2.2: a comment must be closed.
    dict(name="spoof-comment",
         what="malformed From (unterminated comment) spoofing a p=reject domain",
         send=spoof("203.0.113.61", "<service@%s> (PayPal" % BANK),
         expect=spoof_expect([BANK], "malformed From: the strictest author domain decides"),
         reject=SPOOF_REJECT),
    # Two addresses: the attacker's own passes, the bank's fails and decides.
    dict(name="spoof-two-addresses",
         what="From with the attacker's address and a p=reject domain's",
         send=spoof("203.0.113.62", "a@%s, b@%s" % (ATTACKER, BANK)),
         expect=spoof_expect([ATTACKER, BANK], "several From domains: the strictest decides"),
         reject=SPOOF_REJECT),
    # RFC 5322 3.6: one From field only.  Unsigned: SPF alone passes, aligned
    # with the attacker's field.
    dict(name="spoof-two-fields",
         what="two From fields: the attacker's, then a p=reject domain's",
         send=spoof("203.0.113.63", "a@" + ATTACKER, header=["From: Service <service@%s>" % BANK], sign=False),
         expect=spoof_expect([ATTACKER, BANK], "several From domains: the strictest decides", dkim=[]),
         reject=SPOOF_REJECT),
    # No author domain can be read: nothing to evaluate (RFC 9989 11.5).
    dict(name="from-undisclosed",
         what="From without any address (\"undisclosed\"): no author domain",
         send=spoof("203.0.113.64", "undisclosed", sign=False),
         expect=dict(spf=ATTACKER_SPF, dkim=[],
                     dmarc=("permerror", None, None, ""), policy_dmarc=None,
                     log=dict(author_domains=[], spf_aligned=False, ses=None,
                              absent=["record_domain", "policy_tag", "published"],
                              hints_include=["from-header-invalid"])),
         reject=dict(reply="550 5.7.1", reply_text="Malformed From")),
]
SCENARIOS += MALFORMED_FROM_SCENARIOS


# In the RejectFailures variant: these scenarios, with overrides.
REJECT_VARIANT = ["tamper", "quarantine", "ses-custom", "noeasydkim", "ed25519-ipv6"] + \
    [s["name"] for s in BIS_SCENARIOS] + [s["name"] for s in MALFORMED_FROM_SCENARIOS]
