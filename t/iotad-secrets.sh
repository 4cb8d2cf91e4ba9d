#!/bin/bash
# Secrets at rest and in the logs.  After a flow that puts every kind of
# secret in play (the admin token, an operator token, two provisioning
# secrets, a device key, and wrong ones tried), the database files are not
# readable without the key, and the bytes of those secrets are found
# nowhere in the state directory, the log, the audit log or iotad's
# output, except the admin token in its own file, where --init put it.
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
. "${T_SRCDIR:-$(dirname "$0")}/lib/tap.sh"
. "$T_SRCDIR/lib/iotad.sh"
need_iotad
command -v sqlite3 >/dev/null 2>&1 || bail_out "sqlite3 is needed (scripts/install-deps --test)"

T=$T_TMP
D=$T/iotad
IOTAD_LOG_LEVEL=debug
iotad_setup "$D" "audit:
  file: $D/audit.log"
iotad_start || bail_out "iotad did not start"
STATE=$IOTAD_STATE
LOGS=("$IOTAD_LOG" "$D/audit.log" "$D/iotad.out")

b64tail() { ossl rand -base64 32 | tr '+/' '-_' | cut -c1-43; }

# --- a flow with every secret -----------------------------------------------------
TENANT=tenant-$(ossl rand -hex 6)
tenant_add "$TENANT" OP || bail_out "tenant"
group_add "$OP" sensors PS1 || bail_out "group"
api POST /v1/groups/sensors/rotate-secret "$OP"
PS2=$(jf .provisioning_secret)
devices_add "$OP" sensors dev-1 dev-2 || bail_out "devices"
device_key "$T/dev-1"
device_key "$T/dev-2"
provision "$PS2" sensors dev-1 "$T/dev-1.csr"
is_status 201 "dev-1 provisioned with the current secret"
provision "$PS1" sensors dev-2 "$T/dev-2.csr"
is_status 201 "dev-2 provisioned with the previous secret (overlap)"

# Wrong credentials, and secrets where they do not belong.
WRONG_PS="${PS1%%.*}.$(b64tail)"
WRONG_OP="iota_op_$(b64tail)"
API_SRC=127.0.0.2 provision "$WRONG_PS" sensors dev-1 "$T/dev-1.csr"
is_error 401 unauthorized "a wrong provisioning secret"
API_SRC=127.0.0.2 api GET /v1/groups "$WRONG_OP"
is_error 401 unauthorized "a wrong operator token"
API_SRC=127.0.0.3 api GET /v1/groups "$PS1"
is_error 401 unauthorized "a provisioning secret as an operator token"
API_SRC=127.0.0.3 api POST /v1/tenants "$OP" '{"name":"x"}'
is_error 403 forbidden "the operator token on the admin route"
# A secret inside a body that does not parse: the message must not quote it.
MARK_JSON="PS$(ossl rand -hex 8).$(b64tail)"
api POST /v1/provision "$PS2" "{\"device\":\"dev-1\",\"group\":\"sensors\",\"csr\":\"$MARK_JSON"
is_error 400 bad_request "a body cut inside a secret-like string"
ok "! grep -qF -- '$MARK_JSON' '$T_TMP/.api.body'" "  the error message does not quote it"
api POST /v1/provision "$PS2" "{\"device\":\"dev-1\" \"group\":\"$MARK_JSON\"}"
is_error 400 bad_request "a syntax error right before a secret-like string"
ok "! grep -qF -- '$MARK_JSON' '$T_TMP/.api.body'" "  the error message does not quote it"
# A secret in a query string or an unknown header.
MARK_QUERY="iota_op_$(b64tail)"
api GET "/v1/groups?token=$MARK_QUERY" "$OP"
is_status 200 "a token in a query string (ignored)"
API_ARGS=(-H "X-Api-Key: $MARK_QUERY")
api GET /v1/groups/sensors "$OP"
API_ARGS=()
is_status 200 "a token in another header (ignored)"

