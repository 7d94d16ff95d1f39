/*
 * delayline.c: wgr-sim-delay, a fixed delay on NFQUEUE queues, for the worlds of sim/world.sh
 * on kernels without sch_netem. Each packet is held in its queue's FIFO for the queue's delay,
 * then accepted; as every packet of a queue waits the same time, arrival order is release
 * order and one batch verdict (all ids up to the last due one) releases a whole run. The
 * kernel keeps the packets (copy mode META): only ids and due times live here, in a ring as
 * long as the kernel queue may get (NFQA_CFG_QUEUE_MAXLEN), so nothing is allocated per packet.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_queue.h>

#define DL_MAX_QUEUES 8
#define DL_RING       4096 /* also the kernel's queue limit: it never hands over more */
#define DL_RCVBUF     (4 << 20)
#define DL_BURST      256 /* messages read before the timers are looked at again */
#define DL_MAX_MS     60000

struct held {
	uint32_t id;
	uint64_t due_ns;
};

struct dl_queue {
	uint16_t num;
	uint64_t delay_ns;
	struct held *ring;
	uint32_t head, len;
	uint64_t passed, overflow;
};

struct dl {
	struct mnl_socket *nl;
	struct dl_queue q[DL_MAX_QUEUES];
	int nq;
	uint32_t seq, ack_seq; /* ack_seq: the config request awaiting its ack, 0 if none */
	int ack_err;
	uint64_t bad, send_fail;
	uint8_t buf[8192]; /* MNL_SOCKET_BUFFER_SIZE, which is not a constant */
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static struct nlmsghdr *dl_msg_start(uint8_t *buf, int type, uint16_t queue)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct nfgenmsg *nfg;

	nlh->nlmsg_type = (NFNL_SUBSYS_QUEUE << 8) | type;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
	nfg->nfgen_family = AF_UNSPEC;
	nfg->version = NFNETLINK_V0;
	nfg->res_id = htons(queue);
	return nlh;
}

/* Accept packet id and, for NFQNL_MSG_VERDICT_BATCH, every earlier one of the queue. */
static void dl_verdict(struct dl *d, const struct dl_queue *q, int type, uint32_t id)
{
	uint8_t buf[128];
	struct nlmsghdr *nlh = dl_msg_start(buf, type, q->num);
	struct nfqnl_msg_verdict_hdr v = {.verdict = htonl(NF_ACCEPT), .id = htonl(id)};

	mnl_attr_put(nlh, NFQA_VERDICT_HDR, sizeof(v), &v);
	if (mnl_socket_sendto(d->nl, nlh, nlh->nlmsg_len) < 0)
		d->send_fail++; /* the packets stay queued; the next batch takes them along */
}

static int dl_attr(const struct nlattr *a, void *data)
{
	const struct nlattr **tb = data;

	if (mnl_attr_type_valid(a, NFQA_MAX) < 0)
		return MNL_CB_OK; /* newer kernel: skip what we do not know */
	tb[mnl_attr_get_type(a)] = a;
	return MNL_CB_OK;
}

static void dl_packet(struct dl *d, const struct nlmsghdr *nlh, uint64_t now)
{
	const struct nlattr *tb[NFQA_MAX + 1] = {0};
	struct dl_queue *q = NULL;
	uint16_t res_id;
	uint32_t id;

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(struct nfgenmsg) ||
	    mnl_attr_parse(nlh, sizeof(struct nfgenmsg), dl_attr, tb) != MNL_CB_OK ||
	    !tb[NFQA_PACKET_HDR] || mnl_attr_get_payload_len(tb[NFQA_PACKET_HDR]) < sizeof(id)) {
		d->bad++;
		return;
	}
	memcpy(&res_id,
	       (const uint8_t *)mnl_nlmsg_get_payload(nlh) + offsetof(struct nfgenmsg, res_id),
	       sizeof(res_id));
	memcpy(&id, mnl_attr_get_payload(tb[NFQA_PACKET_HDR]), sizeof(id));
	id = ntohl(id);
	for (int i = 0; i < d->nq; i++)
		if (d->q[i].num == ntohs(res_id))
			q = &d->q[i];
	if (!q) {
		d->bad++;
		return;
	}
	if (q->len == DL_RING) {
		q->overflow++; /* cannot happen while the kernel honours the limit: pass it now */
		dl_verdict(d, q, NFQNL_MSG_VERDICT, id);
		return;
	}
	q->ring[(q->head + q->len) % DL_RING] = (struct held){id, now + q->delay_ns};
	q->len++;
}

