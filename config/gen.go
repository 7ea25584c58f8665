package config

// docs/keepalived.md is rendered from the keyword table (keepalived_keywords.go)
// by TestKeywordDoc, which fails while the file is stale.
//go:generate go test -run ^TestKeywordDoc$ . -args -update
