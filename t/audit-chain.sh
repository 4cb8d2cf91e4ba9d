#!/bin/bash
# The audit chain against a real iotad: records made through the API
# (refusals too), checkpoints signed on the interval and at a clean stop,
# then `iotactl audit verify` on the database and on copies tampered with
# the sqlcipher tool: a record edited, one deleted, two swapped, a record
# forged, a checkpoint's signature changed, the last records deleted.
# Each tampering is named, record by record; the untouched copy passes.
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
. "${T_SRCDIR:-$(dirname "$0")}/lib/tap.sh"
. "$T_SRCDIR/lib/iotad.sh"
need_iotad
[ "$HAVE_SQLCIPHER" = 1 ] || { echo "1..0 # SKIP sqlcipher not found"; exit 0; }

T=$T_TMP
D=$T/iotad
iotad_setup "$D" "audit:
  checkpoint_interval: 1s"
iotad_start || bail_out "iotad did not start"

# --- records through the API, refusals included ------------------------------
tenant_add acme OP || bail_out "tenant"
group_add "$OP" sensors SECRET || bail_out "group"
devices_add "$OP" sensors dev-1 dev-2 || bail_out "devices"
device_key "$T/dev-1"
provision "$SECRET" sensors dev-1 "$T/dev-1.csr"
is_status 201 "dev-1 provisions"
save_provisioned "$T/dev-1"
WRONG="${SECRET%.*}.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
API_SRC=127.0.0.21 provision "$WRONG" sensors dev-2 "$T/dev-1.csr"
is_error 401 unauthorized "a wrong provisioning secret"
API_SRC=127.0.0.22 api GET /v1/groups "iota_op_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
is_error 401 unauthorized "a wrong operator token"
API_SRC=127.0.0.23 api GET /v1/groups ""
is_error 401 unauthorized "no token"
api GET /v1/groups "$ADMIN"
is_error 403 forbidden "the admin token on an operator's route"
api POST /v1/groups/sensors/devices/dev-1/revoke "$OP"
is_status 200 "dev-1 revoked"
API_ARGS=(--cert "$T/dev-1.crt" --key "$T/dev-1.key")
api POST /v1/renew "" "$(jq -cn --rawfile c "$T/dev-1.csr" '{csr: $c}')"
API_ARGS=()
is_error 403 certificate_revoked "the revoked dev-1 renewing"

# audit_row WHERE: the rows' "actor action outcome" that match, one a line.
audit_rows() {
	db_query "SELECT actor || ' ' || action || ' ' || outcome FROM audit
	    WHERE $1 ORDER BY id;"
}
is "$(audit_rows "outcome = 'unauthorized' AND client = '127.0.0.21'")" \
    "device provision unauthorized" "the wrong secret is an audit record"
is "$(audit_rows "client IN ('127.0.0.22', '127.0.0.23')")" \
    "anyone GET /v1/groups unauthorized"$'\n'"anyone GET /v1/groups unauthorized" \
    "the wrong and the missing token are audit records"
is "$(audit_rows "outcome = 'forbidden'")" "admin GET /v1/groups forbidden" \
    "the caller of the wrong class is an audit record"
is "$(audit_rows "outcome = 'certificate_revoked'")" \
    "device renew certificate_revoked" "the revoked device renewing is an audit record"
is "$(db_query "SELECT target FROM audit WHERE outcome = 'certificate_revoked';")" \
    dev-1 "  naming the device"
ok "! db_query 'SELECT * FROM audit;' | grep -qF -- '${SECRET#*.}'" \
    "no secret in any audit record"

# --- checkpoints -------------------------------------------------------------
# The interval is 1 s: one is signed while iotad runs.
for ((i = 0; i < 200; i++)); do
	[ "$(db_query 'SELECT count(*) FROM audit_checkpoints;')" -gt 0 ] && break
	sleep 0.05
