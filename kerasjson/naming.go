package kerasjson

import (
	"regexp"
	"strings"
)

var (
	snakeNonWord = regexp.MustCompile(`\W+`)
	snakeUpper1  = regexp.MustCompile(`(.)([A-Z][a-z]+)`)
	snakeUpper2  = regexp.MustCompile(`([a-z])([A-Z])`)
)

// SnakeCase is Keras's naming.to_snake_case.
func SnakeCase(name string) string {
	name = snakeNonWord.ReplaceAllString(name, "")
	name = snakeUpper1.ReplaceAllString(name, "${1}_${2}")
	name = snakeUpper2.ReplaceAllString(name, "${1}_${2}")
	return strings.ToLower(name)
}
