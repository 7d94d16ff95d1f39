# Loopback integration tests of wgrelayd: the real binary, driven by the test client.
add_library(wgr_tclient STATIC ${CMAKE_CURRENT_LIST_DIR}/tclient.c)
target_include_directories(wgr_tclient PUBLIC ${CMAKE_CURRENT_LIST_DIR})
target_link_libraries(wgr_tclient PUBLIC wgrcommon)
# The relay under test, started by PID (harness.h).
add_library(wgr_harness STATIC ${CMAKE_CURRENT_LIST_DIR}/harness.c)
target_link_libraries(wgr_harness PUBLIC wgr_tclient PkgConfig::CMOCKA)
foreach(t relayd metrics files attacks reload modes)
  add_cmocka_test(test_${t} SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_${t}.c
                  LINK_LIBRARIES wgr_harness LABELS integration TIMEOUT 180)
  add_dependencies(test_${t} wgrelayd)
endforeach()
# The narrated client of the local demo (scripts/demo-local.sh).
add_executable(wgrelay-demo-local ${CMAKE_CURRENT_LIST_DIR}/demo_local.c)
target_link_libraries(wgrelay-demo-local PRIVATE wgr_tclient)
# xdp
# The XDP fast path in a network namespace of the test's own (root, BPF and a build with
# WGR_XDP; skipped with 77 otherwise).
add_cmocka_test(test_xdp SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_xdp.c
                LINK_LIBRARIES wgrelayd_core LABELS integration TIMEOUT 120)
set_tests_properties(test_xdp PROPERTIES SKIP_RETURN_CODE 77)
# portshare
# SessionSockets = shared end to end in a network namespace of the test's own (root and BPF;
# skipped with 77 otherwise).
add_cmocka_test(test_portshare SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_portshare.c
                LINK_LIBRARIES wgr_harness wgrelayd_core LABELS integration TIMEOUT 120)
add_dependencies(test_portshare wgrelayd)
set_tests_properties(test_portshare PROPERTIES SKIP_RETURN_CODE 77)
if(WGR_XDP)
  target_compile_definitions(test_portshare PRIVATE WGR_HAVE_XDP)
endif()
