//go:build !(linux && (amd64 || arm64))

package bench

import "os"

func fadviseDontNeed(*os.File) {}
