#!/bin/bash
# Named operator tokens (/v1/tokens): a tenant holds several, lists them
# (names and times, never a secret), and revokes one, which the gate
# refuses on the very next request while the others still work.  Another
# tenant's token reaches none of them; the admin reaches any tenant's with
# ?tenant=.  Bad names, taken names and oversized bodies get one clear
# error each; every action leaves its audit row.
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
. "${T_SRCDIR:-$(dirname "$0")}/lib/tap.sh"
. "$T_SRCDIR/lib/iotad.sh"
need_iotad

T=$T_TMP
iotad_setup "$T/iotad"
iotad_start || bail_out "iotad did not start"
tenant_add acme OP || bail_out "tenant acme"
tenant_add globex OTHER || bail_out "tenant globex"

names() { jq -r '[.tokens[].name] | join(" ")' <<<"$BODY"; }
# audit ACTION TARGET OUTCOME: 0 if the audit holds such a row.
audited() {
	if [ "$HAVE_SQLCIPHER" = 1 ]; then
		[ "$(db_query "SELECT count(*) FROM audit WHERE action = '$1'
		    AND target = '$2' AND outcome = '$3';")" -ge 1 ]
	else
		grep -q "action=$1 target=$2 outcome=$3 " "$IOTAD_LOG"
	fi
}

# --- the tenant's first token is "initial" -----------------------------------
api GET /v1/tokens "$OP"
is_status 200 "the operator lists its tokens"
is "$(names)" "initial" "  the tenant's first token is named initial"

# --- two named tokens --------------------------------------------------------
api POST /v1/tokens "$OP" '{"name":"ci"}'
is_status 201 "the operator adds the token ci"
CI=$(jf .token)
is "$(jf .name)" ci "  the answer names it"
like "$CI" '^iota_op_[A-Za-z0-9_-]{43}$' "  and carries the token, once"
ok '[ "$(jf .created)" -gt 0 ]' "  and when it was made"
api POST /v1/tokens "$OP" '{"name":"deploy"}'
is_status 201 "the operator adds the token deploy"
DEPLOY=$(jf .token)
ok '[ -n "$DEPLOY" ] && [ "$DEPLOY" != "$CI" ]' "  a token of its own"

api GET /v1/tokens "$OP"
is "$(names)" "ci deploy initial" "the list names all three, by name"
is "$(jq -c '[.tokens[] | keys] | unique' <<<"$BODY")" '[["created","name"]]' \
    "  each with its name and creation time only"
ok "! grep -qF -- '${CI#iota_op_}' <<<\"\$BODY\" && ! grep -qF -- '${DEPLOY#iota_op_}' <<<\"\$BODY\"" \
    "  no token in the list"
[ "$HAVE_SQLCIPHER" = 1 ] &&
    ok "! db_query 'SELECT * FROM tokens; SELECT * FROM audit;' | grep -qF -- '${CI#iota_op_}'" \
        "  no token in the registry or its audit"

api GET /v1/groups "$CI"
is_status 200 "the token ci works"
api GET /v1/groups "$DEPLOY"
is_status 200 "the token deploy works"

# --- refused ------------------------------------------------------------------
api POST /v1/tokens "$OP" '{"name":"ci"}'
is_error 409 exists "a name taken in the tenant: 409"
api POST /v1/tokens "$OTHER" '{"name":"ci"}'
is_status 201 "  the same name in another tenant is its own"
for bad in '' 'a b' '-x' 'a/b' "$(printf 'x%.0s' {1..65})"; do
	api POST /v1/tokens "$OP" "$(jq -cn --arg n "$bad" '{name: $n}')"
	is_error 400 bad_request "a malformed name '${bad:0:12}': 400"
done
like "$(jf .message)" '^the token name must be 1 to 64' "  with a message that says why"
api POST /v1/tokens "$OP" '{"name":7}'
is_error 400 bad_request "a name that is no string: 400"
api POST /v1/tokens "$OP" '{"name":'
is_error 400 bad_request "a body that is no JSON: 400"
head -c 70000 /dev/zero | tr '\0' x | jq -Rc '{name: .}' >"$T/big.json"
api_file POST /v1/tokens "$OP" "$T/big.json"
is_error 413 too_large "an oversized body: 413"
api DELETE /v1/tokens/a.b "$OP"
is_error 400 bad_request "revoking a malformed name: 400"
api DELETE /v1/tokens/nosuch "$OP"
is_error 404 not_found "revoking a name the tenant lacks: 404"

# --- another tenant reaches none of them ------------------------------------
api GET /v1/tokens "$OTHER"
is "$(names)" "ci initial" "globex lists only its own tokens"
api GET "/v1/tokens?tenant=acme" "$OTHER"
is_error 404 not_found "globex asking for acme's tokens: 404, as a missing tenant"
api DELETE "/v1/tokens/deploy" "$OTHER"
is_error 404 not_found "globex revoking deploy: 404 (it has no such token)"
api DELETE "/v1/tokens/deploy?tenant=acme" "$OTHER"
is_error 404 not_found "globex revoking acme's deploy by name: 404"
api GET /v1/groups "$DEPLOY"
is_status 200 "  and deploy still works"

