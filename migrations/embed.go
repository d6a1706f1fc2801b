// Package migrations holds Keyward's versioned SQL schema, one set of numbered
// files per database dialect, embedded so the binary migrates from any folder.
package migrations

import "embed"

// FS holds sqlite/NNNN_name.sql and postgres/NNNN_name.sql.
//
//go:embed sqlite/*.sql postgres/*.sql
var FS embed.FS
