package misp

import (
	"errors"
	"fmt"
	"unsafe"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// MaxDocumentBytes is the default bound on one MISP JSON document mispdesk reads from a
// peer — a pushed event, a pulled event or index — counted after decompression: 80 MiB.
// The 200,000-attribute event of the benchmarks is 66 MiB of MISP JSON.
const MaxDocumentBytes = 80 << 20

// MaxElementBytes bounds the Go values ReadEvent decodes a document's elements into
// (attributes, objects, references, tags, sightings, proposals, galaxies, clusters,
// reports), counted by their size in memory: 96 MiB. Bytes alone do not bound memory —
// 80 MiB of minimal attributes ({"type":"a","value":"b"}) decode into 3.3 million
// 320-byte values — so the elements are counted too. The 200,000-attribute event takes
// 61 MiB of them.
const MaxElementBytes = 96 << 20

// ErrTooLarge marks a document refused because it decodes into more than
// MaxElementBytes.
var ErrTooLarge = errors.New("too large")

// elementBudget counts the elements a document decodes into and refuses the one that
// passes MaxElementBytes.
type elementBudget struct{ left int64 }

func (b *elementBudget) unmarshalers() json.Options {
	return json.WithUnmarshalers(json.JoinUnmarshalers(
		countElement[Attribute](b), countElement[Object](b), countElement[ObjectReference](b),
		countElement[Tag](b), countElement[Sighting](b), countElement[ShadowAttribute](b),
		countElement[Galaxy](b), countElement[GalaxyCluster](b), countElement[EventReport](b),
	))
}

// countElement charges each decoded T to the budget, then lets the default decoding run.
func countElement[T any](b *elementBudget) *json.Unmarshalers {
	size := int64(unsafe.Sizeof(*new(T)))
	return json.UnmarshalFromFunc(func(*jsontext.Decoder, *T) error {
		if b.left -= size; b.left < 0 {
			return fmt.Errorf("%w: the document decodes into more than %d bytes of elements", ErrTooLarge, MaxElementBytes)
		}
		return errors.ErrUnsupported
	})
}
