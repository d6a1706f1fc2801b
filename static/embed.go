// Package static holds the dashboard's stylesheets, scripts and icons.
//
// They are embedded into the binary so a single file serves the whole
// dashboard; handlers mount FS under /static/. Pico CSS is vendored as
// css/pico.min.css (MIT, see css/PICO-LICENSE.md) and app.css adds
// Keyward's own rules on top of it.
package static

import "embed"

// FS holds css/, js/ and favicon.svg, with paths relative to this folder
// (for example "css/app.css").
//
//go:embed css js favicon.svg
var FS embed.FS
