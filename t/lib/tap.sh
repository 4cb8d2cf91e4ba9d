# t/lib/tap.sh: TAP helpers and fixtures for the iota shell tests.
#
# Each test starts with
#     [ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
#     . "${T_SRCDIR:-$(dirname "$0")}/lib/tap.sh"
# (automake runs tests as `$(SHELL) t/NAME.sh`, and $(SHELL) may be dash),
# and ends with `done_testing`, which prints the plan `1..N` last.
#
# Assertions print one TAP line each:
#     ok COND DESC              COND is a shell command string, eval'ed
#     fails COND DESC           the same, but COND must fail
#     is GOT EXPECTED DESC      string equality, with got/expected on failure
#     like STRING REGEX DESC    bash ERE match ([[ =~ ]]); unlike: no match
#     skip REASON [COUNT]       `ok N # SKIP REASON`
#     run_fail CODE REGEX DESC -- CMD...
#                               CMD exits CODE, prints nothing on stdout and
#                               exactly one line "iotactl: ..." matching REGEX
#                               on stderr (two TAP lines)
#     run_fail_nochange DIR CODE REGEX DESC -- CMD...
#                               run_fail, and DIR's dir_digest is unchanged
# Helpers:
#     run CMD...                sets RC, OUT, ERR (stdout, stderr; trailing
#                               newlines stripped); ERR_RAW keeps them
#     dir_digest DIR            sha256 over every name, type, mode and content
#     T_TMP                     private directory, removed on exit (unless
#                               T_KEEP=1), then commands given to at_exit run
# T_VERBOSE=1 shows the stderr line of every run_fail that passes.
#
# Environment (set by `make check`, defaulted here for direct runs):
# IOTACTL OPENSSL MANDOC T_SRCDIR TOP_SRCDIR.

export LC_ALL=C TZ=UTC
unset IOTA_CA_PASSPHRASE_FILE IOTA_CA_INTERMEDIATE_PASSPHRASE_FILE

: "${T_SRCDIR:=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
: "${TOP_SRCDIR:=$(cd "$T_SRCDIR/.." && pwd)}"
: "${IOTACTL:=$TOP_SRCDIR/iotactl}"
: "${OPENSSL:=openssl}"
if [ -z "${MANDOC+set}" ]; then
	MANDOC=$(command -v mandoc 2>/dev/null || true)
fi

_t_n=0
_t_nfail=0
_t_atexit=()

# --- TAP output ---------------------------------------------------------------

diag() {
	local line
	printf '%s\n' "$@" | while IFS= read -r line; do
		printf '# %s\n' "$line"
	done
}

bail_out() {
	printf 'Bail out! %s\n' "$*"
	exit 1
}

