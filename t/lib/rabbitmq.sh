# t/lib/rabbitmq.sh: a private RabbitMQ node for a test (the recipe of
# docs STACK.md): everything in one directory, loopback listeners on free
# ports, its own Erlang cookie and epmd, MQTT only over mutual TLS.
#
# Sourced after tap.sh, before the test prints anything (a machine without
# RabbitMQ skips the whole test: "1..0 # SKIP rabbitmq-server not installed"):
#     . "${T_SRCDIR:-$(dirname "$0")}/lib/tap.sh"
#     . "$T_SRCDIR/lib/rabbitmq.sh"
#     rabbit_need mosquitto_pub ...     skip the whole test without these
#
# The node:
#     rabbit_setup DIR CA-BUNDLE CERT KEY
#                               DIR (created) holds cookie (0400), empty
#                               rabbitmq-env.conf, enabled_plugins
#                               (management, mqtt, auth_backend_http),
#                               advanced.config, mnesia/, log/; ports are
#                               chosen; the MQTT TLS listener presents
#                               CERT/KEY and wants a client certificate
#                               that CA-BUNDLE (root + intermediate)
#                               verifies; TLS 1.2 and 1.3 only
#     rabbit_conf_extra LINE... rabbitmq.conf lines added at the next start,
#                               for example the auth backend mode:
#                                 auth_backends.1 = internal
#                                 auth_backends.2 = http
#                                 auth_http.http_method = post
#                                 auth_http.user_path = http://127.0.0.1:P/auth/user
#                                 (and vhost_path, resource_path, topic_path)
#                               (keep `internal`: the management user lives
#                               there), or certificate login:
#                                 mqtt.ssl_cert_login = true
#                                 ssl_cert_login_from = common_name
#     rabbit_advanced_config TERMS
#                               DIR/advanced.config (Erlang terms, "[]." by
#                               default), for what rabbitmq.conf cannot
#                               say: the auth backend's TLS to iotad,
#                                 [{rabbitmq_auth_backend_http, [{ssl_options,
#                                   [{cacertfile, "ROOT"}, {verify, verify_peer}]}]}].
#                               (the URLs then name the host in iotad's
#                               certificate, https://localhost:P/...:
#                               Erlang checks an IP address in the URL
#                               against the DNS names, and fails)
#     rabbit_start              writes DIR/rabbitmq.conf, starts the node,
#                               waits for it (`rabbitmqctl wait`, 120 s at
#                               most); on the first start creates the
#                               management user (random password in
#                               DIR/mgmt.credentials, 0600, "user:password")
#                               and deletes guest.  A start that loses a
#                               port to another process is retried on new
#                               ports (twice at most): read the RABBIT_*
#                               ports after rabbit_start
#     rabbit_stop               `rabbitmqctl shutdown`, then `epmd -kill`;
#                               rabbit_start starts it again on the same
#                               ports, with its users and permissions
#     rabbit_ctl ARGS...        rabbitmqctl with the node's environment
#     rabbit_listening          the node's listening TCP sockets, one
#                               ADDRESS:PORT a line, sorted (from /proc: the
#                               management API reports its listener's
#                               address as "::" whatever it is bound to)
# Exported once started: RABBIT_AMQP_PORT RABBIT_MGMT_PORT RABBIT_MQTTS_PORT
# RABBIT_MGMT_URL (http://127.0.0.1:PORT) RABBIT_MGMT_CREDS (the file);
# also RABBIT_DIST_PORT (Erlang distribution), RABBIT_NODE, RABBIT_DIR.
# The node is always killed when the test exits (tap.sh's EXIT trap): its
# data is deleted with T_TMP, so no graceful shutdown is waited for there.
#
# Management API (curl as the management user, 20 s at most):
#     rabbit_api METHOD PATH [JSON]     sets MGMT_STATUS (000: no answer)
#                                       and MGMT_BODY
# iotad's side:
#     rabbit_iotad_yaml MODE CREDS KEYFILE [LINE...]
#                               iotad.yaml's broker section for this node's
#                               current ports: MODE (management or
#                               auth-backend), the management credentials
#                               file, iotad's broker key file, then LINEs
#                               ("login: certificate") indented into it
#     rabbit_password_hash PASSWORD     base64(salt4 || SHA-256(salt4 ||
#                                       PASSWORD)), salt4 4 random bytes:
#                                       rabbit_password_hashing_sha256

RABBIT_BIN=${RABBIT_BIN:-/usr/lib/rabbitmq/bin}
if [ ! -x "$RABBIT_BIN/rabbitmq-server" ]; then
	echo "1..0 # SKIP rabbitmq-server not installed"
	exit 0
fi
. "$T_SRCDIR/lib/ports.sh"

