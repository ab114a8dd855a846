/*
 * placetool.c - node/peer/place.h on the command line, for sdk_place.js.
 *
 * Reads lines from stdin and answers each with one line:
 *   R ID/NUM ...          -> node_shards_replicas() of the list
 *   H SEG ID/NUM ...      -> the indices (in the list) of the shards holding SEG, or "-"
 *   S START SIZE          -> node_place_nsegs(START, SIZE)
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node/peer/place.h"

#define MAXSH 64

/* Parses "ID/NUM" words after s into list; returns the count. */
static size_t parse_list(char *s, struct node_shard *list)
{
	size_t n = 0;
	char *save = NULL;

	for (char *w = strtok_r(s, " \n", &save); w && n < MAXSH;
	     w = strtok_r(NULL, " \n", &save)) {
		unsigned id, num;

		if (sscanf(w, "%u/%u", &id, &num) == 2)
			list[n++] = (struct node_shard){.id = id, .num = num};
	}
	return n;
}

int main(void)
{
	char line[4096];
	struct node_shard list[MAXSH];

	while (fgets(line, sizeof(line), stdin)) {
		uint64_t a, b;
		int used = 0;

		if (line[0] == 'R') {
			printf("%u\n", node_shards_replicas(list, parse_list(line + 1, list)));
		} else if (line[0] == 'H' && sscanf(line + 1, "%" SCNu64 "%n", &a, &used) == 1) {
			size_t n = parse_list(line + 1 + used, list), idx[MAXSH];
			size_t k = node_shards_holding(list, n, a, idx, MAXSH);

			if (!k)
				printf("-");
			for (size_t i = 0; i < k; i++)
				printf("%s%zu", i ? " " : "", idx[i]);
			printf("\n");
		} else if (line[0] == 'S' &&
			   sscanf(line + 1, "%" SCNu64 " %" SCNu64, &a, &b) == 2) {
			printf("%" PRIu64 "\n", node_place_nsegs(a, b));
		} else {
			printf("?\n");
		}
	}
	return 0;
}
