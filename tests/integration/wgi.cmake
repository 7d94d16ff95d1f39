# Live tests of wg-integration: wgi_live drives the library; the UAPI test runs wireguard-go in
# network namespaces (root; skipped with 77 otherwise). The kernel test lives in tests/kvm/.
add_executable(wgi_live ${CMAKE_CURRENT_LIST_DIR}/wgi_live.c)
target_link_libraries(wgi_live PRIVATE wgi)
add_test(NAME wgi_uapi_live COMMAND ${CMAKE_CURRENT_LIST_DIR}/wgi_uapi_live.sh $<TARGET_FILE:wgi_live>)
set_tests_properties(wgi_uapi_live PROPERTIES LABELS integration TIMEOUT 120 SKIP_RETURN_CODE 77
  ENVIRONMENT "WGR_SOURCE_DIR=${CMAKE_SOURCE_DIR};WGR_BINARY_DIR=${CMAKE_BINARY_DIR}")
