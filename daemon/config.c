/* config.c - the daemon's settings table: one row per option, validated once. */
#include "config.h"

#include <arpa/inet.h>
#include <getopt.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

/* Numeric settings, alphabetical: name, target offset, minimum, maximum, default. */
struct int_setting {
	const char *name;
	size_t offset;
	int min, max, def;
	const char *help;
};

#define OFF(f) offsetof(struct pc_config, f)
static const struct int_setting int_settings[] = {
	{ "batch-max", OFF(batch_max), 1, 10000, 1000, "events per database batch" },
	{ "batch-timeout-ms", OFF(batch_timeout_ms), 100, 600000, 30000, "a batch unanswered this long marks the database connection dead" },
	{ "batches-in-flight", OFF(batches_in_flight), 1, 16, 2, "pipelined batches awaiting commit (more than one only while a quarter of --batch-max waits)" },
	{ "conn-max-inflight", OFF(conn_max_inflight), 1, 100000, 1024, "unanswered requests per connection before it stops reading" },
	{ "drain-window-ms", OFF(drain_window_ms), 0, 600000, 5000, "after SIGTERM, how long requests are still read and answered SHUTTING_DOWN" },
	{ "frame-timeout-ms", OFF(frame_timeout_ms), 10, 3600000, 10000, "time allowed to complete a started frame" },
	{ "global-max-pending", OFF(global_max_pending), 1, 10000000, 50000, "unanswered requests in all before reading stops" },
	{ "handshake-timeout-ms", OFF(handshake_timeout_ms), 10, 600000, 10000, "time allowed for the TLS handshake" },
	{ "hold-sweep-ms", OFF(hold_sweep_ms), 10, 3600000, 1000, "how often expired holds are released" },
	{ "idle-timeout-ms", OFF(idle_timeout_ms), 0, 86400000, 300000, "an identified connection with nothing in flight and no frame received this long is closed (0: never)" },
	{ "key-reload-ms", OFF(key_reload_ms), 100, 3600000, 30000, "key cache refresh besides NOTIFY pc_keys" },
	{ "max-connections", OFF(max_connections), 1, 1000000, 20000, "connections held at once" },
	{ "max-connections-per-merchant", OFF(max_connections_per_merchant), 1, 1000000, 64, "identified connections of one merchant" },
	{ "max-unauthenticated", OFF(max_unauthenticated), 1, 1000000, 1000, "connections still in the handshake" },
	{ "max-unauthenticated-per-address", OFF(max_unauthenticated_per_address), 1, 1000000, 16, "connections still in the handshake from one IPv4 address or IPv6 /64" },
	{ "reconnect-ms", OFF(reconnect_ms), 10, 600000, 500, "pause before reconnecting to the database" },
	{ "stats-interval-ms", OFF(stats_interval_ms), 0, 86400000, 60000, "how often the write path's latencies are logged (0: never)" },
	{ "workers", OFF(workers), 0, 256, 0, "verification threads (0: one per core)" },
};
#define N_INT_SETTINGS (sizeof int_settings / sizeof int_settings[0])

static void usage(FILE *f)
{
	fprintf(f, "usage: pointcleard --db CONNINFO --home DIR [--listen HOST:PORT] [options]\n\n"
	           "  --db CONNINFO          PostgreSQL connection (libpq conninfo)\n"
	           "  --home DIR             keys and certificates made by `pointclear init`\n"
	           "  --listen HOST:PORT     numeric address to accept merchants on (127.0.0.1:7443)\n"
	           "  --log-level LEVEL      debug, info, warn or error (info)\n"
	           "  --version              print the version and exit\n");
	for (size_t i = 0; i < N_INT_SETTINGS; i++)
		fprintf(f, "  --%-21s %s (%d)\n", int_settings[i].name, int_settings[i].help,
		        int_settings[i].def);
}

/* The daemon never resolves names: a lookup would block the loop. */
static bool numeric_host(const char *host)
{
	struct in6_addr a6;
	struct in_addr a4;
	return inet_pton(AF_INET, host, &a4) == 1 || inet_pton(AF_INET6, host, &a6) == 1;
}

