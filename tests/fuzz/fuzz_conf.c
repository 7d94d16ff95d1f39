/* Fuzz target: the config parser and its typed getters never crash on any file content. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const allowed[] = {"Relay.Listen", "Relay.PortRange", "Limits.*", NULL};
	char err[CONF_ERRLEN];
	struct conf *c = NULL;
	uint64_t v;
	bool b;

	if (conf_parse(&c, "fuzz.conf", (const char *)data, size, err, sizeof(err)) != 0) {
		/* Every rejection says where. */
		if (strncmp(err, "fuzz.conf", 9) != 0)
			abort();
		return 0;
	}
	conf_check_keys(c, allowed, err, sizeof(err));
	for (size_t i = 0; i < c->n; i++) {
		const struct conf_entry *e = &c->v[i];

		conf_get_u64(c, e->section, e->key, 1, 65535, &v, err, sizeof(err));
		conf_get_size(c, e->section, e->key, 0, UINT64_MAX, &v, err, sizeof(err));
		conf_get_duration(c, e->section, e->key, 0, UINT64_MAX, &v, err, sizeof(err));
		conf_get_bool(c, e->section, e->key, &b, err, sizeof(err));
		if (e->line == 0 || strchr(e->value, '#') || strchr(e->value, '\n'))
			abort();
	}
	conf_free(c);
	return 0;
}
