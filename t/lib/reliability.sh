# t/lib/reliability.sh: what the reliability tests (t/reliability-*.sh)
# share: storms of concurrent provisioning, the promises checked after
# each fault, each a promise of issue 10.  Sourced after tap.sh and
# iotad.sh (and rabbitmq.sh for a broker mode); uses $T.
#
#     promise_is GOT WANT DESC PROMISE
#     promise_ok COND DESC PROMISE  like is / ok, and a failure names the
#                               promise of issue 10 it breaks
#                               (a known bug being fixed elsewhere); a pass
#                               is a plain "ok" (never an XPASS)
#     storm_prepare GROUP N     registers GROUP-00 .. in GROUP (operator
#                               $OP), a key and request JSON for each under
#                               $T/GROUP/req; DEVS=(names)
#     post GROUP DEVICE DIR [SECRET]
#                               one provisioning request: DIR/DEVICE.body,
#                               DIR/DEVICE.ms (its duration), then
#                               DIR/DEVICE.code (000: no whole answer)
#     storm_start GROUP DIR W   W clients provisioning DEVS in parallel
#                               (client w: devices w, w+W, ...); STORM=(pids)
#     storm_wait                waits for them
#     answered DIR              how many 200/201 answers are in DIR
#     record GROUP              RECORD: name state serial not_after
#                               provisioned_at, per device, sorted
#     broker_users PREFIX       the broker's user names starting PREFIX
#                               (management API), sorted, one a line
#     poll SECONDS CMD...       CMD succeeds within SECONDS (every 0.1 s)
#     events_queue              a durable queue rel-events bound to
#                               iota.events for device.provisioned
#     events_have GROUP DEV...  each (tenant acme) has had an event there

RELIABILITY_TIMEOUT=${RELIABILITY_TIMEOUT:-20}

# The promises issue 10 made: once TODOs, now kept, so a failure is one.
_promise_result() {
	_t_result "$1" "$2" && return 0
	diag "  broken promise: $3"
	return 1
}

promise_is() {
	[ "$1" = "$2" ]
	_promise_result $? "$3" "$4" && return 0
	diag "       got: '${1:0:600}'" "  expected: '${2:0:600}'"
	return 1
}

promise_ok() {
	local out rc
	out=$(eval "$1" 2>&1 </dev/null)
	rc=$?
	_promise_result "$rc" "$2" "$3" && return 0
	diag "  command: $1"
	[ -n "$out" ] && diag "${out:0:1000}"
	return 1
}

storm_prepare() {
	local g=$1 n=$2 i d
	DEVS=()
	for ((i = 0; i < n; i++)); do DEVS+=("$(printf '%s-%02d' "$g" "$i")"); done
	devices_add "$OP" "$g" "${DEVS[@]}" || bail_out "devices in $g"
	mkdir -p "$T/$g/req"
	for d in "${DEVS[@]}"; do
		device_key "$T/$g/req/$d" "/CN=$d"
		printf '{"device":"%s","group":"%s","csr":"%s"}' "$d" "$g" \
		    "$(awk '{ printf "%s\\n", $0 }' "$T/$g/req/$d.csr")" \
		    >"$T/$g/req/$d.json"
	done
}

post() {
	local g=$1 d=$2 dir=$3 secret=${4:-${SECRETS[$1]}} code rc t0 t1
	mkdir -p "$dir"
	t0=$(date +%s%N)
	code=$(curl -sS --max-time "$RELIABILITY_TIMEOUT" --cacert "$CACERT" \
	    -H "Authorization: Bearer $secret" -H 'Content-Type: application/json' \
	    --data-binary "@$T/$g/req/$d.json" -o "$dir/$d.body" -w '%{http_code}' \
	    "$IOTAD_URL/v1/provision" 2>"$dir/$d.err")
	rc=$?
	t1=$(date +%s%N)
	[ "$rc" -eq 0 ] && [ -n "$code" ] || code=000
	echo $(((t1 - t0) / 1000000)) >"$dir/$d.ms"
	printf '%s\n' "$code" >"$dir/$d.code.tmp"
	mv "$dir/$d.code.tmp" "$dir/$d.code"
}

declare -A SECRETS

