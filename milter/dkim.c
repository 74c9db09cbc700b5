/* dkim.c - placeholder, being written. */
#include "config.h"
typedef int am_dkim_placeholder;
