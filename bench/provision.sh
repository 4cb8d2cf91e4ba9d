#!/bin/bash
# The provisioning benchmark (`make bench-provision`; never part of
# `make check`).  One run, interleaved rounds, on this machine:
#
#   1. the same cost at any group size: iotad CPU per provisioning in
#      groups of 100, 10,000 and 100,000 registered devices (keep-alive,
#      32 connections);
#   2. iota against `cfssl serve` (Debian's golang-cfssl, HTTPS, a P-256
#      CA, no database) on the same P-256 CSRs: keep-alive with 1, 8 and 32
#      connections, and a fresh TLS connection per certificate;
#   3. iotad's start-up until it listens (100,000 devices in the store),
#      and its peak RSS;
#   4. broker management mode against a private RabbitMQ, beside
#      RabbitMQ's own definitions-import ceiling in the same run
#      (BENCH_BROKER=0 leaves it out), with 32 and with 500 devices at
#      once;
#   5. broker auth-backend mode: provisioning, and the login and topic
#      checks RabbitMQ's HTTP auth backend would ask, at 32 connections.
#
# Server CPU is utime+stime from /proc/PID/stat over the round (iotad with
# its supervisor and signer; bench/lib/cpu.sh), divided by
# the certificates issued; the load generator (bench/provision-load) runs
# on the same two cores, as it would in any honest loopback run.  Figures
# are medians of the rounds.  step-ca is not in Debian 12 and cannot be
# built offline from its packages, so it is not a peer here.
#
# usage: provision.sh [--quick | --profile]
#   --quick: one round, smaller groups
#   --profile: one keep-alive c=32 load under `perf record -g` on iotad,
#   and the report's top entries (where the time goes), instead of the table
# environment: IOTAD IOTACTL LOAD T_SRCDIR (set by make bench-provision)
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
set -u
. "$T_SRCDIR/lib/tap.sh"
. "$T_SRCDIR/lib/iotad.sh"
. "$(dirname "$0")/lib/cpu.sh"
. "$T_SRCDIR/lib/ports.sh"
need_iotad
command -v cfssl >/dev/null || bail_out "cfssl not found (apt-get install golang-cfssl)"
[ -x "${LOAD:-}" ] || bail_out "LOAD: bench/provision-load not built"