RABBIT_MGMT_USER=iotad-admin
RABBIT_DIR=
RABBIT_PID=		# the rabbitmq-server script, our child
RABBIT_STARTED=0	# the management user exists
RABBIT_WAITER=		# rabbitmqctl wait, while it runs
RABBIT_ENV=()
RABBIT_NODE=

rabbit_need() {
	local c
	for c in curl "$@"; do
		command -v "$c" >/dev/null 2>&1 && continue
		echo "1..0 # SKIP $c not installed"
		exit 0
	done
}

rabbit_ctl() {
	env "${RABBIT_ENV[@]}" timeout 150 "$RABBIT_BIN/rabbitmqctl" "$@"
}

# _rabbit_ports: a new block of ports and the environment that names
# them.  The node keeps the name it got from its first block (its data
# directory is named after it).
_rabbit_ports() {
	local d=$RABBIT_DIR b
	b=$(port_block 20) || return 1
	RABBIT_AMQP_PORT=$b
	RABBIT_MGMT_PORT=$((b + 3))
	RABBIT_MQTTS_PORT=$((b + 4))
	RABBIT_DIST_PORT=$((b + 1))
	: "${RABBIT_NODE:=t$b@localhost}"
	RABBIT_MGMT_URL=http://127.0.0.1:$RABBIT_MGMT_PORT
	RABBIT_ENV=(
	    HOME="$d"
	    RABBITMQ_CONF_ENV_FILE="$d/rabbitmq-env.conf"
	    RABBITMQ_NODENAME="$RABBIT_NODE"
	    RABBITMQ_CONFIG_FILE="$d/rabbitmq.conf"
	    RABBITMQ_ADVANCED_CONFIG_FILE="$d/advanced.config"
	    RABBITMQ_ENABLED_PLUGINS_FILE="$d/enabled_plugins"
	    RABBITMQ_MNESIA_BASE="$d/mnesia"
	    RABBITMQ_LOG_BASE="$d/log"
	    RABBITMQ_PID_FILE="$d/rabbit.pid"
	    RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
	    RABBITMQ_NODE_PORT="$b"
	    RABBITMQ_DIST_PORT="$RABBIT_DIST_PORT"
	    ERL_EPMD_PORT=$((b + 2))
	    ERL_EPMD_ADDRESS=127.0.0.1
	    RABBITMQ_CTL_DIST_PORT_MIN=$((b + 10))
	    RABBITMQ_CTL_DIST_PORT_MAX=$((b + 19))
	    RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
	)
	export RABBIT_AMQP_PORT RABBIT_MGMT_PORT RABBIT_MQTTS_PORT RABBIT_DIST_PORT \
	    RABBIT_MGMT_URL RABBIT_MGMT_CREDS RABBIT_NODE RABBIT_DIR
}

rabbit_setup() {
	local d=$1
	RABBIT_CACERT=$2 RABBIT_CERT=$3 RABBIT_KEY=$4
	[ -n "$RABBIT_KEY" ] || bail_out "usage: rabbit_setup DIR CA-BUNDLE CERT KEY"
	mkdir -p "$d/log" "$d/mnesia" || bail_out "mkdir $d"
	RABBIT_DIR=$(cd "$d" && pwd)
	RABBIT_MGMT_CREDS=$RABBIT_DIR/mgmt.credentials
	(umask 077 && head -c 48 /dev/urandom | base64 | tr -dc A-Za-z0-9 \
	    >"$d/.erlang.cookie") || bail_out "cookie"
	chmod 0400 "$d/.erlang.cookie"
	: >"$d/rabbitmq-env.conf"
	: >"$d/extra.conf"
	echo '[].' >"$d/advanced.config"
	echo '[rabbitmq_management,rabbitmq_mqtt,rabbitmq_auth_backend_http].' \
	    >"$d/enabled_plugins"
	_rabbit_ports || bail_out "no free ports for RabbitMQ"
	at_exit rabbit_cleanup
}

rabbit_conf_extra() {
	printf '%s\n' "$@" >>"$RABBIT_DIR/extra.conf"
}

rabbit_advanced_config() {
	printf '%s\n' "$1" >"$RABBIT_DIR/advanced.config"
}

_rabbit_write_conf() {
	cat >"$RABBIT_DIR/rabbitmq.conf" <<-EOF
	listeners.tcp.default = 127.0.0.1:$RABBIT_AMQP_PORT
	management.tcp.ip = 127.0.0.1
	management.tcp.port = $RABBIT_MGMT_PORT
	mqtt.listeners.tcp = none
	mqtt.listeners.ssl.default = 127.0.0.1:$RABBIT_MQTTS_PORT
	mqtt.allow_anonymous = false
	ssl_options.cacertfile = $RABBIT_CACERT
	ssl_options.certfile = $RABBIT_CERT
	ssl_options.keyfile = $RABBIT_KEY
	ssl_options.verify = verify_peer
	ssl_options.fail_if_no_peer_cert = true
	ssl_options.versions.1 = tlsv1.3
	ssl_options.versions.2 = tlsv1.2
	log.file.level = info
	EOF
	cat "$RABBIT_DIR/extra.conf" >>"$RABBIT_DIR/rabbitmq.conf"
}

