package invoke

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/go-json-experiment/json/jsontext"
)

// writeReply answers an invocation 200 with the reply the host reads (docs/architecture.md):
// {"Outputs":{...},"Logs":[...],"ReturnValue":null}, with res as the res output of an HTTP
// function and logs the Logs lines, each ended by a newline. The reply is built in buf, which
// it returns for reuse.
func writeReply(w http.ResponseWriter, buf []byte, res *recorder, logs []byte) []byte {
	buf = append(buf[:0], `{"Outputs":{`...)
	if res != nil {
		buf = append(buf, `"`+BindingResult+`":`...)
		buf = res.appendJSON(buf)
	}
	buf = append(buf, `},"Logs":[`...)
	for i := 0; len(logs) > 0; i++ {
		if i > 0 {
			buf = append(buf, ',')
		}
		line, rest, _ := bytes.Cut(logs, []byte{'\n'})
		buf = appendString(buf, line)
		logs = rest
	}
	buf = append(buf, `],"ReturnValue":null}`...)
	writeBody(w, http.StatusOK, buf)
	return buf
}

// appendString appends s as a JSON string (invalid UTF-8 as U+FFFD, as encoding/json writes it).
func appendString[T ~string | ~[]byte](b []byte, s T) []byte {
	b, _ = jsontext.AppendQuote(b, s)
	return b
}

// writeJSON answers status with v as JSON (the failures, the readiness ping).
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":"unencodable reply","code":"Transient"}`)
	}
	writeBody(w, status, b)
}

func writeBody(w http.ResponseWriter, status int, b []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
