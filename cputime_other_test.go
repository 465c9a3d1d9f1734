//go:build !unix

package snapauth

import "time"

// processCPU is not measured here.
func processCPU() time.Duration { return 0 }
