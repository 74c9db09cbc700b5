/*
 * metrics-http.c - GET /metrics with libmicrohttpd (metrics-http.h).
 *
 * The socket is made and bound here rather than by libmicrohttpd so that
 * a failure names its cause (EADDRINUSE, EADDRNOTAVAIL, EACCES) and the
 * address; libmicrohttpd then only accepts on it.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>

/* Utility library. */
#include "util/log.h"
#include "util/metrics.h"
#include "util/util.h"

/* Application-specific. */
#include "metrics-http.h"

#define METRICS_PATH		"/metrics"
#define METRICS_CONTENT_TYPE	"text/plain; version=0.0.4; charset=utf-8"

struct am_metrics_http {
	struct MHD_Daemon *daemon;
	int	fd;
};

/* libmicrohttpd's run-time complaints: rare, worth a line each. */
static void
mhd_logger(void *cls, const char *fmt, va_list ap)
{
	char line[512];

	(void)cls;
	vsnprintf(line, sizeof(line), fmt, ap);
	line[strcspn(line, "\n")] = '\0';
	am_log(LOG_NOTICE, "metrics endpoint: %s", line);
}

/* A short fixed body with status; MHD_NO (connection closed) if out of memory. */
static enum MHD_Result
answer_text(struct MHD_Connection *conn, unsigned status, const char *body, bool allow)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_PERSISTENT);
	if (r == NULL)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
	if (allow)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	ret = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result
answer_metrics(struct MHD_Connection *conn)
{
	struct MHD_Response *r;
	struct am_buf out;
	enum MHD_Result ret;

	am_buf_init(&out);
	am_metrics_render(&out);
	r = MHD_create_response_from_buffer(out.len, out.data, MHD_RESPMEM_MUST_COPY);
	am_buf_free(&out);
	if (r == NULL)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, METRICS_CONTENT_TYPE);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	ret = MHD_queue_response(conn, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ret;
}

/*
 * Called by libmicrohttpd once the request line and headers are read
 * (a request body, if any, is never read: the answer is queued at once
 * and libmicrohttpd closes the connection after it).
 */
static enum MHD_Result
answer(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
    const char *version, const char *upload_data, size_t *upload_data_size, void **req_cls)
{
	bool get = strcmp(method, MHD_HTTP_METHOD_GET) == 0 || strcmp(method, MHD_HTTP_METHOD_HEAD) == 0;

	(void)cls; (void)version; (void)upload_data; (void)upload_data_size; (void)req_cls;
	if (strcmp(url, METRICS_PATH) != 0)
		return answer_text(conn, MHD_HTTP_NOT_FOUND, "not found: the metrics are at " METRICS_PATH "\n",
		    false);
	if (!get)
		return answer_text(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed: GET or HEAD\n", true);
	return answer_metrics(conn);
}

/* The listening socket on addr only; -1 with err. */
static int
bind_socket(const struct am_hostport *addr, const char *text, char *err, size_t errlen)
{
	int fd, on = 1;
	int family = addr->addr.ss_family;

	if ((fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) < 0) {
		snprintf(err, errlen, "MetricsListen %s: socket: %s", text, strerror(errno));
		return -1;
	}
	/* A restart must not wait out TIME_WAIT of the last scrape. */
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	/* [::]:PORT means IPv6 only: bound to that address, nothing more. */
	if (family == AF_INET6)
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
	if (bind(fd, (const struct sockaddr *)&addr->addr, addr->addrlen) != 0) {
		snprintf(err, errlen, "MetricsListen %s: cannot bind: %s", text, strerror(errno));
		close(fd);
		return -1;
	}
	if (listen(fd, AM_METRICS_HTTP_CONNECTIONS) != 0) {
		snprintf(err, errlen, "MetricsListen %s: listen: %s", text, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

struct am_metrics_http *
am_metrics_http_start(const struct am_hostport *addr, const char *text, char *err, size_t errlen)
{
	struct am_metrics_http *h;
	int fd;

	if ((fd = bind_socket(addr, text, err, errlen)) < 0)
		return NULL;
	h = am_xcalloc(1, sizeof(*h));
	h->fd = fd;
	h->daemon = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG |
	    (addr->addr.ss_family == AF_INET6 ? MHD_USE_IPv6 : 0),
	    0, NULL, NULL, answer, NULL,
	    /* First, or libmicrohttpd prints its complaints on stderr. */
	    MHD_OPTION_EXTERNAL_LOGGER, mhd_logger, NULL,
	    MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned)AM_METRICS_HTTP_CONNECTIONS,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)AM_METRICS_HTTP_TIMEOUT,
	    MHD_OPTION_END);
	if (h->daemon == NULL) {
		snprintf(err, errlen, "MetricsListen %s: libmicrohttpd did not start", text);
		close(fd);
		free(h);
		return NULL;
	}
	return h;
}

void
am_metrics_http_stop(struct am_metrics_http *h)
{
	if (h == NULL)
		return;
	/* MHD_stop_daemon closes the listening socket it was given. */
	MHD_stop_daemon(h->daemon);
	free(h);
}
