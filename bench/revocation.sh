#!/bin/bash
# The revocation benchmark (`make bench-revocation`; never part of
# `make check`): iotad's OCSP responder and CRL endpoint on its plain-HTTP
# listener, against `openssl ocsp` as a responder on the same CA and the
# same request, interleaved rounds on the same two cores: wrk (keep-alive,
# 16 connections, 2 threads) for iotad, and curl with a new connection per
# answer (8 at once) for both, since openssl's responder closes after each.
#
# Printed: answers per second, and server CPU per answer (utime+stime from
# /proc/PID/stat over the round, divided by the answers), medians of the
# rounds.  openssl's responder serves one connection at a time and closes
# it after each answer: it is the floor, not a match for a threaded one.
#
# usage: revocation.sh [--quick]
# environment: IOTAD IOTACTL T_SRCDIR (set by make bench-revocation)
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
set -u
. "$T_SRCDIR/lib/tap.sh"
. "$T_SRCDIR/lib/iotad.sh"
. "$(dirname "$0")/lib/cpu.sh"
. "$T_SRCDIR/lib/ports.sh"
need_iotad
command -v wrk >/dev/null || bail_out "wrk not found (apt-get install wrk)"

ROUNDS=3 SECS=5 REVOKED=1000
[ "${1:-}" = --quick ] && ROUNDS=1 SECS=2 REVOKED=100
HZ=$(getconf CLK_TCK)
W=$T_TMP

say() { printf '%s\n' "$*" >&2; }
median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

IOTAD_LOG_LEVEL=warn
iotad_setup "$W/iotad" "revocation:
  port: 0"
IOTAD_LOG_LEVEL=info
iotad_write_conf "revocation:
  port: 0"
iotad_start || bail_out "iotad did not start"
REV_PORT=$(sed -n 's|.* revocation listening on http://127\.0\.0\.1:\([0-9][0-9]*\)$|\1|p' \
    "$IOTAD_LOG" | tail -1)
CA=$W/iotad/ca
INTER=$CA/intermediate.crt

# A device, and REVOKED revoked ones so that the CRL and the index are not
# trivially small.
tenant_add bench OP || bail_out "tenant"
group_add "$OP" g SECRET || bail_out "group"
seq -f "r%.0f" 1 "$REVOKED" | jq -R . | jq -sc '{names: (. + ["d1"])}' >"$W/names.json"
api_file POST /v1/groups/g/devices "$OP" "$W/names.json"
[ "$STATUS" = 201 ] || bail_out "devices: $STATUS"
device_key "$W/d1"
provision "$SECRET" g d1 "$W/d1.csr"
[ "$STATUS" = 201 ] || bail_out "provision d1: $STATUS"
save_provisioned "$W/d1"
say "provisioning and revoking $REVOKED devices (a key each: a revoked key is banned)"
for ((i = 1; i <= REVOKED; i++)); do
	device_key "$W/r"
	provision "$SECRET" g "r$i" "$W/r.csr"
	[ "$STATUS" = 201 ] || bail_out "provision r$i: $STATUS"
	api POST "/v1/groups/g/devices/r$i/revoke" "$OP"
	[ "$STATUS" = 200 ] || bail_out "revoke r$i: $STATUS"
done

ossl ocsp -issuer "$INTER" -cert "$W/d1.crt" -no_nonce -reqout "$W/req.der" \
    2>/dev/null || bail_out "openssl ocsp -reqout"
cat >"$W/post.lua" <<EOF
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/ocsp-request"
local f = io.open("$W/req.der", "rb")
wrk.body = f:read("*a")
f:close()
EOF
# The peer: openssl's responder on an index.txt of the same certificate.
serial=$(ossl x509 -in "$W/d1.crt" -noout -serial | sed 's/^serial=//')
end=$(ossl x509 -in "$W/d1.crt" -noout -enddate | sed 's/^notAfter=//')
printf 'V\t%s\t\t%s\tunknown\t/CN=d1\n' "$(date -u -d "$end" +%y%m%d%H%M%SZ)" \
    "$serial" >"$W/index.txt"
openssl pkey -in "$CA/intermediate.key" -passin "file:$W/iotad/pass" \
    -out "$W/inter.key" 2>/dev/null || bail_out "the intermediate key"
PEER_PORT=$(port_block 1) || bail_out "no free port"
# openssl 3 takes only a port: it listens on every address, for the run.
openssl ocsp -index "$W/index.txt" -port "$PEER_PORT" \
    -rsigner "$INTER" -rkey "$W/inter.key" -CA "$INTER" -nmin 5 \
    -ignore_err >/dev/null 2>&1 &
