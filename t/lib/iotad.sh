# t/lib/iotad.sh: a real iotad for a test, on a free loopback port with a
# private state directory, and the helpers to talk to it over HTTPS.
#
# Sourced after tap.sh:
#     . "${T_SRCDIR:-$(dirname "$0")}/lib/tap.sh"
#     . "$T_SRCDIR/lib/iotad.sh"
#     need_iotad
#
# The daemon:
#     iotad_setup DIR [YAML]    a CA (DIR/ca, passphrase DIR/pass 0600), a
#                               server certificate for 127.0.0.1, DIR/iotad.yaml
#                               (port 0, state DIR/state, log DIR/iotad.log
#                               at level $IOTAD_LOG_LEVEL or info, YAML
#                               appended: block style, whole sections),
#                               then `iotad --init`; sets ADMIN (the token)
#     iotad_start               starts it, waits (bounded) for its "listening
#                               on" line; sets IOTAD_PID, IOTAD_PORT, IOTAD_URL
#     iotad_stop                SIGTERM, waits (bounded); IOTAD_RC its status
#     iotad_kill9               SIGKILL, reaped
#     iotad_restart             stop then start (a new port)
# iotad is always killed when the test exits (tap.sh's EXIT trap), and with
# SIGKILL when the test's shell dies (setpriv --pdeathsig, where there is one).
#
# Talking to it (curl, --cacert DIR/ca/root.crt, 20 s at most):
#     api METHOD PATH TOKEN [BODY]
#                               TOKEN "" sends no Authorization header;
#                               sets STATUS (000: no answer), BODY, HEADERS;
#                               $API_SRC, when set, is the client's source
#                               address (127.0.0.x: one per rate-limit key);
#                               $API_TYPE the Content-Type (application/json);
#                               API_ARGS=(...) adds curl arguments
#     api_file METHOD PATH TOKEN FILE   the same, the body from FILE
#     jf FILTER                 jq -r FILTER on BODY
#     header NAME               a header of the last answer
#     is_error STATUS CODE DESC one TAP line: status and {"error":CODE,
#                               "message":TEXT}, nothing else in the object
#     is_status STATUS DESC     one TAP line
# Fixtures:
#     tenant_add NAME VAR               admin makes a tenant; VAR = its token
#     group_add TOKEN NAME VAR [JSON]   VAR = the provisioning secret; JSON
#                                       is merged into {"name": NAME}
#     devices_add TOKEN GROUP NAME...   one bulk registration
#     device_key PREFIX [SUBJ [REQ-ARGS...]]  PREFIX.key, PREFIX.csr (P-256)
#     provision SECRET GROUP DEVICE CSR-FILE  POST /v1/provision
#     save_provisioned PREFIX           PREFIX.crt, PREFIX.chain from BODY
#     snapshot TOKEN GROUP...           SNAP: the groups and all their
#                                       devices as the operator sees them
#     db_digest                         sha256 of registry.db and its WAL
#     registry_digest                   sha256 of every row but the audit
#                                       trail's (refusals are audited), when
#                                       HAVE_SQLCIPHER=1; else db_digest
#     db_query SQL                      through sqlcipher with the key, when
#                                       HAVE_SQLCIPHER=1 (iotad running)

: "${IOTAD:=$TOP_SRCDIR/iotad}"

# The documented code for a body over limits.max_body (docs/API.md).
E_TOO_LARGE=too_large

IOTAD_PID=
# iotad dies with the test, even one killed with SIGKILL (no trap runs then).
IOTAD_WRAP=()
setpriv --pdeathsig KILL true 2>/dev/null && IOTAD_WRAP=(setpriv --pdeathsig KILL --)
HAVE_SQLCIPHER=0
command -v sqlcipher >/dev/null 2>&1 && HAVE_SQLCIPHER=1

