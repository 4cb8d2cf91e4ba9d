#!/bin/bash
# iotad as a service: its unit passes systemd-analyze verify, and iotad
# starts as root with no more than the unit's capabilities; sd_notify's messages (ready once it listens,
# reloading around SIGHUP, stopping) on a socket the test listens on; its
# lines in the journal's form when standard error is the journal's stream
# (and only then); SIGUSR1 reopening the log files that logrotate moved
# away; bash completion of iotactl and iotad.
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
. "${T_SRCDIR:-$(dirname "$0")}/lib/tap.sh"
. "$T_SRCDIR/lib/iotad.sh"
need_iotad

T=$T_TMP
D=$T/iotad
iotad_setup "$D" "audit:
  file: $D/audit.log"

# wait_for FILE REGEX: a line of FILE matches, within 10 s.
wait_for() {
	local i
	for ((i = 0; i < 500; i++)); do
		grep -Eq -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.02
	done
	return 1
}

# --- the unit ---------------------------------------------------------------------
UNIT_IN=$TOP_SRCDIR/conf/iotad.service.in
BUILT_UNIT=$(dirname "$IOTAD")/conf/iotad.service
ok "[ -f '$BUILT_UNIT' ] && ! grep -q '@' '$BUILT_UNIT'" \
    "make wrote conf/iotad.service, every @variable@ substituted"
like "$(grep '^ExecStart=' "$BUILT_UNIT")" \
    '^ExecStart=/[^ ]*/sbin/iotad -c /[^ ]*/iota/iotad\.yaml$' \
    "  ExecStart: SBINDIR/iotad -c SYSCONFDIR/iota/iotad.yaml"
# The template with this build's iotad: verify wants an executable.
sed -e "s|@sbindir@/iotad|$IOTAD|" -e "s|@sysconfdir@|$T/etc|" "$UNIT_IN" \
    >"$T/iotad.service"
if command -v systemd-analyze >/dev/null 2>&1; then
	# It exits 0 on unknown keys and bad values: its words count too.
	run systemd-analyze verify --man=no "$T/iotad.service"
	is "$RC:$OUT$ERR" "0:" "systemd-analyze verify: no error, no warning"
	sed 's/^ProtectSystem=/ProtectSytem=/' "$T/iotad.service" >"$T/typo.service"
	run systemd-analyze verify --man=no "$T/typo.service"
	like "$ERR" "Unknown key 'ProtectSytem'" "  which does see a misspelt key"
else
	skip "systemd-analyze not installed (Debian: systemd)" 2
fi
for k in Type=notify ExecReload= ProtectSystem=strict StateDirectory=iota \
    PrivateTmp=yes NoNewPrivileges=yes ProtectHome=yes Restart=on-failure \
    LimitNOFILE= RestrictAddressFamilies=; do
	ok "grep -q '^$k' '$UNIT_IN'" "the unit sets $k"
done
ok "grep -q 'kill .*--signal=USR1 iotad' '$TOP_SRCDIR/conf/iota.logrotate'" \
    "the logrotate sample sends SIGUSR1"
is "$(grep -v '^#' "$TOP_SRCDIR/conf/iota.sysusers")" \
    'u iota - "iota CA and provisioning" /var/lib/iota' "the sysusers.d line"

# --- the journal's stream -------------------------------------------------------
# The log on standard error: the configuration without log.file.
grep -v "^  file: $D/iotad.log\$" "$IOTAD_CONF" >"$T/stderr.yaml"
ok "! grep -q iotad.log '$T/stderr.yaml'" "a configuration logging to stderr"

# start_stderr OUT [ENV...]: iotad, standard error to OUT; sets P.
start_stderr() {
	local out=$1
	shift
	: >"$out"
	env "$@" "${IOTAD_WRAP[@]}" "$IOTAD" -c "$T/stderr.yaml" </dev/null \
	    >/dev/null 2>>"$out" &
	P=$!
	wait_for "$out" ' listening on https://' ||
	    { diag "no listening line:" "$(tail -n 5 "$out")"; return 1; }
}

# wait_lines FILE N: FILE has N lines at least, within 10 s.
wait_lines() {
	local i
	for ((i = 0; i < 500; i++)); do
		[ "$(wc -l <"$1")" -ge "$2" ] && return 0
		sleep 0.02
	done
	return 1
}

stop_pid() {
	kill -TERM "$1" 2>/dev/null
	wait "$1" 2>/dev/null
}

J=$T/journal.out
: >"$J"
start_stderr "$J" JOURNAL_STREAM="$(stat -c '%d:%i' "$J")" ||
    bail_out "iotad did not start with JOURNAL_STREAM"
stop_pid "$P"
like "$(grep ' listening on ' "$J")" '^<6>iotad info: listening on https://' \
    "JOURNAL_STREAM is stderr: <6>, then the program, no time"
