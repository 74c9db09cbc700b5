/* log.h - placeholder */
