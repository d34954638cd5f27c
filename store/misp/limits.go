package misp

// MaxDocumentBytes is the default bound on one MISP JSON document mispdesk reads from a
// peer — a pushed event, a pulled event or index — counted after decompression: 80 MiB.
// The 200,000-attribute event of the benchmarks is 66 MiB of MISP JSON, and decoding a
// document takes about twice its size in memory, so the largest accepted stays within the
// 256 MB a mispdesk process is sized for.
const MaxDocumentBytes = 80 << 20
