# cmake -P script: install, configure the consumers against the install, build, run.
#  1. the models-only consumer (project/), with yaml-cpp and Threads made unfindable: the
#     models component must need SystemC alone;
#  2. the plugin host (tests/plugin-host), loading the installed libvbsim-plugin.so;
#  3. a platform consumer (platform-project/): the platform component, yaml-cpp included, loads
#     and runs a scenario.
file(REMOVE_RECURSE ${WORK_DIR})
set(prefix ${WORK_DIR}/prefix)

function(run_step)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE status)
  if(NOT status EQUAL 0)
    message(FATAL_ERROR "install_consumer: step failed (${status}): ${ARGN}")
  endif()
endfunction()

run_step(${CMAKE_COMMAND} --install ${VBSIM_BUILD_DIR} --prefix ${prefix})

# Installed headers include each other as <vbsim/...> only.
file(GLOB_RECURSE installed_headers ${prefix}/include/vbsim/*.h)
foreach(header IN LISTS installed_headers)
  file(STRINGS ${header} quoted REGEX "#include \"(models|spec|sw|platform|plugin)/")
  if(quoted)
    message(FATAL_ERROR "install_consumer: ${header} still includes ${quoted}")
  endif()
endforeach()

run_step(${CMAKE_COMMAND} -S ${CONSUMER_SOURCE_DIR} -B ${WORK_DIR}/build
  -DCMAKE_PREFIX_PATH=${prefix} -DCMAKE_CXX_COMPILER=${CXX_COMPILER}
  -DCMAKE_DISABLE_FIND_PACKAGE_yaml-cpp=TRUE -DCMAKE_DISABLE_FIND_PACKAGE_Threads=TRUE)
run_step(${CMAKE_COMMAND} --build ${WORK_DIR}/build)
set(ENV{SYSTEMC_DISABLE_COPYRIGHT_MESSAGE} 1)
run_step(${WORK_DIR}/build/consumer)

run_step(${CMAKE_COMMAND} -S ${PLUGIN_HOST_SOURCE_DIR} -B ${WORK_DIR}/plugin-host
  -DCMAKE_PREFIX_PATH=${prefix} -DCMAKE_CXX_COMPILER=${CXX_COMPILER})
run_step(${CMAKE_COMMAND} --build ${WORK_DIR}/plugin-host)
run_step(${CMAKE_CTEST_COMMAND} --test-dir ${WORK_DIR}/plugin-host --verbose)

run_step(${CMAKE_COMMAND} -S ${PLATFORM_CONSUMER_SOURCE_DIR} -B ${WORK_DIR}/platform-consumer
  -DCMAKE_PREFIX_PATH=${prefix} -DCMAKE_CXX_COMPILER=${CXX_COMPILER})
run_step(${CMAKE_COMMAND} --build ${WORK_DIR}/platform-consumer)
run_step(${WORK_DIR}/platform-consumer/platform_consumer)
