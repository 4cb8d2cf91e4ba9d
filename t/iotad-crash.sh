#!/bin/bash
# kill -9 in the middle of concurrent provisioning.  40 registered devices,
# 8 clients provisioning them in parallel; once some have their answer,
# iotad is killed with SIGKILL and started again.  Then every certificate a
# client received is recorded (the device shows it), no device is left
# half-provisioned, a retry with the same key returns the recorded
# certificate, and the devices that got no answer finish provisioning.
#
# SIGKILL tests the order (answer only after commit), not the sync to the
# disk, which only a power cut would show.
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
. "${T_SRCDIR:-$(dirname "$0")}/lib/tap.sh"
. "$T_SRCDIR/lib/iotad.sh"
need_iotad

T=$T_TMP
N=40		# devices
W=8		# parallel clients
K=10		# answers before the kill
iotad_setup "$T/iotad"
iotad_start || bail_out "iotad did not start"

tenant_add acme OP || bail_out "tenant"
group_add "$OP" fleet SECRET || bail_out "group"
DEVS=()
for ((i = 0; i < N; i++)); do DEVS+=("$(printf 'd-%02d' "$i")"); done
devices_add "$OP" fleet "${DEVS[@]}" || bail_out "devices"
mkdir "$T/req" "$T/resp" "$T/retry"
for d in "${DEVS[@]}"; do
	device_key "$T/req/$d" "/CN=$d"
	# The request, in JSON: a PEM needs only its newlines escaped.
	printf '{"device":"%s","group":"fleet","csr":"%s"}' "$d" \
	    "$(awk '{ printf "%s\\n", $0 }' "$T/req/$d.csr")" >"$T/req/$d.json"
done
jq -e . "$T/req/d-00.json" >/dev/null || bail_out "bad request JSON"

# post DEVICE DIR: one provisioning request; DIR/DEVICE.body and, last,
# DIR/DEVICE.code: the status, or 000 when no whole answer came.
post() {
	local code rc
	code=$(curl -sS --max-time 15 --cacert "$CACERT" \
	    -H "Authorization: Bearer $SECRET" -H 'Content-Type: application/json' \
	    --data-binary "@$T/req/$1.json" -o "$2/$1.body" -w '%{http_code}' \
	    "$IOTAD_URL/v1/provision" 2>"$2/$1.err")
	rc=$?
	[ "$rc" -eq 0 ] && [ -n "$code" ] || code=000
	printf '%s\n' "$code" >"$2/$1.code.tmp"
	mv "$2/$1.code.tmp" "$2/$1.code"
}

# worker W: devices W, W+8, ... one after the other.
worker() {
	local i
	for ((i = $1; i < N; i += W)); do
		post "${DEVS[i]}" "$T/resp"
	done
}

answered() { cat "$T/resp/"*.code 2>/dev/null | grep -c '^20[01]$'; }

WORKERS=()
at_exit 'for p in "${WORKERS[@]}"; do kill "$p"; done'
for ((w = 0; w < W; w++)); do
	worker "$w" </dev/null >"$T/worker-$w.out" 2>&1 &
	WORKERS+=($!)
done
for ((i = 0; i < 1500; i++)); do	# 30 s at most
	[ "$(answered)" -ge "$K" ] && break
	sleep 0.02
done
at_kill=$(answered)
iotad_kill9
for p in "${WORKERS[@]}"; do wait "$p"; done
WORKERS=()
ok "[ $at_kill -ge $K ]" "$at_kill answers received when iotad was killed (SIGKILL)"

got=() lost=() odd=()
for d in "${DEVS[@]}"; do
	case $(cat "$T/resp/$d.code" 2>/dev/null) in
	201)	got+=("$d") ;;
	000)	lost+=("$d") ;;
	*)	odd+=("$d:$(cat "$T/resp/$d.code" 2>/dev/null)") ;;
	esac
done
is "${odd[*]}" "" "every client got 201 or no answer at all"
ok "[ ${#got[@]} -ge $K ] && [ ${#lost[@]} -ge 1 ]" \
    "the kill came in the middle: ${#got[@]} answered, ${#lost[@]} not"

iotad_start || bail_out "iotad did not start again after SIGKILL"
pass "iotad starts again on the same state"

