/*
 * bootline.h: the one-line form in which a relay is named by hand: "ENDPOINT KEY [URL ...]", an
 * address literal with its port (no DNS), the relay's Noise public key in base64, and, for the
 * helper, the relay's stream transport URLs (PROTOCOL.md §12.5). The client's [Relay] Bootstrap
 * lines and wgrelayd's [Network] Peer lines (no URLs) share it.
 */
#ifndef WGR_BOOTLINE_H
#define WGR_BOOTLINE_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "turl.h"

#define BOOTLINE_MAX_URLS 4

/*
 * Parse s: exactly two words, blanks between and around. A bare address takes default_port
 * (0: a port is required). 0 with *a and key set, or -EINVAL (nothing is written then).
 */
int bootline_parse(const char *s, uint16_t default_port, struct addr *a, uint8_t key[32]);
/*
 * As bootline_parse, then up to cap (at most BOOTLINE_MAX_URLS) stream URLs: tcp, tls, ws or
 * wss (udp is refused: ENDPOINT is the UDP one). 0 with *a, key, urls[0..*n) set; -EINVAL
 * (a bad word), -E2BIG (more URLs than cap). On an error nothing is written, and *bad (when not
 * NULL) gets the 1-based number of the word at fault.
 */
int bootline_parse_urls(const char *s, uint16_t default_port, struct addr *a, uint8_t key[32],
                        struct turl *urls, size_t cap, size_t *n, unsigned *bad);

#endif
