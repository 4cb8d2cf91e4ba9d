#!/bin/bash
# Every refusal of iotad's API (docs/API.md, "Errors"), each with its status
# and error code, and each leaving the registry as it was: wrong, foreign,
# expired and malformed secrets, quota, unregistered, revoked and already
# provisioned devices, hostile CSRs and bodies, unknown routes and methods,
# missing, invalid and misplaced tokens, cross-tenant access on every
# operator route, and brute force reaching 429.
#
# Failed credentials count against the client's address (and a failed
# provisioning secret against its group too), and this iotad tolerates 3
# a minute: each such request below comes from its own loopback address
# (fresh_src), so that only the brute-force part locks anything out.
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
. "${T_SRCDIR:-$(dirname "$0")}/lib/tap.sh"
. "$T_SRCDIR/lib/iotad.sh"
need_iotad

T=$T_TMP
LOCKOUT=6
iotad_setup "$T/iotad" "ratelimit:
  failures_per_minute: 3
  lockout: ${LOCKOUT}s"
iotad_start || bail_out "iotad did not start"

# Client addresses: 127.0.0.1 for the operators' own calls, one of
# 127.0.0.11... for each group of at most 3 failed credentials.
SRC_N=10
fresh_src() { SRC_N=$((SRC_N + 1)); API_SRC=127.0.0.$SRC_N; }
API_SRC=127.0.0.2 api GET /v1/health ""
[ "$STATUS" = 200 ] && grep -q ' 127\.0\.0\.2 GET /v1/health 200' "$IOTAD_LOG" ||
    bail_out "cannot connect from 127.0.0.2 (curl --interface)"

# A random well-formed tail for a secret or token: 43 base64url characters.
b64tail() { ossl rand -base64 32 | tr '+/' '-_' | cut -c1-43; }

# --- fixtures -------------------------------------------------------------------
tenant_add acme OPA || bail_out "tenant acme"
tenant_add bravo OPB || bail_out "tenant bravo"
group_add "$OPA" alpha SA || bail_out "group alpha"
group_add "$OPA" beta SB || bail_out "group beta"
group_add "$OPA" quota1 SQ '{"quota":1}' || bail_out "group quota1"
group_add "$OPA" bf SBF || bail_out "group bf"
group_add "$OPB" b-group SBB || bail_out "group b-group"
devices_add "$OPA" alpha dev-ok dev-2 dev-3 dev-rev dev-rev2 || bail_out "alpha devices"
devices_add "$OPA" beta dev-2 dev-b-only || bail_out "beta devices"
devices_add "$OPA" quota1 q-1 q-2 || bail_out "quota1 devices"
devices_add "$OPA" bf bf-1 || bail_out "bf devices"
devices_add "$OPB" b-group dev-ok || bail_out "b-group devices"
for k in k1 k2 rev2 dev-2 dev-3 q-1 q-2 bf-1 b-dev-ok; do device_key "$T/$k"; done

provision "$SA" alpha dev-ok "$T/k1.csr"
[ "$STATUS" = 201 ] || bail_out "alpha/dev-ok: $STATUS $BODY"
S1=$(jf .serial)
jf .certificate >"$T/dev-ok.crt"
provision "$SA" alpha dev-rev2 "$T/rev2.csr"
[ "$STATUS" = 201 ] || bail_out "alpha/dev-rev2: $STATUS $BODY"
api POST /v1/groups/alpha/devices/dev-rev2/revoke "$OPA"
api POST /v1/groups/alpha/devices/dev-rev/revoke "$OPA"
provision "$SQ" quota1 q-1 "$T/q-1.csr"
[ "$STATUS" = 201 ] || bail_out "quota1/q-1: $STATUS $BODY"

