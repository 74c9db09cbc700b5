/* config.c - placeholder, being written. */
#include "config.h"
typedef int am_config_placeholder;
