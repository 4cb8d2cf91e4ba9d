#!/bin/bash
# iotad's RabbitMQ management API client (provision/broker/mgmt-http.c and
# the files beside it) against a real broker: the C test t/unit/broker-test
# with RABBIT_MGMT_URL, RABBIT_MGMT_CREDS and RABBIT_AMQP_PORT set, its TAP
# lines relayed one by one.  Without them, t/unit/broker-test runs its
# broker-less part only.
#
# The broker: the one those variables name when all are set, else a
# private node of t/lib/rabbitmq.sh, stopped (and its epmd) when the test
# ends.
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
. "${T_SRCDIR:-$(dirname "$0")}/lib/tap.sh"

: "${BROKER_TEST:=$TOP_SRCDIR/t/unit/broker-test}"

# Before anything is printed: without RabbitMQ the whole test is skipped.
if [ -z "${RABBIT_AMQP_PORT:-}" ] || [ -z "${RABBIT_MGMT_URL:-}" ] ||
    [ -z "${RABBIT_MGMT_CREDS:-}" ]; then
	. "$T_SRCDIR/lib/rabbitmq.sh"
	rabbit_need
	OWN_BROKER=1
fi
[ -x "$BROKER_TEST" ] || bail_out "not built: $BROKER_TEST"

# The node's MQTT listener wants a certificate; nothing here speaks MQTT,
# so a throwaway self-signed one does.
if [ -n "${OWN_BROKER:-}" ]; then
	ossl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	    -keyout "$T_TMP/broker.key" -out "$T_TMP/broker.crt" -days 1 \
	    -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
	    2>/dev/null || bail_out "openssl req failed"
	rabbit_setup "$T_TMP/rabbit" "$T_TMP/broker.crt" "$T_TMP/broker.crt" \
	    "$T_TMP/broker.key"
	rabbit_start || bail_out "the broker did not start"
else
	diag "using the broker at $RABBIT_MGMT_URL"
fi

# relay: the C test's TAP, line by line, renumbered into ours; a SKIP of
# the broker part is a failure here (the variables did not get through).
relay() {
	local line desc last=
	while IFS= read -r line; do
		case $line in
		"ok "*"# SKIP "*)
			fail "skipped: ${line#*# SKIP }" ;;
		"ok "*)
			desc=${line#ok }
			pass "${desc#* - }" ;;
		"not ok "*)
			desc=${line#not ok }
			last=${desc#* - }
			fail "$last" ;;
		"#"*)
			diag "${line#\# }" ;;
		"1.."*)
			PLAN=${line#1..} ;;
		esac
	done
}

PLAN=
run "$BROKER_TEST"
relay <<<"$OUT"
is "$RC" 0 "broker-test exits 0" || diag "$ERR"
like "$PLAN" '^[0-9]+$' "broker-test printed its plan (ran to the end)"

# A graceful stop: the EXIT trap's SIGKILL can leave the node registered
# with its epmd, which then refuses `epmd -kill` and outlives the test.
[ -n "${OWN_BROKER:-}" ] && rabbit_stop

done_testing
