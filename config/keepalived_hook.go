package config

// loadKeepalived is how Load reaches the keepalived.conf reader. TEMPORARY: declared
// here until load.go (owned by the YAML/viper loader) declares it; delete this file then.
var loadKeepalived func(path string) (*Config, error)