# STATE: what the operators see of their groups and devices, and the number
# of certificates recorded (with sqlcipher).  Taken again only when a request
# was made since (API_N counts them).
STATE_N=-1
state_now() {
	local a
	[ "$STATE_N" = "$API_N" ] && return 0
	# Plain requests: an Authorization header the test adds would be a
	# second one (400).
	local API_ARGS=()
	API_SRC='' snapshot "$OPA" alpha beta quota1
	a=$SNAP
	API_SRC='' snapshot "$OPB" b-group
	STATE=$a$SNAP
	[ "$HAVE_SQLCIPHER" = 1 ] && STATE+="certificates $(cert_count)"
	STATE_N=$API_N
}

# state_same DESC BEFORE
state_same() {
	state_now
	if [ "$STATE" = "$2" ]; then
		pass "$1: nothing changed"
	else
		fail "$1: nothing changed" "$(diff <(printf '%s\n' "$2") \
		    <(printf '%s\n' "$STATE"))"
	fi
}

# refused STATUS CODE DESC METHOD PATH TOKEN [BODY]: the answer, and
# nothing changed.
refused() {
	local st=$1 code=$2 desc=$3 before
	shift 3
	state_now
	before=$STATE
	api "$@"
	is_error "$st" "$code" "$desc"
	state_same "$desc" "$before"
}

# prov_refused STATUS CODE DESC SECRET GROUP DEVICE CSR-FILE
prov_refused() {
	refused "$1" "$2" "$3" POST /v1/provision "$4" \
	    "$(provision_body "$5" "$6" "$7")"
}

state_now
pass "fixtures: 2 tenants, 5 groups, 13 devices, 3 provisioned (sqlcipher: $HAVE_SQLCIPHER)"

# --- brute force (first: the lockout runs out while the rest goes on) ------------
BF_SRC=127.0.0.200
WRONG_BF="${SBF%%.*}.$(b64tail)"
seq=
for ((i = 0; i < 8; i++)); do
	API_SRC=$BF_SRC provision "$WRONG_BF" bf bf-1 "$T/bf-1.csr"
	seq+="$STATUS "
	[ "$STATUS" = 429 ] && break
done
T_LOCKED=$(date +%s)
like "$seq" '^401 401 401 (401 )*429 $' "brute force: 3 wrong secrets tolerated, then 429 ($seq)"
is "$(_error_code)" rate_limited "brute force: error rate_limited"
ra=$(header Retry-After)
ok "[[ '$ra' =~ ^[0-9]+$ ]] && [ '$ra' -ge 1 ] && [ '$ra' -le $LOCKOUT ]" \
    "brute force: Retry-After $ra (1..$LOCKOUT)"
# Each wrong secret once a wait is over makes the next wait twice as long
# (wrong secrets only: a right one after a wait would provision bf-1).
waits="$ra "
for ((i = 0; i < 6 && ra < 3; i++)); do
	sleep "$ra"
	for ((k = 0; k < 3; k++)); do
		API_SRC=$BF_SRC provision "$WRONG_BF" bf bf-1 "$T/bf-1.csr"
		[ "$STATUS" = 429 ] && break
	done
	ra=$(header Retry-After)
	waits+="$ra "
done
ok "[ '${ra:-0}' -ge 3 ] && [ '$(tr ' ' '\n' <<<"$waits" | sed '/^$/d' | sort -n | tr '\n' ' ')' = '$waits' ]" \
    "growing delays: each wrong secret after a wait makes the next longer ($waits s)"
API_SRC=$BF_SRC provision "$SBF" bf bf-1 "$T/bf-1.csr"
is_error 429 rate_limited "the right secret from the same client while it waits"
like "$(header Retry-After)" '^[1-9][0-9]*$' "  with a Retry-After header"
T_LOCKED=$(date +%s)
fresh_src
provision "$SBF" bf nobody "$T/bf-1.csr"
is_error 403 device_not_registered "the group is not locked for another client: its secret is checked (an unregistered device)"
API_SRC=$BF_SRC provision "$SA" alpha dev-3 "$T/dev-3.csr"
is_error 429 rate_limited "the right secret of another group from the locked client"
API_SRC=
api GET /v1/groups/bf/devices/bf-1 "$OPA"
is "$(jf '[.state, .serial] | @json')" '["registered",null]' "bf-1 is still only registered"
like "$(grep 'action=provision target=bf-1 outcome=unauthorized' "$IOTAD_LOG" |
    grep -c "client=$BF_SRC")" '^([4-9]|1[0-9])$' "the failed secrets are in the audit trail"

