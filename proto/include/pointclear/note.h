/* note.h - C2SP signed notes (https://c2sp.org/signed-note) with Ed25519 keys:
 * key names and ids, the verifier and signer key strings Go's note package
 * reads and writes, signing a text, and opening a signed note against the keys
 * a reader trusts.
 *
 * The audit log's checkpoints travel as signed notes so that any tool that reads
 * C2SP notes can check them without pointclear's code. */
#ifndef POINTCLEAR_NOTE_H
#define POINTCLEAR_NOTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The signed-note signature type byte of Ed25519. */
#define PC_NOTE_ALG_ED25519 0x01
/* Longest key name accepted, in bytes. */
#define PC_NOTE_MAX_NAME 255
/* Most signature lines one note may carry (the spec asks for at least 16). */
#define PC_NOTE_MAX_SIGS 100
/* Room for a verifier key string: name, '+', 8 hex, '+', base64 of 33 bytes. */
#define PC_NOTE_VKEY_MAX (PC_NOTE_MAX_NAME + 1 + 8 + 1 + 44 + 1)
/* Room for a signer key string: "PRIVATE+KEY+" and the same. */
#define PC_NOTE_SKEY_MAX (12 + PC_NOTE_VKEY_MAX)

enum pc_note_err {
	PC_NOTE_OK = 0,
	PC_NOTE_BAD_NAME,       /* empty, too long, not UTF-8, a space or '+' */
	PC_NOTE_BAD_KEY,        /* a key string of the wrong shape */
	PC_NOTE_BAD_ALG,        /* a key of a signature type other than Ed25519 */
	PC_NOTE_BAD_KEY_ID,     /* the key id is not the one the name and key give */
	PC_NOTE_BAD_TEXT,       /* not UTF-8, a control character, no final newline */
	PC_NOTE_MALFORMED,      /* no blank line before the signatures, a bad line */
	PC_NOTE_TOO_MANY_SIGS,  /* more than PC_NOTE_MAX_SIGS signature lines */
	PC_NOTE_DUPLICATE_SIG,  /* two lines of one key name and id */
	PC_NOTE_BAD_SIGNATURE,  /* a known key's signature that does not verify */
	PC_NOTE_UNVERIFIED,     /* no signature of a known key */
	PC_NOTE_NOMEM,
};

/* A short English sentence for an error code. */
const char *pc_note_strerror(int err);

/* A key a reader trusts: Ed25519 public key under a name. */
struct pc_note_verifier {
	char name[PC_NOTE_MAX_NAME + 1];
	uint32_t key_id;
	uint8_t pk[32];
};

/* A key that signs: libsodium's 64-byte secret key (seed then public key). */
struct pc_note_signer {
	char name[PC_NOTE_MAX_NAME + 1];
	uint32_t key_id;
	uint8_t sk[64];
};

/* True when the len bytes at name are a valid key name. */
bool pc_note_name_valid(const char *name, size_t len);
/* SHA-256(name || 0x0A || 0x01 || pk)[:4], big-endian. */
uint32_t pc_note_key_id(const char *name, const uint8_t pk[32]);

/* A signer from a 32-byte Ed25519 seed; its verifier. */
int pc_note_signer_from_seed(struct pc_note_signer *s, const char *name,
                             const uint8_t seed[32]);
void pc_note_signer_verifier(const struct pc_note_signer *s, struct pc_note_verifier *v);

/* "<name>+<8 hex id>+<base64(0x01 || pk)>". Parsing checks the id. */
int pc_note_verifier_parse(struct pc_note_verifier *v, const char *vkey);
void pc_note_verifier_format(const struct pc_note_verifier *v, char out[PC_NOTE_VKEY_MAX]);
/* "PRIVATE+KEY+<name>+<8 hex id>+<base64(0x01 || seed)>", as Go's note package
 * writes it. Parsing checks the id against the key the seed gives. */
int pc_note_signer_parse(struct pc_note_signer *s, const char *skey);
void pc_note_signer_format(const struct pc_note_signer *s, char out[PC_NOTE_SKEY_MAX]);

/* True when text is a note text: non-empty UTF-8, newline-terminated, no
 * control character but newline. */
bool pc_note_text_valid(const char *text, size_t len);

/* Signs text with each signer: *out (malloc'd, NUL-terminated, *out_len bytes
 * without the NUL) is the text, a blank line and one line per signer. */
int pc_note_sign(const char *text, size_t len, const struct pc_note_signer *signers,
                 size_t nsigners, char **out, size_t *out_len);

/* Opens a signed note: its text is msg[0, *text_len). Lines of unknown keys
 * are skipped; every line of a known key must verify, and at least one must.
 * When verified is not NULL, verified[i] says whether known[i] signed. */
int pc_note_open(const char *msg, size_t len, const struct pc_note_verifier *known,
                 size_t nknown, size_t *text_len, bool *verified);

#endif
