module github.com/interlock-e2ee/interlock/interop

go 1.26.0

require github.com/interlock-e2ee/interlock v0.0.0

require (
	filippo.io/edwards25519 v1.2.0 // indirect
	github.com/cloudflare/circl v1.6.5 // indirect
	golang.org/x/sys v0.49.0 // indirect
	google.golang.org/protobuf v1.36.12 // indirect
)

replace github.com/interlock-e2ee/interlock => ../
