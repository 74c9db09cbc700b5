/* daemon.h - placeholder */
