module github.com/interlock-e2ee/interlock/interop

go 1.26.0

require github.com/interlock-e2ee/interlock v0.0.0

replace github.com/interlock-e2ee/interlock => ../