done
ok "[ $i -lt 200 ]" "a checkpoint is signed on the interval"
iotad_stop
is "$IOTAD_RC" 0 "iotad stops cleanly"
LAST=$(db_query 'SELECT max(id) FROM audit;')
is "$(db_query 'SELECT record_id FROM audit_checkpoints ORDER BY id DESC LIMIT 1;')" \
    "$LAST" "the clean stop signs a checkpoint of the last record ($LAST)"
HEAD=$(db_query "SELECT lower(hex(hash)) FROM audit WHERE id = $LAST;")
like "$(cat "$IOTAD_LOG")" "audit: checkpoint of record $LAST head $HEAD signed by [0-9A-F]+" \
    "  and logs it with the head's hash"
NCP=$(db_query 'SELECT count(*) FROM audit_checkpoints;')
ok "[ $LAST -ge 8 ]" "at least 8 records to tamper with ($LAST)"

# --- verify ------------------------------------------------------------------
run "$IOTACTL" audit verify -c "$IOTAD_CONF"
is "$RC" 0 "audit verify on the registry: exit 0" || diag "$OUT" "$ERR"
like "$OUT" "^$LAST records \(ids 1 to $LAST\), $NCP checkpoints, $NCP with a good signature" \
    "  counts the records and the good checkpoints"
like "$OUT" $'\naudit chain: intact$' "  says the chain is intact"
unlike "$OUT" "not covered" "  every record is covered by the stop's checkpoint"
run "$IOTACTL" audit verify -c "$IOTAD_CONF" -o json
is "$(jq -c '[.intact, .records, .covered_through, .uncovered, .findings]' <<<"$OUT")" \
    "[true,$LAST,$LAST,0,[]]" "-o json: intact, every record covered, no finding"

# tampered NAME SQL: a copy of the registry, changed with the sqlcipher
# tool as someone holding the key would (triggers dropped first); sets DB.
tampered() {
	local key
	mkdir -p "$T/$1"
	DB=$T/$1/registry.db
	cp "$IOTAD_STATE/registry.db" "$DB"
	[ ! -f "$IOTAD_STATE/registry.db-wal" ] ||
	    cp "$IOTAD_STATE/registry.db-wal" "$DB-wal"
	key=$(head -c 64 "$IOTAD_STATE/db.key")
	printf 'PRAGMA key = "x'"'"'%s'"'"'";\n.bail on\n%s\n%s\n' "$key" \
	    "DROP TRIGGER audit_no_update; DROP TRIGGER audit_no_delete;
	    DROP TRIGGER audit_checkpoints_no_update;
	    DROP TRIGGER audit_checkpoints_no_delete;" "$2" |
	    sqlcipher "$DB" >/dev/null || bail_out "sqlcipher on $1 failed"
}

# verify_copy DESC REGEX...: exit 1, and a line matching each REGEX.
verify_copy() {
	local desc=$1 re
	shift
	run "$IOTACTL" audit verify -c "$IOTAD_CONF" --db "$DB"
	is "$RC" 1 "$desc: exit 1" || diag "$OUT" "$ERR"
	for re in "$@"; do
		like "$OUT" "(^|"$'\n'")$re" "$desc: $re"
	done
	like "$OUT" $'\naudit chain: TAMPERED$' "$desc: says TAMPERED"
}

tampered untouched ""
run "$IOTACTL" audit verify -c "$IOTAD_CONF" --db "$DB"
is "$RC" 0 "an untouched copy verifies: exit 0" || diag "$OUT" "$ERR"

# The wrong secret's refusal, turned into a success.
REFUSED=$(db_query "SELECT id FROM audit WHERE client = '127.0.0.21';")
tampered edited "UPDATE audit SET outcome = 'ok' WHERE id = $REFUSED;"
verify_copy "a record edited" \
    "record $REFUSED: its contents do not match its hash"
is "$(grep -c '^record ' <<<"$OUT")" 1 "  one line: only that record"

