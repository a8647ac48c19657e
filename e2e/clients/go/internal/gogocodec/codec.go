// Package gogocodec is a gRPC codec for the gogo/protobuf-generated types of
// github.com/jaegertracing/jaeger-idl (model/v1, proto-gen/api_v2).
//
// Those messages use gogoproto customtype/stdtime fields (TraceID, SpanID,
// time.Time, time.Duration) that google.golang.org/protobuf's reflection cannot
// handle, so gRPC's default codec cannot marshal them. Jaeger itself installs an
// equivalent codec; this one does the same for the client side only.
package gogocodec

import (
	"fmt"

	gogoproto "github.com/gogo/protobuf/proto"
	"google.golang.org/grpc/encoding"
)

// Name is the content-subtype on the wire: "proto", i.e. application/grpc+proto,
// exactly what Jaeger clients send.
const Name = "proto"

type codec struct{}

// New returns the codec; use it with grpc.ForceCodec.
func New() encoding.Codec { return codec{} }

func (codec) Name() string { return Name }

func (codec) Marshal(v any) ([]byte, error) {
	m, ok := v.(gogoproto.Message)
	if !ok {
		return nil, fmt.Errorf("gogocodec: %T is not a gogo proto message", v)
	}
	return gogoproto.Marshal(m)
}

func (codec) Unmarshal(data []byte, v any) error {
	m, ok := v.(gogoproto.Message)
	if !ok {
		return fmt.Errorf("gogocodec: %T is not a gogo proto message", v)
	}
	return gogoproto.Unmarshal(data, m)
}
