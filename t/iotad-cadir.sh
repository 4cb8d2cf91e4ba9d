#!/bin/bash
# The CA directory's modes, as iotad -n and a start check them: a warning
# line each for a group-writable directory or key, a group- or
# world-writable chain file and a root.key left beside the intermediate
# (the root belongs offline); a refusal, one line and exit 1, for a
# world-writable directory or key file, with nothing changed.
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
. "${T_SRCDIR:-$(dirname "$0")}/lib/tap.sh"
. "$T_SRCDIR/lib/iotad.sh"
need_iotad

T=$T_TMP
D=$T/iotad
CA=$D/ca
iotad_setup "$D"
chmod 700 "$CA"

check() { run "$IOTAD" -c "$IOTAD_CONF" -n; }
# warns DESC REGEX: iotad -n passes, with exactly one warning matching.
warns() {
	check
	is "$RC:$OUT" "0:$IOTAD_CONF: configuration OK" "$1: iotad -n passes"
	like "$ERR" "^iotad: warning: $2\$" "$1: one warning line"
}
# refuses DESC REGEX: iotad -n and a start both exit 1 with one line
# ("iotad: refusing to start: " unless REGEX starts with "ca\.dir: ");
# the CA and the state directories are as they were, nothing listens.
refuses() {
	local ca state
	ca=$(dir_manifest "$CA")
	state=$(dir_manifest "$IOTAD_STATE")
	: >"$IOTAD_LOG"
	check
	is "$RC:$OUT" "1:" "$1: iotad -n exits 1"
	local pre="refusing to start: "
	[[ $2 == 'ca\.dir: '* ]] && pre=
	like "$ERR" "^iotad: $pre$2\$" "$1: iotad -n says why in one line"
	run "$IOTAD" -c "$IOTAD_CONF"
	is "$RC" 1 "$1: a start exits 1"
	like "$ERR" "^iotad: $pre$2\$" "$1: a start says why in one line"
	unlike "$(cat "$IOTAD_LOG")" 'listening' "$1: nothing listened"
	unchanged "$CA" "$ca" "$1: the CA directory unchanged"
	unchanged "$IOTAD_STATE" "$state" "$1: the state directory unchanged"
}

# As `ca init` leaves it, the root key is there.
warns "root.key in ca.dir" ".*/ca/root\.key is in the CA directory: the root key belongs offline .*"
iotad_start || bail_out "iotad did not start"
like "$(grep -c 'warn: .*root\.key is in the CA directory' "$IOTAD_LOG")" '^1$' \
    "a start logs the root.key warning once"
iotad_stop

# Any key in it, not only the one iotad signs with (whose mode ca.dir's
# own check holds to 0600 already).
chmod 620 "$CA/root.key"
check
is "$RC:$OUT" "0:$IOTAD_CONF: configuration OK" "root.key mode 620: iotad -n passes"
is "$(sed 's/^iotad: warning: .*\/ca\/root\.key is //' <<<"$ERR" | cut -c1-20 | sort | tr '\n' '|')" \
    "group-writable (chmo|in the CA directory:|" "root.key mode 620: two warning lines, present and group-writable"
chmod 602 "$CA/root.key"
refuses "root.key mode 602" ".*/ca/root\.key is world-writable: anyone could replace the CA's key \(chmod 600 it\)"
chmod 600 "$CA/root.key"
chmod 602 "$CA/intermediate.key"
refuses "intermediate.key mode 602" "ca\.dir: .*/intermediate\.key: mode 0602 lets group or others in \(chmod 600\)"
chmod 600 "$CA/intermediate.key"

mv "$CA/root.key" "$T/root.key"
check
is "$RC:$OUT:$ERR" "0:$IOTAD_CONF: configuration OK:" "root key offline: iotad -n, no warning"

chmod 770 "$CA"
warns "ca.dir mode 770" "ca\.dir .* is group-writable \(chmod 700 it\)"
chmod 700 "$CA"

chmod 666 "$CA/ca-chain.pem"
warns "ca-chain.pem mode 666" ".*/ca-chain\.pem is world-writable: .*"
chmod 664 "$CA/ca-chain.pem"
warns "ca-chain.pem mode 664" ".*/ca-chain\.pem is group-writable: .*"
chmod 644 "$CA/ca-chain.pem"

chmod 777 "$CA"
refuses "ca.dir mode 777" "ca\.dir .* is world-writable: anyone could replace the CA \(chmod 700 it\)"
chmod 700 "$CA"

: >"$IOTAD_LOG"
check
is "$RC:$ERR" "0:" "all modes fixed: iotad -n passes without a word"
iotad_start
ok '[ -n "$IOTAD_PID" ]' "... and starts"
unlike "$(grep -E ' iotad (error|warn):' "$IOTAD_LOG" | grep -v 'runs as root')" . \
    "... logging no warning (but that it runs as root, when it does)"

done_testing