# --- revoked at once ----------------------------------------------------------
api DELETE /v1/tokens/ci "$OP"
is_status 204 "the operator revokes ci"
api GET /v1/groups "$CI"
is_error 401 unauthorized "ci is refused on the very next request"
api GET /v1/groups "$DEPLOY"
is_status 200 "  deploy still works"
api GET /v1/tokens "$OP"
is "$(names)" "deploy initial" "  ci is gone from the list"
api DELETE /v1/tokens/ci "$OP"
is_error 404 not_found "revoking it again: 404"
api GET /v1/tokens "$OTHER"
is "$(names)" "ci initial" "  globex's ci is untouched"

# --- the admin, for any tenant -----------------------------------------------
api GET /v1/tokens "$ADMIN"
is_error 400 bad_request "the admin without ?tenant=: 400"
api GET "/v1/tokens?tenant=nosuch" "$ADMIN"
is_error 404 not_found "the admin naming a missing tenant: 404"
api POST "/v1/tokens?tenant=acme" "$ADMIN" '{"name":"rescue"}'
is_status 201 "the admin adds acme a token"
RESCUE=$(jf .token)
api GET /v1/tokens "$RESCUE"
is "$(names)" "deploy initial rescue" "  which is acme's"
api DELETE "/v1/tokens/deploy?tenant=acme" "$ADMIN"
is_status 204 "the admin revokes acme's deploy"
api GET /v1/groups "$DEPLOY"
is_error 401 unauthorized "  refused at once"

# An operator may revoke the token it calls with (the admin can make another).
api DELETE /v1/tokens/rescue "$RESCUE"
is_status 204 "an operator revokes its own token"
api GET /v1/tokens "$RESCUE"
is_error 401 unauthorized "  which is refused from then on"

# --- tenants, the admin's -----------------------------------------------------
api GET /v1/tenants "$OP"
is_error 403 forbidden "an operator cannot list tenants"
api GET /v1/tenants/acme "$OP"
is_error 403 forbidden "  nor show one"
api DELETE /v1/tenants/globex "$OP"
is_error 403 forbidden "  nor delete one"
group_add "$OP" g1 SECRET || bail_out "group g1"
devices_add "$OP" g1 d1 d2 || bail_out "devices"
api GET /v1/tenants "$ADMIN"
is_status 200 "the admin lists tenants"
is "$(jq -c '[.tenants[] | [.name, .groups, .devices]]' <<<"$BODY")" \
    '[["acme",1,2],["globex",0,0]]' "  by name, with their groups and devices"
is "$(jq -c '[.tenants[] | keys] | unique' <<<"$BODY")" \
    '[["created","devices","groups","name"]]' "  and when each was made"
api GET /v1/tenants/acme "$ADMIN"
is "$STATUS $(jq -c '[.name, .groups, .devices]' <<<"$BODY")" \
    '200 ["acme",1,2]' "the admin shows acme"
api GET /v1/tenants/nosuch "$ADMIN"
is_error 404 not_found "  a missing tenant: 404"
api GET /v1/tenants/a.b "$ADMIN"
is_error 400 bad_request "  a malformed name: 400"
api DELETE /v1/tenants/acme "$ADMIN"
is_error 409 tenant_not_empty "deleting a tenant with groups: 409"
api GET /v1/groups/g1 "$OP"
is_status 200 "  acme and its group are still there"
api DELETE /v1/tenants/globex "$ADMIN"
is_status 204 "the admin deletes globex, which has no group"
api GET /v1/tokens "$OTHER"
is_error 401 unauthorized "  its tokens went with it"
api GET /v1/tenants/globex "$ADMIN"
is_error 404 not_found "  and it is gone"
api DELETE /v1/tenants/globex "$ADMIN"
is_error 404 not_found "  deleting it again: 404"
api DELETE /v1/groups/g1 "$OP"
is_status 204 "acme's group deleted"
api DELETE /v1/tenants/acme "$ADMIN"
is_status 204 "  then acme may go"
api GET /v1/tenants "$ADMIN"
is "$(jq -c '.tenants' <<<"$BODY")" '[]' "no tenant is left"
ok 'audited tenant.delete globex ok' "the audit has globex's deletion"
ok 'audited tenant.delete acme ok' "  and acme's"

# --- the audit ----------------------------------------------------------------
ok 'audited token.create ci ok' "the audit has ci's creation"
ok 'audited token.create rescue ok' "  and rescue's, by the admin"
ok 'audited token.revoke ci ok' "  ci's revocation"
ok 'audited token.revoke deploy ok' "  deploy's"
ok '! audited token.revoke nosuch ok' "  and no revocation that did not happen"

done_testing
