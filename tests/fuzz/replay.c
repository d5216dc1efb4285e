/*
 * replay.c - run a libFuzzer harness over its seed corpus without
 * libFuzzer (gcc builds): every file in the directories named on the
 * command line is passed once to LLVMFuzzerTestOneInput.  Exit 0 when all
 * inputs ran; a crash fails the test.
 */
#include "config.h"

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/err.h"
#include "base/fsutil.h"
#include "base/str.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
replay_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	if (d == NULL) {
		fprintf(stderr, "replay: cannot open %s\n", dir);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		char path[4096];
		struct buf b;
		struct err err;

		if (de->d_name[0] == '.')
			continue;
		if (str_fmt(path, sizeof(path), "%s/%s", dir, de->d_name) == -1)
			continue;
		buf_init(&b, 16 * 1024 * 1024);
		if (fs_read_file(path, &b, &err) == 0) {
			(void)LLVMFuzzerTestOneInput(
			    (const uint8_t *)b.data, b.len);
			n++;
		}
		buf_free(&b);
	}
	(void)closedir(d);
	return n;
}

int
main(int argc, char **argv)
{
	int i, total = 0;

	for (i = 1; i < argc; i++) {
		int n = replay_dir(argv[i]);

		if (n < 0)
			return 1;
		total += n;
	}
	printf("replayed %d inputs\n", total);
	return total > 0 ? 0 : 1;
}
