# cmake -P script: runs one shipped scenario and fails on any warning or error it prints, on
# either stream. ALLOWED (a regular expression, may be empty) names the one warning a scenario
# that demonstrates an error on purpose is expected to give.
file(REMOVE_RECURSE ${WORK_DIR})
execute_process(COMMAND ${VBSIM} run ${SCENARIO} --out ${WORK_DIR}
  RESULT_VARIABLE status OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "exited with ${status}\n${out}${err}")
endif()
string(REPLACE "\n" ";" lines "${out}\n${err}")
set(seen_allowed FALSE)
foreach(line IN LISTS lines)
  if(line MATCHES "([Ww]arning|[Ee]rror)[ :]")
    if(NOT ALLOWED STREQUAL "" AND line MATCHES "${ALLOWED}")
      set(seen_allowed TRUE)
    else()
      message(FATAL_ERROR "unexpected: ${line}")
    endif()
  endif()
endforeach()
if(NOT ALLOWED STREQUAL "" AND NOT seen_allowed)
  message(FATAL_ERROR "the expected warning matching '${ALLOWED}' did not appear")
endif()
message(STATUS "no unexpected warning")
