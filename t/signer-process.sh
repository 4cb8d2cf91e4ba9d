#!/bin/bash
# The intermediate key lives in the signer process alone.  Under load, the
# front end's memory never holds the private scalar and the signer's does;
# the processes carry the restrictions they log; a signer killed with
# SIGKILL in the middle of provisioning gives clean 503s at once, a new
# signer takes over, nothing unanswered is recorded and nothing answered
# is lost; a front end that dies takes supervisor and signer with it.
# Started as root with process.user, every part but the supervisor runs
# as that user.
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
. "${T_SRCDIR:-$(dirname "$0")}/lib/tap.sh"
. "$T_SRCDIR/lib/iotad.sh"
need_iotad
command -v python3 >/dev/null || bail_out "python3 is needed"

T=$T_TMP
N=30		# devices in the storm
W=6		# parallel clients
K=6		# answers before the kill

# signer_pid: the pid of the signer iotad said last that it is ready.
signer_pid() {
	sed -n 's/.* signer: pid \([0-9]*\) ready.*/\1/p' "$IOTAD_LOG" | tail -1
}
# children PID: its child processes.
children() { cat "/proc/$1/task/"*/children 2>/dev/null; }
status_field() { sed -n "s/^$2:[[:space:]]*//p" "/proc/$1/status"; }
# child_named PID COMM: the child of PID with that name.
child_named() {
	local c
	for c in $(children "$1"); do
		[ "$(cat "/proc/$c/comm" 2>/dev/null)" = "$2" ] && echo "$c" && return
	done
}

iotad_setup "$T/iotad"
iotad_start || bail_out "iotad did not start"
tenant_add acme OP || bail_out "tenant"
group_add "$OP" fleet SECRET || bail_out "group"

# --- the three processes -----------------------------------------------------
SUP=$(child_named "$IOTAD_PID" iotad-supervise)
SIG=$(signer_pid)
ok "[ -n '$SUP' ] && [ -n '$SIG' ]" "iotad has a supervisor ($SUP) and a signer ($SIG)"
is "$(child_named "$SUP" iota-signer)" "$SIG" "the signer is the supervisor's child"
is "$(tr '\0' ' ' <"/proc/$SIG/cmdline" | cut -d' ' -f1)" "$IOTA_SIGNER" \
    "the signer runs iota-signer (a program of its own, exec'd)"
is "$(status_field "$SIG" NoNewPrivs)" 1 "the signer: no-new-privileges"
is "$(status_field "$SIG" Seccomp)" 2 "the signer: under a seccomp filter"
is "$(status_field "$IOTAD_PID" NoNewPrivs)" 1 "the front end: no-new-privileges"
like "$(grep 'iota-signer info: pid' "$IOTAD_DIR/iotad.log")" \
    "pid $SIG holds 1 key; runs as uid [0-9]+ .*seccomp: [0-9]+ system calls" \
    "the signer says in the log what it did"
fds=$(ls "/proc/$SIG/fd" | sort -n | tr '\n' ' ')
is "$fds" "0 1 2 3 4 " "the signer holds its 2 sockets (signer.channels) and stdio, nothing else"

# --- the key's private scalar, in whose memory -------------------------------
ossl pkey -in "$IOTAD_DIR/ca/intermediate.key" -passin "file:$IOTAD_DIR/pass" \
    -noout -text 2>/dev/null | awk '/^priv:/ { on = 1; next } /^pub:/ { on = 0 }
    on { gsub(/[ :]/, ""); printf "%s", $0 }' >"$T/scalar.hex"
