/*
 * transport.h - how the MTA's milter connections reach the session layer.
 *
 * Two transports serve the same sessions (session.h): our own milter
 * protocol engine (transport-native.c, the default: a thread per MTA
 * connection reading whole batches of pipelined commands) and libmilter
 * (transport-libmilter.c).
 * MilterEngine in the configuration picks one; main.c drives it through
 * this table and knows nothing else about either.
 *
 * Both admit MTA connections through connlimit.h: one over the cap is
 * closed at once (native: at accept; libmilter: at negotiation).
 *
 * Errors: open() returns false with err; run() returns non-zero when the
 * transport itself failed.  Trouble with one MTA connection is logged by
 * the transport (am_log) and never ends the others.
 *
 * Threads: open() on the main thread at start-up (as root); run() on the
 * thread main.c starts for it, until stop(), which any thread may call;
 * inflight() after stop().
 */
#ifndef AM_TRANSPORT_H
#define AM_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "policy/conf.h"
#include "policy/pipeline.h"

struct am_transport {
	const char *name;
	/* Open the listening socket (as root, before dropping privileges). */
	bool	(*open)(const struct am_conf *, char *err, size_t errlen);
	/*
	 * Serve connections over the pipeline until stop(); 0 on a clean
	 * stop.  max_connections: the cap connlimit.c chose (it counts them).
	 */
	int	(*run)(am_pipeline *, unsigned max_connections);
	/* Stop accepting; safe from any thread. */
	void	(*stop)(void);
	/*
	 * Work that may still touch the pipeline after stop(): commands being
	 * handled (libmilter) or connection threads not yet gone (native:
	 * stop() shuts down the idle ones, busy ones finish their batch).
	 */
	unsigned (*inflight)(void);
	const char *inflight_what;	/* what inflight() counts, for the log */
};

extern const struct am_transport am_transport_native;
extern const struct am_transport am_transport_libmilter;

#endif