tampered deleted "DELETE FROM audit WHERE id = $REFUSED;"
verify_copy "a record deleted" \
    "record $((REFUSED + 1)): does not follow record $((REFUSED - 1))"

tampered swapped "UPDATE audit SET id = -1 WHERE id = 3;
    UPDATE audit SET id = 3 WHERE id = 4; UPDATE audit SET id = 4 WHERE id = -1;"
verify_copy "two records swapped" \
    "record 3: its contents do not match its hash" \
    "record 4: its contents do not match its hash"

# A forged record after the head, with the head's hash as its prev: its
# own hash cannot be made without computing it, and a copied one is wrong.
tampered forged "INSERT INTO audit (id, at, tenant_id, actor, action, target,
    outcome, client, prev_hash, hash) SELECT id + 1, at, tenant_id, 'admin',
    'tenant.create', 'evil', 'ok', client, hash, hash FROM audit
    WHERE id = $LAST;"
verify_copy "a record forged at the end" \
    "record $((LAST + 1)): its contents do not match its hash"

tampered forged-first "INSERT INTO audit (id, at, actor, action, outcome,
    prev_hash, hash) VALUES (0, 1, 'admin', 'tenant.create', 'ok',
    zeroblob(32), randomblob(32));"
verify_copy "a record forged before the first" \
    "record 0: its contents do not match its hash" \
    "record 1: does not follow record 0"

tampered forged-bare "INSERT INTO audit (id, at, actor, action, outcome)
    VALUES ($((LAST + 1)), 1, 'admin', 'tenant.create', 'ok');"
verify_copy "a record forged without hashes" \
    "record $((LAST + 1)): has no chain hashes"

CP=$(db_query 'SELECT max(id) FROM audit_checkpoints;')
tampered resigned "UPDATE audit_checkpoints SET signature =
    randomblob(length(signature)) WHERE id = $CP;"
verify_copy "a checkpoint's signature changed" \
    "checkpoint $CP: its signature does not verify"

# The chain alone cannot tell the end was cut; the stop's checkpoint can.
tampered truncated "DELETE FROM audit WHERE id >= $((LAST - 1));"
verify_copy "the last two records deleted" \
    "checkpoint $CP: record $LAST, which it signed, is missing"

run "$IOTACTL" audit verify -c "$IOTAD_CONF" --db "$DB" -o json
is "$(jq -c --argjson cp "$CP" '[.intact, ([.findings[] | select(.checkpoint == $cp)] | length > 0)]' <<<"$OUT")" \
    "[false,true]" "-o json: not intact, the checkpoint among the findings"

# --- the tail not yet covered ------------------------------------------------
iotad_write_conf "audit:
  checkpoint_interval: 0"
iotad_start || bail_out "iotad did not start again"
api GET /v1/groups ""
iotad_kill9
run "$IOTACTL" audit verify -c "$IOTAD_CONF"
is "$RC" 0 "a record after the last checkpoint: still exit 0" || diag "$OUT" "$ERR"
like "$OUT" "records after $LAST are not covered by a checkpoint yet \(1 of them\)" \
    "  but it is reported as not yet covered"

# --- usage and I/O errors ----------------------------------------------------
run "$IOTACTL" audit verify
is "$RC" 2 "no configuration: exit 2"
like "$ERR" "-c FILE is required" "  and says what is needed"
run "$IOTACTL" audit verify -c "$IOTAD_CONF" --db "$T/none.db"
is "$RC" 2 "a missing database: exit 2"
head -c 64 /dev/zero | tr '\0' 'a' >"$T/other.key"
chmod 600 "$T/other.key"
run "$IOTACTL" audit verify -c "$IOTAD_CONF" --key-file "$T/other.key"
is "$RC" 2 "the wrong key: exit 2"
like "$ERR" "wrong key" "  and says so"
run "$IOTACTL" audit verify --help
is "$RC" 0 "--help: exit 0"
like "$OUT" "--db FILE" "--help lists --db"

done_testing
