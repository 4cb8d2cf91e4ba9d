# IOTA_TRY_CFLAG(FLAG, VAR): append FLAG to VAR if the compiler takes it
# without a warning (-Werror), so an unknown flag never slips into the build.
AC_DEFUN([IOTA_TRY_CFLAG], [
    AC_MSG_CHECKING([whether $CC accepts $1])
    iota_save_CFLAGS=$CFLAGS
    CFLAGS="$CFLAGS -Werror $1"
    AC_LINK_IFELSE([AC_LANG_PROGRAM([], [])],
        [AC_MSG_RESULT([yes]); $2="$$2 $1"], [AC_MSG_RESULT([no])])
    CFLAGS=$iota_save_CFLAGS
])

# IOTA_TRY_LDFLAG(FLAG, VAR): the same for the linker.
AC_DEFUN([IOTA_TRY_LDFLAG], [
    AC_MSG_CHECKING([whether the linker accepts $1])
    iota_save_LDFLAGS=$LDFLAGS
    LDFLAGS="$LDFLAGS -Werror $1"
    AC_LINK_IFELSE([AC_LANG_PROGRAM([], [])],
        [AC_MSG_RESULT([yes]); $2="$$2 $1"], [AC_MSG_RESULT([no])])
    LDFLAGS=$iota_save_LDFLAGS
])

# IOTA_HARDENING: stack protector, _FORTIFY_SOURCE (only where the user's
# CFLAGS optimise: it does nothing at -O0 and glibc warns), full RELRO with
# BIND_NOW, and PIE.  Sets HARDEN_CFLAGS, HARDEN_CPPFLAGS, HARDEN_LDFLAGS and
# iota_hardening (what was enabled, for the summary).
AC_DEFUN([IOTA_HARDENING], [
    HARDEN_CFLAGS= HARDEN_CPPFLAGS= HARDEN_LDFLAGS=
    IOTA_TRY_CFLAG([-fstack-protector-strong], [HARDEN_CFLAGS])
    IOTA_TRY_CFLAG([-fPIE], [HARDEN_CFLAGS])
    IOTA_TRY_LDFLAG([-pie], [HARDEN_LDFLAGS])
    IOTA_TRY_LDFLAG([-Wl,-z,relro], [HARDEN_LDFLAGS])
    IOTA_TRY_LDFLAG([-Wl,-z,now], [HARDEN_LDFLAGS])
    iota_fortify=no
    AS_CASE([" $CFLAGS "],
        [*" -O0 "*], [],
        [*" -O"*], [iota_fortify=yes])
    AS_IF([test "x$enable_sanitizers" = xyes], [iota_fortify=no])
    AS_IF([test "x$iota_fortify" = xyes],
        [HARDEN_CPPFLAGS="-U_FORTIFY_SOURCE -D_FORTIFY_SOURCE=2"])
    iota_hardening="stack-protector:$(AS_CASE([$HARDEN_CFLAGS], [*stack-protector*], [echo yes], [echo no]))"
    iota_hardening="$iota_hardening fortify:$iota_fortify"
    iota_hardening="$iota_hardening relro+now:$(AS_CASE([$HARDEN_LDFLAGS], [*now*], [echo yes], [echo no]))"
    iota_hardening="$iota_hardening pie:$(AS_CASE([$HARDEN_LDFLAGS], [*-pie*], [echo yes], [echo no]))"
])
