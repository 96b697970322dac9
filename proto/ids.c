/* ids.c - syntax checks for identifiers, free text and currency codes. */
#include "pointclear/ids.h"

#include <string.h>

/* Spelled out rather than isalnum(): the locale must not widen the set. */
static bool id_char(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9') || c == '.' || c == '_' || c == ':' || c == '-';
}

bool pc_id_valid(const char *s)
{
	size_t n;

	if (s == NULL)
		return false;
	for (n = 0; s[n] != '\0'; n++) {
		if (n >= PC_ID_MAX || !id_char((unsigned char)s[n]))
			return false;
	}
	return n >= 1;
}

/* Control characters are C0, DEL, and C1 as UTF-8 writes them (0xC2 0x80-0x9F);
 * whether the rest is well-formed UTF-8 is the decoder's business. */
static bool control_at(const unsigned char *p)
{
	if (p[0] < 0x20 || p[0] == 0x7f)
		return true;
	return p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f;
}

bool pc_reason_valid(const char *s)
{
	if (s == NULL)
		return true;
	for (size_t n = 0; s[n] != '\0'; n++) {
		if (n >= PC_REASON_MAX || control_at((const unsigned char *)s + n))
			return false;
	}
	return true;
}

bool pc_currency_valid(const char *s)
{
	if (s == NULL || strlen(s) != 3)
		return false;
	for (int i = 0; i < 3; i++) {
		if (s[i] < 'A' || s[i] > 'Z')
			return false;
	}
	return true;
}
