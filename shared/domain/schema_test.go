package domain_test

// The published contracts (docs/schemas) held to the code: every example of a message schema
// decodes, every invalid message is refused by the schema and by Decode naming the same field,
// and every event the domain's tests commit validates against its event schema (storeFactories
// wrap their stores with schemaChecked), so the schemas and the code cannot drift apart.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"

	"github.com/azlocal/registrar/shared/domain"
)

const schemaDir = "../../docs/schemas"

// contracts are the compiled schemas: messages and events by type.
type contracts struct {
	messages, events map[string]*jsonschema.Schema
	raw              map[string]map[string]any // message schema documents, by type (examples, x-queue)
}

var loadContracts = sync.OnceValues(func() (*contracts, error) {
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	out := &contracts{messages: map[string]*jsonschema.Schema{}, events: map[string]*jsonschema.Schema{}, raw: map[string]map[string]any{}}
	files, err := filepath.Glob(filepath.Join(schemaDir, "*", "*.schema.json"))
	if err != nil || len(files) == 0 {
		return nil, fmt.Errorf("no schemas under %s: %v", schemaDir, err)
	}
	ids := map[string]string{}
	for _, f := range append(files, filepath.Join(schemaDir, "defs.schema.json")) {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		id, _ := doc.(map[string]any)["$id"].(string)
		if id == "" {
			return nil, fmt.Errorf("%s: no $id", f)
		}
		if err := c.AddResource(id, doc); err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		ids[f] = id
		if strings.Contains(f, string(filepath.Separator)+"messages"+string(filepath.Separator)) {
			out.raw[strings.TrimSuffix(filepath.Base(f), ".schema.json")] = doc.(map[string]any)
		}
	}
	for _, f := range files {
		s, err := c.Compile(ids[f])
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		typ := strings.TrimSuffix(filepath.Base(f), ".schema.json")
		if filepath.Base(filepath.Dir(f)) == "messages" {
			out.messages[typ] = s
		} else {
			out.events[typ] = s
		}
	}
	return out, nil
})

func mustContracts(t testing.TB) *contracts {
	t.Helper()
	c, err := loadContracts()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// schemaField names the field a validation error is about, in Decode's form ("nodes[0].name",
// "arcSpn.appId"); "" when the error has none.
func schemaField(err error) string {
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return ""
	}
	for len(ve.Causes) > 0 { // the first, deepest cause
		ve = ve.Causes[0]
	}
	path := slices.Clone(ve.InstanceLocation)
	if req, ok := ve.ErrorKind.(*kind.Required); ok && len(req.Missing) > 0 {
		path = append(path, req.Missing[0])
	}
	var b strings.Builder
	for _, p := range path {
		if _, err := strconv.Atoi(p); err == nil {
			b.WriteString("[" + p + "]")
			continue
		}
		if b.Len() > 0 {
			b.WriteString(".")
		}
		b.WriteString(p)
	}
	return b.String()
}

// TestMessageSchemaExamples: every example of every message schema is valid by its schema and
// decodes, on the schema's queue, to a message of that type; and every message type Decode
// accepts has a schema.
func TestMessageSchemaExamples(t *testing.T) {
	c := mustContracts(t)
	for _, typ := range []string{domain.MsgRegister, domain.MsgUnregister, domain.MsgRepairRegistration, domain.MsgStartMachineReset,
		domain.MsgMachineInstalled, domain.MsgClusterCreated, domain.MsgSync, domain.MsgResetProgress, domain.MsgResetCompleted} {
		doc, ok := c.raw[typ]
		if !ok {
			t.Errorf("message %s has no schema in docs/schemas/messages", typ)
			continue
		}
		examples, _ := doc["examples"].([]any)
		if len(examples) == 0 {
			t.Errorf("%s: the schema has no examples", typ)
		}
		for i, ex := range examples {
			if err := c.messages[typ].Validate(ex); err != nil {
				t.Errorf("%s example %d: invalid by its own schema: %v", typ, i, err)
			}
			body, _ := json.Marshal(ex)
			m, err := domain.Decode(domain.QueueKind(doc["x-queue"].(string)), body)
			if err != nil {
				t.Errorf("%s example %d: Decode refuses it: %v", typ, i, err)
			} else if m.MessageType() != typ {
				t.Errorf("%s example %d: decoded as %s", typ, i, m.MessageType())
			}
		}
	}
}