# _t_result STATUS DESC: one TAP line; returns STATUS (0 or 1).
_t_result() {
	local desc=${2//#/\\#}
	_t_n=$((_t_n + 1))
	if [ "$1" -eq 0 ]; then
		printf 'ok %d - %s\n' "$_t_n" "$desc"
		return 0
	fi
	printf 'not ok %d - %s\n' "$_t_n" "$desc"
	_t_nfail=$((_t_nfail + 1))
	return 1
}

ok() {
	local _t_out _t_rc
	_t_out=$(eval "$1" 2>&1 </dev/null)
	_t_rc=$?
	[ "$_t_rc" -eq 0 ] && _t_rc=0 || _t_rc=1
	_t_result "$_t_rc" "$2" && return 0
	diag "  command: $1" "  exit: $_t_rc"
	[ -n "$_t_out" ] && diag "$_t_out"
	return 1
}

fails() {
	local _t_out _t_rc
	_t_out=$(eval "$1" 2>&1 </dev/null)
	_t_rc=$?
	[ "$_t_rc" -ne 0 ] && _t_rc=0 || _t_rc=1
	_t_result "$_t_rc" "$2" && return 0
	diag "  command (expected to fail): $1"
	[ -n "$_t_out" ] && diag "$_t_out"
	return 1
}

is() {
	[ "$1" = "$2" ]
	_t_result $? "$3" && return 0
	diag "       got: '$1'" "  expected: '$2'"
	return 1
}

isnt() {
	[ "$1" != "$2" ]
	_t_result $? "$3" && return 0
	diag "  got '$1', expected anything else"
	return 1
}

like() {
	[[ $1 =~ $2 ]]
	_t_result $? "$3" && return 0
	diag "  '$1'" "  does not match /$2/"
	return 1
}

unlike() {
	! [[ $1 =~ $2 ]]
	_t_result $? "$3" && return 0
	diag "  '$1'" "  matches /$2/"
	return 1
}

pass() { _t_result 0 "$1"; }
fail() { _t_result 1 "$1"; shift; [ $# -gt 0 ] && diag "$@"; return 1; }

skip() {
	local i count=${2:-1}
	for ((i = 0; i < count; i++)); do
		_t_n=$((_t_n + 1))
		printf 'ok %d # SKIP %s\n' "$_t_n" "$1"
	done
}

done_testing() {
	printf '1..%d\n' "$_t_n"
	[ "$_t_nfail" -eq 0 ] || diag "$_t_nfail of $_t_n failed"
	exit 0
}

# --- temporary directory and cleanup ---------------------------------------------

at_exit() { _t_atexit+=("$1"); }

_t_cleanup() {
	local c
	for c in "${_t_atexit[@]}"; do
		eval "$c" >/dev/null 2>&1
	done
	if [ -n "$T_TMP" ] && [ -d "$T_TMP" ]; then
		if [ "${T_KEEP:-0}" = 1 ]; then
			echo "# kept $T_TMP" >&2
		else
			chmod -R u+rwx "$T_TMP" 2>/dev/null
			rm -rf "$T_TMP"
		fi
	fi
}

T_TMP=$(mktemp -d "${TMPDIR:-/tmp}/iota-t.XXXXXXXX") || bail_out "mktemp -d failed"
trap _t_cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

# --- running commands ------------------------------------------------------------

# Without a controlling terminal (setsid) and with stdin from /dev/null, so
# a command that would prompt fails instead of hanging; bounded by timeout.
if command -v setsid >/dev/null 2>&1 && setsid -w true 2>/dev/null; then
	_t_detach=(setsid -w)
else
	_t_detach=()
fi

detached() {
	"${_t_detach[@]}" timeout 60 "$@" </dev/null
}

iota() {
	detached "$IOTACTL" "$@"
}

run() {
	detached "$@" >"$T_TMP/.run.out" 2>"$T_TMP/.run.err"
	RC=$?
	OUT=$(cat "$T_TMP/.run.out")
	ERR_RAW=$(cat "$T_TMP/.run.err"; printf x)
	ERR_RAW=${ERR_RAW%x}
	ERR=${ERR_RAW%$'\n'}
	ERR=${ERR%$'\n'}
	return "$RC"
}

# True if ERR_RAW is exactly one newline-terminated line starting "iotactl: "
# and matching the regex $1.
_t_one_line() {
	[[ $ERR_RAW == *$'\n' ]] || return 1
	local line=${ERR_RAW%$'\n'}
	[[ $line != *$'\n'* ]] || return 1
	[[ $line =~ ^iotactl:\  ]] || return 1
	[[ $line =~ $1 ]]
}

run_fail() {
	local code=$1 re=$2 desc=$3
	shift 3
	[ "$1" = -- ] && shift
	run "$@"
	if [ "$RC" = "$code" ]; then
		pass "$desc: exit $code"
	else
		fail "$desc: exit $code" "  command: $*" "  exit $RC, stderr:" "$ERR"
	fi
	if _t_one_line "$re" && [ -z "$OUT" ]; then
		pass "$desc: one line on stderr, nothing on stdout"
		[ -n "$T_VERBOSE" ] && diag "  $ERR"
	else
		fail "$desc: one line on stderr, nothing on stdout" \
		    "  wanted one line matching /^iotactl: / and /$re/" \
		    "  stderr: '$ERR_RAW'" "  stdout: '${OUT:0:300}'"
	fi
}

# dir_manifest DIR: one line per name under DIR with its mode and type
# (and link target), and one per regular file with its sha256; sorted.
dir_manifest() {
	[ -e "$1" ] || { echo absent; return 0; }
	(cd "$1" && {
		find . -printf '%m %y %p%l\n'
		find . -type f -exec sha256sum {} + 2>&1
	} | LC_ALL=C sort)
}

dir_digest() {
	dir_manifest "$1" | sha256sum | cut -d' ' -f1
}

# unchanged DIR MANIFEST DESC: DIR still has MANIFEST (from dir_manifest).
unchanged() {
	local now
	now=$(dir_manifest "$1")
	[ "$now" = "$2" ]
	_t_result $? "$3" && return 0
	diag "  $1 changed:"
	diag "$(diff <(printf '%s\n' "$2") <(printf '%s\n' "$now"))"
	return 1
}

run_fail_nochange() {
	local dir=$1 before
	shift
	before=$(dir_manifest "$dir")
	run_fail "$@"
	unchanged "$dir" "$before" "$3: $(basename "$dir") unchanged"
}

# --- fixtures: iotactl --------------------------------------------------------------

need_iotactl() {
	[ -x "$IOTACTL" ] || bail_out "iotactl not built: $IOTACTL"
}

# Every verb of `iotactl ca` and its long options, as in the spec (plus
# crl --issuer, added with commit 8172f6a).
CA_VERBS="init issue sign revoke crl show rotate"
ca_verb_options() {
	local pass="--passphrase-file --intermediate-passphrase-file"
	case $1 in
	init)	echo "--dir --key-type --name $pass --root-days --intermediate-days" ;;
	issue)	echo "--dir --server-name --dns --ip --out --key-type --days $pass" ;;
	sign)	echo "--dir --csr --name --profile --dns --ip --days $pass" ;;
	revoke)	echo "--dir --reason" ;;
	crl)	echo "--dir --days --root --root-key --issuer $pass" ;;
	show)	echo "--dir" ;;
	rotate)	echo "--dir --root-key --key-type --days $pass" ;;
	esac
}

