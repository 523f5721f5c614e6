# One set of warning flags for every target of the project (library, tools,
# tests, examples, benchmarks, fuzzers):
#   fitwatch_warnings(<target> [CONVERSION])
# CONVERSION adds -Wconversion (without -Wsign-conversion) for the targets
# whose code is clean under it. FITWATCH_WERROR turns warnings into errors
# (on in CI: .ci/run through the Makefile).
option(FITWATCH_WERROR "Treat compiler warnings as errors" OFF)

function(fitwatch_warnings target)
  cmake_parse_arguments(PARSE_ARGV 1 arg "CONVERSION" "" "")
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic)
  if(arg_CONVERSION)
    target_compile_options(${target} PRIVATE -Wconversion -Wno-sign-conversion)
  endif()
  if(FITWATCH_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()