_storm_worker() {
	local g=$1 dir=$2 w=$3 W=$4 i
	for ((i = w; i < ${#DEVS[@]}; i += W)); do
		post "$g" "${DEVS[i]}" "$dir"
	done
}

STORM=()
storm_start() {
	local w
	mkdir -p "$2"
	STORM=()
	for ((w = 0; w < $3; w++)); do
		_storm_worker "$1" "$2" "$w" "$3" </dev/null >/dev/null 2>&1 &
		STORM+=($!)
	done
}
at_exit 'for p in "${STORM[@]}"; do kill "$p"; done'

storm_wait() {
	local p
	for p in "${STORM[@]}"; do wait "$p"; done
	STORM=()
}

answered() { cat "$1/"*.code 2>/dev/null | grep -c '^20[01]$'; }

# codes DIR DEVICE...: "device code" per line.
codes() {
	local dir=$1 d
	shift
	for d in "$@"; do printf '%s %s\n' "$d" "$(cat "$dir/$d.code" 2>/dev/null)"; done
}

record() {
	api GET "/v1/groups/$1/devices?limit=1000" "$OP"
	RECORD=$(jf '.devices[] | [.name, .state, .serial, .not_after,
	    .provisioned_at] | map(tostring) | @tsv' | sort)
}

# half_provisioned: the RECORD lines that are neither cleanly registered
# nor cleanly provisioned (or revoked, with its serial).
half_provisioned() {
	awk -F'\t' '
	    $2 == "registered" && $3 == "null" && $4 == "null" && $5 == "null" { next }
	    ($2 == "provisioned" || $2 == "revoked") && $3 ~ /^[0-9A-F]+$/ &&
		$4 ~ /^[0-9]+$/ && $5 ~ /^[0-9]+$/ { next }
	    { print }' <<<"$RECORD"
}

# recorded: "device serial not_after" of the provisioned ones in RECORD.
recorded() {
	awk -F'\t' -v OFS='\t' '$2 == "provisioned" { print $1, $3, $4 }' <<<"$RECORD" | sort
}

# answers DIR DEVICE...: device serial not_after certificate password, per
# line, from the 200/201 answers among them.
answers() {
	local dir=$1 d files=()
	shift
	for d in "$@"; do
		[[ $(cat "$dir/$d.code" 2>/dev/null) == 20[01] ]] && files+=("$dir/$d.body")
	done
	[ ${#files[@]} -gt 0 ] || return 0
	jq -r '[(input_filename | sub(".*/"; "") | sub("\\.body$"; "")),
	    .serial, (.not_after | tostring), (.certificate | @json),
	    (.broker.password // "-")] | @tsv' "${files[@]}" | sort
}

broker_users() {
	rabbit_api GET '/api/users?columns=name'
	jq -r --arg p "$1" '.[].name | select(startswith($p))' <<<"$MGMT_BODY" | sort
}

# poll SECONDS CMD...: CMD succeeds within SECONDS (polled every 0.1 s).
poll() {
	local n=$(($1 * 10)) i
	shift
	for ((i = 0; i < n; i++)); do
		"$@" && return 0
		sleep 0.1
	done
	return 1
}

# The events queue: durable, bound to the events exchange for
# device.provisioned; read (and emptied) through the management API.
events_queue() {
	rabbit_api PUT /api/exchanges/%2F/iota.events \
	    '{"type":"topic","durable":true}'
	rabbit_api PUT /api/queues/%2F/rel-events '{"durable":true}'
	rabbit_api POST /api/bindings/%2F/e/iota.events/q/rel-events \
	    '{"routing_key":"device.provisioned"}'
	[[ $MGMT_STATUS == 20[0-9] ]]
}
EVENTS=$T_TMP/events.seen
: >"$EVENTS"
events_drain() {
	rabbit_api POST /api/queues/%2F/rel-events/get \
	    '{"count":10000,"ackmode":"ack_requeue_false","encoding":"auto"}'
	[ "$MGMT_STATUS" = 200 ] || return 1
	jq -r '.[].payload | fromjson | [.tenant, .group, .device] | join("/")' \
	    <<<"$MGMT_BODY" >>"$EVENTS" 2>/dev/null
}
# events_have GROUP DEVICE...: each has a device.provisioned event.
events_have() {
	local g=$1 d
	shift
	events_drain
	for d in "$@"; do grep -qxF "acme/$g/$d" "$EVENTS" || return 1; done
}