# Operator tokens are guessed the same way.
fresh_src
seq=
for ((i = 0; i < 8; i++)); do
	api GET /v1/groups "iota_op_$(b64tail)"
	seq+="$STATUS "
	[ "$STATUS" = 429 ] && break
done
like "$seq" '^401 401 401 (401 )*429 $' "guessing operator tokens: 429 too ($seq)"
like "$(header Retry-After)" '^[1-9][0-9]*$' "  with a Retry-After header"
API_SRC=

# --- provisioning: the credential ---------------------------------------------------
fresh_src
prov_refused 401 unauthorized "a wrong secret for the group" "${SA%%.*}.$(b64tail)" alpha dev-2 "$T/dev-2.csr"
prov_refused 401 unauthorized "a malformed secret" "hunter2" alpha dev-2 "$T/dev-2.csr"
API_ARGS=(-H "Authorization: Basic $(printf 'x:%s' "$SA" | base64 -w0)")
prov_refused 401 unauthorized "the secret as Basic credentials" "" alpha dev-2 "$T/dev-2.csr"
API_ARGS=()
fresh_src
prov_refused 401 unauthorized "no Authorization header" "" alpha dev-2 "$T/dev-2.csr"
prov_refused 401 unauthorized "another group's secret (beta's, dev-2 is in both)" "$SB" alpha dev-2 "$T/dev-2.csr"
prov_refused 401 unauthorized "another tenant's secret" "$SBB" alpha dev-2 "$T/dev-2.csr"
fresh_src
prov_refused 401 unauthorized "an operator token as the secret" "$OPA" alpha dev-2 "$T/dev-2.csr"
prov_refused 401 unauthorized "the admin token as the secret" "$ADMIN" alpha dev-2 "$T/dev-2.csr"
prov_refused 401 unauthorized "a group's secret naming another group of the tenant" "$SQ" beta dev-b-only "$T/dev-2.csr"

# Without a valid secret nothing tells whether the group or device exists.
fresh_src
provision "${SA%%.*}.$(b64tail)" alpha dev-2 "$T/dev-2.csr"
a="$STATUS $BODY"
provision "PS$(ossl rand -hex 8).$(b64tail)" nosuch ghost "$T/dev-2.csr"
b="$STATUS $BODY"
provision "${SB%%.*}.$(b64tail)" beta ghost "$T/dev-2.csr"
c="$STATUS $BODY"
is "$b" "$a" "wrong secret: a missing group and device answer as an existing one"
is "$c" "$a" "wrong secret: a missing device of an existing group answers the same"
API_SRC=

# Expiry.
api PATCH /v1/groups/alpha "$OPA" "{\"secret_expires\":$(($(date +%s) - 60))}"
is_status 200 "set alpha's secret to have expired a minute ago"
prov_refused 401 secret_expired "an expired secret" "$SA" alpha dev-2 "$T/dev-2.csr"
api PATCH /v1/groups/alpha "$OPA" '{"secret_expires":null}'
is "$STATUS $(jf .secret_expires)" "200 null" "the expiry lifted again"
# The group's expiry ends a rotated-out secret still in its overlap too.
group_add "$OPA" expiring SE || bail_out "group expiring"
devices_add "$OPA" expiring e-1 || bail_out "expiring devices"
api POST /v1/groups/expiring/rotate-secret "$OPA"
SE2=$(jf .provisioning_secret)
api PATCH /v1/groups/expiring "$OPA" "{\"secret_expires\":$(($(date +%s) - 60))}"
provision "$SE" expiring e-1 "$T/dev-3.csr"
is_error 401 secret_expired "an expired group's previous secret, within its overlap"
provision "$SE2" expiring e-1 "$T/dev-3.csr"
is_error 401 secret_expired "an expired group's current secret"
api GET /v1/groups/expiring/devices/e-1 "$OPA"
is "$(jf '[.state, .serial] | @json')" '["registered",null]' "e-1 is still only registered"