ROUNDS=3 N=1000 N1=200 SIZES="100 10000 100000"
case ${1:-} in
--quick|--profile) ROUNDS=1 N=300 N1=60 SIZES="100 10000" ;;
esac
BIG=${SIZES##* }
HZ=$(getconf CLK_TCK)
W=$T_TMP

say() { printf '%s\n' "$*" >&2; }


median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# --- iotad, a tenant, groups -------------------------------------------------
IOTAD_LOG_LEVEL=info	# iotad_start waits for the "listening" line
iotad_setup "$W/iotad" "$(printf 'limits:\n  max_connections: 256\n')"
iotad_start || bail_out "iotad did not start"
tenant_add bench OP || bail_out "no tenant"

# register GROUP COUNT PREFIX: COUNT devices PREFIX0.. in requests of 10,000
register() {
	local g=$1 count=$2 prefix=$3 off n
	for ((off = 0; off < count; off += 10000)); do
		n=$((count - off < 10000 ? count - off : 10000))
		seq -f "$prefix%.0f" "$off" $((off + n - 1)) |
		    jq -R . | jq -sc '{names: .}' >"$W/names.json"
		api_file POST "/v1/groups/$g/devices" "$OP" "$W/names.json"
		[ "$STATUS" = 201 ] || bail_out "registering in $g: $STATUS $BODY"
	done
}

# bodies FILE GROUP SECRET FIRST COUNT PREFIX: COUNT provisioning bodies
# (with their Authorization) for devices PREFIX<FIRST>...
bodies() {
	"$LOAD" make "$5" "$4" "$2" "$6" "$W/b.iota" "$1.cfssl" ||
	    bail_out "making CSRs failed"
	sed "s|^|Bearer $3\t|" "$W/b.iota" >"$1"
}

say "setting up: groups of $SIZES devices"
declare -A SECRET
for s in $SIZES; do
	if [ "$s" -lt "$N" ]; then
		# Small groups: as many groups of $s as the rounds use up.
		for ((k = 0; k < (ROUNDS * N + s - 1) / s; k++)); do
			group_add "$OP" "g$s-$k" SECRET["g$s-$k"] || bail_out "group"
			register "g$s-$k" "$s" d
		done
	else
		group_add "$OP" "g$s" SECRET["g$s"] || bail_out "group"
		register "g$s" "$s" d
	fi
done

# round_bodies SIZE ROUND COUNT FILE: bodies for a round in groups of SIZE
round_bodies() {
	local s=$1 r=$2 count=$3 f=$4 first k i
	first=$((r * count))
	if [ "$s" -lt "$N" ]; then
		: >"$f"
		for ((i = first; i < first + count; i += s)); do
			k=$((i / s))
			bodies "$f.part" "g$s-$k" "${SECRET[g$s-$k]}" 0 "$s" d
			cat "$f.part" >>"$f"
		done
	else
		bodies "$f" "g$s" "${SECRET[g$s]}" "$first" "$count" d
	fi
}

# --- cfssl serve: HTTPS, a P-256 CA ----------------------------------------
cfssl_setup() {
	local d=$W/cfssl
	mkdir -p "$d"
	ossl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	    -keyout "$d/ca-key.pem" -out "$d/ca.pem" -subj /CN=bench-ca \
	    -days 30 -addext basicConstraints=critical,CA:true \
	    -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null ||
	    bail_out "cfssl CA"
	cp "$W/iotad/server.crt" "$d/tls.crt"
	cp "$W/iotad/server.key" "$d/tls.key"
	cat >"$d/config.json" <<-EOF
	{"signing": {"default": {"expiry": "8760h",
	  "usages": ["digital signature", "client auth"]}}}
	EOF
	CFSSL_PORT=$(port_block 1) || bail_out "no free port"
	cfssl serve -address 127.0.0.1 -port "$CFSSL_PORT" -ca "$d/ca.pem" \
	    -ca-key "$d/ca-key.pem" -config "$d/config.json" \
	    -tls-cert "$d/tls.crt" -tls-key "$d/tls.key" \
	    -loglevel 5 >"$d/out" 2>&1 &
	CFSSL_PID=$!
	at_exit "kill $CFSSL_PID"
	for ((i = 0; i < 250; i++)); do
		curl -sk -o /dev/null "https://127.0.0.1:$CFSSL_PORT/api/v1/cfssl/health" &&
		    return 0
		sleep 0.02
	done
	bail_out "cfssl serve did not start: $(tail -3 "$d/out")"
}
cfssl_setup

# measure NAME PID PORT PATH BODIES C MODE: one line into $W/results
measure() {
	local name=$1 pid=$2 port=$3 path=$4 f=$5 c=$6 mode=$7 t0 t1 out ok
	t0=$(tree_ticks "$pid")
	out=$("$LOAD" run 127.0.0.1 "$port" "$path" "$f" "$c" "$mode") ||
	    say "$name: $out"
	t1=$(tree_ticks "$pid")
	ok=$(awk '{ print $4 }' <<<"$out")
	[ "$ok" -gt 0 ] || bail_out "$name: nothing issued: $out"
	awk -v n="$name" -v ok="$ok" -v cpu=$((t1 - t0)) -v hz="$HZ" '{
		printf "%s rate %s p50 %s p99 %s cpu_ms %.3f\n", n, $10, $12,
		    $14, cpu * 1000 / hz / ok }' <<<"$out" >>"$W/results"
}

if [ "${1:-}" = --profile ]; then
	command -v perf >/dev/null || bail_out "perf not found (linux-perf)"
	bodies "$W/p" "g$BIG" "${SECRET[g$BIG]}" 0 3000 p
	api POST "/v1/groups/g$BIG/devices" "$OP" "$(seq -f 'p%.0f' 0 2999 |
	    jq -R . | jq -sc '{names: .}')"
	perf record -g -o "$W/perf.data" -p "$(tree_pids "$IOTAD_PID")" 2>/dev/null &
	perf_pid=$!
	sleep 0.5
	"$LOAD" run 127.0.0.1 "$IOTAD_PORT" /v1/provision "$W/p" 32 keepalive
	kill -INT "$perf_pid"
	wait "$perf_pid"
	perf report -i "$W/perf.data" --no-children --sort dso --stdio -g none 2>/dev/null |
	    grep -v '^#' | grep '%' | head -15
	perf report -i "$W/perf.data" --no-children --sort symbol --stdio \
	    -g none 2>/dev/null | grep -v '^#' | grep '%' | head -30
	exit 0
fi

