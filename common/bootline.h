/*
 * bootline.h: the one-line form in which a relay is named by hand: "ENDPOINT KEY", an address
 * literal with its port (no DNS) and the relay's Noise public key in base64. The client's
 * [Relay] Bootstrap lines and wgrelayd's [Network] Peer lines share it.
 */
#ifndef WGR_BOOTLINE_H
#define WGR_BOOTLINE_H

#include <stdint.h>

#include "addr.h"

/*
 * Parse s: exactly two words, blanks between and around. A bare address takes default_port
 * (0: a port is required). 0 with *a and key set, or -EINVAL (nothing is written then).
 */
int bootline_parse(const char *s, uint16_t default_port, struct addr *a, uint8_t key[32]);

#endif
