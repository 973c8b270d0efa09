package gocrash

import (
	"syscall"
	"testing"
	"time"
	"unsafe"
)

type device struct{ queue *int }

func enqueue(d *device) int { return *d.queue }

func TestAdd(t *testing.T) {
	if 1+2 != 3 {
		t.Fatal("math")
	}
}

func TestNilDevice(t *testing.T) {
	var d *device
	t.Log("enqueueing")
	_ = enqueue(d)
}

func TestUnsafeWrite(t *testing.T) {
	if testing.Short() {
		t.Skip()
	}
	p := (*int)(unsafe.Pointer(uintptr(8)))
	*p = 1
}

func TestSelfKill(t *testing.T) {
	time.Sleep(10 * time.Millisecond)
	syscall.Kill(syscall.Getpid(), syscall.SIGSEGV)
	time.Sleep(time.Second)
}