unlike "$(cat "$J")" '(^|'$'\n'')[0-9]{4}-[0-9]{2}-[0-9]{2}T' \
    "JOURNAL_STREAM is stderr: no line carries a timestamp"
unlike "$(cat "$J")" '(^|'$'\n'')[^<]' \
    "JOURNAL_STREAM is stderr: every line starts with a priority"
like "$(grep 'stopping on signal' "$J")" '^<6>iotad info: stopping on signal 15$' \
    "JOURNAL_STREAM is stderr: the stop line too"

N=$T/plain.out
start_stderr "$N" || bail_out "iotad did not start without JOURNAL_STREAM"
stop_pid "$P"
like "$(grep ' listening on ' "$N")" \
    '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z iotad info: listening on https://' \
    "no JOURNAL_STREAM: lines as before, time first"

O=$T/other.out
: >"$O"
start_stderr "$N" JOURNAL_STREAM="$(stat -c '%d:%i' "$O")" ||
    bail_out "iotad did not start with a foreign JOURNAL_STREAM"
stop_pid "$P"
like "$(grep ' listening on ' "$N" | tail -n 1)" \
    '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z iotad info: listening on https://' \
    "JOURNAL_STREAM names another file: lines as before"
start_stderr "$N" JOURNAL_STREAM=garbage ||
    bail_out "iotad did not start with JOURNAL_STREAM=garbage"
stop_pid "$P"
like "$(grep ' listening on ' "$N" | tail -n 1)" '^[0-9]{4}-' \
    "JOURNAL_STREAM not DEV:INO: lines as before"

# --- NOTIFY_SOCKET: what systemd would hear ------------------------------------
if ! command -v python3 >/dev/null 2>&1; then
	skip "python3 is needed to listen as systemd does" 6
elif ! grep -aq sd_notify "$IOTAD"; then
	skip "iotad built without libsystemd (configure --with-libsystemd)" 6
else
	S=$T/notify.sock
	M=$T/notify.msgs
	: >"$M"
	# One line per datagram, its newlines as "|".
	python3 -u -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
print("bound", flush=True)
while True:
    m = s.recv(4096).decode()
    print(m.replace("\n", "|"), flush=True)
' "$S" >"$M" &
	LISTENER=$!
	at_exit "kill $LISTENER"
	wait_for "$M" '^bound$' || bail_out "the notify listener did not start"
	NOTIFY_SOCKET=$S iotad_start || bail_out "iotad did not start with NOTIFY_SOCKET"
	ok "wait_for '$M' '^READY=1\|MAINPID=$IOTAD_PID\|STATUS=listening on https://127\.0\.0\.1:$IOTAD_PORT\$'" \
	    "READY=1 with MAINPID and the listening address as STATUS"
	is "$(grep -c 'READY=1' "$M")" 1 "  once, after it listens"
	kill -HUP "$IOTAD_PID"
	ok "wait_for '$M' '^RELOADING=1\|MONOTONIC_USEC=[0-9]+\|STATUS=reloading\$'" \
	    "SIGHUP: RELOADING=1"
	# After RELOADING=1, the next message is READY=1 again.
	ok "wait_lines '$M' 4 &&
	    sed -n 4p '$M' | grep -q '^READY=1|MAINPID='" \
	    "  then READY=1 again"
	iotad_stop
	ok "grep -q '^STOPPING=1' '$M'" "SIGTERM: STOPPING=1"
	is "$(sed -n '$p' "$M")" "STOPPING=1|STATUS=stopping" "  the last message"
	is "$(cut -d'|' -f1 "$M" | tr '\n' ' ')" \
	    "bound READY=1 RELOADING=1 READY=1 STOPPING=1 " "  and all, in order"
fi

# --- SIGUSR1: logrotate moved the files -----------------------------------------
iotad_start || bail_out "iotad did not start"
A=$D/audit.log
tenant_add before OP_BEFORE
ok "grep -q 'tenant' '$A'" "an audit line in audit.file before rotation"
mv "$IOTAD_LOG" "$IOTAD_LOG.1"
mv "$A" "$A.1"
kill -USR1 "$IOTAD_PID"
ok "wait_for '$IOTAD_LOG' 'SIGUSR1: reopened the log files'" \
    "SIGUSR1: a new log.file at the path, saying it reopened"
ok "_alive $IOTAD_PID" "SIGUSR1: iotad still runs"
old_log=$(stat -c %s "$IOTAD_LOG.1")
old_audit=$(stat -c %s "$A.1")
api GET /v1/health ""
is_status 200 "a request after SIGUSR1"
tenant_add after OP_AFTER
ok "wait_for '$IOTAD_LOG' 'GET /v1/health 200'" \
    "the request's line goes to the new log.file"
ok "wait_for '$A' 'after'" "the next audit line goes to the new audit.file"
is "$(stat -c %s "$IOTAD_LOG.1") $(stat -c %s "$A.1")" \
    "$old_log $old_audit" "the moved files stop growing"
fails "grep -q 'after' '$A.1'" "the moved audit.file has no line after SIGUSR1"

