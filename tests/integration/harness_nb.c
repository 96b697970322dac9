/* harness_nb.c - a non-blocking mutual-TLS connection for the integration tests.
 *
 * tools/client.h blocks in SSL_write while the daemon does not read, so a test
 * that wants to watch a client that never reads its answers could not read them
 * afterwards from the same thread. Here frames are queued in memory and a pump
 * moves bytes whenever the socket takes or gives some; the caller decides when it
 * reads. The contract is in harness.h. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "pointclear/frame.h"

#include "harness.h"

#define NB_CHUNK 16384   /* plaintext per SSL_write, one TLS record */

struct harness_nb {
	int fd;
	SSL_CTX *ctx;
	SSL *ssl;
	uint8_t *out;        /* queued plaintext; out[out_off..out_len) unsent */
	size_t out_off, out_len, out_cap;
	size_t retry_len;    /* length of an SSL_write that must be repeated, or 0 */
	uint8_t *in;         /* received plaintext not yet taken as frames */
	size_t in_len, in_cap;
};

static void grow(uint8_t **buf, size_t *cap, size_t need)
{
	if (need <= *cap)
		return;
	size_t n = *cap ? *cap : 65536;
	while (n < need)
		n *= 2;
	*buf = realloc(*buf, n);
	if (!*buf)
		abort();
	*cap = n;
}

static void ssl_err(char *err, size_t errlen, const char *what)
{
	unsigned long e = ERR_get_error();
	char buf[256] = "";
	if (e)
		ERR_error_string_n(e, buf, sizeof buf);
	snprintf(err, errlen, "%s%s%s", what, e ? ": " : "", buf);
	ERR_clear_error();
}

struct harness_nb *harness_nb_connect(const struct harness *h, const char *merchant,
                                      int sockbuf, char *err, size_t errlen)
{
	const struct harness_merchant *m = NULL;
	for (int i = 0; i < h->nmerchants; i++)
		if (strcmp(h->merchants[i].id, merchant) == 0)
			m = &h->merchants[i];
	if (!m) {
		snprintf(err, errlen, "no merchant %s", merchant);
		return NULL;
	}
	signal(SIGPIPE, SIG_IGN);
	struct harness_nb *c = calloc(1, sizeof *c);
	if (!c)
		abort();
	c->fd = -1;

	char ca[256];
	snprintf(ca, sizeof ca, "%s/tls/ca.crt", h->home);
	c->ctx = SSL_CTX_new(TLS_client_method());
	if (!c->ctx) {
		ssl_err(err, errlen, "SSL_CTX_new");
		goto fail;
	}
	SSL_CTX_set_min_proto_version(c->ctx, TLS1_3_VERSION);
	SSL_CTX_set_verify(c->ctx, SSL_VERIFY_PEER, NULL);
	if (SSL_CTX_load_verify_locations(c->ctx, ca, NULL) != 1 ||
	    SSL_CTX_use_certificate_chain_file(c->ctx, m->cert) != 1 ||
	    SSL_CTX_use_PrivateKey_file(c->ctx, m->key, SSL_FILETYPE_PEM) != 1) {
		ssl_err(err, errlen, "loading the CA, certificate or key");
		goto fail;
	}

	c->fd = socket(AF_INET, SOCK_STREAM, 0);
	if (c->fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		goto fail;
	}
	/* Before connect: the receive buffer sets the window offered. Only that one
	 * is made small: a small send buffer would also leave the client's own bytes
	 * behind TCP's zero-window probing, whose backoff is not the daemon's doing. */
	if (sockbuf > 0)
		setsockopt(c->fd, SOL_SOCKET, SO_RCVBUF, &sockbuf, sizeof sockbuf);
	int one = 1;
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	struct timeval tv = { 10, 0 };   /* bounds the blocking handshake */
	setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)h->port) };
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(c->fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
		snprintf(err, errlen, "connect to port %d: %s", h->port, strerror(errno));
		goto fail;
	}
	c->ssl = SSL_new(c->ctx);
	if (!c->ssl || SSL_set_fd(c->ssl, c->fd) != 1 ||
	    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->ssl), "127.0.0.1") != 1) {
		ssl_err(err, errlen, "SSL_new");
		goto fail;
	}
	if (SSL_connect(c->ssl) != 1) {
		ssl_err(err, errlen, "TLS handshake");
		goto fail;
	}
	/* from here on nothing blocks: SSL_write may take part of the queue */
	SSL_set_mode(c->ssl, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	if (fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK) != 0) {
		snprintf(err, errlen, "O_NONBLOCK: %s", strerror(errno));
		goto fail;
	}
	return c;
fail:
	harness_nb_close(c);
	return NULL;
}

