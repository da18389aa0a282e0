# Sum a function_graph trace (funcgraph-tail on) per phase and function.
# Phases start at "pinio-profile phase=NAME ops=N" markers; each function's
# inclusive durations are summed and divided by the phase's operations.

function flush(   f) {
	if (phase == "" || ops == 0)
		return
	printf "  %s (%d operations)\n", phase, ops
	for (i = 1; i <= nfuncs; i++) {
		f = order[i]
		printf "    %-28s %8.2f us/op  (%d calls)\n", f, sum[f] / ops, calls[f]
	}
	delete sum
	delete calls
	delete order
	nfuncs = 0
}

/pinio-profile phase=/ {
	flush()
	match($0, /phase=[^ ]+/)
	phase = substr($0, RSTART + 6, RLENGTH - 6)
	match($0, /ops=[0-9]+/)
	ops = substr($0, RSTART + 4, RLENGTH - 4) + 0
	next
}

/ us +\|/ {
	match($0, /[0-9.]+ us/)
	us = substr($0, RSTART, RLENGTH - 3) + 0
	line = $0
	if (line ~ /\/\* .* \*\//) {		# "} /* func [mod] */"
		sub(/.*\/\* /, "", line)
		sub(/ \*\/.*/, "", line)
	} else if (line ~ /\(\);/) {		# "func [mod]();"
		sub(/.*\| +/, "", line)
		sub(/\(\);.*/, "", line)
	} else {
		next
	}
	sub(/ \[.*\]/, "", line)
	if (!(line in sum))
		order[++nfuncs] = line
	sum[line] += us
	calls[line]++
}

END { flush() }
