package main

import "fmt"

// exitError carries an exit code; err (may be nil for a silent negative answer) is printed
// as one line on stderr.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

// negative is the exit-1 answer: the command worked and the answer is "no".
func negative() error { return &exitError{code: 1} }

// usageError is an exit-2 error about how the command was called.
func usageError(format string, args ...any) error {
	return &exitError{code: 2, err: fmt.Errorf(format, args...)}
}