need_iotad() {
	need_iotactl
	[ -x "$IOTAD" ] || bail_out "iotad not built: $IOTAD"
	local t
	for t in curl jq "$OPENSSL"; do
		command -v "$t" >/dev/null 2>&1 ||
		    bail_out "$t is needed (scripts/install-deps --test)"
	done
}

# --- the daemon -----------------------------------------------------------------

iotad_setup() {
	IOTAD_DIR=$1
	mkdir -p "$IOTAD_DIR" || bail_out "mkdir $IOTAD_DIR"
	IOTAD_CONF=$IOTAD_DIR/iotad.yaml
	IOTAD_LOG=$IOTAD_DIR/iotad.log
	IOTAD_STATE=$IOTAD_DIR/state
	CACERT=$IOTAD_DIR/ca/root.crt
	(umask 077 && printf '%s\n' "$PASS_TEXT" >"$IOTAD_DIR/pass")
	run "$IOTACTL" ca init --dir "$IOTAD_DIR/ca" --key-type ec-p256 \
	    --passphrase-file "$IOTAD_DIR/pass" ||
	    bail_out "ca init failed ($RC): $ERR"
	run "$IOTACTL" ca issue --dir "$IOTAD_DIR/ca" \
	    --passphrase-file "$IOTAD_DIR/pass" --server-name localhost \
	    --ip 127.0.0.1 --out "$IOTAD_DIR/server" ||
	    bail_out "ca issue failed ($RC): $ERR"
	iotad_write_conf "${2:-}"
	run "$IOTAD" -c "$IOTAD_CONF" --init ||
	    bail_out "iotad --init failed ($RC): $ERR"
	ADMIN=$(cat "$IOTAD_STATE/admin.token") ||
	    bail_out "no $IOTAD_STATE/admin.token"
	at_exit iotad_cleanup
}

# iotad_write_conf [YAML]: (re)writes IOTAD_CONF; YAML adds whole sections.
iotad_write_conf() {
	local d=$IOTAD_DIR
	cat >"$IOTAD_CONF" <<-EOF
	listen:
	  address: 127.0.0.1
	  port: 0
	tls:
	  certificate: $d/server.crt
	  key: $d/server.key
	ca:
	  dir: $d/ca
	  passphrase_file: $d/pass
	state:
	  dir: $d/state
	  key_file: $d/state/db.key
	log:
	  level: ${IOTAD_LOG_LEVEL:-info}
	  file: $d/iotad.log
	EOF
	[ -n "$1" ] && printf '%s\n' "$1" >>"$IOTAD_CONF"
	return 0
}

# _alive PID: running, and not a zombie waiting to be reaped.
_alive() {
	local st
	[ -r "/proc/$1/stat" ] || return 1
	st=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1)
	[ -n "$st" ] && [ "$st" != Z ]
}

iotad_start() {
	local off i port
	[ -z "$IOTAD_PID" ] || { diag "iotad_start: already running"; return 1; }
	touch "$IOTAD_LOG"
	off=$(stat -c %s "$IOTAD_LOG")
	# Never the test's stdout: the TAP driver would wait for it.
	"${IOTAD_WRAP[@]}" "$IOTAD" -c "$IOTAD_CONF" </dev/null \
	    >>"$IOTAD_DIR/iotad.out" 2>&1 &
	IOTAD_PID=$!
	for ((i = 0; i < 500; i++)); do	# 10 s at most
		port=$(tail -c +"$((off + 1))" "$IOTAD_LOG" | sed -n \
		    's|.* listening on https://127\.0\.0\.1:\([0-9][0-9]*\)$|\1|p' |
		    head -1)
		if [ -n "$port" ]; then
			IOTAD_PORT=$port
			IOTAD_URL=https://127.0.0.1:$port
			return 0
		fi
		_alive "$IOTAD_PID" || break
		sleep 0.02
	done
	diag "iotad did not start:" "$(tail -n 5 "$IOTAD_DIR/iotad.out")" \
	    "$(tail -c +"$((off + 1))" "$IOTAD_LOG" | tail -n 5)"
	iotad_kill9
	return 1
}

