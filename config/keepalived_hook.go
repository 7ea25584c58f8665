package config

// loadKeepalived is how Load reaches the keepalived.conf reader (set by
// keepalived.go's init), so the YAML loader and the keepalived importer build and
// test independently of each other.
var loadKeepalived func(path string) (*Config, error)
