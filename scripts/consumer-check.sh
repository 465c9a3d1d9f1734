#!/usr/bin/env bash
# consumer-check.sh proves that a module outside this repository, written as
# a user would write it (a require line, no replace, no go.work), builds
# against snapauth's store modules. It publishes the repository's modules to
# a throwaway file-system proxy at the version they require of each other
# (scripts/modproxy.go), then builds a consumer that requires them; every
# other module comes from the usual proxy.
set -euo pipefail
cd "$(dirname "$0")/.."
version=$(awk '$1 == "github.com/snapauth/snapauth" {print $2; exit}' redisstore/go.mod)
mods=(. redisstore)
mods+=(sqlstore)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
GOWORK=off go run scripts/modproxy.go -version "$version" -out "$tmp/proxy" "${mods[@]}"

mkdir "$tmp/consumer"
cat >"$tmp/consumer/main.go" <<'GO'
// A merchant service that keeps its tokens in Redis.
package main

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/redis/go-redis/v9"
	"github.com/snapauth/snapauth"
	"github.com/snapauth/snapauth/redisstore"
	"github.com/snapauth/snapauth/sqlstore"
)

func main() {
	store := redisstore.New(redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"}))
	cfg := &snapauth.B2BConfig{TokenURL: "https://snap.example/v1.0/access-token/b2b", ClientKey: "k"}
	src := cfg.StoredTokenSource(context.Background(), store, "b2b")
	var db *sql.DB // sql.Open("pgx", dsn) in a real service
	customers := cfg.StoredTokenSource(context.Background(), sqlstore.New(db), "b2b")
	fmt.Println(src != nil, customers != nil)
}
GO
cd "$tmp/consumer"
export GOWORK=off GOFLAGS=-mod=mod GONOSUMDB=github.com/snapauth GOPROXY="file://$tmp/proxy,$(go env GOPROXY)"
go mod init example.com/consumer >/dev/null 2>&1
go get "github.com/snapauth/snapauth/redisstore@$version" "github.com/snapauth/snapauth/sqlstore@$version" >/dev/null
go mod tidy >/dev/null
go build -o /dev/null .
echo "consumer-check: a module requiring github.com/snapauth/snapauth/redisstore and sqlstore @$version builds (no replace, no go.work)"
