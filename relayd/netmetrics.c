/*
 * netmetrics.c: the relay network's Prometheus lines (metrics.c serves them): relay links,
 * the store, gossip traffic by message type, and every refusal by reason, whether gossip,
 * a HELLO or a DESC_RESP refused it (one reason, one line: the sources are added up), the
 * gossip engine's own work (drops, timeouts, anti-entropy rounds), and the DHT node's (netdht.c).
 */
#include <stdio.h>

#include "promtext.h"
#include "network.h"

/* Descriptor refusals of gossip and of our own checks, summed per label. */
static uint64_t netmetrics_desc_refused(const struct network *n, const struct gossip_stats *gs,
                                        int e)
{
	uint64_t v = gs->invalid[e] + n->st.hello_refused[e];

	if (e == DESC_E_EXPIRED)
		v += gs->expired;
	if (e == DESC_E_FUTURE)
		v += gs->future;
	return v;
}

size_t network_metrics(const struct relay *r, char *out, size_t cap)
{
	const struct network *net = r->net;
	const struct gossip_stats *gs;
	struct linkplan_stats ps;
	size_t n = 0;

	SCALAR("wgrelayd_network_enabled", "gauge", "1 when the relay network is on.", net != NULL);
	if (!net)
		return n;
	n += netdht_metrics(net, out + n, cap - n);
	gs = gossip_stats(net->g);
	linkplan_get_stats(net->plan, &ps);
	SCALAR("wgrelayd_network_links", "gauge", "Relay links up (HELLO verified both ways).",
	       linkplan_count_up(net->plan));
	SCALAR("wgrelayd_network_links_connecting", "gauge",
	       "Relay links being made (handshake or HELLO in flight).",
	       linkplan_count_connecting(net->plan));
	SCALAR("wgrelayd_network_candidates", "gauge", "Relays the link plan knows.",
	       linkplan_count(net->plan));
	SCALAR("wgrelayd_network_links_up_total", "counter", "Relay links that came up.",
	       net->st.links_up);
	SCALAR("wgrelayd_network_links_down_total", "counter", "Relay links that went down.",
	       net->st.links_down);
	SCALAR("wgrelayd_network_link_failures_total", "counter",
	       "Relay link handshakes or links that failed or timed out.", ps.failures);
	SCALAR("wgrelayd_network_rekeys_total", "counter", "Rekeys of our relay links.",
	       net->st.rekeys);
	SCALAR("wgrelayd_network_store_descriptors", "gauge", "Descriptors in the store.",
	       dstore_count(gossip_store(net->g)));
	SCALAR("wgrelayd_network_store_capacity", "gauge", "Descriptors the store holds at most.",
	       dstore_capacity(gossip_store(net->g)));
	SCALAR("wgrelayd_network_descriptors_accepted_total", "counter",
	       "Descriptors stored (new relays and newer descriptors).",
	       gs->accepted_new + gs->accepted_updated);
	SCALAR("wgrelayd_network_publishes_total", "counter",
	       "Own descriptors signed and published.", net->st.publishes);
	SCALAR("wgrelayd_network_own_seq", "gauge", "The seq of the relay's own descriptor.",
	       net->d.seq);
	SCALAR("wgrelayd_network_desc_requests_total", "counter", "DESC_REQ frames answered.",
	       net->st.desc_requests);
	SCALAR("wgrelayd_network_discover_total", "counter", "DISCOVER requests answered.",
	       net->st.discover);
	SCALAR("wgrelayd_network_discover_limited_total", "counter",
	       "DISCOVER requests dropped by a rate limit.", net->st.discover_limited);
	SCALAR("wgrelayd_network_discover_descriptors_total", "counter",
	       "Descriptors sent in answer to DISCOVER.", net->st.discover_desc);
	PUT("# HELP wgrelayd_network_refused_total Relay-network input refused, by reason.\n"
	    "# TYPE wgrelayd_network_refused_total counter\n");
	for (int e = 1; e < DESC_E_MAX; e++)
		PUT("wgrelayd_network_refused_total{reason=\"%s\"} %llu\n", desc_err_name(e),
		    (unsigned long long)netmetrics_desc_refused(net, gs, e));
	PUT("wgrelayd_network_refused_total{reason=\"stale\"} %llu\n"
	    "wgrelayd_network_refused_total{reason=\"store-full\"} %llu\n"
	    "wgrelayd_network_refused_total{reason=\"prefix-full\"} %llu\n"
	    "wgrelayd_network_refused_total{reason=\"rate-limited\"} %llu\n"
	    "wgrelayd_network_refused_total{reason=\"unknown-link\"} %llu\n"
	    "wgrelayd_network_refused_total{reason=\"bad-message\"} %llu\n"
	    "wgrelayd_network_refused_total{reason=\"unsolicited-bucket\"} %llu\n",
	    (unsigned long long)gs->stale, (unsigned long long)gs->store_full,
	    /* the store counts these itself (gossip takes them as any other refusal) */
	    (unsigned long long)dstore_stats(gossip_store(net->g))->inserted[DSTORE_PREFIX_FULL],
	    (unsigned long long)gs->rate_limited, (unsigned long long)gs->unknown_link,
	    (unsigned long long)gs->malformed, (unsigned long long)gs->unsolicited);
	for (int i = 0; i < NET_REF_MAX; i++)
		PUT("wgrelayd_network_refused_total{reason=\"%s\"} %llu\n", net_refusal_name(i),
		    (unsigned long long)net->st.refused[i]);
	PUT("# HELP wgrelayd_network_gossip_messages_total Gossip messages, by direction and "
	    "type.\n"
	    "# TYPE wgrelayd_network_gossip_messages_total counter\n");
	for (int k = 0; k < GOSSIP_K_MAX; k++)
		PUT("wgrelayd_network_gossip_messages_total{direction=\"in\",type=\"%s\"} %llu\n"
		    "wgrelayd_network_gossip_messages_total{direction=\"out\",type=\"%s\"} "
		    "%llu\n",
		    gossip_kind_name(k), (unsigned long long)gs->msgs_in[k], gossip_kind_name(k),
		    (unsigned long long)gs->msgs_out[k]);
	PUT("# HELP wgrelayd_network_gossip_bytes_total Gossip plaintext bytes, by direction and "
	    "type.\n"
	    "# TYPE wgrelayd_network_gossip_bytes_total counter\n");
	for (int k = 0; k < GOSSIP_K_MAX; k++)
		PUT("wgrelayd_network_gossip_bytes_total{direction=\"in\",type=\"%s\"} %llu\n"
		    "wgrelayd_network_gossip_bytes_total{direction=\"out\",type=\"%s\"} %llu\n",
		    gossip_kind_name(k), (unsigned long long)gs->bytes_in[k], gossip_kind_name(k),
		    (unsigned long long)gs->bytes_out[k]);
	/* The engine's own work: a relay that keeps up drops nothing and times out little. */
	PUT("# HELP wgrelayd_network_gossip_dropped_total Gossip work dropped because a local "
	    "queue or table was full, by what.\n"
	    "# TYPE wgrelayd_network_gossip_dropped_total counter\n"
	    "wgrelayd_network_gossip_dropped_total{what=\"announcement\"} %llu\n"
	    "wgrelayd_network_gossip_dropped_total{what=\"descriptor\"} %llu\n"
	    "wgrelayd_network_gossip_dropped_total{what=\"want\"} %llu\n",
	    (unsigned long long)gs->ann_dropped, (unsigned long long)gs->desc_dropped,
	    (unsigned long long)gs->want_dropped);
	SCALAR("wgrelayd_network_want_timeouts_total", "counter",
	       "WANTs not answered within their link's timeout.", gs->want_timeouts);
	SCALAR("wgrelayd_network_own_announced_again_total", "counter",
	       "Own new descriptor announced again to a link that showed no sign of it.",
	       gs->own_again);
	SCALAR("wgrelayd_network_anti_entropy_rounds_total", "counter",
	       "Anti-entropy exchanges (DIGEST) this relay started.", gs->ae_rounds);
	SCALAR("wgrelayd_network_duplicates_total", "counter",
	       "Descriptors received again with the seq already held (harmless repeats).",
	       gs->duplicate);
	SCALAR("wgrelayd_network_ctrl_bytes_in_total", "counter",
	       "Control-message bytes received on relay links (gossip, HELLO, heartbeats).",
	       net->st.ctrl_bytes_in);
	SCALAR("wgrelayd_network_ctrl_bytes_out_total", "counter",
	       "Control-message bytes sent on relay links (gossip, HELLO, heartbeats).",
	       net->st.ctrl_bytes_out);
	return n;
}
