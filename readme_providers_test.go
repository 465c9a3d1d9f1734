package snapauth_test

import (
	"os"
	"strings"
	"testing"

	"github.com/snapauth/snapauth"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestREADMEProviderTable reads the provider table of README.md and checks
// it against the Provider values: every named profile is there, with exactly
// the deviations p.Deviations() lists, in that order, each with its evidence
// and a basis. Change a profile and this fails until the table says so.
func TestREADMEProviderTable(t *testing.T) {
	data, err := os.ReadFile("README.md")
	require.NoError(t, err)
	_, rest, ok := strings.Cut(string(data), "<!-- providers:begin -->")
	require.True(t, ok, "README.md has no providers:begin marker")
	table, _, ok := strings.Cut(rest, "<!-- providers:end -->")
	require.True(t, ok, "README.md has no providers:end marker")

	rows := map[string][]string{} // provider name -> deviations, in table order
	for _, line := range strings.Split(strings.TrimSpace(table), "\n")[2:] {
		cells := strings.Split(strings.Trim(line, "|"), "|")
		require.Len(t, cells, 4, "row %q", line)
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		name := strings.ToLower(strings.Trim(cells[0], "`"))
		_, known := snapauth.ProviderByName(name)
		require.True(t, known, "README row %q names no profile (snapauth.ProviderByName)", line)
		assert.NotEmpty(t, cells[2], "row %q: evidence", line)
		assert.Contains(t, []string{"documented", "inferred", "mixed"}, cells[3], "row %q: basis", line)
		if cells[1] != "none" {
			rows[name] = append(rows[name], cells[1])
		} else if _, seen := rows[name]; !seen {
			rows[name] = nil
		}
	}
	for _, name := range snapauth.ProviderNames() {
		p, _ := snapauth.ProviderByName(name)
		got, ok := rows[name]
		require.True(t, ok, "README table lacks profile %q", name)
		assert.Equal(t, p.Deviations(), got, "README rows of %q against %s.Deviations()", name, name)
	}
}