static void dl_msg(struct dl *d, const struct nlmsghdr *nlh, uint64_t now)
{
	int err;

	if (nlh->nlmsg_type == NLMSG_ERROR) {
		if (mnl_nlmsg_get_payload_len(nlh) < sizeof(err)) {
			d->bad++;
			return;
		}
		memcpy(&err, mnl_nlmsg_get_payload(nlh), sizeof(err));
		if (d->ack_seq && nlh->nlmsg_seq == d->ack_seq) {
			d->ack_err = err;
			d->ack_seq = 0;
		} else if (err) {
			d->bad++; /* a verdict the kernel refused */
		}
		return;
	}
	if (nlh->nlmsg_type == ((NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET))
		dl_packet(d, nlh, now);
	else if (nlh->nlmsg_type != NLMSG_NOOP)
		d->bad++;
}

/* Read what is waiting (at most DL_BURST datagrams) and hold the packets it announces. */
static void dl_input(struct dl *d)
{
	for (int k = 0; k < DL_BURST; k++) {
		ssize_t n = mnl_socket_recvfrom(d->nl, d->buf, sizeof(d->buf));
		uint64_t now = now_ns();
		const struct nlmsghdr *nlh = (const struct nlmsghdr *)d->buf;
		int len = (int)n;

		if (n < 0)
			return; /* EAGAIN; lost messages (NETLINK_NO_ENOBUFS) go with a later batch */
		for (; mnl_nlmsg_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len))
			dl_msg(d, nlh, now);
		if (len > 0)
			d->bad++;
	}
}

/* Release what is due (everything when all is set); return the next due time, 0 if none. */
static uint64_t dl_release(struct dl *d, uint64_t now, int all)
{
	uint64_t next = 0;

	for (int i = 0; i < d->nq; i++) {
		struct dl_queue *q = &d->q[i];
		uint32_t n = 0, last = 0;

		while (q->len && (all || q->ring[q->head].due_ns <= now)) {
			last = q->ring[q->head].id;
			q->head = (q->head + 1) % DL_RING;
			q->len--;
			n++;
		}
		if (n) {
			dl_verdict(d, q, NFQNL_MSG_VERDICT_BATCH, last);
			q->passed += n;
		}
		if (q->len && (!next || q->ring[q->head].due_ns < next))
			next = q->ring[q->head].due_ns;
	}
	return next;
}

/*
 * Configure queue q (binding it first when bind is set): copy mode META, maxlen, flags; wait
 * up to 2 s for the kernel's answer.
 */
static int dl_config(struct dl *d, const struct dl_queue *q, int bind, uint32_t maxlen,
                     uint32_t flags)
{
	uint8_t buf[256];
	struct nlmsghdr *nlh = dl_msg_start(buf, NFQNL_MSG_CONFIG, q->num);
	struct nfqnl_msg_config_cmd cmd = {.command = NFQNL_CFG_CMD_BIND};
	struct nfqnl_msg_config_params p = {.copy_range = 0, .copy_mode = NFQNL_COPY_META};
	uint64_t end = now_ns() + 2000000000u;
	struct pollfd pfd = {.fd = mnl_socket_get_fd(d->nl), .events = POLLIN};

	nlh->nlmsg_flags |= NLM_F_ACK;
	nlh->nlmsg_seq = d->ack_seq = ++d->seq;
	if (bind)
		mnl_attr_put(nlh, NFQA_CFG_CMD, sizeof(cmd), &cmd);
	mnl_attr_put(nlh, NFQA_CFG_PARAMS, sizeof(p), &p);
	mnl_attr_put_u32(nlh, NFQA_CFG_QUEUE_MAXLEN, htonl(maxlen));
	mnl_attr_put_u32(nlh, NFQA_CFG_MASK, htonl(NFQA_CFG_F_GSO | NFQA_CFG_F_FAIL_OPEN));
	mnl_attr_put_u32(nlh, NFQA_CFG_FLAGS, htonl(flags));
	if (mnl_socket_sendto(d->nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	while (d->ack_seq && now_ns() < end) {
		poll(&pfd, 1, 100);
		dl_input(d); /* packets of queues bound already are held meanwhile */
	}
	if (d->ack_seq)
		return -ETIMEDOUT;
	return d->ack_err;
}

static int dl_parse_queue(struct dl *d, const char *s)
{
	char *end;
	unsigned long num = strtoul(s, &end, 10), ms;

	if (end == s || *end != ':' || num > 65535)
		return -EINVAL;
	s = end + 1;
	ms = strtoul(s, &end, 10);
	if (end == s || *end || ms > DL_MAX_MS || d->nq == DL_MAX_QUEUES)
		return -EINVAL;
	for (int i = 0; i < d->nq; i++)
		if (d->q[i].num == num)
			return -EINVAL;
	d->q[d->nq].num = (uint16_t)num;
	d->q[d->nq].delay_ns = ms * 1000000u;
	d->q[d->nq].ring = calloc(DL_RING, sizeof(struct held));
	if (!d->q[d->nq].ring)
		return -ENOMEM;
	d->nq++;
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: wgr-sim-delay --queue NUM:MS [--queue NUM:MS ...]\n"
	        "Hold each packet of NFQUEUE queue NUM for MS milliseconds (0-%d), then accept "
	        "it.\nSIGTERM or SIGINT accepts what is held and exits.\n",
	        DL_MAX_MS);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"queue", required_argument, NULL, 'q'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	static struct dl d; /* the receive buffer is too big for the stack */
	struct sigaction sa = {.sa_handler = on_signal};
	sigset_t block, wait_mask;
	int one = 1, rcvbuf = DL_RCVBUF, bound = 0, ch, r, rc = 1;

	while ((ch = getopt_long(argc, argv, "q:h", opts, NULL)) != -1) {
		if (ch == 'h') {
			usage(stdout);
			return 0;
		}
		if (ch != 'q' || dl_parse_queue(&d, optarg) < 0) {
			if (ch == 'q')
				fprintf(stderr, "wgr-sim-delay: bad queue '%s'\n", optarg);
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc || d.nq == 0) {
		usage(stderr);
		return 2;
	}
	/* Signals are let in only inside ppoll, so a stop is never missed before it sleeps. */
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigprocmask(SIG_BLOCK, &block, &wait_mask);
	sigdelset(&wait_mask, SIGTERM);
	sigdelset(&wait_mask, SIGINT);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	d.nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (!d.nl || mnl_socket_bind(d.nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		perror("wgr-sim-delay: netlink");
		goto out;
	}
	/* binding a queue needs CAP_NET_ADMIN anyway, which SO_RCVBUFFORCE asks too */
	mnl_socket_setsockopt(d.nl, NETLINK_NO_ENOBUFS, &one, sizeof(one));
	setsockopt(mnl_socket_get_fd(d.nl), SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf));
	for (; bound < d.nq; bound++) {
		/* GSO: a large packet is held whole, not segmented first (the payload is unread) */
		r = dl_config(&d, &d.q[bound], 1, DL_RING, NFQA_CFG_F_GSO);
		if (r < 0) {
			fprintf(stderr, "wgr-sim-delay: bind queue %u: %s\n", d.q[bound].num,
			        strerror(-r));
			goto out;
		}
	}
	while (!stop) {
		struct pollfd pfd = {.fd = mnl_socket_get_fd(d.nl), .events = POLLIN};
		uint64_t now = now_ns(), next = dl_release(&d, now, 0);
		struct timespec ts = {0};

		if (next) {
			ts.tv_sec = (time_t)((next - now) / 1000000000u);
			ts.tv_nsec = (long)((next - now) % 1000000000u);
		}
		if (ppoll(&pfd, 1, next ? &ts : NULL, &wait_mask) > 0)
			dl_input(&d);
	}
	rc = 0;
out:
	if (d.nl) {
		/*
		 * Closing the socket drops what is still queued. A queue limit of 0 with FAIL_OPEN
		 * lets new packets pass unqueued, so after this nothing more comes to be dropped.
		 */
		for (int i = 0; i < bound; i++)
			dl_config(&d, &d.q[i], 0, 0, NFQA_CFG_F_GSO | NFQA_CFG_F_FAIL_OPEN);
		dl_input(&d);
		dl_release(&d, 0, 1);
		mnl_socket_close(d.nl);
	}
	for (int i = 0; i < d.nq; i++) {
		fprintf(stderr, "wgr-sim-delay: queue %u: %llu passed, %llu over the limit\n",
		        d.q[i].num, (unsigned long long)d.q[i].passed,
		        (unsigned long long)d.q[i].overflow);
		free(d.q[i].ring);
	}
	fprintf(stderr, "wgr-sim-delay: %llu bad messages, %llu failed sends\n",
	        (unsigned long long)d.bad, (unsigned long long)d.send_fail);
	return rc;
}
