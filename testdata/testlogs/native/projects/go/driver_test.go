package gocrash

import (
	"testing"
	"unsafe"
)

func TestCgoSubmit(t *testing.T) {
	if testing.Short() {
		t.Skip()
	}
	Submit()
}

func TestFaultAddress(t *testing.T) {
	p := (*int)(unsafe.Pointer(uintptr(0xdeadbeef000)))
	*p = 1
}

func TestParallelA(t *testing.T) {
	t.Parallel()
	var d *device
	_ = enqueue(d)
}

func TestParallelB(t *testing.T) {
	t.Parallel()
	for i := 0; i < 1000000000; i++ {
		_ = i
	}
}
