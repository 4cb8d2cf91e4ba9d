#!/bin/bash
# What the signer process costs (`make bench-signer`; never part of
# `make check`): iotad as it is, its key in a signer process of its own,
# against IOTAD_BASE, the same sources built to sign in process
# (bench/iotad-inprocess, -DIOTA_BENCH_INPROCESS_SIGNER), in interleaved
# rounds of the same run on the same CSRs: keep-alive with 8 and 32 connections and a fresh TLS
# connection per device, in groups of 1,000.  Prints provisions/s, p99
# and server CPU per provisioning (the whole process tree: iotad, its
# supervisor and signer), and the ratios.
#
# usage: signer-cost.sh [--profile]  (--profile: perf's report of where
# iotad's process tree spends its time under load, instead of the table)
# environment: IOTAD IOTAD_BASE IOTACTL LOAD T_SRCDIR; ROUNDS (default 5),
# N (provisionings a load, default 2000; a divisor of 10,000),
# SIGNER_CHANNELS (signer.channels, default 2)
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
set -u
. "$T_SRCDIR/lib/tap.sh"
. "$T_SRCDIR/lib/iotad.sh"
. "$(dirname "$0")/lib/cpu.sh"
need_iotad
[ -x "${IOTAD_BASE:-}" ] || bail_out "IOTAD_BASE: no baseline iotad"
[ -x "${LOAD:-}" ] || bail_out "LOAD: bench/provision-load not built"

ROUNDS=${ROUNDS:-5}
N=${N:-2000}	# provisionings per load
G=10000		# devices a group: G / N loads each
HZ=$(getconf CLK_TCK)
W=$T_TMP
say() { printf '%s\n' "$*" >&2; }
median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# start NAME BINARY: an iotad in W/NAME, a tenant, groups of G for
# every load of every round; its variables saved under NAME_.
declare -A V
start() {
	local name=$1 bin=$2 k count
	IOTAD=$bin IOTAD_PID= iotad_setup "$W/$name" \
	    "$(printf 'limits:\n  max_connections: 256\nsigner:\n  channels: %s\n' \
	    "${SIGNER_CHANNELS:-2}")"
	IOTAD=$bin iotad_start || bail_out "$name: iotad did not start"
	tenant_add bench OP || bail_out "$name: tenant"
	count=$((ROUNDS * 3 * N / G + 1))
	seq -f 'd%.0f' 0 $((G - 1)) | jq -R . | jq -sc '{names: .}' >"$W/names.json"
	for ((k = 0; k < count; k++)); do
		group_add "$OP" "g$k" S || bail_out "$name: group"
		V[$name.secret.$k]=$S
		api_file POST "/v1/groups/g$k/devices" "$OP" "$W/names.json"
		[ "$STATUS" = 201 ] || bail_out "$name: devices: $STATUS"
	done
	V[$name.pid]=$IOTAD_PID
	V[$name.port]=$IOTAD_PORT
	at_exit "kill $IOTAD_PID"
	IOTAD_PID=
}
start new "$IOTAD"
start base "$IOTAD_BASE"

# load NAME SLOT C MODE: N provisionings in the SLOT-th N of NAME's, one
# line into W/results.
load() {
	local name=$1 slot=$2 c=$3 mode=$4 g=$(($2 * N / G)) first pid t0 t1 out
	first=$((slot * N % G))
	"$LOAD" make "$N" "$first" "g$g" d "$W/b" "$W/b.cfssl" >/dev/null ||
	    bail_out "CSRs"
	sed "s|^|Bearer ${V[$name.secret.$g]}\t|" "$W/b" >"$W/b.auth"
	pid=${V[$name.pid]}
	t0=$(tree_ticks "$pid")
	out=$("$LOAD" run 127.0.0.1 "${V[$name.port]}" /v1/provision "$W/b.auth" \
	    "$c" "$mode") || say "$name: $out"
	t1=$(tree_ticks "$pid")
	awk -v n="$name-c$c-$mode" -v cpu=$((t1 - t0)) -v hz="$HZ" '{
		printf "%s rate %s p99 %s cpu_ms %.3f ok %s\n", n, $10, $14,
		    cpu * 1000 / hz / ($4 > 0 ? $4 : 1), $4 }' <<<"$out" >>"$W/results"
}

# --profile: where the signer process's time goes, instead of the table.
if [ "${1:-}" = --profile ]; then
	perf record -g -o "$W/perf.data" -p "$(tree_pids "${V[new.pid]}")" \
	    2>/dev/null &
	perf_pid=$!
	sleep 0.5
	for slot in 0 1 2 3; do load new "$slot" "${PROFILE_C:-32}" keepalive; done
	kill -INT "$perf_pid"
	wait "$perf_pid"
	perf report -i "$W/perf.data" --no-children --sort comm,dso --stdio \
	    -g none 2>/dev/null | grep -v '^#' | grep '%' | head -20
	perf report -i "$W/perf.data" --no-children --sort sym --stdio \
	    -g none 2>/dev/null | grep -v '^#' | grep '%' | head -40
	exit 0
fi

: >"$W/results"
slot=0
for ((r = 0; r < ROUNDS; r++)); do
	say "round $((r + 1)) of $ROUNDS"
	for m in "32 keepalive" "8 keepalive" "8 fresh"; do
		# Alternate who goes first: neither always meets a warmer cache.
		if [ $((r % 2)) = 0 ]; then order="new base"; else order="base new"; fi
		for who in $order; do
			# shellcheck disable=SC2086
			load "$who" "$slot" $m
		done
		slot=$((slot + 1))
	done
done

fig() { awk -v n="$1" -v f="$2" '$1 == n { for (i = 2; i < NF; i += 2)
    if ($i == f) print $(i + 1) }' "$W/results" | median; }
cp "$W/results" "${BENCH_RESULTS:-/dev/null}" 2>/dev/null
bad=$(awk '$NF + 0 < '"$N"' { print $1 " issued " $NF }' "$W/results")
[ -z "$bad" ] || say "loads that did not issue all $N: $bad"
printf '\nThe signer process against signing in process, medians of %d rounds of %d:\n\n' \
    "$ROUNDS" "$N"
printf '| load | signer process /s | in process /s | ratio | p99 ms (process / in) | CPU ms each (process / in) |\n'
printf '|---|---|---|---|---|---|\n'
for m in c32-keepalive c8-keepalive c8-fresh; do
	a=$(fig "new-$m" rate) b=$(fig "base-$m" rate)
	printf '| %s | %s | %s | %s | %s / %s | %s / %s |\n' "$m" "$a" "$b" \
	    "$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.3f", a / b }')" \
	    "$(fig "new-$m" p99)" "$(fig "base-$m" p99)" \
	    "$(fig "new-$m" cpu_ms)" "$(fig "base-$m" cpu_ms)"
done
