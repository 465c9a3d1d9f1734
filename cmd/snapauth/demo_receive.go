package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"

	"github.com/snapauth/snapauth"
)

// receiveStep is the demo's step in the reverse direction: the sandbox
// provider calls the partner (a QRIS payment notification, signed with the
// provider's key), and the partner's snapauth.Verifier checks it, then
// refuses the same delivery replayed.
func (d *demo) receiveStep() demoStep {
	return demoStep{"The provider calls the partner: verify a payment notification", `
		Providers also call the partner: a QRIS payment notification, a bank's VA inquiry.
		The partner now checks the signature, with the provider's public key (asymmetric)
		or a token it issued (snapauth.TokenServer). snapauth.Verifier hashes the body as
		received, escapes and all, and accepts each X-EXTERNAL-ID once a day.`,
		d.stepReceive}
}

func (d *demo) stepReceive(ctx context.Context) error {
	v := &snapauth.Verifier{PublicKey: d.srv.ProviderPublicKey()}
	var mu sync.Mutex
	var handled [][]byte
	partner := httptest.NewServer(v.Middleware("52", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		handled = append(handled, body)
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"responseCode":"2005200","responseMessage":"Successful"}`)
	})))
	defer partner.Close()

	body := []byte(`{"originalReferenceNo": "2020102977770000000009", "latestTransactionStatus": "00",
		"amount": {"value": "12345678.00", "currency": "IDR"}, "additionalInfo": {"note": "caf\u00e9 \/ \u003c3"}}`)
	req, err := d.srv.NewNotifyRequest(ctx, partner.URL+"/v1.0/qr/qr-mpm-notify", body)
	if err != nil {
		return err
	}
	sent, err := io.ReadAll(req.Body)
	if err != nil {
		return err
	}
	req.Body = io.NopCloser(bytes.NewReader(sent))
	fmt.Fprintln(d.out)
	printRequest(d.out, "  ", &sentRequest{Method: req.Method, URL: req.URL.RequestURI(), Header: req.Header, Body: sent})
	sum := sha256.Sum256(sent)
	d.show("string the provider signed: POST:%s:%s:%s", req.URL.RequestURI(), hex.EncodeToString(sum[:]), req.Header.Get("X-Timestamp"))

	for i, want := range []struct {
		status int
		code   string
	}{{http.StatusOK, "2005200"}, {http.StatusConflict, "4095200"}} {
		try := req.Clone(ctx)
		try.Body = io.NopCloser(bytes.NewReader(sent))
		resp, err := partner.Client().Do(try)
		if err != nil {
			return err
		}
		var ans struct{ ResponseCode, ResponseMessage string }
		err = json.NewDecoder(resp.Body).Decode(&ans)
		resp.Body.Close()
		if err != nil {
			return fmt.Errorf("the partner's answer is not SNAP JSON (HTTP %d)", resp.StatusCode)
		}
		label := "delivered"
		if i > 0 {
			label = "delivered again (same X-EXTERNAL-ID)"
		}
		d.show("%s: the partner answered HTTP %d, responseCode %s, responseMessage %q", label, resp.StatusCode, ans.ResponseCode, ans.ResponseMessage)
		if resp.StatusCode != want.status || ans.ResponseCode != want.code {
			return fmt.Errorf("want HTTP %d with responseCode %s, got HTTP %d with %s", want.status, want.code, resp.StatusCode, ans.ResponseCode)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(handled) != 1 || !bytes.Equal(handled[0], sent) {
		return errors.New("the partner's handler should have run once, with the body as sent")
	}
	d.show("the partner's handler ran once, and read the body as the provider sent it")
	return nil
}
