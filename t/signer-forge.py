#!/usr/bin/env python3
"""Forged requests written straight to iota-signer's sockets.

Run by t/signer-forge.sh: argv is SIGNER CADIR PASSFILE SPKI.der CHAIN.pem
OPENSSL LOG.  The signer is started as iotad's supervisor starts it (its
sockets as descriptors 3 and 4), as an attacker in control of iotad would
find it.  Prints TAP lines (no plan: the shell script ends the plan).
"""
import os
import socket
import struct
import subprocess
import sys
import tempfile
import time

SIGNER, CADIR, PASSFILE, SPKI, CHAIN, OPENSSL, LOG = sys.argv[1:8]
n = 0


def tap(ok, what, detail=""):
    global n
    n += 1
    print(("ok" if ok else "not ok") + " %d - %s" % (n, what))
    if not ok and detail:
        for line in str(detail).splitlines():
            print("#   " + line)
    sys.stdout.flush()


def s(v):
    if v is None:
        return struct.pack(">H", 0xFFFF)
    b = v.encode() if isinstance(v, str) else v
    return struct.pack(">H", len(b)) + b


def frame(body):
    return struct.pack(">I", len(body)) + body


def issue_body(issuer, profile=3, cn="dev-1", o="acme", ou="fleet",
               dns=(), ips=(), uri=None, days=30, now=None, spki=None,
               kind=2):
    if uri is None:
        uri = "urn:iota:device:%s:%s:%s" % (o, ou, cn)
    now = int(time.time()) if now is None else now
    spki = SPKI_DER if spki is None else spki
    b = bytes([kind]) + s(issuer) + bytes([profile]) + s(cn) + s(o) + s(ou)
    b += bytes([len(dns)]) + b"".join(s(x) for x in dns)
    b += bytes([len(ips)]) + b"".join(s(x) for x in ips)
    b += s(uri) + struct.pack(">q", days) + s(None) + s(None)
    b += struct.pack(">I", len(spki)) + spki + struct.pack(">q", now)
    return b


def crl_body(issuer, number, days=2, now=None):
    now = int(time.time()) if now is None else now
    return (bytes([3]) + s(issuer) + struct.pack(">Qqq", number, now, days) +
            struct.pack(">I", 0))


def ocsp_body(issuer, serial, validity=300, now=None):
    now = int(time.time()) if now is None else now
    return (bytes([4]) + s(issuer) + bytes([1]) + s(serial) +
            struct.pack(">I", 64) + bytes([1]) + struct.pack(">q", 0) +
            bytes([0]) + struct.pack(">I", 0) + struct.pack(">qq", now,
                                                           validity))


def recv_exact(sock, k):
    buf = b""
    while len(buf) < k:
        chunk = sock.recv(k - len(buf))
        if not chunk:
            raise EOFError("the signer closed the socket")
        buf += chunk
    return buf


def read_frame(sock):
    (length,) = struct.unpack(">I", recv_exact(sock, 4))
    return recv_exact(sock, length)


def answer(sock, body):
    """(status, der, reason) of the signer's answer to one request."""
    sock.sendall(frame(body))
    a = read_frame(sock)
    assert a[0] == 0x40, "not an answer"
    status = a[3]
    (dlen,) = struct.unpack(">I", a[4:8])
    der = a[8:8 + dlen]
    p = 8 + dlen
    (sl,) = struct.unpack(">H", a[p:p + 2])
    p += 2 + (0 if sl == 0xFFFF else sl)
    p += 8
    (rl,) = struct.unpack(">H", a[p:p + 2])
    reason = "" if rl == 0xFFFF else a[p + 2:p + 2 + rl].decode()
    return status, der, reason


with open(SPKI, "rb") as f:
    SPKI_DER = f.read()

front, back = socket.socketpair()
front2, back2 = socket.socketpair()
log = open(LOG, "ab")


def give_fds():
    os.dup2(back.fileno(), 3)
    os.dup2(back2.fileno(), 4)


proc = subprocess.Popen(
    [SIGNER, "--ca-dir", CADIR, "--passphrase-file", PASSFILE,
     "--channels", "2"],
    stdin=subprocess.DEVNULL, stdout=log, stderr=log,
    preexec_fn=give_fds, pass_fds=(3, 4, back.fileno(), back2.fileno()))
back.close()
back2.close()
front.settimeout(30)
front2.settimeout(30)

hello = read_frame(front)
tap(hello[0] == 1 and hello[3] == 1, "the signer says hello with one issuer")
(ilen,) = struct.unpack(">H", hello[4:6])
ISSUER = hello[6:6 + ilen].decode()


def verify(der):
    with tempfile.NamedTemporaryFile(suffix=".der") as t:
        t.write(der)
        t.flush()
        pem = subprocess.run([OPENSSL, "x509", "-inform", "DER", "-in",
                              t.name], capture_output=True).stdout
    with tempfile.NamedTemporaryFile(suffix=".pem") as t:
        t.write(pem)
        t.flush()
        r = subprocess.run([OPENSSL, "verify", "-CAfile", CHAIN, t.name],
                           capture_output=True, text=True)
        text = subprocess.run([OPENSSL, "x509", "-noout", "-text", "-in",
                               t.name], capture_output=True, text=True)
    return r.stdout + r.stderr, text.stdout


