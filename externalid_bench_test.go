package snapauth

import "testing"

func BenchmarkNewExternalID(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if len(NewExternalID()) != 36 {
			b.Fatal("bad length")
		}
	}
}
