#!/bin/bash
# Every route refuses the callers its row does not name, before its handler
# runs: walks the table iotad prints (iotad --routes), and for each route
# sends no credential, a wrong one, a malformed one and each credential of
# another class, and checks the answer docs/API.md gives ("Credentials",
# "Errors").  The registry must be as it was after the walk.  Also checks
# that docs/API.md's "who" column says what the table says.
#
# The broker's routes answer 404 while broker.mode does not ask them; a
# second iotad in broker.mode auth-backend shows the address check (403)
# and that a listed address gets past the gate.
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
. "${T_SRCDIR:-$(dirname "$0")}/lib/tap.sh"
. "$T_SRCDIR/lib/iotad.sh"
need_iotad

T=$T_TMP
iotad_setup "$T/iotad" "ratelimit:
  failures_per_minute: 10000
  lockout: 1s"
iotad_start || bail_out "iotad did not start"

b64tail() { ossl rand -base64 32 | tr '+/' '-_' | cut -c1-43; }

tenant_add acme OP || bail_out "tenant acme"
group_add "$OP" g1 SECRET || bail_out "group g1"
devices_add "$OP" g1 d1 || bail_out "device d1"
PUBLIC_ID=${SECRET:2:16}

# The credentials of each kind, and the ones that must never pass.
declare -A CRED=(
	[none]=''
	[admin]=$ADMIN
	[operator]=$OP
	[device-secret]=$SECRET
	[wrong-admin]="iota_admin_$(b64tail)"
	[wrong-operator]="iota_op_$(b64tail)"
	[wrong-secret]="PS$PUBLIC_ID.$(b64tail)"
	[malformed]='iota_op_short'
)

# expect CLASS CREDENTIAL: the documented answer, "STATUS error".
expect() {
	local class=$1 cred=$2
	case $class:$cred in
	*:"$class") echo pass ;;
	"admin|operator":admin|"admin|operator":operator) echo pass ;;
	broker:*) echo "404 not_found" ;;
	admin:operator) echo "403 forbidden" ;;
	operator:admin) echo "403 forbidden" ;;
	*) echo "401 unauthorized" ;;
	esac
}

