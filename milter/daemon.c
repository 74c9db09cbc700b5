/* daemon.c - placeholder, being written. */
#include "config.h"
typedef int am_daemon_placeholder;
