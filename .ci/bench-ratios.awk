# bench-ratios.awk: the comparisons `make bench` prints after its figures, read from the
# benchmark lines (name, runs, then value-unit pairs). A figure missing from the output
# (a benchmark skipped, saying why, above) is reported as not measured.
/^Benchmark/ {
	name = $1
	sub(/-[0-9]+$/, "", name)
	for (i = 4; i <= NF; i++) {
		if ($i == "attrs/s") rate[name] = $(i - 1)
		if ($i == "grown-cost-x") grown = $(i - 1)
		if ($i == "grown-cpu-x") growncpu = $(i - 1)
		if ($i == "file-B/attr") fileb = $(i - 1)
		if ($i == "on/off") onoff[name] = $(i - 1)
		if ($i ~ /^(empty|grown)-(writeB|reads)\/attr$/) io[$i] = $(i - 1)
	}
}
function ratio(label, a, b) {
	if (rate[a] == "" || rate[b] == "") {
		printf "  %-34s not measured (see above)\n", label
		return
	}
	printf "  %-34s %5.2f  (%.0f vs %.0f attributes/s)\n", label, rate[a] / rate[b], rate[a], rate[b]
}
function cost(label, name) {
	if (onoff[name] == "") printf "  %-34s not measured (see above)\n", label
	else printf "  %-34s %5.2f  (time with correlation on / off)\n", label, onoff[name]
}
END {
	print "ratios:"
	ratio("import / raw insert", "BenchmarkImportFeed", "BenchmarkRawAttributeInsert")
	ratio("pull / import", "BenchmarkSync/pull", "BenchmarkSync/import")
	ratio("push / import", "BenchmarkSync/push", "BenchmarkSync/import")
	ratio("pull / raw insert", "BenchmarkSync/pull", "BenchmarkRawAttributeInsert")
	ratio("push / raw insert", "BenchmarkSync/push", "BenchmarkRawAttributeInsert")
	cost("correlation on / off, import", "BenchmarkCorrelationImport")
	cost("correlation on / off, pull", "BenchmarkSyncCorrelation")
	if (grown == "") printf "  %-34s not measured (see above)\n", "grown store / empty store cost"
	else printf "  %-34s %5.2f  (goal <= 1.3; %s bytes per attribute, goal < 250)\n", "grown store / empty store cost", grown, fileb
	if (growncpu != "") printf "  %-34s %5.2f  (CPU time: what a loaded machine distorts least)\n", "grown store / empty store CPU", growncpu
	if (io["empty-writeB/attr"] > 0) printf "  %-34s %5.1f  (%.0f vs %.0f bytes written per attribute: WAL and checkpoints)\n", "grown store / empty store writes", io["grown-writeB/attr"] / io["empty-writeB/attr"], io["grown-writeB/attr"], io["empty-writeB/attr"]
	if (io["empty-reads/attr"] > 0) printf "  %-34s %5.0f  (%.2f vs %.2f read calls per attribute: page-cache misses)\n", "grown store / empty store reads", io["grown-reads/attr"] / io["empty-reads/attr"], io["grown-reads/attr"], io["empty-reads/attr"]
}
