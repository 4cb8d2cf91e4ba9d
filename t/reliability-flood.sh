#!/bin/bash
# Reliability (issue 10): a flood of connections while devices provision.
# Five addresses, 127.0.0.2 to 127.0.0.6, each hold RELIABILITY_FLOOD
# (default 60) slow TLS connections to iotad (t/reliability-flood.py: the
# handshake done, the request head trickled and never finished, a closed
# connection opened again), more than libmicrohttpd's connection limit in
# all.  Meanwhile, from 127.0.0.1:
#   - GET /v1/health answers 200, each within 5 s;
#   - RELIABILITY_DEVICES (default 8) devices provision (201);
# (the connection guard, provision/http/conns.c), and once the
# flood stops, health and provisioning work again and iotad is alive.
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
. "${T_SRCDIR:-$(dirname "$0")}/lib/tap.sh"
. "$T_SRCDIR/lib/iotad.sh"
. "$T_SRCDIR/lib/reliability.sh"
need_iotad
command -v python3 >/dev/null 2>&1 || { skip "python3 not installed"; done_testing; }

T=$T_TMP
PER=${RELIABILITY_FLOOD:-60}
N=${RELIABILITY_DEVICES:-8}
ADDRS=()
for ((a = 2; a < 2 + ${RELIABILITY_FLOOD_ADDRS:-5}; a++)); do ADDRS+=("127.0.0.$a"); done
START=$SECONDS
RELIABILITY_TIMEOUT=10

iotad_setup "$T/iotad"
iotad_start || bail_out "iotad did not start"
tenant_add acme OP || bail_out "tenant"
group_add "$OP" fl "SECRETS[fl]" || bail_out "group"
storm_prepare fl $((N * 2))
FIRST=("${DEVS[@]:0:N}") AFTER=("${DEVS[@]:N}")

# health_ms: one GET /v1/health from 127.0.0.1; "STATUS MS".
health_ms() {
	local t0 t1 code
	t0=$(date +%s%N)
	code=$(curl -sS --max-time 10 --cacert "$CACERT" -o /dev/null \
	    -w '%{http_code}' "$IOTAD_URL/v1/health" 2>/dev/null)
	t1=$(date +%s%N)
	echo "${code:-000} $(((t1 - t0) / 1000000))"
}
is "$(health_ms | cut -d' ' -f1)" 200 "before the flood: /v1/health 200"

python3 "$T_SRCDIR/reliability-flood.py" 127.0.0.1 "$IOTAD_PORT" "$PER" \
    "$T/flood.status" "${ADDRS[@]}" >"$T/flood.out" 2>&1 </dev/null &
FLOOD=$!
at_exit 'kill "$FLOOD"'
# The flood is up once it holds all it wants or has been refused (the
# server full or limiting): polled, 30 s at most.
flood_up() {
	local open refused
	[ -s "$T/flood.status" ] || return 1
	read -r open _ refused <"$T/flood.status"
	[ "${open#open=}" -ge $((PER * ${#ADDRS[@]})) ] || [ "${refused#refused=}" -gt 0 ]
}
for ((i = 0; i < 300; i++)); do flood_up && break; sleep 0.1; done
ok "kill -0 $FLOOD" "the flood runs: $(cat "$T/flood.status" 2>/dev/null) (${#ADDRS[@]} addresses, $PER each wanted)"

slow=
for ((i = 0; i < 5; i++)); do
	r=$(health_ms)
	[ "${r% *}" = 200 ] && [ "${r#* }" -le 5000 ] || slow+=" $r"
done
promise_is "$slow" "" "during the flood: /v1/health 200 within 5 s, 5 times out of 5" \
    "connection flood (connection limits)"
DEVS=("${FIRST[@]}")
storm_start fl "$T/resp" 4
storm_wait
promise_is "$(codes "$T/resp" "${FIRST[@]}" | awk '$2 != 201')" "" \
    "during the flood: $N devices provision, 201 each" "connection flood (connection limits)"
diag "flood at the end: $(cat "$T/flood.status" 2>/dev/null)"

kill "$FLOOD"
wait "$FLOOD" 2>/dev/null
ok '_alive "$IOTAD_PID"' "iotad survived the flood"
for ((i = 0; i < 100; i++)); do [ "$(health_ms | cut -d' ' -f1)" = 200 ] && break; sleep 0.1; done
is "$(health_ms | cut -d' ' -f1)" 200 "after the flood: /v1/health 200"
DEVS=("${AFTER[@]}")
storm_start fl "$T/after" 4
storm_wait
is "$(codes "$T/after" "${AFTER[@]}" | awk '$2 != 201')" "" "after the flood: $N more devices provision, 201 each"
record fl
is "$(half_provisioned)" "" "no device half-provisioned"
iotad_stop
is "$IOTAD_RC" 0 "iotad exits 0 on SIGTERM"
diag "done in $((SECONDS - START)) s"
done_testing
