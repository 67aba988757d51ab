import CFuzzerDriver
import Foundation

// libFuzzer's loop, calling the harness with each input.
var argc = CommandLine.argc
var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
exit(LLVMFuzzerRunDriver(&argc, &argv) { data, size in fuzzTopic(data!, size) })
