package cli

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// show prints the answer as it came with -o json (human not called), else hands human the
// decoded answer, its text made safe for a terminal; a malformed answer and human's own error
// are the command's.
func TestShowRawOrDecoded(t *testing.T) {
	type answer struct {
		Outcome string `json:"outcome"`
		N       int    `json:"n"`
	}
	type got struct {
		Out    string
		Called []answer
		Err    string
	}
	errHuman := errors.New("human failed")
	for _, tc := range []struct {
		name, output, body string
		humanErr           error
		want               got
	}{
		{"json prints it as it came", "json", `{"outcome":"updated","n":2,"extra":true}`, nil,
			got{Out: `{"outcome":"updated","n":2,"extra":true}` + "\n"}},
		{"json does not read it", "json", `not json`, nil, got{Out: "not json\n"}},
		{"table decodes it", "table", `{"outcome":"up\u001bdated","n":2}`, nil,
			got{Called: []answer{{Outcome: `up\x1bdated`, N: 2}}}},
		{"table: a malformed answer", "table", `{"n":"two"}`, nil, got{Err: "BadAnswer"}},
		{"table: human's error", "table", `{"n":1}`, errHuman, got{Called: []answer{{N: 1}}, Err: errHuman.Error()}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			s := &session{App: &App{Stdout: &out}, output: tc.output}
			var g got
			err := show(s, []byte(tc.body), func(a answer) error {
				g.Called = append(g.Called, a)
				return tc.humanErr
			})
			g.Out = out.String()
			if err != nil {
				g.Err = err.Error()
				if strings.HasPrefix(g.Err, "BadAnswer") {
					g.Err = "BadAnswer"
				}
			}
			if diff := cmp.Diff(tc.want, g); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
