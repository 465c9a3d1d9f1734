package snapauth_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"

	"github.com/snapauth/snapauth"
)

func TestErrorDerivesFromResponseCode(t *testing.T) {
	e := &snapauth.Error{StatusCode: 401, ResponseCode: "4017301"}
	assert.ErrorIs(t, e, snapauth.ErrInvalidToken, "a hand-built Error matches by its code")
	assert.NotErrorIs(t, e, snapauth.ErrUnauthorized)
	assert.Equal(t, "73", e.ServiceCode())
	assert.Equal(t, "01", e.CaseCode())

	ok := &snapauth.Error{StatusCode: 200, ResponseCode: "5007300"}
	assert.ErrorIs(t, ok, snapauth.ErrServerError, "the SNAP code's status wins over an HTTP 200")
	assert.ErrorIs(t, ok, snapauth.ErrTemporary)

	short := &snapauth.Error{StatusCode: 429, ResponseCode: "42"}
	assert.Empty(t, short.CaseCode())
	assert.ErrorIs(t, short, snapauth.ErrRateLimited)
}

func TestErrorAsEitherTarget(t *testing.T) {
	err := fmt.Errorf("call: %w", &snapauth.Error{StatusCode: 401, ResponseCode: "4017300", Body: []byte("secret")})

	var byPtr *snapauth.Error
	require.True(t, errors.As(err, &byPtr))
	assert.Equal(t, "4017300", byPtr.ResponseCode)

	var byValue snapauth.Error
	require.True(t, errors.As(err, &byValue), "errors.As(err, &snapauth.Error{}) finds the error")
	assert.Equal(t, "4017300", byValue.ResponseCode)

	for _, v := range []string{"%v", "%+v", "%#v", "%s", "%d", "%x", "%q"} {
		assert.NotContains(t, fmt.Sprintf(v, byValue), "secret", v)
		assert.NotContains(t, fmt.Sprintf(v, struct{ E snapauth.Error }{byValue}), "secret", v)
	}

	serr := fmt.Errorf("save: %w", &snapauth.StoreError{Key: "k", Token: &oauth2.Token{AccessToken: "tok-secret"}, Err: errors.New("disk full")})
	var se snapauth.StoreError
	require.True(t, errors.As(serr, &se))
	assert.Equal(t, "tok-secret", se.Token.AccessToken)
	var sp *snapauth.StoreError
	require.True(t, errors.As(serr, &sp))
	for _, v := range []string{"%v", "%+v", "%#v", "%s", "%d", "%q"} {
		assert.NotContains(t, fmt.Sprintf(v, se), "tok-secret", v)
	}
}
