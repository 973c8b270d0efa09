package gocrash

/*
static void agx_submit(int *q) { *(volatile int *)q = 1; }
static void submit_null(void) { agx_submit(0); }
*/
import "C"

// Submit calls into C code that writes through a null pointer, as a GPU driver would.
func Submit() { C.submit_null() }