static void parse_listen(struct pc_config *cfg, const char *arg)
{
	const char *colon = strrchr(arg, ':');
	char *end;
	long port;

	if (arg[0] == '[') {   /* [v6]:port */
		const char *close = strchr(arg, ']');
		if (!close || close[1] != ':' || (size_t)(close - arg - 1) >= sizeof cfg->listen_host)
			goto bad;
		port = strtol(close + 2, &end, 10);
		if (*end || close[2] == '\0' || port < 0 || port > 65535)
			goto bad;
		memcpy(cfg->listen_host, arg + 1, (size_t)(close - arg - 1));
		cfg->listen_host[close - arg - 1] = '\0';
		cfg->listen_port = (int)port;
		if (!numeric_host(cfg->listen_host))
			goto bad;
		return;
	}
	if (!colon || (size_t)(colon - arg) >= sizeof cfg->listen_host)
		goto bad;
	port = strtol(colon + 1, &end, 10);
	if (*end || port < 0 || port > 65535)
		goto bad;
	memcpy(cfg->listen_host, arg, (size_t)(colon - arg));
	cfg->listen_host[colon - arg] = '\0';
	cfg->listen_port = (int)port;
	if (!numeric_host(cfg->listen_host))
		goto bad;
	return;
bad:
	fprintf(stderr, "pointcleard: --listen wants a numeric HOST:PORT or [V6]:PORT, got '%s'\n", arg);
	exit(2);
}

void pc_config_parse(struct pc_config *cfg, int argc, char **argv)
{
	enum { O_DB = 1000, O_HOME, O_LISTEN, O_LOG, O_HELP, O_VERSION, O_INT };
	struct option opts[N_INT_SETTINGS + 7];
	size_t n = 0;

	memset(cfg, 0, sizeof *cfg);
	snprintf(cfg->listen_host, sizeof cfg->listen_host, "127.0.0.1");
	cfg->listen_port = 7443;
	for (size_t i = 0; i < N_INT_SETTINGS; i++) {
		*(int *)((char *)cfg + int_settings[i].offset) = int_settings[i].def;
		opts[n++] = (struct option){ int_settings[i].name, required_argument, NULL, O_INT + (int)i };
	}
	opts[n++] = (struct option){ "db", required_argument, NULL, O_DB };
	opts[n++] = (struct option){ "home", required_argument, NULL, O_HOME };
	opts[n++] = (struct option){ "listen", required_argument, NULL, O_LISTEN };
	opts[n++] = (struct option){ "log-level", required_argument, NULL, O_LOG };
	opts[n++] = (struct option){ "help", no_argument, NULL, O_HELP };
	opts[n++] = (struct option){ "version", no_argument, NULL, O_VERSION };
	opts[n] = (struct option){ 0 };

	int c;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == O_DB) {
			cfg->db = optarg;
		} else if (c == O_HOME) {
			cfg->home = optarg;
		} else if (c == O_LISTEN) {
			parse_listen(cfg, optarg);
		} else if (c == O_LOG) {
			if (pc_log_parse_level(optarg, &pc_log_threshold) < 0) {
				fprintf(stderr, "pointcleard: unknown log level '%s'\n", optarg);
				exit(2);
			}
		} else if (c == O_HELP) {
			usage(stdout);
			exit(0);
		} else if (c == O_VERSION) {
			printf("pointcleard %s\n", PC_VERSION);
			exit(0);
		} else if (c >= O_INT && c < O_INT + (int)N_INT_SETTINGS) {
			const struct int_setting *s = &int_settings[c - O_INT];
			char *end;
			long v = strtol(optarg, &end, 10);
			if (*end || v < s->min || v > s->max) {
				fprintf(stderr, "pointcleard: --%s wants %d..%d, got '%s'\n", s->name,
				        s->min, s->max, optarg);
				exit(2);
			}
			*(int *)((char *)cfg + s->offset) = (int)v;
		} else {
			usage(stderr);
			exit(2);
		}
	}
	if (optind != argc || !cfg->db || !cfg->home) {
		usage(stderr);
		exit(2);
	}
	if (cfg->workers == 0) {
		long cores = sysconf(_SC_NPROCESSORS_ONLN);
		cfg->workers = cores > 0 ? (int)cores : 1;
	}
}
