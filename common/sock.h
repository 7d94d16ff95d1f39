/*
 * sock.h: socket settings shared by the relay and the helper: receive and send buffers sized
 * for bursts, and the kernel's count of datagrams a socket dropped (mostly because its receive
 * buffer was full), so a drop the kernel makes is counted like the ones the program makes.
 *
 * The count is read with getsockopt(SO_MEMINFO), which copies it from the stack, and not
 * carried on each received datagram (SO_RXQ_OVFL): the kernel copies that one straight out
 * of the skb's control block (sock_recv_drops; SO_MARK got a bounce buffer, this did not),
 * and an skb from skbuff_fclone_cache has no usercopy whitelist for it. With hardened
 * usercopy on, recvmsg/recvmmsg then hits a kernel BUG (mm/usercopy.c, from put_cmsg) that
 * kills the reader. Affected: kernels from 4.16 (usercopy whitelists) with
 * CONFIG_HARDENED_USERCOPY, where 4.16-5.15 only warn unless HARDENED_USERCOPY_FALLBACK is
 * off; from 5.16 (no fallback) on, e.g. Debian 12's 6.1, through the 6.12 series at least
 * (whitelisting the fclone cache was only proposed upstream in December 2025).
 */
#ifndef WGR_SOCK_H
#define WGR_SOCK_H

#include <stdint.h>
#include <sys/socket.h>

/*
 * Ask for bytes of receive and send buffer: past net.core.rmem_max/wmem_max when allowed
 * (CAP_NET_ADMIN), else as much as they allow. Best effort: the defaults stay on failure.
 */
void sock_buffers(int fd, int bytes);
/*
 * The number of datagrams the kernel has dropped on fd since it was opened, a wrapping
 * counter: compare two reads by unsigned difference. One system call (keep it off the
 * per-datagram path). 0, or -errno and *count left alone.
 */
int sock_drops(int fd, uint32_t *count);

#endif
