package snapauth

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"
)

// CheckResponse returns nil when resp is a successful SNAP answer: a 2xx
// status with a JSON body whose responseCode, if present, is seven digits
// starting with "200", naming no key twice.
// Otherwise it returns an *Error with the status, the SNAP code split into
// service and case, and the message, so errors.Is works with the sentinels
// (ErrUnauthorized, ErrInvalidToken, ErrRateLimited, ...). Some providers
// answer HTTP 200 with a failure code; that is an *Error too. CheckResponse
// reads at most 1 MiB of the body and puts back what it read, so the caller
// can still decode resp.Body, and must still close it. The bearer tokens the
// request carried (resp.Request's Authorization and Authorization-Customer)
// are redacted from the error's ResponseMessage and ResponseCode, should the
// provider echo them.
func CheckResponse(resp *http.Response) error {
	if resp == nil {
		return errors.New("snapauth: CheckResponse: no response")
	}
	var head []byte
	if resp.Body != nil && resp.Body != http.NoBody {
		var err error
		head, err = io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
		resp.Body = &replayBody{Reader: io.MultiReader(bytes.NewReader(head), resp.Body), closer: resp.Body}
		if err != nil {
			return fmt.Errorf("snapauth: reading the answer: %w", err)
		}
	}
	fields, jsonErr := decodeObject(head)
	if e := answerError(resp.StatusCode, resp.Header, head, fields, jsonErr, time.Now()); e != nil {
		return redactError(e, requestSecrets(resp.Request)...)
	}
	return nil
}

// replayBody gives back the bytes already read, then the rest of the
// original body, and closes the original.
type replayBody struct {
	io.Reader
	closer io.Closer
}

func (b *replayBody) Close() error { return b.closer.Close() }
