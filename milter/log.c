/* log.c - placeholder, being written. */
#include "config.h"
typedef int am_log_placeholder;
