//go:build ignore

// modproxy writes a file-system Go module proxy holding this repository's
// modules at one version, as a consumer would download them once published:
//
//	go run scripts/modproxy.go -version v0.1.0 -out DIR . redisstore
//
// Then GOPROXY=file://DIR,https://proxy.golang.org resolves them. Each
// module's zip holds the files git tracks in its folder, without the nested
// modules, exactly the files a published module would hold.
package main

import (
	"archive/zip"
	"bytes"
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

func main() {
	version := flag.String("version", "v0.1.0", "the version the modules are published at")
	out := flag.String("out", "", "the proxy's folder")
	flag.Parse()
	if *out == "" || flag.NArg() == 0 {
		log.Fatal("usage: modproxy -version V -out DIR MODULEDIR...")
	}
	for _, dir := range flag.Args() {
		if err := publish(dir, *version, *out); err != nil {
			log.Fatalf("modproxy: %s: %v", dir, err)
		}
	}
}

func publish(dir, version, out string) error {
	gomod, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil {
		return err
	}
	path := modulePath(gomod)
	if path == "" {
		return fmt.Errorf("no module line in go.mod")
	}
	ls, err := exec.Command("git", "-C", dir, "ls-files", "--cached", "--others", "--exclude-standard", ".").Output()
	if err != nil {
		return fmt.Errorf("git ls-files: %v", err)
	}
	files := strings.Fields(string(ls))
	nested := map[string]bool{}
	for _, f := range files {
		if filepath.Base(f) == "go.mod" && filepath.Dir(f) != "." {
			nested[filepath.Dir(f)] = true
		}
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range files {
		if f == "go.work" || inNested(f, nested) {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			if os.IsNotExist(err) {
				continue // deleted in the work tree
			}
			return err
		}
		w, err := zw.Create(path + "@" + version + "/" + filepath.ToSlash(f))
		if err != nil {
			return err
		}
		w.Write(data)
	}
	if err := zw.Close(); err != nil {
		return err
	}
	at := filepath.Join(out, filepath.FromSlash(path), "@v")
	if err := os.MkdirAll(at, 0o755); err != nil {
		return err
	}
	info := fmt.Sprintf(`{"Version":%q,"Time":%q}`, version, time.Now().UTC().Format(time.RFC3339))
	for name, data := range map[string][]byte{
		"list": []byte(version + "\n"), version + ".info": []byte(info),
		version + ".mod": gomod, version + ".zip": buf.Bytes(),
	} {
		if err := os.WriteFile(filepath.Join(at, name), data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

func inNested(f string, nested map[string]bool) bool {
	for d := filepath.Dir(f); d != "." && d != "/"; d = filepath.Dir(d) {
		if nested[d] {
			return true
		}
	}
	return false
}

func modulePath(gomod []byte) string {
	for _, line := range strings.Split(string(gomod), "\n") {
		if f := strings.Fields(line); len(f) == 2 && f[0] == "module" {
			return f[1]
		}
	}
	return ""
}
