package feed

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"strings"

	"mispdesk/store"
	"mispdesk/store/misp"
)

// ParseHashes reads a feed's hashes.csv. MISP writes and reads "md5,event_uuid" per
// value; real feeds also swap the columns (crowdsec-threat-feed). A file whose lines are
// mostly not an md5 and an event UUID (e.g. chrome-mal-ids' "file,md5,sha1" of the event
// files) is not a value cache at all: ok is false, and the caller computes the hashes
// from the events instead.
func ParseHashes(raw []byte) (hashes []store.FeedHash, ok bool) {
	lines, good := 0, 0
	sc := bufio.NewScanner(bytes.NewReader(raw))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		lines++
		fields := strings.Split(line, ",")
		if len(fields) != 2 {
			continue
		}
		a, b := strings.TrimSpace(fields[0]), strings.TrimSpace(fields[1])
		switch {
		case isMD5(a) && misp.IsUUID(b):
			hashes = append(hashes, store.FeedHash{MD5: strings.ToLower(a), EventUUID: strings.ToLower(b)})
		case misp.IsUUID(a) && isMD5(b):
			hashes = append(hashes, store.FeedHash{MD5: strings.ToLower(b), EventUUID: strings.ToLower(a)})
		default:
			continue
		}
		good++
	}
	if sc.Err() != nil || lines == 0 || good*2 < lines {
		return nil, false
	}
	return hashes, true
}

func isMD5(s string) bool {
	if len(s) != 32 {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}

// EventHashes are the feed cache lines of an event: the md5 of each value of each
// attribute not deleted (each part of a composite value), as PyMISP's feed generator
// writes hashes.csv.
func EventHashes(e *misp.Event) []store.FeedHash {
	var out []store.FeedHash
	add := func(as []misp.Attribute) {
		for i := range as {
			if as[i].Deleted {
				continue
			}
			for _, h := range store.ValueMD5s(as[i].Type, as[i].Value) {
				out = append(out, store.FeedHash{MD5: h, EventUUID: strings.ToLower(e.UUID)})
			}
		}
	}
	add(e.Attribute)
	for i := range e.Object {
		if !e.Object[i].Deleted {
			add(e.Object[i].Attribute)
		}
	}
	return out
}
