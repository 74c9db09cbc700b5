/* milter.c - placeholder, being written. */
#include "config.h"
typedef int am_milter_placeholder;