ok "[ \$(wc -c <'$T/scalar.hex') -ge 64 ]" "the test read the intermediate's private scalar"
# hits PID: how often the scalar (big-endian, or as BIGNUM words) is in
# the process's readable memory.
hits() {
	python3 - "$1" "$(cat "$T/scalar.hex")" <<-'EOF'
	import re, sys
	pid, hexs = sys.argv[1], sys.argv[2]
	k = bytes.fromhex(hexs[-64:])
	needles = [k, k[::-1]]
	n = 0
	with open("/proc/%s/maps" % pid) as maps, \
	    open("/proc/%s/mem" % pid, "rb", 0) as mem:
	    for line in maps:
	        m = re.match(r"([0-9a-f]+)-([0-9a-f]+) (r)", line)
	        if not m:
	            continue
	        lo, hi = int(m.group(1), 16), int(m.group(2), 16)
	        # Regions of gigabytes are a sanitizer's shadow, never a key's.
	        if hi - lo > 1 << 30:
	            continue
	        for at in range(lo, hi, 1 << 24):
	            try:
	                mem.seek(at)
	                data = mem.read(min(hi - at, (1 << 24) + 64))
	            except (OSError, ValueError, OverflowError):
	                break
	            n += sum(data.count(x) for x in needles)
	print(n)
	EOF
}
# post DEVICE DIR: DIR/DEVICE.body, .code (000: no whole answer), .ms
post() {
	local out
	out=$(curl -sS --max-time 8 --cacert "$CACERT" \
	    -H "Authorization: Bearer $SECRET" -H 'Content-Type: application/json' \
	    --data-binary "@$T/req/$1.json" -o "$2/$1.body" \
	    -w '%{http_code} %{time_total}' "$IOTAD_URL/v1/provision" 2>/dev/null) ||
	    out="000 0"
	printf '%s\n' "${out% *}" >"$2/$1.code.tmp"
	printf '%s\n' "${out#* }" >"$2/$1.secs"
	mv "$2/$1.code.tmp" "$2/$1.code"
}
DEVS=()
for ((i = 0; i < N; i++)); do DEVS+=("$(printf 'd-%02d' "$i")"); done
devices_add "$OP" fleet "${DEVS[@]}" m-1 m-2 m-3 m-4 || bail_out "devices"
mkdir "$T/req" "$T/resp" "$T/retry" "$T/mem"
for d in m-1 m-2 m-3 m-4 "${DEVS[@]}"; do
	device_key "$T/req/$d" "/CN=$d"
	provision_body fleet "$d" "$T/req/$d.csr" >"$T/req/$d.json"
done
LOAD=()
for d in m-1 m-2 m-3 m-4; do post "$d" "$T/mem" & LOAD+=($!); done
front=$(hits "$IOTAD_PID")
for p in "${LOAD[@]}"; do wait "$p"; done
is "$(cat "$T/mem/"*.code | sort -u | tr '\n' ' ')" "201 " \
    "the load under which the memory was read was provisioning"
is "$front" 0 "during provisioning: the scalar is nowhere in the front end's memory"
is "$(hits "$IOTAD_PID")" 0 "... nor after it"
is "$(hits "$SUP")" 0 "... nor in the supervisor's"
if [ "$(id -u)" = 0 ]; then
	ok "[ $(hits "$SIG") -ge 1 ]" "the signer's memory has it (the search finds what is there)"
else
	skip "reading the signer's memory takes root (it is not dumpable)"
fi

# --- SIGKILL the signer under load ------------------------------------------
worker() {
	local i
	for ((i = $1; i < N; i += W)); do post "${DEVS[i]}" "$T/resp"; done
}
answered() { cat "$T/resp/"*.code 2>/dev/null | grep -c '^201$'; }
WORKERS=()
at_exit 'for p in "${WORKERS[@]}"; do kill "$p" 2>/dev/null; done'
for ((w = 0; w < W; w++)); do
	worker "$w" </dev/null >/dev/null 2>&1 &
	WORKERS+=($!)
done
for ((i = 0; i < 1500; i++)); do
	[ "$(answered)" -ge "$K" ] && break
	sleep 0.02
done
kill -KILL "$SIG"
for p in "${WORKERS[@]}"; do wait "$p"; done
WORKERS=()

got=() refused=() odd=()
for d in "${DEVS[@]}"; do
	case $(cat "$T/resp/$d.code" 2>/dev/null) in
	201) got+=("$d") ;;
	503) refused+=("$d") ;;
	*) odd+=("$d:$(cat "$T/resp/$d.code" 2>/dev/null)") ;;
	esac
done
is "${odd[*]}" "" "every client got 201 or 503, never a hang, a 500 or a cut connection"
ok "[ ${#got[@]} -ge $K ]" "${#got[@]} provisioned before and after the kill"
slow=$(cat "$T/resp/"*.secs | awk '$1 > 5 { n++ } END { print n + 0 }')
is "$slow" 0 "no answer took 5 s (a 503 comes at once)"
for d in "${refused[@]}"; do
	jq -e '.error == "signer_unavailable"' "$T/resp/$d.body" >/dev/null ||
	    fail "$d: a 503 names the signer" "$(cat "$T/resp/$d.body")"
