//go:build race

package media

func init() { reviewRace = true }
