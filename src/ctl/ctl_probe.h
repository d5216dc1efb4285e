/*
 * ctl_probe.h - relayctl probe and relayctl tls: talk to a smarthost step
 * by step, and show or clear the TLS mode cache.
 *
 *   relayctl probe [HOST[:PORT]] [--no-auth] [--json]
 *   relayctl tls [--json]
 *   relayctl tls forget HOST[:PORT]
 *
 * probe opens a session as the runner would (smtp_open) and prints every
 * step with its time: the addresses, each connection, the greeting or
 * the silence, the mode found and whether it came from the cache, TLS
 * version and cipher, the certificate's subject, issuer, expiry and
 * verification result, the EHLO capabilities, the AUTH mechanisms and,
 * with credentials configured (and no --no-auth), the AUTH result.
 * Without HOST it probes every configured smarthost.  HOST[:PORT] uses
 * the settings of the smarthost block with that host (and port, when
 * given and the block sets one), else the defaults (tls = auto, system
 * CAs, no credentials).  --json prints one JSON object per smarthost
 * (INTERFACES.md: host, port, mode, cached, ok, reason, ...).
 *
 * The mode cache lives in the spool: relayctl opens queue.db directly
 * when it may (root, or group relay); a verified, successful probe then
 * writes the cache like a delivery does.  Otherwise it probes without
 * the cache and says so.
 *
 * Exit codes: 0 every probe succeeded / the command worked; 1 a probe
 * failed or the spool could not be read; 2 usage; 77 not permitted (tls
 * forget without write access to the spool).
 */
#ifndef RELAY_CTL_PROBE_H
#define RELAY_CTL_PROBE_H

#include "mail/conf.h"

/* ctl_probe_main - "probe ..."; argv[0] is "probe".  Parses its own
 * flags; returns the exit code.  Writes to stdout and stderr. */
int ctl_probe_main(const struct conf *c, int argc, char **argv);

/* ctl_tls_main - "tls [forget HOST[:PORT]]"; argv[0] is "tls". */
int ctl_tls_main(const struct conf *c, int argc, char **argv);

#endif
