package misp

import (
	"errors"
	"io"
	"strings"
	"testing"
)

type repeatReader struct {
	unit []byte
	off  int
}

func (r *repeatReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		c := copy(p[n:], r.unit[r.off:])
		n += c
		r.off = (r.off + c) % len(r.unit)
	}
	return n, nil
}

// Bytes alone do not bound memory: a document of minimal attributes is refused once its
// elements pass MaxElementBytes, naming where, long before its bytes would be.
func TestReadEventElementBudget(t *testing.T) {
	if testing.Short() {
		t.Skip("events at the element budget: the non-race pass of make test runs it")
	}
	head := `{"Event":{"uuid":"00000000-0000-4000-8000-00000000b0b0","info":"bomb","Attribute":[`
	doc := io.MultiReader(strings.NewReader(head), &repeatReader{unit: []byte(`{"type":"a","value":"b"},`)})
	counted := &countingReader{r: io.LimitReader(doc, MaxDocumentBytes)}
	_, err := ReadEvent(counted)
	if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "/Event/Attribute/") {
		t.Fatalf("err = %v, want ErrTooLarge naming the attribute", err)
	}
	if counted.n >= MaxDocumentBytes/2 {
		t.Errorf("read %d bytes before refusing", counted.n)
	}
	// A document within the budget decodes.
	ev, err := ReadEvent(strings.NewReader(head + `{"type":"a","value":"b","Tag":[{"name":"t"}]}]}}`))
	if err != nil || len(ev.Attribute) != 1 || len(ev.Attribute[0].Tag) != 1 {
		t.Fatalf("small event: %v", err)
	}
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}