# --- provisioning: the device's state ------------------------------------------------
prov_refused 403 quota_exhausted "the group's quota (1) is used up" "$SQ" quota1 q-2 "$T/q-2.csr"
prov_refused 403 device_not_registered "a device never registered" "$SA" alpha ghost "$T/dev-2.csr"
prov_refused 403 device_not_registered "a device registered in another group" "$SA" alpha dev-b-only "$T/dev-2.csr"
prov_refused 403 device_revoked "a revoked device" "$SA" alpha dev-rev "$T/dev-2.csr"
prov_refused 403 device_revoked "a revoked device retrying with its old key" "$SA" alpha dev-rev2 "$T/rev2.csr"
prov_refused 409 key_mismatch "a second key for a provisioned device" "$SA" alpha dev-ok "$T/k2.csr"
api GET /v1/groups/alpha/devices/dev-ok "$OPA"
is "$(jf '[.state, .serial] | @tsv')" $'provisioned\t'"$S1" "dev-ok keeps its certificate"
provision "$SA" alpha dev-ok "$T/k1.csr"
is "$STATUS $(jf .serial)" "200 $S1" "control: dev-ok's own key still gets its certificate"

# --- provisioning: hostile CSRs -------------------------------------------------------
good=$T/dev-2.csr
printf 'not a certification request\n' >"$T/junk.csr"
head -c 200 "$good" >"$T/trunc1.csr"
{ head -n 3 "$good"; tail -n 1 "$good"; } >"$T/trunc2.csr"
ossl req -in "$good" -outform DER -out "$T/good.der"
der=$(od -An -tx1 -v "$T/good.der" | tr -d ' \n')
last=$(( 0x${der: -2} ^ 1 ))
unhex "${der:0:${#der}-2}$(printf '%02x' "$last")" >"$T/badsig.der"
{ echo '-----BEGIN CERTIFICATE REQUEST-----'
  ossl base64 -in "$T/badsig.der"
  echo '-----END CERTIFICATE REQUEST-----'; } >"$T/badsig.csr"
like "$(ossl req -in "$T/badsig.csr" -noout -verify 2>&1)" 'verify fail' \
    "control: openssl finds the flipped signature bad"
mkcsr rsa1024 "$T/rsa1024" /CN=x || bail_out "openssl req rsa:1024"
# Over the engine's 16 KiB, under the 64 KiB body limit.
{ sed '$d' "$good"; for ((i = 0; i < 300; i++)); do printf '%064d\n' 0; done
  tail -n 1 "$good"; } >"$T/big.csr"
# Over the body limit.
{ sed '$d' "$good"; for ((i = 0; i < 1100; i++)); do printf '%064d\n' 0; done
  tail -n 1 "$good"; } >"$T/huge.csr"
