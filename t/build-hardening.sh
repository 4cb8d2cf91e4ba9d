#!/bin/bash
# The binaries carry the hardening configure reported: PIE, full RELRO with
# BIND_NOW, stack protector and _FORTIFY_SOURCE checks, read back from the
# ELF files by readelf (an outside judge, not our build flags).
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
. "${T_SRCDIR:-$(dirname "$0")}/lib/tap.sh"

if [ -z "${HARDENING:-}" ] || [ "$HARDENING" = off ]; then
	skip "configured with --disable-hardening" 1
	done_testing
	exit 0
fi
command -v readelf >/dev/null || bail_out "readelf not found (binutils)"

# wants FEATURE: configure found the compiler able to do FEATURE.
wants() { [[ " $HARDENING " == *" $1:yes "* ]]; }

bindir=$(dirname "$IOTACTL")
for b in iotad iotactl iota-consumer; do
	f=$bindir/$b
	ok '[ -x "$f" ]' "$b: built" || continue
	hdr=$(readelf -hW "$f") dyn=$(readelf -dW "$f") seg=$(readelf -lW "$f")
	syms=$(readelf -sW --dyn-syms "$f")
	if wants pie; then
		like "$hdr" 'Type: +DYN' "$b: position-independent executable"
	fi
	if wants relro+now; then
		like "$seg" 'GNU_RELRO' "$b: has a RELRO segment"
		like "$dyn" 'BIND_NOW|Flags:.* NOW' "$b: binds now (full RELRO)"
	fi
	if wants stack-protector; then
		like "$syms" '__stack_chk_fail' "$b: stack protector is in"
	fi
	if wants fortify; then
		like "$syms" '__[a-z]+_chk@' "$b: fortified libc calls"
	fi
done

# The summary configure printed and the flags it put into the build agree.
like "$HARDENING" '^stack-protector:(yes|no) fortify:(yes|no) relro\+now:(yes|no) pie:(yes|no)$' \
	"configure's hardening summary has every item"
done_testing
