#!/bin/bash
# Fuzz targets (t/fuzz/*.c, one per parser), built here with clang's
# libFuzzer, AddressSanitizer and UndefinedBehaviorSanitizer.  Each first
# replays its regression inputs (t/fuzz/regress/TARGET/, *.hex decoded)
# and its seeds (scripts/fuzz-seeds), then fuzzes for FUZZ_SECONDS
# (default 10), two targets at a time; FUZZ_RUNS=N fuzzes N executions
# instead; FUZZ_SECONDS=0 only replays.  FUZZ_TARGETS picks targets;
# FUZZ_CORPUS=DIR keeps each target's corpus in DIR/TARGET for next time.
# A crash, a leak, an abort or a warning is a failure; the input that did
# it is shown in the log.  Without clang and libFuzzer: skipped.
# `make fuzz` runs this with FUZZ_SECONDS=600 (docs/FUZZING.md).
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
. "${T_SRCDIR:-$(dirname "$0")}/lib/tap.sh"

CLANG=${CLANG:-$(command -v clang-14 || command -v clang)}
[ -n "$CLANG" ] || { echo "1..0 # SKIP clang not installed"; exit 0; }
T=$T_TMP
SRC=$T_SRCDIR/..
: "${FUZZ_SECONDS:=10}"
: "${FUZZ_TARGETS:=csr ocsp-request router auth-form json est pem conf signer-wire}"
echo 'int LLVMFuzzerTestOneInput(const char *d, long n) { return 0; }' >"$T/probe.c"
"$CLANG" -fsanitize=fuzzer "$T/probe.c" -o "$T/probe" 2>/dev/null ||
    { echo "1..0 # SKIP clang has no libFuzzer"; exit 0; }

LIB="$SRC/lib/encode.c $SRC/lib/errbuf.c $SRC/lib/file.c"
CA="$SRC/ca/csr.c $SRC/ca/csr-fast.c $SRC/ca/spki.c $SRC/ca/key.c
    $SRC/ca/error.c $SRC/ca/pem.c $SRC/ca/cert.c $SRC/ca/ext.c
    $SRC/ca/serial.c $SRC/ca/crl.c $SRC/ca/ocsp.c"
# sources TARGET: what the target links, beside t/fuzz/TARGET.c.
sources() {
	case $1 in
	csr|pem)	echo "$CA $LIB" ;;
	ocsp-request)	echo "$SRC/ca/ocsp.c $SRC/ca/serial.c $SRC/ca/error.c $LIB" ;;
	router)		echo "$SRC/provision/http/router.c $LIB" ;;
	auth-form)	echo "$SRC/provision/http/router.c $SRC/provision/broker/auth-answer.c $LIB" ;;
	json)		echo "$SRC/provision/http/json.c $CA $LIB" ;;
	est)		echo "$SRC/provision/api/basic.c $CA $LIB" ;;
	signer-wire)	echo "$SRC/ca/signer-wire.c $SRC/provision/signer/policy.c $CA $LIB" ;;
	conf)		echo "$SRC/conf/"{conf,conf-table,value,field,load,suggest,print,verify,check}.c "$LIB" ;;
	esac
}
INC="-I$SRC/ca -I$SRC/lib -I$SRC/conf -I$SRC/provision -I$SRC/provision/http
    -I$SRC/provision/api -I$SRC/provision/store -I$SRC/provision/broker
    -I$SRC/provision/signer"
PKGS="openssl jansson yaml-0.1"

# build TARGET: T/TARGET with libFuzzer, ASan and UBSan, without a warning.
build() {
	# shellcheck disable=SC2046,SC2086
	run "$CLANG" -g -O1 -std=c11 -D_DEFAULT_SOURCE -Wall -Wextra \
	    -Wno-unused-parameter -fsanitize=fuzzer,address,undefined \
	    -fno-sanitize-recover=undefined $INC $(pkg-config --cflags $PKGS) \
	    "$SRC/t/fuzz/$1.c" $(sources "$1") $(pkg-config --libs $PKGS) \
	    -o "$T/$1"
	[ "$RC" = 0 ] && ! [[ $ERR =~ warning: ]]
	_t_result $? "$1: builds with libFuzzer, ASan and UBSan, no warning" &&
	    return 0
	diag "$(printf '%s\n' "$ERR" | grep -E 'error|warning' | head -20)"
	return 1
}

