#!/bin/bash
# valgrind memcheck over the unit tests (t/unit/*-test): each runs under
# `valgrind --error-exitcode=99 --leak-check=full
# --errors-for-leak-kinds=definite`: no memory error and no definitely
# lost block.  The test's own assertions are shown when they fail under
# valgrind but not counted here: some wait a few seconds for the server,
# and valgrind slows it 20-50 times (make check runs them without it).  The
# suppressions in t/valgrind.supp cover library-internal noise only; each
# is explained there.
#
# Skipped without valgrind and in a sanitizer build (--enable-sanitizers:
# AddressSanitizer and valgrind do not run together).  The unit tests that
# can use a broker (broker-test, events-test) run their broker-less part
# here: RABBIT_* are unset.
# VALGRIND_TESTS="store-test ca-test" runs only those.
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
. "${T_SRCDIR:-$(dirname "$0")}/lib/tap.sh"

if ! command -v valgrind >/dev/null 2>&1; then
	skip "valgrind not installed (scripts/install-deps --test)" 1
	done_testing
fi
UNIT=$(cd "$(dirname "$IOTACTL")" && pwd)/t/unit
ALL="ca-test conf-test secret-test store-test http-test events-test broker-test"
# A sanitizer build: the ASan runtime is linked into every binary.
if readelf -sW --dyn-syms "$UNIT/ca-test" 2>/dev/null | grep -q '__asan_init'; then
	skip "a sanitizer build (--enable-sanitizers): valgrind cannot run ASan binaries" 1
	done_testing
fi
unset RABBIT_AMQP_PORT RABBIT_MGMT_URL RABBIT_MGMT_CREDS
export TOP_SRCDIR

for t in ${VALGRIND_TESTS:-$ALL}; do
	bin=$UNIT/$t
	if [ ! -x "$bin" ]; then
		fail "$t: built" "  not found: $bin"
		continue
	fi
	log=$T_TMP/$t.vg
	s=$SECONDS
	(cd "$T_TMP" && timeout 1200 valgrind -q --error-exitcode=99 \
	    --leak-check=full --errors-for-leak-kinds=definite \
	    --show-leak-kinds=definite --track-origins=yes \
	    --suppressions="$T_SRCDIR/valgrind.supp" \
	    --log-file="$log" "$bin" >"$T_TMP/$t.out" 2>&1 </dev/null)
	rc=$?
	# valgrind's verdict: exit 99 on an error or a definite leak.
	if [ "$rc" != 99 ] && [ "$rc" -lt 124 ] && ! grep -q 'ERROR SUMMARY: [1-9]' "$log"; then
		pass "$t under valgrind memcheck: no memory error, no definite leak ($((SECONDS - s)) s)"
	else
		fail "$t under valgrind memcheck: no memory error, no definite leak" \
		    "  exit $rc ($((SECONDS - s)) s); valgrind says:" \
		    "$(grep -v '^==[0-9]*== *$' "$log" | head -80)"
	fi
	# The test's own verdict, slowed down some 20-50 times: its timing
	# assertions (a 3 s wait for a refused connection) may miss, which
	# says nothing about memory; shown, not counted.
	if [ "$rc" != 0 ] || grep -q '^not ok' "$T_TMP/$t.out"; then
		diag "  $t's own result under valgrind: exit $rc" \
		    "$(grep -A1 '^not ok' "$T_TMP/$t.out" | head -10)"
	fi
done
done_testing
