/* client.c - a blocking mTLS client of the pointclear protocol (see client.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <sodium.h>

#include "client.h"
#include "pointclear/codec.h"
#include "pointclear/frame.h"
#include "pointclear/leaf.h"
#include "pointclear/receipt_check.h"
#include "pointclear/sign.h"

/* Room for one whole frame of the largest size, plus what a read may bring. */
#define CLIENT_BUF_SIZE (4 + PC_FRAME_MAX_LENGTH + 16384)

struct pc_client {
	int fd;
	SSL_CTX *ctx;
	SSL *ssl;
	uint8_t *buf;    /* bytes read but not yet returned as frames */
	size_t len;
};

void pc_openssl_error(char *err, size_t errlen, const char *what)
{
	unsigned long e = ERR_get_error();
	char buf[256];

	if (e) {
		ERR_error_string_n(e, buf, sizeof buf);
		snprintf(err, errlen, "%s: %s", what, buf);
	} else {
		snprintf(err, errlen, "%s", what);
	}
	ERR_clear_error();
}

/* TCP connect bounded by the timeout, to the first address that answers. */
static int client_tcp_connect(const char *host, int port, int timeout_ms, char *err,
                              size_t errlen)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
	struct addrinfo *res, *ai;
	char portstr[16];
	int fd = -1, rc, saved = 0;

	snprintf(portstr, sizeof portstr, "%d", port);
	rc = getaddrinfo(host, portstr, &hints, &res);
	if (rc != 0) {
		snprintf(err, errlen, "cannot resolve %s: %s", host, gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0) {
			saved = errno;
			continue;
		}
		int fl = fcntl(fd, F_GETFL);

		fcntl(fd, F_SETFL, fl | O_NONBLOCK);
		rc = connect(fd, ai->ai_addr, ai->ai_addrlen);
		if (rc != 0 && errno == EINPROGRESS) {
			struct pollfd p = {.fd = fd, .events = POLLOUT};
			int soerr = 0;
			socklen_t sl = sizeof soerr;

			rc = poll(&p, 1, timeout_ms);
			if (rc == 0) {
				errno = ETIMEDOUT;
				rc = -1;
			} else if (rc > 0) {
				getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
				errno = soerr;
				rc = soerr ? -1 : 0;
			}
		}
		if (rc == 0) {
			fcntl(fd, F_SETFL, fl);
			break;
		}
		saved = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0)
		snprintf(err, errlen, "cannot connect to %s:%d: %s", host, port, strerror(saved));
	return fd;
}

