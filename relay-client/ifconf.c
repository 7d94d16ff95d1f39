/* ifconf.c: interface names and wg-quick's SaveConfig. */
#include "ifconf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"

bool ifconf_name_ok(const char *name)
{
	size_t n = strlen(name);
	if (n == 0 || n > 15 || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (name[i] == '/' || name[i] == ':' || (unsigned char)name[i] <= ' ' ||
		    (unsigned char)name[i] >= 0x7f)
			return false;
	return true;
}

const char *ifconf_dir(void)
{
	const char *d = getenv("WGRELAY_WG_CONF_DIR");
	return d && *d ? d : "/etc/wireguard";
}

int ifconf_saveconfig(const char *name)
{
	char path[4096], err[CONF_ERRLEN];
	struct conf *c;
	bool v = false;

	if (!ifconf_name_ok(name))
		return -EINVAL;
	snprintf(path, sizeof(path), "%s/%s.conf", ifconf_dir(), name);
	int rc = conf_load(&c, path, err, sizeof(err));
	if (rc < 0)
		return rc;
	rc = conf_get_bool(c, "Interface", "SaveConfig", &v, err, sizeof(err));
	conf_free(c);
	return rc == 0 && v ? 1 : 0;
}
