#!/usr/bin/env python3
"""A connection flood for t/reliability-flood.sh: from each source address,
keep up to PER connections to HOST:PORT open as slow TLS clients (the
handshake done, then a request head trickled one header line a second,
never finished); a connection the server closes is opened again.  Every
second, STATUS gets "open=N opened=N refused=N" (written then renamed).
Runs until killed.

usage: reliability-flood.py HOST PORT PER STATUS ADDRESS..."""
import os, socket, ssl, sys, time

host, port, per, status = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
addrs = sys.argv[5:]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
conns = {a: [] for a in addrs}
opened = refused = 0

def connect(a):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(2)
    s.bind((a, 0))
    s.connect((host, port))
    t = ctx.wrap_socket(s, server_hostname="localhost")
    t.sendall(b"GET /v1/health HTTP/1.1\r\nHost: localhost\r\n")
    t.setblocking(False)
    return t

last = 0
while True:
    now = time.monotonic()
    for a in addrs:
        live = []
        for t in conns[a]:
            try:
                if now - last >= 1:
                    t.send(b"X-Slow: 1\r\n")
                try:
                    if t.recv(4096) == b"":
                        raise OSError("closed")
                except ssl.SSLWantReadError:
                    pass
                live.append(t)
            except (OSError, ssl.SSLError):
                t.close()
        conns[a] = live
        while len(conns[a]) < per:
            try:
                conns[a].append(connect(a))
                opened += 1
            except (OSError, ssl.SSLError):
                refused += 1
                break
    if now - last >= 1:
        last = now
        n = sum(len(v) for v in conns.values())
        with open(status + ".tmp", "w") as f:
            f.write("open=%d opened=%d refused=%d\n" % (n, opened, refused))
        os.rename(status + ".tmp", status)
    time.sleep(0.05)
