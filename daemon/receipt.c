/* receipt.c - signing receipts with the operator key (see receipt.h). */
#include "receipt.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pointclear/sign.h>

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
	EVP_PKEY *pkey = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	uint8_t seed[PC_SEED_SIZE], pk[PC_PK_SIZE];
	size_t len = sizeof seed;
	if (!pkey || EVP_PKEY_get_base_id(pkey) != EVP_PKEY_ED25519 ||
	    !EVP_PKEY_get_raw_private_key(pkey, seed, &len) || len != sizeof seed) {
		log_error("operator key %s: not an Ed25519 private key", path);
		EVP_PKEY_free(pkey);
		return -1;
	}
	EVP_PKEY_free(pkey);
	pc_keypair_from_seed(pk, operator_sk, seed);
	sodium_memzero(seed, sizeof seed);
	pc_key_id(operator_key_id, pk);
	log_info("operator key_id=%s", operator_key_id);
	return 0;
}

static const char *result_message(pc_code code)
{
	return code == POINTCLEAR__V1__CODE__OK ? "approved" : pc_code_message(code);
}

uint8_t *pc_result_recorded(Pointclear__V1__Disposition disp, const struct pc_recorded *rec,
                            size_t *len)
{
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
	body.leaf_hash.len = 32;
	body.accepted_at_us = rec->accepted_at_us;
	body.merchant_id = (char *)rec->merchant;
	body.event_id = (char *)rec->event_id;
	body.decision = &d;

	size_t body_len;
	uint8_t *body_bytes = pc_pack(&body.base, &body_len);
	if (!body_bytes)
		fatalx("receipt: pack failed");
	uint8_t sig[PC_SIG_SIZE];
	if (pc_sign(sig, PC_RECEIPT_PAYLOAD_TYPE, body_bytes, body_len, operator_sk) != 0)
		fatalx("receipt: sign failed");

	Pointclear__V1__Receipt receipt = POINTCLEAR__V1__RECEIPT__INIT;
	receipt.body.data = body_bytes;
	receipt.body.len = body_len;
	receipt.key_id = operator_key_id;
	receipt.signature.data = sig;
	receipt.signature.len = sizeof sig;

	Pointclear__V1__SubmitResult sr = POINTCLEAR__V1__SUBMIT_RESULT__INIT;
	sr.disposition = disp;
	sr.code = (Pointclear__V1__Code)rec->code;
	sr.message = (char *)result_message((pc_code)rec->code);
	sr.receipt = &receipt;
	uint8_t *out = pc_pack(&sr.base, len);
	free(body_bytes);
	if (!out)
		fatalx("receipt: pack failed");
	return out;
}

uint8_t *pc_result_refused(Pointclear__V1__Disposition disp, pc_code code, const char *message,
                           uint64_t original_sequence, size_t *len)
{
	Pointclear__V1__SubmitResult sr = POINTCLEAR__V1__SUBMIT_RESULT__INIT;
	sr.disposition = disp;
	sr.code = code;
	sr.message = (char *)(message ? message : result_message(code));
	sr.original_sequence = original_sequence;
	uint8_t *out = pc_pack(&sr.base, len);
	if (!out)
		fatalx("receipt: pack failed");
	return out;
}
