package snapauth

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestStartBindingAnswers(t *testing.T) {
	answer := ""
	status := http.StatusOK
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		fmt.Fprint(w, answer)
	}))
	defer srv.Close()
	tr := newTestTransport(newCountingSource("tok"))
	client := &http.Client{Transport: tr}
	ctx := context.Background()

	answer = `{"responseCode":"2000700","responseMessage":"Successful","redirectUrl":"https://wv.example/bind?t=1","linkageToken":"LT-secret","referenceNo":"R1","params":{"a":1}}`
	b, err := StartBinding(ctx, client, srv.URL+"/v1.0/registration-account-binding", BindingRequest{RedirectURL: "https://m.example/back?state=s"})
	require.NoError(t, err)
	assert.Equal(t, "https://wv.example/bind?t=1", b.RedirectURL)
	assert.Equal(t, "2000700", b.ResponseCode)
	assert.Equal(t, "LT-secret", b.LinkageToken)
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		assert.NotContains(t, fmt.Sprintf(verb, b), "LT-secret", verb)
		assert.NotContains(t, fmt.Sprintf(verb, *b), "LT-secret", verb)
	}

	for _, bad := range []string{`{"responseCode":"2000700"}`, `{"redirectUrl":"javascript:alert(1)"}`, `{"redirectUrl":"/relative"}`, `[]`, `not json`} {
		answer = bad
		_, err := StartBinding(ctx, client, srv.URL+"/b", BindingRequest{})
		require.Error(t, err, bad)
		assert.True(t, strings.HasPrefix(err.Error(), "snapauth: "))
		assert.NotContains(t, err.Error(), "javascript")
	}
	status, answer = http.StatusUnauthorized, `{"responseCode":"4010700","responseMessage":"Unauthorized. [Signature]"}`
	_, err = StartBinding(ctx, client, srv.URL+"/b", BindingRequest{})
	var apiErr *Error
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, "4010700", apiErr.ResponseCode)
	_, err = StartBinding(ctx, nil, srv.URL, BindingRequest{})
	assert.Error(t, err)
}

func FuzzParseBindingAnswer(f *testing.F) {
	f.Add([]byte(`{"responseCode":"2000700","redirectUrl":"https://wv.example/x","linkageToken":"t","params":{}}`))
	f.Add([]byte(`{"redirectUrl":"http://h"}`))
	f.Add([]byte(`{"redirectUrl":1}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := parseBindingAnswer(data)
		if err != nil {
			if b != nil {
				t.Fatal("a binding with an error")
			}
			return
		}
		if !strings.HasPrefix(b.RedirectURL, "http") {
			t.Fatalf("accepted redirectUrl %q", b.RedirectURL)
		}
		if b.LinkageToken != "" && strings.Contains(fmt.Sprint(b), b.LinkageToken) && !strings.Contains(b.RedirectURL+b.ReferenceNo+b.PartnerReferenceNo+b.ResponseCode, b.LinkageToken) {
			t.Fatal("Format shows the linkage token")
		}
	})
}