# A body each route would take, so that only the gate can refuse it.
body_for() {
	case $1 in
	/v1/tenants) echo '{"name":"t-routes"}' ;;
	/v1/groups) echo '{"name":"g-routes"}' ;;
	/v1/tokens) echo '{"name":"t-routes"}' ;;
	/v1/groups/g1) echo '{"quota":5}' ;;
	/v1/groups/g1/devices) echo '{"name":"d-routes"}' ;;
	/v1/provision) jq -cn --rawfile c "$T/d1.csr" \
	    '{device:"d1",group:"g1",csr:$c}' ;;
	/auth/*) echo 'username=x&password=y' ;;
	*) echo '' ;;
	esac
}
# The Content-Type of body_for's body: past the type check to the gate.
type_for() {
	case $1 in
	/auth/*) echo application/x-www-form-urlencoded ;;
	*) echo application/json ;;
	esac
}
device_key "$T/d1"

# The handler's own answer to a route of anyone's: the gate let it through.
anyone_answer() {
	case $1 in
	"GET /crl/00.crl") echo 404 ;;	# no issuer of that serial
	*) echo 200 ;;
	esac
}

"$IOTAD" --routes >"$T/routes" 2>"$T/routes.err"
is "$?" 0 "iotad --routes: exit 0"
NROUTES=$(wc -l <"$T/routes")
ok "[ $NROUTES -ge 18 ]" "iotad --routes lists the $NROUTES routes"
like "$(awk '{print $3}' "$T/routes" | sort -u | tr '\n' ' ')" \
    '^(admin |admin\|operator |anyone |broker |device-cert |device-cert\|est-basic |device-secret |operator )+$' \
    "every route names its callers, of the classes the gate knows"

API_SRC='' snapshot "$OP" g1
BEFORE=$SNAP
[ "$HAVE_SQLCIPHER" = 1 ] && BEFORE_CERTS=$(cert_count)

N=0 BAD=0
while read -r method pattern class; do
	path=${pattern//\{group\}/g1}
	path=${path//\{device\}/d1}
	path=${path//\{file\}/00.crl}
	path=${path//\{label\}/g1}
	path=${path//\{name\}/initial}
	path=${path//\{tenant\}/acme}
	path=${path//\{request\*\}/MAo=}
	body=$(body_for "$path")
	for cred in none wrong-admin wrong-operator wrong-secret malformed \
	    admin operator device-secret; do
		[ "$cred" = "$class" ] && continue
		want=$(expect "$class" "$cred")
		[ "$want" = pass ] && continue	# a rightful caller: not the walk's
		[ "$class" = anyone ] && want=$(anyone_answer "$method $path")
		N=$((N + 1))
		API_SRC=127.0.0.$((20 + N % 200))
		if [ -n "$body" ]; then
			API_TYPE=$(type_for "$path") \
			    api "$method" "$path" "${CRED[$cred]}" "$body"
		else
			api "$method" "$path" "${CRED[$cred]}"
		fi
		got="$STATUS $(_error_code)"
		[ "$class" = anyone ] && got=$STATUS
		if [ "$got" != "$want" ]; then
			BAD=$((BAD + 1))
			diag "$method $pattern ($class) with $cred: got $got, want $want"
		fi
	done
done <"$T/routes"
API_SRC=''
is "$BAD" 0 "all $N requests of the walk answered as docs/API.md says"

API_SRC='' snapshot "$OP" g1
is "$SNAP" "$BEFORE" "the walk changed no group or device"
[ "$HAVE_SQLCIPHER" = 1 ] &&
    is "$(cert_count)" "$BEFORE_CERTS" "the walk recorded no certificate"

# The rightful caller of each token route is let through the gate (it
# gets the handler's answer, not the gate's): a control for the walk.
api GET /v1/groups "$OP"
is_status 200 "control: the operator lists groups"
api GET /v1/groups/g1/devices/d1 "$OP"
is_status 200 "control: the operator shows d1"
api POST /v1/provision "$SECRET" "$(body_for /v1/provision)"
is_status 201 "control: d1 provisions with the group's secret"

# docs/API.md's "who" for each route is the table's class.
API_MD=$T_SRCDIR/../docs/API.md
doc_who() {	# METHOD PATH: the who column of its row
	awk -F'|' -v m="$1" -v p="$2" '
	    $2 ~ "^ *" m " *$" {
		n = split($3, paths, ",")
		for (i = 1; i <= n; i++) {
			gsub(/^ +| +$/, "", paths[i]); sub(/\?.*/, "", paths[i])
			if (paths[i] == p) { w = $4; gsub(/^ +| +$/, "", w); print w }
		}
	    }' "$API_MD"
}
MISMATCH=0
while read -r method pattern class; do
	who=$(doc_who "$method" "$pattern")
	case $class:$who in
	anyone:anyone|admin:admin|operator:operator|device-secret:device|device-cert:device-cert) ;;
	"device-cert|est-basic:device-cert or est-basic") ;;
	"admin|operator:admin or operator") ;;
	broker:"the broker"*) ;;
	*) MISMATCH=$((MISMATCH + 1))
	   diag "docs/API.md: $method $pattern says '$who', the table '$class'" ;;
	esac
done <"$T/routes"
is "$MISMATCH" 0 "docs/API.md names the same callers as the route table"

# --- the broker's routes in broker.mode auth-backend ------------------------------
iotad_stop
mkdir -p "$T/iotad/broker"
(umask 077 && echo "guest:guest" >"$T/mgmt.credentials" &&
    ossl rand -hex 32 >"$T/iotad/state/broker.key")
iotad_write_conf "broker:
  mode: auth-backend
  mqtt_url: mqtts://127.0.0.1:1
  management_url: http://127.0.0.1:1
  management_credentials_file: $T/mgmt.credentials
  amqp_port: 1
  key_file: $T/iotad/state/broker.key
  auth_clients: 127.0.0.1
  timeout: 1s"
if iotad_start; then
	for r in user vhost resource topic; do
		API_TYPE=$(type_for /auth/) API_SRC=127.0.0.2 \
		    api POST "/auth/$r" "" 'username=x&password=y'
		is_error 403 forbidden "auth-backend: POST /auth/$r from 127.0.0.2 (not listed)"
		API_TYPE=$(type_for /auth/) API_SRC=127.0.0.1 \
		    api POST "/auth/$r" "" 'username=x&password=y'
		is "$STATUS $BODY" "200 deny" "auth-backend: POST /auth/$r from 127.0.0.1 passes the gate (deny)"
		API_SRC=127.0.0.1 api POST "/auth/$r" "" '{"username":"x"}'
		is_error 415 unsupported_media_type "auth-backend: POST /auth/$r with a JSON body"
	done
else
	fail "iotad in broker.mode auth-backend did not start: $(tail -3 "$IOTAD_LOG")"
fi

done_testing
