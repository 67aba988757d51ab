#ifndef STOREY_CFILESPACE_SHIM_H
#define STOREY_CFILESPACE_SHIM_H
// GNU extensions of glibc that Swift's Glibc module (built without _GNU_SOURCE) leaves out.
#include <pthread.h>
#include <sys/types.h>
// fallocate(2): the intake journal keeps disk space reserved beyond its end with it.
extern int fallocate(int fd, int mode, off_t offset, off_t len);
// Allocate without changing the file's size (linux/falloc.h).
#define STOREY_FALLOC_FL_KEEP_SIZE 0x01
// Names the MQTT threads for `top -H` and `perf` (at most 15 bytes); Foundation's `Thread.name` does not.
extern int pthread_setname_np(pthread_t thread, const char *name);
#endif
