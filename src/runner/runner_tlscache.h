/*
 * runner_tlscache.h - the TLS mode cache of net/tlsmode kept in the spool.
 *
 * net and spool are siblings in the layering, so neither knows the other;
 * this is the one place that joins tlsmode's cache interface to the
 * spool's tls_cache rows, for relayd's delivery workers, relayctl probe
 * and the tests' smtp_send helper alike.
 */
#ifndef RELAY_RUNNER_TLSCACHE_H
#define RELAY_RUNNER_TLSCACHE_H

#include "net/tlsmode.h"
#include "spool/spool.h"

/* runner_tls_cache - fill out so that tlsmode reads and writes its cache
 * through sp (borrowed: sp must outlive every use of out).  A row whose
 * mode is not a TLS mode reads as "not cached". */
void runner_tls_cache(struct spool *sp, struct tlsmode_cache *out);

#endif
