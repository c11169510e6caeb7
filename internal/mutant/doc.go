// Package mutant switches on deliberately broken behaviour, one defect class
// at a time, so that the conformance report can be mutation-tested (issue
// #21 item 1): every class of defect the report claims to detect is planted
// in Interlock's own peer, and the report must fail the guarantee it breaks.
//
// Library code marks a defect point with
//
//	if mutant.On(mutant.MACUnchecked) {
//		return len(want) == len(got) // the defect
//	}
//
// In the default build On is a constant false function: the compiler
// inlines it and removes the branch, so a release binary contains neither
// the broken code nor the mutant names (TestDefaultBuildHasNoMutants checks
// the binary). Only a build with -tags interlock_mutants reads the
// INTERLOCK_MUTANT environment variable, once, and switches on the mutant
// it names; an unknown name stops the process, so that a typo cannot pass
// for a stock run. conformance/mutants_test.go builds that binary and runs
// the report against each mutant.
//
// # Security considerations
//
// Never ship a binary built with the interlock_mutants tag: with
// INTERLOCK_MUTANT set it accepts forged, replayed and downgraded messages
// on purpose. The default build cannot be switched by the environment.
package mutant
