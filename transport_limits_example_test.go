package snapauth_test

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/snapauth/snapauth"
	"golang.org/x/oauth2"
)

// A body over Transport.MaxBodySize is refused before anything is sent,
// with an error wrapping *http.MaxBytesError.
func ExampleTransport_maxBodySize() {
	tr := &snapauth.Transport{
		Source:       oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "token"}),
		ClientSecret: "client-secret",
		MaxBodySize:  16, // bytes; zero means 8 MiB
	}
	body := strings.NewReader(`{"remark":"far more than sixteen bytes"}`)
	req, _ := http.NewRequest(http.MethodPost, "https://api.bank.example/v1.0/transfer", body)
	_, err := (&http.Client{Transport: tr}).Do(req)

	var tooLarge *http.MaxBytesError
	fmt.Println(errors.As(err, &tooLarge), tooLarge.Limit)
	// Output: true 16
}
