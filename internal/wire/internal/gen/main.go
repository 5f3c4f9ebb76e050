// Command gen generates the Go request and response types of an AWS
// JSON-protocol service, their validation, its operation table and its error
// constructors from the service's botocore model (service-2.json).
//
//	go run ./internal/gen -model service-2.json -pkg kmsapi -out kmsapi/zz_generated.go
//
// The output depends only on the model, so it is checked in, and a test
// regenerates it to check that it is current.
package main

import (
	"flag"
	"fmt"
	"os"
)

func main() {
	modelPath := flag.String("model", "", "the botocore service-2.json model")
	pkg := flag.String("pkg", "", "the Go package name of the output")
	out := flag.String("out", "", "the output file")
	flag.Parse()
	if *modelPath == "" || *pkg == "" || *out == "" {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(*modelPath, *pkg, *out); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func run(modelPath, pkg, out string) error {
	m, err := loadModel(modelPath)
	if err != nil {
		return err
	}
	src, err := Generate(m, pkg)
	if err != nil {
		return err
	}
	return os.WriteFile(out, src, 0o644)
}
