module github.com/interlock-e2ee/interlock

go 1.26.0

require (
	filippo.io/edwards25519 v1.2.0
	github.com/cloudflare/circl v1.6.5
	google.golang.org/protobuf v1.36.12
)

require golang.org/x/sys v0.48.0 // indirect

tool google.golang.org/protobuf/cmd/protoc-gen-go
