// Package config owns ebpfvrrp's configuration: the schema (types.go), loading of
// YAML/TOML/JSON through viper with EBPFVRRP_* environment overrides, keepalived.conf
// import, defaults equal to keepalived's, and validation whose errors name the file,
// line, field path, value and what is allowed. A config that fails validation is
// never returned to a caller, so it can never replace a running one.
package config
