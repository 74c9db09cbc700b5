/* dmarc.c - placeholder, being written. */
#include "config.h"
typedef int am_dmarc_placeholder;
