#!/bin/bash
# SIGHUP reloads the configuration and the intermediates without dropping
# a request: under a provisioning load, `iotactl ca rotate` and a SIGHUP;
# every request succeeds, certificates after the reload come from the new
# intermediate, the chain served covers both, and the old intermediate's
# certificates keep verifying with their CRL and OCSP still served.  A
# reload that fails keeps what runs and says so in one line.
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
. "${T_SRCDIR:-$(dirname "$0")}/lib/tap.sh"
. "$T_SRCDIR/lib/iotad.sh"
need_iotad

T=$T_TMP
D=$T/iotad
CA=$D/ca
EXTRA="revocation:
  port: 0"
iotad_setup "$D" "$EXTRA"
iotad_start || bail_out "iotad did not start"
REV_URL=http://127.0.0.1:$(sed -n 's|.* revocation listening on http://127\.0\.0\.1:\([0-9][0-9]*\)$|\1|p' \
    "$IOTAD_LOG" | tail -1)
OLD=$(serial_of "$CA/intermediate.crt")
cp "$CA/intermediate.crt" "$T/old-inter.crt"

tenant_add acme OP || bail_out "tenant"
group_add "$OP" g1 SECRET || bail_out "group"
N=400	# more than the load gets to: it stops once both halves are seen
names=()
for i in $(seq -w 1 $N); do names+=("l$i"); done
devices_add "$OP" g1 d1 "${names[@]}" || bail_out "devices"
device_key "$T/d1"
provision "$SECRET" g1 d1 "$T/d1.csr"
[ "$STATUS" = 201 ] || bail_out "provision d1: $STATUS $BODY"
save_provisioned "$T/d1"
device_key "$T/load"	# one key per device would cost more than the load

# reloaded: waits (bounded) for the N-th "reloaded" or "reload failed".
wait_log() {
	local re=$1 want=$2 i
	for ((i = 0; i < 300; i++)); do
		[ "$(grep -cE "$re" "$IOTAD_LOG")" -ge "$want" ] && return 0
		sleep 0.05
	done
	return 1
}

# answered: provisionings the load got back so far.
answered() { find "$T/load.out" -name '*.json' -size +0 | wc -l; }
# at_least N: waits (bounded) until N have been answered.
at_least() {
	local i
	for ((i = 0; i < 600; i++)); do
		[ "$(answered)" -ge "$1" ] && return 0
		sleep 0.05
	done
	return 1
}

# --- rotate and SIGHUP under load -------------------------------------------------------
# The load runs until told to stop: the reload comes after 10 answers,
# and the load stops 10 answers after it, whatever the machine's speed.
mkdir -p "$T/load.out"
printf '%s\n' "${names[@]}" | xargs -P 6 -I{} sh -c '
	[ -e "$1/stop" ] && exit 0
	jq -cn --arg d {} --rawfile c "$1/load.csr" "{device: \$d, group: \"g1\", csr: \$c}" |
	curl -sS --max-time 30 --cacert "$2" -H "Authorization: Bearer $3" \
	    -H "Content-Type: application/json" --data-binary @- \
	    -o "$1/load.out/{}.json" -w "%{http_code}\n" "$4/v1/provision"
' _ "$T" "$CACERT" "$SECRET" "$IOTAD_URL" >"$T/load.codes" 2>&1 &
LOAD=$!
at_least 10 || bail_out "the load did not start"
run "$IOTACTL" ca rotate --dir "$CA" --passphrase-file "$D/pass"
is "$RC" 0 "iotactl ca rotate during the load" || diag "$ERR"
NEW=$(serial_of "$CA/intermediate.crt")
kill -HUP "$IOTAD_PID"
wait_log 'reloaded: signing with intermediate' 1
is "$?" 0 "SIGHUP: iotad says it reloaded"
like "$(grep 'reloaded:' "$IOTAD_LOG")" "intermediate $NEW, 2 issuers served" \
    "... now signing with the new intermediate, serving both"
at_least $(($(answered) + 10)) || bail_out "the load stopped"
touch "$T/stop"
wait "$LOAD"
n=$(answered)
ok "[ $n -lt $N ]" "the load was still running when the reload was done ($n answered)"
is "$(sort "$T/load.codes" | uniq -c | sed 's/^ *//')" "$n 201" \
    "all $n provisionings during the rotation answered 201"