: >"$W/results"
for ((r = 0; r < ROUNDS; r++)); do
	say "round $((r + 1)) of $ROUNDS"
	# 1. group sizes, keep-alive c=32
	for s in $SIZES; do
		round_bodies "$s" "$r" "$N" "$W/r.$s"
		measure "size$s" "$IOTAD_PID" "$IOTAD_PORT" /v1/provision \
		    "$W/r.$s" 32 keepalive
	done
	# 2. against cfssl, same CSRs, in the big group; devices after the
	# ones part 1 used.
	base=$((ROUNDS * N + r * (3 * N + N1)))
	for m in "1 keepalive $N1" "8 keepalive $N" "32 keepalive $N" \
	    "8 fresh $N"; do
		set -- $m
		bodies "$W/m" "g$BIG" "${SECRET[g$BIG]}" "$base" "$3" d
		base=$((base + $3))
		measure "iota-c$1-$2" "$IOTAD_PID" "$IOTAD_PORT" /v1/provision \
		    "$W/m" "$1" "$2"
		measure "cfssl-c$1-$2" "$CFSSL_PID" "$CFSSL_PORT" \
		    /api/v1/cfssl/sign "$W/m.cfssl" "$1" "$2"
	done
done
RSS=$(awk '/VmHWM/ { print $2 / 1024 }' "/proc/$IOTAD_PID/status")

# 3. start-up: until iotad's log says it listens, with the whole registry
startup=()
for ((r = 0; r < 3; r++)); do
	iotad_stop
	t0=$(date +%s%N)
	iotad_start || bail_out "restart"
	t1=$(date +%s%N)
	startup+=("$(((t1 - t0) / 1000000))")
done

