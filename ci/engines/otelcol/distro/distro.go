// Package distro runs a collector binary over a set of factories, with the
// config providers the chart's configs need (file, and env for ${env:...}).
package distro

import (
	"os"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/provider/envprovider"
	"go.opentelemetry.io/collector/confmap/provider/fileprovider"
	"go.opentelemetry.io/collector/confmap/provider/yamlprovider"
	"go.opentelemetry.io/collector/otelcol"
)

// Version is the collector release of every component below; install-tools.sh
// checks `--version` against its pin and against the chart's image tag.
const Version = "0.160.0"

// Run parses the command line (validate, or run a config) and exits non-zero
// on error; cobra has already printed the message.
func Run(command, description string, factories func() (otelcol.Factories, error)) {
	set := otelcol.CollectorSettings{
		BuildInfo: component.BuildInfo{Command: command, Description: description, Version: Version},
		Factories: factories,
		ConfigProviderSettings: otelcol.ConfigProviderSettings{
			ResolverSettings: confmap.ResolverSettings{
				ProviderFactories: []confmap.ProviderFactory{
					envprovider.NewFactory(),
					fileprovider.NewFactory(),
					yamlprovider.NewFactory(),
				},
			},
		},
	}
	if err := otelcol.NewCommand(set).Execute(); err != nil {
		os.Exit(1)
	}
}