static void client_set_timeouts(int fd, int timeout_ms)
{
	struct timeval tv = {.tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000};
	int one = 1;

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	/* frames are small and pipelined: do not let Nagle hold them back */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

static SSL_CTX *client_ctx(const struct pc_client_opts *o, char *err, size_t errlen)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	if (!ctx) {
		pc_openssl_error(err, errlen, "cannot create TLS context");
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
	/* a peer that closes without close_notify is an EOF, not an error */
	SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	if (!o->ca_file) {
		snprintf(err, errlen, "no CA file to verify the server with");
		goto fail;
	}
	if (SSL_CTX_load_verify_locations(ctx, o->ca_file, NULL) != 1) {
		pc_openssl_error(err, errlen, o->ca_file);
		goto fail;
	}
	if (o->cert_file) {
		if (SSL_CTX_use_certificate_chain_file(ctx, o->cert_file) != 1) {
			pc_openssl_error(err, errlen, o->cert_file);
			goto fail;
		}
		if (SSL_CTX_use_PrivateKey_file(ctx, o->key_file ? o->key_file : o->cert_file,
		                                SSL_FILETYPE_PEM) != 1 ||
		    SSL_CTX_check_private_key(ctx) != 1) {
			pc_openssl_error(err, errlen, o->key_file ? o->key_file : o->cert_file);
			goto fail;
		}
	}
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

/* The server must be who we asked for: its IP for a numeric host, else its name. */
static int client_expect_host(SSL *ssl, const char *host)
{
	struct in6_addr a6;
	struct in_addr a4;

	if (inet_pton(AF_INET, host, &a4) == 1 || inet_pton(AF_INET6, host, &a6) == 1)
		return X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host) == 1 ? 0 : -1;
	if (SSL_set1_host(ssl, host) != 1 || SSL_set_tlsext_host_name(ssl, host) != 1)
		return -1;
	return 0;
}

struct pc_client *pc_client_connect(const struct pc_client_opts *o, char *err,
                                    size_t errlen)
{
	static int sigpipe_ignored;
	const char *host = o->host && *o->host ? o->host : "127.0.0.1";
	int port = o->port > 0 ? o->port : 7443;
	int timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : 10000;
	struct pc_client *c;

	/* SSL_write cannot pass MSG_NOSIGNAL: a closed peer must not kill us */
	if (!sigpipe_ignored) {
		signal(SIGPIPE, SIG_IGN);
		sigpipe_ignored = 1;
	}
	c = calloc(1, sizeof *c);
	if (!c || !(c->buf = malloc(CLIENT_BUF_SIZE))) {
		snprintf(err, errlen, "out of memory");
		free(c);
		return NULL;
	}
	c->fd = -1;
	c->ctx = client_ctx(o, err, errlen);
	if (!c->ctx)
		goto fail;
	c->fd = client_tcp_connect(host, port, timeout_ms, err, errlen);
	if (c->fd < 0)
		goto fail;
	client_set_timeouts(c->fd, timeout_ms);
	c->ssl = SSL_new(c->ctx);
	if (!c->ssl || SSL_set_fd(c->ssl, c->fd) != 1) {
		pc_openssl_error(err, errlen, "cannot create TLS connection");
		goto fail;
	}
	if (client_expect_host(c->ssl, host) != 0) {
		pc_openssl_error(err, errlen, "cannot set the expected server name");
		goto fail;
	}
	if (SSL_connect(c->ssl) != 1) {
		long vr = SSL_get_verify_result(c->ssl);

		if (vr != X509_V_OK) {
			snprintf(err, errlen, "TLS handshake with %s:%d: server certificate: %s",
			         host, port, X509_verify_cert_error_string(vr));
			ERR_clear_error();
		} else {
			char what[128];

			snprintf(what, sizeof what, "TLS handshake with %s:%d failed", host, port);
			pc_openssl_error(err, errlen, what);
		}
		goto fail;
	}
	return c;
fail:
	pc_client_close(c);
	return NULL;
}

void pc_client_close(struct pc_client *c)
{
	if (!c)
		return;
	if (c->ssl) {
		/* one close_notify, without waiting for the peer's */
		if (SSL_is_init_finished(c->ssl))
			SSL_shutdown(c->ssl);
		SSL_free(c->ssl);
	}
	if (c->fd >= 0)
		close(c->fd);
	SSL_CTX_free(c->ctx);
	free(c->buf);
	free(c);
	ERR_clear_error();
}

int pc_client_send_raw(struct pc_client *c, const uint8_t *buf, size_t len)
{
	size_t off = 0;

	while (off < len) {
		size_t chunk = len - off > (size_t)INT32_MAX ? (size_t)INT32_MAX : len - off;
		int n = SSL_write(c->ssl, buf + off, (int)chunk);

		if (n <= 0) {
			ERR_clear_error();
			return -1;
		}
		off += (size_t)n;
	}
	return 0;
}

int pc_client_send_frame(struct pc_client *c, uint8_t type, uint64_t request_id,
                         const uint8_t *body, size_t body_len)
{
	uint8_t frame[PC_FRAME_HEADER_SIZE + PC_FRAME_MAX_BODY];

	if (body_len > PC_FRAME_MAX_BODY)
		return -1;
	pc_frame_header_encode(frame, type, request_id, body_len);
	if (body_len)
		memcpy(frame + PC_FRAME_HEADER_SIZE, body, body_len);
	/* header and body in one write: one TLS record for a small frame */
	return pc_client_send_raw(c, frame, PC_FRAME_HEADER_SIZE + body_len);
}

/* Reads more bytes into the buffer: 0, 1 on EOF, -1 on error or timeout. */
static int client_fill(struct pc_client *c)
{
	int n = SSL_read(c->ssl, c->buf + c->len, (int)(CLIENT_BUF_SIZE - c->len));

	if (n > 0) {
		c->len += (size_t)n;
		return 0;
	}
	switch (SSL_get_error(c->ssl, n)) {
	case SSL_ERROR_ZERO_RETURN:
		return 1;
	case SSL_ERROR_SYSCALL:
		/* a reset or bare close: the peer is gone */
		if (errno == 0 || errno == ECONNRESET || errno == EPIPE) {
			ERR_clear_error();
			return 1;
		}
		break;
	case SSL_ERROR_SSL:
		if (ERR_GET_REASON(ERR_peek_error()) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
			ERR_clear_error();
			return 1;
		}
		break;
	default:   /* WANT_READ/WANT_WRITE: SO_RCVTIMEO expired */
		break;
	}
	ERR_clear_error();
	return -1;
}

int pc_client_read_frame(struct pc_client *c, uint8_t *type, uint64_t *request_id,
                         uint8_t **body, size_t *body_len)
{
	struct pc_frame_header hdr;

	for (;;) {
		switch (pc_frame_peek(c->buf, c->len, &hdr)) {
		case PC_FRAME_READY: {
			size_t total = pc_frame_total(&hdr);
			size_t blen = total - PC_FRAME_HEADER_SIZE;

			*type = hdr.type;
			*request_id = hdr.request_id;
			*body = NULL;
			*body_len = blen;
			if (blen) {
				*body = malloc(blen);
				if (!*body)
					return -1;
				memcpy(*body, c->buf + PC_FRAME_HEADER_SIZE, blen);
			}
			memmove(c->buf, c->buf + total, c->len - total);
			c->len -= total;
			return 0;
		}
		case PC_FRAME_NEED_MORE: {
			int rc = client_fill(c);

			if (rc != 0)
				return rc;
			break;
		}
		case PC_FRAME_MALFORMED:
		case PC_FRAME_TOO_LARGE:
		default:
			return -1;
		}
	}
}

int pc_load_signing_key(const char *path, uint8_t sk[64], char key_id[17], char *err,
                        size_t errlen)
{
	uint8_t seed[PC_SEED_SIZE], pk[PC_PK_SIZE];
	size_t seedlen = sizeof seed;
	EVP_PKEY *k;
	FILE *f;

	if (sodium_init() < 0) {   /* idempotent; pc_keypair_from_seed needs it */
		snprintf(err, errlen, "libsodium cannot be initialised");
		return -1;
	}
	if (!(f = fopen(path, "r"))) {
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (!k) {
		pc_openssl_error(err, errlen, path);
		return -1;
	}
	if (EVP_PKEY_get_id(k) != EVP_PKEY_ED25519 ||
	    EVP_PKEY_get_raw_private_key(k, seed, &seedlen) != 1 || seedlen != sizeof seed) {
		snprintf(err, errlen, "%s: not an Ed25519 private key", path);
		EVP_PKEY_free(k);
		ERR_clear_error();
		return -1;
	}
	EVP_PKEY_free(k);
	/* OpenSSL keeps the RFC 8032 seed; libsodium wants seed || public key */
	pc_keypair_from_seed(pk, sk, seed);
	sodium_memzero(seed, sizeof seed);
	pc_key_id(key_id, pk);
	return 0;
}

int pc_load_public_key(const char *path, uint8_t pk[32], char *err, size_t errlen)
{
	size_t pklen = PC_PK_SIZE;
	EVP_PKEY *k;
	FILE *f = fopen(path, "r");

	if (!f) {
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	k = PEM_read_PUBKEY(f, NULL, NULL, NULL);
	fclose(f);
	if (!k) {
		pc_openssl_error(err, errlen, path);
		return -1;
	}
	if (EVP_PKEY_get_id(k) != EVP_PKEY_ED25519 ||
	    EVP_PKEY_get_raw_public_key(k, pk, &pklen) != 1 || pklen != PC_PK_SIZE) {
		snprintf(err, errlen, "%s: not an Ed25519 public key", path);
		EVP_PKEY_free(k);
		ERR_clear_error();
		return -1;
	}
	EVP_PKEY_free(k);
	return 0;
}

int pc_client_parse_server(const char *s, char *host, size_t hostlen, int *port)
{
	const char *colon, *end;
	long p = 7443;

	if (s[0] == '[') {
		end = strchr(s, ']');
		if (!end)
			return -1;
		colon = end[1] == ':' ? end + 1 : NULL;
		if (end[1] && !colon)
			return -1;
		s++;
	} else {
		colon = strrchr(s, ':');
		end = colon ? colon : s + strlen(s);
	}
	if (end == s || (size_t)(end - s) >= hostlen)
		return -1;
	if (colon) {
		char *stop;

		if (colon[1] < '0' || colon[1] > '9')
			return -1;
		errno = 0;
		p = strtol(colon + 1, &stop, 10);
		if (errno || *stop || p < 1 || p > 65535)
			return -1;
	}
	memcpy(host, s, (size_t)(end - s));
	host[end - s] = '\0';
	*port = (int)p;
	return 0;
}

int pc_client_lookup(struct pc_client *c, uint64_t request_id, const char *event_id,
                     Pointclear__V1__SubmitResult **result, int *protocol_error,
                     char *err, size_t errlen)
{
	Pointclear__V1__Lookup l = POINTCLEAR__V1__LOOKUP__INIT;
	size_t len;
	uint8_t *body;
	int rc;

	*result = NULL;
	*protocol_error = 0;
	l.event_id = (char *)event_id;
	body = pc_pack(&l.base, &len);
	if (!body) {
		snprintf(err, errlen, "cannot encode the Lookup");
		return -1;
	}
	rc = pc_client_send_frame(c, PC_MSG_LOOKUP, request_id, body, len);
	free(body);
	if (rc != 0) {
		snprintf(err, errlen, "sending failed");
		return -1;
	}
	for (;;) {
		uint8_t type;
		uint64_t id;

		rc = pc_client_read_frame(c, &type, &id, &body, &len);
		if (rc != 0) {
			snprintf(err, errlen, "%s", rc > 0 ? "connection closed by the daemon"
			                                   : "reading failed (timeout or bad frame)");
			return -1;
		}
		if (type == PC_MSG_PROTOCOL_ERROR && (id == request_id || id == 0)) {
			Pointclear__V1__ProtocolError *pe = pc_protocol_error_unpack(body, len);

			free(body);
			if (!pe) {
				snprintf(err, errlen, "a PROTOCOL_ERROR that does not parse");
				return -1;
			}
			*protocol_error = (int)pe->code;
			snprintf(err, errlen, "protocol error %s: %s", pc_code_name(pe->code),
			         *pe->message ? pe->message : pc_code_message(pe->code));
			pc_protocol_error_free(pe);
			return 1;
		}
		if (type != PC_MSG_LOOKUP_RESULT || id != request_id) {
			free(body);
			continue;
		}
		*result = pc_submit_result_unpack(body, len);
		free(body);
		if (!*result) {
			snprintf(err, errlen, "a LOOKUP_RESULT that does not parse");
			return -1;
		}
		return 0;
	}
}

const char *pc_client_check_receipt(const Pointclear__V1__SubmitResult *r,
                                    const uint8_t operator_pk[32],
                                    const char *operator_key_id,
                                    struct pc_receipt_cache *cache, const char *alliance,
                                    const char *merchant, const char *event_id,
                                    const uint8_t *envelope, size_t envelope_len,
                                    Pointclear__V1__ReceiptBody **body)
{
	const Pointclear__V1__Receipt *rc = r->receipt;
	const Pointclear__V1__ReceiptBody *b;
	const Pointclear__V1__Decision *dec;
	const char *why;

	*body = NULL;
	if (!rc)
		return "no receipt";
	if (strcmp(rc->key_id, operator_key_id) != 0)
		return "signed by another key than the operator's";
	if ((why = pc_receipt_check(rc, operator_pk, cache, body)) != NULL)
		return why;
	b = *body;
	why = NULL;
	if (strcmp(b->alliance_id, alliance) != 0 || strcmp(b->merchant_id, merchant) != 0 ||
	    strcmp(b->event_id, event_id) != 0)
		why = "receipt is for another event";
	else if (!(dec = b->decision))
		why = "receipt has no decision";
	else if (dec->code != r->code)
		why = "receipt code differs from the answer's";
	else if (b->leaf_hash.len != PC_HASH_SIZE)
		why = "receipt leaf hash has the wrong size";
	else if (envelope && r->disposition == POINTCLEAR__V1__DISPOSITION__RECORDED) {
		struct pc_leaf leaf = {
			.alliance_id = alliance,
			.sequence = b->sequence,
			.accepted_at_us = b->accepted_at_us,
			.envelope = envelope,
			.envelope_len = envelope_len,
			.decision = {
				.status = (uint8_t)dec->status,
				.code = (uint16_t)dec->code,
				.balance = dec->balance,
				.available = dec->available,
				.amount = dec->amount,
				.remaining = dec->remaining,
				.hold_expires_at_us = dec->hold_expires_at_us,
			},
		};
		uint8_t h[PC_HASH_SIZE];

		if (pc_leaf_hash(h, &leaf) != 0 ||
		    sodium_memcmp(h, b->leaf_hash.data, PC_HASH_SIZE) != 0)
			why = "leaf hash does not match the event sent and the decision";
	}
	if (why) {
		pc_receipt_body_free(*body);
		*body = NULL;
	}
	return why;
}

static const char *enum_name(const ProtobufCEnumDescriptor *d, int value, const char *unset)
{
	const ProtobufCEnumValue *v;

	if (value == 0)
		return unset;
	v = protobuf_c_enum_descriptor_get_value(d, value);
	return v ? v->name : "UNKNOWN";
}

void pc_client_result_line(char *buf, size_t buflen, const Pointclear__V1__SubmitResult *r,
                           const Pointclear__V1__ReceiptBody *body)
{
	const Pointclear__V1__Decision *d = body ? body->decision : NULL;
	char seq[24] = "-", bal[24] = "-", avail[24] = "-";

	if (d) {
		snprintf(seq, sizeof seq, "%" PRIu64, body->sequence);
		snprintf(bal, sizeof bal, "%" PRId64, d->balance);
		snprintf(avail, sizeof avail, "%" PRId64, d->available);
	}
	snprintf(buf, buflen, "%s %s %s seq=%s balance=%s available=%s %s",
	         enum_name(&pointclear__v1__disposition__descriptor, r->disposition, "UNSPECIFIED"),
	         d ? enum_name(&pointclear__v1__status__descriptor, d->status, "-") : "-",
	         pc_code_name(r->code), seq, bal, avail,
	         r->message && *r->message ? r->message : pc_code_message(r->code));
}