PEER=$!
at_exit "kill $PEER"
for ((i = 0; i < 100; i++)); do
	curl -s -o /dev/null "http://127.0.0.1:$PEER_PORT/" && break
	sleep 0.05
done
like "$(ossl ocsp -issuer "$INTER" -cert "$W/d1.crt" -url "http://127.0.0.1:$PEER_PORT" \
    -CAfile "$CACERT" 2>&1)" 'd1.crt: good' "the peer answers good for d1" ||
    bail_out "openssl ocsp as a responder did not answer"
like "$(ossl ocsp -issuer "$INTER" -cert "$W/d1.crt" -url "http://127.0.0.1:$REV_PORT/ocsp" \
    -CAfile "$CACERT" 2>&1)" 'd1.crt: good' "iotad answers good for d1"

# round NAME PID URL [SCRIPT]: answers/s and CPU ms per answer, one line.
round() {
	local name=$1 pid=$2 url=$3 t0 t1 n
	t0=$(tree_ticks "$pid")
	wrk -t2 -c16 -d"${SECS}s" ${4:+-s "$4"} "$url" >"$W/wrk.out" 2>&1
	t1=$(tree_ticks "$pid")
	n=$(awk '/requests in/ { print $1 }' "$W/wrk.out")
	[ -n "$n" ] || { say "$name: wrk said: $(head -c 300 "$W/wrk.out")"; n=0; }
	[ -n "${BENCH_DEBUG:-}" ] && say "$name: $(cat "$W/wrk.out")"
	grep -q 'Non-2xx' "$W/wrk.out" && say "$name: non-2xx answers: $(grep Non-2xx "$W/wrk.out")"
	awk -v n="$n" -v c=$((t1 - t0)) -v hz="$HZ" -v s="$SECS" -v name="$name" \
	    'BEGIN { printf "%s %.0f %.4f\n", name, n / s, (n > 0 ? c * 1000 / hz / n : 0) }'
}

# fresh NAME PID URL: FRESH POSTs, a new connection each (curl, 8 at once):
# openssl's responder closes after every answer (wrk cannot drive it).
FRESH=$((ROUNDS > 1 ? 1000 : 300))
fresh() {
	local name=$1 pid=$2 url=$3 t0 t1 s0 s1 ok
	t0=$(tree_ticks "$pid")
	s0=$(date +%s%N)
	seq 1 "$FRESH" | xargs -P 8 -I{} curl -s -o /dev/null -w '%{http_code}\n' \
	    -H 'Content-Type: application/ocsp-request' --data-binary "@$W/req.der" \
	    "$url" >"$W/fresh.codes"
	s1=$(date +%s%N)
	t1=$(tree_ticks "$pid")
	ok=$(grep -c '^200$' "$W/fresh.codes")
	[ "$ok" = "$FRESH" ] || say "$name: $ok of $FRESH answered 200"
	awk -v n="$ok" -v c=$((t1 - t0)) -v hz="$HZ" -v ns=$((s1 - s0)) -v name="$name" \
	    'BEGIN { printf "%s %.0f %.4f\n", name, n * 1e9 / ns, (n > 0 ? c * 1000 / hz / n : 0) }'
}

: >"$W/rounds"
for ((r = 1; r <= ROUNDS; r++)); do
	say "round $r of $ROUNDS"
	round iotad-ocsp "$IOTAD_PID" "http://127.0.0.1:$REV_PORT/ocsp" "$W/post.lua" >>"$W/rounds"
	fresh iotad-ocsp-fresh "$IOTAD_PID" "http://127.0.0.1:$REV_PORT/ocsp" >>"$W/rounds"
	fresh openssl-ocsp-fresh "$PEER" "http://127.0.0.1:$PEER_PORT/" >>"$W/rounds"
	round iotad-crl "$IOTAD_PID" "http://127.0.0.1:$REV_PORT/crl" >>"$W/rounds"
done
bytes=$(curl -s "http://127.0.0.1:$REV_PORT/crl" | wc -c)

printf '\nrevocation, %d rounds of %d s, wrk -t2 -c16 keep-alive (medians):\n' "$ROUNDS" "$SECS"
printf '%-20s %12s %16s\n' "" "answers/s" "server CPU ms"
for name in iotad-ocsp iotad-ocsp-fresh openssl-ocsp-fresh iotad-crl; do
	rps=$(awk -v n=$name '$1 == n { print $2 }' "$W/rounds" | median)
	cpu=$(awk -v n=$name '$1 == n { print $3 }' "$W/rounds" | median)
	printf '%-20s %12s %16s\n' "$name" "$rps" "$cpu"
done
printf 'CRL of %d revoked certificates: %d bytes (cached, re-signed only when the index changes)\n' \
    "$REVOKED" "$bytes"
done_testing
