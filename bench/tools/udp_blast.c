// SPDX-License-Identifier: Apache-2.0
/*
 * udp_blast: small UDP datagrams as fast as one core can send them, 64 per sendmmsg() call, so the
 * figure measures the path the packets take rather than one system call per packet (iperf3 -u
 * makes one write per datagram).
 *
 *   udp_blast <dst ipv4> <port> <payload bytes> <seconds>   → prints "<datagrams sent> <seconds>"
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 64

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	if (argc != 5) {
		fprintf(stderr, "usage: udp_blast <dst ipv4> <port> <payload bytes> <seconds>\n");
		return 2;
	}
	struct sockaddr_in dst = { .sin_family = AF_INET, .sin_port = htons(atoi(argv[2])) };
	if (inet_pton(AF_INET, argv[1], &dst.sin_addr) != 1) {
		fprintf(stderr, "udp_blast: bad address %s\n", argv[1]);
		return 2;
	}
	size_t len = (size_t)atoi(argv[3]);
	double seconds = atof(argv[4]);
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&dst, sizeof(dst)) < 0) {
		perror("udp_blast: socket");
		return 1;
	}
	char *payload = calloc(1, len ? len : 1);
	struct iovec iov = { .iov_base = payload, .iov_len = len };
	struct mmsghdr msgs[BATCH];
	memset(msgs, 0, sizeof(msgs));
	for (int i = 0; i < BATCH; i++) {
		msgs[i].msg_hdr.msg_iov = &iov;
		msgs[i].msg_hdr.msg_iovlen = 1;
	}
	unsigned long long sent = 0;
	double start = now(), end = start + seconds, t = start;
	while (t < end) {
		int n = sendmmsg(fd, msgs, BATCH, 0);
		if (n > 0)
			sent += (unsigned long long)n;
		t = now();
	}
	printf("%llu %.6f\n", sent, t - start);
	return 0;
}
