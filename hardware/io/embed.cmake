# Turns a file into a C++ source defining `const char* const VARIABLE`: its bytes and a final NUL.
# An array of bytes rather than one string literal: a literal past 65,536 characters is beyond
# what compilers must support (clang's -Woverlength-strings, an error in the fuzz build), and
# the catalog is longer than that.
file(READ "${INPUT}" content HEX)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${content}")
file(WRITE "${OUTPUT}"
  "namespace scaleplan {\nnamespace {\nconst unsigned char ${VARIABLE}_bytes[] = {${bytes}0};\n}  // namespace\n"
  "extern const char* const ${VARIABLE};\n"
  "const char* const ${VARIABLE} = reinterpret_cast<const char*>(${VARIABLE}_bytes);\n"
  "}  // namespace scaleplan\n")