st, der, why = answer(front, issue_body(ISSUER))
out, text = verify(der) if st == 0 else ("", "")
tap(st == 0 and ": OK" in out, "a device request is signed and verifies",
    why or out)
tap("URI:urn:iota:device:acme:fleet:dev-1" in text,
    "... naming the device it was asked for", text)


def refused(body, what, expect, sock=front):
    st, der, why = answer(sock, body)
    tap(st == 1 and der == b"" and expect in why, what,
        "status %d, reason %r" % (st, why))


refused(issue_body(ISSUER, profile=1, cn="evil-ca"),
        "a CA (intermediate) certificate: refused", "device certificates")
refused(issue_body(ISSUER, profile=0, cn="evil-root"),
        "a root certificate: refused", "device certificates")
refused(issue_body(ISSUER, profile=2, cn="www", dns=("bank.example",),
                   uri=None), "a server certificate: refused",
        "device certificates")
refused(issue_body(ISSUER, uri="urn:iota:device:other:fleet:dev-1"),
        "a URI naming another tenant's device: refused",
        "names are not those")
refused(issue_body(ISSUER, uri="urn:iota:device:acme:fleet:a:b"),
        "a URI with an extra level: refused", "names are not those")
refused(issue_body(ISSUER, dns=("dev.example",)),
        "a device certificate with a DNS name: refused", "DNS name")
refused(issue_body(ISSUER, ips=("10.0.0.1",)),
        "a device certificate with an IP address: refused", "DNS name")
refused(issue_body(ISSUER, now=int(time.time()) + 400 * 86400),
        "a request dated a year ahead (beyond the issuer): refused",
        "the signer's clock")
refused(issue_body(ISSUER, now=int(time.time()) - 3600),
        "a request dated an hour back: refused", "the signer's clock")
refused(issue_body(ISSUER, days=100000),
        "a validity of 100000 days: refused", "out of range")
refused(issue_body("00DEADBEEF"), "an issuer it holds no key for: refused",
        "no key")
refused(issue_body(ISSUER, spki=b"\x30\x03\x02\x01\x00"),
        "a key that is not a key: refused", "")
good = issue_body(ISSUER)
refused(good[:-3], "a truncated request: refused", "malformed")
refused(good + b"\x00", "trailing bytes: refused", "trailing")
refused(bytes([9]) + good[1:], "an unknown kind: refused", "kind")
refused(issue_body(ISSUER, cn="dev\x00x"), "a NUL inside a name: refused",
        "malformed")
refused(b"\x02\xff\xfe", "a string longer than the message: refused",
        "malformed")
refused(issue_body(ISSUER, spki=b"\x00" * 4096),
        "a 4 KiB key: refused", "key")
refused(crl_body(ISSUER, 5, days=365), "a CRL living a year: refused",
        "1 to 30 days")
st, der, why = answer(front, crl_body(ISSUER, 7))
tap(st == 0 and len(der) > 0, "a CRL numbered 7 is signed", why)
refused(crl_body(ISSUER, 7), "the same CRL number again: refused",
        "not above")
refused(crl_body(ISSUER, 3), "a lower CRL number: refused", "not above")
refused(ocsp_body(ISSUER, "01AB", validity=30 * 86400),
        "an OCSP answer living 30 days: refused", "7 days")
st, der, why = answer(front, ocsp_body(ISSUER, "01AB"))
tap(st == 0 and len(der) > 0, "an OCSP answer of 5 minutes is signed", why)

# Replayed: the same request twice is two certificates, two serials.
st1, der1, _ = answer(front, good)
st2, der2, _ = answer(front, good)
tap(st1 == 0 and st2 == 0 and der1 != der2,
    "a replayed request gets a fresh certificate (a fresh serial)")

# A batch: three requests in one write (a good one, a refused one, a good
# one) are answered in order, in one read or more.
front.sendall(frame(good) + frame(issue_body(ISSUER, profile=1)) +
              frame(good))
answers = [read_frame(front) for _ in range(3)]
tap([a[3] for a in answers] == [0, 1, 0],
    "a batch of three is answered in order: signed, refused, signed",
    repr([a[3] for a in answers]))
# Half a frame, then the rest: the signer waits for the whole of it.
front.sendall(frame(good)[:10])
time.sleep(0.2)
front.sendall(frame(good)[10:])
tap(read_frame(front)[3] == 0, "a frame sent in two halves is answered once")

# Oversized: a length the signer will not read closes that socket only.
front2.sendall(struct.pack(">I", 0x7FFFFFFF) + b"xx")
try:
    closed = front2.recv(1) == b""
except (ConnectionError, socket.timeout):
    closed = True
tap(closed, "an oversized frame closes its socket")
st, der, why = answer(front, good)
tap(st == 0 and proc.poll() is None,
    "the signer stays up and signs on its other socket", why)

front.close()
front2.close()
try:
    rc = proc.wait(timeout=10)
except subprocess.TimeoutExpired:
    proc.kill()
    rc = None
tap(rc == 0, "with iotad's sockets closed, the signer exits (status 0)",
    "rc %r" % rc)
log.close()
with open(LOG) as f:
    refusals = sum(1 for line in f if "refused a" in line)
tap(refusals >= 20, "every refusal is logged (%d lines)" % refusals)
