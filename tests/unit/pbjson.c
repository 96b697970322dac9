/* pbjson.c - protobuf-c messages to and from the JSON of the test vectors. */
#include "pbjson.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

static void *field_ptr(const ProtobufCMessage *m, const ProtobufCFieldDescriptor *f)
{
	return (uint8_t *)m + f->offset;
}

static bool oneof_set(const ProtobufCMessage *m, const ProtobufCFieldDescriptor *f)
{
	uint32_t which;

	memcpy(&which, (const uint8_t *)m + f->quantifier_offset, sizeof(which));
	return which == f->id;
}

static json_object *int64_json(int64_t v)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%" PRId64, v);
	return json_object_new_string(buf);
}

static json_object *uint64_json(uint64_t v)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%" PRIu64, v);
	return json_object_new_string(buf);
}

/* The field's value as JSON, or NULL when proto3 would leave it out. */
static json_object *field_json(const ProtobufCMessage *m, const ProtobufCFieldDescriptor *f,
                               bool always)
{
	void *p = field_ptr(m, f);

	switch (f->type) {
	case PROTOBUF_C_TYPE_STRING: {
		const char *s = *(char **)p;

		if (!always && (s == NULL || *s == '\0'))
			return NULL;
		return json_object_new_string(s != NULL ? s : "");
	}
	case PROTOBUF_C_TYPE_BYTES: {
		const ProtobufCBinaryData *b = p;
		char *hex;
		json_object *o;

		if (!always && b->len == 0)
			return NULL;
		hex = hex_encode(b->data, b->len);
		o = json_object_new_string(hex);
		free(hex);
		return o;
	}
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
		return (always || *(int64_t *)p != 0) ? int64_json(*(int64_t *)p) : NULL;
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		return (always || *(uint64_t *)p != 0) ? uint64_json(*(uint64_t *)p) : NULL;
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
	case PROTOBUF_C_TYPE_ENUM:
		return (always || *(int32_t *)p != 0) ? json_object_new_int(*(int32_t *)p) : NULL;
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		return (always || *(uint32_t *)p != 0) ? json_object_new_int64(*(uint32_t *)p) : NULL;
	case PROTOBUF_C_TYPE_BOOL:
		if (!always && !*(protobuf_c_boolean *)p)
			return NULL;
		return json_object_new_boolean(*(protobuf_c_boolean *)p);
	case PROTOBUF_C_TYPE_MESSAGE: {
		const ProtobufCMessage *sub = *(ProtobufCMessage **)p;

		return sub != NULL ? pbjson_from_message(sub) : NULL;
	}
	default:
		abort();   /* float and double: not in this protocol */
	}
}

json_object *pbjson_from_message(const ProtobufCMessage *m)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;
	json_object *obj = json_object_new_object();

	/* fields_sorted_by_name would reorder; the vectors follow the .proto. */
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		bool oneof = (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) != 0;
		json_object *v;

		if (f->label == PROTOBUF_C_LABEL_REPEATED)
			abort();   /* not in this protocol */
		if (oneof && !oneof_set(m, f))
			continue;
		v = field_json(m, f, oneof);
		if (v != NULL)
			json_object_object_add(obj, f->name, v);
	}
	return obj;
}

static bool parse_i64(json_object *v, int64_t *out)
{
	const char *s = json_object_get_string(v);
	char *end;

	if (!json_object_is_type(v, json_type_string))
		return false;
	errno = 0;
	*out = strtoll(s, &end, 10);
	return errno == 0 && *s != '\0' && *end == '\0';
}

static bool parse_u64(json_object *v, uint64_t *out)
{
	const char *s = json_object_get_string(v);
	char *end;

	if (!json_object_is_type(v, json_type_string) || *s == '-')
		return false;
	errno = 0;
	*out = strtoull(s, &end, 10);
	return errno == 0 && *s != '\0' && *end == '\0';
}

static bool set_field(ProtobufCMessage *m, const ProtobufCFieldDescriptor *f, json_object *v)
{
	void *p = field_ptr(m, f);

	switch (f->type) {
	case PROTOBUF_C_TYPE_STRING:
		if (!json_object_is_type(v, json_type_string))
			return false;
		*(char **)p = strdup(json_object_get_string(v));
		return *(char **)p != NULL;
	case PROTOBUF_C_TYPE_BYTES: {
		ProtobufCBinaryData *b = p;

		if (!json_object_is_type(v, json_type_string))
			return false;
		b->data = hex_decode(json_object_get_string(v), &b->len);
		return true;
	}
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
		return parse_i64(v, p);
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		return parse_u64(v, p);
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
	case PROTOBUF_C_TYPE_ENUM:
		if (!json_object_is_type(v, json_type_int))
			return false;
		*(int32_t *)p = json_object_get_int(v);
		return true;
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		if (!json_object_is_type(v, json_type_int))
			return false;
		*(uint32_t *)p = (uint32_t)json_object_get_int64(v);
		return true;
	case PROTOBUF_C_TYPE_BOOL:
		if (!json_object_is_type(v, json_type_boolean))
			return false;
		*(protobuf_c_boolean *)p = json_object_get_boolean(v);
		return true;
	case PROTOBUF_C_TYPE_MESSAGE:
		*(ProtobufCMessage **)p = pbjson_to_message(f->descriptor, v);
		return *(ProtobufCMessage **)p != NULL;
	default:
		return false;
	}
}

ProtobufCMessage *pbjson_to_message(const ProtobufCMessageDescriptor *desc,
                                    json_object *obj)
{
	ProtobufCMessage *m;

	if (!json_object_is_type(obj, json_type_object))
		return NULL;
	m = malloc(desc->sizeof_message);
	if (m == NULL)
		return NULL;
	desc->message_init(m);
	json_object_object_foreach(obj, key, v) {
		const ProtobufCFieldDescriptor *f =
			protobuf_c_message_descriptor_get_field_by_name(desc, key);

		if (f == NULL || f->label == PROTOBUF_C_LABEL_REPEATED || !set_field(m, f, v)) {
			protobuf_c_message_free_unpacked(m, NULL);
			return NULL;
		}
		if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
			memcpy((uint8_t *)m + f->quantifier_offset, &f->id, sizeof(f->id));
	}
	return m;
}
