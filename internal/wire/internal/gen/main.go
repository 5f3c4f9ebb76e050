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
