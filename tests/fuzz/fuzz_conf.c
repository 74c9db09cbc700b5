/*
 * fuzz_conf.c - libFuzzer target: the configuration file parser.
 *
 * The input is a whole config file, parsed by am_conf_parse_text() (the
 * line reader of am_conf_load() over a memory stream), so every key, its
 * validation and every error path is reached.  Invariants: success leaves
 * no message and settings inside their documented ranges; failure always
 * names a line; nothing leaks (am_conf_free releases all).
 */
#include "config.h"

#include <string.h>

#include "policy/conf.h"
#include "fuzz.h"

static void
check_settings(const struct am_conf *c)
{
	const char *p;

	FUZZ_ASSERT(c->socket != NULL && c->authserv_id != NULL && c->psl_path != NULL);
	FUZZ_ASSERT(c->ignore_hosts_text != NULL && c->syslog_facility_name != NULL);
	FUZZ_ASSERT(c->dns_timeout >= 1 && c->dns_timeout <= 120);
	FUZZ_ASSERT(c->max_signatures >= 1 && c->max_signatures <= 50);
	FUZZ_ASSERT(c->max_connections <= AM_CONF_MAX_CONNECTIONS);	/* 0: auto */
	FUZZ_ASSERT((c->socket_mode & 02) == 0 && c->socket_mode <= 0777);
	FUZZ_ASSERT((c->alignment_log_mode & 02) == 0 && c->alignment_log_mode <= 0777);
	FUZZ_ASSERT(c->psl_path[0] == '/');
	FUZZ_ASSERT(c->alignment_log == NULL || c->alignment_log[0] == '/');
	FUZZ_ASSERT(c->pid_file == NULL || c->pid_file[0] == '/');
	/* The authserv-id goes into every header we write: token characters only. */
	FUZZ_ASSERT(c->authserv_id[0] != '\0' && strlen(c->authserv_id) <= 255);
	for (p = c->authserv_id; *p; p++)
		FUZZ_ASSERT(*p > ' ' && *p < 0x7f && *p != ';' && *p != '(' && *p != '"');
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct am_conf c;
	char err[4096];
	bool ok;

	am_conf_defaults(&c);
	memset(err, 'X', sizeof(err));
	ok = am_conf_parse_text(&c, (const char *)data, size, "fuzz.conf", err, sizeof(err));
	FUZZ_ASSERT(memchr(err, '\0', sizeof(err)) != NULL);
	if (ok)
		FUZZ_ASSERT(err[0] == '\0');
	else
		FUZZ_ASSERT(strncmp(err, "fuzz.conf:", 10) == 0);
	/* Settings stay valid even after a failed parse: a bad line changes nothing. */
	check_settings(&c);
	am_conf_free(&c);
	return 0;
}
