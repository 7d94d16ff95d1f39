# add_cmocka_test(NAME SOURCES files... LINK_LIBRARIES libs... [LABELS l...] [TIMEOUT s])
# Builds one cmocka test binary and registers it with ctest (label "unit" unless given).
pkg_check_modules(CMOCKA REQUIRED IMPORTED_TARGET cmocka)

function(add_cmocka_test name)
  cmake_parse_arguments(T "" "TIMEOUT" "SOURCES;LINK_LIBRARIES;LABELS" ${ARGN})
  add_executable(${name} ${T_SOURCES})
  target_link_libraries(${name} PRIVATE ${T_LINK_LIBRARIES} PkgConfig::CMOCKA)
  target_include_directories(${name} PRIVATE ${CMAKE_SOURCE_DIR}/tests)
  add_test(NAME ${name} COMMAND ${name})
  if(NOT T_LABELS)
    set(T_LABELS unit)
  endif()
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 120)
  endif()
  set_tests_properties(${name} PROPERTIES LABELS "${T_LABELS}" TIMEOUT ${T_TIMEOUT}
    ENVIRONMENT "WGR_SOURCE_DIR=${CMAKE_SOURCE_DIR};WGR_BINARY_DIR=${CMAKE_BINARY_DIR}")
endfunction()
