# Turns a text file into a C++ source defining `const char* const VARIABLE`.
file(READ "${INPUT}" content)
file(WRITE "${OUTPUT}"
  "namespace scaleplan {\nextern const char* const ${VARIABLE};\n"
  "const char* const ${VARIABLE} = R\"embedded_(${content})embedded_\";\n}\n")
