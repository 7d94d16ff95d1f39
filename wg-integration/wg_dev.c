/*
 * wg_dev.c: device and peer containers, and the dispatcher that picks the backend per
 * interface the way wg(8) does (a UAPI socket means userspace, else the kernel).
 */
#include <errno.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sodium.h>

#include "key.h"
#include "wg.h"
#include "wg_dev.h"
#include "wg_nl.h"
#include "wg_uapi.h"

const char *wg_uapi_dir(void)
{
	const char *d = getenv("WG_UAPI_DIR");

	return d && *d ? d : WG_UAPI_DIR_DEFAULT;
}

struct wg_device *wg_dev_new(void)
{
	return calloc(1, sizeof(struct wg_device));
}

struct wg_peer *wg_dev_add_peer(struct wg_device *dev)
{
	struct wg_peer *p;

	if (dev->n_peers == dev->cap_peers) {
		size_t cap = dev->cap_peers ? dev->cap_peers * 2 : 8;

		if (cap > WG_DEV_MAX_PEERS)
			return NULL;
		p = realloc(dev->peers, cap * sizeof(*p));
		if (!p)
			return NULL;
		dev->peers = p;
		dev->cap_peers = cap;
	}
	p = &dev->peers[dev->n_peers++];
	memset(p, 0, sizeof(*p));
	return p;
}

int wg_dev_add_allowedip(struct wg_peer *peer, const struct wg_allowedip *aip)
{
	if (peer->n_allowedips == peer->cap_allowedips) {
		size_t cap = peer->cap_allowedips ? peer->cap_allowedips * 2 : 4;
		struct wg_allowedip *a;

		if (cap > WG_DEV_MAX_ALLOWEDIPS)
			return -ENOMEM;
		a = realloc(peer->allowedips, cap * sizeof(*a));
		if (!a)
			return -ENOMEM;
		peer->allowedips = a;
		peer->cap_allowedips = cap;
	}
	peer->allowedips[peer->n_allowedips++] = *aip;
	return 0;
}

bool wg_dev_has_psk(const struct wg_peer *p)
{
	return (p->flags & WG_PEER_HAS_PRESHARED_KEY) && !key_is_zero(p->preshared_key);
}

bool wg_dev_allowedip_ok(const struct wg_allowedip *a)
{
	return (a->family == AF_INET && a->cidr <= 32) || (a->family == AF_INET6 && a->cidr <= 128);
}

static bool endpoint_ok(const struct addr *a)
{
	return (a->sa.sa_family == AF_INET && a->len == sizeof(a->in)) ||
	       (a->sa.sa_family == AF_INET6 && a->len == sizeof(a->in6));
}

int wg_dev_readd_check(const struct wg_peer *p)
{
	size_t i;

	if (!(p->flags & WG_PEER_HAS_PUBLIC_KEY))
		return -EINVAL;
	if (p->n_allowedips > WG_READD_MAX_ALLOWEDIPS)
		return -E2BIG;
	if ((p->endpoint.len && !endpoint_ok(&p->endpoint)) || (p->n_allowedips && !p->allowedips))
		return -EINVAL;
	for (i = 0; i < p->n_allowedips; i++)
		if (!wg_dev_allowedip_ok(&p->allowedips[i]))
			return -EINVAL;
	return 0;
}

void wg_free_device(struct wg_device *dev)
{
	size_t i;

	if (!dev)
		return;
	for (i = 0; i < dev->n_peers; i++) {
		sodium_memzero(dev->peers[i].preshared_key, sizeof(dev->peers[i].preshared_key));
		free(dev->peers[i].allowedips);
	}
	free(dev->peers);
	sodium_memzero(dev->private_key, sizeof(dev->private_key));
	free(dev);
}

