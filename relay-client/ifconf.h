/* ifconf.h: interface names and the wg-quick configuration next to them. */
#ifndef WGR_IFCONF_H
#define WGR_IFCONF_H

#include <stdbool.h>

/* A Linux interface name: 1-15 characters, no '/', whitespace or ':'. */
bool ifconf_name_ok(const char *name);
/* wg-quick's directory: $WGRELAY_WG_CONF_DIR or /etc/wireguard. */
const char *ifconf_dir(void);
/* 1 when DIR/NAME.conf says SaveConfig = true, 0 when not, -errno when unreadable. */
int ifconf_saveconfig(const char *name);

#endif