# replay TARGET: every regression input and seed once.
replay() {
	local f files=()
	mkdir -p "$T/$1.regress"
	for f in "$SRC/t/fuzz/regress/$1"/*; do
		[ -f "$f" ] || continue
		case $f in
		*.hex)	xxd -r -p "$f" >"$T/$1.regress/$(basename "$f" .hex)" ;;
		*)	cp "$f" "$T/$1.regress/" ;;
		esac
	done
	for f in "$T/$1.regress"/* "$T/seeds/$1"/*; do
		[ -f "$f" ] && files+=("$f")
	done
	run nice "$T/$1" -rss_limit_mb=1024 -timeout=10 "${files[@]}"
	is "$RC" 0 "$1: ${#files[@]} regression inputs and seeds replay" ||
	    report "$1"
}

# report TARGET: what went wrong, and the input that did it.
report() {
	local f
	diag "$(printf '%s\n' "$ERR" | grep -E 'ERROR|SUMMARY|==|abort|Running' | head -20)"
	for f in "$T/$1"-crash-* "$T/$1"-leak-* "$T/$1"-timeout-* "$T/$1"-oom-*; do
		[ -f "$f" ] && diag "input $(basename "$f"): $(xxd -p "$f" | head -8)"
	done
}

# fuzz_start TARGET: fuzz in the background, into T/TARGET.out.
fuzz_start() {
	local limit=(-max_total_time="$FUZZ_SECONDS") out=$T/$1.out
	[ -n "${FUZZ_RUNS:-}" ] && limit=(-runs="$FUZZ_RUNS")
	[ -n "${FUZZ_CORPUS:-}" ] && out=$FUZZ_CORPUS/$1
	mkdir -p "$out"
	nice "$T/$1" "${limit[@]}" -max_len=4096 -timeout=10 \
	    -rss_limit_mb=1024 -print_final_stats=1 \
	    -artifact_prefix="$T/$1-" "$out" "$T/seeds/$1" \
	    >/dev/null 2>"$T/$1.err" </dev/null &
	echo $! >"$T/$1.pid"
}

fuzz_check() {
	local what=${FUZZ_RUNS:+$FUZZ_RUNS runs}
	wait "$(cat "$T/$1.pid")"
	RC=$?
	ERR=$(cat "$T/$1.err")
	is "$RC" 0 "$1: ${what:-$FUZZ_SECONDS s} without a crash, leak or abort" ||
	    report "$1"
	like "$ERR" 'Done [0-9]+ runs' "$1: libFuzzer ran it" &&
	    diag "$1: $(grep -E '^stat::(number_of_executed_units|average_exec_per_sec)' \
	    "$T/$1.err" | tr '\n' ' ')"
}

OPENSSL=$OPENSSL bash "$SRC/scripts/fuzz-seeds" "$T/seeds" "$SRC" ||
    bail_out "scripts/fuzz-seeds"
built=()
for t in $FUZZ_TARGETS; do
	build "$t" && replay "$t" && built+=("$t")
done
if [ "$FUZZ_SECONDS" != 0 ] || [ -n "${FUZZ_RUNS:-}" ]; then
	# Two at a time: CI has two cores.
	for ((i = 0; i < ${#built[@]}; i += 2)); do
		fuzz_start "${built[i]}"
		[ -n "${built[i + 1]:-}" ] && fuzz_start "${built[i + 1]}"
		fuzz_check "${built[i]}"
		[ -n "${built[i + 1]:-}" ] && fuzz_check "${built[i + 1]}"
	done
fi

done_testing