PASS=$T_TMP/pass
printf 'correct horse battery staple\n' >"$PASS"
PASS_TEXT='correct horse battery staple'

# ca_init DIR [ARGS...]: a P-256 CA with the passphrase in $PASS.
ca_init() {
	local dir=$1
	shift
	run "$IOTACTL" ca init --dir "$dir" --key-type ec-p256 \
	    --passphrase-file "$PASS" "$@" && return 0
	diag "ca init --dir $dir $* failed ($RC): $ERR"
	return 1
}

# ca_sign DIR CSR NAME [ARGS...] > CERT
ca_sign() {
	local dir=$1 csr=$2 name=$3
	shift 3
	iota ca sign --dir "$dir" --csr "$csr" --name "$name" \
	    --passphrase-file "$PASS" "$@"
}

# --- fixtures: openssl ---------------------------------------------------------------

ossl() { "$OPENSSL" "$@"; }

# newkey_args TYPE: openssl req -newkey arguments for a key type.
newkey_args() {
	case $1 in
	p256)	echo "-newkey ec -pkeyopt ec_paramgen_curve:P-256" ;;
	p384)	echo "-newkey ec -pkeyopt ec_paramgen_curve:P-384" ;;
	p521)	echo "-newkey ec -pkeyopt ec_paramgen_curve:P-521" ;;
	secp256k1) echo "-newkey ec -pkeyopt ec_paramgen_curve:secp256k1" ;;
	ed25519) echo "-newkey ed25519" ;;
	ed448)	echo "-newkey ed448" ;;
	rsa1024) echo "-newkey rsa:1024" ;;
	rsa2048) echo "-newkey rsa:2048" ;;
	*)	return 1 ;;
	esac
}

# mkcsr TYPE PREFIX [SUBJECT [REQ-ARGS...]]: PREFIX.key (plain) and PREFIX.csr
# (PEM) from openssl; TYPE as in newkey_args, or dsa.
mkcsr() {
	local type=$1 prefix=$2 subj=${3:-/CN=ignored}
	shift 3 2>/dev/null || shift $#
	if [ "$type" = dsa ]; then
		ossl genpkey -genparam -algorithm DSA \
		    -pkeyopt dsa_paramgen_bits:2048 -out "$prefix.param" \
		    2>/dev/null &&
		ossl genpkey -paramfile "$prefix.param" -out "$prefix.key" &&
		ossl req -new -key "$prefix.key" -subj "$subj" \
		    -out "$prefix.csr" "$@"
	else
		# shellcheck disable=SC2046
		ossl req -new $(newkey_args "$type") -nodes -keyout "$prefix.key" \
		    -subj "$subj" -out "$prefix.csr" "$@" 2>/dev/null
	fi
}

# pem_split FILE PREFIX: PREFIX1.pem PREFIX2.pem ... one per PEM block;
# prints how many.
pem_split() {
	awk -v p="$2" '
	    /^-----BEGIN / { n++; f = p n ".pem" }
	    f != "" { print > f }
	    /^-----END / { close(f); f = "" }
	    END { print n + 0 }' "$1"
}

