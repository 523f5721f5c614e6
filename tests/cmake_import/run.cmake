# Installs the built fitwatch into a scratch prefix, then configures, builds
# and runs the consumer project against it.
file(REMOVE_RECURSE ${WORK_DIR})
set(prefix ${WORK_DIR}/prefix)
function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed: ${ARGN}\n${out}\n${err}")
  endif()
  set(last_output "${out}" PARENT_SCOPE)
endfunction()
run(${CMAKE_COMMAND} --install ${BINARY_DIR} --prefix ${prefix})
# nlohmann_json is a private, header-only dependency: the installed package
# must neither look for it nor name it, or find_package(fitwatch) fails where
# it is not installed (tests/cmake_import/no_nlohmann.sh tries such a root).
file(GLOB package_files ${prefix}/lib*/cmake/fitwatch/*.cmake)
if(NOT package_files)
  message(FATAL_ERROR "no CMake package installed under ${prefix}")
endif()
foreach(f ${package_files})
  file(STRINGS ${f} lines REGEX "nlohmann")
  list(FILTER lines EXCLUDE REGEX "^[ \t]*#")  # comments may name it
  if(lines)
    message(FATAL_ERROR "${f} names nlohmann_json, a private dependency: ${lines}")
  endif()
endforeach()
set(flags "")
if(SANITIZE)  # a sanitized library needs a sanitized consumer
  set(flags -DCMAKE_CXX_FLAGS=-fsanitize=${SANITIZE} -DCMAKE_EXE_LINKER_FLAGS=-fsanitize=${SANITIZE})
endif()
# The README's example, cut out of README.md between its markers.
file(READ ${SOURCE_DIR}/README.md readme_text)
string(REGEX MATCH "<!-- readme-example:begin -->[^`]*```cpp\n(.*)```[^`]*<!-- readme-example:end -->"
  readme_match "${readme_text}")
if(NOT CMAKE_MATCH_1)
  message(FATAL_ERROR "README.md has no example between the readme-example markers")
endif()
file(WRITE ${WORK_DIR}/readme_example.cpp "${CMAKE_MATCH_1}")
run(${CMAKE_COMMAND} -S ${SOURCE_DIR}/tests/cmake_import -B ${WORK_DIR}/build
    -DCMAKE_PREFIX_PATH=${prefix} -DREADME_EXAMPLE=${WORK_DIR}/readme_example.cpp ${flags})
run(${CMAKE_COMMAND} --build ${WORK_DIR}/build)
run(${WORK_DIR}/build/consumer)
if(NOT last_output MATCHES "\"ConsumerMetric\":1")
  message(FATAL_ERROR "the consumer printed no metric: ${last_output}")
endif()
run(${WORK_DIR}/build/readme_example)
if(NOT last_output MATCHES "\"ValidationLoss\":0.61")
  message(FATAL_ERROR "the README example built against the install printed: ${last_output}")
endif()
