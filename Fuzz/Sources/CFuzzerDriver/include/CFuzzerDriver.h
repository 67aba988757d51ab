// libFuzzer's driver (compiler-rt, linked by -sanitize=fuzzer): runs the fuzzing loop with `callback`
// as the function under test. SwiftPM gives every executable a `main` of its own, so the harnesses call
// the driver from there instead of relying on libFuzzer's `main`.
#include <stddef.h>
#include <stdint.h>
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));
