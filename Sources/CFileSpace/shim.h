#ifndef STOREY_CFILESPACE_SHIM_H
#define STOREY_CFILESPACE_SHIM_H
// glibc's fallocate(2): a GNU extension, which Swift's Glibc module (built without _GNU_SOURCE) leaves
// out. The intake journal keeps disk space reserved beyond its end with it.
#include <sys/types.h>
extern int fallocate(int fd, int mode, off_t offset, off_t len);
// Allocate without changing the file's size (linux/falloc.h).
#define STOREY_FALLOC_FL_KEEP_SIZE 0x01
#endif
