#!/bin/bash
# Lifecycle events and iota-consumer against a real RabbitMQ: the C test
# t/unit/events-test (confirmed, persistent publishes read back; durable
# exchange; reconnection) with a broker, the exchange as the management API
# sees it, and iota-consumer printing what amqp-publish sends to amq.topic
# as an MQTT device would.
#
# The broker: the one named by RABBIT_AMQP_PORT, RABBIT_MGMT_URL and
# RABBIT_MGMT_CREDS when all are set, else a private node of
# t/lib/rabbitmq.sh, stopped (and its epmd) when the test ends.
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
. "${T_SRCDIR:-$(dirname "$0")}/lib/tap.sh"

: "${EVENTS_TEST:=$TOP_SRCDIR/t/unit/events-test}"
: "${IOTA_CONSUMER:=$TOP_SRCDIR/iota-consumer}"

# Before anything is printed: without RabbitMQ the whole test is skipped.
if [ -z "${RABBIT_AMQP_PORT:-}" ] || [ -z "${RABBIT_MGMT_URL:-}" ] ||
    [ -z "${RABBIT_MGMT_CREDS:-}" ]; then
	. "$T_SRCDIR/lib/rabbitmq.sh"
	rabbit_need jq amqp-publish
	OWN_BROKER=1
fi
for p in "$EVENTS_TEST" "$IOTA_CONSUMER"; do
	[ -x "$p" ] || bail_out "not built: $p"
done

# rabbitmq.sh's cleanup asks the node's epmd to quit right after killing
# the node, and epmd refuses while the node is still registered: ask again
# (bounded) once it has run.
epmd_gone() {
	local i
	for ((i = 0; i < 50; i++)); do
		env "${RABBIT_ENV[@]}" epmd -names >/dev/null 2>&1 || return 0
		env "${RABBIT_ENV[@]}" epmd -kill >/dev/null 2>&1
		sleep 0.1
	done
}

# The node's MQTT listener wants a certificate; nothing here speaks MQTT,
# so a throwaway self-signed one does.
if [ -n "${OWN_BROKER:-}" ]; then
	ossl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	    -keyout "$T_TMP/broker.key" -out "$T_TMP/broker.crt" -days 1 \
	    -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
	    2>/dev/null || bail_out "openssl req failed"
	rabbit_setup "$T_TMP/rabbit" "$T_TMP/broker.crt" "$T_TMP/broker.crt" \
	    "$T_TMP/broker.key"
	at_exit epmd_gone
	rabbit_start || bail_out "the broker did not start"
else
	diag "using the broker on port $RABBIT_AMQP_PORT"
fi

# --- the C test against it ----------------------------------------------------

run "$EVENTS_TEST"
if [ "$RC" = 0 ] && ! grep -q '^not ok' <<<"$OUT" &&
    ! grep -q '# SKIP' <<<"$OUT" && grep -q '^1\.\.' <<<"$OUT"; then
	pass "events-test against the broker: $(grep -c '^ok' <<<"$OUT") passed"
else
	fail "events-test against the broker" "$OUT" "$ERR"
fi

# --- the exchange as the management API sees it -------------------------------

# mgmt PATH: GET through the management API; the credentials go to curl on
# its standard input, not in its arguments.
mgmt() {
	printf 'user = "%s"\n' "$(head -1 "$RABBIT_MGMT_CREDS")" |
	    curl -sS -m 20 -K - "$RABBIT_MGMT_URL$1"
}

EX=$(mgmt /api/exchanges/%2F/iota.events)
is "$(jq -r '.durable' <<<"$EX")" true "iota.events is durable"
is "$(jq -r '.type' <<<"$EX")" topic "and a topic exchange"
is "$(jq -r '.auto_delete' <<<"$EX")" false "and not auto-delete"

# --- iota-consumer ------------------------------------------------------------

IFS=: read -r ADMIN_USER ADMIN_PASS <"$RABBIT_MGMT_CREDS"
PWFILE=$T_TMP/consumer.pw
AUTHFILE=$T_TMP/publish.auth
(umask 077
printf '%s\n' "$ADMIN_PASS" >"$PWFILE"
printf 'username:%s\npassword:%s\n' "$ADMIN_USER" "$ADMIN_PASS" >"$AUTHFILE")

# An MQTT device publishing devices/G/D/X arrives as devices.G.D.X.
publish() {
	amqp-publish --server 127.0.0.1 --port "$RABBIT_AMQP_PORT" \
	    --authfile "$AUTHFILE" -e amq.topic -r "$1" -b "$2"
}

