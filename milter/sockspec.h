/* sockspec.h - placeholder */
