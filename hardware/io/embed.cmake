# Turns a text file into a C++ source defining `const char* const VARIABLE`.
# The catalog is past the 65,536 characters of a string literal that the standard requires
# compilers to support (clang's -Woverlength-strings under -Wpedantic, the fuzz preset); GCC
# and clang take far longer ones, so the warning is silenced for this generated file alone.
file(READ "${INPUT}" content)
file(WRITE "${OUTPUT}"
  "#pragma GCC diagnostic ignored \"-Woverlength-strings\"\n"
  "namespace scaleplan {\nextern const char* const ${VARIABLE};\n"
  "const char* const ${VARIABLE} = R\"embedded_(${content})embedded_\";\n}\n")
