/*
 * mconn.h - one MTA connection's milter conversation, without any I/O.
 *
 * Owns: what the native engine keeps per MTA connection besides its
 * socket: the input buffer (what the MTA sent, complete packets and the
 * start of the next), the negotiated flags, the queue id of the message
 * in progress, the session (session.h), and the replies of one batch.
 * transport-native.c reads into am_mconn_space(), hands the bytes to
 * am_mconn_feed(), which handles every complete packet, and writes what
 * am_mconn_out() holds; the fuzzer (tests/fuzz/fuzz_mserver.c) drives
 * the same calls over a memory stream.
 *
 * Memory: the input buffer starts at AM_MCONN_INPUT_START bytes and
 * grows to fit a larger packet (at most AM_MPROTO_MAX_PACKET) only
 * while the process-wide growth budget AM_MCONN_GROWTH_BUDGET allows;
 * it is cut back when the message ends (end of message, abort, QUIT_NC)
 * or the connection does (am_mconn_end), and so is an output buffer left
 * large by a batch.  So an idle connection costs AM_MCONN_INPUT_START,
 * and all am_mconns together (the native engine keeps one per thread:
 * its connections plus those waiting in accept) at most their number x
 * AM_MCONN_INPUT_START + the budget, however the packets are sized or
 * cut short.  Only the queue id of the macro packets is kept.
 *
 * Errors: a protocol error, a negotiation the MTA cannot satisfy, or a
 * packet the budget cannot hold end the conversation: am_mconn_feed()
 * logs it (am_log: LOG_WARNING, LOG_ERR for the negotiation; the
 * exhausted budget once per minute) and returns AM_MCONN_CLOSE, with any
 * replies of the batch still in am_mconn_out().  Out of memory aborts.
 *
 * Threads: one am_mconn per connection at a time, used by one thread at a time;
 * the growth budget is an atomic counter any thread may draw on.
 */
#ifndef AM_MCONN_H
#define AM_MCONN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "policy/pipeline.h"

/* An idle connection's input buffer: many pipelined commands fit. */
#define AM_MCONN_INPUT_START	(16 * 1024)
/* Input beyond AM_MCONN_INPUT_START, all connections together. */
#define AM_MCONN_GROWTH_BUDGET	((size_t)64 * 1024 * 1024)

typedef struct am_mconn am_mconn;

enum am_mconn_status {
	AM_MCONN_OPEN,			/* go on reading */
	AM_MCONN_CLOSE			/* QUIT, or an error (logged): write the replies, close */
};

/* peer: how log lines name the connection ("127.0.0.1:4711", "the unix socket"). */
am_mconn *am_mconn_new(am_pipeline *, const char *peer);
void	am_mconn_free(am_mconn *);
/*
 * One am_mconn serves one connection after another (the native engine
 * keeps one per thread: no allocation per connection).  begin: the next
 * connection's peer address, made into text only if a log line names it;
 * end: the session freed, the buffers back to their start, ready for the
 * next begin.
 */
void	am_mconn_begin(am_mconn *, const struct sockaddr_storage *peer);
void	am_mconn_end(am_mconn *);
/* The text log lines name the connection by. */
const char *am_mconn_peer(am_mconn *);
/* Where the MTA's next bytes go, and how many fit (at least one). */
char	*am_mconn_space(am_mconn *, size_t *room);
/* n bytes were read into the space: handle every complete packet. */
enum am_mconn_status am_mconn_feed(am_mconn *, size_t n);
/* The replies of the batch (len 0: none); am_mconn_sent() once written. */
const char *am_mconn_out(const am_mconn *, size_t *len);
void	am_mconn_sent(am_mconn *);

/* Bytes of the growth budget in use now (tests). */
size_t	am_mconn_growth_used(void);
/* The input buffer's size now (tests). */
size_t	am_mconn_input_capacity(const am_mconn *);

#endif