# name VALUE pairs: what must not be found.
SECRETS=(
	"the admin token" "$ADMIN"
	"the admin token's random part" "${ADMIN#iota_admin_}"
	"the operator token" "$OP"
	"the operator token's random part" "${OP#iota_op_}"
	"the first provisioning secret" "$PS1"
	"the first provisioning secret's random part" "${PS1#*.}"
	"the current provisioning secret" "$PS2"
	"the current provisioning secret's random part" "${PS2#*.}"
	"a wrong provisioning secret" "$WRONG_PS"
	"a wrong operator token" "$WRONG_OP"
	"a secret in a malformed body" "$MARK_JSON"
	"a token in a query or header" "$MARK_QUERY"
)
n=0
for f in "$T/dev-1.key" "$T/dev-2.key"; do
	while IFS= read -r line; do
		[ "${#line}" -ge 16 ] || continue
		n=$((n + 1))
		SECRETS+=("line $n of a device's private key" "$line")
	done < <(sed '/^-----/d' "$f")
done
[ "$n" -ge 4 ] || bail_out "the device keys have too few base64 lines ($n)"

# found_in VALUE: the files holding VALUE, in the state directory and logs.
found_in() {
	grep -r -a -l -F -- "$1" "$STATE" "${LOGS[@]}" 2>/dev/null | sort
}
like "$(found_in "$TENANT")" "audit\.log" "control: the search finds what is there (the tenant's name in the audit log)"

# no_secrets WHEN
no_secrets() {
	local i name value where
	for ((i = 0; i < ${#SECRETS[@]}; i += 2)); do
		name=${SECRETS[i]} value=${SECRETS[i + 1]}
		where=$(found_in "$value")
		case $name in
		"the admin token"*)
			# --init writes it to STATE/admin.token, 0600, for the
			# operator to pick up: that one file may hold it.
			is "$where" "$STATE/admin.token" \
			    "$1: $name only in state/admin.token (its own file, excluded)"
			;;
		*)
			is "$where" "" "$1: $name is nowhere in state/ or the logs"
			;;
		esac
	done
	where=$(grep -r -a -l -F -- "$(head -c 64 "$STATE/db.key")" "${LOGS[@]}" 2>/dev/null)
	is "$where" "" "$1: the database key is not in the logs"
	where=$(grep -r -a -l -F -e "$TENANT" -e 'CREATE TABLE' -e 'BEGIN CERTIFICATE' \
	    "$STATE" 2>/dev/null | grep -v '/admin\.token$')
	is "$where" "" "$1: no plaintext in state/ (tenant name, schema, certificates)"
	where=$(grep -a -i -n -E 'authorization|bearer' "${LOGS[@]}" 2>/dev/null)
	is "$where" "" "$1: the logs hold no Authorization header"
}

# unreadable WHEN DIR: plain sqlite3 cannot read DIR/registry.db.
unreadable() {
	run sqlite3 "$2/registry.db" 'SELECT name FROM sqlite_master;'
	isnt "$RC" 0 "$1: sqlite3 fails on registry.db"
	like "$ERR" 'file is not a database' "$1: sqlite3 says: file is not a database"
	is "$OUT" "" "$1: sqlite3 printed nothing of it"
	if [ "$HAVE_SQLCIPHER" = 1 ]; then
		is "$(IOTAD_STATE=$2 db_query 'SELECT count(*) FROM devices;' 2>&1)" 2 \
		    "$1: control: with its key (sqlcipher) it is a database of 2 devices"
	else
		skip "sqlcipher not installed: no control with the key"
	fi
}

# --- while iotad runs ---------------------------------------------------------------
ls "$STATE" >"$T/ls-running"
ok "grep -qx 'registry.db-wal' '$T/ls-running'" "while running: the database has a WAL"
for f in "$STATE"/*; do
	is "$(file_mode "$f")" 600 "while running: state/${f##*/} is 0600"
done
is "$(file_mode "$STATE")" 700 "state/ is 0700"
# A copy, so that neither sqlite3 nor sqlcipher touches iotad's files.
mkdir "$T/copy"
cp "$STATE"/registry.db* "$STATE/db.key" "$T/copy/"
unreadable "while running" "$T/copy"
no_secrets "while running"

# --- after a clean stop (the WAL folded into the database) -------------------------
iotad_stop
is "$IOTAD_RC" 0 "iotad stops cleanly"
ls "$STATE" >"$T/ls-stopped"
mkdir "$T/copy2"
cp "$STATE"/registry.db* "$STATE/db.key" "$T/copy2/"
unreadable "after stop" "$T/copy2"
no_secrets "after stop"
done_testing
