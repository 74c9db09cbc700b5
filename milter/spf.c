/* spf.c - placeholder, being written. */
#include "config.h"
typedef int am_spf_placeholder;
