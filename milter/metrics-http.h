/*
 * metrics-http.h - the MetricsListen endpoint: GET /metrics over HTTP.
 *
 * Owns: the listening socket bound to MetricsListen's address only, and a
 * libmicrohttpd daemon (its own polling thread, at most
 * AM_METRICS_HTTP_CONNECTIONS connections, each closed after
 * AM_METRICS_HTTP_TIMEOUT idle seconds) answering GET or HEAD /metrics
 * with am_metrics_render() (text/plain; version=0.0.4), 404 for any other
 * path and 405 for any other method.  No HTTP is parsed here.
 *
 * Errors: am_metrics_http_start() returns NULL with the reason in err
 * (socket, bind, listen or libmicrohttpd failing); the caller logs it
 * and stops start-up.  libmicrohttpd's own messages at run time (a
 * connection it drops) are logged at LOG_NOTICE.
 *
 * Threads: start and stop on the main thread.  libmicrohttpd's thread
 * inherits the caller's signal mask: start it with the stop signals
 * blocked (main.c).  Requests are answered on that thread; rendering
 * only reads the registry's atomics.
 */
#ifndef AM_METRICS_HTTP_H
#define AM_METRICS_HTTP_H

#include <stddef.h>

#include "util/hostport.h"

#define AM_METRICS_HTTP_CONNECTIONS	16	/* scrapers served at once */
#define AM_METRICS_HTTP_TIMEOUT		10	/* seconds a connection may idle */

struct am_metrics_http;

/* Bind addr (text: MetricsListen as written, for messages) and start serving. */
struct am_metrics_http *am_metrics_http_start(const struct am_hostport *addr, const char *text,
	    char *err, size_t errlen);
/* Stop serving and close the socket; NULL is a no-op. */
void	am_metrics_http_stop(struct am_metrics_http *);

#endif
