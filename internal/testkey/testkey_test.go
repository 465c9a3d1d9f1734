package testkey

import "testing"

func TestKeys(t *testing.T) {
	a, b := RSA(t), Other(t)
	if a != RSA(t) || b != Other(t) {
		t.Fatal("a second call returned another key")
	}
	if a.N.BitLen() != 2048 || b.N.BitLen() != 2048 {
		t.Fatalf("key sizes %d and %d, want 2048", a.N.BitLen(), b.N.BitLen())
	}
	if a.Equal(b) {
		t.Fatal("RSA and Other returned the same key")
	}
	if err := a.Validate(); err != nil {
		t.Fatal(err)
	}
}