# 4. the broker, management mode: a second iotad against a private RabbitMQ,
#    interleaved with RabbitMQ's own ceiling, definitions imports of 500
#    users with their permissions (what iotad sends it, at its best size).
BROKER=0
if [ "${BENCH_BROKER:-1}" = 1 ] && [ -x /usr/lib/rabbitmq/bin/rabbitmq-server ]; then
	BROKER=1
	say "broker: management mode against a private RabbitMQ"
	. "$T_SRCDIR/lib/rabbitmq.sh"
	iotad_stop
	B=$W/iotad-b
	broker_yaml() {
		rabbit_iotad_yaml management "$W/mgmt.credentials" \
		    "$B/state/broker.key"
		printf 'limits:\n  max_connections: 600\n'
	}
	(umask 077 && echo "placeholder:placeholder" >"$W/mgmt.credentials")
	iotad_setup "$B" "$(broker_yaml)"
	run "$IOTACTL" ca issue --dir "$B/ca" --passphrase-file "$B/pass" \
	    --server-name localhost --ip 127.0.0.1 --out "$W/broker" ||
	    bail_out "broker certificate: $ERR"
	rabbit_setup "$W/rabbit" "$B/ca/ca-chain.pem" "$W/broker.crt" "$W/broker.key"
	rabbit_start || bail_out "cannot start RabbitMQ"
	cp "$RABBIT_MGMT_CREDS" "$W/mgmt.credentials"
	iotad_write_conf "$(broker_yaml)"
	iotad_start || bail_out "iotad (management mode) did not start"
	tenant_add benchb OP || bail_out "no tenant"
	group_add "$OP" gb SECRET[gb] || bail_out "group"
	register gb $((2 * ROUNDS * N)) d
	hash=$(rabbit_password_hash "bench-password")
	for ((r = 0; r < ROUNDS; r++)); do
		bodies "$W/bm" gb "${SECRET[gb]}" $((r * N)) "$N" d
		measure broker-mgmt "$IOTAD_PID" "$IOTAD_PORT" /v1/provision \
		    "$W/bm" 32 keepalive
		# Under load: 500 devices at once, each waiting for its user,
		# so that one import carries hundreds of them.
		bodies "$W/bm" gb "${SECRET[gb]}" $((ROUNDS * N + r * N)) "$N" d
		LOAD_SOURCES=16 measure broker-mgmt-c500 "$IOTAD_PID" "$IOTAD_PORT" \
		    /v1/provision "$W/bm" 500 keepalive
		jq -cn --arg h "$hash" --arg p "r$r-" '[range(500) | "\($p)u\(.)"] |
		    { users: map({ name: ., password_hash: $h, tags: "",
		        hashing_algorithm: "rabbit_password_hashing_sha256" }),
		      permissions: map({ user: ., vhost: "/", configure: "^$",
		        write: "^$", read: "^$" }),
		      topic_permissions: map({ user: ., vhost: "/",
		        exchange: "amq.topic", write: "^$", read: "^$" }) }' \
		    >"$W/defs.json"
		t0=$(date +%s%N)
		# The body is over the 128 KiB of one argument: from the file.
		st=$(printf 'user = "%s"\n' "$(cat "$RABBIT_MGMT_CREDS")" |
		    curl -sS --max-time 120 -K - -X POST -o "$W/import.out" \
		    -w '%{http_code}' -H 'content-type: application/json' \
		    --data-binary @"$W/defs.json" "$RABBIT_MGMT_URL/api/definitions")
		t1=$(date +%s%N)
		case $st in 2*) ;; *) bail_out "import: $st $(head -c 200 "$W/import.out")" ;; esac
		awk -v ns=$((t1 - t0)) 'BEGIN {
		    printf "rabbit-import rate %.1f\n", 500 / (ns / 1e9) }' \
		    >>"$W/results"
	done

	# 5. auth-backend mode: a third iotad; RabbitMQ would ask it about
	#    each login, vhost, resource and topic.  Provisioning there makes
	#    no broker call; the asking is measured with forms like RabbitMQ's,
	#    from the credentials of devices provisioned first.
	say "broker: auth-backend mode"
	iotad_stop
	A=$W/iotad-a
	auth_yaml() {
		rabbit_iotad_yaml auth-backend "$W/mgmt.credentials" \
		    "$A/state/broker.key" "auth_clients: 127.0.0.1"
		printf 'limits:\n  max_connections: 256\n'
	}
	iotad_setup "$A" "$(auth_yaml)"
	iotad_start || bail_out "iotad (auth-backend mode) did not start"
	tenant_add bencha OP || bail_out "no tenant"
	group_add "$OP" ga SECRET[ga] || bail_out "group"
	register ga $((ROUNDS * N + 50)) d
	: >"$W/creds"
	for ((i = 0; i < 50; i++)); do
		bodies "$W/one" ga "${SECRET[ga]}" $((ROUNDS * N + i)) 1 d
		api_file POST /v1/provision "${SECRET[ga]}" \
		    <(cut -f2 "$W/one") >/dev/null
		[ "$STATUS" = 200 ] || [ "$STATUS" = 201 ] ||
		    bail_out "auth-backend provisioning: $STATUS $BODY"
		jq -r '[.broker.username, .broker.password, .broker.vhost] | map(@uri) |
		    @tsv' <<<"$BODY" >>"$W/creds"
	done
	# Forms in RabbitMQ's order for one MQTT session: user, vhost,
	# resource, topic; a fifth of the logins with a wrong password.
	awk -F'\t' -v n=$((2 * N)) '{ u[NR] = $1; p[NR] = $2; v[NR] = $3 }
	    END { for (i = 0; i < n; i++) { k = i % NR + 1
		printf "\tusername=%s&password=%s&client_id=%s\n", u[k],
		    (i % 5 ? p[k] : "wrong"), u[k] } }' "$W/creds" >"$W/auth.user"
	awk -F'\t' -v n=$((2 * N)) '{ u[NR] = $1; v[NR] = $3 }
	    END { for (i = 0; i < n; i++) { k = i % NR + 1
		split(u[k], part, ".")
		printf "\tusername=%s&vhost=%s&name=amq.topic&permission=write" \
		    "&routing_key=devices.%s.%s.telemetry\n", u[k], v[k],
		    part[2], part[3] } }' "$W/creds" >"$W/auth.topic"
	for f in auth.user auth.topic; do
		a=$(sed -n 2p "$W/$f" | cut -f2 | tr -d "\n" | curl -sS --max-time 20 \
		    --cacert "$CACERT" --data-binary @- \
		    "$IOTAD_URL/auth/${f#auth.}" -H \
		    'Content-Type: application/x-www-form-urlencoded' 2>&1)
		[ "$a" = allow ] || bail_out "auth-backend $f check: $a (form: $(sed -n 2p "$W/$f" | cut -c1-60))"
	done
	for ((r = 0; r < ROUNDS; r++)); do
		bodies "$W/ba" ga "${SECRET[ga]}" $((r * N)) "$N" d
		measure broker-auth "$IOTAD_PID" "$IOTAD_PORT" /v1/provision \
		    "$W/ba" 32 keepalive
		measure auth-user "$IOTAD_PID" "$IOTAD_PORT" /auth/user \
		    "$W/auth.user" 32 keepalive
		measure auth-topic "$IOTAD_PID" "$IOTAD_PORT" /auth/topic \
		    "$W/auth.topic" 32 keepalive
	done
