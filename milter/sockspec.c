/* sockspec.c - placeholder, being written. */
#include "config.h"
typedef int am_sockspec_placeholder;
