# Installs the build tree into WORK_DIR/prefix, then configures, builds and runs the consumer project
# against it. Fails (FATAL_ERROR) at the first step that does not succeed.
file(REMOVE_RECURSE ${WORK_DIR})
function(run what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${what} failed (${rc}):\n${out}\n${err}")
  endif()
  set(last_output "${out}" PARENT_SCOPE)
endfunction()
run("install" ${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${WORK_DIR}/prefix)
run("configure consumer" ${CMAKE_COMMAND} -S ${CONSUMER_DIR} -B ${WORK_DIR}/build -G ${GENERATOR}
    -DCMAKE_CXX_COMPILER=${CXX} -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH=${WORK_DIR}/prefix)
run("build consumer" ${CMAKE_COMMAND} --build ${WORK_DIR}/build -j 1)
run("run consumer" ${WORK_DIR}/build/consumer ${WORK_DIR}/data)
if(NOT last_output MATCHES "consumer: ok")
  message(FATAL_ERROR "consumer printed:\n${last_output}")
endif()
message(STATUS "${last_output}")