# _rabbit_launch: one start; 0 when the node is up, 2 when a listener
# could not bind (try other ports), 1 otherwise.
_rabbit_launch() {
	local rc
	_rabbit_write_conf
	rm -f "$RABBIT_DIR/rabbit.pid"
	# Never the test's stdout: the TAP driver would wait for it.
	env "${RABBIT_ENV[@]}" "$RABBIT_BIN/rabbitmq-server" \
	    >>"$RABBIT_DIR/log/console.out" 2>&1 </dev/null &
	RABBIT_PID=$!
	# In the background, so that a signal to the test is handled now
	# (bash runs traps only between foreground commands); env execs
	# timeout, which passes a TERM on to rabbitmqctl.
	env "${RABBIT_ENV[@]}" timeout 150 "$RABBIT_BIN/rabbitmqctl" -q wait \
	    "$RABBIT_DIR/rabbit.pid" --timeout 120 \
	    >"$RABBIT_DIR/log/wait.out" 2>&1 </dev/null &
	RABBIT_WAITER=$!
	wait "$RABBIT_WAITER"
	rc=$?
	RABBIT_WAITER=
	[ "$rc" = 0 ] && return 0
	rabbit_cleanup
	grep -qs eaddrinuse "$RABBIT_DIR"/log/*.log "$RABBIT_DIR/log/console.out" &&
	    return 2
	return 1
}

rabbit_start() {
	local try rc
	[ -z "$RABBIT_PID" ] || { diag "rabbit_start: already running"; return 1; }
	for ((try = 0; try < 3; try++)); do
		_rabbit_launch
		rc=$?
		[ "$rc" = 2 ] || break
		diag "RabbitMQ lost a port to another process; new ports"
		mv "$RABBIT_DIR/log" "$RABBIT_DIR/log.$try"
		mkdir "$RABBIT_DIR/log"
		_rabbit_ports || return 1
	done
	if [ "$rc" != 0 ]; then
		diag "RabbitMQ did not start:" \
		    "$(tail -n 5 "$RABBIT_DIR/log/wait.out")" \
		    "$(grep -hsE 'error|crash|eaddr' "$RABBIT_DIR"/log/*.log |
			tail -n 10)" "$(tail -n 10 "$RABBIT_DIR/log/console.out")"
		return 1
	fi
	[ "$RABBIT_STARTED" = 1 ] && return 0
	_rabbit_mgmt_user || return 1
	RABBIT_STARTED=1
}

# _rabbit_mgmt_user: the administrator iotad uses, made through the API as
# guest (loopback only), then guest deleted through the API as the new
# user (which proves its password).
_rabbit_mgmt_user() {
	local pw i
	pw=$(head -c 24 /dev/urandom | base64 | tr -dc A-Za-z0-9)
	(umask 077 && printf '%s:%s\n' "$RABBIT_MGMT_USER" "$pw" \
	    >"$RABBIT_MGMT_CREDS") || return 1
	for ((i = 0; i < 100; i++)); do		# 10 s at most
		_rabbit_curl guest:guest GET /api/overview
		[ "$MGMT_STATUS" = 200 ] && break
		sleep 0.1
	done
	_rabbit_curl guest:guest PUT "/api/users/$RABBIT_MGMT_USER" \
	    "{\"password_hash\":\"$(rabbit_password_hash "$pw")\",\"hashing_algorithm\":\"rabbit_password_hashing_sha256\",\"tags\":\"administrator\"}"
	[ "$MGMT_STATUS" = 201 ] || { diag "admin user: $MGMT_STATUS $MGMT_BODY"; return 1; }
	_rabbit_curl guest:guest PUT "/api/permissions/%2F/$RABBIT_MGMT_USER" \
	    '{"configure":".*","write":".*","read":".*"}'
	[ "$MGMT_STATUS" = 201 ] || { diag "admin permissions: $MGMT_STATUS $MGMT_BODY"; return 1; }
	rabbit_api DELETE /api/users/guest
	[ "$MGMT_STATUS" = 204 ] || { diag "delete guest: $MGMT_STATUS $MGMT_BODY"; return 1; }
}

rabbit_stop() {
	[ -n "$RABBIT_PID" ] || return 0
	rabbit_ctl -q shutdown --timeout 60 >>"$RABBIT_DIR/log/ctl.out" 2>&1 ||
	    diag "rabbitmqctl shutdown failed: $(tail -n 3 "$RABBIT_DIR/log/ctl.out")"
	rabbit_cleanup
}

# rabbit_cleanup: kill what is left of the node (SIGKILL: its data goes),
# reap the script, stop its epmd.  epmd refuses `-kill` while a node is
# registered, and learns of the node's death a moment after the kill:
# hence the wait for the node to be gone and the retries (5 s at most).
rabbit_cleanup() {
	local pid i out
	[ -n "$RABBIT_WAITER" ] && kill "$RABBIT_WAITER" 2>/dev/null
	pid=$(cat "$RABBIT_DIR/rabbit.pid" 2>/dev/null)
	[ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
	if [ -n "$RABBIT_PID" ]; then
		kill -KILL "$RABBIT_PID" 2>/dev/null
		wait "$RABBIT_PID" 2>/dev/null
		RABBIT_PID=
	fi
	rm -f "$RABBIT_DIR/rabbit.pid"
	[ ${#RABBIT_ENV[@]} -gt 0 ] || return 0	# never the default epmd
	for ((i = 0; i < 100; i++)); do
		if [ -z "$pid" ] || ! _rabbit_alive "$pid"; then
			out=$(env "${RABBIT_ENV[@]}" epmd -kill 2>&1)
			[[ $out == *"not allowed"* ]] || return 0
		fi
		sleep 0.05
	done
	diag "rabbit_cleanup: epmd -kill: $out"
	return 0
}

# _rabbit_alive PID: running, and not a zombie waiting to be reaped.
_rabbit_alive() {
	local st
	st=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1)
	[ -n "$st" ] && [ "$st" != Z ]
}

rabbit_listening() {
	local pid inodes
	pid=$(cat "$RABBIT_DIR/rabbit.pid" 2>/dev/null) || return 1
	inodes=" $(ls -l "/proc/$pid/fd" 2>/dev/null |
	    sed -n 's/.*socket:\[\([0-9]*\)\]$/\1/p' | tr '\n' ' ') "
	awk -v inodes="$inodes" 'FNR > 1 && $4 == "0A" &&
	    index(inodes, " " $10 " ") { print $2 }' /proc/net/tcp /proc/net/tcp6 |
	while IFS=: read -r a p; do
		if [ ${#a} = 8 ]; then	# IPv4, little-endian
			printf '%d.%d.%d.%d:%d\n' "0x${a:6:2}" "0x${a:4:2}" \
			    "0x${a:2:2}" "0x${a:0:2}" "0x$p"
		else
			printf '[%s]:%d\n' "$a" "0x$p"
		fi
	done | sort
}

# --- management API ---------------------------------------------------------------

rabbit_iotad_yaml() {
	local mode=$1 creds=$2 key=$3 line
	shift 3
	printf 'broker:\n  mode: %s\n' "$mode"
	# The tests know RabbitMQ 3.10's client-id takeover (iotad(8)).
	[ "$mode" = management ] && printf '  client_id_takeover: accept\n'
	for line in "$@"; do printf '  %s\n' "$line"; done
	printf '  mqtt_url: mqtts://127.0.0.1:%s\n' "${RABBIT_MQTTS_PORT:-1}"
	printf '  management_url: %s\n' "${RABBIT_MGMT_URL:-http://127.0.0.1:1}"
	printf '  management_credentials_file: %s\n' "$creds"
	printf '  amqp_port: %s\n  key_file: %s\n' "${RABBIT_AMQP_PORT:-1}" "$key"
	printf '  timeout: 5s\n  retry_after: 7s\n'
}

rabbit_password_hash() {
	local salt=$T_TMP/.rabbit.salt.$BASHPID
	head -c 4 /dev/urandom >"$salt"
	{ cat "$salt"; { cat "$salt"; printf %s "$1"; } |
	    "$OPENSSL" dgst -sha256 -binary; } | base64 -w0
	rm -f "$salt"
}

# _rabbit_curl USER:PASSWORD METHOD PATH [JSON]: the credentials go to curl
# on its stdin, not on its command line.
_rabbit_curl() {
	local creds=$1 method=$2 path=$3 args
	args=(-sS --max-time 20 -K - -X "$method" -o "$T_TMP/.mgmt.body"
	    -w '%{http_code}' -H 'content-type: application/json')
	[ $# -ge 4 ] && args+=(--data-binary "$4")
	: >"$T_TMP/.mgmt.body"
	MGMT_STATUS=$(printf 'user = "%s"\n' "$creds" |
	    curl "${args[@]}" "$RABBIT_MGMT_URL$path" 2>/dev/null)
	[ -n "$MGMT_STATUS" ] || MGMT_STATUS=000
	MGMT_BODY=$(cat "$T_TMP/.mgmt.body")
}

rabbit_api() {
	_rabbit_curl "$(cat "$RABBIT_MGMT_CREDS")" "$@"
}
