#!/bin/bash
# iota-signer on its own, as an attacker in control of iotad would find it:
# forged requests written straight to its sockets (a CA certificate, names
# outside the request, a validity beyond the issuer, malformed, truncated,
# oversized and replayed frames) are refused and logged, and it stays up.
# The requests themselves are built by signer-forge.py.
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
. "${T_SRCDIR:-$(dirname "$0")}/lib/tap.sh"
need_iotactl
: "${IOTA_SIGNER:=$TOP_SRCDIR/iota-signer}"
[ -x "$IOTA_SIGNER" ] || bail_out "iota-signer not built: $IOTA_SIGNER"
command -v python3 >/dev/null || bail_out "python3 is needed"

T=$T_TMP
PASS=$T/pass
(umask 077 && printf '%s\n' "$PASS_TEXT" >"$PASS")
ca_init "$T/ca" || bail_out "ca init"
ossl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T/dev.key" \
    2>/dev/null || bail_out "genpkey"
ossl pkey -in "$T/dev.key" -pubout -outform DER -out "$T/dev.spki" ||
    bail_out "spki"

run "$IOTA_SIGNER" --ca-dir "$T/ca" --passphrase-file "$PASS" --channels 1
is "$RC" 1 "run by hand, the signer refuses to start"
like "$ERR" 'not iotad.s sockets' "... and says why"

# The script's TAP lines, renumbered into this script's plan.
while IFS= read -r line; do
	case $line in
	"ok "*) pass "${line#ok * - }" ;;
	"not ok "*) fail "${line#not ok * - }" ;;
	"#"*) diag "${line#\#   }" ;;
	"rc "*) rc=${line#rc } ;;
	esac
done < <(python3 "$T_SRCDIR/signer-forge.py" "$IOTA_SIGNER" "$T/ca" "$PASS" \
    "$T/dev.spki" "$T/ca/ca-chain.pem" "$OPENSSL" "$T/signer.log"; echo "rc $?")
is "${rc:-}" 0 "signer-forge.py ran to its end"
done_testing
