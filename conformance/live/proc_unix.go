//go:build unix

package live

import (
	"os/exec"
	"syscall"
)

// setProcessGroup puts the peer in its own process group so that a wrapper
// (a shell, `go run`, node) and its children can be ended together.
func setProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}

func killProcessGroup(cmd *exec.Cmd) {
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
}
