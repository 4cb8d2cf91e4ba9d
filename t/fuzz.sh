#!/bin/bash
# Fuzz targets (t/fuzz/: OCSP requests, CSRs), built here with clang's libFuzzer, AddressSanitizer and
# UndefinedBehaviorSanitizer, each run for FUZZ_SECONDS (default 20; CI
# time is bounded) from a seed corpus of real requests made with openssl.
# A crash, a leak or an abort is a failure; the input that did it is kept
# in the test's log.  Without clang and libFuzzer: skipped.
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
. "${T_SRCDIR:-$(dirname "$0")}/lib/tap.sh"

CLANG=${CLANG:-$(command -v clang-14 || command -v clang)}
[ -n "$CLANG" ] || { echo "1..0 # SKIP clang not installed"; exit 0; }
T=$T_TMP
SRC=$T_SRCDIR/..
: "${FUZZ_SECONDS:=20}"
echo 'int LLVMFuzzerTestOneInput(const char *d, long n) { return 0; }' >"$T/probe.c"
"$CLANG" -fsanitize=fuzzer "$T/probe.c" -o "$T/probe" 2>/dev/null ||
    { echo "1..0 # SKIP clang has no libFuzzer"; exit 0; }

# fuzz NAME SOURCES...: build NAME, run it on the corpus T/NAME.corpus.
fuzz() {
	local name=$1
	shift
	run "$CLANG" -g -O1 -fsanitize=fuzzer,address,undefined \
	    -fno-sanitize-recover=undefined -I"$SRC/ca" -I"$SRC/lib" \
	    $(pkg-config --cflags openssl) "$@" $(pkg-config --libs openssl) \
	    -o "$T/$name"
	is "$RC" 0 "$name: builds with libFuzzer, ASan and UBSan" ||
	    { diag "$ERR"; return 1; }
	mkdir -p "$T/$name.out"
	run nice "$T/$name" -max_total_time="$FUZZ_SECONDS" -max_len=4096 \
	    -timeout=10 -rss_limit_mb=1024 -artifact_prefix="$T/$name-" \
	    "$T/$name.out" "$T/$name.corpus"
	is "$RC" 0 "$name: $FUZZ_SECONDS s without a crash, leak or abort" || {
		diag "$(printf '%s\n' "$ERR" | grep -E 'ERROR|SUMMARY|==' | head -20)"
		for f in "$T/$name"-*; do
			[ -f "$f" ] && diag "input: $(od -An -tx1 "$f" | head -8)"
		done
	}
	like "$ERR" 'Done [0-9]+ runs' "$name: libFuzzer ran it"
}

# Seeds: requests as openssl's client sends them, and their base64.
INTER=$T/inter
ossl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$INTER.key" -subj /CN=seed -days 1 -out "$INTER.crt" 2>/dev/null ||
    bail_out "openssl req"
mkdir -p "$T/ocsp-request.corpus"
i=0
for args in "-serial 0x01" "-serial 0x01 -serial 0x02 -no_nonce" \
    "-sha256 -serial 0x1234567890ABCDEF1234567890ABCDEF"; do
	i=$((i + 1))
	# shellcheck disable=SC2086
	ossl ocsp -issuer "$INTER.crt" $args -reqout "$T/ocsp-request.corpus/r$i" \
	    2>/dev/null || bail_out "openssl ocsp -reqout"
	base64 -w0 <"$T/ocsp-request.corpus/r$i" >"$T/ocsp-request.corpus/b$i"
done
fuzz ocsp-request "$SRC/t/fuzz/ocsp-request.c" "$SRC/ca/ocsp.c" \
    "$SRC/ca/serial.c" "$SRC/ca/error.c" "$SRC/lib/encode.c"

# Seeds: CSRs as devices send them (P-256, Ed25519, RSA), PEM, DER, base64.
mkdir -p "$T/csr.corpus"
i=0
for alg in "ec -pkeyopt ec_paramgen_curve:P-256" ed25519 "rsa:2048"; do
	i=$((i + 1))
	# shellcheck disable=SC2086
	ossl req -new -newkey $alg -nodes -keyout "$T/k$i" -subj /CN=seed \
	    -out "$T/csr.corpus/p$i" 2>/dev/null || bail_out "openssl req"
	ossl req -in "$T/csr.corpus/p$i" -outform DER -out "$T/csr.corpus/d$i"
	base64 <"$T/csr.corpus/d$i" >"$T/csr.corpus/b$i"
done
fuzz csr "$SRC/t/fuzz/csr.c" "$SRC/ca/csr.c" "$SRC/ca/csr-fast.c" \
    "$SRC/ca/spki.c" "$SRC/ca/key.c" "$SRC/ca/error.c" "$SRC/ca/pem.c" \
    "$SRC/ca/cert.c" "$SRC/ca/ext.c" "$SRC/ca/serial.c" "$SRC/lib/encode.c"

done_testing
