package misp

import "fmt"

// The Scan methods let the store read integer columns straight into the model (they
// satisfy database/sql's Scanner without importing it).

func scanInt64(src any) (int64, error) {
	switch v := src.(type) {
	case int64:
		return v, nil
	case nil:
		return 0, nil
	case bool:
		if v {
			return 1, nil
		}
		return 0, nil
	}
	return 0, fmt.Errorf("cannot read %T as an integer", src)
}

// Scan reads an integer column.
func (i *Int) Scan(src any) error {
	n, err := scanInt64(src)
	*i = Int(n)
	return err
}

// Scan reads a 0/1 column.
func (b *Bool) Scan(src any) error {
	n, err := scanInt64(src)
	*b = n != 0
	return err
}

// Scan reads a distribution column.
func (d *Distribution) Scan(src any) error {
	n, err := scanInt64(src)
	*d = Distribution(n)
	return err
}

// Scan reads an analysis column.
func (a *Analysis) Scan(src any) error {
	n, err := scanInt64(src)
	*a = Analysis(n)
	return err
}
