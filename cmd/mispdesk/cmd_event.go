package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/mattn/go-runewidth"

	"mispdesk/store"
	"mispdesk/store/misp"
)

const (
	eventSynopsis     = "event list|show|publish|unpublish ..."
	eventListSynopsis = "event list [--json] [--text T] [--org O] [--tag T] [--distribution N] [--published|--unpublished]" +
		" [--from DATE] [--until DATE] [--limit N] [--sort timestamp|date|info|org] [--asc]"
	eventShowSynopsis = "event show EVENT [--json]"
)

// eventCommands are event's sub-commands.
var eventCommands = []*command{
	{"list", eventListSynopsis, "list events, newest first, filtered; a table fitting 80 columns, or JSON", runEventList},
	{"show", eventShowSynopsis, "show one event (by id or UUID): a readable summary, or MISP JSON with --json", runEventShow},
	{"publish", eventPublishSynopsis, "publish an event and push it to every push server (now, unless mispdesk serve does it)", runEventPublish},
	{"unpublish", eventUnpublishSynopsis, "unpublish an event; pushes still queued for it are dropped", runEventUnpublish},
}

func runEvent(ctx context.Context, env *Env, args []string) error {
	return group("event", eventSynopsis, eventCommands)(ctx, env, args)
}

// tableWidth is the width event list keeps to: a plain 80-column terminal,
// less one so that a full line never wraps.
const tableWidth = 79

// checkDate checks a YYYY-MM-DD flag value.
func checkDate(flag, v string) error {
	if v == "" {
		return nil
	}
	if _, err := time.Parse(time.DateOnly, v); err != nil {
		return usagef("--%s %q is not a date (want YYYY-MM-DD)", flag, v)
	}
	return nil
}

func runEventList(ctx context.Context, env *Env, args []string) (err error) {
	fs := env.Flags("event list", eventListSynopsis)
	jsonOut := fs.Bool("json", false, "print a JSON array of events")
	text := fs.String("text", "", "only events whose info contains `TEXT` (case-insensitive)")
	org := fs.String("org", "", "only events created by `ORG` (name, UUID or id)")
	tag := fs.String("tag", "", "only events with the tag `NAME`, e.g. tlp:amber")
	dist := fs.String("distribution", "", "only events of distribution `N`: 0 org, 1 community, 2 connected, 3 all, 4 sharing group")
	published := fs.Bool("published", false, "only published events")
	unpublished := fs.Bool("unpublished", false, "only unpublished events")
	from := fs.String("from", "", "only events dated `DATE` (YYYY-MM-DD) or later")
	until := fs.String("until", "", "only events dated `DATE` (YYYY-MM-DD) or earlier")
	limit := fs.Int("limit", 0, "at most `N` events (0: all)")
	sort := fs.String("sort", "timestamp", "sort by `KEY`: timestamp (last change), date, info or org")
	asc := fs.Bool("asc", false, "sort ascending (default: descending, newest first)")
	if err := fs.ParseNoArgs(args); err != nil {
		return err
	}
	f := store.EventFilter{Text: *text, Org: strings.TrimSpace(*org), Tag: strings.TrimSpace(*tag),
		DateFrom: *from, DateUntil: *until, Sort: *sort, Ascending: *asc, Limit: *limit}
	switch *sort {
	case "timestamp", "date", "info", "org":
	default:
		return usagef("--sort %q: want timestamp, date, info or org", *sort)
	}
	if *published && *unpublished {
		return usagef("--published and --unpublished exclude each other")
	} else if *published || *unpublished {
		f.Published = published
	}
	if *dist != "" {
		n, err := strconv.Atoi(*dist)
		if err != nil || n < int(misp.OrgOnly) || n > int(misp.SharingGroupDist) {
			return usagef("--distribution %q: want 0 (organisation only), 1 (community), 2 (connected communities), 3 (all communities) or 4 (sharing group)", *dist)
		}
		d := misp.Distribution(n)
		f.Distribution = &d
	}
	if *limit < 0 {
		return usagef("--limit %d: want 0 (all) or more", *limit)
	}
	if err := checkDate("from", *from); err != nil {
		return err
	}
	if err := checkDate("until", *until); err != nil {
		return err
	}
	s, _, err := openInitialised(ctx, env)
	if err != nil {
		return err
	}
	defer closeStore(s, &err)
	events, err := s.ListEvents(ctx, f)
	if errors.Is(err, store.ErrNotFound) {
		return inputf("--org %q: no such organisation (see mispdesk org list)", f.Org)
	}
	if err != nil {
		return err
	}
	if *jsonOut {
		if events == nil {
			events = []store.EventSummary{}
		}
		return printJSON(env, events)
	}
	return eventTable(env.Stdout, events)
}

