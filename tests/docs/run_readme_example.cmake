# Runs the README's example and checks its output with `fitwatch validate`.
execute_process(COMMAND ${EXAMPLE} OUTPUT_FILE readme_example.out RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "the README example exited with ${rc}")
endif()
execute_process(COMMAND ${FITWATCH} validate readme_example.out
  OUTPUT_VARIABLE summary RESULT_VARIABLE rc)
message(STATUS "${summary}")
if(NOT rc EQUAL 0 OR NOT summary MATCHES "^1 lines, 1 EMF events, 2 metrics")
  message(FATAL_ERROR "the README example did not print one valid EMF line with 2 metrics")
endif()
