/* version.c - placeholder, being written. */
#include "config.h"
typedef int am_version_placeholder;