void harness_nb_close(struct harness_nb *c)
{
	if (!c)
		return;
	if (c->ssl)
		SSL_free(c->ssl);   /* no close_notify: the test is done with it either way */
	if (c->fd >= 0)
		close(c->fd);
	SSL_CTX_free(c->ctx);
	free(c->out);
	free(c->in);
	free(c);
	ERR_clear_error();
}

void harness_nb_queue(struct harness_nb *c, uint8_t type, uint64_t request_id,
                      const uint8_t *body, size_t body_len)
{
	/* drop what was sent, so the queue does not grow with the whole history */
	if (c->out_off > 0 && c->retry_len == 0) {
		memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
		c->out_len -= c->out_off;
		c->out_off = 0;
	}
	grow(&c->out, &c->out_cap, c->out_len + PC_FRAME_HEADER_SIZE + body_len);
	pc_frame_header_encode(c->out + c->out_len, type, request_id, body_len);
	c->out_len += PC_FRAME_HEADER_SIZE;
	if (body_len)
		memcpy(c->out + c->out_len, body, body_len);
	c->out_len += body_len;
}

size_t harness_nb_unsent(const struct harness_nb *c)
{
	return c->out_len - c->out_off;
}

/* Writes until the socket takes no more: bytes written, or -1. */
static long nb_write(struct harness_nb *c, char *err, size_t errlen)
{
	long moved = 0;
	while (c->out_off < c->out_len) {
		size_t len = c->retry_len;
		if (!len)
			len = c->out_len - c->out_off < NB_CHUNK ? c->out_len - c->out_off : NB_CHUNK;
		int n = SSL_write(c->ssl, c->out + c->out_off, (int)len);
		if (n > 0) {
			c->retry_len = 0;
			c->out_off += (size_t)n;
			moved += n;
			continue;
		}
		int e = SSL_get_error(c->ssl, n);
		if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ) {
			c->retry_len = len;   /* OpenSSL wants the same write again */
			return moved;
		}
		ssl_err(err, errlen, e == SSL_ERROR_SYSCALL ? "write: connection lost" : "write");
		return -1;
	}
	return moved;
}

/* Reads until nothing more is there: bytes read, or -1 (also on EOF). */
static long nb_read(struct harness_nb *c, char *err, size_t errlen)
{
	long moved = 0;
	for (;;) {
		grow(&c->in, &c->in_cap, c->in_len + NB_CHUNK);
		int n = SSL_read(c->ssl, c->in + c->in_len, NB_CHUNK);
		if (n > 0) {
			c->in_len += (size_t)n;
			moved += n;
			continue;
		}
		int e = SSL_get_error(c->ssl, n);
		if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
			return moved;
		if (e == SSL_ERROR_ZERO_RETURN)
			snprintf(err, errlen, "the daemon closed the connection");
		else
			ssl_err(err, errlen, "read: connection lost");
		return -1;
	}
}

int harness_nb_pump(struct harness_nb *c, bool reading, int timeout_ms, size_t *progress,
                    char *err, size_t errlen)
{
	if (progress)
		*progress = 0;
	struct pollfd p = { .fd = c->fd, .events = 0 };
	if (c->out_off < c->out_len)
		p.events |= POLLOUT;
	if (reading)
		p.events |= POLLIN;
	/* decrypted bytes may already wait inside OpenSSL */
	if (!(reading && SSL_pending(c->ssl) > 0) && p.events) {
		int rc = poll(&p, 1, timeout_ms);
		if (rc < 0 && errno != EINTR) {
			snprintf(err, errlen, "poll: %s", strerror(errno));
			return -1;
		}
	} else if (!p.events && timeout_ms > 0) {
		poll(NULL, 0, timeout_ms);
	}
	long w = nb_write(c, err, errlen);
	if (w < 0)
		return -1;
	long r = 0;
	if (reading) {
		r = nb_read(c, err, errlen);
		if (r < 0)
			return -1;
	}
	if (progress)
		*progress = (size_t)w + (size_t)r;
	return 0;
}

int harness_nb_next_frame(struct harness_nb *c, uint8_t *type, uint64_t *request_id,
                          uint8_t **body, size_t *body_len)
{
	struct pc_frame_header hdr;
	switch (pc_frame_peek(c->in, c->in_len, &hdr)) {
	case PC_FRAME_READY:
		break;
	case PC_FRAME_NEED_MORE:
		return 0;
	default:
		return -1;
	}
	size_t total = pc_frame_total(&hdr);
	size_t blen = total - PC_FRAME_HEADER_SIZE;
	*type = hdr.type;
	*request_id = hdr.request_id;
	*body_len = blen;
	*body = NULL;
	if (blen) {
		*body = malloc(blen);
		if (!*body)
			abort();
		memcpy(*body, c->in + PC_FRAME_HEADER_SIZE, blen);
	}
	memmove(c->in, c->in + total, c->in_len - total);
	c->in_len -= total;
	return 1;
}