fi

# --- the table ------------------------------------------------------------------
fig() {	# fig NAME FIELD: median over the rounds
	awk -v n="$1" -v f="$2" '$1 == n { for (i = 2; i < NF; i += 2)
		if ($i == f) print $(i + 1) }' "$W/results" | median
}
printf '\nmachine: %s, %s cores; %s rounds of %s provisions, medians\n' \
    "$(uname -m)" "$(nproc)" "$ROUNDS" "$N"
printf '\n%-28s %10s %9s %9s %11s\n' "iota, keep-alive c=32" "prov/s" "p50 ms" \
    "p99 ms" "CPU ms/op"
for s in $SIZES; do
	printf '%-28s %10s %9s %9s %11s\n' "group of $s" "$(fig "size$s" rate)" \
	    "$(fig "size$s" p50)" "$(fig "size$s" p99)" "$(fig "size$s" cpu_ms)"
done
small=${SIZES%% *}
awk -v a="$(fig "size$BIG" cpu_ms)" -v b="$(fig "size$small" cpu_ms)" -v s="$BIG" -v t="$small" \
    'BEGIN { printf "CPU per provisioning, group of %s / group of %s: %.2f\n", s, t, a / b }'
printf '\n%-22s %10s %9s %11s | %10s %9s %11s | %8s %8s\n' "mode" "iota/s" \
    "p99 ms" "CPU ms/op" "cfssl/s" "p99 ms" "CPU ms/op" "rate x" "CPU x"
for m in c1-keepalive c8-keepalive c32-keepalive c8-fresh; do
	ir=$(fig "iota-$m" rate) cr=$(fig "cfssl-$m" rate)
	ic=$(fig "iota-$m" cpu_ms) cc=$(fig "cfssl-$m" cpu_ms)
	printf '%-22s %10s %9s %11s | %10s %9s %11s | %8s %8s\n' "$m" "$ir" \
	    "$(fig "iota-$m" p99)" "$ic" "$cr" "$(fig "cfssl-$m" p99)" "$cc" \
	    "$(awk -v a="$ir" -v b="$cr" 'BEGIN { printf "%.2f", a / b }')" \
	    "$(awk -v a="$ic" -v b="$cc" 'BEGIN { printf "%.2f", a / b }')"
done
printf '\niotad start-up until listening (%s devices stored): %s ms (median of 3)\n' \
    "$((BIG + ${#SECRET[@]}))" "$(printf '%s\n' "${startup[@]}" | median)"
printf 'iotad peak RSS: %.1f MB\n' "$RSS"
if [ "$BROKER" = 1 ]; then
	awk -v a="$(fig broker-mgmt rate)" -v b="$(fig rabbit-import rate)" \
	    -v c="$(fig broker-mgmt cpu_ms)" 'BEGIN {
	    printf "\nbroker management mode, keep-alive c=32: %.1f provisions/s, " \
	        "iotad CPU %.3f ms each\n", a, c
	    printf "RabbitMQ definitions import, 500 users each: %.1f users/s\n", b
	    printf "iota / RabbitMQ ceiling: %.2f\n", a / b }'
	awk -v a="$(fig broker-mgmt-c500 rate)" -v b="$(fig rabbit-import rate)" \
	    -v c="$(fig broker-mgmt-c500 cpu_ms)" -v p="$(fig broker-mgmt-c500 p99)" 'BEGIN {
	    printf "broker management mode, keep-alive c=500: %.1f provisions/s, " \
	        "p99 %s ms, iotad CPU %.3f ms each\n", a, p, c
	    printf "iota / RabbitMQ ceiling at c=500: %.2f\n", a / b }'
	awk -v a="$(fig broker-auth rate)" -v b="$(fig iota-c32-keepalive rate)" \
	    -v c="$(fig broker-auth cpu_ms)" 'BEGIN {
	    printf "\nbroker auth-backend mode, keep-alive c=32: %.1f provisions/s, " \
	        "iotad CPU %.3f ms each\n", a, c
	    printf "auth-backend / broker none (c=32, keep-alive): %.2f\n", a / b }'
	printf 'auth checks, keep-alive c=32: login %s/s (CPU %s ms), topic %s/s (CPU %s ms)\n' \
	    "$(fig auth-user rate)" "$(fig auth-user cpu_ms)" \
	    "$(fig auth-topic rate)" "$(fig auth-topic cpu_ms)"
fi