ok "_alive $IOTAD_PID" "iotad kept running"
new=0 old=0 bad=0
for f in "$T"/load.out/*.json; do
	jq -r .certificate "$f" >"$T/one.crt"
	jq -r .ca_chain "$f" >"$T/one.chain"
	case $(ossl x509 -in "$T/one.crt" -noout -issuer -nameopt RFC2253 2>/dev/null) in
	*"Intermediate CA 2"*) new=$((new + 1)) ;;
	*"Intermediate CA 1"*) old=$((old + 1)) ;;
	esac
	ossl verify -CAfile "$CACERT" -untrusted "$T/one.chain" "$T/one.crt" \
	    >/dev/null 2>&1 || bad=$((bad + 1))
done
ok "[ $new -gt 0 ] && [ $old -gt 0 ]" \
    "certificates before the reload come from the old intermediate, after it from the new ($old old, $new new)"
is "$bad" 0 "every certificate verifies with the chain it came with"

provision "$SECRET" g1 d1 "$T/d1.csr"
jf .ca_chain >"$T/chain-now.pem"
chain=$(ossl crl2pkcs7 -nocrl -certfile "$T/chain-now.pem" | ossl pkcs7 -print_certs -noout)
like "$chain" "Intermediate CA 2" "the chain served names the new intermediate"
like "$chain" "Intermediate CA 1" "... and the old one, for the overlap"
like "$(ossl verify -CAfile "$CACERT" -untrusted "$T/chain-now.pem" "$T/d1.crt" 2>&1)" \
    ': OK$' "d1's certificate from the old intermediate still verifies"

# The old intermediate's CRL and OCSP are still served.
STATUS=$(curl -sS -o "$T/old.crl" -w '%{http_code}' "$REV_URL/crl/$OLD.crl")
is "$STATUS" 200 "the old intermediate's CRL is still served"
like "$(ossl crl -inform DER -in "$T/old.crl" -noout -CAfile "$T/old-inter.crt" 2>&1)" \
    'verify OK' "... signed by the old intermediate"
api POST /v1/groups/g1/devices/d1/revoke "$OP"
is_status 200 "revoke d1 (from the old intermediate)"
curl -sS -o "$T/old2.crl" "$REV_URL/crl/$OLD.crl"
like "$(ossl crl -inform DER -in "$T/old2.crl" -noout -text)" \
    "Serial Number: $(serial_of "$T/d1.crt")" "the old intermediate's CRL lists d1"
like "$(ossl ocsp -issuer "$T/old-inter.crt" -cert "$T/d1.crt" -url "$REV_URL/ocsp" \
    -CAfile "$CACERT" 2>&1)" "d1.crt: revoked" "OCSP for the old intermediate says revoked"

# --- a reload that fails, and one that wants a restart -----------------------------------
cp "$IOTAD_CONF" "$T/good.yaml"
printf 'listen:\n  adress: x\n' >>"$IOTAD_CONF"
kill -HUP "$IOTAD_PID"
wait_log 'reload failed' 1
is "$?" 0 "a broken configuration: the reload fails"
is "$(grep -c 'reload failed' "$IOTAD_LOG")" 1 "... said in one line"
like "$(grep 'reload failed' "$IOTAD_LOG")" 'iotad\.yaml:[0-9]+:[0-9]+' "... naming file, line and column"
api GET /v1/health ""
is_status 200 "iotad still serves"
provision "$SECRET" g1 "${names[0]}" "$T/load.csr"
is_status 200 "... and provisions (a retry, answered from the record)"
cp "$T/good.yaml" "$IOTAD_CONF"
sed -i 's/^  port: 0$/  port: 1/' "$IOTAD_CONF"
kill -HUP "$IOTAD_PID"
wait_log 'reloaded: signing' 2
like "$(grep 'needs a restart' "$IOTAD_LOG")" 'listen' "a changed listen.port: the reload says it needs a restart"
api GET /v1/health ""
is_status 200 "... and iotad serves on as it was"

done_testing
