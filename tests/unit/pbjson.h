/* pbjson.h - protobuf-c messages to and from the JSON of the test vectors. */
#ifndef POINTCLEAR_PBJSON_H
#define POINTCLEAR_PBJSON_H

#include <json-c/json.h>
#include <protobuf-c/protobuf-c.h>

/* The message as a JSON object: proto field names, proto3 defaults left out
 * (a set oneof member is always written), 64-bit integers as decimal strings
 * (as in the proto3 JSON mapping), bytes as lowercase hex. */
json_object *pbjson_from_message(const ProtobufCMessage *m);

/* Builds a message of type desc from such an object; free it with
 * protobuf_c_message_free_unpacked(m, NULL). NULL on an unknown field name or
 * a value of the wrong type. */
ProtobufCMessage *pbjson_to_message(const ProtobufCMessageDescriptor *desc,
                                    json_object *obj);

#endif
