/* ids.h - syntax of identifiers and free-text fields (PROTOCOL.md, "Identifiers
 * and values"). */
#ifndef POINTCLEAR_IDS_H
#define POINTCLEAR_IDS_H

#include <stdbool.h>

#define PC_ID_MAX 64
#define PC_REASON_MAX 128

/* 1..64 bytes of A-Z a-z 0-9 . _ : -  (NULL is not valid). */
bool pc_id_valid(const char *s);

/* NULL or empty is valid; else at most 128 bytes, no control characters. */
bool pc_reason_valid(const char *s);

/* Three upper-case ASCII letters. */
bool pc_currency_valid(const char *s);

#endif
