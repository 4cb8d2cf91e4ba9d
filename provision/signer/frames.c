/* Frames over one socket to the signer: link-int.h. */
#include <sys/socket.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/time.h>

#include "link-int.h"

int
send_all(int fd, const unsigned char *p, size_t len)
{
	ssize_t n;

	while (len > 0) {
		if ((n = send(fd, p, len, MSG_NOSIGNAL)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

void
set_timeout(int fd, int seconds)
{
	struct timeval tv = { seconds, 0 };

	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
}

/* At least one byte, at most len; -1 with errno (ETIMEDOUT, EPIPE). */
static ssize_t
recv_some(int fd, unsigned char *p, size_t len)
{
	ssize_t n;

	while ((n = recv(fd, p, len, 0)) == -1 && errno == EINTR)
		;
	if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
		errno = ETIMEDOUT;
	else if (n == 0)
		errno = EPIPE;
	return n > 0 ? n : -1;
}

/* Room for `want` bytes in the socket's buffer. */
static int
room(struct chan *c, size_t want)
{
	unsigned char *p;
	size_t cap = c->rcap ? c->rcap : 4096;

	while (cap < want)
		cap *= 2;
	if (cap == c->rcap)
		return 0;
	if ((p = realloc(c->rbuf, cap)) == NULL)
		return -1;
	c->rbuf = p;
	c->rcap = cap;
	return 0;
}

/*
 * The socket's next frame body, malloc'd; -1 with errno.  Reads take what
 * is there: a batch's answers come in one write.
 */
int
read_frame(struct chan *c, unsigned char **body, size_t *len)
{
	uint32_t want = 0;
	ssize_t n;

	for (;;) {
		if (c->rhave >= 4) {
			want = wire_frame_len(c->rbuf);
			if (want == 0 || want > WIRE_FRAME_MAX) {
				errno = EPROTO;
				return -1;
			}
			if (c->rhave >= 4 + (size_t)want)
				break;
		}
		if (room(c, c->rhave >= 4 ? 4 + (size_t)want : c->rhave + 4096) ==
		    -1)
			return -1;
		if ((n = recv_some(c->fd, c->rbuf + c->rhave, c->rcap -
		    c->rhave)) == -1)
			return -1;
		c->rhave += (size_t)n;
	}
	if ((*body = malloc(want)) == NULL)
		return -1;
	memcpy(*body, c->rbuf + 4, want);
	c->rhave -= 4 + (size_t)want;
	memmove(c->rbuf, c->rbuf + 4 + want, c->rhave);
	*len = want;
	return 0;
}

/* A signer's sockets, closed, and their buffers. */
void
gen_free(struct gen *g)
{
	for (int i = 0; i < g->n; i++) {
		close(g->ch[i].fd);
		free(g->ch[i].rbuf);
	}
	free(g);
}
