# t/lib/ports.sh: free loopback ports for servers a test starts.
#
# Sourced (by rabbitmq.sh and nginx.sh) after tap.sh:
#     port_block N              prints a base port B such that B .. B+N-1
#                               are bound by no TCP socket now
#
# The block is drawn at random below the kernel's ephemeral range (where
# outgoing connections never take a port) and checked against every TCP
# socket in /proc/net/tcp and tcp6.  Another process can still take a port
# between the check and the bind: a server that fails to bind is restarted
# on a new block by its helper.

[ -n "${_PORTS_SH:-}" ] && return 0
_PORTS_SH=1

# _ports_in_use: every local TCP port of any socket, decimal, one a line.
_ports_in_use() {
	local f
	for f in /proc/net/tcp /proc/net/tcp6; do
		[ -r "$f" ] && awk 'NR > 1 { split($2, a, ":"); print a[2] }' "$f"
	done | sort -u | while read -r hex; do
		printf '%d\n' "0x$hex"
	done
}

port_block() {
	local n=$1 lo hi base try p used
	read -r lo hi </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null ||
	    lo=32768
	[ "$lo" -gt $((10000 + 2000 + n)) ] || lo=61000
	hi=$((lo - n))
	used=" $(_ports_in_use | tr '\n' ' ') "
	for ((try = 0; try < 50; try++)); do
		base=$((10000 + (RANDOM * 32768 + RANDOM) % (hi - 10000)))
		for ((p = base; p < base + n; p++)); do
			[[ $used == *" $p "* ]] && continue 2
		done
		echo "$base"
		return 0
	done
	diag "port_block: no $n free ports found"
	return 1
}