# RECORD: name state serial not_after provisioned_at, per device.
record() {
	api GET "/v1/groups/fleet/devices?limit=1000" "$OP"
	RECORD=$(jf '.devices[] | [.name, .state, .serial, .not_after,
	    .provisioned_at] | map(tostring) | @tsv')
}
# answers DIR DEVICE...: device serial not_after certificate(JSON) per line.
answers() {
	local dir=$1 d files=()
	shift
	for d in "$@"; do files+=("$dir/$d.body"); done
	[ ${#files[@]} -gt 0 ] || return 0
	jq -r '[(input_filename | sub(".*/"; "") | sub("\\.body$"; "")),
	    .serial, (.not_after | tostring), (.certificate | @json)] | @tsv' \
	    "${files[@]}"
}

record
is "$(wc -l <<<"$RECORD")" "$N" "all $N devices are listed"
bad=$(awk -F'\t' '
    $2 == "registered" && $3 == "null" && $4 == "null" && $5 == "null" { next }
    $2 == "provisioned" && $3 ~ /^[0-9A-F]+$/ && $4 ~ /^[0-9]+$/ &&
	$5 ~ /^[0-9]+$/ { next }
    { print }' <<<"$RECORD")
is "$bad" "" "no device half-provisioned: registered with no serial, or provisioned with serial and dates"

# Every certificate a client received is the one recorded for its device.
# recorded: device serial not_after of the provisioned ones.
recorded() {
	awk -F'\t' -v OFS='\t' '$2 == "provisioned" { print $1, $3, $4 }' \
	    <<<"$RECORD" | sort
}
missing=$(comm -23 <(answers "$T/resp" "${got[@]}" | cut -f1-3 | sort) \
    <(recorded))
is "$missing" "" "every certificate a client received is recorded as its device's (serial, expiry)"
for d in "${got[@]}"; do jq -r .certificate "$T/resp/$d.body" >"$T/resp/$d.crt"; done
jq -r .ca_chain "$T/resp/${got[0]}.body" >"$T/chain.pem"
(cd "$T/resp" && ossl verify -x509_strict -purpose sslclient -CAfile "$CACERT" \
    -untrusted "$T/chain.pem" "${got[@]/%/.crt}") >"$T/verify.out" 2>&1
is "$(grep -c ': OK$' "$T/verify.out")" "${#got[@]}" \
    "the ${#got[@]} certificates received verify" || diag "$(head "$T/verify.out")"
wrong_cn=$(for d in "${got[@]}"; do
	[ "$(subject_of "$T/resp/$d.crt")" = "CN=$d,OU=fleet,O=acme" ] || echo "$d"
done)
is "$wrong_cn" "" "each names its device"

provisioned=$(awk -F'\t' '$2 == "provisioned" { print $1 }' <<<"$RECORD")
recorded_lost=$(comm -12 <(printf '%s\n' "${lost[@]}" | sort) <(sort <<<"$provisioned"))
diag "recorded but unanswered (answer lost in the kill): ${recorded_lost//$'\n'/ }"

# Retry every device with its key.
for d in "${DEVS[@]}"; do post "$d" "$T/retry"; done
codes=$(for d in "${DEVS[@]}"; do
	printf '%s %s\n' "$d" "$(cat "$T/retry/$d.code")"
done)
want=$(for d in "${DEVS[@]}"; do
	if grep -qx -- "$d" <<<"$provisioned"; then echo "$d 200"; else echo "$d 201"; fi
done)
is "$codes" "$want" "retry with the same key: 200 for the recorded ones, 201 for the others"
ans_first=$(answers "$T/resp" "${got[@]}" | sort)
ans_retry=$(answers "$T/retry" "${got[@]}" | sort)
is "$ans_retry" "$ans_first" "retry: the very certificates the clients had received"
# shellcheck disable=SC2086
again=$(answers "$T/retry" $recorded_lost | cut -f1-3 | sort)
is "$again" "$(join -t $'\t' <(sort <<<"$recorded_lost") <(recorded))" \
    "retry: an answer lost in the kill gets the recorded certificate"

record
is "$(awk -F'\t' '$2 == "provisioned"' <<<"$RECORD" | wc -l)" "$N" "in the end all $N are provisioned"
is "$(cut -f3 <<<"$RECORD" | sort -u | wc -l)" "$N" "with $N distinct serials"
final=$(awk -F'\t' -v OFS='\t' '{ print $1, $3, $4 }' <<<"$RECORD" | sort)
is "$(answers "$T/retry" "${DEVS[@]}" | cut -f1-3 | sort)" "$final" \
    "each the certificate its client last received"
api GET /v1/groups/fleet "$OP"
is "$(jf '[.devices, .provisioned] | @tsv')" "$N"$'\t'"$N" "the group counts $N devices, $N provisioned"

if [ "$HAVE_SQLCIPHER" = 1 ]; then
	is "$(db_query 'PRAGMA integrity_check;')" ok "the database passes integrity_check"
	is "$(db_query 'PRAGMA foreign_key_check;')" "" "and foreign_key_check"
	is "$(db_query "SELECT count(*) FROM certificates;")" "$N" \
	    "exactly $N certificates recorded: none signed and left behind"
	is "$(db_query "SELECT count(*) FROM devices d JOIN certificates c
	    ON c.serial = d.serial AND c.device_id = d.id
	    WHERE d.state = 'provisioned' AND c.not_after = d.not_after;")" "$N" \
	    "each device's serial is its own certificate's"
else
	skip "sqlcipher not installed: the database is not inspected" 4
fi
iotad_stop
is "$IOTAD_RC" 0 "iotad exits 0 on SIGTERM"
done_testing
