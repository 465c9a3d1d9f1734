package snapauth_test

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// snippetMark precedes a Go block of the documentation that is a verbatim
// copy of a compiled example: <!-- snippet: NAME -->.
var snippetMark = regexp.MustCompile(`^<!-- snippet: ([a-z0-9-]+) -->$`)

// docSnippets returns the Go blocks of the Markdown file at path that follow
// a snippet mark, by name.
func docSnippets(t *testing.T, path string) map[string]string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	lines := strings.Split(string(data), "\n")
	for i := 0; i < len(lines); i++ {
		m := snippetMark.FindStringSubmatch(lines[i])
		if m == nil {
			continue
		}
		if i+1 >= len(lines) || lines[i+1] != "```go" {
			t.Fatalf("%s:%d: snippet %q is not followed by a ```go block", path, i+1, m[1])
		}
		var block []string
		for i += 2; i < len(lines) && lines[i] != "```"; i++ {
			block = append(block, lines[i])
		}
		out[m[1]] = strings.Join(block, "\n")
	}
	return out
}

// codeSnippets returns the regions of the example files between
// "// snippet:NAME" and "// end snippet", without the indentation of the
// opening comment.
func codeSnippets(t *testing.T) map[string]string {
	t.Helper()
	files, err := filepath.Glob("example*_test.go")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		var cur, indent string
		var block []string
		for sc.Scan() {
			line := sc.Text()
			trimmed := strings.TrimLeft(line, "\t")
			switch {
			case strings.HasPrefix(trimmed, "// snippet:"):
				cur, indent, block = strings.TrimPrefix(trimmed, "// snippet:"), line[:len(line)-len(trimmed)], nil
			case trimmed == "// end snippet" && cur != "":
				out[cur] = strings.Join(block, "\n")
				cur = ""
			case cur != "":
				block = append(block, strings.TrimPrefix(line, indent))
			}
		}
		f.Close()
		if cur != "" {
			t.Fatalf("%s: snippet %q has no end", name, cur)
		}
	}
	return out
}

// The Go blocks of README.md and docs/customers.md marked as snippets are
// the code of compiled, running examples (Example_customers), so the
// walkthrough compiles. A block out of sync fails here: copy the example's
// region into the document.
func TestReadmeSnippets(t *testing.T) {
	code := codeSnippets(t)
	seen := 0
	for _, doc := range []string{"README.md", "docs/customers.md"} {
		for name, block := range docSnippets(t, doc) {
			want, ok := code[name]
			if !ok {
				t.Errorf("%s: snippet %q is in no example file", doc, name)
				continue
			}
			if block != want {
				t.Errorf("%s: snippet %q differs from the example's code; the example has:\n%s", doc, name, want)
			}
			seen++
		}
	}
	if seen < 3 {
		t.Errorf("only %d snippets found in the documents; the B2B2C walkthrough has at least 3", seen)
	}
}
