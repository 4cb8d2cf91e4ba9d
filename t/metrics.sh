#!/bin/bash
# GET /metrics (docs/API.md, iotad(8) METRICS): a real iotad provisions,
# refuses, revokes and renews, and the scrape moved by exactly that; the
# expiring gauges count the short-lived certificates; only the admin may
# scrape on HTTPS; metrics.listen http serves it on a plain listener of
# its own and takes the HTTPS route away; off takes it away too.
# promtool checks the exposition when it is installed.
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
. "${T_SRCDIR:-$(dirname "$0")}/lib/tap.sh"
. "$T_SRCDIR/lib/iotad.sh"
need_iotad

T=$T_TMP
D=$T/iotad
iotad_setup "$D"
iotad_start || bail_out "iotad did not start"

# scrape: SCRAPE is the admin's exposition, or bail out.
scrape() {
	api GET /metrics "$ADMIN"
	[ "$STATUS" = 200 ] || bail_out "scrape: $STATUS $BODY"
	SCRAPE=$BODY
}
# metric SERIES: its value in SCRAPE ("absent" when it is not there).
metric() {
	awk -v s="$1" '$1 == s { v = $2 } END { print (v == "" ? "absent" : v) }' \
	    <<<"$SCRAPE"
}
# moved SERIES WANT DESC: the series grew by WANT since BEFORE.
moved() {
	local was now
	was=$(awk -v s="$1" '$1 == s { print $2 }' <<<"$BEFORE")
	now=$(metric "$1")
	is "$((${now%.*} - ${was%.*}))" "$2" "$3"
}

tenant_add acme OP || bail_out "tenant"
group_add "$OP" g1 SECRET || bail_out "group g1"
group_add "$OP" short SHORT || bail_out "group short"
group_add "$OP" mid MID || bail_out "group mid"
for gd in short:5 mid:20; do
	api PATCH "/v1/groups/${gd%:*}" "$OP" "{\"certificate_days\": ${gd#*:}}"
	[ "$STATUS" = 200 ] || bail_out "group ${gd%:*} days: $STATUS $BODY"
done
devices_add "$OP" g1 d1 d2 d3 || bail_out "devices g1"
devices_add "$OP" short s1 || bail_out "devices short"
devices_add "$OP" mid m1 || bail_out "devices mid"

scrape
BEFORE=$SCRAPE
is "$(metric 'iota_certificates_expiring{within="7d"}')" 0 \
    "nothing expires within 7 days before any provisioning"
is "$(metric 'iota_build_info{version="'"$("$IOTAD" -V | cut -d' ' -f2)"'"}')" 1 \
    "iota_build_info names iotad -V's version"
like "$(header Content-Type)" '^text/plain; version=0\.0\.4' \
    "the exposition's Content-Type is the text format's"

for dev in d1 d2; do
	device_key "$T/$dev"
	provision "$SECRET" g1 "$dev" "$T/$dev.csr"
	[ "$STATUS" = 201 ] || bail_out "provision $dev: $STATUS $BODY"
	save_provisioned "$T/$dev"
done
device_key "$T/s1"
provision "$SHORT" short s1 "$T/s1.csr"
[ "$STATUS" = 201 ] || bail_out "provision s1: $STATUS $BODY"
device_key "$T/m1"
provision "$MID" mid m1 "$T/m1.csr"
[ "$STATUS" = 201 ] || bail_out "provision m1: $STATUS $BODY"
provision "$SECRET" g1 d1 "$T/d1.csr"
is_status 200 "d1 again with the same key: its recorded certificate"
device_key "$T/d3"
provision "${SECRET%?????}AAAAA" g1 d3 "$T/d3.csr"
is_error 401 unauthorized "d3 with a wrong secret"
api POST /v1/groups/g1/devices/d2/revoke "$OP"
is_status 200 "d2 revoked"
device_key "$T/d1n"
API_ARGS=(--cert "$T/d1.crt" --key "$T/d1.key")
api POST /v1/renew "" "$(jq -cn --rawfile c "$T/d1n.csr" '{csr: $c}')"
API_ARGS=()
is_status 201 "d1 renews"

scrape
moved 'iota_provisions_total{outcome="issued"}' 4 "4 provisionings issued"
moved 'iota_provisions_total{outcome="again"}' 1 "1 answered again"
moved 'iota_provisions_total{outcome="refused"}' 1 \
    "1 refused (the gate's wrong secret)"
