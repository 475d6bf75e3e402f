package server

import "runtime/debug"

func stackTrace() string { return string(debug.Stack()) }
