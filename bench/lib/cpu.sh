# Server CPU for the benchmarks, sourced by bench/*.sh.
#
# tree_ticks PID: utime + stime, in clock ticks, of PID and of every
# process below it.  iotad's signing happens in its signer, a grandchild
# (iotad, its supervisor, iota-signer): a figure of iotad's own process
# alone would leave the signatures out.
tree_ticks() {
	local todo=("$1") all=() p
	while [ ${#todo[@]} -gt 0 ]; do
		p=${todo[0]}
		todo=("${todo[@]:1}")
		all+=("$p")
		# shellcheck disable=SC2207
		todo+=($(cat "/proc/$p/task/"*/children 2>/dev/null))
	done
	for p in "${all[@]}"; do cat "/proc/$p/stat" 2>/dev/null; done |
	    awk '{ sub(/^.*\) /, ""); s += $12 + $13 } END { print s + 0 }'
}

# tree_pids PID: PID and its descendants, comma-separated (perf -p).
tree_pids() {
	local todo=("$1") all=() p
	while [ ${#todo[@]} -gt 0 ]; do
		p=${todo[0]}
		todo=("${todo[@]:1}")
		all+=("$p")
		# shellcheck disable=SC2207
		todo+=($(cat "/proc/$p/task/"*/children 2>/dev/null))
	done
	(IFS=,; printf '%s\n' "${all[*]}")
}
