# cmake -P script: `vbsim run SCENARIO --trace` writes mmio.csv and timeline.json beside the
# other outputs; without --trace it writes neither.
file(REMOVE_RECURSE ${WORK_DIR})
execute_process(COMMAND ${VBSIM} run ${SCENARIO} --quiet --trace --out ${WORK_DIR}/traced
  RESULT_VARIABLE status)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "traced run exited with ${status}")
endif()
file(STRINGS ${WORK_DIR}/traced/mmio.csv header LIMIT_COUNT 1)
if(NOT header STREQUAL "seq,t_us,rw,offset,register,width_bytes,value")
  message(FATAL_ERROR "mmio.csv header: '${header}'")
endif()
file(READ ${WORK_DIR}/traced/timeline.json timeline LIMIT 64)
if(NOT timeline MATCHES "^{\"displayTimeUnit\": \"ns\", \"traceEvents\": \\[")
  message(FATAL_ERROR "timeline.json starts with '${timeline}'")
endif()
execute_process(COMMAND ${VBSIM} run ${SCENARIO} --quiet --out ${WORK_DIR}/untraced
  RESULT_VARIABLE status)
if(NOT status EQUAL 0 OR EXISTS ${WORK_DIR}/untraced/mmio.csv OR
   EXISTS ${WORK_DIR}/untraced/timeline.json)
  message(FATAL_ERROR "an untraced run wrote trace files (or failed: ${status})")
endif()
message(STATUS "trace files written only when asked")
