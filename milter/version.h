/* version.h - placeholder */
