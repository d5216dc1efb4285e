/*
 * ctl_queue.h - relayctl's queue commands: list and show (human tables or
 * the JSON Lines relayd sends, unchanged).
 */
#ifndef RELAY_CTL_QUEUE_H
#define RELAY_CTL_QUEUE_H

#include "ctl/ctl.h"

/* ctl_queue_list - relayctl list [--state S] [--json]; argv[0] is "list".
 * Output on stdout; returns relayctl's exit code. */
int ctl_queue_list(const struct conf *c, int argc, char **argv);

/* ctl_queue_show - relayctl show ID [--json]; argv[0] is "show". */
int ctl_queue_show(const struct conf *c, int argc, char **argv);

#endif
