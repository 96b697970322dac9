/* pgarray.c - binary PostgreSQL arrays (see pgarray.h). */
#include "pgarray.h"

#include <stdlib.h>
#include <string.h>

#include "log.h"

#define HEADER 20   /* ndim, flags, elem oid, dim length, lower bound */

static void reserve(struct pc_pgarray *a, size_t more)
{
	if (a->len + more <= a->cap)
		return;
	size_t cap = a->cap ? a->cap : 256;
	while (cap < a->len + more)
		cap *= 2;
	uint8_t *p = realloc(a->buf, cap);
	if (!p)
		fatal("pgarray: realloc %zu", cap);
	a->buf = p;
	a->cap = cap;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static void element(struct pc_pgarray *a, const void *p, size_t len)
{
	reserve(a, 4 + len);
	put32(a->buf + a->len, (uint32_t)len);
	memcpy(a->buf + a->len + 4, p, len);
	a->len += 4 + len;
	a->count++;
}

void pc_pgarray_init(struct pc_pgarray *a, uint32_t elem_oid)
{
	memset(a, 0, sizeof *a);
	a->elem_oid = elem_oid;
	reserve(a, HEADER);
	a->len = HEADER;
}

void pc_pgarray_null(struct pc_pgarray *a)
{
	reserve(a, 4);
	put32(a->buf + a->len, 0xFFFFFFFFu);
	a->len += 4;
	a->count++;
	a->has_null = 1;
}

void pc_pgarray_text(struct pc_pgarray *a, const char *s)
{
	if (!s)
		pc_pgarray_null(a);
	else
		element(a, s, strlen(s));
}

void pc_pgarray_bytes(struct pc_pgarray *a, const uint8_t *p, size_t len)
{
	element(a, p, len);
}

void pc_pgarray_int8(struct pc_pgarray *a, int64_t v)
{
	uint8_t b[8];
	uint64_t u = (uint64_t)v;
	for (int i = 7; i >= 0; i--, u >>= 8)
		b[i] = (uint8_t)u;
	element(a, b, 8);
}

void pc_pgarray_timestamptz(struct pc_pgarray *a, int64_t unix_us)
{
	pc_pgarray_int8(a, unix_us - INT64_C(946684800000000));
}

void pc_pgarray_int4(struct pc_pgarray *a, int32_t v)
{
	uint8_t b[4];
	put32(b, (uint32_t)v);
	element(a, b, 4);
}

void pc_pgarray_int2(struct pc_pgarray *a, int16_t v)
{
	uint8_t b[2] = { (uint8_t)((uint16_t)v >> 8), (uint8_t)v };
	element(a, b, 2);
}

void pc_pgarray_finish(struct pc_pgarray *a)
{
	put32(a->buf, 1);
	put32(a->buf + 4, (uint32_t)a->has_null);
	put32(a->buf + 8, a->elem_oid);
	put32(a->buf + 12, a->count);
	put32(a->buf + 16, 1);
}

void pc_pgarray_free(struct pc_pgarray *a)
{
	free(a->buf);
	memset(a, 0, sizeof *a);
}

int64_t pc_pg_int8(const char *v)
{
	const uint8_t *p = (const uint8_t *)v;
	uint64_t u = 0;
	for (int i = 0; i < 8; i++)
		u = (u << 8) | p[i];
	return (int64_t)u;
}

int32_t pc_pg_int4(const char *v)
{
	const uint8_t *p = (const uint8_t *)v;
	return (int32_t)(((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3]);
}

int16_t pc_pg_int2(const char *v)
{
	const uint8_t *p = (const uint8_t *)v;
	return (int16_t)(((uint16_t)p[0] << 8) | p[1]);
}
