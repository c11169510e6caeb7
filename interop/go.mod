module github.com/interlock-e2ee/interlock/interop

go 1.26
