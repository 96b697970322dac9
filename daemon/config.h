/* config.h - the daemon's settings, parsed once from the command line. */
#ifndef PC_CONFIG_H
#define PC_CONFIG_H

#include <stdbool.h>

struct pc_config {
	const char *db;                 /* libpq conninfo */
	const char *home;               /* keys and certificates (docs/CLI.md) */
	char listen_host[64];
	int listen_port;
	int workers;                    /* verification threads; 0 = one per core */
	int batch_max;                  /* events per database batch */
	int batches_in_flight;          /* pipelined batches awaiting commit */
	int conn_max_inflight;          /* unanswered requests per connection before it stops reading */
	int global_max_pending;         /* unanswered requests in all before every connection stops reading */
	int max_connections;
	int max_unauthenticated;        /* connections still in the TLS handshake */
	int max_unauthenticated_per_address;  /* ... from one IPv4 address or IPv6 /64 */
	int max_connections_per_merchant;     /* identified connections of one merchant */
	int idle_timeout_ms;            /* nothing in flight, no frame received: closed; 0 = never */
	int handshake_timeout_ms;
	int frame_timeout_ms;
	int hold_sweep_ms;
	int key_reload_ms;
	int reconnect_ms;
	int batch_timeout_ms;           /* a batch without an answer by then: connection presumed dead */
	int drain_window_ms;            /* after SIGTERM: requests read and answered SHUTTING_DOWN */
	int stats_interval_ms;          /* how often the write path's latencies are logged; 0: never */
};

/* Fills cfg from argv; prints usage and exits on --help or a bad option. */
void pc_config_parse(struct pc_config *cfg, int argc, char **argv);

#endif
