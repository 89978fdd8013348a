# The tag C++ exceptions are thrown with (Wasm exception handling): LLVM's compiler-rt defines it as
# __cpp_exception.S; the project's zig ships no such object, so `[build] exceptions` links this one.
.globl __cpp_exception
.tagtype __cpp_exception i32
__cpp_exception:
