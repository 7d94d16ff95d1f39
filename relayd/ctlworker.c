/*
 * ctlworker.c: a worker's control sockets (relay.h). With workers, each Listen address has one
 * socket per worker in a SO_REUSEPORT group; the kernel steers a client's address and port to
 * one of them, so every frame of a link reaches one worker, in order. The worker forwards the
 * sealed DATA frames it reads: their checks and counters under the relay lock, once per batch,
 * and the crypto (one open and one seal per frame, most of the cost) outside it, so workers
 * open and reseal in parallel. Every other frame (handshakes, CTRL, PING, the relay network's)
 * goes to the control thread through a bounded hand-off queue: the control thread keeps sole
 * charge of links, timers and streams, as without workers.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "promtext.h"
#include "relay.h"
#include "sock.h"
#include "worker.h"

/* Datagrams read per batch (recvmmsg) and sent per batch (sendmmsg). */
#define CW_BATCH 32
/* The hand-off queue: at most this many frames and bytes wait for the control thread. */
#define CW_HANDOFF_MAX   256
#define CW_HANDOFF_BYTES (256 << 10)

struct cw_frame {
	uint32_t off, len;
	int fd, type; /* type: frame_check's answer (the rate limit already applied) */
	struct addr src;
};

struct cw_queue {
	struct cw_frame f[CW_HANDOFF_MAX];
	size_t n, used;
	uint8_t arena[CW_HANDOFF_BYTES];
};

struct ctlworker {
	uint8_t buf[CW_BATCH][PROTO_MAX_FRAME];
	struct sockaddr_storage src[CW_BATCH];
	struct mmsghdr rx[CW_BATCH];
	struct iovec rxiov[CW_BATCH];
	struct sealed_job job[CW_BATCH];
	int jobrx[CW_BATCH]; /* the received datagram of each job */
	struct addr dst[CW_BATCH];
	struct mmsghdr tx[CW_BATCH];
	struct iovec txiov[CW_BATCH];
	int txfd[CW_BATCH];
	int txjob[CW_BATCH]; /* the job each send carries */
	/*
	 * Frames for the control thread: the worker fills *fill under mu; the control thread
	 * swaps fill and spare under mu and then reads spare alone.
	 */
	pthread_mutex_t mu;
	struct cw_queue *fill, *spare;
	int wake_fd; /* eventfd on the control loop: frames are waiting */
};

/* Copy frame p (n bytes of type t, from src to socket fd) into the hand-off queue; false when
 * full. */
static bool ctlworker_push(struct ctlworker *cw, int fd, int t, const uint8_t *p, size_t n,
                           const struct addr *src)
{
	struct cw_queue *q = cw->fill;

	if (q->n == CW_HANDOFF_MAX || n > CW_HANDOFF_BYTES - q->used)
		return false;
	memcpy(q->arena + q->used, p, n);
	q->f[q->n++] = (struct cw_frame){(uint32_t)q->used, (uint32_t)n, fd, t, *src};
	q->used += n;
	return true;
}

/* The control loop's side: every waiting frame handled as if read there (its rate limit was
 * applied by the worker, before the queue). */
static void ctlworker_drain(struct ev_loop *loop, int fd, unsigned events, void *arg)
{
	struct worker *w = arg;
	struct ctlworker *cw = w->cw;
	struct cw_queue *q;
	uint64_t v;

	(void)loop;
	(void)events;
	(void)!read(fd, &v, sizeof(v));
	pthread_mutex_lock(&cw->mu);
	q = cw->fill;
	cw->fill = cw->spare;
	cw->spare = q;
	pthread_mutex_unlock(&cw->mu);
	/* The control thread holds the relay lock here, as in every handler of its loop. */
	for (size_t i = 0; i < q->n; i++)
		control_dispatch(w->r, q->f[i].fd, q->f[i].type, q->arena + q->f[i].off,
		                 q->f[i].len, &q->f[i].src);
	/* A resealed frame queued by control_dispatch points into the arena: out before reuse. */
	control_flush(w->r);
	q->n = q->used = 0;
}

/* Send the batch's resealed frames; returns how many the kernel refused, *bytes their payload. */
static uint64_t ctlworker_send(struct ctlworker *cw, int ntx, uint64_t *bytes)
{
	uint64_t failed = 0;
	int start = 0;

	*bytes = 0;
	for (int i = 1; i <= ntx; i++) {
		int done = start, sent = 0;

		if (i < ntx && cw->txfd[i] == cw->txfd[start])
			continue;
		while (done < i && (sent = sendmmsg(cw->txfd[start], cw->tx + done,
		                                    (unsigned)(i - done), MSG_DONTWAIT)) > 0)
			done += sent;
		for (int k = done; k < i; k++) {
			failed++;
			*bytes += (uint64_t)cw->job[cw->txjob[k]].n;
		}
		start = i;
	}
	return failed;
}

/* Queue job k's resealed frame as send number ntx. */
static void ctlworker_queue(struct relay *r, struct ctlworker *cw, int ntx, int k)
{
	struct sealed_job *j = &cw->job[k];

	cw->dst[ntx] = j->dst;
	if (control_fd_v6(r, j->y_fd))
		addr_to_v6mapped(&cw->dst[ntx], &j->dst);
	cw->txiov[ntx] = (struct iovec){j->frame, j->flen};
	cw->tx[ntx].msg_hdr = (struct msghdr){.msg_name = &cw->dst[ntx].sa,
	                                      .msg_namelen = cw->dst[ntx].len,
	                                      .msg_iov = &cw->txiov[ntx],
	                                      .msg_iovlen = 1};
	cw->txfd[ntx] = j->y_fd;
	cw->txjob[ntx] = k;
}

/*
 * The worker's side: one batch from control socket cs. DATA frames are planned (lock), opened
 * and resealed (no lock), committed (lock) and sent (no lock); the rest is handed off.
 */
static void ctlworker_read(struct ev_loop *loop, int fd, unsigned events, void *arg)
{
	struct ctl_sock *cs = arg;
	struct worker *w = cs->w;
	struct relay *r = w->r;
	struct ctlworker *cw = w->cw;
	uint64_t now = ev_now_ms(loop), failed, failed_bytes, malformed = 0, full = 0, pushed = 0;
	uint32_t kdrops = 0, seen = cs->drops;
	/* Per received datagram: its frame type, its source, and whether the control thread
	 * takes it. */
	int type[CW_BATCH], njob = 0, ntx = 0, n;
	struct addr from[CW_BATCH];
	bool hand[CW_BATCH], any_hand = false;

	(void)events;
	for (int i = 0; i < CW_BATCH; i++) {
		cw->rxiov[i] = (struct iovec){cw->buf[i], PROTO_MAX_FRAME};
		cw->rx[i].msg_hdr = (struct msghdr){.msg_name = &cw->src[i],
		                                    .msg_namelen = sizeof(cw->src[i]),
		                                    .msg_iov = &cw->rxiov[i],
		                                    .msg_iovlen = 1};
	}
	n = recvmmsg(fd, cw->rx, CW_BATCH, MSG_DONTWAIT, NULL);
	if (n <= 0)
		return;
	/* Only this worker reads cs: its drop counter needs no lock across the system call. */
	if (n == CW_BATCH || now - cs->drops_ms >= RELAY_DROPS_READ_MS) {
		cs->drops_ms = now;
		sock_drops(fd, &cs->drops);
		kdrops = cs->drops - seen;
	}
	for (int i = 0; i < n; i++) {
		struct msghdr *h = &cw->rx[i].msg_hdr;

		hand[i] = false;
		if (h->msg_flags & MSG_TRUNC) {
			malformed++;
			continue;
		}
		type[i] = frame_check(cw->buf[i], cw->rx[i].msg_len);
		if (type[i] < 0) {
			malformed++;
			continue;
		}
		addr_from_sockaddr(&from[i], (struct sockaddr *)&cw->src[i], h->msg_namelen);
		addr_unmap(&from[i]);
		if (type[i] != PROTO_DATA) {
			hand[i] = any_hand = true;
			continue;
		}
		cw->job[njob] = (struct sealed_job){
		    .frame = cw->buf[i], .len = cw->rx[i].msg_len, .src = from[i]};
		cw->jobrx[njob++] = i;
	}

	relay_lock(r);
	r->st.drops[DROP_SOCKET_FULL] += kdrops;
	r->st.drops[DROP_MALFORMED] += malformed;
	for (int k = 0; k < njob; k++) {
		enum sealed_plan_result res = sealed_plan(r, &cw->job[k], true);

		if (res == SEALED_CONTROL)
			hand[cw->jobrx[k]] = any_hand = true;
		/* Not opened: sealed_commit passes it by. */
		if (res != SEALED_CRYPT)
			cw->job[k].frame = NULL;
	}
	relay_unlock(r);

	for (int k = 0; k < njob; k++)
		if (cw->job[k].frame)
			sealed_crypt(&cw->job[k]);

	relay_lock(r);
	for (int k = 0; k < njob; k++)
		if (cw->job[k].frame && sealed_commit(r, &cw->job[k], now)) {
			ctlworker_queue(r, cw, ntx++, k);
			w->sealed_pkts++;
		}
	if (any_hand) {
		/* In the order they arrived, a frame a plan sent back among the others. */
		pthread_mutex_lock(&cw->mu);
		for (int i = 0; i < n; i++) {
			if (!hand[i])
				continue;
			/* A flood from one source is cut here, before it fills the queue. */
			if (!control_rate_ok(r, type[i], &from[i], now))
				continue;
			if (ctlworker_push(cw, fd, type[i], cw->buf[i], cw->rx[i].msg_len,
			                   &from[i]))
				pushed++;
			else
				full++;
		}
		pthread_mutex_unlock(&cw->mu);
		r->st.drops[DROP_SOCKET_FULL] += full;
	}
	relay_unlock(r);
	if (pushed) {
		uint64_t one = 1;

		/* The counter only saturates after 2^64-2 wakes; a failed write leaves it > 0. */
		(void)!write(cw->wake_fd, &one, sizeof(one));
	}

	failed = ctlworker_send(cw, ntx, &failed_bytes);
	if (!failed)
		return;
	relay_lock(r);
	r->st.drops[DROP_SEND] += failed;
	r->st.pkts[1] -= failed;
	r->st.bytes[1] -= failed_bytes;
	w->sealed_pkts -= failed;
	relay_unlock(r);
}

int ctlworker_attach(struct relay *r, struct ctl_sock *cs)
{
	struct worker *w = cs->w;
	struct ctlworker *cw = w->cw;

	if (!cw) {
		if (!(cw = calloc(1, sizeof(*cw))) || !(cw->fill = calloc(1, sizeof(*cw->fill))) ||
		    !(cw->spare = calloc(1, sizeof(*cw->spare))) ||
		    (cw->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0) {
			if (cw) {
				free(cw->fill);
				free(cw->spare);
			}
			free(cw);
			return -ENOMEM;
		}
		pthread_mutex_init(&cw->mu, NULL);
		if (ev_add_io(r->loop, cw->wake_fd, EV_READ, ctlworker_drain, w) < 0) {
			close(cw->wake_fd);
			free(cw->fill);
			free(cw->spare);
			free(cw);
			return -ENOMEM;
		}
		w->cw = cw;
	}
	return worker_watch(w, cs->fd, ctlworker_read, cs);
}

size_t ctlworker_metrics(const struct relay *r, char *out, size_t cap)
{
	size_t n = 0;

	if (!r->n_workers)
		return 0;
	PUT("# HELP wgrelayd_worker_sealed_packets_total Sealed DATA frames each forwarding thread "
	    "opened and resealed.\n"
	    "# TYPE wgrelayd_worker_sealed_packets_total counter\n");
	for (unsigned w = 0; w < r->n_workers; w++)
		PUT("wgrelayd_worker_sealed_packets_total{worker=\"%u\"} %llu\n", w,
		    (unsigned long long)r->workers[w].sealed_pkts);
	return n;
}