# iotad_stop: SIGTERM and wait, 10 s at most (then SIGKILL, and fail).
iotad_stop() {
	local i
	IOTAD_RC=
	[ -n "$IOTAD_PID" ] || return 0
	kill -TERM "$IOTAD_PID" 2>/dev/null
	for ((i = 0; i < 500; i++)); do
		_alive "$IOTAD_PID" || break
		sleep 0.02
	done
	if _alive "$IOTAD_PID"; then
		diag "iotad did not stop within 10 s of SIGTERM"
		iotad_kill9
		IOTAD_RC=timeout
		return 1
	fi
	wait "$IOTAD_PID" 2>/dev/null
	IOTAD_RC=$?
	IOTAD_PID=
	return 0
}

iotad_kill9() {
	[ -n "$IOTAD_PID" ] || return 0
	kill -KILL "$IOTAD_PID" 2>/dev/null
	wait "$IOTAD_PID" 2>/dev/null
	IOTAD_PID=
}

iotad_restart() {
	iotad_stop && iotad_start
}

iotad_cleanup() {
	iotad_kill9
}

# --- HTTP -----------------------------------------------------------------------

API_ARGS=()
API_N=0		# requests so far

_api() {
	local method=$1 path=$2 token=$3 args
	shift 3
	args=(-sS --max-time 20 --cacert "$CACERT" -X "$method"
	    -o "$T_TMP/.api.body" -D "$T_TMP/.api.head" -w '%{http_code}'
	    -H "Content-Type: ${API_TYPE:-application/json}")
	[ -n "$token" ] && args+=(-H "Authorization: Bearer $token")
	[ -n "${API_SRC:-}" ] && args+=(--interface "$API_SRC")
	: >"$T_TMP/.api.body"
	: >"$T_TMP/.api.head"
	API_N=$((API_N + 1))
	STATUS=$(curl "${args[@]}" "$@" "${API_ARGS[@]}" "$IOTAD_URL$path" \
	    2>"$T_TMP/.api.err")
	[ -n "$STATUS" ] || STATUS=000
	BODY=$(tr -d '\000' <"$T_TMP/.api.body")	# NULs: a DER answer
	HEADERS=$(tr -d '\r' <"$T_TMP/.api.head")
	[ "$STATUS" != 000 ] || diag "curl $method $path: $(cat "$T_TMP/.api.err")"
}

