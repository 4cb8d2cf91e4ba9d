#!/bin/bash
# iotactl usage: --help everywhere exits 0 and names every verb and option of
# the spec on stdout; usage errors exit 2 with one line on stderr.
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
. "${T_SRCDIR:-$(dirname "$0")}/lib/tap.sh"
need_iotactl

# mentions TEXT WORD: WORD appears in TEXT as a whole word (an option
# --root does not count as --root-key).
mentions() {
	[[ $1 =~ (^|[^[:alnum:]-])$2([^[:alnum:]-]|$) ]]
}

# help_ok LABEL ARGS...: exit 0, usage on stdout, nothing on stderr.
help_ok() {
	local l=$1
	shift
	run "$IOTACTL" "$@"
	is "$RC" 0 "$l: exit 0" || diag "$ERR"
	is "$ERR" "" "$l: nothing on stderr"
	like "$OUT" '[Uu]sage|iotactl' "$l: usage on stdout"
}

for h in --help -h; do
	help_ok "iotactl $h" "$h"
	ok 'mentions "$OUT" ca' "iotactl $h: mentions ca"
done

for v in --version -V; do
	run "$IOTACTL" "$v"
	is "$RC" 0 "iotactl $v: exit 0"
	like "$OUT" '[0-9]+\.[0-9]+\.[0-9]+' "iotactl $v: prints a version"
done

help_ok "iotactl ca --help" ca --help
ca_help=$OUT
for v in $CA_VERBS; do
	ok 'mentions "$ca_help" '"$v" "iotactl ca --help: mentions $v"
done

for v in $CA_VERBS; do
	help_ok "iotactl ca $v --help" ca "$v" --help
	verb_help=$OUT
	for o in $(ca_verb_options "$v"); do
		ok 'mentions "$verb_help" '"'$o'" "iotactl ca $v --help: mentions $o"
	done
done
help_ok "iotactl ca revoke --help" ca revoke --help
for r in unspecified keyCompromise cACompromise affiliationChanged superseded \
    cessationOfOperation certificateHold; do
	ok 'mentions "$OUT" '"$r" "iotactl ca revoke --help: mentions reason $r"
done
help_ok "iotactl ca init --help" ca init --help
for k in ec-p256 ec-p384 ed25519 rsa-3072; do
	ok 'mentions "$OUT" '"$k" "iotactl ca init --help: mentions key type $k"
done

run_fail 2 '.' "iotactl without arguments" -- "$IOTACTL"
run_fail 2 'nosuch' "iotactl nosuch" -- "$IOTACTL" nosuch
run_fail 2 'nosuch' "iotactl --nosuch" -- "$IOTACTL" --nosuch
run_fail 2 '.' "iotactl ca without a verb" -- "$IOTACTL" ca
run_fail 2 'nosuch' "iotactl ca nosuch" -- "$IOTACTL" ca nosuch
run_fail 2 'nosuch' "iotactl ca show --nosuch" -- "$IOTACTL" ca show --nosuch
run_fail 2 'dir' "iotactl ca show without --dir" -- "$IOTACTL" ca show

# The top-level usage is made from the command table: every command it
# lists has a --help of its own that names it, and there is no other.
run "$IOTACTL" --help
listed=$(awk '/^  [a-z]/ { n = 1; name = $1; if ($2 ~ /^[a-z-]+$/ && \
    (name == "ca" || name == "tenant" || name == "list" || name == "group" || \
    name == "cert" || name == "audit")) \
    name = name " " $2; print name }' <<<"$OUT")
is "$(wc -l <<<"$listed")" 22 "iotactl --help lists 22 commands"
while read -r c; do
	# shellcheck disable=SC2086
	run "$IOTACTL" $c --help
	is "$RC" 0 "iotactl $c --help: exit 0"
	like "$(head -1 <<<"$OUT")" "^usage: iotactl $c( |\$)" \
	    "iotactl $c --help: its usage line names it"
	like "$OUT" '-h, --help' "iotactl $c --help: lists --help"
done <<<"$listed"

# The synopsis names every way to give the passphrase the verb takes.
for v in issue sign; do
	run "$IOTACTL" ca "$v" --help
	like "$(sed -n '1,/^$/p' <<<"$OUT")" '--passphrase-file FILE' \
	    "iotactl ca $v --help: the synopsis names --passphrase-file"
done

done_testing