consumer() {
	"$IOTA_CONSUMER" --port "$RABBIT_AMQP_PORT" --user "$ADMIN_USER" \
	    --password-file "$PWFILE" "$@"
}

# consumer_bg NAME ARGS...: in the background, until its ready file shows
# (bounded); its stdout, stderr and status in $T_TMP/NAME.{out,err,rc}.
consumer_bg() {
	local name=$1 i
	shift
	rm -f "$T_TMP/$name.ready"
	(consumer --ready-file "$T_TMP/$name.ready" "$@" \
	    >"$T_TMP/$name.out" 2>"$T_TMP/$name.err" </dev/null
	    echo $? >"$T_TMP/$name.rc") &
	for ((i = 0; i < 300; i++)); do
		[ -e "$T_TMP/$name.ready" ] && return 0
		[ -e "$T_TMP/$name.rc" ] && break
		sleep 0.1
	done
	diag "consumer $name not ready: $(cat "$T_TMP/$name.err")"
	return 1
}

consumer_wait() {
	local i
	for ((i = 0; i < 300; i++)); do
		[ -e "$T_TMP/$1.rc" ] && return 0
		sleep 0.1
	done
	return 1
}

if consumer_bg c1 --count 3 --timeout 20; then
	pass "consumer ready once bound"
else
	fail "consumer ready once bound"
fi
publish devices.g1.d1.telemetry '{"t":21.5}'
publish devices.g1.d1.status "$(printf 'line one\nbell\a back\\slash')"
publish devices.g2 'no device level'
publish other.topic 'not bound: never seen'
consumer_wait c1
is "$(cat "$T_TMP/c1.rc")" 0 "consumer exits 0 after --count 3"
mapfile -t LINES <"$T_TMP/c1.out"
is "${LINES[0]}" 'topic=devices/g1/d1/telemetry group=g1 device=d1 payload={"t":21.5}' \
    "topic in MQTT form, group, device, payload"
is "${LINES[1]}" 'topic=devices/g1/d1/status group=g1 device=d1 payload=line one\nbell\x07 back\\slash' \
    "non-printables escaped, one line"
is "${LINES[2]}" 'topic=devices/g2 payload=no device level' \
    "no group or device where the key has none"
is "${#LINES[@]}" 3 "three lines, nothing else"
is "$(cat "$T_TMP/c1.err")" "" "nothing on stderr with --ready-file"
# The broker deletes an exclusive queue as its connection ends.
exclusive_queues() {
	mgmt /api/queues/%2F | jq '[.[] | select(.exclusive)] | length'
}
for ((i = 0; i < 50; i++)); do
	[ "$(exclusive_queues)" = 0 ] && break
	sleep 0.1
done
is "$(exclusive_queues)" 0 "its exclusive queue is gone with it"

# Lifecycle events reach a consumer bound to iota.events.
consumer_bg c2 --exchange iota.events --binding 'device.#' --count 1 \
    --timeout 20 || true
amqp-publish --server 127.0.0.1 --port "$RABBIT_AMQP_PORT" \
    --authfile "$AUTHFILE" -e iota.events -r device.revoked \
    -b '{"event":"device.revoked"}'
consumer_wait c2
is "$(cat "$T_TMP/c2.out")" 'topic=device/revoked payload={"event":"device.revoked"}' \
    "a consumer of iota.events"

run "$IOTA_CONSUMER" --port "$RABBIT_AMQP_PORT" --user "$ADMIN_USER" \
    --password-file "$PWFILE" --timeout 1 --ready-file "$T_TMP/c3.ready"
is "$RC" 1 "no message within --timeout: exit 1"
is "$ERR_RAW" $'iota-consumer: no message within 1 s\n' \
    "one line on stderr"
is "$OUT" "" "nothing on stdout"

printf 'wrong-%s\n' "$ADMIN_PASS" >"$T_TMP/wrong.pw"
run "$IOTA_CONSUMER" --port "$RABBIT_AMQP_PORT" --user "$ADMIN_USER" \
    --password-file "$T_TMP/wrong.pw" --timeout 5
is "$RC" 1 "wrong password: exit 1"
like "$ERR_RAW" $'^iota-consumer: login as [^\n]*ACCESS_REFUSED[^\n]*\n$' \
    "one line naming the refusal"
unlike "$ERR_RAW" "$ADMIN_PASS" "without the password"

run "$IOTA_CONSUMER" --port "$RABBIT_AMQP_PORT" --user "$ADMIN_USER"
is "$RC" 2 "no --password-file: usage error"
run "$IOTA_CONSUMER" --help
is "$RC" 0 "--help"
like "$OUT" '--password-file FILE' "and it names the options"

done_testing