api() {
	if [ $# -ge 4 ]; then
		printf '%s' "$4" >"$T_TMP/.api.req"
		_api "$1" "$2" "$3" --data-binary "@$T_TMP/.api.req"
	else
		_api "$1" "$2" "$3"
	fi
}

api_file() {
	_api "$1" "$2" "$3" --data-binary "@$4"
}

jf() { jq -r "$1" <<<"$BODY"; }

# header NAME: its value in the last answer (the last one if repeated).
header() {
	printf '%s\n' "$HEADERS" | awk -v n="$1" '
	    BEGIN { n = tolower(n) }
	    { i = index($0, ":") }
	    i > 0 && tolower(substr($0, 1, i - 1)) == n {
		v = substr($0, i + 1); sub(/^[ \t]+/, "", v); sub(/[ \t]+$/, "", v)
	    }
	    END { if (v != "") print v }'
}

# The error code of BODY, or a word saying why there is none.  iotad's own
# compact form is read here (jq takes 30 ms to start); anything else by jq.
_error_code() {
	if [[ $BODY =~ ^\{\"error\":\"([a-z_]+)\",\"message\":\"([^\"\\]|\\.)+\"\}$ ]]; then
		printf '%s\n' "${BASH_REMATCH[1]}"
		return 0
	fi
	jq -r 'if type == "object" and (keys == ["error", "message"]) and
	    (.error | type) == "string" and (.message | type) == "string" and
	    (.message | length) > 0 then .error
	    else "(not an error object)" end' <<<"$BODY" 2>/dev/null ||
	    echo "(not JSON)"
}

is_error() {
	is "$STATUS $(_error_code)" "$1 $2" "$3: $1 $2" && return 0
	diag "  body: ${BODY:0:400}"
	return 1
}

is_status() {
	is "$STATUS" "$1" "$2: $1" && return 0
	diag "  body: ${BODY:0:400}"
	return 1
}

# --- fixtures -------------------------------------------------------------------

tenant_add() {
	api POST /v1/tenants "$ADMIN" "$(jq -cn --arg n "$1" '{name: $n}')"
	[ "$STATUS" = 201 ] || { diag "tenant $1: $STATUS $BODY"; return 1; }
	printf -v "$2" '%s' "$(jf .token)"
}

group_add() {
	local body extra='{}'
	[ -n "${4:-}" ] && extra=$4
	body=$(jq -cn --arg n "$2" --argjson x "$extra" '{name: $n} + $x')
	api POST /v1/groups "$1" "$body"
	[ "$STATUS" = 201 ] || { diag "group $2: $STATUS $BODY"; return 1; }
	printf -v "$3" '%s' "$(jf .provisioning_secret)"
}

devices_add() {
	local token=$1 group=$2
	shift 2
	api POST "/v1/groups/$group/devices" "$token" \
	    "$(jq -cn '{names: $ARGS.positional}' --args "$@")"
	[ "$STATUS" = 201 ] || { diag "devices in $group: $STATUS $BODY"; return 1; }
}

device_key() {
	local prefix=$1 subj=${2:-/CN=ignored}
	shift 2 2>/dev/null || shift $#
	ossl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	    -keyout "$prefix.key" -subj "$subj" -out "$prefix.csr" "$@" \
	    2>/dev/null || bail_out "openssl req for $prefix failed"
}

# provision_body GROUP DEVICE CSR-FILE: the request's JSON.
provision_body() {
	jq -cn --arg g "$1" --arg d "$2" --rawfile c "$3" \
	    '{device: $d, group: $g, csr: $c}'
}

provision() {
	api POST /v1/provision "$1" "$(provision_body "$2" "$3" "$4")"
}

save_provisioned() {
	jf .certificate >"$1.crt"
	jf .ca_chain >"$1.chain"
}

snapshot() {
	local token=$1 g out=
	shift
	for g in "$@"; do
		api GET "/v1/groups/$g" "$token"
		out+="$STATUS $BODY"$'\n'
		api GET "/v1/groups/$g/devices?limit=1000" "$token"
		out+="$STATUS $BODY"$'\n'
	done
	SNAP=$out
}

# The database's content on disk.  Only a write changes these two (the
# -shm index changes when anyone reads).
db_digest() {
	cat "$IOTAD_STATE/registry.db" "$IOTAD_STATE/registry.db-wal" \
	    2>/dev/null | sha256sum | cut -d' ' -f1
}

# A refusal writes its audit record and nothing else: compare the rest.
registry_digest() {
	if [ "$HAVE_SQLCIPHER" != 1 ]; then
		db_digest
		return
	fi
	db_query '.dump' | grep -Ev '^INSERT INTO "?audit(_checkpoints)?"? ' |
	    sha256sum | cut -d' ' -f1
}

db_query() {
	local key
	key=$(head -c 64 "$IOTAD_STATE/db.key")
	printf 'PRAGMA key = "x'"'"'%s'"'"'";\n.bail on\n%s\n' "$key" "$1" |
	    sqlcipher "$IOTAD_STATE/registry.db"
}

# The certificate count, or "-" without sqlcipher.
cert_count() {
	if [ "$HAVE_SQLCIPHER" = 1 ]; then
		db_query 'SELECT count(*) FROM certificates;'
	else
		echo -
	fi
}