done
[ ${#refused[@]} -gt 0 ] && pass "the ${#refused[@]} 503s say signer_unavailable" ||
    diag "the new signer was quick: no request met the gap"
like "$(cat "$IOTAD_LOG")" "signer: pid $SIG was killed by signal 9" \
    "iotad logs the signer's death"
for ((i = 0; i < 250; i++)); do
	[ -n "$(signer_pid)" ] && [ "$(signer_pid)" != "$SIG" ] && break
	sleep 0.02
done
NEW=$(signer_pid)
ok "[ -n '$NEW' ] && [ '$NEW' != '$SIG' ] && [ -d /proc/$NEW ]" \
    "a new signer ($NEW) replaces the killed one ($SIG)"

api GET "/v1/groups/fleet/devices?limit=1000" "$OP"
state_of() { jq -r --arg d "$1" '.devices[] | select(.name == $d) |
    [.state, (.serial // "-")] | join(" ")' <<<"$BODY"; }
bad=()
for d in "${got[@]}"; do
	[ "$(state_of "$d")" = "provisioned $(jq -r .serial "$T/resp/$d.body")" ] ||
	    bad+=("$d")
done
is "${bad[*]}" "" "every certificate a client received is its device's record"
bad=()
for d in "${refused[@]}"; do
	[ "$(state_of "$d")" = "registered -" ] || bad+=("$d")
done
is "${bad[*]}" "" "no device that got a 503 is recorded as provisioned"
bad=()
for d in "${refused[@]}" "${got[@]}"; do
	post "$d" "$T/retry"
	case $(cat "$T/retry/$d.code") in
	200 | 201) ;;
	*) bad+=("$d:$(cat "$T/retry/$d.code")") ;;
	esac
done
is "${bad[*]}" "" "every retry succeeds, through the new signer"
same=()
for d in "${got[@]}"; do
	[ "$(jq -r .serial "$T/retry/$d.body")" = "$(jq -r .serial "$T/resp/$d.body")" ] ||
	    same+=("$d")
done
is "${same[*]}" "" "a retry of an answered device gets the very same certificate"

# --- the front end dies: the others go too -----------------------------------
SUP=$(child_named "$IOTAD_PID" iotad-supervise)
iotad_kill9
for ((i = 0; i < 250; i++)); do
	[ -d "/proc/$SUP" ] || [ -d "/proc/$NEW" ] || break
	sleep 0.02
done
ok "[ ! -d /proc/$SUP ] && [ ! -d /proc/$NEW ]" \
    "iotad killed with SIGKILL: its supervisor and signer exit too"

# --- started as root: the configured user ------------------------------------
if [ "$(id -u)" != 0 ]; then
	skip "process.user takes a start as root"
	done_testing
fi
U=nobody
UID_U=$(id -u "$U")
chmod 755 "$T"
chmod 755 "$IOTAD_DIR"
chown -R "$U" "$IOTAD_STATE" "$IOTAD_DIR/ca" "$IOTAD_DIR/server.key"
# The keys stay root's: the signer reads them before it drops root.
chown root "$IOTAD_DIR/ca/intermediate.key" "$IOTAD_DIR/ca/root.key"
iotad_write_conf "process:
  user: $U"
iotad_start || bail_out "iotad did not start as root with process.user"
SIG=$(signer_pid)
SUP=$(child_named "$IOTAD_PID" iotad-supervise)
is "$(status_field "$IOTAD_PID" Uid)" "$UID_U	$UID_U	$UID_U	$UID_U" \
    "the front end runs as $U (real, effective, saved, fs)"
is "$(status_field "$IOTAD_PID" Groups | tr -d " ")" "$(id -g "$U")" "... with its group alone"
is "$(status_field "$SIG" Uid)" "$UID_U	$UID_U	$UID_U	$UID_U" \
    "the signer runs as $U"
is "$(status_field "$SUP" Uid | cut -f1)" 0 "the supervisor keeps root (to start a signer that reads the key)"
like "$(cat "$IOTAD_LOG")" "front end: pid $IOTAD_PID runs as uid $UID_U \\($U\\)" \
    "the front end says in the log who it runs as"
device_key "$T/root-dev" "/CN=root-dev"
devices_add "$OP" fleet root-dev || bail_out "device"
provision "$SECRET" fleet root-dev "$T/root-dev.csr"
is_status 201 "a device provisions through the unprivileged front end and signer"
kill -KILL "$SIG"
for ((i = 0; i < 250; i++)); do
	[ "$(signer_pid)" != "$SIG" ] && break
	sleep 0.02
done
device_key "$T/root-dev2" "/CN=root-dev2"
devices_add "$OP" fleet root-dev2 || bail_out "device"
provision "$SECRET" fleet root-dev2 "$T/root-dev2.csr"
is_status 201 "a signer restarted after a kill reads the root-only key again"
is "$(status_field "$(signer_pid)" Uid | cut -f1)" "$UID_U" "... and runs as $U too"
iotad_stop
done_testing