: >"$T/empty.csr"
for c in junk:"not PEM or DER" trunc1:"a truncated PEM" trunc2:"a PEM cut in the middle" \
    badsig:"a CSR whose signature does not verify" rsa1024:"an RSA 1024 key" \
    big:"a CSR over 16 KiB (under the body limit)" empty:"an empty CSR"; do
	prov_refused 400 csr_rejected "$(printf '%s' "${c#*:}")" "$SA" alpha dev-2 "$T/${c%%:*}.csr"
done
prov_refused 400 csr_rejected "a certificate instead of a CSR" "$SA" alpha dev-2 "$T/dev-ok.crt"
provision "$SA" alpha dev-2 "$T/big.csr"
like "$(jf .message)" '16384|limit|large' "the CSR over 16 KiB: the message says so"
ok "[ $(provision_body alpha dev-2 "$T/big.csr" | wc -c) -lt 65536 ]" \
    "control: that request is under limits.max_body"
provision_body alpha dev-2 "$T/huge.csr" >"$T/huge.json"
ok "[ $(wc -c <"$T/huge.json") -gt 65536 ]" "control: the huge CSR's request is over limits.max_body"
state_now
before=$STATE
# Expect: the answer comes before the body is sent, which iotad does not read.
API_ARGS=(-H 'Expect: 100-continue')
api_file POST /v1/provision "$SA" "$T/huge.json"
API_ARGS=()
is_error 413 "$E_TOO_LARGE" "a CSR over the body limit"
state_same "a CSR over the body limit" "$before"

# --- provisioning: hostile bodies ------------------------------------------------------
csr_json=$(jq -Rs . <"$good")
long=$(printf 'd%.0s' {1..65})
state_now
before=$STATE
while IFS='|' read -r desc body; do
	api POST /v1/provision "$SA" "$body"
	is_error 400 bad_request "provision: $desc"
done <<EOF
bad JSON|{"device":"dev-2","group":"alpha",
not an object (array)|["dev-2","alpha"]
not an object (string)|"dev-2"
not an object (number)|42
JSON null|null
an empty body|
missing device|{"group":"alpha","csr":$csr_json}
missing group|{"device":"dev-2","csr":$csr_json}
missing csr|{"device":"dev-2","group":"alpha"}
device a number|{"device":2,"group":"alpha","csr":$csr_json}
group null|{"device":"dev-2","group":null,"csr":$csr_json}
group an array|{"device":"dev-2","group":["alpha"],"csr":$csr_json}
csr a number|{"device":"dev-2","group":"alpha","csr":5}
csr an object|{"device":"dev-2","group":"alpha","csr":{"pem":$csr_json}}
a duplicated key|{"device":"dev-2","device":"dev-3","group":"alpha","csr":$csr_json}
device name with a dot|{"device":"dev.2","group":"alpha","csr":$csr_json}
device name with a slash|{"device":"dev/2","group":"alpha","csr":$csr_json}
device name with a plus|{"device":"dev+","group":"alpha","csr":$csr_json}
device name with a hash|{"device":"dev#","group":"alpha","csr":$csr_json}
device name with a star|{"device":"*","group":"alpha","csr":$csr_json}
device name empty|{"device":"","group":"alpha","csr":$csr_json}
device name of 65 characters|{"device":"$long","group":"alpha","csr":$csr_json}
device name starting with a dash|{"device":"-dev","group":"alpha","csr":$csr_json}
device name with a space|{"device":"dev 2","group":"alpha","csr":$csr_json}
device name not ASCII|{"device":"dév","group":"alpha","csr":$csr_json}
device name with a NUL|{"device":"dev\u0000x","group":"alpha","csr":$csr_json}
group name with a dot|{"device":"dev-2","group":"al.pha","csr":$csr_json}
EOF
state_same "all the malformed provisioning bodies" "$before"

# --- operator routes: credentials --------------------------------------------------------
state_now
before=$STATE
dig=$(registry_digest)
fresh_src
api GET /v1/groups ""
is_error 401 unauthorized "GET /v1/groups without a token"
api GET /v1/groups "garbage"
is_error 401 unauthorized "a token that is not one"
api GET /v1/groups "iota_op_$(b64tail)"
is_error 401 unauthorized "an unknown operator token"
fresh_src
api GET /v1/groups "iota_admin_$(b64tail)"
is_error 401 unauthorized "an unknown admin token"
api GET /v1/groups "$SA"
is_error 401 unauthorized "a provisioning secret as the operator token"
API_ARGS=(-H "Authorization: Basic $(printf '%s:' "$OPA" | base64 -w0)")
api GET /v1/groups ""
API_ARGS=()
is_error 401 unauthorized "the operator token as Basic credentials"
fresh_src
api POST /v1/tenants "" '{"name":"newco"}'
is_error 401 unauthorized "POST /v1/tenants without a token"
api POST /v1/groups "${OPA}x" '{"name":"newgroup"}'
is_error 401 unauthorized "an operator token with a character more"

# 401 the same whether the group or device exists or not.
fresh_src
api GET /v1/groups/alpha ""
a="$STATUS $BODY"
api GET /v1/groups/nosuch ""
is "$STATUS $BODY" "$a" "no token: an existing and a missing group answer alike"
fresh_src
api POST /v1/groups/alpha/devices/dev-ok/revoke "iota_op_$(b64tail)"
a="$STATUS $BODY"
api POST /v1/groups/alpha/devices/ghost/revoke "iota_op_$(b64tail)"
is "$STATUS $BODY" "$a" "unknown token: an existing and a missing device answer alike"
API_SRC=

# The admin token is for tenants only, operator tokens for everything else.
api GET /v1/groups "$ADMIN"
is_error 403 forbidden "the admin token on GET /v1/groups"
api POST /v1/groups "$ADMIN" '{"name":"admins-group"}'
is_error 403 forbidden "the admin token on POST /v1/groups"
api POST /v1/groups/alpha/devices "$ADMIN" '{"name":"admins-device"}'
is_error 403 forbidden "the admin token on a group's devices"
api POST /v1/tenants "$OPA" '{"name":"newco"}'
is_error 403 forbidden "an operator token on POST /v1/tenants"
is "$(registry_digest)" "$dig" "no credential refusal wrote anything but its audit record"
state_same "the credential refusals" "$before"

# --- routes and methods ---------------------------------------------------------------------
for p in / /v1 /v1/ /v2/health /V1/health /v1/health/x /v1/nope /v1/tenants/acme/x \
    /v1/groups/alpha/secret /v1/groups/alpha/devices/dev-ok/extra \
    /v1/groups/alpha/devices/dev-ok/revoke/now /v1/provision/alpha; do
	api GET "$p" "$OPA"
	is_error 404 not_found "GET $p (unknown route)"
done
api POST /v1/nope "$OPA" '{}'
is_error 404 not_found "POST /v1/nope (unknown route)"

# sorted_allow: the Allow header as a sorted comma list.
sorted_allow() { header Allow | tr -d ' ' | tr ',' '\n' | sort | paste -sd, -; }
while read -r method path allow; do
	api "$method" "$path" "$OPA"
	is_error 405 method_not_allowed "$method $path"
	is "$(sorted_allow)" "$allow" "$method $path: Allow: $allow"
done <<EOF
POST /v1/health GET
PUT /v1/tenants GET,POST
DELETE /v1/tenants GET,POST
POST /v1/tenants/acme DELETE,GET
PUT /v1/tokens GET,POST
PUT /v1/groups GET,POST
DELETE /v1/groups GET,POST
PUT /v1/groups/alpha DELETE,GET,PATCH
POST /v1/groups/alpha DELETE,GET,PATCH
GET /v1/groups/alpha/rotate-secret POST
DELETE /v1/groups/alpha/devices GET,POST
DELETE /v1/groups/alpha/devices/dev-ok GET
PATCH /v1/groups/alpha/devices/dev-ok GET
GET /v1/groups/alpha/devices/dev-ok/revoke POST
GET /v1/groups/alpha/devices/dev-ok/enable POST
GET /v1/provision POST
EOF

for p in '/v1/groups/%2e%2e' '/v1/groups/a%2Fb' '/v1/groups/a%00b' '/v1/groups/a%0Ab' \
    '/v1/groups/%zz' '/v1/groups/..'; do
	API_ARGS=(--path-as-is)
	api GET "$p" "$OPA"
	API_ARGS=()
	is_error 400 bad_request "GET $p (malformed path)"
done
for p in /v1/groups/al.pha /v1/groups/al+pha /v1/groups/al%20pha /v1/groups/alpha/devices/dev.ok \
    "/v1/groups/$long"; do
	api GET "$p" "$OPA"
	is_error 400 bad_request "GET $p (a name outside the alphabet)"
done
for q in limit=0 limit=1001 limit=-1 limit=abc limit= offset=-1 offset=x 'offset=x&offset=1' \
    limit=1e3 'limit=%zz'; do
	api GET "/v1/groups/alpha/devices?$q" "$OPA"
	is_error 400 bad_request "list devices ?$q"
done
is "$(registry_digest)" "$dig" "no route, method or path refusal wrote anything but audit records"

# --- operator routes: bodies ---------------------------------------------------------------------
names10001=$(jq -cn '{names: [range(10001) | "x"]}')
while IFS='|' read -r method path desc body; do
	token=$OPA
	[ "$path" = /v1/tenants ] && token=$ADMIN
	api "$method" "$path" "$token" "$body"
	is_error 400 bad_request "$method $path: $desc"
done <<EOF
POST|/v1/groups|bad JSON|{"name":
POST|/v1/groups|an empty body|
POST|/v1/groups|an array|["g"]
POST|/v1/groups|no name|{}
POST|/v1/groups|name a number|{"name":5}
POST|/v1/groups|a bad name|{"name":"a.b"}
POST|/v1/groups|a negative quota|{"name":"g","quota":-1}
POST|/v1/groups|quota a string|{"name":"g","quota":"3"}
POST|/v1/groups|quota a fraction|{"name":"g","quota":1.5}
POST|/v1/groups|secret_expires a string|{"name":"g","secret_expires":"tomorrow"}
POST|/v1/tenants|a bad name|{"name":"a/b"}
POST|/v1/tenants|no name|{"tenant":"x"}
PATCH|/v1/groups/alpha|bad JSON|{"quota":
PATCH|/v1/groups/alpha|an array|[]
PATCH|/v1/groups/alpha|quota a string|{"quota":"x"}
PATCH|/v1/groups/alpha|a negative expiry|{"secret_expires":-5}
PATCH|/v1/groups/alpha|quota true|{"quota":true}
POST|/v1/groups/alpha/devices|neither name nor names|{}
POST|/v1/groups/alpha/devices|both name and names|{"name":"n-1","names":["n-2"]}
POST|/v1/groups/alpha/devices|names not an array|{"names":"n-1"}
POST|/v1/groups/alpha/devices|names empty|{"names":[]}
POST|/v1/groups/alpha/devices|names with one bad name|{"names":["n-1","n.2"]}
POST|/v1/groups/alpha/devices|names with a number|{"names":["n-1",5]}
POST|/v1/groups/alpha/devices|name a number|{"name":5}
POST|/v1/groups/alpha/devices|10001 names|$names10001
EOF
is "$(registry_digest)" "$dig" "no malformed body wrote anything but audit records"
state_same "the malformed operator bodies (no device n-1 either)" "$before"
api POST /v1/tenants "$ADMIN" '{"name":"newco"}'
is_status 201 "control: tenant newco was not made by any refusal above"
api DELETE /v1/groups/nosuch-yet "$OPA"
is_error 404 not_found "control: DELETE of a missing group"

state_now
before=$STATE
api POST /v1/tenants "$ADMIN" '{"name":"acme"}'
is_error 409 exists "a tenant that exists"
api POST /v1/groups "$OPA" '{"name":"alpha"}'
is_error 409 exists "a group that exists"
api POST /v1/groups/alpha/devices "$OPA" '{"name":"dev-ok"}'
is_error 409 exists "a device that exists"
api DELETE /v1/groups/alpha "$OPA"
is_error 409 group_not_empty "a group with a provisioned device"
state_same "the conflicts" "$before"

# Bodies over limits.max_body (64 KiB), declared or chunked.
printf '{"name":"%s"}' "$(head -c 70000 /dev/zero | tr '\0' a)" >"$T/big.json"
API_ARGS=(-H 'Expect: 100-continue')
api_file POST /v1/groups "$OPA" "$T/big.json"
is_error 413 "$E_TOO_LARGE" "a body over the limit (Content-Length)"
api_file POST /v1/tenants "$ADMIN" "$T/big.json"
is_error 413 "$E_TOO_LARGE" "a body over the limit to the admin route"
API_ARGS=(-H 'Transfer-Encoding: chunked')
api_file POST /v1/groups "$OPA" "$T/big.json"
API_ARGS=()
is_error 413 "$E_TOO_LARGE" "a body over the limit (chunked)"
state_same "the oversized bodies" "$before"

# --- cross-tenant: bravo's operator on acme's group, every operator route ---------------------
state_now
before=$STATE
dig=$(registry_digest)
while IFS='|' read -r method path body; do
	api "$method" "${path//GROUP/alpha}" "$OPB" ${body:+"$body"}
	is_error 404 not_found "bravo: $method ${path//GROUP/alpha}${body:+ $body}"
	a="$STATUS $BODY"
	api "$method" "${path//GROUP/nosuch}" "$OPB" ${body:+"$body"}
	is "$a" "$STATUS $BODY" "bravo: $method ${path//GROUP/alpha} answers as for a missing group"
done <<EOF
GET|/v1/groups/GROUP|
PATCH|/v1/groups/GROUP|{"quota":0}
DELETE|/v1/groups/GROUP|
POST|/v1/groups/GROUP/rotate-secret|
POST|/v1/groups/GROUP/devices|{"name":"intruder"}
POST|/v1/groups/GROUP/devices|{"names":["intruder-1","intruder-2"]}
GET|/v1/groups/GROUP/devices|
GET|/v1/groups/GROUP/devices/dev-ok|
POST|/v1/groups/GROUP/devices/dev-ok/revoke|
POST|/v1/groups/GROUP/devices/dev-ok/enable|
EOF
api GET /v1/groups "$OPB"
is "$(jf '[.groups[].name] | @json')" '["b-group"]' "bravo lists only its own group"
api GET /v1/groups/b-group/devices/dev-ok "$OPB"
is "$(jf '[.group, .state, .serial] | @json')" '["b-group","registered",null]' \
    "bravo's dev-ok is its own, not acme's provisioned one"
is "$(registry_digest)" "$dig" "cross-tenant: nothing written to the database but audit records"
state_same "cross-tenant access" "$before"
# Names are per tenant: bravo's own "alpha" is another group.
api POST /v1/groups "$OPB" '{"name":"alpha"}'
is_status 201 "bravo makes a group alpha of its own"
api GET /v1/groups/alpha/devices "$OPB"
is "$(jf '[.total, (.devices | length)] | @tsv')" $'0\t0' "bravo's alpha is empty"
state_same "acme's alpha, after bravo made its own" "$before"

# --- controls: the refusals were about their input -----------------------------------------------
provision "$SA" alpha dev-2 "$T/dev-2.csr"
is_status 201 "control: alpha's secret (never rotated) provisions dev-2 with its good CSR"
provision "$SB" beta dev-2 "$T/dev-2.csr"
is_status 201 "control: beta's dev-2 provisions with beta's secret"

# The lockout ends after Retry-After: the right secret from the locked client.
for ((i = 0; i < 250; i++)); do	# 10 s at most
	API_SRC=$BF_SRC provision "$SBF" bf bf-1 "$T/bf-1.csr"
	[ "$STATUS" = 429 ] || break
	sleep 0.04
done
is_status 201 "after the lockout ($(($(date +%s) - T_LOCKED)) s) the locked client provisions bf-1"

ok "_alive $IOTAD_PID" "iotad survived all of it"
ok "! grep -E ' [0-9.]+ [A-Z]+ [^ ]+ 5[0-9][0-9] ' '$IOTAD_LOG'" "no answer was a 5xx"
iotad_stop
is "$IOTAD_RC" 0 "iotad exits 0 on SIGTERM"
done_testing
