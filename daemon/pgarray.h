/* pgarray.h - one-dimensional PostgreSQL arrays in binary format, built for the
 * batch statement's parameters. Binary avoids quoting anything: every value
 * travels as a length and its bytes. */
#ifndef PC_PGARRAY_H
#define PC_PGARRAY_H

#include <stddef.h>
#include <stdint.h>

#define PC_OID_BYTEA 17
#define PC_OID_INT8 20
#define PC_OID_INT2 21
#define PC_OID_INT4 23
#define PC_OID_TEXT 25
#define PC_OID_INT2_ARRAY 1005
#define PC_OID_INT4_ARRAY 1007
#define PC_OID_TEXT_ARRAY 1009
#define PC_OID_BYTEA_ARRAY 1001
#define PC_OID_INT8_ARRAY 1016
#define PC_OID_TIMESTAMPTZ 1184
#define PC_OID_TIMESTAMPTZ_ARRAY 1185

struct pc_pgarray {
	uint8_t *buf;     /* owned */
	size_t len, cap;
	uint32_t elem_oid;
	uint32_t count;
	int has_null;
};

/* Starts an array of n elements of elem_oid (the header is patched at finish). */
void pc_pgarray_init(struct pc_pgarray *a, uint32_t elem_oid);
void pc_pgarray_text(struct pc_pgarray *a, const char *s);   /* NULL: SQL NULL */
void pc_pgarray_bytes(struct pc_pgarray *a, const uint8_t *p, size_t len);
void pc_pgarray_int8(struct pc_pgarray *a, int64_t v);
void pc_pgarray_int4(struct pc_pgarray *a, int32_t v);
void pc_pgarray_int2(struct pc_pgarray *a, int16_t v);
void pc_pgarray_null(struct pc_pgarray *a);
/* µs since the Unix epoch, as PostgreSQL's binary timestamptz (µs since 2000). */
void pc_pgarray_timestamptz(struct pc_pgarray *a, int64_t unix_us);
/* Writes the header; a->buf/len are then the parameter value. */
void pc_pgarray_finish(struct pc_pgarray *a);
void pc_pgarray_free(struct pc_pgarray *a);

/* Reads big-endian integers out of binary result values. */
int64_t pc_pg_int8(const char *v);
int32_t pc_pg_int4(const char *v);
int16_t pc_pg_int2(const char *v);

#endif