struct wg_peer *wg_device_find_peer(const struct wg_device *dev,
                                    const uint8_t pub[WG_KEY_LEN_BYTES])
{
	size_t i;

	for (i = 0; i < dev->n_peers; i++)
		if ((dev->peers[i].flags & WG_PEER_HAS_PUBLIC_KEY) &&
		    !memcmp(dev->peers[i].public_key, pub, WG_KEY_LEN_BYTES))
			return &dev->peers[i];
	return NULL;
}

/* An interface name must be usable as a file name and fit IFNAMSIZ, like the kernel wants. */
static int valid_name(const char *name)
{
	size_t n = name ? strlen(name) : 0;

	return n > 0 && n < WG_NAME_MAX && !strchr(name, '/') && strcmp(name, ".") &&
	       strcmp(name, "..");
}

static enum wg_backend backend_of(const char *name)
{
	char path[4096];
	struct stat st;
	int n = snprintf(path, sizeof(path), "%s/%s.sock", wg_uapi_dir(), name);

	if (n > 0 && (size_t)n < sizeof(path) && stat(path, &st) == 0 && S_ISSOCK(st.st_mode))
		return WG_BACKEND_UAPI;
	return WG_BACKEND_KERNEL;
}

int wg_get_device(const char *name, struct wg_device **out)
{
	*out = NULL;
	if (!valid_name(name))
		return -ENODEV;
	if (backend_of(name) == WG_BACKEND_UAPI)
		return wg_uapi_get_device(name, out);
	/* No such link at all is ENODEV, whether or not this kernel knows WireGuard. */
	if (!if_nametoindex(name))
		return -ENODEV;
	return wg_nl_get_device(name, out);
}

/*
 * The backend of name, once the peer is seen there: a peer that is not there is -ENOENT, so
 * that an update is not silently nothing and a re-add never brings back a removed peer.
 */
static int peer_backend(const char *name, const uint8_t pub[WG_KEY_LEN_BYTES], enum wg_backend *be)
{
	struct wg_device *dev;
	int r;

	if (!valid_name(name))
		return -ENODEV;
	*be = backend_of(name);
	if (*be == WG_BACKEND_KERNEL && !if_nametoindex(name))
		return -ENODEV;
	r = *be == WG_BACKEND_UAPI ? wg_uapi_get_device(name, &dev) : wg_nl_get_device(name, &dev);
	if (r < 0)
		return r;
	r = wg_device_find_peer(dev, pub) ? 0 : -ENOENT;
	wg_free_device(dev);
	return r;
}

static int set_peer(const char *name, const uint8_t pub[WG_KEY_LEN_BYTES],
                    const struct wg_peer_set *set)
{
	enum wg_backend be;
	int r = peer_backend(name, pub, &be);

	if (r < 0)
		return r;
	return be == WG_BACKEND_UAPI ? wg_uapi_set_peer(name, pub, set)
	                             : wg_nl_set_peer(name, pub, set);
}

int wg_set_peer_endpoint(const char *name, const uint8_t pub[WG_KEY_LEN_BYTES],
                         const struct addr *endpoint)
{
	struct wg_peer_set set = {.endpoint = endpoint};

	if (!endpoint || (addr_family(endpoint) != AF_INET && addr_family(endpoint) != AF_INET6))
		return -EAFNOSUPPORT;
	return set_peer(name, pub, &set);
}

int wg_set_peer_keepalive(const char *name, const uint8_t pub[WG_KEY_LEN_BYTES], uint16_t seconds)
{
	struct wg_peer_set set = {.set_keepalive = true, .keepalive = seconds};

	return set_peer(name, pub, &set);
}

int wg_peer_readd(const char *name, const struct wg_peer *p)
{
	enum wg_backend be;
	int r;

	if (!p)
		return -EINVAL;
	r = wg_dev_readd_check(p);
	if (r == 0)
		r = peer_backend(name, p->public_key, &be);
	if (r < 0)
		return r;
	return be == WG_BACKEND_UAPI ? wg_uapi_readd_peer(name, p) : wg_nl_readd_peer(name, p);
}
