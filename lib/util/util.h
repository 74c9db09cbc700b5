/*
 * util.h - small, bounded string and memory helpers shared by all modules.
 *
 * Owns: allocation that never returns NULL (am_x*), bounded copies, the
 * growing string (struct am_buf), ASCII case handling of domain names,
 * UTF-8 sequence checks.
 *
 * Errors: running out of memory, or a size that overflows, logs "out of
 * memory" once (am_log_fixed, LOG_CRIT) and aborts; nothing else fails.
 *
 * Threads: any; no shared state (an am_buf belongs to its caller).
 */
#ifndef AM_UTIL_H
#define AM_UTIL_H

#include <stdbool.h>
#include <stddef.h>

void	*am_xmalloc(size_t);
void	*am_xcalloc(size_t, size_t);
void	*am_xreallocarray(void *, size_t, size_t);
char	*am_xstrdup(const char *);
char	*am_xstrndup(const char *, size_t);

/* Copy with truncation; returns strlen(src) like strlcpy(3). */
size_t	am_strlcpy(char *dst, const char *src, size_t size);
size_t	am_strlcat(char *dst, const char *src, size_t size);
/* Lower-case ASCII in place; returns s. */
char	*am_lowercase(char *s);
/* Trim leading/trailing spaces and tabs in place; returns the start. */
char	*am_trim(char *s);
/* Remove one trailing dot from a domain name, lower-case it. */
void	am_domain_normalize(char *d);
/* true when d equals parent or ends with "." parent (ASCII, case-insensitive). */
bool	am_domain_is_under(const char *d, const char *parent);
/*
 * true for a bare local@domain safe on a command line and in a header
 * field: at most 254 octets, one '@', a local part of printable ASCII
 * without space, quotes, brackets, commas or a leading '-', a domain of
 * host-name characters with a dot and no empty label.
 */
bool	am_mailbox_is_plain(const char *v);

/* Length (1-4) of the valid UTF-8 sequence at p, 0 if invalid or cut short. */
size_t	am_utf8_seqlen(const unsigned char *p, size_t avail);

/* A growing string for renderers; never fails (out of memory is fatal). */
struct am_buf {
	char	*data;
	size_t	len;
	size_t	cap;
};

void	am_buf_init(struct am_buf *);
void	am_buf_free(struct am_buf *);
void	am_buf_reset(struct am_buf *);
void	am_buf_add(struct am_buf *, const char *s, size_t len);
void	am_buf_adds(struct am_buf *, const char *s);
void	am_buf_addc(struct am_buf *, char c);
/* HTML/XML text or attribute value: & < > " ' escaped, control bytes as U+FFFD. */
void	am_buf_add_markup(struct am_buf *, const char *s);
void	am_buf_printf(struct am_buf *, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