// eventTable prints events as a table that fits tableWidth columns: the info
// takes what the other columns leave, and is cut with "…".
func eventTable(w io.Writer, events []store.EventSummary) error {
	const orgMax = 16
	idW, orgW, attrW := len("ID"), len("ORG"), len("ATTRS")
	for _, e := range events {
		idW = max(idW, len(strconv.FormatInt(int64(e.ID), 10)))
		orgW = min(max(orgW, runewidth.StringWidth(safe(e.Orgc.Name))), orgMax)
		attrW = max(attrW, len(strconv.FormatInt(e.AttributeCount, 10)))
	}
	// ID DATE ORG DIST PUB ATTRS INFO, two spaces between.
	infoW := max(tableWidth-(idW+2+10+2+orgW+2+4+2+3+2+attrW+2), 10)
	row := func(id, date, org, dist, pub, attrs, info string) string {
		line := pad(id, idW, true) + "  " + pad(date, 10, false) + "  " + pad(org, orgW, false) + "  " +
			pad(dist, 4, false) + "  " + pad(pub, 3, false) + "  " + pad(attrs, attrW, true) + "  " + fit(info, infoW)
		return strings.TrimRight(line, " ")
	}
	var b strings.Builder
	b.WriteString(row("ID", "DATE", "ORG", "DIST", "PUB", "ATTRS", "INFO") + "\n")
	for _, e := range events {
		pub := "no"
		if e.Published {
			pub = "yes"
		}
		b.WriteString(row(strconv.FormatInt(int64(e.ID), 10), fit(safe(e.Date), 10), safe(e.Orgc.Name), e.Distribution.Abbrev(), pub,
			strconv.FormatInt(e.AttributeCount, 10), safe(e.Info)) + "\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// fit cuts s to at most width display columns, ending in "…" when cut.
func fit(s string, width int) string {
	if runewidth.StringWidth(s) <= width {
		return s
	}
	return runewidth.Truncate(s, width, "…")
}

// pad fits s to exactly width display columns, right-aligned when right.
func pad(s string, width int, right bool) string {
	s = fit(s, width)
	gap := strings.Repeat(" ", max(width-runewidth.StringWidth(s), 0))
	if right {
		return gap + s
	}
	return s + gap
}

func runEventShow(ctx context.Context, env *Env, args []string) (err error) {
	fs := env.Flags("event show", eventShowSynopsis)
	jsonOut := fs.Bool("json", false, "print the event as MISP JSON: {\"Event\":{…}}")
	ref, err := fs.ParseRef(args, eventRecord)
	if err != nil {
		return err
	}
	s, _, err := openInitialised(ctx, env)
	if err != nil {
		return err
	}
	defer closeStore(s, &err)
	id, err := s.ResolveEvent(ctx, ref)
	if err != nil {
		return eventRecord.refErr(ref, err)
	}
	e, err := s.Event(ctx, id)
	if err != nil {
		return eventRecord.refErr(ref, err)
	}
	if *jsonOut {
		raw, err := misp.MarshalEvent(e)
		if err != nil {
			return fmt.Errorf("event %s: %w", e.UUID, err)
		}
		return writeJSON(env, raw)
	}
	var b strings.Builder
	writeEvent(&b, e)
	_, err = io.WriteString(env.Stdout, b.String())
	return err
}

// writeEvent writes a readable summary of e. Everything that comes from the
// event passes through safe: no control character reaches the terminal.
func writeEvent(b *strings.Builder, e *misp.Event) {
	field := func(name, value string) { fmt.Fprintf(b, "%-14s%s\n", name+":", value) }
	fmt.Fprintf(b, "Event %d  %s\n", e.ID, safe(e.UUID))
	field("Info", safe(e.Info))
	org := "?"
	if e.Orgc != nil {
		org = safe(e.Orgc.Name)
	}
	if e.Org != nil && (e.Orgc == nil || e.Org.UUID != e.Orgc.UUID) {
		org += " (owner here: " + safe(e.Org.Name) + ")"
	}
	field("Creator org", org)
	field("Date", safe(e.Date))
	dist := e.Distribution.String()
	if e.Distribution == misp.SharingGroupDist && e.SharingGroup != nil {
		dist += ": " + safe(e.SharingGroup.Name)
	}
	field("Distribution", dist)
	pub := "no"
	if e.Published {
		pub = "yes"
		if e.PublishTimestamp > 0 {
			pub += ", " + time.Unix(int64(e.PublishTimestamp), 0).UTC().Format("2006-01-02 15:04 UTC")
		}
	}
	field("Published", pub)
	field("Threat level", misp.ThreatLevelName(int64(e.ThreatLevelID)))
	field("Analysis", e.Analysis.Name())
	field("Last change", time.Unix(int64(e.Timestamp), 0).UTC().Format("2006-01-02 15:04 UTC"))
	field("Tags", tagList(e.Tag))
	inObjects := 0
	for _, o := range e.Object {
		inObjects += len(o.Attribute)
	}
	counts := fmt.Sprintf("%d attributes, %d objects (%d attributes in them)", len(e.Attribute), len(e.Object), inObjects)
	if len(e.EventReport) > 0 {
		counts += fmt.Sprintf(", %d reports", len(e.EventReport))
	}
	if n := len(e.ShadowAttribute); n > 0 {
		counts += fmt.Sprintf(", %d proposals", n)
	}
	field("Contents", counts)
	if len(e.Galaxy) > 0 {
		var cs []string
		for _, g := range e.Galaxy {
			for _, c := range g.GalaxyCluster {
				cs = append(cs, safe(g.Name)+": "+safe(c.Value))
			}
		}
		field("Galaxies", strings.Join(cs, ", "))
	}
	if len(e.Attribute) > 0 {
		b.WriteString("\nAttributes\n")
		for i := range e.Attribute {
			writeAttribute(b, "  ", &e.Attribute[i])
		}
	}
	for _, o := range e.Object {
		fmt.Fprintf(b, "\nObject %s", safe(o.Name))
		if o.MetaCategory != "" {
			fmt.Fprintf(b, " (%s)", safe(o.MetaCategory))
		}
		if o.Comment != "" {
			fmt.Fprintf(b, "  %s", safe(o.Comment))
		}
		b.WriteString("\n")
		for i := range o.Attribute {
			a := &o.Attribute[i]
			prefix := "  "
			if a.ObjectRelation != "" {
				prefix += safe(string(a.ObjectRelation)) + ": "
			}
			writeAttribute(b, prefix, a)
		}
	}
}

// writeAttribute writes one attribute line: type, value, [to_ids], its tags.
func writeAttribute(b *strings.Builder, prefix string, a *misp.Attribute) {
	b.WriteString(prefix + safe(a.Type) + "  " + safe(a.Value))
	if a.ToIDs {
		b.WriteString("  [to_ids]")
	}
	if a.Deleted {
		b.WriteString("  [deleted]")
	}
	if len(a.Tag) > 0 {
		b.WriteString("  {" + tagList(a.Tag) + "}")
	}
	b.WriteString("\n")
}

func tagList(tags []misp.Tag) string {
	if len(tags) == 0 {
		return "-"
	}
	names := make([]string, len(tags))
	for i, t := range tags {
		names[i] = safe(t.Name)
		if t.Local {
			names[i] += " (local)"
		}
	}
	return strings.Join(names, ", ")
}