# cert_info CERT: everything the helpers below need about the (first)
# certificate in CERT, from one openssl x509 call, cached by content
# (openssl x509 takes tens of milliseconds to start; the suite calls these
# helpers hundreds of times, mostly from subshells, hence a file cache).
cert_info() {
	local sum f
	sum=$(cksum <"$1" 2>/dev/null) || return 1
	f=$T_TMP/.cache/cert-${sum// /-}
	if [ ! -s "$f" ]; then
		mkdir -p "$T_TMP/.cache"
		ossl x509 -in "$1" -noout -nameopt RFC2253 -subject -issuer \
		    -serial -enddate -fingerprint -sha256 \
		    -ext subjectKeyIdentifier,authorityKeyIdentifier,basicConstraints,keyUsage,extendedKeyUsage,subjectAltName \
		    -pubkey -text >"$f.$$" 2>/dev/null || { rm -f "$f.$$"; return 1; }
		mv "$f.$$" "$f"
	fi
	cat "$f"
}

_cert_line() { cert_info "$1" | sed -n "s/^$2=//p" | head -1; }
subject_of() { _cert_line "$1" subject; }
issuer_of() { _cert_line "$1" issuer; }
serial_of() { _cert_line "$1" serial; }
fingerprint_of() { _cert_line "$1" 'sha256 Fingerprint'; }
cert_text() { cert_info "$1" | sed -n '/^Certificate:/,$p'; }
cert_pubkey() {
	cert_info "$1" | sed -n '/^-----BEGIN PUBLIC KEY-----/,/^-----END PUBLIC KEY-----/p'
}
enddate_of() { date -u -d "$(_cert_line "$1" notAfter)" +%s; }

# valid_for CERT DAYS: notAfter is DAYS days from now (issued within the
# last minute): more than DAYS-1 days ahead, at most DAYS days and a minute.
valid_for() {
	local end now
	end=$(enddate_of "$1") || return 1
	now=$(date -u +%s)
	[ "$end" -gt $((now + ($2 - 1) * 86400)) ] &&
	    [ "$end" -le $((now + $2 * 86400 + 60)) ] && return 0
	echo "notAfter $(_cert_line "$1" notAfter): $(((end - now) / 3600)) hours from now"
	return 1
}

# ext_of CERT NAME: the extension's text, header line then values, as
# `openssl x509 -ext NAME` prints it; nothing if absent.
ext_of() {
	local h
	case $2 in
	subjectKeyIdentifier)	h='Subject Key Identifier' ;;
	authorityKeyIdentifier)	h='Authority Key Identifier' ;;
	basicConstraints)	h='Basic Constraints' ;;
	keyUsage)		h='Key Usage' ;;
	extendedKeyUsage)	h='Extended Key Usage' ;;
	subjectAltName)		h='Subject Alternative Name' ;;
	*)			return 1 ;;
	esac
	cert_info "$1" | awk -v h="X509v3 $h:" '
	    index($0, h) == 1 { p = 1; print; next }
	    p && /^    / { print; next }
	    { p = 0 }'
}

# Values only, on one line.
ext_value() { ext_of "$1" "$2" | sed 1d | sed 's/^ *//' | tr '\n' ' ' | sed 's/ *$//'; }

ski_of() { ext_value "$1" subjectKeyIdentifier; }
aki_of() { ext_value "$1" authorityKeyIdentifier | sed 's/^keyid://'; }

# same_cert A B: the first certificates in A and B are the same (same DER).
same_cert() {
	local a b
	a=$(fingerprint_of "$1") && b=$(fingerprint_of "$2") && [ -n "$a" ] &&
	    [ "$a" = "$b" ]
}

csr_pubkey() { ossl req -in "$1" -noout -pubkey; }
key_pubkey() { ossl pkey -in "$1" -pubout ${2:+-passin "pass:$2"}; }

# verify_chain PURPOSE CERT [INTERMEDIATE [ROOT]] with defaults from $CA.
verify_chain() {
	ossl verify -x509_strict -purpose "$1" -CAfile "${4:-$CA/root.crt}" \
	    -untrusted "${3:-$CA/intermediate.crt}" "$2"
}

file_mode() { stat -c %a "$1"; }

# --- fixtures: hand-made DER ------------------------------------------------------

hex_of() { od -An -tx1 -v "$1" | tr -d ' \n'; }
unhex() { printf '%b' "$(printf %s "$1" | sed 's/../\\x&/g')"; }
der_len() {
	if [ "$1" -lt 128 ]; then printf '%02x' "$1"
	elif [ "$1" -lt 256 ]; then printf '81%02x' "$1"
	else printf '82%04x' "$1"
	fi
}
# tlv TAG HEX: one DER element, in hex.
tlv() { printf '%s%s%s' "$1" "$(der_len $((${#2} / 2)))" "$2"; }
# der_name_cn CN: a Name with one CN (UTF8String), in hex.
der_name_cn() {
	tlv 30 "$(tlv 31 "$(tlv 30 "0603550403$(tlv 0c "$(printf %s "$1" |
	    od -An -tx1 -v | tr -d ' \n')")")")"
}

# raw_csr KEY SUBJECT-HEX [ATTRIBUTES-HEX] > DER: a PKCS#10 request built by
# hand around KEY's public key (EC, ecdsa-with-SHA256), signed by KEY, so the
# parts openssl req would never get wrong can be wrong.
raw_csr() {
	local spki info sig
	spki=$(ossl pkey -in "$1" -pubout -outform DER | od -An -tx1 -v | tr -d ' \n')
	info=$(tlv 30 "020100$2$spki$(tlv a0 "${3:-}")")
	unhex "$info" >"$T_TMP/.info.der"
	sig=$(ossl dgst -sha256 -sign "$1" "$T_TMP/.info.der" | od -An -tx1 -v | tr -d ' \n')
	unhex "$(tlv 30 "${info}300a06082a8648ce3d040302$(tlv 03 "00$sig")")"
}