# A path that cannot be opened: the old file stays, one line says so.
mv "$IOTAD_LOG" "$IOTAD_LOG.2"
mkdir "$IOTAD_LOG"
kill -USR1 "$IOTAD_PID"
ok "wait_for '$IOTAD_LOG.2' 'SIGUSR1: cannot reopen .*iotad.log \\(kept the old one\\)'" \
    "SIGUSR1 with log.file unopenable: an error line, in the old file"
is "$(grep -c 'cannot reopen' "$IOTAD_LOG.2")" 1 "  one line"
api GET /v1/health ""
ok "wait_for '$IOTAD_LOG.2' 'GET /v1/health 200'" \
    "  and the log goes on in the old file"
rmdir "$IOTAD_LOG"
iotad_stop
is "$IOTAD_RC" 0 "iotad stops cleanly after the reopens"

# --- bash completion ----------------------------------------------------------------
COMP=$TOP_SRCDIR/completion/iotactl
ok "bash -n '$COMP'" "bash -n completion/iotactl"
# complete WORD...: COMPREPLY for the last word, in a fresh bash.
complete_words() {
	IOTACTL= bash -c '. "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
	    fn=$(complete -p "$1" | sed "s/.*-F \([^ ]*\) .*/\1/")
	    "$fn" "$1" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
	    printf "%s\n" "${COMPREPLY[@]}" | sort | tr "\n" " "' _ "$COMP" "$@"
}
like "$(complete_words iotactl '')" '(^| )provision ' "iotactl <TAB>: provision among the commands"
like "$(complete_words iotactl '')" '(^| )ca .*(^| )renew ' "  and ca, renew"
is "$(complete_words iotactl pro)" "provision " "iotactl pro<TAB>: provision"
is "$(complete_words iotactl ca r)" "revoke rotate " "iotactl ca r<TAB>: its verbs"
is "$(complete_words iotactl list '')" "--help certs devices groups " "iotactl list <TAB>"
like "$(complete_words iotactl provision --)" '(^| )--provision-secret-file ' \
    "iotactl provision --<TAB>: its options"
unlike "$(complete_words iotactl provision --)" '(^| )--token ' \
    "  and not another command's"
is "$(complete_words iotactl ca init --key-type '')" \
    "ec-p256 ec-p384 ed25519 rsa-3072 " "iotactl ca init --key-type <TAB>: the key types"
is "$(complete_words iotactl list groups -o '')" "json table " "-o <TAB>: table, json"
like "$(complete_words iotad -)" '(^| )--init .*(^| )-c ' "iotad -<TAB>: its options"
# Every command's options are those its --help names, no more, no fewer.
help_opts() {
	"$IOTACTL" "$@" --help 2>&1 | grep -oE -- '--[a-z][a-z0-9-]*' | sort -u |
	    tr '\n' ' '
}
for c in "ca init" "ca issue" "ca sign" "ca revoke" "ca crl" "ca show" \
    "ca rotate" "cert inspect" "audit verify" "tenant add" add "list groups" \
    "list devices" "list certs" show revoke enable "group rotate-secret" \
    "group set" "group delete" provision renew; do
	# shellcheck disable=SC2086
	is "$(complete_words iotactl $c --)" "$(help_opts $c)" \
	    "completion of iotactl $c: the options of its --help"
done
is "$("$IOTACTL" --help | sed -n 's/^  \([a-z][a-z-]*\) .*/\1/p' | sort -u |
    tr '\n' ' ')" "$(complete_words iotactl '' | sed 's/--help //; s/--version //')" \
    "completion of iotactl: the commands of its --help"

# --- the unit's capabilities ------------------------------------------------------
# Root with the unit's capabilities and nothing more starts, binds, starts
# its signer as another user and runs as process.user.
caps=$(sed -n 's/^CapabilityBoundingSet=//p' "$UNIT_IN" |
    tr 'A-Z' 'a-z' | sed 's/cap_/+/g; s/ /,/g')
if [ "$(id -u)" != 0 ] || ! command -v setpriv >/dev/null 2>&1 ||
    ! getent passwd nobody >/dev/null; then
	skip "not root, or no setpriv or user nobody" 2
else
	C=$T/caps
	mkdir -p "$C"
	chmod 711 "$T"
	iotad_setup "$C" "process:
  user: nobody"
	chown -R nobody: "$C"
	IOTAD_WRAP=(setpriv --bounding-set=-all,"$caps" "${IOTAD_WRAP[@]}")
	# Not inside ok: that runs in a subshell, and IOTAD_PID would be lost
	# (iotad left running after the test).
	iotad_start
	ok "[ -n '$IOTAD_PID' ]" "iotad as root within the unit's bounding set ($caps)"
	like "$(grep 'front end:' "$IOTAD_LOG")" 'runs as uid [0-9]+ \(nobody\)' \
	    "  the front end runs as process.user"
	iotad_stop
fi

done_testing
