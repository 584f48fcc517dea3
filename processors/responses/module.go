package responses

import (
	"github.com/lovoo/goka"

	"github.com/aistream/aistream/internal/api"
	"github.com/aistream/aistream/internal/stream"
)

// Module is the responses processor: group "responses" and the read model
// of GET /v1/responses/{response_id}/feedback.
func Module() *stream.Module { return NewModule(DefaultConfig()) }

// NewModule is the module with the given settings (flags still override them).
func NewModule(c Config) *stream.Module {
	cfg := &c
	return &stream.Module{
		Name:     Name,
		Flags:    cfg.RegisterFlags,
		Validate: func() error { return cfg.Validate() },
		Groups:   []stream.Group{{Name: Name, Graph: func(o stream.Options) *goka.GroupGraph { return graph(o, *cfg) }}},
		Read:     stream.ReadTable(Name, new(TableCodec), func(t api.Table) ([]api.Route, error) { return NewQuery(t).Routes(), nil }),
	}
}
