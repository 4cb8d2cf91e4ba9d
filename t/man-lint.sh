#!/bin/bash
# The man pages: `mandoc -Tlint -W warning` says nothing about any of them,
# and iotactl(1) documents every ca verb, option, value and variable.
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
. "${T_SRCDIR:-$(dirname "$0")}/lib/tap.sh"

if [ -z "$MANDOC" ]; then
	echo "1..0 # SKIP mandoc not found"
	exit 0
fi

MAN=$TOP_SRCDIR/man
ok "[ -f '$MAN/iotactl.1' ]" "man/iotactl.1 exists"

for f in "$MAN"/*.1 "$MAN"/*.5 "$MAN"/*.8; do
	[ -f "$f" ] || continue
	lint=$("$MANDOC" -Tlint -W warning "$f" 2>&1)
	rc=$?
	if [ $rc -eq 0 ] && [ -z "$lint" ]; then
		pass "mandoc -Tlint -W warning man/${f##*/}"
	else
		fail "mandoc -Tlint -W warning man/${f##*/}" "exit $rc" "$lint"
	fi
done

# The rendered text, one line, so words split across lines still match.
text=$("$MANDOC" -Tascii "$MAN/iotactl.1" 2>/dev/null | sed 's/.\x08//g' | tr -s '[:space:]' ' ')
ok '[ -n "$text" ]' "iotactl.1 renders"

has() {
	[[ $text =~ (^|[^[:alnum:]-])$1([^[:alnum:]-]|$) ]]
}

for v in $CA_VERBS; do
	ok "has 'ca +$v'" "iotactl.1 documents ca $v"
done
opts=$(for v in $CA_VERBS; do ca_verb_options "$v"; done | tr ' ' '\n' | sort -u)
for o in $opts --help --version; do
	ok "has '$o'" "iotactl.1 documents $o"
done
for w in ec-p256 ec-p384 ed25519 rsa-3072 device server \
    unspecified keyCompromise cACompromise affiliationChanged superseded \
    cessationOfOperation certificateHold \
    IOTA_CA_PASSPHRASE_FILE IOTA_CA_INTERMEDIATE_PASSPHRASE_FILE \
    ENVIRONMENT 'EXIT STATUS' FILES; do
	ok "has '$w'" "iotactl.1 mentions $w"
done

done_testing
