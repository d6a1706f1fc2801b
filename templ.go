// Package keyward is the root of the Keyward module: a self-hosted API-token
// manager. The binary lives in cmd/keyward; this file only drives code generation.
package keyward

//go:generate go tool templ generate
