# add_fuzz_target(NAME SOURCES files... LINK_LIBRARIES libs...)
# With WGR_FUZZ (clang): a libFuzzer binary, run by `make fuzz`. Always: a replay binary that
# feeds every file of tests/fuzz/corpus/NAME/ to the same entry point, registered with ctest
# (label "fuzz"), so the seed corpus is exercised on every test run.
function(add_fuzz_target name)
  cmake_parse_arguments(F "" "" "SOURCES;LINK_LIBRARIES" ${ARGN})
  set(corpus ${CMAKE_SOURCE_DIR}/tests/fuzz/corpus/${name})
  add_executable(${name}_replay ${F_SOURCES} ${CMAKE_SOURCE_DIR}/tests/fuzz/replay.c)
  target_link_libraries(${name}_replay PRIVATE ${F_LINK_LIBRARIES})
  add_test(NAME ${name}_replay COMMAND ${name}_replay ${corpus})
  set_tests_properties(${name}_replay PROPERTIES LABELS "fuzz;unit" TIMEOUT 300)
  if(WGR_FUZZ)
    add_executable(${name} ${F_SOURCES})
    target_compile_options(${name} PRIVATE -fsanitize=fuzzer,address,undefined)
    target_link_options(${name} PRIVATE -fsanitize=fuzzer,address,undefined)
    target_link_libraries(${name} PRIVATE ${F_LINK_LIBRARIES})
    set_property(GLOBAL APPEND PROPERTY WGR_FUZZ_TARGETS ${name})
  endif()
endfunction()
