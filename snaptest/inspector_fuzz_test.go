package snaptest

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/snapauth/snapauth/internal/bearer"
)

// FuzzInspector sends arbitrary requests (path, headers, body) through a
// server made WithInspector: the inspector's explanation never panics,
// never shows an Authorization token whole, and its feed is valid JSON.
func FuzzInspector(f *testing.F) {
	f.Add("/v1.0/transfer-va/inquiry?b=2&a=1", "Bearer abcdefghijklmnopqrstuvwxyz", "2026-01-02T03:04:05+07:00", "c2ln", `{"a":"<b>&"}`)
	f.Add("/v1.0/access-token/b2b", "", "2026-01-02T03:04:05.123Z", "", `{"grantType":"client_credentials"}`)
	f.Add("/v1.0/access-token/b2b2c", "Bearer \xff\xfe\xfd\xfc\xfb\xfa\xf9\xf8\xf7\xf6\xf5\xf4\xf3", "x", "!!", `{"refreshToken":"rt-secret-value-0123"}`)
	srv := NewUnstartedServer(WithInspector())
	f.Fuzz(func(t *testing.T, path, auth, ts, sig, body string) {
		if !strings.HasPrefix(path, "/") {
			path = "/" + path
		}
		if strings.HasPrefix(path, InspectorPath) || strings.HasPrefix(path, "/favicon.ico") {
			return // the inspector's own pages are not recorded
		}
		req, err := http.NewRequest(http.MethodPost, "http://127.0.0.1"+path, strings.NewReader(body))
		if err != nil {
			return
		}
		req.RequestURI = path
		req.Header.Set("Content-Type", "application/json")
		for k, v := range map[string]string{"Authorization": auth, "X-TIMESTAMP": ts, "X-SIGNATURE": sig,
			"X-CLIENT-KEY": srv.ClientKey, "X-PARTNER-ID": srv.PartnerID, "X-EXTERNAL-ID": "1", "CHANNEL-ID": srv.ChannelID} {
			req.Header.Set(k, v)
		}
		srv.serveHTTP(httptest.NewRecorder(), req)
		w := httptest.NewRecorder()
		srv.insp.mu.Lock()
		after := srv.insp.seq - 1 // the request just sent
		srv.insp.mu.Unlock()
		feed, _ := http.NewRequest(http.MethodGet, "http://127.0.0.1"+InspectorPath+"/requests.json?after="+strconv.Itoa(after), nil)
		srv.serveHTTP(w, feed)
		var got []Inspected
		if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil || len(got) != 1 {
			t.Fatalf("the feed is not the one request as JSON: %v %s", err, w.Body.Bytes())
		}
		if tok, ok := bearer.Token(auth); ok && len(tok) > 12 && bytes.Contains(w.Body.Bytes(), []byte(tok)) && json.Valid([]byte(`"`+tok+`"`)) {
			t.Fatalf("the feed shows the token %q", tok)
		}
	})
}
