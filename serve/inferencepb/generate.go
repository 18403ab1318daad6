// Package inferencepb holds the Go code protoc generates from
// grpc_predict_v2.proto, the Open Inference Protocol v2 gRPC API
// (inference.GRPCInferenceService) that KServe and Triton clients speak, and
// from triton_model_config.proto, the ModelConfig RPC Triton adds to it.
//
// Regenerate (protoc 3.21, protoc-gen-go v1.36.12, protoc-gen-go-grpc v1.6.0):
//
//	go install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
//	go install google.golang.org/grpc/cmd/protoc-gen-go-grpc@v1.6.0
//	go generate ./serve/inferencepb
package inferencepb

//go:generate protoc --go_out=. --go_opt=paths=source_relative --go-grpc_out=. --go-grpc_opt=paths=source_relative grpc_predict_v2.proto triton_model_config.proto
