#ifndef STOREY_CMALLOC_SHIM_H
#define STOREY_CMALLOC_SHIM_H
// glibc's malloc_trim: hands freed heap pages back to the kernel.
#include <malloc.h>
#endif