moved 'iota_provisions_total{outcome="unavailable"}' 0 "none unavailable"
moved 'iota_provisions_total{outcome="error"}' 0 "none failed"
moved 'iota_renewals_total{outcome="issued"}' 1 "1 renewal issued"
moved 'iota_renewals_total{outcome="refused"}' 0 "no renewal refused"
moved iota_certificates_issued_total 5 "5 certificates issued"
moved iota_certificates_revoked_total 1 "1 certificate revoked"
moved iota_provision_duration_seconds_count 6 \
    "6 requests timed (the gate's refusal is not)"
is "$(metric 'iota_provision_duration_seconds_bucket{le="+Inf"}')" \
    "$(metric iota_provision_duration_seconds_count)" "+Inf bucket = _count"
is "$(metric 'iota_certificates_expiring{within="7d"}')" 1 \
    "expiring within 7 days: s1 (5 days)"
is "$(metric 'iota_certificates_expiring{within="30d"}')" 2 \
    "expiring within 30 days: s1 and m1 (20 days), not the 365-day ones"
ok "[ $(metric iota_store_commit_duration_seconds_count) -gt 0 ]" \
    "store commits were timed"
for m in iota_broker_calls_total iota_broker_failures_total \
    iota_signer_restarts_total \
    iota_ratelimit_refused_total iota_ratelimit_evicted_total \
    iota_http_slow_heads_total iota_http_reclaimed_total \
    iota_http_over_address_total iota_http_connections; do
	isnt "$(metric "$m")" absent "$m is exposed"
done

if command -v promtool >/dev/null 2>&1; then
	printf '%s\n' "$SCRAPE" >"$T/scrape.txt"
	out=$(promtool check metrics <"$T/scrape.txt" 2>&1)
	is "$?:$out" "0:" "promtool check metrics: no problem"
else
	skip "promtool is not installed (Debian package prometheus)"
fi

# The signer killed: the restart is counted once a new one is ready.
signer_pid() {
	sed -n 's/.* signer: pid \([0-9]*\) ready.*/\1/p' "$IOTAD_LOG" | tail -1
}
SIG=$(signer_pid)
if [ -n "$SIG" ] && kill -KILL "$SIG" 2>/dev/null; then
	for ((i = 0; i < 250; i++)); do
		[ -n "$(signer_pid)" ] && [ "$(signer_pid)" != "$SIG" ] && break
		sleep 0.02
	done
	BEFORE=$SCRAPE
	scrape
	moved iota_signer_restarts_total 1 "the killed signer's restart is counted"
else
	fail "no signer pid in the log to kill"
fi

api GET /metrics "$OP"
is_error 403 forbidden "an operator token may not scrape"
api GET /metrics ""
is_error 401 unauthorized "no token may not scrape"

# --- metrics.listen http -------------------------------------------------------
iotad_stop
iotad_write_conf "metrics:
  listen: http
  address: 127.0.0.1
  port: 0"
OFF=$(stat -c %s "$IOTAD_LOG")
iotad_start || bail_out "iotad with metrics.listen http did not start"
MPORT=$(tail -c +"$((OFF + 1))" "$IOTAD_LOG" |
    sed -n 's|.* metrics listening on http://127\.0\.0\.1:\([0-9][0-9]*\)$|\1|p' |
    head -1)
ok "[ -n '$MPORT' ]" "the metrics listener logs its port"
PLAIN=$(curl -sS --max-time 20 -w '\n%{http_code}' \
    "http://127.0.0.1:$MPORT/metrics" 2>&1)
is "${PLAIN##*$'\n'}" 200 "plain HTTP scrape, no token: 200"
SCRAPE=${PLAIN%$'\n'*}
is "$(metric 'iota_certificates_expiring{within="7d"}')" 1 \
    "the plain scrape reads the registry (s1)"
is "$(curl -sS --max-time 20 -o /dev/null -w '%{http_code}' \
    "http://127.0.0.1:$MPORT/v1/health")" 404 \
    "the metrics listener serves /metrics alone"
api GET /metrics "$ADMIN"
is_error 404 not_found "the HTTPS route is gone with the admin token"

# --- metrics.listen off ---------------------------------------------------------
iotad_stop
iotad_write_conf "metrics:
  listen: off"
iotad_start || bail_out "iotad with metrics.listen off did not start"
api GET /metrics "$ADMIN"
is_error 404 not_found "metrics.listen off: no /metrics on HTTPS"

done_testing
