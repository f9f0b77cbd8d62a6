package mnemo

import (
	"context"
	"iter"
)

// DefaultPageSize is the page size of the Each* iterators.
const DefaultPageSize = 100

// Paginate iterates every item of fetch(ctx, ""), fetch(ctx, <id of the last item>), ...
// until a page is empty, shorter than pageSize (when pageSize > 0), or the cursor stops
// moving. An error ends the iteration after being yielded.
func Paginate[T any](ctx context.Context, pageSize int, fetch func(ctx context.Context, after string) ([]T, error),
	id func(T) string) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		after := ""
		for {
			page, err := fetch(ctx, after)
			if err != nil {
				var zero T
				yield(zero, err)
				return
			}
			for _, item := range page {
				if !yield(item, nil) {
					return
				}
			}
			if len(page) == 0 || (pageSize > 0 && len(page) < pageSize) {
				return
			}
			last := id(page[len(page)-1])
			if last == "" || last == after {
				return
			}
			after = last
		}
	}
}