// invalidMessage is one case of testdata/invalid_messages.json.
type invalidMessage struct {
	Name  string          `json:"name"`
	Body  json.RawMessage `json:"body"`
	Field string          `json:"field"`
}

// TestInvalidMessagesRefusedByBoth: each invalid message is refused by its type's schema and by
// Decode (InvalidField), both naming the same field.
func TestInvalidMessagesRefusedByBoth(t *testing.T) {
	c := mustContracts(t)
	raw, err := os.ReadFile("testdata/invalid_messages.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []invalidMessage
	if err := json.Unmarshal(raw, &cases); err != nil {
		t.Fatal(err)
	}
	for _, tc := range cases {
		var head struct{ Type string }
		_ = json.Unmarshal(tc.Body, &head)
		s, ok := c.messages[head.Type]
		if !ok {
			t.Errorf("%s: no schema for type %q", tc.Name, head.Type)
			continue
		}
		doc, _ := jsonschema.UnmarshalJSON(bytes.NewReader(tc.Body))
		schemaErr := s.Validate(doc)
		_, decodeErr := domain.Decode(domain.QueueKind(c.raw[head.Type]["x-queue"].(string)), tc.Body)
		p, _ := domain.AsProblem(decodeErr)
		got := struct{ Schema, Decode string }{"accepted", "accepted"}
		if schemaErr != nil {
			got.Schema = schemaField(schemaErr)
		}
		if p != nil {
			got.Decode = p.Code + " " + p.Field
		}
		want := struct{ Schema, Decode string }{tc.Field, domain.CodeInvalidField + " " + tc.Field}
		if got != want {
			t.Errorf("%s: got %+v, want %+v (schema: %v)", tc.Name, got, want, schemaErr)
		}
	}
}

// seenEvents records the event types the tests committed, for TestMain's coverage check.
var seenEvents sync.Map

// schemaStore checks every event committed against its schema.
type schemaStore struct {
	domain.Store
	t testing.TB
	c *contracts
}

// schemaChecked wraps st so that every event the test commits is validated (docs/schemas/events).
func schemaChecked(t testing.TB, st domain.Store) domain.Store {
	return &schemaStore{Store: st, t: t, c: mustContracts(t)}
}

func (s *schemaStore) Commit(ctx context.Context, ch domain.Change) (string, error) {
	for _, e := range ch.Events {
		seenEvents.Store(e.Type, true)
		sch, ok := s.c.events[e.Type]
		if !ok {
			s.t.Errorf("event %s has no schema in docs/schemas/events", e.Type)
			continue
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(e.Body))
		if err == nil {
			err = sch.Validate(doc)
		}
		if err != nil {
			s.t.Errorf("event %s does not match docs/schemas/events/%s.schema.json: %v\nbody: %s", e.Type, e.Type, err, e.Body)
		}
	}
	return s.Store.Commit(ctx, ch)
}

// TestMain runs the tests and, when every test ran and passed, checks that they committed every
// event type that has a schema, so no event schema is left untested.
func TestMain(m *testing.M) {
	flag.Parse()
	code := m.Run()
	if code != 0 || flag.Lookup("test.run").Value.String() != "" || testing.Short() {
		os.Exit(code)
	}
	c, err := loadContracts()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	var missing []string
	for typ := range c.events {
		if _, ok := seenEvents.Load(typ); !ok {
			missing = append(missing, typ)
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		fmt.Fprintf(os.Stderr, "FAIL: no test committed these events, so their schemas are unchecked: %s\n", strings.Join(missing, ", "))
		os.Exit(1)
	}
	os.Exit(code)
}
