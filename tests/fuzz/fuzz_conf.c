/*
 * fuzz_conf.c - libFuzzer harness for the configuration loader: write the
 * input to a temporary file and conf_load it.  A success must give a
 * usable struct conf; a failure must be ERR_CONFIG with a message.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/fsutil.h"
#include "base/str.h"
#include "mail/conf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *tmp = getenv("TMPDIR");
	char path[4096];
	struct conf *c;
	struct err err;
	size_t len;
	int fd;

	if (str_fmt(path, sizeof(path), "%s/fuzz_conf.",
		tmp != NULL ? tmp : "/tmp") == -1 ||
	    (len = strlen(path)) + 7 > sizeof(path))
		return 0;
	memset(path + len, 'X', 6); /* mkstemp's placeholder */
	path[len + 6] = '\0';
	fd = mkstemp(path);
	if (fd == -1)
		return 0;
	if (fs_write_all(fd, data, size, &err) == -1 || close(fd) == -1) {
		(void)unlink(path);
		return 0;
	}
	err_clear(&err);
	c = conf_load(path, &err);
	if (c != NULL) {
		if (c->domain == NULL || c->hostname == NULL ||
		    c->spool_dir == NULL || c->socket == NULL)
			abort();
		conf_free(c);
	} else if (err.cls != ERR_CONFIG || err.msg[0] == '\0') {
		abort();
	}
	(void)unlink(path);
	return 0;
}
