/* receipt.c - signing receipts with the operator key (see receipt.h). */
#include "receipt.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pointclear/merkle.h>
#include <pointclear/sign.h>

#include "keyfile.h"
#include "log.h"

static uint8_t operator_sk[PC_SK_SIZE];
static char operator_key_id[PC_KEY_ID_LEN + 1];

int pc_receipt_load_key(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		log_warn("operator key %s", path);
		return -1;
	}
	char err[PC_KEYFILE_ERR_MAX];
	if (pc_keyfile_check_fd(fileno(f), path, err, sizeof err) != 0) {
		log_error("operator key: %s", err);
		fclose(f);
		return -1;
	}
	EVP_PKEY *pkey = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	uint8_t seed[PC_SEED_SIZE];
	size_t len = sizeof seed;
	if (!pkey || EVP_PKEY_get_base_id(pkey) != EVP_PKEY_ED25519 ||
	    !EVP_PKEY_get_raw_private_key(pkey, seed, &len) || len != sizeof seed) {
		log_error("operator key %s: not an Ed25519 private key", path);
		EVP_PKEY_free(pkey);
		return -1;
	}
	EVP_PKEY_free(pkey);
	pc_receipt_use_seed(seed);
	sodium_memzero(seed, sizeof seed);
	return 0;
}

void pc_receipt_use_seed(const uint8_t seed[PC_SEED_SIZE])
{
	uint8_t pk[PC_PK_SIZE];
	pc_keypair_from_seed(pk, operator_sk, seed);
	pc_key_id(operator_key_id, pk);
	log_info("operator key_id=%s", operator_key_id);
}

struct slot {
	uint8_t *body;   /* packed ReceiptBody; NULL while empty */
	size_t len;
	pc_code code;
};

struct pc_receipt_tree {
	char *alliance;
	uint64_t first;
	size_t size;
	struct slot *slots;
	struct pc_merkle_tree merkle;   /* once sealed */
	uint8_t *head;                  /* packed ReceiptTreeHead, once sealed */
	size_t head_len;
	uint8_t sig[PC_SIG_SIZE];
};

struct pc_receipt_tree *pc_receipt_tree_new(const char *alliance, uint64_t first, size_t size)
{
	struct pc_receipt_tree *t = calloc(1, sizeof *t);
	if (!t || !(t->alliance = strdup(alliance)) || !(t->slots = calloc(size, sizeof *t->slots)))
		fatal("receipt: calloc");
	t->first = first;
	t->size = size;
	return t;
}

bool pc_receipt_tree_is(const struct pc_receipt_tree *t, const char *alliance, uint64_t first,
                        size_t size)
{
	return t->first == first && t->size == size && strcmp(t->alliance, alliance) == 0;
}

int pc_receipt_tree_set(struct pc_receipt_tree *t, const struct pc_recorded *rec)
{
	if (rec->sequence < t->first || rec->sequence - t->first >= t->size ||
	    strcmp(rec->alliance, t->alliance) != 0)
		return -1;
	Pointclear__V1__Decision d = POINTCLEAR__V1__DECISION__INIT;
	d.status = (Pointclear__V1__Status)rec->status;
	d.code = (Pointclear__V1__Code)rec->code;
	d.balance = rec->balance;
	d.available = rec->available;
	d.amount = rec->applied;
	d.remaining = rec->remaining;
	d.hold_expires_at_us = rec->hold_expires_at_us;

	Pointclear__V1__ReceiptBody body = POINTCLEAR__V1__RECEIPT_BODY__INIT;
	body.alliance_id = (char *)rec->alliance;
	body.sequence = rec->sequence;
	body.leaf_hash.data = (uint8_t *)rec->leaf_hash;
	body.leaf_hash.len = PC_HASH_SIZE;
	body.accepted_at_us = rec->accepted_at_us;
	body.merchant_id = (char *)rec->merchant;
	body.event_id = (char *)rec->event_id;
	body.decision = &d;

	size_t len;
	uint8_t *bytes = pc_pack(&body.base, &len);
	if (!bytes)
		fatalx("receipt: pack failed");
	struct slot *s = &t->slots[rec->sequence - t->first];
	if (s->body) {
		/* the same entry seen twice (a replay of this batch's own entry) */
		bool same = s->len == len && memcmp(s->body, bytes, len) == 0;
		free(bytes);
		return same ? 0 : -1;
	}
	s->body = bytes;
	s->len = len;
	s->code = (pc_code)rec->code;
	return 0;
}

int pc_receipt_tree_seal(struct pc_receipt_tree *t)
{
	uint8_t (*leaves)[PC_HASH_SIZE] = malloc(t->size * sizeof *leaves);
	if (!leaves)
		fatal("receipt: malloc");
	for (size_t i = 0; i < t->size; i++) {
		if (!t->slots[i].body) {
			free(leaves);
			return -1;
		}
		pc_merkle_leaf_hash(leaves[i], t->slots[i].body, t->slots[i].len);
	}
	if (pc_merkle_build(&t->merkle, (const uint8_t(*)[PC_HASH_SIZE])leaves, t->size) != 0)
		fatal("receipt: merkle tree");
	free(leaves);

	Pointclear__V1__ReceiptTreeHead head = POINTCLEAR__V1__RECEIPT_TREE_HEAD__INIT;
	head.alliance_id = t->alliance;
	head.first_sequence = t->first;
	head.size = t->size;
	head.root_hash.data = (uint8_t *)pc_merkle_root(&t->merkle);
	head.root_hash.len = PC_HASH_SIZE;
	if (!(t->head = pc_pack(&head.base, &t->head_len)))
		fatalx("receipt: pack failed");
	if (pc_sign(t->sig, PC_RECEIPT_TREE_PAYLOAD_TYPE, t->head, t->head_len, operator_sk) != 0)
		fatalx("receipt: sign failed");
	return 0;
}

void pc_receipt_tree_free(struct pc_receipt_tree *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->size; i++)
		free(t->slots[i].body);
	free(t->slots);
	pc_merkle_free(&t->merkle);
	free(t->head);
	free(t->alliance);
	free(t);
}

void pc_receipt_tree_view(const struct pc_receipt_tree *t, uint64_t seq,
                          struct pc_receipt_view *v, pc_code *code)
{
	size_t index = (size_t)(seq - t->first);
	const struct slot *s = &t->slots[index];
	v->body = s->body;
	v->body_len = s->len;
	v->key_id = operator_key_id;
	v->signature = t->sig;
	v->tree_head = t->head;
	v->tree_head_len = t->head_len;
	v->path_len = pc_merkle_path(&t->merkle, index, v->path);
	*code = s->code;
}
